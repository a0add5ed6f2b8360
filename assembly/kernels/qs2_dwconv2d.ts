// Depthwise conv2d with 2-bit / ternary (qs2), binary BWN (qbw) and codebook (qlut: k-means / power-of-two) weights
// x int8 activations. The weights stay packed in memory and are unpacked in registers; the algorithm, arithmetic and SIMD paths are those of
// qs4_dwconv2d.ts / qs8_dwconv2d.ts (interior runs with the interior bias, border pixels tap by tap), without
// their 3x3 block (its weights-in-registers copy would cost ~2.6 KB of wasm for layers that are rare and small),
// with these layouts (packers in src/pack/lowbit.ts):
//   qs2: u8 w[T][ceil(C/4)]  channel c of tap t in byte t*Cb + (c >> 2), bits [2*(c&3), 2*(c&3)+2), two's
//                            complement in [-2, 1] (ternary layers use {-1, 0, 1}: bit 0 the nonzero plane, bit 1
//                            the sign plane)
//   qbw: u8 w[T][ceil(C/8)]  channel c of tap t in byte t*Cb + (c >> 3), bit c & 7; set = -1, clear = +1
//   qlut: u8 idx[T][ceil(C*b/8)]  b-bit indices (b = 1..8), channel c of tap t at bits [c*b, c*b + b) of
//                            row t, LSB first, spilling into the next byte; bits past C*b zero
//         i8 table[G][S]     from byte T*Cb: G = C (one table per channel) or 1, S = max(16, 2^b); entries >=
//                            the layer's entry count 0, values in [-127, 127] (k-means centroids, {0, +-2^e})
//   then int32 bias[C], mult[C]   from byte T*Cb (qlut: T*Cb + G*S)
// Eight channels' weights become int16 lanes from one u16 (qs2) or u8 (qbw) load: splat, i16x8.mul by the
// powers of two that move each lane's field to the top, i16x8.shr_s (qs2: by 14; qbw: by 15, then 1 + 2*m).
// Widths: |x| <= 128 and |w| <= 127 (qs2: 2), so two taps' int16 products (interior runs) stay within
// 2 * 128 * 127 = 32512 < 2^15; the int32 accumulator bound |bias| + 255 * sum |w| <= 2^31 - 1 is checked at
// pack and load time.
// `kind` selects the layout (2: qs2, 1: qbw, 3: qlut) at run time: one copy of the kernel serves all three (wasm
// size); the branch in the weight unpack is taken the same way for a whole layer. With at most 64 taps, each
// 8-channel block's weights are unpacked once into WBUF (kind 0 below) and the loops load them; a codebook layer
// always has at most 64 taps (the validator's bound), so its indices are decoded (scalar, table lookups) once per
// 8-channel block and tap, never per pixel.

import {
  requant, requant_sm_i32x4x2_i8, requant_sm_pre, requant_sm_rnd,
} from "./requant";
import { tap_lo, tap_hi, inner_lo, inner_hi } from "./window";

// The codebook of the current qlut call (kind 3): index bits, first table, bytes between channels' tables (0:
// one table for the layer).
let lutBits: i32 = 0;
let lutTable: usize = 0;
let lutStride: usize = 0;

/** Bytes of one tap's row of packed weights. */
@inline function wRowBytes(kind: i32, C: i32): i32 {
  return kind == 2 ? (C + 3) >> 2 : kind == 3 ? (C * lutBits + 7) >> 3 : (C + 7) >> 3;
}

/** Byte offset of channel c (a multiple of 8) in a tap's row. */
@inline function wCol(kind: i32, c: usize): usize {
  return kind == 2 ? c >> 2 : kind == 3 ? (c * <usize>lutBits) >> 3 : c >> 3;
}

/** Bytes of a table of a b-bit codebook: max(16, 2^b). */
@inline function lutTableBytes(bits: i32): i32 { return max(16, 1 << bits); }

