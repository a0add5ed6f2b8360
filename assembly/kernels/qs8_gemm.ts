// qs8 implicit GEMM: int8 activations x int8 weights -> int32 accumulators -> requantized int8 outputs.
// The engine behind conv2d (groups = 1), pointwise conv and dense layers (qs8_conv2d.ts drives it).
//
// Packed layer (written by src/pack/layout.ts, read in place), N outputs, T taps of C channels each,
// Cp = ceil(C/4)*4, K = T*Cp, Np = ceil(N/4)*4:
//   int8  w[Np/4][K/4][4 ch][4 k]   k ordered (tap, c); weights in [-127, 127]; zero in all padding
//   int32 bias[Np]                  bias in accumulator units (zero in the padding)
//   int32 mult[Np]                  requantization multipliers (see requant.ts)
//   int32 sumw[Np]                  sum_k w[c][k]                (relaxed build's zero-point term)
//   int32 sumwn[Np]                 sum_k max(-w[c][k], 0)       (relaxed build's sign-split term)
// Total Np*K + 16*Np bytes. A dense layer is T = 1, C = its input length.
//
// The A operand (activations) is read in place from a prepared image (see qs8_conv2d.ts):
//   portable and SIMD builds: int16 (x - zx), zero in spatial and channel padding
//   relaxed build:            int8  x,       zx in spatial padding, 0 in channel padding
// Output pixel p = (p / perLine, p % perLine) starts at base + line*lineStride + col*pixStride, and its K
// values are `nseg` segments of `segLen` elements at the byte offsets of segTab (i32[nseg]).
//
// The relaxed dot `i32x4.relaxed_dot_i8x16_i7x16_add_s` is deterministic only while its second operand is
// within [0, 127]. Here that operand is always max(w, 0) or max(-w, 0) with w in [-127, 127], in range by
// construction; the micro-kernel accumulates dot(x, w+) and dot(x, w-) on separate accumulators and uses
//   sum (x - zx)*w = dot(x, w+) - dot(x, w-) - zx*sumw
// which gives the same int32 as the other builds, so all builds are bit-identical. (Earlier forms: dot(~x, w-)
// + sumwn on one accumulator pair, ~x = -x - 1, which sumwn in the layout still supports; and the i16x8 form,
// relaxed_dot_i16(x, w+) - relaxed_dot_i16(x, w-) as exact int16 pair sums then i32x4.dot_i16x8_s with ones.
// Measured in Deno 2.9 / V8 15 on this host (AMD Zen 5), on 3x3 convs: 47-55 GMAC/s for this form, 39-50 for
// the ~x form, 35-41 for the i16x8 form with the ones in memory and 27-29 with them in a register.)
//
// Micro-kernel: 4 output pixels x 4 output channels of accumulators, k stepped by 4; a lone last pixel (a dense
// layer of one image) has a one-pixel loop. The addresses of the pixels' rows are computed once per run of up
// to 64 pixels into a table (no division per pixel and channel block).

import { requant, requant_sm_i32x4x2_i8, requant_sm_pre, requant_sm_rnd } from "./requant";

/** Bytes per activation element in the A operand of this build. */
export function a_elem_bytes(): i32 {
  return ASC_FEATURE_RELAXED_SIMD ? 1 : 2;
}

@inline export function ceil4(n: i32): i32 { return (n + 3) & ~3; }

/** Size in bytes of a packed qs8 layer with `N` outputs and `taps` taps of `C` channels. */
export function qs8_packed_bytes(N: i32, taps: i32, C: i32): i32 {
  const Np = ceil4(N);
  return Np * taps * ceil4(C) + 16 * Np;
}

/** Geometry of the A operand shared by the three forms. */
@unmanaged
export class AView {
  base: usize = 0;
  perLine: i32 = 1;
  lineStride: i32 = 0;
  pixStride: i32 = 0;
  nseg: i32 = 1;
  segLen: i32 = 0; // elements, multiple of 4
  segTab: usize = 0;
}

/** Pixels per run of the micro-kernels (the row table's length). */
export const RUN: i32 = 64;
// Row addresses of the pixels of a run, padded to a multiple of 4 with the last one.
export const ROWS: usize = memory.data((RUN + 4) << 2, 16);

