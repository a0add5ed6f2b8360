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
// SIMD form, 8 elements per step, all in int32 lanes (no 64-bit lane arithmetic, which x64 engines emulate),
// when both multipliers are below 2^31 - 2^15 (every layer but a rare one; the others run the portable form):
//   m = m1*2^16 + m0 with m1 = (m + 2^15) >> 16 in [0, 2^15) and m0 = m - m1*2^16 in [-2^15, 2^15), both int16;
//   with da = a - za and db = b - zb in [-255, 255] interleaved as int16 pairs, i32x4.dot_i16x8_s gives exactly
//   D1 = da*ma1 + db*mb1 and D0 = da*ma0 + db*mb0 (|Dj| <= 2^24), and p = D1*2^16 + D0. With f = -1 where p < 0
//   (p < 0 iff T = D1 + (D0 >> 16) < 0), p + f = T'*2^16 + R' with T' = D1 + ((D0 + f) >> 16) and R' in
//   [0, 2^16), and for s in [17, 42]
//     rshift_round(p, s) = floor((p + f + 2^(s-1)) / 2^s) = (T' + 2^(s-17)) >> (s - 16)      (arithmetic shift)
//   (2^(s-1) is a multiple of 2^16, so R' cannot change the floor). For s >= 42 the result is 0 (|p| < 2^40),
//   which the formula at s = 42 also gives, so s = min(shift, 42). zy + r is then clamped through the saturating
//   narrowings (i32 -> i16, saturating add of zy, i16 -> i8) and min/max with lo/hi, which is exact because lo
//   and hi are int8 values.

import { rshift_round } from "./requant";

// rshift_round(D1*2^16 + D0, s) for four lanes, see above (rnd = 2^(s-17), k = s - 16).
@inline
function limbs16_round(d0: v128, d1: v128, rnd: v128, k: i32): v128 {
  const f = i32x4.shr_s(i32x4.add(d1, i32x4.shr_s(d0, 16)), 31); // -1 where p < 0
  const t = i32x4.add(d1, i32x4.shr_s(i32x4.add(d0, f), 16));
  return i32x4.shr_s(i32x4.add(t, rnd), k);
}

export function qs8_add(
  a: usize, za: i32, ma: i32, b: usize, zb: i32, mb: i32,
  out: usize, n: i32, shift: i32, zy: i32, lo: i32, hi: i32,
): void {
  let i = 0;
  if (ASC_FEATURE_SIMD && <u32>ma < 0x7fff8000 && <u32>mb < 0x7fff8000) {
    const zav = i16x8.splat(<i16>za), zbv = i16x8.splat(<i16>zb);
    const ma1 = (ma + 0x8000) >> 16, mb1 = (mb + 0x8000) >> 16;
    const ma0 = ma - (ma1 << 16), mb0 = mb - (mb1 << 16);
    // limb pairs (ma_j, mb_j) as int16 pairs, matching the (da, db) interleave
    const m0 = i32x4.splat((ma0 & 0xffff) | (mb0 << 16));
    const m1 = i32x4.splat(ma1 | (mb1 << 16));
    const s = min(shift, 42);
    const rnd = i32x4.splat(1 << (s - 17)), k = s - 16;
    const zy16 = i16x8.splat(<i16>zy), lov = i8x16.splat(<i8>lo), hiv = i8x16.splat(<i8>hi);
    for (; i + 8 <= n; i += 8) {
      const da = i16x8.sub(v128.load8x8_s(a + <usize>i), zav);
      const db = i16x8.sub(v128.load8x8_s(b + <usize>i), zbv);
      const d0 = v128.shuffle<i16>(da, db, 0, 8, 1, 9, 2, 10, 3, 11);
      const d1 = v128.shuffle<i16>(da, db, 4, 12, 5, 13, 6, 14, 7, 15);
      const r0 = limbs16_round(i32x4.dot_i16x8_s(d0, m0), i32x4.dot_i16x8_s(d0, m1), rnd, k);
      const r1 = limbs16_round(i32x4.dot_i16x8_s(d1, m0), i32x4.dot_i16x8_s(d1, m1), rnd, k);
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
