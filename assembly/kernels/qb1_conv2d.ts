// Binary layers (XNOR-Net): +-1 weights x +-1 activations by XNOR-popcount, a real scale per output channel
// (in the requantization multiplier), zero padding exact; the sign activation that makes the bits.
//
// Bit tensors: NHWC, each pixel's C channels in Cb = ceil(C/8) bytes, channel c at byte c >> 3, bit c & 7
// (LSB first); bit 1 = +1, bit 0 = -1; bits past C are 0.
//
// Packed layer (packQb1Conv in src/pack/lowbit.ts), N outputs, T = KH*KW taps of C channels, K = T*C bits,
// Kp = ceil128(K), Kb = Kp/8, Np = ceil4(N):
//   u8    w[Np][Kb]      bit k = t*C + c of output channel n at byte k >> 3, bit k & 7; zero past K and N
//   int32 bias[Np]       in accumulator units
//   int32 mult[Np]       requantization multipliers (alpha_n * in-scale folded in, see requant.ts)
//   u16   popw[T][Np]    number of set bits (+1 weights) of tap t of channel n
// Total Np*Kb + 8*Np + 2*T*Np bytes.
//
// Arithmetic, exactly, for output pixel p and channel n, over the VALID taps only (padding is neither +1 nor -1):
//   dot = sum_valid a*w = C*nvalid - 2*mism_valid,   mism_valid = popcount over valid taps of (a xor w)
//   out = requant(dot + bias[n], mult[n], shift, zy, lo, hi)
// The kernel gathers each output pixel's K bits into a row (im2col of bits, padding taps as 0 bits), so
//   popcount(row xor w) = mism_valid + sum over padding taps t of popw[t][n]
// and the second term is subtracted for border pixels only (each row carries a mask of its padding taps).
// Widths (checked by the packer): popcount bytes of one 128-bit chunk are <= 8, summed over at most 31 chunks in
// u8 lanes (<= 248), then each group of 31 chunks is reduced into int32 (K < 2^31 bits); T <= 64.
//
// SIMD: 2 pixels x 2 channels per block, per 128 bits v128.xor + i8x16.popcnt + i8x16.add (relaxed build: a
// nibble-table popcount by i8x16.relaxed_swizzle); portable: i64 xor + popcnt. Same integers, same outputs.

import { requant, requant_sm_i32x4x2_i8, requant_sm_pre, requant_sm_rnd } from "./requant";

const TILE: i32 = 32;

@inline function ceil4(n: i32): i32 { return (n + 3) & ~3; }
@inline function rowBytes(T: i32, C: i32): i32 { return ((T * C + 127) >> 7) << 4; }

/** Bytes of a packed binary conv layer. */
export function qb1_packed_bytes(N: i32, T: i32, C: i32): i32 {
  const Np = ceil4(N);
  return Np * rowBytes(T, C) + 8 * Np + 2 * T * Np;
}

/** Scratch bytes of qb1_conv2d (a tile of bit rows and their padding masks). */
export function qb1_conv2d_scratch_bytes(KH: i32, KW: i32, C: i32): i32 {
  return TILE * (rowBytes(KH * KW, C) + 8) + 16;
}

/**
 * Sign activation: bit = (x[p][c] >= t) for P pixels of C int8 channels, packed as above (t in the input's
 * quantized domain, e.g. its zero point: real value >= 0 is +1).
 */
export function qb1_sign(x: usize, P: i32, C: i32, t: i32, out: usize): void {
  const Cb = (C + 7) >> 3;
  for (let p = 0; p < P; p++) {
    const xp = x + <usize>(p * C), op = out + <usize>(p * Cb);
    let c = 0;
    if (ASC_FEATURE_SIMD) {
      const tv = i8x16.splat(<i8>t);
      for (; c + 16 <= C; c += 16) {
        store<u16>(op + <usize>(c >> 3), <u16>i8x16.bitmask(i8x16.ge_s(v128.load(xp + <usize>c), tv)));
      }
    }
    for (; c < C; c += 8) {
      let b: u32 = 0;
      const e = min(8, C - c);
      for (let j = 0; j < e; j++) if (i32(load<i8>(xp + <usize>(c + j))) >= t) b |= 1 << j;
      store<u8>(op + <usize>(c >> 3), <u8>b);
    }
  }
}