// Fills ROWS for pixels [p0, p1), p1 - p0 <= RUN.
export function fill_rows(v: AView, p0: i32, p1: i32): void {
  const perLine = v.perLine;
  const line = p0 / perLine;
  let col = p0 - line * perLine;
  let rl = v.base + <usize>(line * v.lineStride);
  let last: usize = 0;
  const n = p1 - p0;
  for (let i = 0; i < n; i++) {
    last = rl + <usize>(col * v.pixStride);
    store<usize>(ROWS + (<usize>i << 2), last);
    if (++col == perLine) {
      col = 0;
      rl += <usize>v.lineStride;
    }
  }
  for (let i = n; i < ((n + 3) & ~3); i++) store<usize>(ROWS + (<usize>i << 2), last);
}

/** out[p*N + c] = requant(sum_k A[p][k] * w[c][k] + bias[c]) for p in [p0, p1), c < N. */
export function qs8_igemm(
  v: AView, p0: i32, p1: i32, N: i32, zx: i32,
  pw: usize, shift: i32, zy: i32, lo: i32, hi: i32, out: usize,
): void {
  for (let q0 = p0; q0 < p1; q0 += RUN) {
    const q1 = min(p1, q0 + RUN);
    fill_rows(v, q0, q1);
    const o = out + <usize>(q0 * N);
    if (ASC_FEATURE_RELAXED_SIMD) igemm_relaxed(v, q1 - q0, N, zx, pw, shift, zy, lo, hi, o);
    else if (ASC_FEATURE_SIMD) igemm_simd(v, q1 - q0, N, pw, shift, zy, lo, hi, o);
    else igemm_portable(v, q1 - q0, N, pw, shift, zy, lo, hi, o);
  }
}

// The forms run the `n` pixels of ROWS; pixel i's outputs go to out + i*N.
function igemm_portable(
  v: AView, n: i32, N: i32,
  pw: usize, shift: i32, zy: i32, lo: i32, hi: i32, out: usize,
): void {
  const K = v.nseg * v.segLen;
  const Np = ceil4(N);
  const bias = pw + <usize>(Np * K);
  const mult = bias + <usize>(Np << 2);
  for (let c = 0; c < N; c++) {
    const wb = pw + <usize>((c >> 2) * (K << 2) + ((c & 3) << 2));
    const b = load<i32>(bias + (<usize>c << 2));
    const m = load<i32>(mult + (<usize>c << 2));
    for (let p = 0; p < n; p++) {
      const ar = load<usize>(ROWS + (<usize>p << 2));
      let acc: i32 = 0;
      let wq = wb;
      for (let s = 0; s < v.nseg; s++) {
        const as = ar + <usize>load<i32>(v.segTab + (<usize>s << 2));
        for (let k = 0; k < v.segLen; k += 4) {
          const aq = as + <usize>(k << 1);
          acc += i32(load<i16>(aq)) * i32(load<i8>(wq))
               + i32(load<i16>(aq, 2)) * i32(load<i8>(wq, 1))
               + i32(load<i16>(aq, 4)) * i32(load<i8>(wq, 2))
               + i32(load<i16>(aq, 6)) * i32(load<i8>(wq, 3));
          wq += 16;
        }
      }
      store<i8>(out + <usize>(p * N + c), <i8>requant(acc + b, m, shift, zy, lo, hi));
    }
  }
}

// Stores the low `n` (1..4) int8 lanes of `v`.
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

// Stores 4 pixels x nc channels: b01 holds pixels 0 and 1 (bytes 0..3, 4..7), b23 pixels 2 and 3;
// only the first nr pixels are real.
@inline
function store_block(o: usize, N: i32, nr: i32, nc: i32, b01: v128, b23: v128): void {
  store_lanes(o, b01, nc);
  if (nr > 1) store_lanes(o + <usize>N, v128.shuffle<i32>(b01, b01, 1, 1, 1, 1), nc);
  if (nr > 2) store_lanes(o + <usize>(2 * N), b23, nc);
  if (nr > 3) store_lanes(o + <usize>(3 * N), v128.shuffle<i32>(b23, b23, 1, 1, 1, 1), nc);
}

