// Histograms of activation values and the clipping rules derived from them: percentile, MSE-optimal clipping
// and KL divergence (entropy) calibration. Pure arithmetic on counts; stats.ts fills the histograms.
//
// A histogram has `counts.length` equal-width bins over [lo, hi]; the values in a bin are taken as spread
// uniformly over it. Every rule returns a clip [min, max] inside the observed range it is given.
import { asymmetricQParams } from "../quantize/params.ts";

/** Bins per histogram (TensorRT's entropy calibration uses 2048). */
export const BINS = 2048;

export interface Histogram { lo: number; hi: number; counts: Float64Array }
export interface Clip { min: number; max: number }

export function emptyHistogram(lo: number, hi: number, bins = BINS): Histogram {
  return { lo, hi, counts: new Float64Array(bins) };
}

/** Adds values to `h` (values outside [lo, hi] go to the end bins); `abs` bins |x| instead of x. */
export function addValues(h: Histogram, xs: ArrayLike<number>, abs = false): void {
  const n = h.counts.length, last = n - 1;
  const inv = h.hi > h.lo ? n / (h.hi - h.lo) : 0;
  for (let i = 0; i < xs.length; i++) {
    const x = abs ? Math.abs(xs[i]) : xs[i];
    let b = Math.floor((x - h.lo) * inv);
    b = b < 0 ? 0 : b > last ? last : b;
    h.counts[b]++;
  }
}

/** Sum of two histograms over the same bins. */
export function mergeHistograms(a: Histogram, b: Histogram): Histogram {
  if (a.lo !== b.lo || a.hi !== b.hi || a.counts.length !== b.counts.length) throw new Error("histograms over different bins cannot be merged");
  return { lo: a.lo, hi: a.hi, counts: a.counts.map((c, i) => c + b.counts[i]) };
}

export const totalCount = (h: Histogram) => h.counts.reduce((a, c) => a + c, 0);
const binWidth = (h: Histogram) => (h.hi - h.lo) / h.counts.length;
const clamp = (x: number, lo: number, hi: number) => (x < lo ? lo : x > hi ? hi : x);

/** The value below which a fraction q of the mass lies, interpolated linearly inside its bin. */
export function quantile(h: Histogram, q: number): number {
  const target = clamp(q, 0, 1) * totalCount(h), w = binWidth(h);
  let cum = 0;
  for (let j = 0; j < h.counts.length; j++) {
    const c = h.counts[j];
    if (c > 0 && cum + c >= target) return h.lo + w * (j + (target - cum) / c);
    cum += c;
  }
  return h.hi;
}

/**
 * Percentile clipping, both tails alike: the (100 - p)-th and the p-th percentiles of the values, so each tail
 * loses a fraction (100 - p) / 100 of the mass. `observed` bounds the result.
 */
export function percentileClip(h: Histogram, observed: Clip, p: number): Clip {
  const tail = (100 - p) / 100;
  return {
    min: clamp(quantile(h, tail), observed.min, observed.max),
    max: clamp(quantile(h, 1 - tail), observed.min, observed.max),
  };
}

// ---- MSE-optimal clipping ----------------------------------------------------------------------------------

/** ∫_0^u dist(t, Z)^2 dt: the squared distance to the nearest integer, integrated (1/12 per unit). */
function roundingIntegral(u: number): number {
  const k = Math.floor(u), f = u - k;
  return k / 12 + (f <= 0.5 ? f ** 3 / 3 : 1 / 12 - (1 - f) ** 3 / 3);
}

/**
 * Expected squared error of quantizing the histogram's values with the asymmetric int8 parameters that
 * asymmetricQParams gives for [min, max]: grid (k - zeroPoint) * scale, k in -128..127, values beyond it
 * saturate. Exact for values uniform within each bin (the integral of the error over each bin, in closed form).
 */
