// qs8 table lookup: any elementwise int8 -> int8 function as a 256-entry table (sigmoid, tanh, hard-swish,
// leaky ReLU, ... built by buildQs8Lut in src/pack/layout.ts with the input and output quantization folded in).
//
//   out[i] = table[x[i] + 128]     for i < n; table is 256 int8 (entry k is the output for input k - 128)
//
// `out` may be `x` (same address), not another overlap.
//
// SIMD form: the table as 16 vectors of 16 entries; idx = x + 128 as an unsigned byte (x ^ 0x80), and for chunk
// k = 0..15 i8x16.swizzle(chunk_k, idx - 16k): a lane's index is below 16 in exactly one chunk (the others give
// 0, i8x16.swizzle's rule for indices >= 16), so OR-ing the 16 lookups gives the entry. Portable form: one
// load per byte. (i8x16.relaxed_swizzle is not used: its result for indices 16..255 is not deterministic.)

export function qs8_lut(x: usize, out: usize, n: i32, table: usize): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const t0 = v128.load(table), t1 = v128.load(table, 16), t2 = v128.load(table, 32), t3 = v128.load(table, 48);
    const t4 = v128.load(table, 64), t5 = v128.load(table, 80), t6 = v128.load(table, 96), t7 = v128.load(table, 112);
    const t8 = v128.load(table, 128), t9 = v128.load(table, 144), t10 = v128.load(table, 160), t11 = v128.load(table, 176);
    const t12 = v128.load(table, 192), t13 = v128.load(table, 208), t14 = v128.load(table, 224), t15 = v128.load(table, 240);
    const bias = i8x16.splat(-128), step = i8x16.splat(16);
    for (; i + 16 <= n; i += 16) {
      let k = v128.xor(v128.load(x + <usize>i), bias);
      let r = i8x16.swizzle(t0, k);
      k = i8x16.sub(k, step); r = v128.or(r, i8x16.swizzle(t1, k));
      k = i8x16.sub(k, step); r = v128.or(r, i8x16.swizzle(t2, k));
      k = i8x16.sub(k, step); r = v128.or(r, i8x16.swizzle(t3, k));
      k = i8x16.sub(k, step); r = v128.or(r, i8x16.swizzle(t4, k));
      k = i8x16.sub(k, step); r = v128.or(r, i8x16.swizzle(t5, k));
      k = i8x16.sub(k, step); r = v128.or(r, i8x16.swizzle(t6, k));
      k = i8x16.sub(k, step); r = v128.or(r, i8x16.swizzle(t7, k));
      k = i8x16.sub(k, step); r = v128.or(r, i8x16.swizzle(t8, k));
      k = i8x16.sub(k, step); r = v128.or(r, i8x16.swizzle(t9, k));
      k = i8x16.sub(k, step); r = v128.or(r, i8x16.swizzle(t10, k));
      k = i8x16.sub(k, step); r = v128.or(r, i8x16.swizzle(t11, k));
      k = i8x16.sub(k, step); r = v128.or(r, i8x16.swizzle(t12, k));
      k = i8x16.sub(k, step); r = v128.or(r, i8x16.swizzle(t13, k));
      k = i8x16.sub(k, step); r = v128.or(r, i8x16.swizzle(t14, k));
      k = i8x16.sub(k, step); r = v128.or(r, i8x16.swizzle(t15, k));
      v128.store(out + <usize>i, r);
    }
  }
  for (; i < n; i++) {
    store<i8>(out + <usize>i, load<i8>(table + <usize>(i32(load<i8>(x + <usize>i)) + 128)));
  }
}