// Gathers the K bits of output pixel p into `row` (Kb bytes, zero past K and for padding taps) and returns the
// mask of its padding taps (bit t set when tap t is outside the image).
@inline
function gather(
  x: usize, H: i32, W: i32, C: i32, Cb: i32, oy: i32, ox: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32, DH: i32, DW: i32, row: usize, Kb: i32,
): u64 {
  for (let b = 0; b < Kb; b += 16) {
    if (ASC_FEATURE_SIMD) v128.store(row + <usize>b, i64x2.splat(0));
    else { store<u64>(row + <usize>b, 0); store<u64>(row + <usize>b, 0, 8); }
  }
  let pad: u64 = 0;
  const y0 = oy * SH - PT, x0 = ox * SW - PL;
  const byteAligned = (C & 7) == 0;
  for (let ky = 0; ky < KH; ky++) {
    const iy = y0 + ky * DH;
    for (let kx = 0; kx < KW; kx++) {
      const t = ky * KW + kx;
      const ix = x0 + kx * DW;
      if (<u32>iy >= <u32>H || <u32>ix >= <u32>W) { pad |= u64(1) << t; continue; }
      const src = x + <usize>((iy * W + ix) * Cb);
      if (byteAligned) {
        const dst = row + <usize>((t * C) >> 3);
        let j = 0;
        for (; j + 8 <= Cb; j += 8) store<u64>(dst + <usize>j, load<u64>(src + <usize>j));
        for (; j < Cb; j++) store<u8>(dst + <usize>j, load<u8>(src + <usize>j));
      } else {
        const k0 = t * C;
        for (let c = 0; c < C; c++) {
          if ((i32(load<u8>(src + <usize>(c >> 3))) >> (c & 7)) & 1) {
            const k = k0 + c;
            const q = row + <usize>(k >> 3);
            store<u8>(q, <u8>(i32(load<u8>(q)) | (1 << (k & 7))));
          }
        }
      }
    }
  }
  return pad;
}

// C*nvalid - 2*(mism - sum over padding taps of popw[t][n])
@inline
function finish(mism: i32, pad: u64, T: i32, C: i32, popw: usize, Np: i32, n: i32): i32 {
  if (pad == 0) return T * C - 2 * mism;
  let nvalid = T, m = pad, corr = 0;
  while (m != 0) {
    const t = <i32>ctz(m);
    m &= m - 1;
    nvalid--;
    corr += i32(load<u16>(popw + (<usize>(t * Np + n) << 1)));
  }
  return C * nvalid - 2 * (mism - corr);
}

/**
 * Binary conv2d (groups = 1): x a bit tensor [H][W][Cb] (qb1_sign), out int8 [OH][OW][N]; geometry arguments
 * as qs8_conv2d.
 */
export function qb1_conv2d(
  x: usize, H: i32, W: i32, C: i32,
  out: usize, OH: i32, OW: i32, N: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32, DH: i32, DW: i32,
  pw: usize, shift: i32, zy: i32, lo: i32, hi: i32, scratch: usize,
): void {
  const T = KH * KW, Cb = (C + 7) >> 3, Kb = rowBytes(T, C), Np = ceil4(N);
  const bias = pw + <usize>(Np * Kb), mult = bias + (<usize>Np << 2), popw = mult + (<usize>Np << 2);
  const rows = scratch, masks = scratch + <usize>(TILE * Kb);
  const P = OH * OW;
  for (let p0 = 0; p0 < P; p0 += TILE) {
    const np = min(TILE, P - p0);
    for (let i = 0; i < np; i++) {
      const p = p0 + i, oy = p / OW, ox = p - oy * OW;
      store<u64>(masks + (<usize>i << 3), gather(x, H, W, C, Cb, oy, ox, KH, KW, SH, SW, PT, PL, DH, DW, rows + <usize>(i * Kb), Kb));
    }
    if (ASC_FEATURE_SIMD) tile_simd(rows, masks, np, Kb, N, Np, T, C, pw, bias, mult, popw, shift, zy, lo, hi, out + <usize>(p0 * N));
    else tile_portable(rows, masks, np, Kb, N, Np, T, C, pw, bias, mult, popw, shift, zy, lo, hi, out + <usize>(p0 * N));
  }
}

