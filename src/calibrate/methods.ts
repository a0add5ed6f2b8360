// Calibration methods: activation ranges (Ranges, for quantizeGraph) from the float program's statistics.
//   minmax      the observed range
//   percentile  both tails clipped at the same fraction: the (100 - p)-th and p-th percentiles (default 99.99)
//   mse         the clip minimizing the expected asymmetric int8 quantization error over the histogram
//   kl          TensorRT's entropy calibration on the |x| histogram (256 levels one-sided, 128 two-sided)
// The graph input always keeps its exact range (inputRange). Every clip lies within the observed range.
import type { Graph } from "../ir/graph.ts";
import type { Range, Ranges } from "../quantize/graph.ts";
import { klClip, mseClip, percentileClip } from "./histogram.ts";
import { minMaxRanges } from "./minmax.ts";
import { checkImages, collectStats, QwmCalibrationError, type CalibrationStats, type TensorStats } from "./stats.ts";

export type CalibrationMethod = "minmax" | "percentile" | "mse" | "kl";
export const CALIBRATION_METHODS: readonly CalibrationMethod[] = ["minmax", "percentile", "mse", "kl"];

export interface MethodOptions {
  /** Percentile kept on each side for "percentile", in (50, 100]; default 99.99. */
  percentile?: number;
}

export const DEFAULT_PERCENTILE = 99.99;

/** One value's range by `method`. */
export function rangeOf(s: TensorStats, method: CalibrationMethod, opts: MethodOptions = {}): Range {
  const observed = { min: s.min, max: s.max };
  if (method === "minmax" || !(s.max > s.min)) return observed;
  switch (method) {
    case "percentile": return percentileClip(s.hist, observed, opts.percentile ?? DEFAULT_PERCENTILE);
    case "mse": return mseClip(s.hist, observed);
    case "kl": return klClip(s.absHist, observed);
  }
}

function checkMethod(method: string, opts: MethodOptions): asserts method is CalibrationMethod {
  if (!CALIBRATION_METHODS.includes(method as CalibrationMethod)) {
    throw new QwmCalibrationError(`unknown calibration method '${method}' (one of ${CALIBRATION_METHODS.join(", ")})`);
  }
  const p = opts.percentile;
  if (p !== undefined && !(p > 50 && p <= 100)) throw new QwmCalibrationError(`percentile must be in (50, 100], got ${p}`);
}

/** Ranges of every value by `method` from statistics collected once (collectStats). */
export function rangesFrom(stats: CalibrationStats, method: CalibrationMethod, opts: MethodOptions = {}): Ranges {
  checkMethod(method, opts);
  const ranges: Ranges = new Map();
  for (const [v, s] of stats.values) ranges.set(v, rangeOf(s, method, opts));
  ranges.set(stats.inputName, { ...stats.input });
  return ranges;
}

/** Calibrates `g` on `images` (normalized NHWC floats) with one method. */
export async function calibrate(g: Graph, wasm: BufferSource | WebAssembly.Module, images: Float32Array[],
  method: CalibrationMethod, opts: MethodOptions = {}): Promise<Ranges> {
  checkMethod(method, opts);
  checkImages(g, images);
  if (method === "minmax") return minMaxRanges(g, wasm, images); // one pass, no histograms
  return rangesFrom(await collectStats(g, wasm, images), method, opts);
}
