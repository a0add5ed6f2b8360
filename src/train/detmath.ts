// exp, log, cos and tanh in plain IEEE double arithmetic (+ - * / and exact bit manipulation; ports of musl's
// fdlibm-derived exp.c, log.c, __cos.c, __sin.c and the medium case of __rem_pio2.c), so that training gives
// bit-identical results on every JavaScript engine. Math.exp / log / cos are not: Node 20's V8 and Chromium 156's
// differ in the last bit on ~3-10% of arguments (measured), which moves losses, initial weights and schedules.
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer); // little-endian: [lo, hi]

/** 2^k exactly, for -1022 <= k <= 1023. */
function pow2(k: number): number {
  u32[0] = 0;
  u32[1] = (k + 1023) << 20;
  return f64[0];
}

const LN2_HI = 6.93147180369123816490e-01, LN2_LO = 1.90821492927058770002e-10, INV_LN2 = 1.44269504088896338700e+00;
const P1 = 1.66666666666666019037e-01, P2 = -2.77777777770155933842e-03, P3 = 6.61375632143793436117e-05,
  P4 = -1.65339022054652515390e-06, P5 = 4.13813679705723846039e-08;

/** e^x (musl exp.c). */
export function exp(x: number): number {
  if (x !== x) return x;
  if (x > 709.782712893383973096) return Infinity;
  if (x < -745.13321910194110842) return 0;
  const ax = Math.abs(x);
  let hi: number, lo: number, k: number;
  if (ax > 0.5 * 0.6931471805599453) {
    k = ax < 1.5 * 0.6931471805599453 ? (x < 0 ? -1 : 1) : Math.trunc(INV_LN2 * x + (x < 0 ? -0.5 : 0.5));
    hi = x - k * LN2_HI;
    lo = k * LN2_LO;
    x = hi - lo;
  } else if (ax > 3.725290298461914e-09) { // 2^-28
    k = 0; hi = x; lo = 0;
  } else {
    return 1 + x;
  }
  const xx = x * x;
  const c = x - xx * (P1 + xx * (P2 + xx * (P3 + xx * (P4 + xx * P5))));
  const y = 1 + ((x * c) / (2 - c) - lo + hi);
  if (k === 0) return y;
  if (k === 1024) return y * 2 * pow2(1023);
  if (k < -1021) return y * pow2(k + 1000) * pow2(-1000);
  return y * pow2(k);
}

const LG1 = 6.666666666666735130e-01, LG2 = 3.999999999940941908e-01, LG3 = 2.857142874366239149e-01,
  LG4 = 2.222219843214978396e-01, LG5 = 1.818357216161805012e-01, LG6 = 1.531383769920937332e-01, LG7 = 1.479819860511658591e-01;

/** Natural logarithm (musl log.c). */
export function log(x: number): number {
  f64[0] = x;
  let hx = u32[1], k = 0;
  if (hx < 0x00100000 || hx >>> 31) {
    if (x === 0) return -Infinity;
    if (hx >>> 31 || x !== x) return NaN;
    k -= 54; // subnormal: scale up
    f64[0] = x * 18014398509481984;
    hx = u32[1];
  } else if (hx >= 0x7ff00000) {
    return x;
  } else if (hx === 0x3ff00000 && u32[0] === 0) {
    return 0;
  }
  hx += 0x3ff00000 - 0x3fe6a09e;
  k += (hx >>> 20) - 0x3ff;
  hx = (hx & 0x000fffff) + 0x3fe6a09e;
  u32[1] = hx;
  const f = f64[0] - 1, hfsq = 0.5 * f * f, s = f / (2 + f), z = s * s, w = z * z;
  const t1 = w * (LG2 + w * (LG4 + w * LG6)), t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
  const R = t2 + t1;
  return s * (hfsq + R) + k * LN2_LO - hfsq + f + k * LN2_HI;
}

