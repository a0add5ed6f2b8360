// Binary layers (XNOR-Net): +-1 weights x +-1 activations by XNOR-popcount, a real scale per output channel
// (in the requantization multiplier), zero padding exact; the sign activation that makes the bits.
//
// Bit tensors: NHWC, each pixel's C channels in Cb = ceil(C/8) bytes, channel c at byte c >> 3, bit c & 7
// (LSB first); bit 1 = +1, bit 0 = -1; bits past C are 0.
//
// Packed layer (packQb1Conv in src/pack/lowbit.ts), N outputs, T = KH*KW taps of C channels, K = T*C bits,
// Kw = ceil(K/64) words, Np = ceil4(N):
//   u64   w[Np/4][Kw][4]  word i of output channel n at index ((n >> 2) * Kw + i) * 4 + (n & 3): bit k = t*C + c
//                         of the channel in word k >> 6, bit k & 63; zero past K and N (four channels' words
//                         side by side, so one pass over a pixel's row serves four channels)
//   int32 bias[Np]        in accumulator units
//   int32 mult[Np]        requantization multipliers (alpha_n * in-scale folded in, see requant.ts)
//   u16   popw[T][Np]     number of set bits (+1 weights) of tap t of channel n
// Total 8*Np*Kw + 8*Np + 2*T*Np bytes.
//
// Arithmetic, exactly, for output pixel p and channel n, over the VALID taps only (padding is neither +1 nor -1):
//   dot = sum_valid a*w = C*nvalid - 2*mism_valid,   mism_valid = popcount over valid taps of (a xor w)
//   out = requant(dot + bias[n], mult[n], shift, zy, lo, hi)
// The kernel gathers each output pixel's K bits into a row of Kw words (im2col of bits, padding taps as 0 bits),
// so popcount(row xor w) = mism_valid + sum over padding taps t of popw[t][n]
// and the second term is subtracted for border pixels only (each row carries a mask of its padding taps).
// Widths (checked by the packer): K < 2^31 bits, T <= 64.
//
// Every build: 1 pixel x 4 channels per block, per 128 bits two loads of the row, eight xor-with-memory, eight
// i64.popcnt (one x86 instruction each) and eight adds in general registers. Every build runs it in two
// passes per tile and 4-channel block: the mismatch counts of every pixel into MBUF (a loop with few live
// values, so V8 keeps the sums in registers; an always-true branch between the two 64-bit halves keeps V8 from
// hoisting the second half's loads above the first half's arithmetic, which spilled the sums), then the
// border correction and the requantization (SIMD builds: four channels at once, one 4 x u16 load of popw per
// padding tap, two pixels' results as one vector; portable: channel by channel). Measured steps on 64ch 3x3 @8x8, GMAC/s, SIMD build in Node: 131 (one
// pass, 64-bit loop), 156 (loop unrolled to 128 bits; 4x: no better; 2 pixels x 4 channels with eight sums:
// 144, spilled), +10 % (vectorized border correction: 28 of the 64 pixels touch the padding), +5 % (pointer
// walk), +3 % (two passes and the branch): 175-180. Measured against the former SIMD form (2 pixels x 2
// channels, per 128 bits v128.xor + i8x16.popcnt, rows padded to 128 bits): V8 11 lowers i8x16.popcnt, even
// on this AVX-512 BITALG machine, to six instructions plus two constant loads, so 128 bits cost about 13
// instructions there against 6 here.

import { requant, requant_sm_i32x4x2_i8, requant_sm_pre, requant_sm_rnd } from "./requant";

const TILE: i32 = 32;