function igemm_simd(
  v: AView, n: i32, N: i32,
  pw: usize, shift: i32, zy: i32, lo: i32, hi: i32, out: usize,
): void {
  const K = v.nseg * v.segLen;
  const Np = ceil4(N);
  const bias = pw + <usize>(Np * K);
  const mult = bias + <usize>(Np << 2);
  // requantization constants (requant_sm_i32x4x2_i8 in requant.ts: identical to requant lane by lane)
  const pre = requant_sm_pre(shift), kq = shift + pre - 32, rnd = requant_sm_rnd(shift);
  const zyv = i16x8.splat(<i16>zy), lov = i8x16.splat(<i8>lo), hiv = i8x16.splat(<i8>hi);
  const segBytes = <usize>(v.segLen << 1);
  const nseg = v.nseg, segTab = v.segTab;
  for (let cb = 0; cb < Np; cb += 4) {
    const wb = pw + <usize>(cb * K);
    const bv = v128.load(bias + (<usize>cb << 2));
    const mv = i32x4.shl(v128.load(mult + (<usize>cb << 2)), pre);
    const nc = min(4, N - cb);
    for (let p = 0; p < n; p += 4) {
      const nr = min(4, n - p);
      const rp = ROWS + (<usize>p << 2);
      const r0 = load<usize>(rp), r1 = load<usize>(rp, 4), r2 = load<usize>(rp, 8), r3 = load<usize>(rp, 12);
      if (nr == 1) {
        // one pixel (a dense layer of one image, or the last of a run): its own loop, not four copies of it
        let cl = i32x4.splat(0), ch = i32x4.splat(0);
        let wp = wb;
        for (let s = 0; s < nseg; s++) {
          const a0 = r0 + <usize>load<i32>(segTab + (<usize>s << 2));
          for (let k: usize = 0; k < segBytes; k += 8) {
            const x = v128.load64_splat(a0 + k);
            cl = i32x4.add(cl, i32x4.dot_i16x8_s(x, v128.load8x8_s(wp)));
            ch = i32x4.add(ch, i32x4.dot_i16x8_s(x, v128.load8x8_s(wp, 8)));
            wp += 16;
          }
        }
        const s0 = i32x4.add(i32x4.add(v128.shuffle<i32>(cl, ch, 0, 2, 4, 6), v128.shuffle<i32>(cl, ch, 1, 3, 5, 7)), bv);
        store_lanes(out + <usize>(p * N + cb), requant_sm_i32x4x2_i8(s0, s0, mv, mv, rnd, kq, zyv, lov, hiv), nc);
        continue;
      }
      let c0l = i32x4.splat(0), c0h = i32x4.splat(0), c1l = i32x4.splat(0), c1h = i32x4.splat(0);
      let c2l = i32x4.splat(0), c2h = i32x4.splat(0), c3l = i32x4.splat(0), c3h = i32x4.splat(0);
      let wp = wb;
      for (let s = 0; s < nseg; s++) {
        const so = <usize>load<i32>(segTab + (<usize>s << 2));
        const a0 = r0 + so, a1 = r1 + so, a2 = r2 + so, a3 = r3 + so;
        for (let k: usize = 0; k < segBytes; k += 8) {
          // widened as they are loaded (one instruction each on x64, where extend_high would take two)
          const wl = v128.load8x8_s(wp);     // ch0 k0..3, ch1 k0..3
          const wh = v128.load8x8_s(wp, 8);  // ch2 k0..3, ch3 k0..3
          wp += 16;
          let x = v128.load64_splat(a0 + k);      // k0..3, k0..3
          c0l = i32x4.add(c0l, i32x4.dot_i16x8_s(x, wl));
          c0h = i32x4.add(c0h, i32x4.dot_i16x8_s(x, wh));
          x = v128.load64_splat(a1 + k);
          c1l = i32x4.add(c1l, i32x4.dot_i16x8_s(x, wl));
          c1h = i32x4.add(c1h, i32x4.dot_i16x8_s(x, wh));
          x = v128.load64_splat(a2 + k);
          c2l = i32x4.add(c2l, i32x4.dot_i16x8_s(x, wl));
          c2h = i32x4.add(c2h, i32x4.dot_i16x8_s(x, wh));
          x = v128.load64_splat(a3 + k);
          c3l = i32x4.add(c3l, i32x4.dot_i16x8_s(x, wl));
          c3h = i32x4.add(c3h, i32x4.dot_i16x8_s(x, wh));
        }
      }
      // lanes (c0 k01, c0 k23, c1 k01, c1 k23) + (c2.., c3..) -> (c0, c1, c2, c3)
      const s0 = i32x4.add(i32x4.add(v128.shuffle<i32>(c0l, c0h, 0, 2, 4, 6), v128.shuffle<i32>(c0l, c0h, 1, 3, 5, 7)), bv);
      const s1 = i32x4.add(i32x4.add(v128.shuffle<i32>(c1l, c1h, 0, 2, 4, 6), v128.shuffle<i32>(c1l, c1h, 1, 3, 5, 7)), bv);
      const s2 = i32x4.add(i32x4.add(v128.shuffle<i32>(c2l, c2h, 0, 2, 4, 6), v128.shuffle<i32>(c2l, c2h, 1, 3, 5, 7)), bv);
      const s3 = i32x4.add(i32x4.add(v128.shuffle<i32>(c3l, c3h, 0, 2, 4, 6), v128.shuffle<i32>(c3l, c3h, 1, 3, 5, 7)), bv);
      store_block(out + <usize>(p * N + cb), N, nr, nc,
        requant_sm_i32x4x2_i8(s0, s1, mv, mv, rnd, kq, zyv, lov, hiv),
        requant_sm_i32x4x2_i8(s2, s3, mv, mv, rnd, kq, zyv, lov, hiv));
    }
  }
}