/** Size in bytes of a packed 2-bit / ternary depthwise layer: KH*KW*ceil(C/4) + 8*C. */
export function qs2_dwconv2d_packed_bytes(C: i32, KH: i32, KW: i32): i32 {
  return KH * KW * ((C + 3) >> 2) + 8 * C;
}

/** Size in bytes of a packed codebook depthwise layer: KH*KW*ceil(C*b/8) + G*max(16, 2^b) + 8*C, G = C or 1. */
export function qlut_dwconv2d_packed_bytes(C: i32, KH: i32, KW: i32, bits: i32, perChannel: i32): i32 {
  return KH * KW * ((C * bits + 7) >> 3) + (perChannel != 0 ? C : 1) * lutTableBytes(bits) + 8 * C;
}

/** Size in bytes of a packed BWN depthwise layer: KH*KW*ceil(C/8) + 8*C. */
export function qbw_dwconv2d_packed_bytes(C: i32, KH: i32, KW: i32): i32 {
  return KH * KW * ((C + 7) >> 3) + 8 * C;
}

// Eight weights of channels c..c+7 (c a multiple of 8) at p (the byte of channel c) as int16 lanes; kind 0:
// already unpacked (WBUF).
@inline
function wVec(kind: i32, p: usize): v128 {
  if (kind == 0) return v128.load(p);
  if (kind == 2) {
    const v = i16x8.splat(<i16>load<u16>(p));
    return i16x8.shr_s(i16x8.mul(v, i16x8(16384, 4096, 1024, 256, 64, 16, 4, 1)), 14);
  }
  const v = i16x8.splat(<i16>load<u8>(p));
  const m = i16x8.shr_s(i16x8.mul(v, i16x8(-32768, 16384, 8192, 4096, 2048, 1024, 512, 256)), 15);
  return i16x8.add(i16x8.shl(m, 1), i16x8.splat(1));
}

// Codebook weight of channel c in the tap row at p: the u16 holding its index (bit offset + b <= 15; the second
// byte is inside the layer, the next row or the tables follow), then the table entry.
@noinline
function lutOne(p: usize, c: i32): i32 {
  const bit = c * lutBits;
  const ix = (i32(load<u16>(p + <usize>(bit >> 3))) >> (bit & 7)) & ((1 << lutBits) - 1);
  return i32(load<i8>(lutTable + <usize>c * lutStride + <usize>ix));
}

// Weight of channel c in the tap row at p.
@inline
function wOne(kind: i32, p: usize, c: i32): i32 {
  if (kind == 3) return lutOne(p, c);
  if (kind == 2) {
    const b = i32(load<u8>(p + <usize>(c >> 2)));
    return (b << (30 - ((c & 3) << 1))) >> 30;
  }
  const b = i32(load<u8>(p + <usize>(c >> 3)));
  return 1 - (((b >> (c & 7)) & 1) << 1);
}

// One 8-channel block's weights unpacked to int16 lanes, tap by tap, when the kernel has at most 64 taps: the
// loops then load them instead of unpacking per tap and pixel.
const WBUF_TAPS = 64;
const WBUF: usize = memory.data(WBUF_TAPS * 16, 16);

/** 2-bit / ternary depthwise conv2d; arguments as qs8_dwconv2d. */
export function qs2_dwconv2d(
  x: usize, H: i32, W: i32, C: i32, zx: i32,
  out: usize, OH: i32, OW: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32, DH: i32, DW: i32,
  pw: usize, shift: i32, zy: i32, lo: i32, hi: i32,
): void {
  dw_lowbit(2, x, H, W, C, zx, out, OH, OW, KH, KW, SH, SW, PT, PL, DH, DW, pw, shift, zy, lo, hi);
}

/**
 * Codebook depthwise conv2d (k-means / power-of-two weights, layout above); arguments as qs8_dwconv2d, then the
 * index bits (1..8) and perChannel (1: one table per channel, 0: one per layer). At most 64 taps.
 */
