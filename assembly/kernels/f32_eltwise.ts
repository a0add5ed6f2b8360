// f32 element-wise kernels: residual add with a fused clamp, and activations.
// Each element is computed by one f32 expression in one order, in every build; the SIMD form runs 4
// elements in the lanes of an f32x4 with the very same operations, the tail runs the scalar form.
//
// f32_activation kinds (alpha, beta unused unless named):
//   0 relu          max(x, 0)
//   1 clamp         min(max(x, alpha), beta)                    (ReLU6: alpha = 0, beta = 6)
//   2 sigmoid       1 / (1 + exp(-x))                           (exp: qw_expf below, not Math.exp)
//   3 hardswish     (x * min(max(x + 3, 0), 6)) / 6
//   4 leakyrelu     x < 0 ? x * alpha : x
//   5 hardsigmoid   max(min(alpha * x + beta, 1), 0)            (ONNX default alpha = 0.2, beta = 0.5)
//   other           copy
//
// qw_expf: Cephes-style expf with the same f32 operations in both forms, so SIMD and scalar agree bit for
// bit (Mathf.exp has no SIMD twin). Input clamped to [-87, 88] (the result stays a normal, finite f32),
// n = floor(x * log2(e) + 0.5), r = x - n*C1 - n*C2 (C1 + C2 = ln 2, C1 exact in 9 bits),
// exp(r) ~ 1 + r + r^2 * P(r) (degree 5), times 2^n built from the exponent bits. Error about 1 ulp.

export const ACT_RELU: i32 = 0;
export const ACT_CLAMP: i32 = 1;
export const ACT_SIGMOID: i32 = 2;
export const ACT_HARDSWISH: i32 = 3;
export const ACT_LEAKYRELU: i32 = 4;
export const ACT_HARDSIGMOID: i32 = 5;

const EXP_LO: f32 = -87.0;
const EXP_HI: f32 = 88.0;
const LOG2E: f32 = 1.44269504088896341;
const HALF: f32 = 0.5;
const ONE: f32 = 1.0;
const EXP_C1: f32 = 0.693359375;
const EXP_C2: f32 = -2.12194440e-4;
const EXP_P0: f32 = 1.9875691500e-4;
const EXP_P1: f32 = 1.3981999507e-3;
const EXP_P2: f32 = 8.3334519073e-3;
const EXP_P3: f32 = 4.1665795894e-2;
const EXP_P4: f32 = 1.6666665459e-1;
const EXP_P5: f32 = 5.0000001201e-1;

@inline
export function qw_expf(x: f32): f32 {
  x = Mathf.min(Mathf.max(x, EXP_LO), EXP_HI);
  const n = Mathf.floor(x * LOG2E + HALF);
  let r = x - n * EXP_C1;
  r = r - n * EXP_C2;
  const z = r * r;
  let p = EXP_P0 * r + EXP_P1;
  p = p * r + EXP_P2;
  p = p * r + EXP_P3;
  p = p * r + EXP_P4;
  p = p * r + EXP_P5;
  const y = (p * z + r) + ONE;
  return y * reinterpret<f32>((<i32>n + 127) << 23);
}

@inline
export function qw_expf_f32x4(x: v128): v128 {
  x = f32x4.min(f32x4.max(x, f32x4.splat(EXP_LO)), f32x4.splat(EXP_HI));
  const n = f32x4.floor(f32x4.add(f32x4.mul(x, f32x4.splat(LOG2E)), f32x4.splat(HALF)));
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(EXP_C1)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(EXP_C2)));
  const z = f32x4.mul(r, r);
  let p = f32x4.add(f32x4.mul(f32x4.splat(EXP_P0), r), f32x4.splat(EXP_P1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(EXP_P2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(EXP_P3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(EXP_P4));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(EXP_P5));
  const y = f32x4.add(f32x4.add(f32x4.mul(p, z), r), f32x4.splat(ONE));
  const s = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return f32x4.mul(y, s);
}

/** out[i] = min(max(a[i] + b[i], lo), hi); out may alias a or b. */
export function f32_add(a: usize, b: usize, out: usize, n: i32, lo: f32, hi: f32): void {
  const end = <usize>n << 2;
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    const lov = f32x4.splat(lo), hiv = f32x4.splat(hi);
    for (; i + 16 <= end; i += 16) {
      v128.store(out + i, f32x4.min(f32x4.max(f32x4.add(v128.load(a + i), v128.load(b + i)), lov), hiv));
    }
  }
  for (; i < end; i += 4) {
    store<f32>(out + i, Mathf.min(Mathf.max(load<f32>(a + i) + load<f32>(b + i), lo), hi));
  }
}

