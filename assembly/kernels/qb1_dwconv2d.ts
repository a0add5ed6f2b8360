// Binary (XNOR-Net) depthwise conv2d: +-1 activations (a bit tensor from qb1_sign) x +-1 weights, one filter per
// channel, int8 output through a real scale per channel (in the requantization multiplier).
//
// Bit tensors as in qb1_conv2d.ts: NHWC, a pixel's C channels in Cb = ceil(C/8) bytes, channel c at byte c >> 3,
// bit c & 7; bit 1 = +1, bit 0 = -1. Packed layer (packQb1Depthwise in src/pack/lowbit.ts), T = KH*KW taps:
//   u8    w[T][Cb]     channel c of tap t at byte t*Cb + (c >> 3), bit c & 7 (1 = +1); zero past C
//   int32 bias[C], mult[C]   from byte T*Cb
// Total T*Cb + 8*C bytes.
//
// Arithmetic, exactly, for output pixel p and channel c, over the valid taps only (zero padding is neither +1
// nor -1, so padding taps are skipped, not counted):
//   mism = number of valid taps t with a[t] != w[t]  (popcount of the xor, per channel)
//   dot  = nvalid - 2 * mism
//   out  = requant(dot + bias[c], mult[c], shift, zy, lo, hi)
// Width (checked by the packer and the validator): the SIMD path counts mismatches in u8 lanes, so T <= 255.
//
// SIMD: 16 channels (2 bytes) per block; per tap v128.xor of the splatted bytes, expanded to one lane per channel
// by a byte shuffle + and + i8x16.eq against the bit masks, accumulated in u8 lanes; then widened, nvalid - 2*mism
// + bias, and requant_sm (the same integers as the portable path). Portable: bit by bit.

import { requant, requant_sm_i32x4x2_i8, requant_sm_pre, requant_sm_rnd } from "./requant";
import { tap_lo, tap_hi } from "./window";

/** Size in bytes of a packed binary depthwise layer: KH*KW*ceil(C/8) + 8*C. */
export function qb1_dwconv2d_packed_bytes(C: i32, KH: i32, KW: i32): i32 {
  return KH * KW * ((C + 7) >> 3) + 8 * C;
}

/**
 * x: bit tensor [H][W][Cb]; out: int8 [OH][OW][C]; geometry as qs8_dwconv2d; pw the packed layer.
 */
export function qb1_dwconv2d(
  x: usize, H: i32, W: i32, C: i32,
  out: usize, OH: i32, OW: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32, DH: i32, DW: i32,
  pw: usize, shift: i32, zy: i32, lo: i32, hi: i32,
): void {
  let c0 = 0;
  if (ASC_FEATURE_SIMD) {
    c0 = C & ~15;
    if (c0 > 0) dw_simd(x, H, W, C, c0, out, OH, OW, KH, KW, SH, SW, PT, PL, DH, DW, pw, shift, zy, lo, hi);
  }
  if (c0 < C) dw_portable(x, H, W, C, c0, out, OH, OW, KH, KW, SH, SW, PT, PL, DH, DW, pw, shift, zy, lo, hi);
}

// Channels [c0, C), one at a time.
function dw_portable(
  x: usize, H: i32, W: i32, C: i32, c0: i32,
  out: usize, OH: i32, OW: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32, DH: i32, DW: i32,
  pw: usize, shift: i32, zy: i32, lo: i32, hi: i32,
): void {
  const Cb = (C + 7) >> 3;
  const bias = pw + <usize>(KH * KW * Cb);
  const mult = bias + (<usize>C << 2);
  for (let oy = 0; oy < OH; oy++) {
    const y0 = oy * SH - PT;
    const ky0 = tap_lo(y0, DH), ky1 = tap_hi(y0, DH, H, KH);
    for (let ox = 0; ox < OW; ox++) {
      const x0 = ox * SW - PL;
      const kx0 = tap_lo(x0, DW), kx1 = x0 + (KW - 1) * DW < W ? KW : tap_hi(x0, DW, W, KW);
      const nvalid = max(0, ky1 - ky0) * max(0, kx1 - kx0);
      const o = out + <usize>((oy * OW + ox) * C);
      for (let c = c0; c < C; c++) {
        const byte = <usize>(c >> 3), bit = c & 7;
        let mism = 0;
        for (let ky = ky0; ky < ky1; ky++) {
          for (let kx = kx0; kx < kx1; kx++) {
            const a = i32(load<u8>(x + <usize>(((y0 + ky * DH) * W + x0 + kx * DW) * Cb) + byte));
            const w = i32(load<u8>(pw + <usize>((ky * KW + kx) * Cb) + byte));
            mism += ((a ^ w) >> bit) & 1;
          }
        }
        const acc = nvalid - 2 * mism + load<i32>(bias + (<usize>c << 2));
        store<i8>(o + <usize>c, <i8>requant(acc, load<i32>(mult + (<usize>c << 2)), shift, zy, lo, hi));
      }
    }
  }
}

