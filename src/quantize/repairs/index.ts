// Post-training repairs of the quantized weights (issue 7): weight clipping, AdaRound and bias correction,
// applied to a quantized graph after its weights were rounded (int8, or sub-8-bit by applyLowBit); CLE runs
// earlier, on the float graph (cle.ts). Order: clip (new scales, nearest rounding) -> AdaRound (learned
// rounding on those grids) -> bias correction (of whatever weights result). Any combination, any weight bits.
import type { Graph } from "../../ir/graph.ts";
import type { QuantizedGraph } from "../../pack/lower.ts";
import { adaround, ADAROUND_DEFAULT_ITERATIONS } from "./adaround.ts";
import { correctBias } from "./bias_correction.ts";
import { clippedScales, type WeightClip } from "./clip.ts";
import { codesOf, dequantize, gridsOf, layerGrids, roundToGrids, withCodes } from "./grid.ts";
import { layerInputs, type Layer } from "./inputs.ts";

export { crossLayerEqualize, equalize, clePairs, type CleReport } from "./cle.ts";
export { adaround, ADAROUND_DEFAULT_ITERATIONS, type AdaRoundOptions, type AdaRoundResult } from "./adaround.ts";
export { correctBias, meanOutputShift } from "./bias_correction.ts";
export { clippedScales, aciqClip, roundingError, WEIGHT_CLIPS, type WeightClip } from "./clip.ts";
export { layerInputs, type LayerInputs } from "./inputs.ts";
export * from "./grid.ts";

export interface RepairOptions {
  weightClip?: WeightClip;
  /** Same scale for a whole layer (clipping chooses one per tensor). */
  perTensor?: boolean;
  adaround?: boolean | { iterations?: number };
  biasCorrection?: boolean;
  /** Patches sampled per layer for AdaRound's G (inputs.ts). */
  maxSamples?: number;
  onProgress?: (done: number, total: number, what: string) => void;
}

export interface RepairReport {
  weightClip?: { method: WeightClip; layers: number };
  adaround?: { iterations: number; layers: { name: string; iterations: number; nearestError: number; error: number; flipped: number }[] };
  biasCorrection?: { layers: number; meanAbsShift: number };
}

/** Applies the asked repairs to the weights of `qg` (and the float biases of `g`) in place. */
export async function repairWeights(g: Graph, qg: QuantizedGraph, wasm: BufferSource | WebAssembly.Module, images: Float32Array[],
  opts: RepairOptions): Promise<RepairReport> {
  const layers = g.nodes.filter((n): n is Layer => n.op === "conv" || n.op === "dense");
  const report: RepairReport = {};
  if (opts.weightClip) {
    let count = 0;
    for (const n of layers) {
      const lw = qg.weights.get(n.name)!;
      const bits = lw.bits ?? 8;
      if (bits >= 8 || (lw.format && lw.format !== "uniform")) continue;
      const scales = clippedScales(n.weight, n.outChannels, bits, opts.weightClip, opts.perTensor, lw.scales);
      qg.weights.set(n.name, { ...lw, scales, q: roundToGrids(n.weight, gridsOf(codesOf(lw), scales)) });
      count++;
    }
    report.weightClip = { method: opts.weightClip, layers: count };
  }
  if (!opts.adaround && !opts.biasCorrection) return report;
  const iterations = typeof opts.adaround === "object" ? opts.adaround.iterations ?? ADAROUND_DEFAULT_ITERATIONS : ADAROUND_DEFAULT_ITERATIONS;
  const inputs = await layerInputs(g, wasm, images, layers, {
    gram: !!opts.adaround, maxSamples: opts.maxSamples,
    onProgress: (d, t) => opts.onProgress?.(d, t, "measuring layer inputs"),
  });
  if (opts.adaround) {
    report.adaround = { iterations, layers: [] };
    layers.forEach((n, i) => {
      const lw = qg.weights.get(n.name)!;
      const r = adaround(n.weight, layerGrids(lw), inputs.get(n.name)!, { iterations });
      qg.weights.set(n.name, withCodes(lw, r.q));
      report.adaround!.layers.push({ name: n.name, iterations: r.iterations, nearestError: r.nearestError, error: r.error, flipped: r.flipped });
      opts.onProgress?.(i + 1, layers.length, `adaround ${n.name}: error ${r.nearestError.toExponential(3)} -> ${r.error.toExponential(3)}, ${r.flipped} weights flipped, ${r.iterations} iterations`);
    });
  }
  if (opts.biasCorrection) {
    let sum = 0, cnt = 0;
    for (const n of layers) {
      const lw = qg.weights.get(n.name)!;
      const shift = correctBias(n.bias, n.weight, dequantize(lw.q, lw.scales), inputs.get(n.name)!);
      for (const s of shift) { sum += Math.abs(s); cnt++; }
    }
    report.biasCorrection = { layers: layers.length, meanAbsShift: sum / Math.max(1, cnt) };
  }
  return report;
}
