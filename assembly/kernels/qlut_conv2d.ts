// qlut conv2d / dense: codebook (LUT) weights x int8 activations -> int32 -> requantized int8. Each weight is a
// b-bit index (b = 1..8) into a small int8 table, one table per layer or one per output channel: k-means
// weight sharing (Deep Compression) and power-of-two weights (a fixed table {0, +-2^e}) are the same kernel.
// The indices stay bit-packed in memory; the kernel unpacks 16 of them into bytes in registers, maps them to
// int8 weights with i8x16.swizzle on the table, widens to int16 and runs the int16 dot product of the int8
// GEMM. Driver (padded int16 A image, tap segments, tiles): sub_conv2d / sub_fully_connected of qs4_conv2d.ts,
// with Cp = ceil16(C) as the 2-bit kernels (every segment a whole number of 16-k groups).
//
// Packed layer (packQlutGemm in src/pack/lowbit.ts), N outputs, T taps of C channels, Cp = ceil16(C),
// K = T*Cp, G = N (per-channel tables) or 1 (per-layer table), S = max(16, 2^b):
//   u8  idx[N][K/16][2b]   per channel and 16 k: 2b bytes, index i (k = 16g + i) in bits [i*b, i*b + b),
//                          LSB first (byte (i*b) >> 3, bit (i*b) & 7, spilling into the next byte); the
//                          indices of padding channels (c >= C within a tap) are 0
//   u8  pad to a multiple of 16 bytes (zero)
//   i8  table[G][S]        entry j of channel n's table at n*S + j (G = 1: every channel reads table 0);
//                          entries >= E (the op's entry count) are 0
//   i32 bias[N], mult[N]
// Total ceil16(N*K*b/8) + G*S + 8*N bytes.
//
// SIMD unpack of 16 b-bit indices (any b): load 16 bytes, gather for each index the little-endian u16 holding
// it (two i8x16.swizzle, one per 8 indices), shift each lane's field to the top by one i16x8.mul with 2^(16 -
// s - b) (s = its bit offset in the u16, s + b <= 15), i16x8.shr_u by 16 - b, and narrow the two halves to 16
// bytes. b = 4: the nibbles of 8 bytes, split and interleaved by one shuffle; b = 8: the bytes themselves.
// b <= 4: one i8x16.swizzle on the table gives the 16 weights; b > 4: 2^(b-4) swizzles on 16-entry slices of
// the table, each with the index xor'ed by the slice's base (out-of-range lanes give 0), or'ed together.
// Micro-kernel: 8 pixels x 1 channel, i32x4.dot_i16x8_s of 8 k of a pixel with 8 k of the channel (8
// accumulators, reduced at the end); each unpacked weight vector serves 8 pixels, which measured faster than
// 4 pixels x 2 channels (the unpack is the cost: ~0.55-0.6x of the int8 kernel, b = 3 / 4, see docs/kernels.md).
// |w| <= 127 per weight: |acc| <= K * 255 * 127 and the validator checks |bias| + 255 * sum |w| < 2^31.
// Relaxed build: the SIMD path (i8x16.swizzle, not relaxed_swizzle, so every build gives the same bytes).

import { requant, requant_sm_i32x4x2_i8, requant_sm_pre, requant_sm_rnd } from "./requant";
import { AView } from "./qs8_gemm";
import { KIND_LUT, qs2_conv2d_scratch_bytes, qs2_fully_connected_scratch_bytes, rowPtr, sub_conv2d, sub_fully_connected } from "./qs4_conv2d";

@inline function ceil16(n: i32): i32 { return (n + 15) & ~15; }

// Unpack constants of the current b: swizzle masks for indices 0-7 and 8-15, then the i16x8 multipliers.
const UNPACK = memory.data(48, 16);
// Row addresses of the 8 pixels of a block, then (reused) their 8 output bytes.
const ROWS = memory.data(32, 16);

/** Bytes of one table: max(16, 2^b). */
@inline export function qlut_table_bytes(bits: i32): i32 { return max(16, 1 << bits); }

