// qs4 conv2d / dense: int4 weights (two per byte, kept packed in memory and unpacked in registers) x int8
// activations -> int32 -> requantized int8. The implicit GEMM of qs8_gemm.ts / qs8_conv2d.ts (its pixel-row
// table, its 4 pixels x 4 channels micro-kernel and requantization) with another weight layout; the A operand
// is each build's A format of qs8_gemm.ts (int16 x - zx; relaxed: int8 x), with the channels of every tap padded
// to Cp = ceil8(C).
//
// Packed layer (packQs4Gemm in src/pack/lowbit.ts), N outputs, T taps of C channels, Cp = ceil8(C),
// K = T*Cp, Np = ceil4(N):
//   u8    w[Np/4][K/4][8]    8 bytes per 4 channels x 4 k (one step of the int8 kernel, which has 16): channel
//                            pair slot c (0, 1) and k (0..3) at byte 4*c + k; its low nibble is channel c's
//                            weight + 8 (offset binary, [0, 15]), its high nibble channel c+2's weight (two's
//                            complement, [-8, 7]). Weight 0 in all padding (bytes 0x08).
//   int32 bias[Np], mult[Np], sumw[Np], sumwn[Np]   as in qs8_gemm.ts (the relaxed build uses sumw only)
// Total Np*K/2 + 16*Np bytes.
//
// SIMD form (igemm4_simd): one widening load per step, e = 16 * w[c+2] + (w[c] + 8) as int16, and
// h = i16x8.shr_s(e, 4) = w[c+2] exactly; two dot products per pixel as in the int8 kernel (E += dot(x, e),
// H += dot(x, h)), and at the end channel c = E - 16 H - 8 sum x, channel c+2 = H. One load and one shift per
// 16 weights where the int8 kernel has two widening loads. Its extra costs: the per-pixel sum x (fill_sumx,
// four pixels at a time) and the E - 16 H of every 4 x 4 block, which weigh most when K is small. The weights
// stay packed: nothing is expanded to int8 in memory, per layer or per call. Issue 6 (>= 0.9x of int8 on every
// benchmarked shape, each build) is met: SIMD 0.91-1.01x, relaxed 0.93-1.09x, no-SIMD 0.92-1.16x (docs/kernels.md).
// - a last block of at most 2 channels (N % 4 = 1, 2; a 10-class dense layer) runs igemm4_simd_lo: its high
//   nibbles are the padding channels' zeros, so one dot product per pixel and step (64->10 batch 64 0.89 -> 1.01x);
//   the one-pixel loop does the same for such a block (64->10 batch 1: 0.88-0.91 -> 0.89-1.06x over 7 runs, a
//   60 ns layer whose ratio moves with the run);
// - a dense layer of one image sums its row while putting it in place (put_row_seed; the relaxed build does so
//   for every dense layer and unpadded stride-1 1x1 conv, tile by tile: rows_seeded).
// What did not work (measured, Node 20 / V8 11): nibbles unpacked by shl + shr_s (six or seven shifts per 32
// weights, 0.77-0.89x, the shifts compete with the dot products); V8 hoisting the loads of two unrolled steps
// above their arithmetic, which spills accumulators (0.7x; an always-true branch between the steps stopped it);
// e - 8 per step instead of the sum of x (no fill_sumx; one more vector op per step: small shapes +2-3%, 3x3
// 64->64 0.96 -> 0.92x); the h-less loop for <= 2 channels inside igemm4_simd (its other blocks lost 2-3%);
// rows_seeded in the SIMD build (no row gained, dense batch 1 lost 4%).
// Portable form (igemm4_portable): 1 pixel x 4 channels, the same E - 16 H per weight byte in scalar registers.
// Relaxed form (igemm4_relaxed): int8 A; t = w ^ 0x80 makes both nibbles w + 8, 7-bit operands (so the relaxed
// dot is deterministic); `and 15`, a shift and `and 15`, and an i64x2 interleave give the int8 kernel's 16-byte
// operands of two steps; one relaxed dot per pixel and step (the int8 kernel needs two for its sign split), and
// sum (x - zx) w = sum x (w + 8) - 8 sum x - zx sumw.
// Width: E, H and the relaxed sums may pass 2^31 for large K, but wasm's i32 lanes add and subtract modulo 2^32
// and the final sum (x - zx) w + bias is within int32 (the validator checks |bias| + 255 * sum |w|), so it comes
// out exact; every partial product pair of a dot fits int32 (and the relaxed dot's int16 pairs: 2 * 128 * 15).

import { requant, requant_sm_i32x4x2_i8, requant_sm_pre, requant_sm_rnd } from "./requant";
import { a_elem_bytes, AView, fill_rows, ROWS, RUN } from "./qs8_gemm";
import { igemm_lut } from "./qlut_conv2d";
import { copy_bytes, fill_bytes } from "./qs8_conv2d";

const TILE: i32 = 64;
const KIND_4: i32 = 0, KIND_B: i32 = 1, KIND_2: i32 = 2;
/** Codebook weights (qlut_conv2d.ts): KIND_LUT | bits | 16 (per-channel tables); channels padded as KIND_2. */
export const KIND_LUT: i32 = 256;
@inline function pad16(kind: i32): bool { return kind == KIND_2 || kind >= KIND_LUT; }
const view = changetype<AView>(memory.data(offsetof<AView>()));

@inline function ceil4(n: i32): i32 { return (n + 3) & ~3; }
@inline function ceil8(n: i32): i32 { return (n + 7) & ~7; }
@inline function ceil16(n: i32): i32 { return (n + 15) & ~15; }
@inline function spanOf(O: i32, S: i32, KS: i32, D: i32): i32 { return (O - 1) * S + (KS - 1) * D + 1; }

// Bytes per A element of the int4 kernels in this build (the relaxed build's int8 A form is QS4_RELAXED_I8).
@inline function qs4_elem_bytes(): i32 { return a_elem_bytes(); }

/** Size in bytes of a packed qs4 layer. */
export function qs4_packed_bytes(N: i32, taps: i32, C: i32): i32 {
  const Np = ceil4(N);
  return (Np * taps * ceil8(C)) / 2 + 16 * Np;
}

export function qs4_conv2d_scratch_bytes(OH: i32, OW: i32, C: i32, KH: i32, KW: i32, SH: i32, SW: i32, DH: i32, DW: i32): i32 {
  return spanOf(OH, SH, KH, DH) * spanOf(OW, SW, KW, DW) * ceil8(C) * qs4_elem_bytes() + 4 * KH * KW;
}

export function qs4_fully_connected_scratch_bytes(M: i32, K: i32): i32 {
  return M * ceil8(K) * qs4_elem_bytes() + 16;
}

@inline
export function rowPtr(v: AView, p: i32): usize {
  const line = p / v.perLine;
  return v.base + <usize>(line * v.lineStride + (p - line * v.perLine) * v.pixStride);
}

@inline
function put_run(dst: usize, src: usize, n: i32, zx: i32, i8img: bool): void {
  if (i8img) {
    // not memory.copy: a call out of V8's compiled code, dearer than a pixel's few bytes (relaxed 1x1 16->32
    // @32x32: 0.94 -> 0.99x of int8)
    copy_bytes(dst, src, <usize>n);
  } else {
    let i = 0;
    if (ASC_FEATURE_SIMD) {
      const z = i16x8.splat(<i16>zx);
      for (; i + 8 <= n; i += 8) v128.store(dst + (<usize>i << 1), i16x8.sub(v128.load8x8_s(src + <usize>i), z));
    }
    for (; i < n; i++) store<i16>(dst + (<usize>i << 1), <i16>(i32(load<i8>(src + <usize>i)) - zx));
  }
}

@inline
function put_zero(dst: usize, n: i32, zx: i32, i8img: bool): void {
  if (i8img) fill_bytes(dst, <u8>zx, <usize>n);
  else fill_bytes(dst, 0, <usize>(n << 1));
}

@inline
function store_lanes(p: usize, v: v128, n: i32): void {
  if (n == 4) {
    v128.store32_lane(p, v, 0);
  } else {
    store<i8>(p, i8x16.extract_lane_s(v, 0));
    if (n > 1) store<i8>(p, i8x16.extract_lane_s(v, 1), 1);
    if (n > 2) store<i8>(p, i8x16.extract_lane_s(v, 2), 2);
  }
}