export function qlut_dwconv2d(
  x: usize, H: i32, W: i32, C: i32, zx: i32,
  out: usize, OH: i32, OW: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32, DH: i32, DW: i32,
  pw: usize, shift: i32, zy: i32, lo: i32, hi: i32, bits: i32, perChannel: i32,
): void {
  if (KH * KW > WBUF_TAPS) unreachable(); // the validator's bound: the decoded taps live in WBUF
  lutBits = bits;
  lutTable = pw + <usize>(KH * KW * wRowBytes(3, C));
  lutStride = perChannel != 0 ? <usize>lutTableBytes(bits) : 0;
  dw_lowbit(3, x, H, W, C, zx, out, OH, OW, KH, KW, SH, SW, PT, PL, DH, DW, pw, shift, zy, lo, hi);
}

/** BWN (+-1 weights) depthwise conv2d; arguments as qs8_dwconv2d. */
export function qbw_dwconv2d(
  x: usize, H: i32, W: i32, C: i32, zx: i32,
  out: usize, OH: i32, OW: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32, DH: i32, DW: i32,
  pw: usize, shift: i32, zy: i32, lo: i32, hi: i32,
): void {
  dw_lowbit(1, x, H, W, C, zx, out, OH, OW, KH, KW, SH, SW, PT, PL, DH, DW, pw, shift, zy, lo, hi);
}

// Where bias[C] starts: after the weights (qlut: and the tables).
@inline function biasAt(kind: i32, pw: usize, T: i32, Cb: i32, C: i32): usize {
  const b = pw + <usize>(T * Cb);
  return kind == 3 ? b + (lutStride != 0 ? <usize>C * lutStride : <usize>lutTableBytes(lutBits)) : b;
}

// One body for the three layouts (not inlined into the exports).
function dw_lowbit(
  kind: i32,
  x: usize, H: i32, W: i32, C: i32, zx: i32,
  out: usize, OH: i32, OW: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32, DH: i32, DW: i32,
  pw: usize, shift: i32, zy: i32, lo: i32, hi: i32,
): void {
  let c0 = 0;
  if (ASC_FEATURE_SIMD) {
    c0 = C & ~7;
    if (c0 > 0) dw_simd(kind, x, H, W, C, c0, zx, out, OH, OW, KH, KW, SH, SW, PT, PL, DH, DW, pw, shift, zy, lo, hi);
  }
  if (c0 < C) dw_portable(kind, x, H, W, C, c0, zx, out, OH, OW, KH, KW, SH, SW, PT, PL, DH, DW, pw, shift, zy, lo, hi);
}

// Channels [c0, C), one at a time.
function dw_portable(
  kind: i32,
  x: usize, H: i32, W: i32, C: i32, c0: i32, zx: i32,
  out: usize, OH: i32, OW: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32, DH: i32, DW: i32,
  pw: usize, shift: i32, zy: i32, lo: i32, hi: i32,
): void {
  const Cb = wRowBytes(kind, C);
  const bias = biasAt(kind, pw, KH * KW, Cb, C);
  const mult = bias + (<usize>C << 2);
  const xRowStep = <usize>(DH * W * C), xColStep = <usize>(DW * C);
  const wRowStep = <usize>(KW * Cb), wColStep = <usize>Cb;
  for (let oy = 0; oy < OH; oy++) {
    const y0 = oy * SH - PT;
    const ky0 = tap_lo(y0, DH), ky1 = tap_hi(y0, DH, H, KH);
    for (let ox = 0; ox < OW; ox++) {
      const x0 = ox * SW - PL;
      const kx0 = tap_lo(x0, DW), kx1 = tap_hi(x0, DW, W, KW);
      const o = out + <usize>((oy * OW + ox) * C);
      // the first valid tap's input pixel and weight row (read only when the tap ranges are not empty)
      const xb = x + <usize>(((y0 + ky0 * DH) * W + x0 + kx0 * DW) * C);
      const wb = pw + <usize>((ky0 * KW + kx0) * Cb);
      for (let c = c0; c < C; c++) {
        let acc = load<i32>(bias + (<usize>c << 2));
        let xr = xb + <usize>c, wr = wb;
        for (let ky = ky0; ky < ky1; ky++) {
          let xp = xr, wp = wr;
          for (let kx = kx0; kx < kx1; kx++) {
            acc += (i32(load<i8>(xp)) - zx) * wOne(kind, wp, c);
            xp += xColStep;
            wp += wColStep;
          }
          xr += xRowStep;
          wr += wRowStep;
        }
        store<i8>(o + <usize>c, <i8>requant(acc, load<i32>(mult + (<usize>c << 2)), shift, zy, lo, hi));
      }
    }
  }
}

