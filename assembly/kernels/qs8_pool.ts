// qs8 pooling, NHWC, one image: max pool, average pool (count_include_pad = false) and global average pool.
// Max and average pooling keep the input's quantization (same scale and zero point in and out); the global
// average pool also comes with a requantizing form for a different output scale.
//
// Exact definitions (window taps iy = oy*SH - PT + ky*DH, ix = ox*SW - PL + kx*DW, ky < KH, kx < KW; a tap is
// VALID when 0 <= iy < H and 0 <= ix < W; padding taps are ignored, not counted):
//
//   qs8_maxpool2d:  out = clamp(max(-128, x over the valid taps), lo, hi)     (no valid tap: clamp(-128))
//
//   qs8_avgpool2d:  n = number of valid taps, s = sum over the valid taps of (x - z)
//                   out = clamp(z + rdiv(s, n), lo, hi)                      (n = 0: clamp(z, lo, hi))
//
//   qs8_global_avgpool:          s = sum over the P = H*W pixels of (x - z)
//                                out[c] = clamp(z + rdiv(s, P), lo, hi)
//   qs8_global_avgpool_requant:  s = sum over the P pixels of (x - zx)
//                                out[c] = clamp(zy + rshift_round(s * mult, shift), lo, hi)   (= requant.ts)
//                                mult / 2^shift already holds 1/P times the input-to-output scale ratio;
//                                mult in [0, 2^31), shift in [31, 62], computed in int64.
//   (P = 0 gives clamp(z, lo, hi), resp. clamp(zy, lo, hi): an empty sum is the real 0.)
//
//   rdiv(s, n) = s / n rounded half away from zero = sign(s) * floor((2|s| + n) / (2n))   (integers, exact)
//
// Rounding happens on the real value (x - z), so it is symmetric around the real 0 (the zero point z).
// lo/hi carry a fused activation clamp, int8 values with lo <= hi (-128/127 for none). Everything is exact
// while n (or P) <= 2^22.
//
// Portable form: scalar loops with integer division. SIMD form: 16 (max) or 8 (avg) channels per step, window
// sums in int16 while they cannot overflow (at most 256 taps), else in int32; the division by n is a
// multiplication by a 32-bit reciprocal M = ceil(2^S / (2n)), S = 31 + ceil(log2(2n)), so M < 2^32 and
// 2^S >= 2^31 * 2n: for a = 2|s| + n < 2^31, a*M / 2^S = a/(2n) + a*(M*2n - 2^S) / (2n * 2^S), and the error
// term is below 1/(2n) because M*2n - 2^S < 2n and a < 2^S/(2n); floor(a * M / 2^S) == floor(a / (2n)), and
// both forms give the same integers.

import { requant, requant_i32x4, narrow_i32x4x2_to_i8 } from "./requant";
import { tap_lo, tap_hi } from "./window";



@inline function clamp(v: i32, lo: i32, hi: i32): i32 {
  v = v < lo ? lo : v;
  return v > hi ? hi : v;
}

/** s / n rounded half away from zero (n >= 1, |s| <= 255 n, n <= 2^22). */
@inline function rdiv(s: i32, n: i32): i32 {
  const a = <u32>((s < 0 ? -s : s) * 2 + n);
  const q = <i32>(a / <u32>(n * 2));
  return s < 0 ? -q : q;
}

// The reciprocal of 2n: M (as u32) and S, see the top of the file.
@inline function recip_shift(n: i32): i32 {
  const d = <u32>(n * 2);
  return 31 + (32 - <i32>clz<u32>(d - 1));
}
@inline function recip_mult(n: i32, S: i32): u32 {
  const d = <u64>(n * 2);
  return <u32>(((<u64>1 << <u64>S) - 1) / d + 1);
}

// Four lanes of rdiv(s, n), given nv = splat(n), mv = splat(M) and S.
@inline
function rdiv_i32x4(s: v128, nv: v128, mv: v128, S: i32): v128 {
  const neg = i32x4.shr_s(s, 31);
  const a = i32x4.add(i32x4.shl(i32x4.abs(s), 1), nv);
  const q0 = i64x2.shr_u(i64x2.extmul_low_i32x4_u(a, mv), S);
  const q1 = i64x2.shr_u(i64x2.extmul_high_i32x4_u(a, mv), S);
  const q = v128.shuffle<i32>(q0, q1, 0, 2, 4, 6);
  return i32x4.sub(v128.xor(q, neg), neg);
}