const C1 = 4.16666666666666019037e-02, C2 = -1.38888888888741095749e-03, C3 = 2.48015872894767294178e-05,
  C4 = -2.75573143513906633035e-07, C5 = 2.08757232129817482790e-09, C6 = -1.13596475577881948265e-11;
const S1 = -1.66666666666666324348e-01, S2 = 8.33333333332248946124e-03, S3 = -1.98412698298579493134e-04,
  S4 = 2.75573137070700676789e-06, S5 = -2.50507602534068634195e-08, S6 = 1.58969099521155010221e-10;

function kcos(x: number, y: number): number {
  const z = x * x, w = z * z;
  const r = z * (C1 + z * (C2 + z * C3)) + w * w * (C4 + z * (C5 + z * C6));
  const hz = 0.5 * z, v = 1 - hz;
  return v + (((1 - v) - hz) + (z * r - x * y));
}
function ksin(x: number, y: number): number {
  const z = x * x, w = z * z;
  const r = S2 + z * (S3 + z * S4) + z * w * (S5 + z * S6), v = z * x;
  return x - ((z * (0.5 * y - v * r) - y) - v * S1);
}

const TOINT = 6755399441055744, INV_PIO2 = 6.36619772367581382433e-01;
const PIO2_1 = 1.57079632673412561417e+00, PIO2_1T = 6.07710050650619224932e-11, PIO2_2 = 6.07710050630396597660e-11,
  PIO2_2T = 2.02226624879595063154e-21, PIO2_3 = 2.02226624871116645580e-21, PIO2_3T = 8.47842766036889956997e-32;

/** cos(x) (musl cos.c, with __rem_pio2's Cody-Waite reduction; |x| up to 2^20 pi/2, the range training uses). */
export function cos(x: number): number {
  if (x !== x) return x;
  const ax = Math.abs(x);
  if (ax <= 0.7853981633974483) return ax < 1.4901161193847656e-8 ? 1 : kcos(x, 0);
  if (!(ax < 1647099.3291652855)) throw new RangeError(`detmath.cos: |x| = ${ax} is outside the supported range`);
  const fn = x * INV_PIO2 + TOINT - TOINT, n = fn | 0;
  let r = x - fn * PIO2_1, w = fn * PIO2_1T, y0 = r - w;
  // cancellation: two more rounds with more bits of pi/2 (musl's checks on the exponents)
  f64[0] = x; const ex = (u32[1] >>> 20) & 0x7ff;
  f64[0] = y0; let ey = (u32[1] >>> 20) & 0x7ff;
  if (ex - ey > 16) {
    let t = r;
    w = fn * PIO2_2; r = t - w; w = fn * PIO2_2T - ((t - r) - w); y0 = r - w;
    f64[0] = y0; ey = (u32[1] >>> 20) & 0x7ff;
    if (ex - ey > 49) {
      t = r;
      w = fn * PIO2_3; r = t - w; w = fn * PIO2_3T - ((t - r) - w); y0 = r - w;
    }
  }
  const y1 = (r - y0) - w;
  switch (n & 3) {
    case 0: return kcos(y0, y1);
    case 1: return -ksin(y0, y1);
    case 2: return -kcos(y0, y1);
    default: return ksin(y0, y1);
  }
}

/** tanh(x) from exp: sign(x) (1 - e) / (1 + e) with e = exp(-2|x|) (absolute error below 1e-16). */
export function tanh(x: number): number {
  if (x !== x) return x;
  const ax = Math.abs(x);
  if (ax > 22) return x < 0 ? -1 : 1;
  if (ax < 0.0009765625) return x - (x * x * x) / 3; // |x| < 2^-10: the series (next term 2x^5/15 is below an ulp)
  const e = exp(-2 * ax), t = (1 - e) / (1 + e);
  return x < 0 ? -t : t;
}

/** b^n for a whole n >= 0 by repeated squaring (plain multiplications, unlike `**`). */
export function powInt(b: number, n: number): number {
  let r = 1;
  for (let p = b; n > 0; n >>= 1, p *= p) if (n & 1) r *= p;
  return r;
}
