// Calibration statistics: per value of the float program, its observed range and two histograms (of x over
// the range widened to include 0, and of |x|), collected over calibration images. Two passes over the images:
// the first finds each value's min / max (the histograms' bins), the second fills the histograms. With the
// bins given (`bounds`), one pass; statistics collected over the same bins add up (mergeStats).
import type { Graph } from "../ir/graph.ts";
import type { Range, Ranges } from "../quantize/graph.ts";
import { addValues, emptyHistogram, mergeHistograms, type Histogram } from "./histogram.ts";
import { floatRunner, inputRange, minMaxRanges } from "./minmax.ts";

export class QwmCalibrationError extends Error {
  readonly code = "QWM_CALIBRATE";
  constructor(message: string) {
    super(message);
    this.name = "QwmCalibrationError";
  }
}

export interface TensorStats {
  /** Observed over these images. */
  min: number;
  max: number;
  /** x over [min(0, lo), max(0, hi)] of the binning bounds. */
  hist: Histogram;
  /** |x| over [0, max(|lo|, |hi|)]. */
  absHist: Histogram;
}

export interface CalibrationStats {
  /** The graph input's name and range (exact, from the preprocessing). */
  inputName: string;
  input: Range;
  values: Map<string, TensorStats>;
  images: number;
  /** The float program's output per image, when asked for (keepOutputs). */
  outputs?: Float32Array[];
}

export interface CollectOptions {
  /** Histogram bounds per value (a previous min / max pass); saves the first pass. */
  bounds?: Ranges;
  /** Keep the float program's output for every image. */
  keepOutputs?: boolean;
}

/** Checks calibration images against the graph's input size. */
export function checkImages(g: Graph, images: ArrayLike<number>[]): void {
  if (!images.length) throw new QwmCalibrationError("calibration needs at least one image");
  const [h, w, c] = g.input.shape;
  const bad = images.findIndex((x) => x.length !== h * w * c);
  if (bad >= 0) throw new QwmCalibrationError(`calibration image ${bad} has ${images[bad].length} values, the input ${h}x${w}x${c} needs ${h * w * c}`);
}

/** Histograms of every value of `g` over `images` (normalized NHWC floats, one image each). */
export async function collectStats(g: Graph, wasm: BufferSource | WebAssembly.Module, images: Float32Array[],
  opts: CollectOptions = {}): Promise<CalibrationStats> {
  checkImages(g, images);
  const bounds = opts.bounds ?? await minMaxRanges(g, wasm, images);
  const { runner, tensorOf } = await floatRunner(g, wasm);
  const values = new Map<string, TensorStats>();
  for (const v of tensorOf.keys()) {
    if (v === g.input.name) continue;
    const b = bounds.get(v);
    if (!b) throw new QwmCalibrationError(`no histogram bounds for value '${v}'`);
    const lo = Math.min(0, b.min), hi = Math.max(0, b.max);
    values.set(v, { min: Infinity, max: -Infinity, hist: emptyHistogram(lo, hi), absHist: emptyHistogram(0, Math.max(-lo, hi)) });
  }
  const outputs: Float32Array[] = [];
  for (const img of images) {
    const out = runner.runF32(img, 1) as Float32Array;
    if (opts.keepOutputs) outputs.push(out);
    for (const [v, s] of values) {
      const t = runner.tensor(tensorOf.get(v)!);
      for (let i = 0; i < t.length; i++) {
        if (t[i] < s.min) s.min = t[i];
        if (t[i] > s.max) s.max = t[i];
      }
      addValues(s.hist, t);
      addValues(s.absHist, t, true);
    }
  }
  return { inputName: g.input.name, input: inputRange(g), values, images: images.length, outputs: opts.keepOutputs ? outputs : undefined };
}

/** Statistics of the union of two image sets collected over the same bins. */
export function mergeStats(a: CalibrationStats, b: CalibrationStats): CalibrationStats {
  const values = new Map<string, TensorStats>();
  for (const [v, x] of a.values) {
    const y = b.values.get(v);
    if (!y) throw new QwmCalibrationError(`value '${v}' is missing from the statistics to merge`);
    values.set(v, {
      min: Math.min(x.min, y.min), max: Math.max(x.max, y.max),
      hist: mergeHistograms(x.hist, y.hist), absHist: mergeHistograms(x.absHist, y.absHist),
    });
  }
  return { inputName: a.inputName, input: a.input, values, images: a.images + b.images };
}