export function qs8_maxpool2d(
  x: usize, H: i32, W: i32, C: i32,
  out: usize, OH: i32, OW: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32, DH: i32, DW: i32,
  lo: i32, hi: i32,
): void {
  const xRowStep = <usize>(DH * W * C), xColStep = <usize>(DW * C);
  for (let oy = 0; oy < OH; oy++) {
    const y0 = oy * SH - PT;
    const ky0 = tap_lo(y0, DH), ky1 = tap_hi(y0, DH, H, KH);
    for (let ox = 0; ox < OW; ox++) {
      const x0 = ox * SW - PL;
      const kx0 = tap_lo(x0, DW), kx1 = tap_hi(x0, DW, W, KW);
      const o = out + <usize>((oy * OW + ox) * C);
      const xb = x + <usize>(((y0 + ky0 * DH) * W + x0 + kx0 * DW) * C);
      let c = 0;
      if (ASC_FEATURE_SIMD) {
        const lov = i8x16.splat(<i8>lo), hiv = i8x16.splat(<i8>hi);
        for (; c + 16 <= C; c += 16) {
          let m = i8x16.splat(-128);
          let xr = xb + <usize>c;
          for (let ky = ky0; ky < ky1; ky++) {
            let xp = xr;
            for (let kx = kx0; kx < kx1; kx++) {
              m = i8x16.max_s(m, v128.load(xp));
              xp += xColStep;
            }
            xr += xRowStep;
          }
          v128.store(o + <usize>c, i8x16.min_s(i8x16.max_s(m, lov), hiv));
        }
        for (; c + 8 <= C; c += 8) {
          let m = i8x16.splat(-128);
          let xr = xb + <usize>c;
          for (let ky = ky0; ky < ky1; ky++) {
            let xp = xr;
            for (let kx = kx0; kx < kx1; kx++) {
              m = i8x16.max_s(m, v128.load64_zero(xp));
              xp += xColStep;
            }
            xr += xRowStep;
          }
          v128.store64_lane(o + <usize>c, i8x16.min_s(i8x16.max_s(m, lov), hiv), 0);
        }
      }
      for (; c < C; c++) {
        let m: i32 = -128;
        let xr = xb + <usize>c;
        for (let ky = ky0; ky < ky1; ky++) {
          let xp = xr;
          for (let kx = kx0; kx < kx1; kx++) {
            const v = i32(load<i8>(xp));
            m = v > m ? v : m;
            xp += xColStep;
          }
          xr += xRowStep;
        }
        store<i8>(o + <usize>c, <i8>clamp(m, lo, hi));
      }
    }
  }
}

export function qs8_avgpool2d(
  x: usize, H: i32, W: i32, C: i32, z: i32,
  out: usize, OH: i32, OW: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32, DH: i32, DW: i32,
  lo: i32, hi: i32,
): void {
  let c0 = 0;
  if (ASC_FEATURE_SIMD) {
    c0 = C & ~7;
    if (c0 > 0) avgpool_simd(x, H, W, C, c0, z, out, OH, OW, KH, KW, SH, SW, PT, PL, DH, DW, lo, hi);
  }
  if (c0 < C) avgpool_portable(x, H, W, C, c0, z, out, OH, OW, KH, KW, SH, SW, PT, PL, DH, DW, lo, hi);
}

