// Calibration methods (src/calibrate): the histogram arithmetic on synthetic distributions with known answers
// (quantiles, the expected int8 quantization error, MSE-optimal and KL clipping), then min-max, percentile,
// MSE and KL ranges of tinyNet from one collection, and the choice of the method on held-out images.
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  addValues, emptyHistogram, klClip, klDivergence, klThreshold, mergeHistograms, mseClip, percentileClip,
  quantile, quantizationMse, totalCount, type Histogram,
} from "../src/calibrate/histogram.ts";
import {
  calibrate, chooseCalibration, collectStats, inputRange, mergeStats, minMaxRanges, QwmCalibrationError, rangesFrom,
  validationSize, CALIBRATION_METHODS, type CalibrationMethod,
} from "../src/calibrate/index.ts";
import { Runner } from "../src/engine/runner.ts";
import { lowerFloat, lowerQuantized } from "../src/pack/lower.ts";
import { writeQwm } from "../src/pack/qwm.ts";
import { quantizeGraph, type Ranges } from "../src/quantize/graph.ts";
import { readBuild } from "../src/wasm/module.ts";
import { randomImages, tinyNet } from "./helpers/graphs.ts";
import { rng } from "./helpers/ref.ts";

/** Asserts that the promise from fn rejects with an error whose message matches re. */
async function rejects(fn: () => Promise<unknown>, re: RegExp, type: Function = Error) {
  try {
    await fn();
  } catch (e) {
    assert.instance(e, type);
    assert.ok(re.test((e as Error).message), `'${(e as Error).message}' does not match ${re}`);
    return;
  }
  assert.unreachable(`expected a rejection matching ${re}`);
}
const near = (a: number, b: number, tol: number, what = "") => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b} (tol ${tol})`);

/** A histogram over [lo, hi] with `counts` given per bin by fn(bin). */
function histOf(lo: number, hi: number, fn: (j: number) => number, bins = 2048): Histogram {
  const h = emptyHistogram(lo, hi, bins);
  for (let j = 0; j < bins; j++) h.counts[j] = fn(j);
  return h;
}

// ---- histogram arithmetic ---------------------------------------------------------------------------------

test("histograms: binning (ends clamped, |x|), merging, quantiles of a uniform distribution", () => {
  const h = emptyHistogram(-1, 1, 4);
  addValues(h, [-1, -0.6, -0.4, 0, 0.49, 0.5, 1, 7, -9]);
  assert.equal(Array.from(h.counts), [3, 1, 2, 3]);
  const a = emptyHistogram(0, 1, 4);
  addValues(a, [-0.3, 0.3, 0.9], true);
  assert.equal(Array.from(a.counts), [0, 2, 0, 1]);
  assert.equal(Array.from(mergeHistograms(h, h).counts), [6, 2, 4, 6]);
  assert.throws(() => mergeHistograms(h, a), /different bins/);
  const u = histOf(0, 1, () => 10);
  assert.is(totalCount(u), 20480);
  near(quantile(u, 0.5), 0.5, 1e-12);
  near(quantile(u, 0.9999), 0.9999, 1e-12);
  near(quantile(u, 0), 0, 1e-12);
  near(quantile(u, 1), 1, 1e-12);
});

test("percentile: both tails clipped alike; 100 is min-max; heavy tails narrow the range", () => {
  const u = histOf(-1, 1, () => 1000);
  const c = percentileClip(u, { min: -1, max: 1 }, 99.99);
  near(c.min, -0.9998, 1e-9, "low");
  near(c.max, 0.9998, 1e-9, "high");
  assert.equal(percentileClip(u, { min: -0.5, max: 0.7 }, 100), { min: -0.5, max: 0.7 });
  // Cauchy samples: min-max is set by a handful of extreme values
  const r = rng(3), xs = Array.from({ length: 200000 }, () => Math.tan(Math.PI * (r.next() - 0.5)));
  const lo = xs.reduce((a, x) => Math.min(a, x)), hi = xs.reduce((a, x) => Math.max(a, x));
  const h = emptyHistogram(lo, hi);
  addValues(h, xs);
  const p = percentileClip(h, { min: lo, max: hi }, 99.9);
  assert.ok(p.max < hi / 10 && p.min > lo / 10, `percentile [${p.min}, ${p.max}] vs min-max [${lo}, ${hi}]`);
});

test("quantizationMse: s^2/12 inside the range, the squared distance beyond it", () => {
  // dense uniform values on [0, 1], clip [0, 1]: scale 1/255, rounding error s^2 / 12
  const u = histOf(0, 1, () => 1);
  const s = 1 / 255;
  near(quantizationMse(u, { min: 0, max: 1 }), s * s / 12, 1e-3 * s * s / 12, "uniform");
  // all the mass in the last bin [1 - w, 1], clipped at 0.5: mean of (x - gmax)^2 over the bin
  const w = 1 / 2048, last = histOf(0, 1, (j) => (j === 2047 ? 5 : 0));
  const { zeroPoint: zp, scale } = { zeroPoint: -128, scale: 0.5 / 255 };
  const gmax = (127 - zp) * scale; // 0.5
  const want = ((1 - gmax) ** 3 - (1 - w - gmax) ** 3) / (3 * w);
  near(quantizationMse(last, { min: 0, max: 0.5 }), want, 1e-12, "saturated");
  // a bin entirely inside one quantization step: the exact integral of the distance to the nearest grid point
  const h = histOf(0, 2048, (j) => (j === 3 ? 1 : 0)); // uniform on [3, 4]
  const sc = 2048 / 255; // grid step ~8: values in [3, 4] round to 0 -> error x^2
  near(quantizationMse(h, { min: 0, max: 2048 }), (64 - 27) / 3, 1e-9, "in-step");
  assert.ok(sc > 4);
});

test("MSE clipping: the known optimum for a uniform body with a far outlier", () => {
  // mass 1 uniform on [0, B] and eps at A: for B <= c < A, E(c) ~ c^2 k + eps (A' - c)^2 with k = 1 / (12 * 255^2)
  // (rounding over ~255 B / c grid steps) and A' = A - w/2 (the outliers are spread over the last bin), so
  // c* = eps A' / (eps + k); eps = k puts it half way
  const A = 100, B = 20, bins = 2048, w = A / bins, k = 1 / (12 * 255 * 255), eps = k;
  const inBody = Math.round(B / w);
  const h = histOf(0, A, (j) => (j < inBody ? 1 / inBody : j === bins - 1 ? eps : 0));
  const cStar = (eps * (A - w / 2)) / (eps + k);
  const c = mseClip(h, { min: 0, max: A });
  assert.is(c.min, 0);
  near(c.max, cStar, 0.02 * cStar, "clip");
  assert.ok(quantizationMse(h, c) < 0.6 * quantizationMse(h, { min: 0, max: A }));
  // no outliers: nothing to clip
  const u = histOf(0, 1, () => 1);
  near(mseClip(u, { min: 0, max: 1 }).max, 1, 0.01, "uniform");
  // two-sided: symmetric outliers on both sides are clipped on both sides
  const two = histOf(-A, A, (j) => (Math.abs(j - 1024) < 10 ? 1 : j === 0 || j === 2047 ? eps : 0));
  const c2 = mseClip(two, { min: -A, max: A });
  assert.ok(c2.max < A / 2 && c2.min > -A / 2 && c2.max > 1 && c2.min < -1, `two-sided clip [${c2.min}, ${c2.max}]`);
  // a tensor away from zero (a sigmoid's output): the clip keeps its near end and stays a range
  const away = histOf(0, 1, (j) => (j >= 1024 ? 1 : 0));
  const c3 = mseClip(away, { min: 0.5, max: 1 });
  assert.ok(c3.min === 0.5 && c3.max >= 0.5 && c3.max <= 1, `clip [${c3.min}, ${c3.max}]`);
});

test("KL divergence and the entropy threshold on synthetic histograms", () => {
  near(klDivergence([1, 2, 3], [2, 4, 6]), 0, 1e-15);
  near(klDivergence([1, 1], [1, 3]), 0.5 * Math.log(0.5 / 0.25) + 0.5 * Math.log(0.5 / 0.75), 1e-15);
  // uniform over the first 1024 bins and a few outliers at the end: the threshold is the body's edge
  const h = histOf(0, 2048, (j) => (j < 1024 ? 100 : j === 2047 ? 3 : 0));
  assert.is(klThreshold(h, 128), 1024);
  assert.is(klThreshold(h, 256), 1024);
  // uniform over all the bins: nothing to clip
  assert.is(klThreshold(histOf(0, 1, () => 50), 128), 1);
  // a ReLU-like spike of zeros does not pull the threshold in
  const relu = histOf(0, 2048, (j) => (j === 0 ? 1e6 : j < 1024 ? 100 : j === 2047 ? 3 : 0));
  assert.is(klThreshold(relu, 256), 1024);
  // |x| of a dense gaussian: clipped in the tail, where little mass lies
  const r = rng(5), g: number[] = [];
  for (let i = 0; i < 400000; i++) g.push(Math.sqrt(-2 * Math.log(Math.max(r.next(), 1e-12))) * Math.cos(2 * Math.PI * r.next()));
  const m = g.reduce((a, x) => Math.max(a, Math.abs(x)), 0), ah = emptyHistogram(0, m);
  addValues(ah, g, true);
  const t = klThreshold(ah, 128);
  assert.ok(t > 2.5 && t < m, `gaussian threshold ${t} (max |x| ${m})`);
  console.log(`    KL threshold of |N(0,1)|, 400k samples, 128 levels: ${t.toFixed(3)} (max |x| ${m.toFixed(3)})`);
  // klClip: one-sided tensors clip only the upper end; two-sided clip both at the threshold
  assert.equal(klClip(h, { min: 0, max: 2048 }), { min: 0, max: 1024 });
  const c = klClip(h, { min: -300, max: 2048 });
  assert.equal(c, { min: -300, max: klThreshold(h, 128) });
  const far = klClip(h, { min: 1500, max: 2048 }); // threshold 1024 is below the tensor's min
  assert.equal(far, { min: 1500, max: 1500 });
});

// ---- tinyNet ------------------------------------------------------------------------------------------------

const g = tinyNet(7);
const wasm = readBuild("simd");
const calib = randomImages(100, 200);
const evalSet = randomImages(200, 100);
const stats = await collectStats(g, wasm, calib.x);
const mm = await minMaxRanges(g, wasm, calib.x);

test("one collection: min-max from the statistics equals minMaxRanges; the input keeps its exact range", () => {
  assert.is(stats.images, 200);
  const r = rangesFrom(stats, "minmax");
  assert.equal([...r.keys()].sort(), [...mm.keys()].sort());
  for (const [v, x] of mm) assert.equal(r.get(v), x, v);
  for (const m of CALIBRATION_METHODS) assert.equal(rangesFrom(stats, m).get("input"), inputRange(g));
  for (const s of stats.values.values()) assert.is(totalCount(s.hist), totalCount(s.absHist));
});

test("every method's ranges lie within min-max; the clipping methods clip something", () => {
  for (const m of ["percentile", "mse", "kl"] as CalibrationMethod[]) {
    const r = rangesFrom(stats, m);
    let narrower = 0;
    for (const [v, x] of mm) {
      const y = r.get(v)!;
      assert.ok(y.min >= x.min && y.max <= x.max && y.min <= y.max, `${m} ${v}: [${y.min}, ${y.max}] outside [${x.min}, ${x.max}]`);
      if (y.max < x.max || y.min > x.min) narrower++;
    }
    assert.ok(narrower > 0, `${m} clips nothing`);
  }
  // a lower percentile clips at least as much
  const r1 = rangesFrom(stats, "percentile", { percentile: 99 }), r2 = rangesFrom(stats, "percentile", { percentile: 99.99 });
  for (const v of mm.keys()) assert.ok(r1.get(v)!.max <= r2.get(v)!.max && r1.get(v)!.min >= r2.get(v)!.min, v);
});

test("percentile is narrower than min-max on heavy-tailed inputs", async () => {
  // the calibration images with rare large spikes (as from sensor noise): min-max follows the spikes
  const r = rng(9);
  const spiky = calib.x.map((x) => x.map((v) => (r.next() < 0.002 ? v + 40 * (r.next() - 0.5) : v)));
  const mmS = await minMaxRanges(g, wasm, spiky);
  const pS = await calibrate(g, wasm, spiky, "percentile");
  for (const v of ["c1", "dw", "pw"]) {
    const a = mmS.get(v)!, b = pS.get(v)!;
    assert.ok(b.max < a.max, `${v}: percentile max ${b.max} vs min-max ${a.max}`);
  }
});

test("calibrate(): each method equals rangesFrom over one collection; bad arguments are refused", async () => {
  for (const m of CALIBRATION_METHODS) {
    assert.equal(await calibrate(g, wasm, calib.x, m), rangesFrom(stats, m), m);
  }
  await rejects(() => calibrate(g, wasm, calib.x, "median" as CalibrationMethod), /unknown calibration method 'median'/, QwmCalibrationError);
  await rejects(() => calibrate(g, wasm, calib.x, "percentile", { percentile: 40 }), /percentile must be in \(50, 100\]/);
  await rejects(() => calibrate(g, wasm, [], "kl"), /at least one image/);
  await rejects(() => calibrate(g, wasm, [new Float32Array(5)], "minmax"), /image 0 has 5 values, the input 16x16x3 needs 768/);
});

test("mergeStats: statistics of two halves over the same bins add up to those of the whole", async () => {
  const a = await collectStats(g, wasm, calib.x.slice(0, 150), { bounds: mm });
  const b = await collectStats(g, wasm, calib.x.slice(150), { bounds: mm, keepOutputs: true });
  assert.is(b.outputs!.length, 50);
  const m = mergeStats(a, b);
  for (const [v, s] of stats.values) {
    const t = m.values.get(v)!;
    assert.equal([t.min, t.max], [s.min, s.max], v);
    assert.equal(Array.from(t.hist.counts), Array.from(s.hist.counts), v);
    assert.equal(Array.from(t.absHist.counts), Array.from(s.absHist.counts), v);
  }
});

// ---- choosing the method -------------------------------------------------------------------------------------

const argmax = (a: ArrayLike<number>) => { let k = 0; for (let i = 1; i < a.length; i++) if (a[i] > a[k]) k = i; return k; };

async function agreement(ranges: Ranges): Promise<number> {
  const fr = await Runner.create(wasm, writeQwm(lowerFloat(g).program));
  const qr = await Runner.create(wasm, writeQwm(lowerQuantized(g, quantizeGraph(g, ranges)).program));
  const s = qr.host.exports.qwm_output_scale(), z = qr.host.exports.qwm_output_zero_point();
  let agree = 0;
  for (let i = 0; i < evalSet.x.length; i++) {
    const f = fr.runF32(evalSet.x[i]);
    const q = Array.from(qr.runPixels(evalSet.px[i]), (v) => (v - z) * s);
    if (argmax(q) === argmax(f)) agree++;
  }
  return agree / evalSet.x.length;
}

test("validation split: the last 20%, at least 16, leaving at least 16", () => {
  assert.equal([32, 80, 100, 1000].map(validationSize), [16, 16, 20, 200]);
  assert.throws(() => validationSize(31), /at least 32 images, got 31/);
});

test("chooseCalibration: deterministic, scores every method, its choice agrees with the float program", async () => {
  const a = await chooseCalibration(g, wasm, calib.px);
  const b = await chooseCalibration(g, wasm, calib.px);
  assert.equal(a.scores, b.scores);
  assert.equal(a.ranges, b.ranges);
  assert.equal([a.calibrationImages, a.validationImages], [160, 40]);
  assert.equal(a.scores.map((s) => s.method).sort(), [...CALIBRATION_METHODS].sort());
  assert.is(a.method, a.scores[0].method);
  for (let i = 1; i < a.scores.length; i++) {
    const p = a.scores[i - 1], q = a.scores[i];
    assert.ok(p.agree > q.agree || (p.agree === q.agree && p.mse <= q.mse), "scores best first");
  }
  // the returned ranges are the winner's over all the images
  assert.equal(a.ranges, rangesFrom(stats, a.method));
  const agr = await agreement(a.ranges);
  console.log(`    chose ${a.method}: ${a.scores.map((s) => `${s.method} ${s.agree}/${a.validationImages} mse ${s.mse.toExponential(2)}`).join(", ")}; ` +
    `held-out agreement with the float program on ${evalSet.x.length} other images: ${(100 * agr).toFixed(1)}%`);
  assert.ok(agr >= 0.9, `agreement ${agr}`);
});

test("chooseCalibration: float images and a subset of methods; too few images refused", async () => {
  const c = await chooseCalibration(g, wasm, calib.x, { methods: ["kl", "minmax"] });
  assert.equal(c.scores.map((s) => s.method).sort(), ["kl", "minmax"]);
  assert.equal(c.ranges, rangesFrom(stats, c.method));
  await rejects(() => chooseCalibration(g, wasm, calib.px.slice(0, 20)), /at least 32 images, got 20/);
  await rejects(() => chooseCalibration(g, wasm, calib.px, { methods: [] }), /no calibration methods/);
});

test.run();
