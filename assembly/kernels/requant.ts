// Requantization of int32 accumulators to int8: the one rounding rule of qwasm.
//
//   out = clamp(zp + rshift_round(acc * mult, shift), lo, hi)
//
// `mult` is a per-channel int32 in [0, 2^31), `shift` a per-layer right shift in [31, 62], so the real
// multiplier mult / 2^shift lies in [0, 1). rshift_round rounds half away from zero:
//   (p + 2^(shift-1) - (p < 0 ? 1 : 0)) >> shift   (arithmetic shift, computed exactly in int64).
// The shift is per layer (WASM SIMD shifts take one count for all lanes); the per-channel scale lives in
// `mult`, which keeps at least 24 bits of precision for channels down to 1/128 of the layer's largest scale.
// lo/hi carry the fused activation clamp (ReLU, ReLU6) already in the output's quantized domain.

@inline
export function rshift_round(p: i64, shift: i32): i64 {
  return (p + (i64(1) << (shift - 1)) + (p >> 63)) >> shift;
}

@inline
export function requant(acc: i32, mult: i32, shift: i32, zp: i32, lo: i32, hi: i32): i32 {
  // clamped before zp is added: |rshift_round(...)| can reach 2^31 - 1, and adding zp must not wrap
  let v = <i32>rshift_round(i64(acc) * i64(mult), shift);
  v = v < lo - zp ? lo - zp : v;
  return (v > hi - zp ? hi - zp : v) + zp;
}

// Four lanes at once; identical to `requant` lane by lane. Returns clamped i32x4.
@inline
export function requant_i32x4(acc: v128, mult: v128, shift: i32, zp: v128, lo: v128, hi: v128): v128 {
  const rnd = i64x2.splat(i64(1) << (shift - 1));
  let p0 = i64x2.extmul_low_i32x4_s(acc, mult);
  let p1 = i64x2.extmul_high_i32x4_s(acc, mult);
  p0 = i64x2.shr_s(i64x2.add(i64x2.add(p0, rnd), i64x2.shr_s(p0, 63)), shift);
  p1 = i64x2.shr_s(i64x2.add(i64x2.add(p1, rnd), i64x2.shr_s(p1, 63)), shift);
  // |acc * mult / 2^shift| < 2^31, so the low halves of the int64 lanes are the exact results.
  let v = v128.shuffle<i32>(p0, p1, 0, 2, 4, 6);
  // clamped before zp is added, as in `requant` (no wrap-around for results near +-2^31)
  v = i32x4.min_s(i32x4.max_s(v, i32x4.sub(lo, zp)), i32x4.sub(hi, zp));
  return i32x4.add(v, zp);
}

// Narrows two i32x4 (already within int8 range) to the low 8 bytes of an i8x16.
@inline
export function narrow_i32x4x2_to_i8(a: v128, b: v128): v128 {
  const s = i16x8.narrow_i32x4_s(a, b);
  return i8x16.narrow_i16x8_s(s, s);
}

// The same rule in sign-magnitude form, for hot loops (no arithmetic i64 shifts, which x64 engines emulate):
//   rshift_round(acc * mult, shift) == sign(acc) * ((|acc| * mult + 2^(shift-1)) >> shift)
// (for p = acc*mult < 0: floor((p + 2^(s-1) - 1) / 2^s) == -floor((-p + 2^(s-1)) / 2^s)), and with
// u = |acc| * mult + 2^(shift-1) < 2^63 unsigned, u >> shift == (u >> 32) >> (shift - 32) for shift >= 32.
// shift 31 is taken as shift 32 with mult doubled (mult < 2^31, so 2*mult fits the unsigned 32-bit lane).
// Per-layer constants, computed once outside the loop:
//   pre = requant_sm_pre(shift)   multiplier lanes are passed as i32x4.shl(mult, pre)
//   rnd = requant_sm_rnd(shift)   i64x2 rounding term
//   k   = shift + pre - 32        final 32-bit shift, in [0, 30]

@inline
export function requant_sm_pre(shift: i32): i32 {
  return shift == 31 ? 1 : 0;
}

@inline
export function requant_sm_rnd(shift: i32): v128 {
  return i64x2.splat(i64(1) << (shift - 1 + requant_sm_pre(shift)));
}

// (|acc| * multx + rnd) >> (32 + k) for four lanes: the magnitudes, in [0, 2^31).
@inline
function requant_sm_mag(acc: v128, multx: v128, rnd: v128, k: i32): v128 {
  const a = i32x4.abs(acc); // |INT_MIN| = 2^31, read as unsigned
  const u0 = i64x2.add(i64x2.extmul_low_i32x4_u(a, multx), rnd);
  const u1 = i64x2.add(i64x2.extmul_high_i32x4_u(a, multx), rnd);
  return i32x4.shr_u(v128.shuffle<i32>(u0, u1, 1, 3, 5, 7), k);
}

// Eight lanes of `requant` (acc0: lanes 0-3, acc1: lanes 4-7; m0/m1 the multipliers shifted left by pre), as
// int8 in the low 8 bytes; identical to requant_i32x4 + narrow_i32x4x2_to_i8. The sign, zero point and clamp
// are applied after saturating narrowings, which is exact: magnitudes saturate at 32767 (> 255), zp16 (int16
// lanes) is added with saturation, the narrowing to int8 saturates, and lo8/hi8 (int8 lanes) are int8 values.
@inline
export function requant_sm_i32x4x2_i8(
  acc0: v128, acc1: v128, m0: v128, m1: v128, rnd: v128, k: i32, zp16: v128, lo8: v128, hi8: v128,
): v128 {
  const mag = i16x8.narrow_i32x4_s(requant_sm_mag(acc0, m0, rnd, k), requant_sm_mag(acc1, m1, rnd, k));
  const neg = i16x8.narrow_i32x4_s(i32x4.shr_s(acc0, 31), i32x4.shr_s(acc1, 31));
  const v = i16x8.add_sat_s(i16x8.sub(v128.xor(mag, neg), neg), zp16);
  const b = i8x16.narrow_i16x8_s(v, v);
  return i8x16.min_s(i8x16.max_s(b, lo8), hi8);
}
