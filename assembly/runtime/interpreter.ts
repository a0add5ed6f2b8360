// The op-list interpreter: fills the input tensor, runs the ops of a validated model in order by calling the
// kernels with pointers into the arena (arena base + tensor offset) and the model's Weights section (read in
// place), and copies the output tensor out. It trusts everything validate.ts accepted and checks nothing again.
//
// Conventions of docs/format.md: zero points and scales come from the tensors; int8 pools keep the input's
// quantization (validated) and clamp to -128..127; Quantize is clamp(round_half_away(x / scale) + zp) (NaN: zp),
// Dequantize (q - zp) * scale in f32; Reshape copies bytes; Concat is concat_channels.

import { DType, NONE16, OP_HEADER_BYTES, Op } from "./schema";

const OP_HDR: u32 = OP_HEADER_BYTES, NO_ID: u32 = NONE16;
import { readerBase, rd_u16, rd_u32, rd_i32, rd_f32 } from "./reader";
import {
  inputId, modelOff, opCount, opParams, opRecs, outputId, tBytes, tDim, tDtype, tOffset, tScale, tZeroPoint,
  weightsOff,
} from "./validate";
import { LOWBIT } from "./features";
import { rshift_round } from "../kernels/requant";
import { qs8_conv2d, qs8_fully_connected } from "../kernels/qs8_conv2d";
import { qs8_dwconv2d } from "../kernels/qs8_dwconv2d";
import {
  qs4_conv2d, qs4_fully_connected, qs2_conv2d, qs2_fully_connected, qbw_conv2d, qbw_fully_connected,
} from "../kernels/qs4_conv2d";
import { qs4_dwconv2d } from "../kernels/qs4_dwconv2d";
import { qlut_conv2d, qlut_fully_connected } from "../kernels/qlut_conv2d";
import { qs2_dwconv2d, qbw_dwconv2d, qlut_dwconv2d } from "../kernels/qs2_dwconv2d";
import { qb1_conv2d, qb1_sign } from "../kernels/qb1_conv2d";
import { qb1_dwconv2d } from "../kernels/qb1_dwconv2d";
import { qs8_maxpool2d, qs8_avgpool2d, qs8_global_avgpool_requant } from "../kernels/qs8_pool";
import { qs8_add } from "../kernels/qs8_add";
import { qs8_lut } from "../kernels/qs8_lut";
import { concat_channels } from "../kernels/concat";
import { f32_conv2d, f32_fully_connected } from "../kernels/f32_conv2d";
import { f32_dwconv2d } from "../kernels/f32_dwconv2d";
import { f32_maxpool2d, f32_avgpool2d, f32_global_avgpool } from "../kernels/f32_pool";
import { f32_add, f32_activation } from "../kernels/f32_eltwise";

let arena: usize = 0;

/** Binds the arena of the validated model (0: none). */
export function setArena(p: usize): void {
  arena = p;
  pixLutReady = false;
}

export function arenaBase(): usize {
  return arena;
}

/** Absolute address of a tensor in the arena. */
export function tensorPtr(id: u32): usize {
  return arena + <usize>tOffset(id);
}

// Concat's argument arrays: up to 64 input addresses and channel counts.
const CAT_PTRS: usize = memory.data(64 * 4, 16);
const CAT_CHANS: usize = memory.data(64 * 4, 16);

// ---- input -----------------------------------------------------------------------------------------------

/** clamp(round_half_away(x / scale) + zp, -128, 127), computed in f32; NaN gives zp. */
@inline
function quantizeOne(x: f32, scale: f32, zp: i32): i32 {
  const t = x / scale;
  if (t != t) return zp;
  // Clamp before converting so that the conversion cannot overflow; the result is clamped to int8 anyway.
  const c = Mathf.min(Mathf.max(t, -512), 512);
  let r = Mathf.trunc(c);
  if (Mathf.abs(c - r) >= 0.5) r += c < 0 ? -1 : 1; // c - r is exact: half away from zero
  const q = <i32>r + zp;
  return q < -128 ? -128 : q > 127 ? 127 : q;
}

function quantizeRun(x: usize, out: usize, n: i32, scale: f32, zp: i32): void {
  for (let k = 0; k < n; k++) {
    store<i8>(out + <usize>k, <i8>quantizeOne(load<f32>(x + (<usize>k << 2)), scale, zp));
  }
}

/** Input elements per image (H * W * C). */
export function inputElems(): u32 {
  return tDim(inputId, 0) * tDim(inputId, 1) * tDim(inputId, 2);
}