// Channels [c0, C), one at a time.
function avgpool_portable(
  x: usize, H: i32, W: i32, C: i32, c0: i32, z: i32,
  out: usize, OH: i32, OW: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32, DH: i32, DW: i32,
  lo: i32, hi: i32,
): void {
  const xRowStep = <usize>(DH * W * C), xColStep = <usize>(DW * C);
  for (let oy = 0; oy < OH; oy++) {
    const y0 = oy * SH - PT;
    const ky0 = tap_lo(y0, DH), ky1 = tap_hi(y0, DH, H, KH);
    for (let ox = 0; ox < OW; ox++) {
      const x0 = ox * SW - PL;
      const kx0 = tap_lo(x0, DW), kx1 = tap_hi(x0, DW, W, KW);
      const o = out + <usize>((oy * OW + ox) * C);
      const n = max(0, ky1 - ky0) * max(0, kx1 - kx0);
      const xb = x + <usize>(((y0 + ky0 * DH) * W + x0 + kx0 * DW) * C);
      for (let c = c0; c < C; c++) {
        let s: i32 = 0;
        let xr = xb + <usize>c;
        for (let ky = ky0; ky < ky1; ky++) {
          let xp = xr;
          for (let kx = kx0; kx < kx1; kx++) {
            s += i32(load<i8>(xp));
            xp += xColStep;
          }
          xr += xRowStep;
        }
        store<i8>(o + <usize>c, <i8>clamp(n == 0 ? z : z + rdiv(s - n * z, n), lo, hi));
      }
    }
  }
}

// Channels [0, C8), C8 a multiple of 8: 8 channels per step.
function avgpool_simd(
  x: usize, H: i32, W: i32, C: i32, C8: i32, z: i32,
  out: usize, OH: i32, OW: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32, DH: i32, DW: i32,
  lo: i32, hi: i32,
): void {
  const xRowStep = <usize>(DH * W * C), xColStep = <usize>(DW * C);
  const small = KH * KW <= 256; // int16 partial sums are exact for up to 256 taps (-32768 .. 32512)
  const zv = i32x4.splat(z), lov = i32x4.splat(lo), hiv = i32x4.splat(hi);
  // the reciprocal of 2n, recomputed only where the window's tap count changes
  let lastN = -1, S = 0;
  let nv = i32x4.splat(0), mv = i32x4.splat(0), nzv = i32x4.splat(0);
  for (let oy = 0; oy < OH; oy++) {
    const y0 = oy * SH - PT;
    const ky0 = tap_lo(y0, DH), ky1 = tap_hi(y0, DH, H, KH);
    for (let ox = 0; ox < OW; ox++) {
      const x0 = ox * SW - PL;
      const kx0 = tap_lo(x0, DW), kx1 = tap_hi(x0, DW, W, KW);
      const o = out + <usize>((oy * OW + ox) * C);
      const n = max(0, ky1 - ky0) * max(0, kx1 - kx0);
      if (n == 0) {
        memory.fill(o, <u8>clamp(z, lo, hi), <usize>C8);
        continue;
      }
      if (n != lastN) {
        lastN = n;
        S = recip_shift(n);
        nv = i32x4.splat(n);
        mv = i32x4.splat(<i32>recip_mult(n, S));
        nzv = i32x4.splat(n * z);
      }
      const xb = x + <usize>(((y0 + ky0 * DH) * W + x0 + kx0 * DW) * C);
      for (let c = 0; c < C8; c += 8) {
        let s0: v128, s1: v128;
        let xr = xb + <usize>c;
        if (small) {
          let t = i16x8.splat(0);
          for (let ky = ky0; ky < ky1; ky++) {
            let xp = xr;
            for (let kx = kx0; kx < kx1; kx++) {
              t = i16x8.add(t, v128.load8x8_s(xp));
              xp += xColStep;
            }
            xr += xRowStep;
          }
          s0 = i32x4.extend_low_i16x8_s(t);
          s1 = i32x4.extend_high_i16x8_s(t);
        } else {
          s0 = i32x4.splat(0);
          s1 = i32x4.splat(0);
          for (let ky = ky0; ky < ky1; ky++) {
            let xp = xr;
            for (let kx = kx0; kx < kx1; kx++) {
              const v = v128.load8x8_s(xp);
              s0 = i32x4.add(s0, i32x4.extend_low_i16x8_s(v));
              s1 = i32x4.add(s1, i32x4.extend_high_i16x8_s(v));
              xp += xColStep;
            }
            xr += xRowStep;
          }
        }
        const r0 = i32x4.min_s(i32x4.max_s(i32x4.add(rdiv_i32x4(i32x4.sub(s0, nzv), nv, mv, S), zv), lov), hiv);
        const r1 = i32x4.min_s(i32x4.max_s(i32x4.add(rdiv_i32x4(i32x4.sub(s1, nzv), nv, mv, S), zv), lov), hiv);
        v128.store64_lane(o + <usize>c, narrow_i32x4x2_to_i8(r0, r1), 0);
      }
    }
  }
}