@inline
function store_block(o: usize, N: i32, nr: i32, nc: i32, b01: v128, b23: v128): void {
  store_lanes(o, b01, nc);
  if (nr > 1) store_lanes(o + <usize>N, v128.shuffle<i32>(b01, b01, 1, 1, 1, 1), nc);
  if (nr > 2) store_lanes(o + <usize>(2 * N), b23, nc);
  if (nr > 3) store_lanes(o + <usize>(3 * N), v128.shuffle<i32>(b23, b23, 1, 1, 1, 1), nc);
}

function igemm4(v: AView, p0: i32, p1: i32, N: i32, zx: i32, pw: usize, shift: i32, zy: i32, lo: i32, hi: i32, out: usize): void {
  fill_rows(v, p0, p1);
  const o = out + <usize>(p0 * N);
  if (ASC_FEATURE_RELAXED_SIMD) igemm4_relaxed(v, p1 - p0, N, zx, pw, shift, zy, lo, hi, o);
  else if (ASC_FEATURE_SIMD) igemm4_simd(v, p1 - p0, N, pw, shift, zy, lo, hi, o);
  else igemm4_portable(v, p1 - p0, N, pw, shift, zy, lo, hi, o);
}

// The forms run the `n` pixels of ROWS (qs8_gemm.ts); pixel i's outputs go to out + i*N.
// Portable form, 1 pixel x 4 channels (the two channel pairs whose nibbles share a byte): each A value is loaded
// once for the four channels, each weight byte once for two: the byte sign-extended is e = 16 w[c+2] + w[c] + 8,
// `e >> 4` is w[c+2], and channel c is sum x e - 16 sum x w[c+2] - 8 sum x (the SIMD form's E - 16 H; 8 sum x
// once per pixel, SUMX as i32). A last block with at most 2 real channels reads the low nibbles only.
// (The earlier form, 1 pixel x 1 channel decoding a nibble per weight, ran at 0.4x of the portable int8 kernel.)
function igemm4_portable(v: AView, n: i32, N: i32, pw: usize, shift: i32, zy: i32, lo: i32, hi: i32, out: usize): void {
  const K = v.nseg * v.segLen;
  const Np = ceil4(N);
  const bias = pw + <usize>((Np * K) >> 1);
  const mult = bias + <usize>(Np << 2);
  const nseg = v.nseg, segLen = v.segLen, segTab = v.segTab;
  for (let p = 0; p < n; p++) {
    const ar = load<usize>(ROWS + (<usize>p << 2));
    let sx = 0;
    for (let s = 0; s < nseg; s++) {
      const as = ar + <usize>load<i32>(segTab + (<usize>s << 2));
      for (let k = 0; k < segLen; k++) sx += i32(load<i16>(as + (<usize>k << 1)));
    }
    store<i32>(SUMX + (<usize>p << 2), sx << 3);
  }
  for (let cb = 0; cb < Np; cb += 4) {
    const wb = pw + <usize>((cb * K) >> 1);
    const nc = min(4, N - cb);
    for (let p = 0; p < n; p++) {
      const ar = load<usize>(ROWS + (<usize>p << 2));
      let a0: i32 = 0, a1: i32 = 0, a2: i32 = 0, a3: i32 = 0;
      let wq = wb;
      if (nc > 2) {
        for (let s = 0; s < nseg; s++) {
          const as = ar + <usize>load<i32>(segTab + (<usize>s << 2));
          for (let k = 0; k < segLen; k += 4) {
            const aq = as + <usize>(k << 1);
            for (let j = 0; j < 4; j++) {
              // e = 16 w[c+2] + w[c] + 8: a0 gathers x e, a2 x (e >> 4) = x w[c+2]; channel c is a0 - 16 a2
              const x = i32(load<i16>(aq + <usize>(j << 1)));
              const e = i32(load<i8>(wq + <usize>j)), f = i32(load<i8>(wq + <usize>j, 4));
              a0 += x * e; a2 += x * (e >> 4);
              a1 += x * f; a3 += x * (f >> 4);
            }
            wq += 8;
          }
        }
        a0 -= a2 << 4; a1 -= a3 << 4;
      } else {
        // channels c + 2 and c + 3 are padding (N % 4 <= 2): low nibbles only
        for (let s = 0; s < nseg; s++) {
          const as = ar + <usize>load<i32>(segTab + (<usize>s << 2));
          for (let k = 0; k < segLen; k += 4) {
            const aq = as + <usize>(k << 1);
            for (let j = 0; j < 4; j++) {
              const x = i32(load<i16>(aq + <usize>(j << 1)));
              a0 += x * (i32(load<u8>(wq + <usize>j)) & 15);
              a1 += x * (i32(load<u8>(wq + <usize>j, 4)) & 15);
            }
            wq += 8;
          }
        }
      }
      const s8 = load<i32>(SUMX + (<usize>p << 2));
      const o = out + <usize>(p * N + cb), bo = bias + (<usize>cb << 2), mo = mult + (<usize>cb << 2);
      store<i8>(o, <i8>requant(a0 - s8 + load<i32>(bo), load<i32>(mo), shift, zy, lo, hi));
      if (nc > 1) store<i8>(o, <i8>requant(a1 - s8 + load<i32>(bo, 4), load<i32>(mo, 4), shift, zy, lo, hi), 1);
      if (nc > 2) store<i8>(o, <i8>requant(a2 + load<i32>(bo, 8), load<i32>(mo, 8), shift, zy, lo, hi), 2);
      if (nc > 3) store<i8>(o, <i8>requant(a3 + load<i32>(bo, 12), load<i32>(mo, 12), shift, zy, lo, hi), 3);
    }
  }
}

// 8 * (the sum of the K A values) of each pixel of ROWS (int16 A, or int8 x in the relaxed build): the correction
// for the + 8 of the low nibbles.
const SUMX: usize = memory.data((RUN + 4) << 4, 16);
const ONES: usize = memory.data(16, 16);

// pair sums of two accumulators: (lanes 0+1, 2+3 of a, the same of b)
@inline function hadd(a: v128, b: v128): v128 { return i32x4.add(v128.shuffle<i32>(a, b, 0, 2, 4, 6), v128.shuffle<i32>(a, b, 1, 3, 5, 7)); }

// SUMX already holds the sums of the tile's rows, written while they were put in place (put_row_seed); the
// kernel that consumes them clears the flag.
let seeded = false;

// put_run of one A row (a dense layer's row, or a pixel of a 1x1 conv) that also leaves its 8 sum x in slot i of
// SUMX (int16 A: the seed of its E accumulator, (-8 sum, 0, -8 sum, 0); relaxed: 8 sum x): the sum costs one
// add per 8 or 16 values here, where fill_sumx's pass over the rows costs a 64->10 layer 8% of its time.
function put_row_seed(dst: usize, src: usize, n: i32, zx: i32, i: i32): void {
  let acc = i32x4.splat(0), s = 0, j = 0;
  if (ASC_FEATURE_RELAXED_SIMD) {
    for (; j + 16 <= n; j += 16) {
      const a = v128.load(src + <usize>j);
      v128.store(dst + <usize>j, a);
      acc = sum8(acc, a);
    }
    for (; j < n; j++) {
      const a = i32(load<i8>(src + <usize>j));
      store<i8>(dst + <usize>j, <i8>a);
      s += a;
    }
  } else {
    const z = i16x8.splat(<i16>zx);
    for (; j + 8 <= n; j += 8) {
      const a = i16x8.sub(v128.load8x8_s(src + <usize>j), z);
      v128.store(dst + (<usize>j << 1), a);
      acc = i32x4.add(acc, i32x4.extadd_pairwise_i16x8_s(a));
    }
    for (; j < n; j++) {
      const a = i32(load<i8>(src + <usize>j)) - zx;
      store<i16>(dst + (<usize>j << 1), <i16>a);
      s += a;
    }
  }
  acc = i32x4.add(acc, v128.shuffle<i32>(acc, acc, 2, 3, 0, 1));
  acc = i32x4.add(i32x4.add(acc, v128.shuffle<i32>(acc, acc, 1, 0, 3, 2)), i32x4.splat(s));
  if (ASC_FEATURE_RELAXED_SIMD) store<i32>(SUMX + (<usize>i << 2), i32x4.extract_lane(acc, 0) << 3);
  else v128.store(SUMX + (<usize>i << 4), v128.and(i32x4.mul(acc, i32x4.splat(-8)), i32x4(-1, 0, -1, 0)));
}