// The int8 input's pixel quantization as a table, PIX_LUT[c * 256 + v], built on the first run of a bound model.
const PIX_LUT: usize = memory.data(4 * 256, 16);
let pixLutReady = false;

/** Fills the input tensor from uint8 pixels [H][W][C] (docs/format.md, "Input quantization from pixels"). */
export function fillFromPixels(px: usize): void {
  const dst = tensorPtr(inputId);
  const C = tDim(inputId, 2);
  const P = tDim(inputId, 0) * tDim(inputId, 1);
  const m = modelOff;
  if (tDtype(inputId) == DType.I8) {
    // clamp(rshift_round(v * A[c] + B[c], 16), -128, 127) in i64, tabulated for the 256 pixel values
    // (C is 1 or 3, validated)
    if (!pixLutReady) {
      for (let c: u32 = 0; c < C; c++) {
        const A = <i64>rd_i32(m + 56 + (c << 2)), B = <i64>rd_i32(m + 72 + (c << 2));
        for (let v = 0; v < 256; v++) {
          let q = rshift_round(<i64>v * A + B, 16);
          q = q < -128 ? -128 : q > 127 ? 127 : q;
          store<i8>(PIX_LUT + <usize>((c << 8) + v), <i8>q);
        }
      }
      pixLutReady = true;
    }
    const n = P * C;
    if (C == 1) {
      for (let i: u32 = 0; i < n; i++) store<i8>(dst + <usize>i, load<i8>(PIX_LUT + <usize>load<u8>(px + <usize>i)));
    } else if (C == 3) {
      for (let i: u32 = 0; i < n; i += 3) {
        const s = px + <usize>i, d = dst + <usize>i;
        store<i8>(d, load<i8>(PIX_LUT + <usize>load<u8>(s)));
        store<i8>(d, load<i8>(PIX_LUT + 256 + <usize>load<u8>(s, 1)), 1);
        store<i8>(d, load<i8>(PIX_LUT + 512 + <usize>load<u8>(s, 2)), 2);
      }
    } else {
      for (let i: u32 = 0; i < n; i++) {
        store<i8>(dst + <usize>i, load<i8>(PIX_LUT + <usize>(((i % C) << 8) + load<u8>(px + <usize>i))));
      }
    }
    return;
  }
  for (let c: u32 = 0; c < C; c++) {
    // (v * value scale - mean[c]) / std[c] in f32
    const vs = rd_f32(m + 20), mean = rd_f32(m + 24 + (c << 2)), std = rd_f32(m + 40 + (c << 2));
    for (let p: u32 = 0; p < P; p++) {
      const v = <f32>load<u8>(px + <usize>(p * C + c));
      store<f32>(dst + (<usize>(p * C + c) << 2), (v * vs - mean) / std);
    }
  }
}

/** Fills the input tensor from normalized f32 [H][W][C]: quantized for an int8 input, copied for an f32 one. */
export function fillFromF32(x: usize): void {
  const dst = tensorPtr(inputId);
  const n = inputElems();
  if (tDtype(inputId) == DType.I8) quantizeRun(x, dst, <i32>n, tScale(inputId), tZeroPoint(inputId));
  else memory.copy(dst, x, <usize>n << 2);
}

/** Copies the output tensor to `out`. */
export function copyOutput(out: usize): void {
  memory.copy(out, tensorPtr(outputId), <usize>tBytes(outputId));
}

// ---- ops -------------------------------------------------------------------------------------------------

/** Runs every op of the bound model once (one image). */
export function runOps(): void {
  const wbase = readerBase() + <usize>weightsOff;
  let r = opRecs;
  for (let i: u32 = 0; i < opCount; i++) {
    runOp(r, wbase);
    r += rd_u16(r + 2);
  }
}

@inline function dim(id: u32, i: u32): i32 { return <i32>tDim(id, i); }