/**
 * out[c] = clamp(z + rdiv(sum_p (x[p][c] - z), P), lo, hi): the average over P pixels, same qparams in and out.
 */
export function qs8_global_avgpool(x: usize, P: i32, C: i32, z: i32, out: usize, lo: i32, hi: i32): void {
  global_pool(x, P, C, z, out, 0, 0, z, lo, hi, false);
}

/**
 * out[c] = clamp(zy + rshift_round((sum_p x[p][c] - P*zx) * mult, shift), lo, hi): average pool and
 * requantization to another scale in one step (mult / 2^shift = inScale / (outScale * P)).
 */
export function qs8_global_avgpool_requant(
  x: usize, P: i32, C: i32, zx: i32, out: usize, mult: i32, shift: i32, zy: i32, lo: i32, hi: i32,
): void {
  global_pool(x, P, C, zx, out, mult, shift, zy, lo, hi, true);
}

// Global pools: per-channel sums of x over P pixels. SIMD: 8 channels per step, int16 partial sums over
// runs of at most 256 pixels (-32768 <= sum <= 32512 fits), widened into int32 after each run.
// One function for both exports (not inlined: the module's size is a product feature).
function global_pool(
  x: usize, P: i32, C: i32, zx: i32, out: usize, mult: i32, shift: i32, zy: i32, lo: i32, hi: i32, rq: bool,
): void {
  if (P <= 0) {
    memory.fill(out, <u8>clamp(zy, lo, hi), <usize>C); // an empty sum: the real 0
    return;
  }
  const pz = P * zx;
  const stride = <usize>C;
  let c = 0;
  if (ASC_FEATURE_SIMD) {
    const S = rq ? 0 : recip_shift(P);
    const nv = i32x4.splat(P), mv = i32x4.splat(rq ? mult : <i32>recip_mult(P, S)), pzv = i32x4.splat(pz);
    const zyv = i32x4.splat(zy), lov = i32x4.splat(lo), hiv = i32x4.splat(hi);
    for (; c + 8 <= C; c += 8) {
      let s0 = i32x4.splat(0), s1 = i32x4.splat(0);
      let xp = x + <usize>c;
      for (let p0 = 0; p0 < P; p0 += 256) {
        const end = min(P, p0 + 256);
        let t = i16x8.splat(0);
        for (let p = p0; p < end; p++) {
          t = i16x8.add(t, v128.load8x8_s(xp));
          xp += stride;
        }
        s0 = i32x4.add(s0, i32x4.extend_low_i16x8_s(t));
        s1 = i32x4.add(s1, i32x4.extend_high_i16x8_s(t));
      }
      s0 = i32x4.sub(s0, pzv);
      s1 = i32x4.sub(s1, pzv);
      let r0: v128, r1: v128;
      if (rq) {
        r0 = requant_i32x4(s0, mv, shift, zyv, lov, hiv);
        r1 = requant_i32x4(s1, mv, shift, zyv, lov, hiv);
      } else {
        r0 = i32x4.min_s(i32x4.max_s(i32x4.add(rdiv_i32x4(s0, nv, mv, S), zyv), lov), hiv);
        r1 = i32x4.min_s(i32x4.max_s(i32x4.add(rdiv_i32x4(s1, nv, mv, S), zyv), lov), hiv);
      }
      v128.store64_lane(out + <usize>c, narrow_i32x4x2_to_i8(r0, r1), 0);
    }
  }
  for (; c < C; c++) {
    let s: i32 = 0;
    let xp = x + <usize>c;
    for (let p = 0; p < P; p++) {
      s += i32(load<i8>(xp));
      xp += stride;
    }
    s -= pz;
    const v = rq ? requant(s, mult, shift, zy, lo, hi) : clamp(zy + rdiv(s, P), lo, hi);
    store<i8>(out + <usize>c, <i8>v);
  }
}