export function quantizationMse(h: Histogram, clip: Clip): number {
  const { scale: s, zeroPoint: zp } = asymmetricQParams(clip.min, clip.max);
  const gmin = (-128 - zp) * s, gmax = (127 - zp) * s, w = binWidth(h);
  const cube = (x: number) => x * x * x;
  let sum = 0, n = 0;
  for (let j = 0; j < h.counts.length; j++) {
    const c = h.counts[j];
    if (c === 0) continue;
    n += c;
    if (w === 0) { // a single point
      const x = h.lo, e = x < gmin ? gmin - x : x > gmax ? x - gmax : s * Math.abs((x - gmin) / s - Math.round((x - gmin) / s));
      sum += c * e * e;
      continue;
    }
    const a = h.lo + j * w, b = a + w;
    let err = 0; // ∫_a^b err(x)^2 dx
    if (a < gmin) err += (cube(gmin - a) - cube(gmin - Math.min(b, gmin))) / 3;
    if (b > gmax) err += (cube(b - gmax) - cube(Math.max(a, gmax) - gmax)) / 3;
    const ia = Math.max(a, gmin), ib = Math.min(b, gmax);
    if (ib > ia) err += cube(s) * (roundingIntegral((ib - gmin) / s) - roundingIntegral((ia - gmin) / s));
    sum += (c / w) * err;
  }
  return n > 0 ? sum / n : 0;
}

/**
 * The clip minimizing quantizationMse, searched by coordinate descent: the upper end over a grid of fractions
 * of the observed max with the lower end fixed, then the lower end likewise, until neither moves; then both
 * refined on a 16x finer grid around the best. A side that does not cross zero is not clipped (the quantizer
 * includes zero anyway).
 */
export function mseClip(h: Histogram, observed: Clip, steps = 128): Clip {
  const canHi = observed.max > 0, canLo = observed.min < 0;
  let best = { ...observed }, bestErr = quantizationMse(h, best);
  const tryAll = (cands: Clip[]) => {
    let moved = false;
    for (const c of cands) {
      const e = quantizationMse(h, c);
      if (e < bestErr) { bestErr = e; best = c; moved = true; }
    }
    return moved;
  };
  // candidate ends stay within the observed range and on their side of zero
  const hiFloor = Math.max(0, observed.min), loCeil = Math.min(0, observed.max);
  const his = (from: number, to: number, n: number) =>
    Array.from({ length: n + 1 }, (_, k) => ({ min: best.min, max: clamp(from + ((to - from) * k) / n, hiFloor, observed.max) }));
  const los = (from: number, to: number, n: number) =>
    Array.from({ length: n + 1 }, (_, k) => ({ min: clamp(from + ((to - from) * k) / n, observed.min, loCeil), max: best.max }));
  for (let it = 0, moved = true; moved && it < 8; it++) {
    moved = false;
    if (canHi && tryAll(his(observed.max / steps, observed.max, steps - 1))) moved = true;
    if (canLo && tryAll(los(observed.min / steps, observed.min, steps - 1))) moved = true;
  }
  const dHi = observed.max / steps, dLo = observed.min / steps;
  if (canHi) tryAll(his(best.max - dHi, best.max + dHi, 32));
  if (canLo) tryAll(los(best.min - dLo, best.min + dLo, 32));
  return best;
}

// ---- KL divergence (entropy) calibration --------------------------------------------------------------------

/** KL(P || Q) of two (unnormalized) distributions over the same bins; Q must be non-zero wherever P is. */
export function klDivergence(p: ArrayLike<number>, q: ArrayLike<number>): number {
  let sp = 0, sq = 0;
  for (let j = 0; j < p.length; j++) { sp += p[j]; sq += q[j]; }
  let kl = 0;
  for (let j = 0; j < p.length; j++) if (p[j] > 0) kl += (p[j] / sp) * Math.log((p[j] / sp) / (q[j] / sq));
  return kl;
}

const SMOOTH_EPS = 1e-4;