function tile_portable(
  rows: usize, masks: usize, np: i32, Kb: i32, N: i32, Np: i32, T: i32, C: i32,
  pw: usize, bias: usize, mult: usize, popw: usize, shift: i32, zy: i32, lo: i32, hi: i32, out: usize,
): void {
  const kb = <usize>Kb;
  // 2 pixels x 2 channels per block (rows and weight rows exist for the padding channel / a repeated pixel)
  for (let n = 0; n < N; n += 2) {
    const w0 = pw + <usize>(n * Kb), w1 = w0 + kb;
    for (let i = 0; i < np; i += 2) {
      const r0 = rows + <usize>(i * Kb);
      const r1 = i + 1 < np ? r0 + kb : r0;
      let s00: i64 = 0, s01: i64 = 0, s10: i64 = 0, s11: i64 = 0;
      for (let b: usize = 0; b < kb; b += 8) {
        const x0 = load<u64>(r0 + b), x1 = load<u64>(r1 + b), v0 = load<u64>(w0 + b), v1 = load<u64>(w1 + b);
        s00 += popcnt(x0 ^ v0);
        s01 += popcnt(x0 ^ v1);
        s10 += popcnt(x1 ^ v0);
        s11 += popcnt(x1 ^ v1);
      }
      for (let j = 0; j < 4; j++) {
        const pi = i + (j >> 1), ni = n + (j & 1);
        if (pi >= np || ni >= N) continue;
        const mism = <i32>(j == 0 ? s00 : j == 1 ? s01 : j == 2 ? s10 : s11);
        const acc = finish(mism, load<u64>(masks + (<usize>pi << 3)), T, C, popw, Np, ni) + load<i32>(bias + (<usize>ni << 2));
        store<i8>(out + <usize>(pi * N + ni), <i8>requant(acc, load<i32>(mult + (<usize>ni << 2)), shift, zy, lo, hi));
      }
    }
  }
}

// Sums of the u8 lanes of four accumulators -> i32x4 (a, b, c, d).
@inline
function hsum4_u8(a: v128, b: v128, c: v128, d: v128): v128 {
  const ta = i32x4.extadd_pairwise_i16x8_u(i16x8.extadd_pairwise_i8x16_u(a));
  const tb = i32x4.extadd_pairwise_i16x8_u(i16x8.extadd_pairwise_i8x16_u(b));
  const tc = i32x4.extadd_pairwise_i16x8_u(i16x8.extadd_pairwise_i8x16_u(c));
  const td = i32x4.extadd_pairwise_i16x8_u(i16x8.extadd_pairwise_i8x16_u(d));
  const ab = i32x4.add(v128.shuffle<i32>(ta, tb, 0, 2, 4, 6), v128.shuffle<i32>(ta, tb, 1, 3, 5, 7));
  const cd = i32x4.add(v128.shuffle<i32>(tc, td, 0, 2, 4, 6), v128.shuffle<i32>(tc, td, 1, 3, 5, 7));
  return i32x4.add(v128.shuffle<i32>(ab, cd, 0, 2, 4, 6), v128.shuffle<i32>(ab, cd, 1, 3, 5, 7));
}

// Population count of each byte: i8x16.popcnt, or in the relaxed build a nibble table lookup by
// i8x16.relaxed_swizzle (indices in [0, 15], where every relaxed_swizzle implementation agrees).
@inline
function popcnt8(v: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    const tbl = i8x16(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    const m = i8x16.splat(15);
    return i8x16.add(i8x16.relaxed_swizzle(tbl, v128.and(v, m)), i8x16.relaxed_swizzle(tbl, v128.and(i16x8.shr_u(v, 4), m)));
  }
  return i8x16.popcnt(v);
}

