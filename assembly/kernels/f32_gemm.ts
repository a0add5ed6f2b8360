// f32 GEMM: float activations x packed float weights -> float outputs, bias, clamp.
// The engine behind f32_conv2d (after im2col), pointwise conv and dense layers (calibration runs on it).
//
// Packed layer (written by src/pack/layout.ts, read in place), N outputs, K reduction, Np = ceil(N/8)*8:
//   f32 w[Np/8][K][8 ch]   weights, zero in the channel padding
//   f32 bias[Np]           zero in the padding
// Total (K + 1) * Np * 4 bytes.
//
// Every output is computed as one f32 expression in one order, in every build:
//   acc = 0; for k in 0..K: acc = acc + a[k] * w[k]      (an f32 mul, then an f32 add: never a fused madd)
//   out = min(max(acc + bias, lo), hi)
// The SIMD form puts 4 output channels in the 4 lanes of an f32x4, so each lane runs exactly the scalar
// sequence and both forms give the same bits. No relaxed op is ever used here (relaxed_madd may or may not fuse).
//
// Micro-kernels: SIMD 4 rows x 8 channels (8 f32x4 accumulators, activations by v128.load32_splat) plus a
// 1-row x 8-channel tail; portable 4 rows x 4 channels of scalar accumulators plus a 1-row tail.

@inline function ceil8(n: i32): i32 { return (n + 7) & ~7; }

/** Size in bytes of a packed f32 layer. */
export function f32_packed_bytes(N: i32, K: i32): i32 {
  return ceil8(N) * (K + 1) * 4;
}

/**
 * out[r*outStride + c] = min(max(sum_k a[r*aStride + k] * w[c][k] + bias[c], lo), hi) for r < rows, c < N
 * (strides in f32 elements).
 */
export function f32_gemm_rows(
  rows: i32, N: i32, K: i32, a: usize, aStride: i32,
  pw: usize, lo: f32, hi: f32, out: usize, outStride: i32,
): void {
  if (ASC_FEATURE_SIMD) {
    gemm_simd(rows, N, K, a, aStride, pw, lo, hi, out, outStride);
  } else {
    gemm_portable(rows, N, K, a, aStride, pw, lo, hi, out, outStride);
  }
}

// ---- portable -----------------------------------------------------------------------------------------

@inline function fin(s: f32, b: f32, lo: f32, hi: f32): f32 {
  return Mathf.min(Mathf.max(s + b, lo), hi);
}

// Stores up to 4 channels (c < nc) of one output row.
@inline
function store_row4(o: usize, nc: i32, s0: f32, s1: f32, s2: f32, s3: f32, bias: usize, lo: f32, hi: f32): void {
  store<f32>(o, fin(s0, load<f32>(bias), lo, hi));
  if (nc > 1) store<f32>(o, fin(s1, load<f32>(bias, 4), lo, hi), 4);
  if (nc > 2) store<f32>(o, fin(s2, load<f32>(bias, 8), lo, hi), 8);
  if (nc > 3) store<f32>(o, fin(s3, load<f32>(bias, 12), lo, hi), 12);
}

function gemm_portable(
  rows: i32, N: i32, K: i32, a: usize, aStride: i32,
  pw: usize, lo: f32, hi: f32, out: usize, outStride: i32,
): void {
  const Np = ceil8(N);
  const biasBase = pw + (<usize>(Np * K) << 2);
  const aRow = <usize>aStride << 2;
  const oRow = <usize>outStride << 2;
  const kEnd = <usize>K << 2;
  for (let c = 0; c < N; c += 4) {
    // channels c..c+3 sit in lanes (c & 7).. of block c >> 3
    const wb = pw + (<usize>((c >> 3) * K * 8 + (c & 7)) << 2);
    const bias = biasBase + (<usize>c << 2);
    const nc = min(4, N - c);
    const oc = out + (<usize>c << 2);
    let r = 0;
    for (; r + 4 <= rows; r += 4) {
      const a0 = a + <usize>r * aRow, a1 = a0 + aRow, a2 = a1 + aRow, a3 = a2 + aRow;
      let s00: f32 = 0, s01: f32 = 0, s02: f32 = 0, s03: f32 = 0;
      let s10: f32 = 0, s11: f32 = 0, s12: f32 = 0, s13: f32 = 0;
      let s20: f32 = 0, s21: f32 = 0, s22: f32 = 0, s23: f32 = 0;
      let s30: f32 = 0, s31: f32 = 0, s32: f32 = 0, s33: f32 = 0;
      let wp = wb;
      for (let k: usize = 0; k < kEnd; k += 4) {
        const w0 = load<f32>(wp), w1 = load<f32>(wp, 4), w2 = load<f32>(wp, 8), w3 = load<f32>(wp, 12);
        wp += 32;
        let x = load<f32>(a0 + k);
        s00 += x * w0; s01 += x * w1; s02 += x * w2; s03 += x * w3;
        x = load<f32>(a1 + k);
        s10 += x * w0; s11 += x * w1; s12 += x * w2; s13 += x * w3;
        x = load<f32>(a2 + k);
        s20 += x * w0; s21 += x * w1; s22 += x * w2; s23 += x * w3;
        x = load<f32>(a3 + k);
        s30 += x * w0; s31 += x * w1; s32 += x * w2; s33 += x * w3;
      }
      const o = oc + <usize>r * oRow;
      store_row4(o, nc, s00, s01, s02, s03, bias, lo, hi);
      store_row4(o + oRow, nc, s10, s11, s12, s13, bias, lo, hi);
      store_row4(o + 2 * oRow, nc, s20, s21, s22, s23, bias, lo, hi);
      store_row4(o + 3 * oRow, nc, s30, s31, s32, s33, bias, lo, hi);
    }
    for (; r < rows; r++) {
      const a0 = a + <usize>r * aRow;
      let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
      let wp = wb;
      for (let k: usize = 0; k < kEnd; k += 4) {
        const x = load<f32>(a0 + k);
        s0 += x * load<f32>(wp); s1 += x * load<f32>(wp, 4); s2 += x * load<f32>(wp, 8); s3 += x * load<f32>(wp, 12);
        wp += 32;
      }
      store_row4(oc + <usize>r * oRow, nc, s0, s1, s2, s3, bias, lo, hi);
    }
  }
}