// Channels [0, C8), C8 a multiple of 8: 8 channels per block, the block outermost.
function dw_simd(
  kind: i32,
  x: usize, H: i32, W: i32, C: i32, C8: i32, zx: i32,
  out: usize, OH: i32, OW: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32, DH: i32, DW: i32,
  pw: usize, shift: i32, zy: i32, lo: i32, hi: i32,
): void {
  const T = KH * KW;
  const Cb = wRowBytes(kind, C);
  const bias = biasAt(kind, pw, T, Cb, C);
  const mult = bias + (<usize>C << 2);
  const cs = <usize>C;
  const xRowStep = <usize>(DH * W * C), xColStep = <usize>(DW * C);
  // weights as the loops read them: unpacked in WBUF (kind 0, 16 bytes per tap) or packed (Cb bytes per tap)
  const buffered = T <= WBUF_TAPS || kind == 3;
  const wk = buffered ? 0 : kind, ws = buffered ? <usize>16 : <usize>Cb;
  const wRowStep = <usize>KW * ws;
  const pre = requant_sm_pre(shift), k = shift + pre - 32;
  const rnd = requant_sm_rnd(shift);
  const zx16 = i16x8.splat(<i16>zx), zx32 = i32x4.splat(zx);
  // zero point as int16, clamp bounds as int8 (see requant_sm_i32x4x2_i8)
  const zyv = i16x8.splat(<i16>zy), lov = i8x16.splat(<i8>lo), hiv = i8x16.splat(<i8>hi);
  // output pixels whose every tap is inside the image: rows [oyA, oyB), columns [oxA, oxB)
  const oyA = inner_lo(SH, PT, OH), oyB = inner_hi(SH, PT, KH, DH, H, OH, oyA);
  const oxA = inner_lo(SW, PL, OW), oxB = inner_hi(SW, PL, KW, DW, W, OW, oxA);
  for (let c = 0; c < C8; c += 8) {
    const cb = <usize>c;
    const b0 = v128.load(bias + (cb << 2)), b1 = v128.load(bias + (cb << 2), 16);
    const m0 = i32x4.shl(v128.load(mult + (cb << 2)), pre), m1 = i32x4.shl(v128.load(mult + (cb << 2), 16), pre);
    // interior bias: bias - zx * sum_t w[t][c]; the block's weights unpacked into WBUF when they fit
    let s0 = i32x4.splat(0), s1 = i32x4.splat(0);
    for (let t = 0; t < T; t++) {
      let wv: v128;
      if (kind == 3) {
        // codebook: eight table lookups into WBUF
        const row = pw + <usize>(t * Cb), wt = WBUF + (<usize>t << 4);
        for (let j = 0; j < 8; j++) store<i16>(wt + (<usize>j << 1), <i16>lutOne(row, c + j));
        wv = v128.load(wt);
      } else {
        wv = wVec(kind, pw + <usize>(t * Cb) + wCol(kind, cb));
        if (buffered) v128.store(WBUF + (<usize>t << 4), wv);
      }
      s0 = i32x4.add(s0, i32x4.extend_low_i16x8_s(wv));
      s1 = i32x4.add(s1, i32x4.extend_high_i16x8_s(wv));
    }
    const f0 = i32x4.sub(b0, i32x4.mul(zx32, s0)), f1 = i32x4.sub(b1, i32x4.mul(zx32, s1));
    const wb = buffered ? WBUF : pw + wCol(kind, cb), xb = x + cb, ob = out + cb;
    for (let oy = 0; oy < OH; oy++) {
      const y0 = oy * SH - PT;
      const ky0 = tap_lo(y0, DH), ky1 = tap_hi(y0, DH, H, KH);
      const inner = oy >= oyA && oy < oyB;
      for (let ox = 0; ox < OW; ox++) {
        if (inner && ox == oxA && oxB > oxA) {
          const xp = xb + <usize>((y0 * W + oxA * SW - PL) * C);
          const op = ob + <usize>((oy * OW + oxA) * C);
          const n = oxB - oxA, xStep = <usize>(SW * C);
          dw_run(wk, xp, op, n, xStep, cs, ws, wb, KH, KW, xRowStep, xColStep, f0, f1, m0, m1, rnd, k, zyv, lov, hiv);
          ox = oxB - 1;
          continue;
        }
        const x0 = ox * SW - PL;
        const kx0 = tap_lo(x0, DW), kx1 = tap_hi(x0, DW, W, KW);
        let acc0 = b0, acc1 = b1;
        let xr = xb + <usize>(((y0 + ky0 * DH) * W + x0 + kx0 * DW) * C);
        let wr = wb + <usize>(ky0 * KW + kx0) * ws;
        for (let ky = ky0; ky < ky1; ky++) {
          let xp = xr, wp = wr;
          for (let kx = kx0; kx < kx1; kx++) {
            const xv = i16x8.sub(v128.load8x8_s(xp), zx16);
            const wv = wVec(wk, wp);
            acc0 = i32x4.add(acc0, i32x4.extmul_low_i16x8_s(xv, wv));
            acc1 = i32x4.add(acc1, i32x4.extmul_high_i16x8_s(xv, wv));
            xp += xColStep;
            wp += ws;
          }
          xr += xRowStep;
          wr += wRowStep;
        }
        v128.store64_lane(ob + <usize>((oy * OW + ox) * C), requant_sm_i32x4x2_i8(acc0, acc1, m0, m1, rnd, k, zyv, lov, hiv), 0);
      }
    }
  }
}