// Relaxed build, int4 weights, one A row per output pixel (a dense layer; a 1x1 conv of stride 1 without
// padding, whose pixels are its rows): each tile's rows are put in place with their sums (put_row_seed), then
// the kernel runs on them seeded, with no pass of its own over x (relaxed 1x1 16->32 0.97 -> 1.02x of int8,
// dense 64->10 batch 64 0.92 -> 1.03x, batch 1 0.88 -> 0.91x). Rows of Kp elements at base, zero-padded.
// (In the SIMD build the same path changed no 1x1 or batch-64 row, and cost dense batch 1 4%: there only a
// dense layer of one image seeds its sum, in sub_fully_connected.)
function rows_seeded(M: i32, N: i32, K: i32, Kp: i32, x: usize, zx: i32, pw: usize, shift: i32, zy: i32, lo: i32, hi: i32, out: usize, base: usize, segTab: usize): void {
  const eb = a_elem_bytes();
  store<i32>(segTab, 0);
  const v = view;
  v.base = base;
  v.perLine = M;
  v.lineStride = 0;
  v.pixStride = Kp * eb;
  v.nseg = 1;
  v.segLen = Kp;
  v.segTab = segTab;
  for (let p0 = 0; p0 < M; p0 += TILE) {
    const p1 = min(M, p0 + TILE);
    for (let r = p0; r < p1; r++) {
      const dst = base + <usize>(r * Kp * eb);
      put_row_seed(dst, x + <usize>(r * K), K, zx, r - p0);
      if (Kp > K) fill_bytes(dst + <usize>(K * eb), 0, <usize>((Kp - K) * eb));
    }
    seeded = true;
    igemm4(v, p0, p1, N, zx, pw, shift, zy, lo, hi, out);
  }
}

// acc + the 16 int8 of x, in int32 lanes (the relaxed build's int8 A)
@inline function sum8(acc: v128, x: v128): v128 { return i32x4.add(acc, i32x4.extadd_pairwise_i16x8_s(i16x8.extadd_pairwise_i8x16_s(x))); }

function fill_sumx(v: AView, n: i32): void {
  const nseg = v.nseg, segBytes = <usize>(v.segLen * a_elem_bytes()), segTab = v.segTab;
  // int16 A: vectors added as int16 (|a| <= 255, at most 64 per lane), then one dot by ones
  v128.store(ONES, i16x8.splat(1));
  const ones = v128.load(ONES);
  for (let i = 0; i < n; i += 4) {
    const rp = ROWS + (<usize>i << 2);
    const r0 = load<usize>(rp), r1 = load<usize>(rp, 4), r2 = load<usize>(rp, 8), r3 = load<usize>(rp, 12);
    let d0 = i32x4.splat(0), d1 = i32x4.splat(0), d2 = i32x4.splat(0), d3 = i32x4.splat(0);
    for (let s = 0; s < nseg; s++) {
      const so = <usize>load<i32>(segTab + (<usize>s << 2));
      const a0 = r0 + so, a1 = r1 + so, a2 = r2 + so, a3 = r3 + so;
      let k: usize = 0;
      if (ASC_FEATURE_RELAXED_SIMD) {
        // int8 x, segments of a multiple of 8 bytes
        for (; k + 16 <= segBytes; k += 16) {
          d0 = sum8(d0, v128.load(a0 + k)); d1 = sum8(d1, v128.load(a1 + k));
          d2 = sum8(d2, v128.load(a2 + k)); d3 = sum8(d3, v128.load(a3 + k));
        }
        if (k < segBytes) {
          d0 = sum8(d0, v128.load64_zero(a0 + k)); d1 = sum8(d1, v128.load64_zero(a1 + k));
          d2 = sum8(d2, v128.load64_zero(a2 + k)); d3 = sum8(d3, v128.load64_zero(a3 + k));
        }
      } else {
        // int16 lanes add up to 64 values exactly (|a| <= 255), then one dot by ones widens them
        while (k < segBytes) {
          const e = min(segBytes, k + 64 * 16);
          let t0 = i32x4.splat(0), t1 = i32x4.splat(0), t2 = i32x4.splat(0), t3 = i32x4.splat(0);
          for (; k < e; k += 16) {
            t0 = i16x8.add(t0, v128.load(a0 + k));
            t1 = i16x8.add(t1, v128.load(a1 + k));
            t2 = i16x8.add(t2, v128.load(a2 + k));
            t3 = i16x8.add(t3, v128.load(a3 + k));
          }
          d0 = i32x4.add(d0, i32x4.dot_i16x8_s(t0, ones)); d1 = i32x4.add(d1, i32x4.dot_i16x8_s(t1, ones));
          d2 = i32x4.add(d2, i32x4.dot_i16x8_s(t2, ones)); d3 = i32x4.add(d3, i32x4.dot_i16x8_s(t3, ones));
        }
      }
    }
    const q = i32x4.shl(hadd(hadd(d0, d1), hadd(d2, d3)), 3);  // 8 * (sum 0, sum 1, sum 2, sum 3)
    if (ASC_FEATURE_RELAXED_SIMD) {
      v128.store(SUMX + (<usize>i << 2), q);
    } else {
      // the start of each pixel's E accumulator, (-8 sum x, 0, -8 sum x, 0): the correction lands in channels 0, 1
      const m = i32x4.sub(i32x4.splat(0), q), z = i32x4.splat(0);
      const sp = SUMX + (<usize>i << 4);
      v128.store(sp, v128.shuffle<i32>(m, z, 0, 4, 0, 4));
      v128.store(sp, v128.shuffle<i32>(m, z, 1, 4, 1, 4), 16);
      v128.store(sp, v128.shuffle<i32>(m, z, 2, 4, 2, 4), 32);
      v128.store(sp, v128.shuffle<i32>(m, z, 3, 4, 3, 4), 48);
    }
  }
}

