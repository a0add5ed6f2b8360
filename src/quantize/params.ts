// Quantization parameters: scales and zero points, int8 weight quantization, fixed-point multipliers.
// The arithmetic they feed is defined in docs/kernels.md (round half away from zero everywhere).

export class QwmQuantizeError extends Error {
  readonly code = "QWM_QUANTIZE";
  constructor(message: string) {
    super(message);
    this.name = "QwmQuantizeError";
  }
}

export interface QParams { scale: number; zeroPoint: number }

/** Round half away from zero. */
export const roundHalfAway = (x: number) => Math.sign(x) * Math.round(Math.abs(x));

const TINY = 1e-12;

/** Asymmetric int8 parameters covering [min, max] (widened to include 0, so real 0 is exact). */
export function asymmetricQParams(min: number, max: number): QParams {
  if (!Number.isFinite(min) || !Number.isFinite(max)) throw new QwmQuantizeError(`range [${min}, ${max}] is not finite`);
  const lo = Math.min(min, 0), hi = Math.max(max, 0);
  const scale = Math.max((hi - lo) / 255, TINY);
  const zeroPoint = Math.max(-128, Math.min(127, roundHalfAway(-128 - lo / scale)));
  return { scale, zeroPoint };
}

/** Symmetric int8 parameters covering [-a, a] with a = max(|min|, |max|). */
export function symmetricQParams(min: number, max: number): QParams {
  const a = Math.max(Math.abs(min), Math.abs(max));
  return { scale: Math.max(a / 127, TINY), zeroPoint: 0 };
}

export const quantize = (x: number, q: QParams) =>
  Math.max(-128, Math.min(127, roundHalfAway(x / q.scale) + q.zeroPoint));

/**
 * Symmetric int8 weights in [-127, 127]. `w` is [N][rest]; per channel (one scale per output channel,
 * the default) or per tensor.
 */
export function quantizeWeights(w: Float32Array, N: number, perChannel = true): { q: Int8Array; scales: Float32Array } {
  const per = w.length / N;
  const scales = new Float32Array(N);
  const maxAbs = (from: number, to: number) => { let m = 0; for (let i = from; i < to; i++) m = Math.max(m, Math.abs(w[i])); return m; };
  const whole = perChannel ? 0 : maxAbs(0, w.length);
  for (let n = 0; n < N; n++) scales[n] = Math.max((perChannel ? maxAbs(n * per, (n + 1) * per) : whole) / 127, TINY);
  const q = new Int8Array(w.length);
  for (let i = 0; i < w.length; i++) {
    const v = roundHalfAway(w[i] / scales[Math.floor(i / per)]);
    q[i] = v < -127 ? -127 : v > 127 ? 127 : v;
  }
  return { q, scales };
}

/**
 * Fixed-point form of positive real multipliers: mult[i] / 2^shift ~ reals[i], one shift for all
 * (the largest that keeps every mult below 2^31), shift in [minShift, 62].
 */
export function multipliers(reals: ArrayLike<number>, minShift = 31): { mult: Int32Array; shift: number } {
  let m = 0;
  for (let i = 0; i < reals.length; i++) {
    if (!(reals[i] >= 0) || !Number.isFinite(reals[i])) throw new QwmQuantizeError(`multiplier ${reals[i]} is not a finite non-negative number`);
    m = Math.max(m, reals[i]);
  }
  let shift = m > 0 ? Math.floor(Math.log2((2 ** 31 - 1) / m)) : 62;
  while (shift < 62 && m * 2 ** (shift + 1) < 2 ** 31 - 1) shift++;
  while (shift > 0 && Math.round(m * 2 ** shift) > 2 ** 31 - 1) shift--;
  shift = Math.min(62, shift);
  if (shift < minShift) {
    throw new QwmQuantizeError(`requantization multiplier ${m.toPrecision(4)} is too large (needs shift ${shift} < ${minShift})`);
  }
  const mult = Int32Array.from(reals as ArrayLike<number>, (r) => Math.min(2 ** 31 - 1, Math.round(r * 2 ** shift)));
  return { mult, shift };
}

/** Clamp bounds of a fused activation in the output's quantized domain. */
export function actBounds(act: "none" | "relu" | "relu6", q: QParams): { lo: number; hi: number } {
  if (act === "none") return { lo: -128, hi: 127 };
  const lo = Math.max(-128, Math.min(127, q.zeroPoint));
  const hi = act === "relu6" ? Math.max(lo, Math.min(127, q.zeroPoint + roundHalfAway(6 / q.scale))) : 127;
  return { lo, hi };
}