/** Size in bytes of a packed qlut layer (layout above); perChannel != 0: one table per output channel. */
export function qlut_packed_bytes(N: i32, taps: i32, C: i32, bits: i32, perChannel: i32): i32 {
  // i64: N*K*bits may pass 2^31 while the byte count fits (the validator calls this once that is known)
  const idx = (((<i64>N * <i64>taps * <i64>ceil16(C) * <i64>bits) >> 3) + 15) & ~(<i64>15);
  return <i32>(idx + <i64>((perChannel != 0 ? N : 1) * qlut_table_bytes(bits) + 8 * N));
}

export function qlut_conv2d_scratch_bytes(OH: i32, OW: i32, C: i32, KH: i32, KW: i32, SH: i32, SW: i32, DH: i32, DW: i32): i32 {
  return qs2_conv2d_scratch_bytes(OH, OW, C, KH, KW, SH, SW, DH, DW);
}

export function qlut_fully_connected_scratch_bytes(M: i32, K: i32): i32 { return qs2_fully_connected_scratch_bytes(M, K); }

/** The driver's kind for b-bit indices with per-channel (1) or per-layer (0) tables. */
@inline function lutKind(bits: i32, perChannel: i32): i32 { return KIND_LUT | bits | (perChannel != 0 ? 16 : 0); }

/** conv2d, groups = 1, NHWC, codebook weights (layout above); other arguments as qs8_conv2d. */
export function qlut_conv2d(
  x: usize, H: i32, W: i32, C: i32, zx: i32, out: usize, OH: i32, OW: i32, N: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32, DH: i32, DW: i32,
  pw: usize, bits: i32, perChannel: i32, shift: i32, zy: i32, lo: i32, hi: i32, scratch: usize,
): void {
  sub_conv2d(lutKind(bits, perChannel), x, H, W, C, zx, out, OH, OW, N, KH, KW, SH, SW, PT, PL, DH, DW, pw, shift, zy, lo, hi, scratch);
}

/** Dense layer with codebook weights (taps = 1, C = K); other arguments as qs8_fully_connected. */
export function qlut_fully_connected(
  M: i32, N: i32, K: i32, x: usize, zx: i32, pw: usize, bits: i32, perChannel: i32,
  shift: i32, zy: i32, lo: i32, hi: i32, out: usize, scratch: usize,
): void {
  sub_fully_connected(lutKind(bits, perChannel), M, N, K, x, zx, pw, shift, zy, lo, hi, out, scratch);
}

/** Called by the driver for a LUT kind. */
export function igemm_lut(kind: i32, v: AView, p0: i32, p1: i32, N: i32, pw: usize, shift: i32, zy: i32, lo: i32, hi: i32, out: usize): void {
  const bits = kind & 15, perCh = (kind & 16) != 0;
  if (ASC_FEATURE_SIMD) igemm_lut_simd(bits, perCh, v, p0, p1, N, pw, shift, zy, lo, hi, out);
  else igemm_lut_portable(bits, perCh, v, p0, p1, N, pw, shift, zy, lo, hi, out);
}

function igemm_lut_portable(b: i32, perCh: bool, v: AView, p0: i32, p1: i32, N: i32, pw: usize, shift: i32, zy: i32, lo: i32, hi: i32, out: usize): void {
  const K = v.nseg * v.segLen;
  const rowBytes = (K * b) >> 3, S = qlut_table_bytes(b), mask = (1 << b) - 1;
  const tables = pw + <usize>ceil16(N * rowBytes);
  const bias = tables + <usize>(perCh ? N * S : S);
  const mult = bias + <usize>(N << 2);
  for (let c = 0; c < N; c++) {
    const row = pw + <usize>(c * rowBytes);
    const tbl = tables + <usize>(perCh ? c * S : 0);
    const bc = load<i32>(bias + (<usize>c << 2));
    const m = load<i32>(mult + (<usize>c << 2));
    for (let p = p0; p < p1; p++) {
      const ar = rowPtr(v, p);
      let acc: i32 = 0;
      let kk = 0; // k within the layer
      for (let s = 0; s < v.nseg; s++) {
        const as = ar + <usize>load<i32>(v.segTab + (<usize>s << 2));
        for (let k = 0; k < v.segLen; k++, kk++) {
          const bit = (kk >> 4) * (b << 4) + (kk & 15) * b; // bit offset of index kk in the row
          const u = i32(load<u16>(row + <usize>(bit >> 3))); // may read the byte after the row: padding or table
          const w = i32(load<i8>(tbl + <usize>((u >> (bit & 7)) & mask)));
          acc += i32(load<i16>(as + <usize>(k << 1))) * w;
        }
      }
      store<i8>(out + <usize>(p * N + c), <i8>requant(acc + bc, m, shift, zy, lo, hi));
    }
  }
}

