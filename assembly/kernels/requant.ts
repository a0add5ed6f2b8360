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
  let v = <i32>rshift_round(i64(acc) * i64(mult), shift) + zp;
  v = v < lo ? lo : v;
  return v > hi ? hi : v;
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
  v = i32x4.add(v, zp);
  return i32x4.min_s(i32x4.max_s(v, lo), hi);
}

// Narrows two i32x4 (already within int8 range) to the low 8 bytes of an i8x16.
@inline
export function narrow_i32x4x2_to_i8(a: v128, b: v128): v128 {
  const s = i16x8.narrow_i32x4_s(a, b);
  return i8x16.narrow_i16x8_s(s, s);
}