// SIMD form: the int8 micro-kernel, 8 weight bytes per 4-k step where it has 16. Sign-extended to int16 by one
// widening load, byte j of the step is e = 16 * w[c+2][k+j] + (w[c][k+j] + 8) (c = 0, 1), and
// h = shr_s(e, 4) = w[c+2][k+j] exactly (the low nibble is in [0, 15]). Two dot products per pixel as in the int8
// kernel: E += dot(x, e) and H += dot(x, h), lane for lane the partial sums of channel c (in E, mixed with 16 times
// channel c+2's) and of channel c+2 (in H). At the end E - 16 H is channel c's sum of x (w + 8); minus 8 sum x
// (SUMX) it is sum x w. One shift and one load per 16 weights, where the int8 kernel has two loads.
function igemm4_simd(v: AView, n: i32, N: i32, pw: usize, shift: i32, zy: i32, lo: i32, hi: i32, out: usize): void {
  const K = v.nseg * v.segLen;
  const Np = ceil4(N);
  const bias = pw + <usize>((Np * K) >> 1);
  const mult = bias + <usize>(Np << 2);
  const pre = requant_sm_pre(shift), kq = shift + pre - 32, rnd = requant_sm_rnd(shift);
  const zyv = i16x8.splat(<i16>zy), lov = i8x16.splat(<i8>lo), hiv = i8x16.splat(<i8>hi);
  const segBytes = <usize>(v.segLen << 1);
  const nseg = v.nseg, segTab = v.segTab;
  // rows put in place by put_row_seed have their seeds already
  if (!seeded) fill_sumx(v, n);
  seeded = false;
  for (let cb = 0; cb < Np; cb += 4) {
    const wb = pw + <usize>((cb * K) >> 1);
    const bv = v128.load(bias + (<usize>cb << 2));
    const mv = i32x4.shl(v128.load(mult + (<usize>cb << 2)), pre);
    const nc = min(4, N - cb);
    if (nc <= 2 && n > 1) {
      // (bias and multiplier of channels c, c+1 in both halves: the pairs of two pixels)
      igemm4_simd_lo(v, n, N, wb, v128.shuffle<i32>(bv, bv, 0, 1, 0, 1), v128.shuffle<i32>(mv, mv, 0, 1, 0, 1), rnd, kq, zyv, lov, hiv, out + <usize>cb, nc);
      continue;
    }
    for (let p = 0; p < n; p += 4) {
      const nr = min(4, n - p);
      const rp = ROWS + (<usize>p << 2), sp = SUMX + (<usize>p << 4);
      const r0 = load<usize>(rp), r1 = load<usize>(rp, 4), r2 = load<usize>(rp, 8), r3 = load<usize>(rp, 12);
      if (nr == 1) {
        // one pixel (a dense layer of one image, or the last of a run): its own loop
        let ce = v128.load(sp), ch = i32x4.splat(0);
        let wp = wb;
        // a block of 1-2 real channels (a 10-class head): the high nibbles are padding, 0, so H stays 0
        const two = nc > 2;
        for (let s = 0; s < nseg; s++) {
          const a0 = r0 + <usize>load<i32>(segTab + (<usize>s << 2));
          if (two) {
            for (let k: usize = 0; k < segBytes; k += 8) {
              const e = v128.load8x8_s(wp);
              wp += 8;
              const x = v128.load64_splat(a0 + k);
              ce = i32x4.add(ce, i32x4.dot_i16x8_s(x, e));
              ch = i32x4.add(ch, i32x4.dot_i16x8_s(x, i16x8.shr_s(e, 4)));
            }
          } else {
            for (let k: usize = 0; k < segBytes; k += 8) {
              ce = i32x4.add(ce, i32x4.dot_i16x8_s(v128.load64_splat(a0 + k), v128.load8x8_s(wp)));
              wp += 8;
            }
          }
        }
        ce = i32x4.sub(ce, i32x4.shl(ch, 4));
        let s0 = i32x4.add(v128.shuffle<i32>(ce, ch, 0, 2, 4, 6), v128.shuffle<i32>(ce, ch, 1, 3, 5, 7));
        s0 = i32x4.add(s0, bv);
        store_lanes(out + <usize>(p * N + cb), requant_sm_i32x4x2_i8(s0, s0, mv, mv, rnd, kq, zyv, lov, hiv), nc);
        continue;
      }
      let c0e = v128.load(sp), c0h = i32x4.splat(0), c1e = v128.load(sp, 16), c1h = i32x4.splat(0);
      let c2e = v128.load(sp, 32), c2h = i32x4.splat(0), c3e = v128.load(sp, 48), c3h = i32x4.splat(0);
      let wp = wb;
      for (let s = 0; s < nseg; s++) {
        const so = <usize>load<i32>(segTab + (<usize>s << 2));
        const a0 = r0 + so, a1 = r1 + so, a2 = r2 + so, a3 = r3 + so;
        for (let k: usize = 0; k < segBytes; k += 8) {
          const e = v128.load8x8_s(wp);   // ch0 k0..3, ch1 k0..3: 16 * (ch2, ch3) + (ch0, ch1) + 8
          const h = i16x8.shr_s(e, 4);    // ch2 k0..3, ch3 k0..3
          wp += 8;
          let x = v128.load64_splat(a0 + k);
          c0e = i32x4.add(c0e, i32x4.dot_i16x8_s(x, e));
          c0h = i32x4.add(c0h, i32x4.dot_i16x8_s(x, h));
          x = v128.load64_splat(a1 + k);
          c1e = i32x4.add(c1e, i32x4.dot_i16x8_s(x, e));
          c1h = i32x4.add(c1h, i32x4.dot_i16x8_s(x, h));
          x = v128.load64_splat(a2 + k);
          c2e = i32x4.add(c2e, i32x4.dot_i16x8_s(x, e));
          c2h = i32x4.add(c2h, i32x4.dot_i16x8_s(x, h));
          x = v128.load64_splat(a3 + k);
          c3e = i32x4.add(c3e, i32x4.dot_i16x8_s(x, e));
          c3h = i32x4.add(c3h, i32x4.dot_i16x8_s(x, h));
        }
      }
      c0e = i32x4.sub(c0e, i32x4.shl(c0h, 4)); c1e = i32x4.sub(c1e, i32x4.shl(c1h, 4));
      c2e = i32x4.sub(c2e, i32x4.shl(c2h, 4)); c3e = i32x4.sub(c3e, i32x4.shl(c3h, 4));
      let s0 = i32x4.add(v128.shuffle<i32>(c0e, c0h, 0, 2, 4, 6), v128.shuffle<i32>(c0e, c0h, 1, 3, 5, 7));
      let s1 = i32x4.add(v128.shuffle<i32>(c1e, c1h, 0, 2, 4, 6), v128.shuffle<i32>(c1e, c1h, 1, 3, 5, 7));
      let s2 = i32x4.add(v128.shuffle<i32>(c2e, c2h, 0, 2, 4, 6), v128.shuffle<i32>(c2e, c2h, 1, 3, 5, 7));
      let s3 = i32x4.add(v128.shuffle<i32>(c3e, c3h, 0, 2, 4, 6), v128.shuffle<i32>(c3e, c3h, 1, 3, 5, 7));
      s0 = i32x4.add(s0, bv); s1 = i32x4.add(s1, bv); s2 = i32x4.add(s2, bv); s3 = i32x4.add(s3, bv);
      store_block(out + <usize>(p * N + cb), N, nr, nc,
        requant_sm_i32x4x2_i8(s0, s1, mv, mv, rnd, kq, zyv, lov, hiv),
        requant_sm_i32x4x2_i8(s2, s3, mv, mv, rnd, kq, zyv, lov, hiv));
    }
  }
}

// A last block of at most 2 channels (N % 4 = 1 or 2; a 10-class dense layer): channels c+2, c+3 are padding,
// their weights (the high nibbles) 0, so h = 0 and E alone is the sum: one dot product per pixel and step.
// (The validator refuses a layer with a non-zero weight in its padding rows: WeightValues.)
// (A function of its own: the same loop inside igemm4_simd cost its 4-channel blocks 2-3%.)
function igemm4_simd_lo(v: AView, n: i32, N: i32, wb: usize, bv: v128, mv: v128, rnd: v128, kq: i32, zyv: v128, lov: v128, hiv: v128, out: usize, nc: i32): void {
  const segBytes = <usize>(v.segLen << 1);
  const nseg = v.nseg, segTab = v.segTab;
  for (let p = 0; p < n; p += 4) {
    const nr = min(4, n - p);
    const rp = ROWS + (<usize>p << 2), sp = SUMX + (<usize>p << 4);
    const r0 = load<usize>(rp), r1 = load<usize>(rp, 4), r2 = load<usize>(rp, 8), r3 = load<usize>(rp, 12);
    let c0 = v128.load(sp), c1 = v128.load(sp, 16), c2 = v128.load(sp, 32), c3 = v128.load(sp, 48);
    let wp = wb;
    for (let s = 0; s < nseg; s++) {
      const so = <usize>load<i32>(segTab + (<usize>s << 2));
      const a0 = r0 + so, a1 = r1 + so, a2 = r2 + so, a3 = r3 + so;
      for (let k: usize = 0; k < segBytes; k += 8) {
        const e = v128.load8x8_s(wp);
        wp += 8;
        c0 = i32x4.add(c0, i32x4.dot_i16x8_s(v128.load64_splat(a0 + k), e));
        c1 = i32x4.add(c1, i32x4.dot_i16x8_s(v128.load64_splat(a1 + k), e));
        c2 = i32x4.add(c2, i32x4.dot_i16x8_s(v128.load64_splat(a2 + k), e));
        c3 = i32x4.add(c3, i32x4.dot_i16x8_s(v128.load64_splat(a3 + k), e));
      }
    }
    // c_i lanes (ch0 k01, ch0 k23, ch1 k01, ch1 k23) -> (p0 ch0, p0 ch1, p1 ch0, p1 ch1) and the same of p2, p3
    const q = requant_sm_i32x4x2_i8(i32x4.add(hadd(c0, c1), bv), i32x4.add(hadd(c2, c3), bv), mv, mv, rnd, kq, zyv, lov, hiv);
    v128.store(LO_OUT, q);
    for (let i = 0; i < nr; i++) {
      const o = out + <usize>((p + i) * N), b = LO_OUT + (<usize>i << 1);
      store<u8>(o, load<u8>(b));
      if (nc == 2) store<u8>(o, load<u8>(b, 1), 1);
    }
  }
}
const LO_OUT: usize = memory.data(16, 16);