// One lane per channel (0 or -1) from the 16 bits at p ^ q.
@inline
function expand16(p: usize, q: usize): v128 {
  const v = i16x8.splat(<i16>(load<u16>(p) ^ load<u16>(q)));
  const b = v128.shuffle<u8>(v, v, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
  const m = i8x16(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128);
  return i8x16.eq(v128.and(b, m), m);
}

// Channels [0, C16), C16 a multiple of 16: 16 channels per block, the block outermost.
function dw_simd(
  x: usize, H: i32, W: i32, C: i32, C16: i32,
  out: usize, OH: i32, OW: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32, DH: i32, DW: i32,
  pw: usize, shift: i32, zy: i32, lo: i32, hi: i32,
): void {
  const Cb = (C + 7) >> 3;
  const bias = pw + <usize>(KH * KW * Cb);
  const mult = bias + (<usize>C << 2);
  const pre = requant_sm_pre(shift), k = shift + pre - 32;
  const rnd = requant_sm_rnd(shift);
  const zyv = i16x8.splat(<i16>zy), lov = i8x16.splat(<i8>lo), hiv = i8x16.splat(<i8>hi);
  const xColStep = <usize>(DW * Cb), xRowStep = <usize>(DH * W * Cb);
  const wRowStep = <usize>(KW * Cb), cb = <usize>Cb;
  for (let c = 0; c < C16; c += 16) {
    const cc = <usize>c;
    const bp = bias + (cc << 2), mp = mult + (cc << 2);
    const b0 = v128.load(bp), b1 = v128.load(bp, 16), b2 = v128.load(bp, 32), b3 = v128.load(bp, 48);
    const m0 = i32x4.shl(v128.load(mp), pre), m1 = i32x4.shl(v128.load(mp, 16), pre);
    const m2 = i32x4.shl(v128.load(mp, 32), pre), m3 = i32x4.shl(v128.load(mp, 48), pre);
    const xb = x + (cc >> 3), wb = pw + (cc >> 3), ob = out + cc;
    for (let oy = 0; oy < OH; oy++) {
      const y0 = oy * SH - PT;
      const ky0 = tap_lo(y0, DH), ky1 = tap_hi(y0, DH, H, KH);
      for (let ox = 0; ox < OW; ox++) {
        const x0 = ox * SW - PL;
        // interior columns without the division of tap_hi (tap_lo divides only left of the image)
        const kx0 = tap_lo(x0, DW), kx1 = x0 + (KW - 1) * DW < W ? KW : tap_hi(x0, DW, W, KW);
        const nvalid = max(0, ky1 - ky0) * max(0, kx1 - kx0);
        let cnt = i8x16.splat(0);
        if (nvalid > 0) {
          let xr = xb + <usize>((y0 + ky0 * DH) * W + x0 + kx0 * DW) * cb;
          let wr = wb + <usize>(ky0 * KW + kx0) * cb;
          for (let ky = ky0; ky < ky1; ky++) {
            let xp = xr, wp = wr;
            for (let kx = kx0; kx < kx1; kx++) {
              cnt = i8x16.sub(cnt, expand16(xp, wp));
              xp += xColStep;
              wp += cb;
            }
            xr += xRowStep;
            wr += wRowStep;
          }
        }
        // dot + bias = nvalid - 2 * mism + bias, mism in u8 lanes (<= T <= 255)
        const lo16 = i16x8.extend_low_i8x16_u(cnt), hi16 = i16x8.extend_high_i8x16_u(cnt);
        const nv = i32x4.splat(nvalid);
        const a0 = i32x4.add(i32x4.sub(nv, i32x4.shl(i32x4.extend_low_i16x8_u(lo16), 1)), b0);
        const a1 = i32x4.add(i32x4.sub(nv, i32x4.shl(i32x4.extend_high_i16x8_u(lo16), 1)), b1);
        const a2 = i32x4.add(i32x4.sub(nv, i32x4.shl(i32x4.extend_low_i16x8_u(hi16), 1)), b2);
        const a3 = i32x4.add(i32x4.sub(nv, i32x4.shl(i32x4.extend_high_i16x8_u(hi16), 1)), b3);
        const o = ob + <usize>((oy * OW + ox) * C);
        v128.store64_lane(o, requant_sm_i32x4x2_i8(a0, a1, m0, m1, rnd, k, zyv, lov, hiv), 0);
        v128.store64_lane(o + 8, requant_sm_i32x4x2_i8(a2, a3, m2, m3, rnd, k, zyv, lov, hiv), 0);
      }
    }
  }
}
