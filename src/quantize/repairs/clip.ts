// Weight clipping for low-bit uniform weights (--weight-clip mse|aciq): the scale of a channel's (or, per
// tensor, the layer's) grid is chosen to cover a clipped range [-a, a] instead of the full max |w|, trading a
// few clipped outliers for a finer step on all other weights.
//   mse   search: a = alpha * max|w| for alpha = 1, 0.99, ..., 0.20 (81 candidates) and the unclipped scale the
//         naive rounding uses, keep the one whose rounding (with clamping) has the least squared error
//         sum_i (w_i - Q(w_i))^2; the unclipped scale is a candidate, so the error never exceeds its error.
//   aciq  analytical (Banner, Nahshan, Soudry, "Post training 4-bit quantization of convolutional networks for
//         rapid-deployment", NeurIPS 2019): the weights are modelled as Laplace(b) or Gaussian(sigma) around their
//         mean, whichever the sample's kurtosis is nearer to (6 vs 3), and clipped at the value minimizing the
//         expected clipping + rounding noise for 2^M levels: Laplace a = {2: 2.83, 3: 3.89, 4: 5.03, 8: 9.89} b,
//         Gaussian a = {2: 1.71, 3: 2.15, 4: 2.55, 8: 3.92} sigma; never beyond max|w|.
// The grid's codes (uniformCodes: 4-bit -7..7, 2-bit -2..1) cover [-a, a] by scale = a / max(|lo|, hi).
import { roundHalfAway } from "../params.ts";
import { uniformCodes } from "./grid.ts";

export type WeightClip = "mse" | "aciq";
export const WEIGHT_CLIPS: readonly WeightClip[] = ["mse", "aciq"];

const TINY = 1e-12;
const LAPLACE: Record<number, number> = { 2: 2.83, 3: 3.89, 4: 5.03, 8: 9.89 };
const GAUSS: Record<number, number> = { 2: 1.71, 3: 2.15, 4: 2.55, 8: 3.92 };

/** Squared rounding error of `w[from..to)` on the grid codes [lo, hi] times s. */
export function roundingError(w: ArrayLike<number>, from: number, to: number, s: number, lo: number, hi: number): number {
  let e = 0;
  for (let i = from; i < to; i++) {
    const c = Math.min(hi, Math.max(lo, roundHalfAway(w[i] / s)));
    const d = w[i] - c * s;
    e += d * d;
  }
  return e;
}

function maxAbs(w: ArrayLike<number>, from: number, to: number): number {
  let m = 0;
  for (let i = from; i < to; i++) m = Math.max(m, Math.abs(w[i]));
  return m;
}

/** ACIQ's clipping value of `w[from..to)` for `bits`-bit weights. */
export function aciqClip(w: ArrayLike<number>, from: number, to: number, bits: number): number {
  const n = to - from;
  let mean = 0;
  for (let i = from; i < to; i++) mean += w[i];
  mean /= n;
  let m1 = 0, m2 = 0, m4 = 0;
  for (let i = from; i < to; i++) {
    const d = w[i] - mean;
    m1 += Math.abs(d);
    m2 += d * d;
    m4 += d * d * d * d;
  }
  m1 /= n; m2 /= n; m4 /= n;
  const kurtosis = m2 > 0 ? m4 / (m2 * m2) : 3;
  const a = kurtosis >= 4.5 ? LAPLACE[bits] * m1 : GAUSS[bits] * Math.sqrt(m2);
  return Math.min(Math.abs(mean) + a, maxAbs(w, from, to));
}

/**
 * Clipped scales of `w` ([N][per]) for a uniform `bits`-bit grid: one per output channel, or (perTensor) one
 * for the whole layer repeated N times.
 */
export function clippedScales(w: Float32Array, N: number, bits: number, method: WeightClip, perTensor = false, unclipped?: Float32Array): Float32Array {
  const [lo, hi] = uniformCodes(bits);
  const top = Math.max(-lo, hi);
  const per = w.length / N;
  const one = (from: number, to: number, base: number): number => {
    const m = maxAbs(w, from, to);
    if (m === 0) return TINY;
    if (method === "aciq") return Math.max(aciqClip(w, from, to, bits) / top, TINY);
    let best = base, bestErr = roundingError(w, from, to, best, lo, hi);
    for (let k = 0; k <= 80; k++) {
      const s = ((1 - k / 100) * m) / top;
      const e = roundingError(w, from, to, s, lo, hi);
      if (e < bestErr) { bestErr = e; best = s; }
    }
    return best;
  };
  const base = (from: number, to: number, n: number) => unclipped?.[n] ?? maxAbs(w, from, to) / top;
  if (perTensor) return new Float32Array(N).fill(one(0, w.length, base(0, w.length, 0)));
  return Float32Array.from({ length: N }, (_, n) => one(n * per, (n + 1) * per, base(n * per, (n + 1) * per, n)));
}