// Relaxed build, int8 A (x as is): t = w ^ 0x80 makes both nibbles of every byte w + 8, in [0, 15], a 7-bit
// operand (so the relaxed dot is deterministic). 16 weight bytes are two 4-k steps; `and 15` gives channels 0, 1
// of both, a shift and an `and` channels 2, 3, and one i64x2 interleave each the int8 kernel's 16-byte operand of
// one step. sum (x - zx) w = sum x (w + 8) - 8 sum x - zx sumw, the last two terms folded into each accumulator's
// start (SUMX per pixel, sumw per channel).
function igemm4_relaxed(v: AView, n: i32, N: i32, zx: i32, pw: usize, shift: i32, zy: i32, lo: i32, hi: i32, out: usize): void {
  const K = v.nseg * v.segLen;
  const Np = ceil4(N);
  const bias = pw + <usize>((Np * K) >> 1);
  const mult = bias + <usize>(Np << 2);
  const sumw = mult + <usize>(Np << 2);
  const pre = requant_sm_pre(shift), kq = shift + pre - 32, rnd = requant_sm_rnd(shift);
  const zyv = i16x8.splat(<i16>zy), lov = i8x16.splat(<i8>lo), hiv = i8x16.splat(<i8>hi), zxv = i32x4.splat(zx);
  const flip = i8x16.splat(<i8>0x80), nib = i8x16.splat(15);
  const segBytes = <usize>v.segLen;
  const nseg = v.nseg, segTab = v.segTab;
  if (!seeded) fill_sumx(v, n);
  seeded = false;
  for (let cb = 0; cb < Np; cb += 4) {
    const wb = pw + <usize>((cb * K) >> 1);
    const off = <usize>cb << 2;
    const bv = i32x4.sub(v128.load(bias + off), i32x4.mul(zxv, v128.load(sumw + off)));
    const mv = i32x4.shl(v128.load(mult + off), pre);
    const nc = min(4, N - cb);
    for (let p = 0; p < n; p += 4) {
      const nr = min(4, n - p);
      const rp = ROWS + (<usize>p << 2), sp = SUMX + (<usize>p << 2);
      const r0 = load<usize>(rp), r1 = load<usize>(rp, 4), r2 = load<usize>(rp, 8), r3 = load<usize>(rp, 12);
      if (nr == 1) {
        let c = i32x4.sub(bv, v128.load32_splat(sp));
        let wp = wb;
        for (let s = 0; s < nseg; s++) {
          const a0 = r0 + <usize>load<i32>(segTab + (<usize>s << 2));
          for (let k: usize = 0; k < segBytes; k += 8) {
            const t = v128.xor(v128.load(wp), flip);
            wp += 16;
            const l = v128.and(t, nib), u = v128.and(i16x8.shr_u(t, 4), nib);
            c = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(a0 + k), v128.shuffle<i64>(l, u, 0, 2), c);
            c = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(a0 + k + 4), v128.shuffle<i64>(l, u, 1, 3), c);
          }
        }
        store_lanes(out + <usize>(p * N + cb), requant_sm_i32x4x2_i8(c, c, mv, mv, rnd, kq, zyv, lov, hiv), nc);
        continue;
      }
      let c0 = i32x4.sub(bv, v128.load32_splat(sp)), c1 = i32x4.sub(bv, v128.load32_splat(sp + 4));
      let c2 = i32x4.sub(bv, v128.load32_splat(sp + 8)), c3 = i32x4.sub(bv, v128.load32_splat(sp + 12));
      let wp = wb;
      for (let s = 0; s < nseg; s++) {
        const so = <usize>load<i32>(segTab + (<usize>s << 2));
        const a0 = r0 + so, a1 = r1 + so, a2 = r2 + so, a3 = r3 + so;
        for (let k: usize = 0; k < segBytes; k += 8) {
          const t = v128.xor(v128.load(wp), flip);
          wp += 16;
          const l = v128.and(t, nib), u = v128.and(i16x8.shr_u(t, 4), nib);
          let wu = v128.shuffle<i64>(l, u, 0, 2);
          c0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(a0 + k), wu, c0);
          c1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(a1 + k), wu, c1);
          c2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(a2 + k), wu, c2);
          c3 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(a3 + k), wu, c3);
          wu = v128.shuffle<i64>(l, u, 1, 3);
          c0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(a0 + k + 4), wu, c0);
          c1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(a1 + k + 4), wu, c1);
          c2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(a2 + k + 4), wu, c2);
          c3 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(a3 + k + 4), wu, c3);
        }
      }
      store_block(out + <usize>(p * N + cb), N, nr, nc,
        requant_sm_i32x4x2_i8(c0, c1, mv, mv, rnd, kq, zyv, lov, hiv),
        requant_sm_i32x4x2_i8(c2, c3, mv, mv, rnd, kq, zyv, lov, hiv));
    }
  }
}

/** conv2d, groups = 1, NHWC, int4 weights (layout above); arguments as qs8_conv2d. */
export function sub_conv2d(
  kind: i32,
  x: usize, H: i32, W: i32, C: i32, zx: i32,
  out: usize, OH: i32, OW: i32, N: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32, DH: i32, DW: i32,
  pw: usize, shift: i32, zy: i32, lo: i32, hi: i32, scratch: usize,
): void {
  const i8img = ASC_FEATURE_RELAXED_SIMD && kind == KIND_4;
  const eb = i8img ? 1 : 2;
  const Cp = pad16(kind) ? ceil16(C) : ceil8(C);
  const Hp = spanOf(OH, SH, KH, DH), Wp = spanOf(OW, SW, KW, DW);
  const pixBytes = Cp * eb;
  if (ASC_FEATURE_RELAXED_SIMD && kind == KIND_4 && KH == 1 && KW == 1 && SH == 1 && SW == 1 && PT == 0 && PL == 0 && OH == H && OW == W) {
    // a 1x1 conv of stride 1 without padding: a dense layer of H*W rows (its segment table after the image)
    rows_seeded(H * W, N, C, Cp, x, zx, pw, shift, zy, lo, hi, out, scratch, scratch + <usize>(H * W * pixBytes));
    return;
  }
  let dst = scratch;
  for (let yp = 0; yp < Hp; yp++) {
    const iy = yp - PT;
    if (<u32>iy >= <u32>H) {
      put_zero(dst, Wp * Cp, zx, i8img);
      dst += <usize>(Wp * pixBytes);
      continue;
    }
    for (let xp = 0; xp < Wp; xp++) {
      const ix = xp - PL;
      if (<u32>ix >= <u32>W) {
        put_zero(dst, Cp, zx, i8img);
      } else {
        put_run(dst, x + <usize>((iy * W + ix) * C), C, zx, i8img);
        if (Cp > C) fill_bytes(dst + <usize>(C * eb), 0, <usize>((Cp - C) * eb));
      }
      dst += <usize>pixBytes;
    }
  }
  const segTab = dst;
  let nseg = 0;
  for (let ky = 0; ky < KH; ky++) {
    for (let kx = 0; kx < (DW == 1 ? 1 : KW); kx++) {
      store<i32>(segTab + (<usize>nseg << 2), (ky * DH * Wp + kx * DW) * pixBytes);
      nseg++;
    }
  }
  const v = view;
  v.base = scratch;
  v.perLine = OW;
  v.lineStride = SH * Wp * pixBytes;
  v.pixStride = SW * pixBytes;
  v.nseg = nseg;
  v.segLen = DW == 1 ? KW * Cp : Cp;
  v.segTab = segTab;
  const P = OH * OW;
  for (let p0 = 0; p0 < P; p0 += TILE) igemm_kind(kind, v, p0, min(P, p0 + TILE), N, zx, pw, shift, zy, lo, hi, out);
}