function igemm_relaxed(
  v: AView, n: i32, N: i32, zx: i32,
  pw: usize, shift: i32, zy: i32, lo: i32, hi: i32, out: usize,
): void {
  const K = v.nseg * v.segLen;
  const Np = ceil4(N);
  const bias = pw + <usize>(Np * K);
  const mult = bias + <usize>(Np << 2);
  const sumw = mult + <usize>(Np << 2);
  const pre = requant_sm_pre(shift), kq = shift + pre - 32, rnd = requant_sm_rnd(shift);
  const zyv = i16x8.splat(<i16>zy), lov = i8x16.splat(<i8>lo), hiv = i8x16.splat(<i8>hi), zxv = i32x4.splat(zx);
  const zero = i32x4.splat(0);
  const segBytes = <usize>v.segLen;
  const nseg = v.nseg, segTab = v.segTab;
  for (let cb = 0; cb < Np; cb += 4) {
    const wb = pw + <usize>(cb * K);
    const off = <usize>cb << 2;
    // bias - zx * sumw turns sum x * w into sum (x - zx) * w.
    const bv = i32x4.sub(v128.load(bias + off), i32x4.mul(zxv, v128.load(sumw + off)));
    const mv = i32x4.shl(v128.load(mult + off), pre);
    const nc = min(4, N - cb);
    for (let p = 0; p < n; p += 4) {
      const nr = min(4, n - p);
      const rp = ROWS + (<usize>p << 2);
      const r0 = load<usize>(rp), r1 = load<usize>(rp, 4), r2 = load<usize>(rp, 8), r3 = load<usize>(rp, 12);
      if (nr == 1) {
        // one pixel: its own loop (see igemm_simd)
        let c = bv, m = zero;
        let wp = wb;
        for (let s = 0; s < nseg; s++) {
          const a0 = r0 + <usize>load<i32>(segTab + (<usize>s << 2));
          for (let k: usize = 0; k < segBytes; k += 4) {
            const w = v128.load(wp);
            wp += 16;
            const wpos = i8x16.max_s(w, zero);
            const x = v128.load32_splat(a0 + k);
            c = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, wpos, c);
            m = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, i8x16.sub(wpos, w), m);
          }
        }
        c = i32x4.sub(c, m);
        store_lanes(out + <usize>(p * N + cb), requant_sm_i32x4x2_i8(c, c, mv, mv, rnd, kq, zyv, lov, hiv), nc);
        continue;
      }
      let c0 = bv, c1 = bv, c2 = bv, c3 = bv;
      let n0 = zero, n1 = zero, n2 = zero, n3 = zero;
      let wp = wb;
      for (let s = 0; s < nseg; s++) {
        const so = <usize>load<i32>(segTab + (<usize>s << 2));
        const a0 = r0 + so, a1 = r1 + so, a2 = r2 + so, a3 = r3 + so;
        for (let k: usize = 0; k < segBytes; k += 4) {
          const w = v128.load(wp);
          wp += 16;
          const wpos = i8x16.max_s(w, zero);  // in [0, 127]
          const wneg = i8x16.sub(wpos, w);    // max(-w, 0), in [0, 127]
          let x = v128.load32_splat(a0 + k);
          c0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, wpos, c0);
          n0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, wneg, n0);
          x = v128.load32_splat(a1 + k);
          c1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, wpos, c1);
          n1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, wneg, n1);
          x = v128.load32_splat(a2 + k);
          c2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, wpos, c2);
          n2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, wneg, n2);
          x = v128.load32_splat(a3 + k);
          c3 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, wpos, c3);
          n3 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, wneg, n3);
        }
      }
      c0 = i32x4.sub(c0, n0); c1 = i32x4.sub(c1, n1); c2 = i32x4.sub(c2, n2); c3 = i32x4.sub(c3, n3);
      store_block(out + <usize>(p * N + cb), N, nr, nc,
        requant_sm_i32x4x2_i8(c0, c1, mv, mv, rnd, kq, zyv, lov, hiv),
        requant_sm_i32x4x2_i8(c2, c3, mv, mv, rnd, kq, zyv, lov, hiv));
    }
  }
}