// n interior output pixels of one row, 8 channels, any kernel: x as is, the interior bias f0/f1, two taps'
// int16 products summed before widening.
@inline
function dw_run(
  kind: i32,
  xp: usize, op: usize, n: i32, xStep: usize, cs: usize, ws: usize, wb: usize, KH: i32, KW: i32,
  xRowStep: usize, xColStep: usize, f0: v128, f1: v128, m0: v128, m1: v128, rnd: v128, k: i32,
  zyv: v128, lov: v128, hiv: v128,
): void {
  const wRowStep = <usize>KW * ws;
  for (let i = 0; i < n; i++) {
    let acc0 = f0, acc1 = f1;
    let xr = xp, wr = wb;
    for (let ky = 0; ky < KH; ky++) {
      let xq = xr, wq = wr;
      let kx = 0;
      for (; kx + 2 <= KW; kx += 2) {
        const p = i16x8.add(
          i16x8.mul(v128.load8x8_s(xq), wVec(kind, wq)),
          i16x8.mul(v128.load8x8_s(xq + xColStep), wVec(kind, wq + ws)));
        acc0 = i32x4.add(acc0, i32x4.extend_low_i16x8_s(p));
        acc1 = i32x4.add(acc1, i32x4.extend_high_i16x8_s(p));
        xq += xColStep << 1;
        wq += ws << 1;
      }
      if (kx < KW) {
        const xv = v128.load8x8_s(xq), wv = wVec(kind, wq);
        acc0 = i32x4.add(acc0, i32x4.extmul_low_i16x8_s(xv, wv));
        acc1 = i32x4.add(acc1, i32x4.extmul_high_i16x8_s(xv, wv));
      }
      xr += xRowStep;
      wr += wRowStep;
    }
    v128.store64_lane(op, requant_sm_i32x4x2_i8(acc0, acc1, m0, m1, rnd, k, zyv, lov, hiv), 0);
    xp += xStep;
    op += cs;
  }
}
