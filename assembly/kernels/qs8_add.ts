// qs8 elementwise add with rescaling of both inputs (residual connections): two int8 tensors of the same
// shape, each with its own scale and zero point, into an int8 output with a third.
//
// Exact definition, for i < n, computed in int64:
//   p      = (a[i] - za) * ma + (b[i] - zb) * mb
//   out[i] = clamp(zy + rshift_round(p, shift), lo, hi)
// with rshift_round of requant.ts (round half away from zero). ma, mb in [0, 2^31), shift in [24, 62]:
// ma / 2^shift = scaleA / scaleY and mb / 2^shift = scaleB / scaleY (below 128: a residual add followed by a
// ReLU often has a narrower output range than an input, so a ratio above 1 is common). |p| <= 510 * (2^31 - 1) < 2^40, so nothing overflows.
// lo/hi carry a fused activation clamp (-128/127 for none). `out` may be `a` or `b` (same address), not
// another overlap.
//
// Portable form: one element at a time in i64, as defined above.
// SIMD form, 8 elements per step, all in int32 lanes (no 64-bit lane arithmetic, which x64 engines emulate):
//   the multipliers in 15-bit limbs, m = m2*2^30 + m1*2^15 + m0 (m0, m1 < 2^15, m2 <= 1); with da = a - za and
//   db = b - zb in [-255, 255] interleaved as int16 pairs, i32x4.dot_i16x8_s gives exactly
//   Dj = da*maj + db*mbj (|Dj| < 2^24), so p = D2*2^30 + D1*2^15 + D0. Carrying, T1 = D1 + (D0 >> 15),
//   T2 = D2 + (T1 >> 15), R = (T1 & 0x7fff)*2^15 + (D0 & 0x7fff) in [0, 2^30): p = T2*2^30 + R, p < 0 iff
//   T2 < 0, and for a shift s in [31, 42]
//     rshift_round(p, s) = (T2 + 2^(s-31) - [R == 0 and T2 < 0]) >> (s - 30)          (arithmetic shift)
//   (R - [p < 0] lies in [-1, 2^30), so it changes the floor only when it is -1). For s in [24, 30], 2^s divides
//   T2*2^30, so rshift_round(p, s) = T2*2^(30-s) + ((R + 2^(s-1) - [T2 < 0]) >> s), the second term being
//   non-negative and below 2^31. For s >= 42 the result is 0
//   (|p| < 2^40), which the formula at s = 42 also gives, so s = min(shift, 42). zy + r is then clamped through
//   the saturating narrowings (i32 -> i16, saturating add of zy, i16 -> i8) and min/max with lo/hi, which is
//   exact because lo and hi are int8 values.

import { rshift_round } from "./requant";

// rshift_round(D2*2^30 + D1*2^15 + D0, s) for four lanes, see above (rnd = 2^(s-31), k = s - 30).
@inline
function limbs_round(d0: v128, d1: v128, d2: v128, low15: v128, zero: v128, rnd: v128, k: i32): v128 {
  const t1 = i32x4.add(d1, i32x4.shr_s(d0, 15));
  const t2 = i32x4.add(d2, i32x4.shr_s(t1, 15));
  const rzero = i32x4.eq(v128.or(v128.and(d0, low15), v128.and(t1, low15)), zero);
  const fix = v128.and(rzero, i32x4.shr_s(t2, 31)); // -1 where R == 0 and p < 0
  return i32x4.shr_s(i32x4.add(i32x4.add(t2, rnd), fix), k);
}

// The same for s in [24, 30] (rnd = 2^(s-1)), see above.
@inline
function limbs_round_small(d0: v128, d1: v128, d2: v128, low15: v128, rnd: v128, s: i32): v128 {
  const t1 = i32x4.add(d1, i32x4.shr_s(d0, 15));
  const t2 = i32x4.add(d2, i32x4.shr_s(t1, 15));
  const r = v128.or(i32x4.shl(v128.and(t1, low15), 15), v128.and(d0, low15));
  const low = i32x4.shr_u(i32x4.add(i32x4.add(r, rnd), i32x4.shr_s(t2, 31)), s);
  return i32x4.add(i32x4.shl(t2, 30 - s), low);
}

export function qs8_add(
  a: usize, za: i32, ma: i32, b: usize, zb: i32, mb: i32,
  out: usize, n: i32, shift: i32, zy: i32, lo: i32, hi: i32,
): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const zav = i16x8.splat(<i16>za), zbv = i16x8.splat(<i16>zb);
    // limb pairs (ma_j, mb_j) as int16 pairs, matching the (da, db) interleave
    const m0 = i32x4.splat((ma & 0x7fff) | ((mb & 0x7fff) << 16));
    const m1 = i32x4.splat(((ma >>> 15) & 0x7fff) | (((mb >>> 15) & 0x7fff) << 16));
    const m2 = i32x4.splat((ma >>> 30) | ((mb >>> 30) << 16));
    const small = shift < 31;
    const s = min(shift, 42);
    const rnd = i32x4.splat(small ? 1 << (s - 1) : 1 << (s - 31)), k = s - 30;
    const low15 = i32x4.splat(0x7fff), zero = i32x4.splat(0);
    const zy16 = i16x8.splat(<i16>zy), lov = i8x16.splat(<i8>lo), hiv = i8x16.splat(<i8>hi);
    for (; i + 8 <= n; i += 8) {
      const da = i16x8.sub(v128.load8x8_s(a + <usize>i), zav);
      const db = i16x8.sub(v128.load8x8_s(b + <usize>i), zbv);
      const d0 = v128.shuffle<i16>(da, db, 0, 8, 1, 9, 2, 10, 3, 11);
      const d1 = v128.shuffle<i16>(da, db, 4, 12, 5, 13, 6, 14, 7, 15);
      let r0: v128, r1: v128;
      if (small) {
        r0 = limbs_round_small(i32x4.dot_i16x8_s(d0, m0), i32x4.dot_i16x8_s(d0, m1), i32x4.dot_i16x8_s(d0, m2), low15, rnd, s);
        r1 = limbs_round_small(i32x4.dot_i16x8_s(d1, m0), i32x4.dot_i16x8_s(d1, m1), i32x4.dot_i16x8_s(d1, m2), low15, rnd, s);
      } else {
        r0 = limbs_round(i32x4.dot_i16x8_s(d0, m0), i32x4.dot_i16x8_s(d0, m1), i32x4.dot_i16x8_s(d0, m2), low15, zero, rnd, k);
        r1 = limbs_round(i32x4.dot_i16x8_s(d1, m0), i32x4.dot_i16x8_s(d1, m1), i32x4.dot_i16x8_s(d1, m2), low15, zero, rnd, k);
      }
      const v16 = i16x8.add_sat_s(i16x8.narrow_i32x4_s(r0, r1), zy16);
      const v8 = i8x16.narrow_i16x8_s(v16, v16);
      v128.store64_lane(out + <usize>i, i8x16.min_s(i8x16.max_s(v8, lov), hiv), 0);
    }
  }
  for (; i < n; i++) {
    const p = i64(i32(load<i8>(a + <usize>i)) - za) * i64(ma) + i64(i32(load<i8>(b + <usize>i)) - zb) * i64(mb);
    let v = <i32>rshift_round(p, shift) + zy;
    v = v < lo ? lo : v;
    store<i8>(out + <usize>i, <i8>(v > hi ? hi : v));
  }
}