// ---- SIMD ---------------------------------------------------------------------------------------------

// Stores the low `n` (1..4) f32 lanes of `v`.
@inline
function store_lanes(p: usize, v: v128, n: i32): void {
  if (n >= 4) {
    v128.store(p, v);
  } else {
    if (n >= 2) v128.store64_lane(p, v, 0);
    else store<f32>(p, f32x4.extract_lane(v, 0));
    if (n == 3) store<f32>(p, f32x4.extract_lane(v, 2), 8);
  }
}

// bias, clamp and store channels c < nc (1..8) of one row.
@inline
function store_row8(o: usize, nc: i32, v0: v128, v1: v128, b0: v128, b1: v128, lo: v128, hi: v128): void {
  v0 = f32x4.min(f32x4.max(f32x4.add(v0, b0), lo), hi);
  v1 = f32x4.min(f32x4.max(f32x4.add(v1, b1), lo), hi);
  if (nc >= 8) {
    v128.store(o, v0);
    v128.store(o, v1, 16);
  } else if (nc > 4) {
    v128.store(o, v0);
    store_lanes(o + 16, v1, nc - 4);
  } else {
    store_lanes(o, v0, nc);
  }
}

function gemm_simd(
  rows: i32, N: i32, K: i32, a: usize, aStride: i32,
  pw: usize, lo: f32, hi: f32, out: usize, outStride: i32,
): void {
  const Np = ceil8(N);
  const biasBase = pw + (<usize>(Np * K) << 2);
  const aRow = <usize>aStride << 2;
  const oRow = <usize>outStride << 2;
  const kEnd = <usize>K << 2;
  const lov = f32x4.splat(lo), hiv = f32x4.splat(hi);
  for (let c = 0; c < N; c += 8) {
    const wb = pw + (<usize>(c * K) << 2);
    const b0 = v128.load(biasBase + (<usize>c << 2));
    const b1 = v128.load(biasBase + (<usize>c << 2), 16);
    const nc = min(8, N - c);
    const oc = out + (<usize>c << 2);
    let r = 0;
    for (; r + 4 <= rows; r += 4) {
      const a0 = a + <usize>r * aRow, a1 = a0 + aRow, a2 = a1 + aRow, a3 = a2 + aRow;
      let c0l = f32x4.splat(0), c0h = f32x4.splat(0), c1l = f32x4.splat(0), c1h = f32x4.splat(0);
      let c2l = f32x4.splat(0), c2h = f32x4.splat(0), c3l = f32x4.splat(0), c3h = f32x4.splat(0);
      let wp = wb;
      for (let k: usize = 0; k < kEnd; k += 4) {
        const wl = v128.load(wp), wh = v128.load(wp, 16);
        wp += 32;
        let x = v128.load32_splat(a0 + k);
        c0l = f32x4.add(c0l, f32x4.mul(x, wl));
        c0h = f32x4.add(c0h, f32x4.mul(x, wh));
        x = v128.load32_splat(a1 + k);
        c1l = f32x4.add(c1l, f32x4.mul(x, wl));
        c1h = f32x4.add(c1h, f32x4.mul(x, wh));
        x = v128.load32_splat(a2 + k);
        c2l = f32x4.add(c2l, f32x4.mul(x, wl));
        c2h = f32x4.add(c2h, f32x4.mul(x, wh));
        x = v128.load32_splat(a3 + k);
        c3l = f32x4.add(c3l, f32x4.mul(x, wl));
        c3h = f32x4.add(c3h, f32x4.mul(x, wh));
      }
      const o = oc + <usize>r * oRow;
      store_row8(o, nc, c0l, c0h, b0, b1, lov, hiv);
      store_row8(o + oRow, nc, c1l, c1h, b0, b1, lov, hiv);
      store_row8(o + 2 * oRow, nc, c2l, c2h, b0, b1, lov, hiv);
      store_row8(o + 3 * oRow, nc, c3l, c3h, b0, b1, lov, hiv);
    }
    for (; r < rows; r++) {
      const a0 = a + <usize>r * aRow;
      let cl = f32x4.splat(0), ch = f32x4.splat(0);
      let wp = wb;
      for (let k: usize = 0; k < kEnd; k += 4) {
        const x = v128.load32_splat(a0 + k);
        cl = f32x4.add(cl, f32x4.mul(x, v128.load(wp)));
        ch = f32x4.add(ch, f32x4.mul(x, v128.load(wp, 16)));
        wp += 32;
      }
      store_row8(oc + <usize>r * oRow, nc, cl, ch, b0, b1, lov, hiv);
    }
  }
}