/** Dense layer with int4 weights (taps = 1, C = K); arguments as qs8_fully_connected. */
export function sub_fully_connected(
  kind: i32,
  M: i32, N: i32, K: i32, x: usize, zx: i32,
  pw: usize, shift: i32, zy: i32, lo: i32, hi: i32, out: usize, scratch: usize,
): void {
  const i8img = ASC_FEATURE_RELAXED_SIMD && kind == KIND_4;
  const eb = i8img ? 1 : 2;
  const Kp = pad16(kind) ? ceil16(K) : ceil8(K);
  const segTab = scratch;
  const base = scratch + 16;
  if (ASC_FEATURE_RELAXED_SIMD && kind == KIND_4) {
    rows_seeded(M, N, K, Kp, x, zx, pw, shift, zy, lo, hi, out, base, segTab);
    return;
  }
  store<i32>(segTab, 0);
  for (let r = 0; r < M; r++) {
    const dst = base + <usize>(r * Kp * eb);
    // SIMD build, one image: its row summed while it is put in place (as rows_seeded does in the relaxed build)
    if (ASC_FEATURE_SIMD && kind == KIND_4 && M == 1) {
      put_row_seed(dst, x, K, zx, 0);
      seeded = true;
    } else put_run(dst, x + <usize>(r * K), K, zx, i8img);
    if (Kp > K) fill_bytes(dst + <usize>(K * eb), 0, <usize>((Kp - K) * eb));
  }
  const v = view;
  v.base = base;
  v.perLine = M;
  v.lineStride = 0;
  v.pixStride = Kp * eb;
  v.nseg = 1;
  v.segLen = Kp;
  v.segTab = segTab;
  for (let p0 = 0; p0 < M; p0 += TILE) igemm_kind(kind, v, p0, min(M, p0 + TILE), N, zx, pw, shift, zy, lo, hi, out);
}

@inline
function igemm_kind(kind: i32, v: AView, p0: i32, p1: i32, N: i32, zx: i32, pw: usize, shift: i32, zy: i32, lo: i32, hi: i32, out: usize): void {
  if (kind == KIND_4) igemm4(v, p0, p1, N, zx, pw, shift, zy, lo, hi, out);
  else if (kind >= KIND_LUT) igemm_lut(kind, v, p0, p1, N, pw, shift, zy, lo, hi, out);
  else if (kind == KIND_2) igemm2(v, p0, p1, N, pw, shift, zy, lo, hi, out);
  else igemmb(v, p0, p1, N, pw, shift, zy, lo, hi, out);
}

/** conv2d, groups = 1, NHWC, int4 weights (layout above); arguments as qs8_conv2d. */
export function qs4_conv2d(
  x: usize, H: i32, W: i32, C: i32, zx: i32, out: usize, OH: i32, OW: i32, N: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32, DH: i32, DW: i32,
  pw: usize, shift: i32, zy: i32, lo: i32, hi: i32, scratch: usize,
): void {
  sub_conv2d(KIND_4, x, H, W, C, zx, out, OH, OW, N, KH, KW, SH, SW, PT, PL, DH, DW, pw, shift, zy, lo, hi, scratch);
}

/** Dense layer with int4 weights (taps = 1, C = K); arguments as qs8_fully_connected. */
export function qs4_fully_connected(
  M: i32, N: i32, K: i32, x: usize, zx: i32, pw: usize, shift: i32, zy: i32, lo: i32, hi: i32, out: usize, scratch: usize,
): void {
  sub_fully_connected(KIND_4, M, N, K, x, zx, pw, shift, zy, lo, hi, out, scratch);
}

/** conv2d with binary +-1 weights (BWN) x int8 activations; layout qbw in the file header. */
export function qbw_conv2d(
  x: usize, H: i32, W: i32, C: i32, zx: i32, out: usize, OH: i32, OW: i32, N: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32, DH: i32, DW: i32,
  pw: usize, shift: i32, zy: i32, lo: i32, hi: i32, scratch: usize,
): void {
  sub_conv2d(KIND_B, x, H, W, C, zx, out, OH, OW, N, KH, KW, SH, SW, PT, PL, DH, DW, pw, shift, zy, lo, hi, scratch);
}

export function qbw_fully_connected(
  M: i32, N: i32, K: i32, x: usize, zx: i32, pw: usize, shift: i32, zy: i32, lo: i32, hi: i32, out: usize, scratch: usize,
): void {
  sub_fully_connected(KIND_B, M, N, K, x, zx, pw, shift, zy, lo, hi, out, scratch);
}

/** conv2d with 2-bit weights (uniform grid [-2, 1], or ternary {-1, 0, 1}) x int8 activations; layout q2. */
export function qs2_conv2d(
  x: usize, H: i32, W: i32, C: i32, zx: i32, out: usize, OH: i32, OW: i32, N: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32, DH: i32, DW: i32,
  pw: usize, shift: i32, zy: i32, lo: i32, hi: i32, scratch: usize,
): void {
  sub_conv2d(KIND_2, x, H, W, C, zx, out, OH, OW, N, KH, KW, SH, SW, PT, PL, DH, DW, pw, shift, zy, lo, hi, scratch);
}

export function qs2_fully_connected(
  M: i32, N: i32, K: i32, x: usize, zx: i32, pw: usize, shift: i32, zy: i32, lo: i32, hi: i32, out: usize, scratch: usize,
): void {
  sub_fully_connected(KIND_2, M, N, K, x, zx, pw, shift, zy, lo, hi, out, scratch);
}

export function qbw_packed_bytes(N: i32, taps: i32, C: i32): i32 {
  return (ceil16(N) * taps * ceil8(C)) / 8 + 16 * ceil4(N);
}

export function qs2_packed_bytes(N: i32, taps: i32, C: i32): i32 {
  return (ceil8(N) * taps * ceil16(C)) / 4 + 16 * ceil4(N);
}

export function qbw_conv2d_scratch_bytes(OH: i32, OW: i32, C: i32, KH: i32, KW: i32, SH: i32, SW: i32, DH: i32, DW: i32): i32 {
  return spanOf(OH, SH, KH, DH) * spanOf(OW, SW, KW, DW) * ceil8(C) * 2 + 4 * KH * KW;
}

export function qs2_conv2d_scratch_bytes(OH: i32, OW: i32, C: i32, KH: i32, KW: i32, SH: i32, SW: i32, DH: i32, DW: i32): i32 {
  return spanOf(OH, SH, KH, DH) * spanOf(OW, SW, KW, DW) * ceil16(C) * 2 + 4 * KH * KW;
}

export function qbw_fully_connected_scratch_bytes(M: i32, K: i32): i32 { return M * ceil8(K) * 2 + 16; }
export function qs2_fully_connected_scratch_bytes(M: i32, K: i32): i32 { return M * ceil16(K) * 2 + 16; }

// ---------------------------------------------------------------- 2-bit (uniform [-2, 1] or ternary): int16 A
// Layout (packQs2Gemm), K = T*ceil16(C), N8 = ceil8(N): u8 w[N8/8][K/4][8], 8 bytes per 8 channels x 4 k: byte
// 4*s + k (s = 0, 1) holds the weights of channels s, s+2, s+4, s+6 at k in its four crumbs (bits [2m, 2m+2),
// m = 0..3, channel s + 2m); crumbs 0..2 as w + 2 (offset binary, [0, 3]), crumb 3 in two's complement; weight 0
// is the byte 0x2a. Then int32 bias, mult, sumw, 0 for ceil4(N) channels.
// SIMD form, 2 pixels x 8 channels: one widening load per step gives e = c0 + 4 c1 + 16 c2 + 64 c3 as int16,
// and h1 = shr_s(e, 2), h2 = shr_s(e, 4), h3 = shr_s(e, 6) drop the low crumbs exactly; four dot products per
// pixel accumulate E, H1, H2, H3, and at the end channel pair m is Hm - 4 H(m+1) (E for m = 0, H3 alone for
// m = 3), minus 2 sum x for m < 3: one load and three shifts per 32 weights, where the int8 kernel loads 64 bytes.

// (the sum of the K A values) << sh of each pixel of ROWS (sh = 1: 2-bit, 0: BWN)
const SUM2: usize = memory.data((RUN + 4) << 2, 16);