function runOp(r: u32, wbase: usize): void {
  const code = rd_u16(r);
  const nIn = rd_u16(r + 4);
  const x = rd_u16(r + OP_HDR), y = rd_u16(r + 8), s = rd_u16(r + 10);
  const p = opParams(r, nIn);
  const X = tensorPtr(x), Y = tensorPtr(y);
  const S: usize = s != NO_ID ? tensorPtr(s) : 0;
  const pw = wbase + <usize>rd_u32(r + 12); // meaningful only for ops with weights
  const H = dim(x, 0), W = dim(x, 1), C = dim(x, 2);
  const OH = dim(y, 0), OW = dim(y, 1), N = dim(y, 2);
  const n = <i32>tBytes(y); // elements of an int8 output
  // Windowed ops: params start KH KW SH SW PT PL [DH DW]; the pools have no dilation (1).
  switch (code) {
    case Op.Conv2dQs8: {
      qs8_conv2d(X, H, W, C, tZeroPoint(x), Y, OH, OW, N,
        rd_i32(p), rd_i32(p + 4), rd_i32(p + 8), rd_i32(p + 12), rd_i32(p + 16), rd_i32(p + 20), rd_i32(p + 24), rd_i32(p + 28),
        pw, rd_i32(p + 32), tZeroPoint(y), rd_i32(p + 36), rd_i32(p + 40), S);
      break;
    }
    case Op.Conv2dQs4:
    case Op.Conv2dQs2:
    case Op.Conv2dQbw: {
      if (!LOWBIT) break; // the lite build: not compiled (features.ts)
      const KH = rd_i32(p), KW = rd_i32(p + 4), SH = rd_i32(p + 8), SW = rd_i32(p + 12), PT = rd_i32(p + 16), PL = rd_i32(p + 20);
      const DH = rd_i32(p + 24), DW = rd_i32(p + 28), sh = rd_i32(p + 32), lo = rd_i32(p + 36), hi = rd_i32(p + 40);
      const zx = tZeroPoint(x), zy = tZeroPoint(y);
      if (code == Op.Conv2dQs4) qs4_conv2d(X, H, W, C, zx, Y, OH, OW, N, KH, KW, SH, SW, PT, PL, DH, DW, pw, sh, zy, lo, hi, S);
      else if (code == Op.Conv2dQs2) qs2_conv2d(X, H, W, C, zx, Y, OH, OW, N, KH, KW, SH, SW, PT, PL, DH, DW, pw, sh, zy, lo, hi, S);
      else qbw_conv2d(X, H, W, C, zx, Y, OH, OW, N, KH, KW, SH, SW, PT, PL, DH, DW, pw, sh, zy, lo, hi, S);
      break;
    }
    case Op.DenseQs4:
    case Op.DenseQs2:
    case Op.DenseQbw: {
      if (!LOWBIT) break; // the lite build: not compiled (features.ts)
      const K = <i32>tBytes(x), zx = tZeroPoint(x), zy = tZeroPoint(y);
      if (code == Op.DenseQs4) qs4_fully_connected(1, N, K, X, zx, pw, rd_i32(p), zy, rd_i32(p + 4), rd_i32(p + 8), Y, S);
      else if (code == Op.DenseQs2) qs2_fully_connected(1, N, K, X, zx, pw, rd_i32(p), zy, rd_i32(p + 4), rd_i32(p + 8), Y, S);
      else qbw_fully_connected(1, N, K, X, zx, pw, rd_i32(p), zy, rd_i32(p + 4), rd_i32(p + 8), Y, S);
      break;
    }
    case Op.Conv2dQlut: {
      if (!LOWBIT) break; // the lite build: not compiled (features.ts)
      qlut_conv2d(X, H, W, C, tZeroPoint(x), Y, OH, OW, N,
        rd_i32(p), rd_i32(p + 4), rd_i32(p + 8), rd_i32(p + 12), rd_i32(p + 16), rd_i32(p + 20), rd_i32(p + 24), rd_i32(p + 28),
        pw, rd_i32(p + 44), rd_i32(p + 52), rd_i32(p + 32), tZeroPoint(y), rd_i32(p + 36), rd_i32(p + 40), S);
      break;
    }
    case Op.DenseQlut: {
      if (!LOWBIT) break; // the lite build: not compiled (features.ts)
      qlut_fully_connected(1, N, <i32>tBytes(x), X, tZeroPoint(x), pw, rd_i32(p + 12), rd_i32(p + 20),
        rd_i32(p), tZeroPoint(y), rd_i32(p + 4), rd_i32(p + 8), Y, S);
      break;
    }
    case Op.DwConv2dQs4: {
      if (!LOWBIT) break; // the lite build: not compiled (features.ts)
      qs4_dwconv2d(X, H, W, C, tZeroPoint(x), Y, OH, OW,
        rd_i32(p), rd_i32(p + 4), rd_i32(p + 8), rd_i32(p + 12), rd_i32(p + 16), rd_i32(p + 20), rd_i32(p + 24), rd_i32(p + 28),
        pw, rd_i32(p + 32), tZeroPoint(y), rd_i32(p + 36), rd_i32(p + 40));
      break;
    }
    case Op.DwConv2dQs2:
    case Op.DwConv2dQbw: {
      if (!LOWBIT) break; // the lite build: not compiled (features.ts)
      const KH = rd_i32(p), KW = rd_i32(p + 4), SH = rd_i32(p + 8), SW = rd_i32(p + 12), PT = rd_i32(p + 16), PL = rd_i32(p + 20);
      const DH = rd_i32(p + 24), DW = rd_i32(p + 28), sh = rd_i32(p + 32), lo = rd_i32(p + 36), hi = rd_i32(p + 40);
      if (code == Op.DwConv2dQs2) qs2_dwconv2d(X, H, W, C, tZeroPoint(x), Y, OH, OW, KH, KW, SH, SW, PT, PL, DH, DW, pw, sh, tZeroPoint(y), lo, hi);
      else qbw_dwconv2d(X, H, W, C, tZeroPoint(x), Y, OH, OW, KH, KW, SH, SW, PT, PL, DH, DW, pw, sh, tZeroPoint(y), lo, hi);
      break;
    }
    case Op.DwConv2dQlut: {
      if (!LOWBIT) break; // the lite build: not compiled (features.ts)
      qlut_dwconv2d(X, H, W, C, tZeroPoint(x), Y, OH, OW,
        rd_i32(p), rd_i32(p + 4), rd_i32(p + 8), rd_i32(p + 12), rd_i32(p + 16), rd_i32(p + 20), rd_i32(p + 24), rd_i32(p + 28),
        pw, rd_i32(p + 32), tZeroPoint(y), rd_i32(p + 36), rd_i32(p + 40), rd_i32(p + 44), rd_i32(p + 52));
      break;
    }
    case Op.SignQb1: {
      if (!LOWBIT) break; // the lite build: not compiled (features.ts)
      // bit = (x >= t), t in x's quantized domain (the writer's choice: its real zero)
      qb1_sign(X, H * W, C, rd_i32(p), Y);
      break;
    }
    case Op.Conv2dQb1: {
      if (!LOWBIT) break; // the lite build: not compiled (features.ts)
      qb1_conv2d(X, H, W, C, Y, OH, OW, N,
        rd_i32(p), rd_i32(p + 4), rd_i32(p + 8), rd_i32(p + 12), rd_i32(p + 16), rd_i32(p + 20), rd_i32(p + 24), rd_i32(p + 28),
        pw, rd_i32(p + 32), tZeroPoint(y), rd_i32(p + 36), rd_i32(p + 40), S);
      break;
    }
    case Op.DenseQb1: {
      if (!LOWBIT) break; // the lite build: not compiled (features.ts)
      // the whole H x W x C bit tensor is one window: the conv with KH = H, KW = W
      qb1_conv2d(X, H, W, C, Y, 1, 1, N, H, W, 1, 1, 0, 0, 1, 1, pw, rd_i32(p), tZeroPoint(y), rd_i32(p + 4), rd_i32(p + 8), S);
      break;
    }
    case Op.DwConv2dQb1: {
      if (!LOWBIT) break; // the lite build: not compiled (features.ts)
      qb1_dwconv2d(X, H, W, C, Y, OH, OW,
        rd_i32(p), rd_i32(p + 4), rd_i32(p + 8), rd_i32(p + 12), rd_i32(p + 16), rd_i32(p + 20), rd_i32(p + 24), rd_i32(p + 28),
        pw, rd_i32(p + 32), tZeroPoint(y), rd_i32(p + 36), rd_i32(p + 40));
      break;
    }
    case Op.DwConv2dQs8: {
      qs8_dwconv2d(X, H, W, C, tZeroPoint(x), Y, OH, OW,
        rd_i32(p), rd_i32(p + 4), rd_i32(p + 8), rd_i32(p + 12), rd_i32(p + 16), rd_i32(p + 20), rd_i32(p + 24), rd_i32(p + 28),
        pw, rd_i32(p + 32), tZeroPoint(y), rd_i32(p + 36), rd_i32(p + 40));
      break;
    }
    case Op.DenseQs8: {
      qs8_fully_connected(1, N, <i32>tBytes(x), X, tZeroPoint(x), pw, rd_i32(p), tZeroPoint(y), rd_i32(p + 4), rd_i32(p + 8), Y, S);
      break;
    }
    case Op.MaxPoolQs8: {
      qs8_maxpool2d(X, H, W, C, Y, OH, OW,
        rd_i32(p), rd_i32(p + 4), rd_i32(p + 8), rd_i32(p + 12), rd_i32(p + 16), rd_i32(p + 20), 1, 1, -128, 127);
      break;
    }
    case Op.AvgPoolQs8: {
      qs8_avgpool2d(X, H, W, C, tZeroPoint(x), Y, OH, OW,
        rd_i32(p), rd_i32(p + 4), rd_i32(p + 8), rd_i32(p + 12), rd_i32(p + 16), rd_i32(p + 20), 1, 1, -128, 127);
      break;
    }
    case Op.GlobalAvgPoolQs8: {
      // params [mult, shift]: mult / 2^shift = inScale / (outScale * H * W)
      qs8_global_avgpool_requant(X, H * W, C, tZeroPoint(x), Y, rd_i32(p), rd_i32(p + 4), tZeroPoint(y), -128, 127);
      break;
    }
    case Op.AddQs8: {
      // params [ma, mb, shift, lo, hi]
      const b = rd_u16(r + OP_HDR + 2);
      qs8_add(X, tZeroPoint(x), rd_i32(p), tensorPtr(b), tZeroPoint(b), rd_i32(p + 4),
        Y, n, rd_i32(p + 8), tZeroPoint(y), rd_i32(p + 12), rd_i32(p + 16));
      break;
    }
    case Op.Concat: {
      for (let k: u32 = 0; k < nIn; k++) {
        const t = rd_u16(r + OP_HDR + (k << 1));
        store<u32>(CAT_PTRS + (<usize>k << 2), <u32>tensorPtr(t));
        store<i32>(CAT_CHANS + (<usize>k << 2), dim(t, 2));
      }
      concat_channels(tDtype(y) == DType.F32 ? 4 : 1, OH * OW, <i32>nIn, CAT_PTRS, CAT_CHANS, Y);
      break;
    }
    case Op.LutQs8: {
      qs8_lut(X, Y, n, pw);
      break;
    }
    case Op.Quantize: {
      quantizeRun(X, Y, n, tScale(y), tZeroPoint(y));
      break;
    }
    case Op.Dequantize: {
      const scale = tScale(x), zp = tZeroPoint(x);
      const m = <i32>tBytes(x);
      for (let k = 0; k < m; k++) {
        store<f32>(Y + (<usize>k << 2), <f32>(<i32>load<i8>(X + <usize>k) - zp) * scale);
      }
      break;
    }
    case Op.Reshape: {
      memory.copy(Y, X, <usize>tBytes(y));
      break;
    }
    case Op.Conv2dF32: {
      f32_conv2d(X, H, W, C, Y, OH, OW, N,
        rd_i32(p), rd_i32(p + 4), rd_i32(p + 8), rd_i32(p + 12), rd_i32(p + 16), rd_i32(p + 20), rd_i32(p + 24), rd_i32(p + 28),
        pw, rd_f32(p + 32), rd_f32(p + 36), S);
      break;
    }
    case Op.DwConv2dF32: {
      f32_dwconv2d(X, H, W, C, Y, OH, OW,
        rd_i32(p), rd_i32(p + 4), rd_i32(p + 8), rd_i32(p + 12), rd_i32(p + 16), rd_i32(p + 20), rd_i32(p + 24), rd_i32(p + 28),
        pw, rd_f32(p + 32), rd_f32(p + 36));
      break;
    }
    case Op.DenseF32: {
      f32_fully_connected(1, N, <i32>(tBytes(x) >> 2), X, pw, rd_f32(p), rd_f32(p + 4), Y);
      break;
    }
    case Op.MaxPoolF32: {
      f32_maxpool2d(X, H, W, C, Y, OH, OW,
        rd_i32(p), rd_i32(p + 4), rd_i32(p + 8), rd_i32(p + 12), rd_i32(p + 16), rd_i32(p + 20), 1, 1);
      break;
    }
    case Op.AvgPoolF32: {
      f32_avgpool2d(X, H, W, C, Y, OH, OW,
        rd_i32(p), rd_i32(p + 4), rd_i32(p + 8), rd_i32(p + 12), rd_i32(p + 16), rd_i32(p + 20), 1, 1);
      break;
    }
    case Op.GlobalAvgPoolF32: {
      f32_global_avgpool(X, H, W, C, Y);
      break;
    }
    case Op.AddF32: {
      const b = rd_u16(r + OP_HDR + 2);
      f32_add(X, tensorPtr(b), Y, <i32>(tBytes(y) >> 2), rd_f32(p), rd_f32(p + 4));
      break;
    }
    case Op.ActF32: {
      // params [kind, alpha bits, beta bits]
      f32_activation(X, Y, <i32>(tBytes(y) >> 2), rd_i32(p), rd_f32(p + 4), rd_f32(p + 8));
      break;
    }
  }
}