@inline function ceil4(n: i32): i32 { return (n + 3) & ~3; }
@inline function rowBytes(T: i32, C: i32): i32 { return ((T * C + 63) >> 6) << 3; }

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
  let pad: u64 = 0;
  const y0 = oy * SH - PT, x0 = ox * SW - PL;
  const byteAligned = (C & 7) == 0;
  // every bit is written when all taps are inside and whole bytes are copied: then only the bits past K need
  // zeros (in the last word); otherwise the row starts as zeros
  if (byteAligned && x0 >= 0 && x0 + (KW - 1) * DW < W && y0 >= 0 && y0 + (KH - 1) * DH < H) store<u64>(row + <usize>(Kb - 8), 0);
  else for (let b = 0; b < Kb; b += 8) store<u64>(row + <usize>b, 0);
  // a kernel row whose taps are all inside the image and adjacent (DW = 1, whole bytes per pixel) is one
  // contiguous run of KW*Cb bytes in the input and in the row
  const runs = byteAligned && DW == 1 && x0 >= 0 && x0 + KW <= W;
  for (let ky = 0; ky < KH; ky++) {
    const iy = y0 + ky * DH;
    if (runs && <u32>iy < <u32>H) {
      const src = x + <usize>((iy * W + x0) * Cb), dst = row + <usize>((ky * KW * C) >> 3);
      const n = KW * Cb;
      let j = 0;
      for (; j + 8 <= n; j += 8) store<u64>(dst + <usize>j, load<u64>(src + <usize>j));
      if (j + 4 <= n) { store<u32>(dst + <usize>j, load<u32>(src + <usize>j)); j += 4; }
      for (; j < n; j++) store<u8>(dst + <usize>j, load<u8>(src + <usize>j));
      continue;
    }
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
    tile(rows, masks, np, Kb, N, Np, T, C, pw, bias, mult, popw, shift, zy, lo, hi, out + <usize>(p0 * N));
  }
}

// Mismatch counts of a tile against four channels (1 pixel x 4 channels per block: the row's words against the
// four channels' words side by side), into MBUF as u32 [np][4]; every build.
const MBUF: usize = memory.data(TILE * 16, 16);

function mism4(rows: usize, np: i32, kb: usize, wb: usize): void {
  let r = rows, mp = MBUF;
  const rEnd = rows + <usize>np * kb;
  for (; r < rEnd; r += kb, mp += 16) {
    let s0: u64 = 0, s1: u64 = 0, s2: u64 = 0, s3: u64 = 0;
    let wq = wb, rp = r;
    const re = r + kb;
    for (; rp + 16 <= re; rp += 16) {
      const x = load<u64>(rp);
      s0 += popcnt(load<u64>(wq) ^ x);
      s1 += popcnt(load<u64>(wq, 8) ^ x);
      s2 += popcnt(load<u64>(wq, 16) ^ x);
      s3 += popcnt(load<u64>(wq, 24) ^ x);
      // always true (re > rp): a branch V8 cannot hoist the next loads above, which would spill the sums
      if (re != 0) {
        const y = load<u64>(rp, 8);
        s0 += popcnt(load<u64>(wq, 32) ^ y);
        s1 += popcnt(load<u64>(wq, 40) ^ y);
        s2 += popcnt(load<u64>(wq, 48) ^ y);
        s3 += popcnt(load<u64>(wq, 56) ^ y);
      }
      wq += 64;
    }
    if (rp < re) {
      const x = load<u64>(rp);
      s0 += popcnt(load<u64>(wq) ^ x);
      s1 += popcnt(load<u64>(wq, 8) ^ x);
      s2 += popcnt(load<u64>(wq, 16) ^ x);
      s3 += popcnt(load<u64>(wq, 24) ^ x);
    }
    store<u32>(mp, <u32>s0);
    store<u32>(mp, <u32>s1, 4);
    store<u32>(mp, <u32>s2, 8);
    store<u32>(mp, <u32>s3, 12);
  }
}

// dot = C*nvalid - 2*(mism - sum over padding taps of popw[t][n..n+3]), four channels at once
@inline
function dot4(m: v128, pad: u64, full: i32, T: i32, C: i32, popw: usize, Np: i32, n: i32): v128 {
  if (pad == 0) return i32x4.sub(i32x4.splat(full), i32x4.shl(m, 1));
  let corr = i32x4.splat(0), nvalid = T, pm = pad;
  while (pm != 0) {
    const t = <i32>ctz(pm);
    pm &= pm - 1;
    nvalid--;
    corr = i32x4.add(corr, i32x4.extend_low_i16x8_u(v128.load64_zero(popw + (<usize>(t * Np + n) << 1))));
  }
  return i32x4.sub(i32x4.splat(C * nvalid), i32x4.shl(i32x4.sub(m, corr), 1));
}