/**
 * TensorRT's entropy calibration on a histogram of |x| over [0, max|x|], as NVIDIA's pytorch-quantization
 * does it: bin 0 takes bin 1's count first (zero is exact at any threshold, so the spike of zeros after a
 * ReLU must not decide it), then for each candidate threshold, the upper edge of bin i (i = levels..bins):
 *   P  the first i bins, with every count beyond them folded into bin i - 1 (the clipped values);
 *   Q  the same i bins without the outliers, merged into `levels` groups of i / levels bins (group k is bins
 *      floor(k i / levels) .. floor((k + 1) i / levels) - 1, so sizes differ by at most one, rather than
 *      MXNet's remainder all in the last group), each group's mass spread evenly over its bins where P is
 *      non-zero;
 *   both normalized, then smoothed as MXNet / ONNX Runtime do (each zero becomes eps = 1e-4 and the non-zero
 *   entries give up the same total), and scored by KL(P || Q); the least wins (the first, on a tie). Returns
 *   the threshold, a value of |x|.
 */
export function klThreshold(abs: Histogram, levels: number): number {
  const nb = abs.counts.length, w = binWidth(abs);
  if (abs.hi <= abs.lo || nb <= levels) return abs.hi;
  // zero is exact whatever the threshold: its spike (ReLU) is flattened to its neighbour's count
  const counts = abs.counts.slice();
  counts[0] = counts[1];
  const prefix = new Float64Array(nb + 1); // prefix[i]: sum of counts[0..i)
  const zeros = new Int32Array(nb + 1); // zeros[i]: empty bins among counts[0..i)
  for (let j = 0; j < nb; j++) {
    prefix[j + 1] = prefix[j] + counts[j];
    zeros[j + 1] = zeros[j] + (counts[j] === 0 ? 1 : 0);
  }
  const total = prefix[nb];
  let bestI = nb, bestKl = Infinity;
  for (let i = levels; i <= nb; i++) {
    const qTotal = prefix[i], outliers = total - qTotal;
    if (qTotal === 0) continue;
    const pLast = counts[i - 1] + outliers; // P's last bin
    const lastFix = counts[i - 1] === 0 && outliers > 0 ? 1 : 0; // a bin empty in counts but not in P
    // zeros of P; Q has one more when the last group holds nothing but the outliers (Q is 0 where P is not)
    const zp = zeros[i] - lastFix;
    const lastStart = Math.floor(((levels - 1) * i) / levels);
    const zq = zp + (lastFix && prefix[i] === prefix[lastStart] ? 1 : 0);
    const epsP = (SMOOTH_EPS * zp) / (i - zp), epsQ = (SMOOTH_EPS * zq) / (i - zq);
    let kl = 0, ok = true;
    const term = (pj: number, qs: number) => {
      const ps = pj / total - epsP;
      if (ps <= 0 || qs <= 0) ok = false;
      else kl += ps * Math.log(ps / qs);
    };
    for (let k = 0; k < levels && ok; k++) {
      const start = Math.floor((k * i) / levels), stop = Math.floor(((k + 1) * i) / levels);
      const last = k === levels - 1;
      const nz = stop - start - (zeros[stop] - zeros[start]) + (last ? lastFix : 0);
      if (nz === 0) continue; // P and Q are both eps throughout: no contribution
      const mass = prefix[stop] - prefix[start];
      const qs = mass === 0 ? SMOOTH_EPS : mass / nz / qTotal - epsQ;
      for (let j = start; j < (last ? stop - 1 : stop); j++) if (counts[j] !== 0) term(counts[j], qs);
      if (last) term(pLast, qs);
    }
    if (ok && kl < bestKl) { bestKl = kl; bestI = i; }
  }
  return abs.lo + bestI * w;
}

/**
 * The KL clip of a tensor: the |x| threshold T with 256 levels when the tensor is one-sided (the quantizer's
 * 256 levels all land on [0, T]) and 128 when it has both signs (the clip [-T, T] gives each side about half),
 * then [max(min, -T), min(max, T)].
 */
export function klClip(abs: Histogram, observed: Clip): Clip {
  const oneSided = observed.min >= 0 || observed.max <= 0;
  const t = klThreshold(abs, oneSided ? 256 : 128);
  // (a one-sided tensor away from zero keeps its near end)
  return { min: clamp(-t, observed.min, Math.min(0, observed.max)), max: clamp(t, Math.max(0, observed.min), observed.max) };
}
