// Choosing the calibration method for a model without labels: hold out the last part of the calibration
// images, calibrate on the rest with each method, and score each int8 program against the float program on the
// held-out images (top-1 agreement, then the mean squared error of the dequantized outputs). The winner is
// then calibrated on all the images.
//
// Float passes: one min / max pass over all images fixes the histogram bins; one histogram pass over the
// calibration part and one over the held-out part (which also gives the float outputs); their sum is the
// statistics of all the images, so the final ranges need no further pass.
import type { Graph } from "../ir/graph.ts";
import { normalizedFloats } from "../data/index.ts";
import { Runner } from "../engine/runner.ts";
import { lowerQuantized } from "../pack/lower.ts";
import { writeQwm } from "../pack/qwm.ts";
import { quantizeGraph, type QuantizeOptions, type Ranges } from "../quantize/graph.ts";
import { minMaxRanges } from "./minmax.ts";
import { CALIBRATION_METHODS, rangesFrom, type CalibrationMethod, type MethodOptions } from "./methods.ts";
import { checkImages, collectStats, mergeStats, QwmCalibrationError } from "./stats.ts";

export interface ChooseOptions extends MethodOptions {
  /** Methods to try, in order of preference on a full tie (default all: minmax, percentile, mse, kl). */
  methods?: readonly CalibrationMethod[];
  /** How the graph is quantized for scoring (as it will be quantized). */
  quantize?: QuantizeOptions;
}

export interface MethodScore {
  method: CalibrationMethod;
  /** Held-out images whose int8 top-1 class equals the float program's. */
  agree: number;
  /** agree / held-out images. */
  agreement: number;
  /** Mean squared error of the dequantized int8 outputs against the float outputs. */
  mse: number;
}

export interface CalibrationChoice {
  method: CalibrationMethod;
  /** One per method tried, best first. */
  scores: MethodScore[];
  /** The winner's ranges, calibrated on all the images. */
  ranges: Ranges;
  /** Images used to calibrate while scoring, and held out to score. */
  calibrationImages: number;
  validationImages: number;
}

/** Held-out images for n calibration images: the last 20%, at least 16, leaving at least 16 to calibrate. */
export function validationSize(n: number): number {
  const v = Math.max(16, Math.floor(n / 5));
  if (n - v < 16) throw new QwmCalibrationError(`choosing a calibration method needs at least 32 images, got ${n}`);
  return v;
}

const argmax = (a: ArrayLike<number>) => { let k = 0; for (let i = 1; i < a.length; i++) if (a[i] > a[k]) k = i; return k; };

/**
 * Chooses the calibration method for `g` from `images`: uint8 pixels at the model's input size (the int8
 * program then runs them through qwm_run_pixels, as users do; the float program gets normalizedFloats) or
 * normalized floats (both programs run floats). Deterministic; never uses labels.
 */
export async function chooseCalibration(g: Graph, wasm: BufferSource | WebAssembly.Module,
  images: Uint8Array[] | Float32Array[], opts: ChooseOptions = {}): Promise<CalibrationChoice> {
  checkImages(g, images);
  const pixels = images[0] instanceof Uint8Array;
  const floats = pixels ? (images as Uint8Array[]).map((px) => normalizedFloats(px, g.preprocess)) : images as Float32Array[];
  const methods = opts.methods ?? CALIBRATION_METHODS;
  if (!methods.length) throw new QwmCalibrationError("no calibration methods to choose from");
  const n = images.length, nVal = validationSize(n), nCal = n - nVal;

  const bounds = await minMaxRanges(g, wasm, floats);
  const cal = await collectStats(g, wasm, floats.slice(0, nCal), { bounds });
  const val = await collectStats(g, wasm, floats.slice(nCal), { bounds, keepOutputs: true });
  const ref = val.outputs!;

  // the held-out images as one batch, in the form they came in
  const size = images[0].length;
  const batchOf = <T extends Uint8Array | Float32Array>(xs: T[], b: T) => { xs.slice(nCal).forEach((x, i) => b.set(x, i * size)); return b; };
  const batch = pixels ? batchOf(images as Uint8Array[], new Uint8Array(nVal * size)) : batchOf(floats, new Float32Array(nVal * size));

  const scores: MethodScore[] = [];
  for (const method of methods) {
    const qg = quantizeGraph(g, rangesFrom(cal, method, opts), opts.quantize);
    const runner = await Runner.create(wasm, writeQwm(lowerQuantized(g, qg).program));
    const out = batch instanceof Uint8Array ? runner.runPixels(batch, nVal) : runner.runF32(batch, nVal);
    const s = runner.host.exports.qwm_output_scale(), z = runner.host.exports.qwm_output_zero_point();
    const k = runner.outputSize;
    let agree = 0, se = 0;
    for (let i = 0; i < nVal; i++) {
      const deq = Array.from(out.subarray(i * k, (i + 1) * k), (q) => (q - z) * s);
      if (argmax(deq) === argmax(ref[i])) agree++;
      for (let j = 0; j < k; j++) se += (deq[j] - ref[i][j]) ** 2;
    }
    scores.push({ method, agree, agreement: agree / nVal, mse: se / (nVal * k) });
  }
  // best first: more agreement, then lower error, then the order of `methods` (a stable sort)
  scores.sort((a, b) => b.agree - a.agree || a.mse - b.mse);
  const method = scores[0].method;
  return {
    method, scores, ranges: rangesFrom(mergeStats(cal, val), method, opts),
    calibrationImages: nCal, validationImages: nVal,
  };
}