/** Writes the unpack constants of b-bit indices to UNPACK. */
function setUnpack(b: i32): void {
  for (let i = 0; i < 8; i++) {
    const o = (i * b) >> 3, s = (i * b) & 7;
    store<u8>(UNPACK + <usize>(2 * i), <u8>o);
    store<u8>(UNPACK + <usize>(2 * i + 1), <u8>(o + 1));
    store<u8>(UNPACK + <usize>(16 + 2 * i), <u8>(o + b));
    store<u8>(UNPACK + <usize>(16 + 2 * i + 1), <u8>(o + b + 1));
    const m: i32 = 1 << (16 - s - b);
    store<u16>(UNPACK + <usize>(32 + 2 * i), <u16>m);
  }
}

// 16 b-bit indices at p as 16 bytes (see the header).
@inline
function unpack16(p: usize, b: i32, g0: v128, g1: v128, mul: v128): v128 {
  if (b == 4) {
    // nibbles: index 2j in the low half of byte j, 2j + 1 in the high half
    const r = v128.load64_zero(p);
    return v128.and(v128.shuffle<u8>(r, i8x16.shr_u(r, 4), 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23), i8x16.splat(15));
  }
  const raw = v128.load(p);
  if (b == 8) return raw;
  const l = i16x8.shr_u(i16x8.mul(i8x16.swizzle(raw, g0), mul), <i32>(16 - b));
  const h = i16x8.shr_u(i16x8.mul(i8x16.swizzle(raw, g1), mul), <i32>(16 - b));
  return i8x16.narrow_i16x8_u(l, h);
}

// Table lookup of 16 indices in the table at t (2^b entries, b > 4 in 16-entry slices).
@inline
function lookup16(t: usize, idx: v128, b: i32): v128 {
  let w = i8x16.swizzle(v128.load(t), idx);
  if (b > 4) {
    const n = 1 << (b - 4);
    for (let j = 1; j < n; j++) w = v128.or(w, i8x16.swizzle(v128.load(t + <usize>(j << 4)), v128.xor(idx, i8x16.splat(<i8>(j << 4)))));
  }
  return w;
}

// [sum a, sum b, sum c, sum d] of four i32x4 vectors.
@inline
function hsum4(a: v128, b: v128, c: v128, d: v128): v128 {
  const t0 = i32x4.add(v128.shuffle<i32>(a, b, 0, 1, 4, 5), v128.shuffle<i32>(a, b, 2, 3, 6, 7));
  const t1 = i32x4.add(v128.shuffle<i32>(c, d, 0, 1, 4, 5), v128.shuffle<i32>(c, d, 2, 3, 6, 7));
  return i32x4.add(v128.shuffle<i32>(t0, t1, 0, 2, 4, 6), v128.shuffle<i32>(t0, t1, 1, 3, 5, 7));
}