// 2 pixels x 2 channels per block; chunks summed in u8 lanes in groups of 31, each group reduced into i32.
function tile_simd(
  rows: usize, masks: usize, np: i32, Kb: i32, N: i32, Np: i32, T: i32, C: i32,
  pw: usize, bias: usize, mult: usize, popw: usize, shift: i32, zy: i32, lo: i32, hi: i32, out: usize,
): void {
  const pre = requant_sm_pre(shift), kq = shift + pre - 32, rnd = requant_sm_rnd(shift);
  const zyv = i16x8.splat(<i16>zy), lov = i8x16.splat(<i8>lo), hiv = i8x16.splat(<i8>hi);
  const full = i32x4.splat(T * C);
  const kb = <usize>Kb;
  for (let n = 0; n < N; n += 2) {
    const w0 = pw + <usize>(n * Kb), w1 = w0 + kb;
    const b0 = load<i32>(bias + (<usize>n << 2)), b1 = load<i32>(bias + (<usize>n << 2), 4);
    const m0 = load<i32>(mult + (<usize>n << 2)) << pre, m1 = load<i32>(mult + (<usize>n << 2), 4) << pre;
    const bv = i32x4(b0, b1, b0, b1), mv = i32x4(m0, m1, m0, m1);
    const two = n + 1 < N;
    for (let i = 0; i < np; i += 2) {
      const r0 = rows + <usize>(i * Kb);
      const r1 = i + 1 < np ? r0 + kb : r0;
      let mism = i32x4.splat(0);
      let b: usize = 0;
      while (b < kb) {
        const e = min(kb, b + 31 * 16);
        let a00 = i8x16.splat(0), a01 = i8x16.splat(0), a10 = i8x16.splat(0), a11 = i8x16.splat(0);
        for (; b < e; b += 16) {
          const x0 = v128.load(r0 + b), x1 = v128.load(r1 + b);
          const v0 = v128.load(w0 + b), v1 = v128.load(w1 + b);
          a00 = i8x16.add(a00, popcnt8(v128.xor(x0, v0)));
          a01 = i8x16.add(a01, popcnt8(v128.xor(x0, v1)));
          a10 = i8x16.add(a10, popcnt8(v128.xor(x1, v0)));
          a11 = i8x16.add(a11, popcnt8(v128.xor(x1, v1)));
        }
        // (pixel i ch n, pixel i ch n+1, pixel i+1 ch n, pixel i+1 ch n+1)
        mism = i32x4.add(mism, hsum4_u8(a00, a01, a10, a11));
      }
      let acc = i32x4.sub(full, i32x4.shl(mism, 1));
      const pad0 = load<u64>(masks + (<usize>i << 3));
      const pad1 = i + 1 < np ? load<u64>(masks + (<usize>(i + 1) << 3)) : 0;
      if (pad0 != 0) {
        acc = i32x4.replace_lane(acc, 0, finish(i32x4.extract_lane(mism, 0), pad0, T, C, popw, Np, n));
        acc = i32x4.replace_lane(acc, 1, finish(i32x4.extract_lane(mism, 1), pad0, T, C, popw, Np, n + 1));
      }
      if (pad1 != 0) {
        acc = i32x4.replace_lane(acc, 2, finish(i32x4.extract_lane(mism, 2), pad1, T, C, popw, Np, n));
        acc = i32x4.replace_lane(acc, 3, finish(i32x4.extract_lane(mism, 3), pad1, T, C, popw, Np, n + 1));
      }
      acc = i32x4.add(acc, bv);
      const q = requant_sm_i32x4x2_i8(acc, acc, mv, mv, rnd, kq, zyv, lov, hiv);
      const o = out + <usize>(i * N + n);
      if (two) v128.store16_lane(o, q, 0); else store<i8>(o, i8x16.extract_lane_s(q, 0));
      if (i + 1 < np) {
        if (two) v128.store16_lane(o + <usize>N, q, 1); else store<i8>(o + <usize>N, i8x16.extract_lane_s(q, 2));
      }
    }
  }
}