@inline
function store4(o: usize, q: v128, lane: i32, nc: i32): void {
  if (nc == 4) {
    if (lane == 0) v128.store32_lane(o, q, 0); else v128.store32_lane(o, q, 1);
  } else {
    const t = lane == 0 ? q : v128.shuffle<i32>(q, q, 1, 1, 1, 1);
    store<i8>(o, i8x16.extract_lane_s(t, 0));
    if (nc > 1) store<i8>(o, i8x16.extract_lane_s(t, 1), 1);
    if (nc > 2) store<i8>(o, i8x16.extract_lane_s(t, 2), 2);
  }
}

function tile(
  rows: usize, masks: usize, np: i32, Kb: i32, N: i32, Np: i32, T: i32, C: i32,
  pw: usize, bias: usize, mult: usize, popw: usize, shift: i32, zy: i32, lo: i32, hi: i32, out: usize,
): void {
  const kb = <usize>Kb;
  const full = T * C;
  if (ASC_FEATURE_SIMD) {
    const pre = requant_sm_pre(shift), kq = shift + pre - 32, rnd = requant_sm_rnd(shift);
    const zyv = i16x8.splat(<i16>zy), lov = i8x16.splat(<i8>lo), hiv = i8x16.splat(<i8>hi);
    for (let n = 0; n < N; n += 4) {
      const wb = pw + (<usize>n * kb);
      const nc = min(4, N - n);
      // the mismatch counts of the tile's pixels against four channels, then their requantization
      mism4(rows, np, kb, wb);
      const bv = v128.load(bias + (<usize>n << 2));
      const mv = i32x4.shl(v128.load(mult + (<usize>n << 2)), pre);
      const N2 = <usize>(N << 1);
      let mp = MBUF, mk = masks, o = out + <usize>n;
      const mLast = MBUF + (<usize>(np - 1) << 4);
      for (; mp < mLast; mp += 32, mk += 16, o += N2) {
        const a0 = i32x4.add(dot4(v128.load(mp), load<u64>(mk), full, T, C, popw, Np, n), bv);
        const a1 = i32x4.add(dot4(v128.load(mp, 16), load<u64>(mk, 8), full, T, C, popw, Np, n), bv);
        const q = requant_sm_i32x4x2_i8(a0, a1, mv, mv, rnd, kq, zyv, lov, hiv);
        store4(o, q, 0, nc);
        store4(o + <usize>N, q, 1, nc);
      }
      if (mp == mLast) {
        const a0 = i32x4.add(dot4(v128.load(mp), load<u64>(mk), full, T, C, popw, Np, n), bv);
        store4(o, requant_sm_i32x4x2_i8(a0, a0, mv, mv, rnd, kq, zyv, lov, hiv), 0, nc);
      }
    }
  } else {
    for (let n = 0; n < N; n += 4) {
      const nc = min(4, N - n);
      mism4(rows, np, kb, pw + (<usize>n * kb));
      for (let i = 0; i < np; i++) {
        const mp = MBUF + (<usize>i << 4);
        const pad = load<u64>(masks + (<usize>i << 3));
        const o = out + <usize>(i * N + n);
        for (let j = 0; j < nc; j++) {
          const m = load<i32>(mp + (<usize>j << 2));
          const acc = finish(m, pad, T, C, popw, Np, n + j) + load<i32>(bias + (<usize>(n + j) << 2));
          store<i8>(o + <usize>j, <i8>requant(acc, load<i32>(mult + (<usize>(n + j) << 2)), shift, zy, lo, hi));
        }
      }
    }
  }
}