// One activation, scalar and SIMD forms side by side.
@inline
function act(kind: i32, x: f32, alpha: f32, beta: f32): f32 {
  if (kind == ACT_RELU) return Mathf.max(x, 0);
  if (kind == ACT_CLAMP) return Mathf.min(Mathf.max(x, alpha), beta);
  if (kind == ACT_SIGMOID) return ONE / (ONE + qw_expf(-x));
  if (kind == ACT_HARDSWISH) return (x * Mathf.min(Mathf.max(x + 3, 0), 6)) / 6;
  if (kind == ACT_LEAKYRELU) return x < 0 ? x * alpha : x;
  if (kind == ACT_HARDSIGMOID) return Mathf.max(Mathf.min(alpha * x + beta, ONE), 0);
  return x;
}

@inline
function act_f32x4(kind: i32, x: v128, alpha: v128, beta: v128): v128 {
  const zero = f32x4.splat(0);
  if (kind == ACT_RELU) return f32x4.max(x, zero);
  if (kind == ACT_CLAMP) return f32x4.min(f32x4.max(x, alpha), beta);
  if (kind == ACT_SIGMOID) return f32x4.div(f32x4.splat(ONE), f32x4.add(f32x4.splat(ONE), qw_expf_f32x4(f32x4.neg(x))));
  if (kind == ACT_HARDSWISH) {
    const t = f32x4.min(f32x4.max(f32x4.add(x, f32x4.splat(3)), zero), f32x4.splat(6));
    return f32x4.div(f32x4.mul(x, t), f32x4.splat(6));
  }
  if (kind == ACT_LEAKYRELU) return v128.bitselect(f32x4.mul(x, alpha), x, f32x4.lt(x, zero));
  if (kind == ACT_HARDSIGMOID) {
    return f32x4.max(f32x4.min(f32x4.add(f32x4.mul(alpha, x), beta), f32x4.splat(ONE)), zero);
  }
  return x;
}

// The loop for one kind (`kind` a constant after inlining, so each loop holds one activation).
@inline
function act_loop(kind: i32, x: usize, out: usize, n: i32, alpha: f32, beta: f32): void {
  const end = <usize>n << 2;
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    const av = f32x4.splat(alpha), bv = f32x4.splat(beta);
    for (; i + 16 <= end; i += 16) v128.store(out + i, act_f32x4(kind, v128.load(x + i), av, bv));
  }
  for (; i < end; i += 4) store<f32>(out + i, act(kind, load<f32>(x + i), alpha, beta));
}

/** out[i] = activation `kind` of x[i] (see the table above); out may alias x. */
export function f32_activation(x: usize, out: usize, n: i32, kind: i32, alpha: f32, beta: f32): void {
  switch (kind) {
    case ACT_RELU: act_loop(ACT_RELU, x, out, n, alpha, beta); break;
    case ACT_CLAMP: act_loop(ACT_CLAMP, x, out, n, alpha, beta); break;
    case ACT_SIGMOID: act_loop(ACT_SIGMOID, x, out, n, alpha, beta); break;
    case ACT_HARDSWISH: act_loop(ACT_HARDSWISH, x, out, n, alpha, beta); break;
    case ACT_LEAKYRELU: act_loop(ACT_LEAKYRELU, x, out, n, alpha, beta); break;
    case ACT_HARDSIGMOID: act_loop(ACT_HARDSIGMOID, x, out, n, alpha, beta); break;
    default: if (out != x) memory.copy(out, x, <usize>n << 2);
  }
}