function igemm_lut_simd(b: i32, perCh: bool, v: AView, p0: i32, p1: i32, N: i32, pw: usize, shift: i32, zy: i32, lo: i32, hi: i32, out: usize): void {
  const K = v.nseg * v.segLen;
  const rowBytes: i32 = (K * b) >> 3, S: i32 = qlut_table_bytes(b);
  const tables = pw + <usize>ceil16(N * rowBytes);
  const bias = tables + <usize>(perCh ? N * S : S);
  const mult = bias + <usize>(N << 2);
  setUnpack(b);
  const g0 = v128.load(UNPACK), g1 = v128.load(UNPACK, 16), mul = v128.load(UNPACK, 32);
  const pre = requant_sm_pre(shift), kq = shift + pre - 32, rnd = requant_sm_rnd(shift);
  const zyv = i16x8.splat(<i16>zy), lov = i8x16.splat(<i8>lo), hiv = i8x16.splat(<i8>hi);
  const segBytes = <usize>(v.segLen << 1);
  const nseg = v.nseg, segTab = v.segTab;
  const gb = <usize>(b << 1); // index bytes per 16 k
  const zero = i32x4.splat(0);
  for (let c = 0; c < N; c++) {
    const t = tables + (perCh ? <usize>(c * S) : 0);
    const bv = i32x4.splat(load<i32>(bias + (<usize>c << 2)));
    const mv = i32x4.shl(i32x4.splat(load<i32>(mult + (<usize>c << 2))), pre);
    const row = pw + <usize>(c * rowBytes);
    for (let p = p0; p < p1; p += 8) {
      const nr = min(8, p1 - p);
      for (let j = 0; j < 8; j++) store<usize>(ROWS + (<usize>j << 2), rowPtr(v, p + min(j, nr - 1)));
      const r0 = load<usize>(ROWS), r1 = load<usize>(ROWS, 4), r2 = load<usize>(ROWS, 8), r3 = load<usize>(ROWS, 12);
      const r4 = load<usize>(ROWS, 16), r5 = load<usize>(ROWS, 20), r6 = load<usize>(ROWS, 24), r7 = load<usize>(ROWS, 28);
      let a0 = zero, a1 = zero, a2 = zero, a3 = zero, a4 = zero, a5 = zero, a6 = zero, a7 = zero;
      let wp = row;
      for (let s = 0; s < nseg; s++) {
        const so = <usize>load<i32>(segTab + (<usize>s << 2));
        const x0 = r0 + so, x1 = r1 + so, x2 = r2 + so, x3 = r3 + so, x4 = r4 + so, x5 = r5 + so, x6 = r6 + so, x7 = r7 + so;
        for (let k: usize = 0; k < segBytes; k += 32) {
          const w16 = lookup16(t, unpack16(wp, b, g0, g1, mul), b);
          wp += gb;
          let w = i16x8.extend_low_i8x16_s(w16);
          a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v128.load(x0 + k), w));
          a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v128.load(x1 + k), w));
          a2 = i32x4.add(a2, i32x4.dot_i16x8_s(v128.load(x2 + k), w));
          a3 = i32x4.add(a3, i32x4.dot_i16x8_s(v128.load(x3 + k), w));
          a4 = i32x4.add(a4, i32x4.dot_i16x8_s(v128.load(x4 + k), w));
          a5 = i32x4.add(a5, i32x4.dot_i16x8_s(v128.load(x5 + k), w));
          a6 = i32x4.add(a6, i32x4.dot_i16x8_s(v128.load(x6 + k), w));
          a7 = i32x4.add(a7, i32x4.dot_i16x8_s(v128.load(x7 + k), w));
          w = i16x8.extend_high_i8x16_s(w16);
          a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v128.load(x0 + k + 16), w));
          a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v128.load(x1 + k + 16), w));
          a2 = i32x4.add(a2, i32x4.dot_i16x8_s(v128.load(x2 + k + 16), w));
          a3 = i32x4.add(a3, i32x4.dot_i16x8_s(v128.load(x3 + k + 16), w));
          a4 = i32x4.add(a4, i32x4.dot_i16x8_s(v128.load(x4 + k + 16), w));
          a5 = i32x4.add(a5, i32x4.dot_i16x8_s(v128.load(x5 + k + 16), w));
          a6 = i32x4.add(a6, i32x4.dot_i16x8_s(v128.load(x6 + k + 16), w));
          a7 = i32x4.add(a7, i32x4.dot_i16x8_s(v128.load(x7 + k + 16), w));
        }
      }
      // lanes 0-7: pixels p .. p+7 of channel c
      const q = requant_sm_i32x4x2_i8(i32x4.add(hsum4(a0, a1, a2, a3), bv), i32x4.add(hsum4(a4, a5, a6, a7), bv), mv, mv, rnd, kq, zyv, lov, hiv);
      const o = out + <usize>(p * N + c), n = <usize>N;
      v128.store(ROWS, q);
      for (let j = 0; j < nr; j++) store<u8>(o + <usize>j * n, load<u8>(ROWS + <usize>j));
    }
  }
}