function fill_sum2(v: AView, n: i32, sh: i32): void {
  const nseg = v.nseg, segBytes = <usize>(v.segLen << 1), segTab = v.segTab;
  let last = 0;
  for (let i = 0; i < n; i++) {
    const ar = load<usize>(ROWS + (<usize>i << 2));
    let acc = 0;
    for (let s = 0; s < nseg; s++) {
      const a = ar + <usize>load<i32>(segTab + (<usize>s << 2));
      if (ASC_FEATURE_SIMD) {
        let k: usize = 0;
        while (k < segBytes) {
          const e = min(segBytes, k + 64 * 16);
          let t = v128.load(a + k);
          for (k += 16; k < e; k += 16) t = i16x8.add(t, v128.load(a + k));
          const u = i32x4.extadd_pairwise_i16x8_s(t);
          acc += i32x4.extract_lane(u, 0) + i32x4.extract_lane(u, 1) + i32x4.extract_lane(u, 2) + i32x4.extract_lane(u, 3);
        }
      } else {
        for (let k: usize = 0; k < segBytes; k += 2) acc += i32(load<i16>(a + k));
      }
    }
    last = acc << sh;
    store<i32>(SUM2 + (<usize>i << 2), last);
  }
  for (let i = n; i < ((n + 3) & ~3); i++) store<i32>(SUM2 + (<usize>i << 2), last);
}

function igemm2(v: AView, p0: i32, p1: i32, N: i32, pw: usize, shift: i32, zy: i32, lo: i32, hi: i32, out: usize): void {
  fill_rows(v, p0, p1);
  fill_sum2(v, p1 - p0, 1);
  const o = out + <usize>(p0 * N);
  if (ASC_FEATURE_SIMD) igemm2_simd(v, p1 - p0, N, pw, shift, zy, lo, hi, o);
  else igemm2_portable(v, p1 - p0, N, pw, shift, zy, lo, hi, o);
}

function igemm2_portable(v: AView, n: i32, N: i32, pw: usize, shift: i32, zy: i32, lo: i32, hi: i32, out: usize): void {
  const K = v.nseg * v.segLen;
  const bias = pw + <usize>((ceil8(N) * K) >> 2);
  const mult = bias + <usize>(ceil4(N) << 2);
  for (let c = 0; c < N; c++) {
    const wb = pw + <usize>((c >> 3) * (K << 1) + ((c & 1) << 2));
    const m = (c >> 1) & 3;
    const b = load<i32>(bias + (<usize>c << 2));
    const mu = load<i32>(mult + (<usize>c << 2));
    for (let p = 0; p < n; p++) {
      const ar = load<usize>(ROWS + (<usize>p << 2));
      let acc: i32 = 0;
      let wq = wb;
      for (let s = 0; s < v.nseg; s++) {
        const as = ar + <usize>load<i32>(v.segTab + (<usize>s << 2));
        for (let k = 0; k < v.segLen; k += 4) {
          const aq = as + <usize>(k << 1);
          for (let j = 0; j < 4; j++) {
            const u = i32(load<u8>(wq + <usize>j));
            acc += i32(load<i16>(aq + <usize>(j << 1))) * (m < 3 ? ((u >> (m << 1)) & 3) - 2 : (u << 24) >> 30);
          }
          wq += 8;
        }
      }
      store<i8>(out + <usize>(p * N + c), <i8>requant(acc + b, mu, shift, zy, lo, hi));
    }
  }
}

// Stores the first nc (1..8) int8 lanes of v.
@inline
function store_lanes8(p: usize, v: v128, nc: i32): void {
  if (nc == 8) {
    v128.store64_lane(p, v, 0);
  } else {
    if (nc >= 4) v128.store32_lane(p, v, 0);
    for (let j = nc & 4; j < nc; j++) store<i8>(p + <usize>j, i8x16.extract_lane_s(i8x16.swizzle(v, i8x16.splat(<i8>j)), 0));
  }
}

function igemm2_simd(v: AView, n: i32, N: i32, pw: usize, shift: i32, zy: i32, lo: i32, hi: i32, out: usize): void {
  const K = v.nseg * v.segLen;
  const N8 = ceil8(N);
  const bias = pw + <usize>((N8 * K) >> 2);
  const mult = bias + <usize>(ceil4(N) << 2);
  const pre = requant_sm_pre(shift), kq = shift + pre - 32, rnd = requant_sm_rnd(shift);
  const zyv = i16x8.splat(<i16>zy), lov = i8x16.splat(<i8>lo), hiv = i8x16.splat(<i8>hi);
  const segBytes = <usize>(v.segLen << 1);
  const nseg = v.nseg, segTab = v.segTab;
  const lo2 = i32x4(-1, -1, 0, 0);
  for (let cb = 0; cb < N8; cb += 8) {
    const wb = pw + <usize>((cb * K) >> 2);
    // channels past ceil4(N) read the next arrays' words: their outputs are never stored
    const bl = v128.load(bias + (<usize>cb << 2)), bh = v128.load(bias + (<usize>cb << 2), 16);
    const ml = i32x4.shl(v128.load(mult + (<usize>cb << 2)), pre), mh = i32x4.shl(v128.load(mult + (<usize>cb << 2), 16), pre);
    const nc = min(8, N - cb);
    for (let p = 0; p < n; p += 2) {
      const rp = ROWS + (<usize>p << 2);
      const r0 = load<usize>(rp), r1 = load<usize>(rp, 4);
      let e0 = i32x4.splat(0), f0 = i32x4.splat(0), g0 = i32x4.splat(0), h0 = i32x4.splat(0);
      let e1 = i32x4.splat(0), f1 = i32x4.splat(0), g1 = i32x4.splat(0), h1 = i32x4.splat(0);
      let wp = wb;
      for (let s = 0; s < nseg; s++) {
        const so = <usize>load<i32>(segTab + (<usize>s << 2));
        const a0 = r0 + so, a1 = r1 + so;
        for (let k: usize = 0; k < segBytes; k += 8) {
          const e = v128.load8x8_s(wp);
          const w1 = i16x8.shr_s(e, 2), w2 = i16x8.shr_s(e, 4), w3 = i16x8.shr_s(e, 6);
          wp += 8;
          let x = v128.load64_splat(a0 + k);
          e0 = i32x4.add(e0, i32x4.dot_i16x8_s(x, e));
          f0 = i32x4.add(f0, i32x4.dot_i16x8_s(x, w1));
          g0 = i32x4.add(g0, i32x4.dot_i16x8_s(x, w2));
          h0 = i32x4.add(h0, i32x4.dot_i16x8_s(x, w3));
          x = v128.load64_splat(a1 + k);
          e1 = i32x4.add(e1, i32x4.dot_i16x8_s(x, e));
          f1 = i32x4.add(f1, i32x4.dot_i16x8_s(x, w1));
          g1 = i32x4.add(g1, i32x4.dot_i16x8_s(x, w2));
          h1 = i32x4.add(h1, i32x4.dot_i16x8_s(x, w3));
        }
      }
      // pair sums: lanes (slot 0 k01, slot 0 k23, slot 1 k01, slot 1 k23) -> channels (2m, 2m + 1)
      const s2 = v128.load32_splat(SUM2 + (<usize>p << 2)), t2 = v128.load32_splat(SUM2 + (<usize>p << 2), 4);
      let q0 = i32x4.sub(e0, i32x4.shl(f0, 2)), q1 = i32x4.sub(f0, i32x4.shl(g0, 2)), q2 = i32x4.sub(g0, i32x4.shl(h0, 2));
      let sl = i32x4.add(v128.shuffle<i32>(q0, q1, 0, 2, 4, 6), v128.shuffle<i32>(q0, q1, 1, 3, 5, 7));
      let sh = i32x4.add(v128.shuffle<i32>(q2, h0, 0, 2, 4, 6), v128.shuffle<i32>(q2, h0, 1, 3, 5, 7));
      sl = i32x4.add(i32x4.sub(sl, s2), bl);
      sh = i32x4.add(i32x4.sub(sh, v128.and(s2, lo2)), bh);
      store_lanes8(out + <usize>(p * N + cb), requant_sm_i32x4x2_i8(sl, sh, ml, mh, rnd, kq, zyv, lov, hiv), nc);
      if (p + 1 < n) {
        q0 = i32x4.sub(e1, i32x4.shl(f1, 2)); q1 = i32x4.sub(f1, i32x4.shl(g1, 2)); q2 = i32x4.sub(g1, i32x4.shl(h1, 2));
        sl = i32x4.add(v128.shuffle<i32>(q0, q1, 0, 2, 4, 6), v128.shuffle<i32>(q0, q1, 1, 3, 5, 7));
        sh = i32x4.add(v128.shuffle<i32>(q2, h1, 0, 2, 4, 6), v128.shuffle<i32>(q2, h1, 1, 3, 5, 7));
        sl = i32x4.add(i32x4.sub(sl, t2), bl);
        sh = i32x4.add(i32x4.sub(sh, v128.and(t2, lo2)), bh);
        store_lanes8(out + <usize>((p + 1) * N + cb), requant_sm_i32x4x2_i8(sl, sh, ml, mh, rnd, kq, zyv, lov, hiv), nc);
      }
    }
  }
}

// ---------------------------------------------------------------- BWN (+-1 weights x int8): int16 A
// Layout (packQbwGemm), K = T*ceil8(C), N16 = ceil16(N): u8 w[N16/16][K/4][8], 8 bytes per 16 channels x 4 k:
// byte 4*s + k (s = 0, 1) holds channels s + 2m (m = 0..7) in bit m; a set bit is -1, a clear bit +1 (padding too:
// it multiplies a zero activation). Then int32 bias, mult, sumw, 0 for ceil4(N) channels.
// SIMD form, 1 pixel x 16 channels: one widening load per step gives e = sum_{m<7} b_m 2^m - 128 b_7 as int16,
// h_j = shr_s(e, j) (j = 1..7) drop the low bits exactly; eight dot products D0 (with e), D1..D7 (with h_j),
// and at the end sum x b_m = D_m - 2 D_(m+1) (m < 7), sum x b_7 = -D_7, and sum x w = sum x - 2 sum x b.
// One load and seven shifts per 64 weights, where the int8 kernel loads 64 bytes.

function igemmb(v: AView, p0: i32, p1: i32, N: i32, pw: usize, shift: i32, zy: i32, lo: i32, hi: i32, out: usize): void {
  fill_rows(v, p0, p1);
  fill_sum2(v, p1 - p0, 0);
  const o = out + <usize>(p0 * N);
  if (ASC_FEATURE_SIMD) igemmb_simd(v, p1 - p0, N, pw, shift, zy, lo, hi, o);
  else igemmb_portable(v, p1 - p0, N, pw, shift, zy, lo, hi, o);
}

function igemmb_portable(v: AView, n: i32, N: i32, pw: usize, shift: i32, zy: i32, lo: i32, hi: i32, out: usize): void {
  const K = v.nseg * v.segLen;
  const bias = pw + <usize>((ceil16(N) * K) >> 3);
  const mult = bias + <usize>(ceil4(N) << 2);
  for (let c = 0; c < N; c++) {
    const wb = pw + <usize>((c >> 4) * (K << 1) + ((c & 1) << 2));
    const m = (c >> 1) & 7;
    const b = load<i32>(bias + (<usize>c << 2));
    const mu = load<i32>(mult + (<usize>c << 2));
    for (let p = 0; p < n; p++) {
      const ar = load<usize>(ROWS + (<usize>p << 2));
      let acc: i32 = 0;
      let wq = wb;
      for (let s = 0; s < v.nseg; s++) {
        const as = ar + <usize>load<i32>(v.segTab + (<usize>s << 2));
        for (let k = 0; k < v.segLen; k += 4) {
          const aq = as + <usize>(k << 1);
          for (let j = 0; j < 4; j++) {
            const a = i32(load<i16>(aq + <usize>(j << 1)));
            acc += (i32(load<u8>(wq + <usize>j)) >> m) & 1 ? -a : a;
          }
          wq += 8;
        }
      }
      store<i8>(out + <usize>(p * N + c), <i8>requant(acc + b, mu, shift, zy, lo, hi));
    }
  }
}

function igemmb_simd(v: AView, n: i32, N: i32, pw: usize, shift: i32, zy: i32, lo: i32, hi: i32, out: usize): void {
  const K = v.nseg * v.segLen;
  const N16 = ceil16(N), Np = ceil4(N);
  const bias = pw + <usize>((N16 * K) >> 3);
  const mult = bias + <usize>(Np << 2);
  const pre = requant_sm_pre(shift), kq = shift + pre - 32, rnd = requant_sm_rnd(shift);
  const zyv = i16x8.splat(<i16>zy), lov = i8x16.splat(<i8>lo), hiv = i8x16.splat(<i8>hi);
  const segBytes = <usize>(v.segLen << 1);
  const nseg = v.nseg, segTab = v.segTab;
  for (let cb = 0; cb < N16; cb += 16) {
    const wb = pw + <usize>((cb * K) >> 3);
    // channels past ceil4(N) read the next arrays' words: their outputs are never stored
    const bo = bias + (<usize>cb << 2), mo = mult + (<usize>cb << 2);
    const nc = min(16, N - cb);
    for (let p = 0; p < n; p++) {
      const a0 = load<usize>(ROWS + (<usize>p << 2));
      let d0 = i32x4.splat(0), d1 = i32x4.splat(0), d2 = i32x4.splat(0), d3 = i32x4.splat(0);
      let d4 = i32x4.splat(0), d5 = i32x4.splat(0), d6 = i32x4.splat(0), d7 = i32x4.splat(0);
      let wp = wb;
      for (let s = 0; s < nseg; s++) {
        const a = a0 + <usize>load<i32>(segTab + (<usize>s << 2));
        for (let k: usize = 0; k < segBytes; k += 8) {
          const e = v128.load8x8_s(wp);
          wp += 8;
          const x = v128.load64_splat(a + k);
          d0 = i32x4.add(d0, i32x4.dot_i16x8_s(x, e));
          d1 = i32x4.add(d1, i32x4.dot_i16x8_s(x, i16x8.shr_s(e, 1)));
          d2 = i32x4.add(d2, i32x4.dot_i16x8_s(x, i16x8.shr_s(e, 2)));
          d3 = i32x4.add(d3, i32x4.dot_i16x8_s(x, i16x8.shr_s(e, 3)));
          d4 = i32x4.add(d4, i32x4.dot_i16x8_s(x, i16x8.shr_s(e, 4)));
          d5 = i32x4.add(d5, i32x4.dot_i16x8_s(x, i16x8.shr_s(e, 5)));
          d6 = i32x4.add(d6, i32x4.dot_i16x8_s(x, i16x8.shr_s(e, 6)));
          d7 = i32x4.add(d7, i32x4.dot_i16x8_s(x, i16x8.shr_s(e, 7)));
        }
      }
      // sum x w = sum x - 2 sum x b, per channel pair m: sum x b_m = D_m - 2 D_(m+1), sum x b_7 = -D_7
      const sx = v128.load32_splat(SUM2 + (<usize>p << 2));
      const b0 = i32x4.sub(d0, i32x4.shl(d1, 1)), b1 = i32x4.sub(d1, i32x4.shl(d2, 1));
      const b2 = i32x4.sub(d2, i32x4.shl(d3, 1)), b3 = i32x4.sub(d3, i32x4.shl(d4, 1));
      const b4 = i32x4.sub(d4, i32x4.shl(d5, 1)), b5 = i32x4.sub(d5, i32x4.shl(d6, 1));
      const b6 = i32x4.sub(d6, i32x4.shl(d7, 1)), b7 = i32x4.neg(d7);
      const s0 = i32x4.add(i32x4.sub(sx, i32x4.shl(hadd(b0, b1), 1)), v128.load(bo));
      const s1 = i32x4.add(i32x4.sub(sx, i32x4.shl(hadd(b2, b3), 1)), v128.load(bo, 16));
      const s2 = i32x4.add(i32x4.sub(sx, i32x4.shl(hadd(b4, b5), 1)), v128.load(bo, 32));
      const s3 = i32x4.add(i32x4.sub(sx, i32x4.shl(hadd(b6, b7), 1)), v128.load(bo, 48));
      const q01 = requant_sm_i32x4x2_i8(s0, s1, i32x4.shl(v128.load(mo), pre), i32x4.shl(v128.load(mo, 16), pre), rnd, kq, zyv, lov, hiv);
      const o = out + <usize>(p * N + cb);
      if (nc >= 8) {
        v128.store64_lane(o, q01, 0);
        const q23 = requant_sm_i32x4x2_i8(s2, s3, i32x4.shl(v128.load(mo, 32), pre), i32x4.shl(v128.load(mo, 48), pre), rnd, kq, zyv, lov, hiv);
        store_lanes8(o + 8, q23, nc - 8);
      } else {
        store_lanes8(o, q01, nc);
      }
    }
  }
}
