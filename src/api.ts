// The toolkit's programmatic API: what the `qwasm` CLI does, as functions (package entry "qwasm/toolkit").
// ONNX in, calibration on our own fp32 engine, int8 quantization, .qwm out; evaluation and inspection.
import { readFileSync } from "node:fs";
import type { Graph, Preprocess } from "./ir/graph.ts";
import { importOnnx } from "./onnx/import.ts";
import type { Imported } from "./onnx/types.ts";
import { lowerFloat, lowerQuantized, type QuantizedGraph } from "./pack/lower.ts";
import { writeQwm } from "./pack/qwm.ts";
import { layers, readQwm, type LayerInfo, type QwmContents } from "./pack/read.ts";
import { quantizationFromModel, quantizeGraph } from "./quantize/graph.ts";
import { applyLowBit, type CodebookScope, type WeightFormat } from "./quantize/lowbit.ts";
import { applyXnor, binaryActStats, innerLayers } from "./quantize/binary.ts";
import { crossLayerEqualize, repairWeights, WEIGHT_CLIPS, type RepairReport, type CleReport } from "./quantize/repairs/index.ts";
import type { CalibrationMethod, MethodScore } from "./calibrate/index.ts";
import { normalizedFloats, toModelPixels, type Dataset } from "./data/index.ts";
import { Runner } from "./engine/runner.ts";
import { readBuild } from "./wasm/module.ts";
import { calibrationRanges, measureSensitivity, splitHeldOut, weightLayers, type SensitivityTable } from "./quantize/sensitivity.ts";
import { chooseBits, type MixedChoice } from "./quantize/mixed.ts";

export const VERSION = "0.1.0";

export class QwmUsageError extends Error {
  readonly code = "USAGE";
  constructor(message: string) {
    super(message);
    this.name = "QwmUsageError";
  }
}

export type Progress = (done: number, total: number, what: string) => void;

export interface ModelOptions {
  /** Preprocessing overrides for an ONNX model (a .qwm carries its own). */
  preprocess?: Partial<Preprocess>;
  /** Class names, one per output. */
  labels?: string[];
}

/** An ONNX model from a path or bytes, as the graph IR. */
export function loadOnnx(source: string | Uint8Array, opts: ModelOptions = {}): Imported {
  const bytes = typeof source === "string" ? readFileSync(source) : source;
  return importOnnx(bytes, { preprocess: opts.preprocess, labels: opts.labels });
}

export interface QuantizeOptions extends ModelOptions {
  /** Calibration images (unlabeled is fine). A QDQ model needs none: it carries its scales. */
  calib?: Dataset;
  /** Calibration method, or "auto": the one that best matches the float model on held-out calibration images. */
  calibration?: CalibrationMethod | "auto";
  /** Use at most this many calibration images (default 256). */
  calibSize?: number;
  percentile?: number;
  /** One weight scale per tensor instead of per output channel. */
  perTensor?: boolean;
  /** Weight bits of the conv / dense layers: 8 (default), 4, 2 or 1; kmeans 1..8, pow2 3 or 4 (src/quantize/lowbit.ts). */
  weightBits?: number;
  /** Weight representation: uniform (default), ternary (2 bits), kmeans (codebook) or pow2 (sign + exponent). */
  weightFormat?: WeightFormat;
  /** k-means codebooks: one per output channel (default) or one per layer. */
  codebook?: CodebookScope;
  /** Keep the first conv and the last layer at 8 bits when weightBits < 8 or in the mixed search (default true). */
  keepEnds?: boolean;
  /**
   * Activation bits of the low-bit layers: 8 (default), or 1 with weightBits 1: binary XNOR layers (sign +
   * XNOR-popcount conv / depthwise / dense, src/quantize/binary.ts) instead of BWN.
   */
  actBits?: number;
  /**
   * Post-training repairs (src/quantize/repairs/, docs/repairs.md), each needing calibration images:
   * cross-layer equalization + high-bias absorption on the float graph before calibration.
   */
  cle?: boolean;
  /** Empirical bias correction of every conv / dense layer. */
  biasCorrection?: boolean;
  /** Learned rounding (AdaRound); iterations per output channel (default 500). */
  adaround?: boolean | { iterations?: number };
  /** Clipping range of sub-8-bit uniform weights: MSE search or ACIQ. */
  weightClip?: "mse" | "aciq";
  /**
   * Mixed precision (src/quantize/mixed.ts): bits per layer chosen from a sensitivity table measured on held-out
   * calibration images so that the .qwm weights section (1 KiB = 1024 bytes) fits this budget...
   */
  sizeBudgetKiB?: number;
  /** ...or so that the parameter-weighted average weight bits are at most this. */
  avgBits?: number;
  /** Explicit bits (8, 4, 2, 1) of named conv / dense layers; with a budget, these layers are not searched. */
  bitsPerLayer?: Record<string, number>;
  onProgress?: Progress;
}

export interface QuantizeResult {
  qwm: Uint8Array;
  graph: Graph;
  /** "model" when the ONNX file's own quantization (QDQ) was used. */
  method: CalibrationMethod | "model";
  scores?: MethodScore[];
  calibrationImages: number;
  /** The weights and activation parameters that were packed (the report's histograms read them). */
  quantized: QuantizedGraph;
  /** What the repairs did (absent when none was asked). */
  repairs?: { cle?: CleReport } & RepairReport;
  /** With a budget: the sensitivity table and the search's choice. */
  mixed?: { table: SensitivityTable; choice: MixedChoice };
}

/** The uint8 pixels of the first `n` dataset images at the graph's input size. */
export function modelPixels(g: Graph, ds: Dataset, n = ds.images.length): Uint8Array[] {
  const [H, W, C] = g.input.shape;
  return Array.from({ length: Math.min(n, ds.images.length) }, (_, i) => toModelPixels(ds, i, H, W, C, g.preprocess));
}

/** Quantizes an ONNX model to an int8 .qwm. */
export async function quantize(onnx: string | Uint8Array, opts: QuantizeOptions = {}): Promise<QuantizeResult> {
  const imp = loadOnnx(onnx, opts);
  const g = imp.graph;
  const perChannel = !opts.perTensor;
  const wasm = readBuild("simd");
  const provenance = (method: string, n: number) => {
    g.provenance = { ...g.provenance, tool: `qwasm ${VERSION}`, quantization: "int8 activations per tensor (asymmetric), int8 weights " + (perChannel ? "per channel" : "per tensor") + " (symmetric)", calibration: method, calibrationImages: n };
  };
  const wantRepairs = !!(opts.cle || opts.biasCorrection || opts.adaround || opts.weightClip);
  if (opts.weightClip !== undefined && !WEIGHT_CLIPS.includes(opts.weightClip)) throw new QwmUsageError(`weightClip must be ${WEIGHT_CLIPS.join(" or ")}; got '${opts.weightClip}'`);
  if (typeof opts.adaround === "object" && opts.adaround.iterations !== undefined && !(Number.isInteger(opts.adaround.iterations) && opts.adaround.iterations >= 1)) {
    throw new QwmUsageError(`adaround iterations must be a positive integer; got ${opts.adaround.iterations}`);
  }
  const budget = opts.sizeBudgetKiB !== undefined || opts.avgBits !== undefined;
  const binary = (opts.actBits ?? 8) !== 8;
  if (binary && (opts.actBits !== 1 || opts.weightBits !== 1)) throw new QwmUsageError("binary activations (--acts 1) go with binary weights (--weights 1); other activation widths are 8-bit");
  if (binary && (budget || opts.bitsPerLayer)) throw new QwmUsageError("binary XNOR layers (--acts 1) and mixed precision do not combine: choose one");
  if (binary && wantRepairs) throw new QwmUsageError("the repairs (cle, bias correction, adaround, weight clip) work on weight grids with int8 activations; binary XNOR layers (--acts 1) are trained instead (qwasm train --method xnor)");
  if (!opts.calib) {
    if (wantRepairs) throw new QwmUsageError("the repairs (cle, bias correction, adaround, weight clip) need calibration images (--calib)");
    if (budget) throw new QwmUsageError("mixed precision (a size budget or average bits) needs calibration images (--calib) to measure layer sensitivity");
    if (opts.bitsPerLayer) throw new QwmUsageError("bits per layer re-quantize the float weights: give calibration images (--calib)");
    if (!imp.quant) throw new QwmUsageError("this model carries no quantization (not a QDQ model): give calibration images with --calib");
    provenance("from the model (QDQ / QONNX)", 0);
    const qg = quantizationFromModel(g, imp.quant, { perChannel });
    const low = [...qg.weights].filter(([, w]) => w.bits !== undefined && w.bits < 8);
    if (low.length) g.provenance = { ...g.provenance, weights: "from the model (QONNX): " + low.map(([k, w]) => `${k} ${w.bits === 1 ? "binary" : `${w.bits}-bit`}`).join(", ") + "; the other layers int8" };
    return { qwm: writeQwm(lowerQuantized(g, qg).program), graph: g, method: "model", calibrationImages: 0, quantized: qg };
  }
  if (budget && opts.weightBits !== undefined && opts.weightBits !== 8) throw new QwmUsageError("a size budget or average bits chooses the bits per layer: leave the weights at 8 (no --weights)");
  const calibSize = opts.calibSize ?? 256;
  // mixed precision scores on held-apart images: the calibration set's images after calibSize (else its last quarter)
  const split = budget ? splitHeldOut(g, opts.calib, calibSize, 256) : { cal: modelPixels(g, opts.calib, calibSize), val: [] };
  const px = split.cal;
  if (px.length === 0) throw new QwmUsageError("the calibration set has no images");
  let normalized: Float32Array[] | undefined;
  const floats = () => (normalized ??= px.map((p) => normalizedFloats(p, g.preprocess)));
  let cleReport: CleReport | undefined;
  if (opts.cle) {
    opts.onProgress?.(0, 1, "cross-layer equalization");
    cleReport = await crossLayerEqualize(g, wasm, floats());
    opts.onProgress?.(1, 1, "cross-layer equalization");
  }
  opts.onProgress?.(0, 1, "calibrating");
  const wasmModule = new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>);
  const cal = await calibrationRanges(g, wasmModule, px, { calibration: opts.calibration, percentile: opts.percentile, perChannel });
  const method = cal.method, scores = cal.scores;
  opts.onProgress?.(1, 1, "calibrating");
  provenance(method, px.length);
  const qg = quantizeGraph(g, cal.ranges, { perChannel });
  if (imp.qonnx && imp.quant && !budget && !opts.bitsPerLayer && (opts.weightBits ?? 8) === 8 && !binary) {
    // a QONNX model whose quantizers leave some values bare: calibration completes its own quantization
    for (const [v, q] of imp.quant.act) qg.act.set(v, q);
    for (const [k, w] of imp.quant.weights) qg.weights.set(k, w);
    for (const n of g.nodes) if (n.op === "maxpool" || n.op === "avgpool" || n.op === "flatten") qg.act.set(n.output, qg.act.get(n.input)!);
    g.provenance = { ...g.provenance, calibration: `${method} for the values the model's ${imp.qonnx} QONNX quantizers leave bare; theirs elsewhere` };
  }
  let mixed: QuantizeResult["mixed"];
  let bitsPerLayer = opts.bitsPerLayer;
  if (budget) {
    const ls = weightLayers(g);
    const fixed: Record<string, number> = (opts.keepEnds ?? true) && ls.length ? { [ls[0].name]: 8, [ls[ls.length - 1].name]: 8 } : {};
    // every width with a kernel: the knapsack takes a binary layer where it costs less than a 2-bit one
    const table = { ...await measureSensitivity(g, qg, split.val, { bits: [8, 4, 2, 1], wasm: wasmModule, onProgress: opts.onProgress }), calibrationImages: px.length, calibration: method };
    const choice = chooseBits(table, {
      sizeBudgetBytes: opts.sizeBudgetKiB === undefined ? undefined : opts.sizeBudgetKiB * 1024, avgBits: opts.avgBits, fixed: { ...fixed, ...opts.bitsPerLayer },
    });
    mixed = { table, choice };
    bitsPerLayer = choice.bitsPerLayer;
  }
  const fmt = opts.weightFormat ?? "uniform";
  const rounding = fmt === "kmeans" ? `k-means codebook, ${opts.codebook ?? "per-channel"}` : fmt === "pow2" ? "power-of-two, nearest level"
    : `${opts.adaround ? "learned" : "naive"} ${perChannel ? "per-channel" : "per-tensor"} rounding`;
  if (binary) {
    const names = innerLayers(g, opts.keepEnds ?? true);
    const nodes = names.map((name) => g.nodes.find((n) => n.name === name)!);
    // the two-level fit of each binary layer's input, on (at most 64 of) the calibration images
    const stats = await binaryActStats(g, wasm, px.slice(0, 64).map((p) => normalizedFloats(p, g.preprocess)), nodes.map((n) => (n as { input: string }).input), qg.act);
    const choice = applyXnor(g, qg, names, stats);
    const all = g.nodes.filter((n) => n.op === "conv" || n.op === "dense");
    g.provenance = { ...g.provenance, weights: `binary XNOR (+-1 weights and activations, sign at the real zero, alpha = mean|w| per channel, two-level activation fit from ${Math.min(64, px.length)} images, naive post-training) on ${choice.length} of ${all.length} conv/dense layers; ` +
      `8-bit: ${all.filter((n) => !names.includes(n.name)).map((n) => n.name).join(", ") || "none"}` };
  } else if ((opts.weightBits !== undefined && (opts.weightBits !== 8 || fmt === "kmeans")) || bitsPerLayer) {
    const wb = opts.weightBits ?? 8;
    const choice = applyLowBit(g, qg, { bits: wb, format: opts.weightFormat, codebook: opts.codebook, keepEnds: opts.keepEnds, perTensor: opts.perTensor, bitsPerLayer });
    if (mixed) {
      const c = mixed.choice;
      g.provenance = { ...g.provenance, weights: `mixed precision (${rounding}): ${c.budget}; ${c.avgBits.toFixed(3)} average weight bits, weights section ${c.weightBytes} bytes; ` +
        `predicted loss (sum of per-layer KL shares) ${c.predictedLoss.toExponential(3)}; sensitivity on ${mixed.table.heldOutImages} held-out calibration images` + ((opts.keepEnds ?? true) ? "; first and last layers fixed at 8 bits" : ""),
        bitsPerLayer: Object.fromEntries(choice.map((x) => [x.name, x.bits])) };
    } else if (opts.bitsPerLayer) {
      g.provenance = { ...g.provenance, weights: `bits per layer as given (${rounding})`, bitsPerLayer: Object.fromEntries(choice.map((x) => [x.name, x.bits])) };
    } else {
      const low = choice.filter((c) => c.format === fmt && c.bits === wb);
      const other = choice.filter((c) => !low.includes(c) && c.bits !== 8);
      g.provenance = { ...g.provenance, weights: `${wb}-bit ${fmt} (${rounding}) on ${low.length} of ${choice.length} conv/dense layers; ` +
        `8-bit: ${choice.filter((c) => c.bits === 8).map((c) => c.name).join(", ") || "none"}` + (other.length ? `; depthwise at ${other[0].bits}-bit ${other[0].format}` : "") };
    }
  }
  let repairs: QuantizeResult["repairs"];
  if (wantRepairs) {
    const r = await repairWeights(g, qg, wasm, floats(), {
      weightClip: opts.weightClip, perTensor: opts.perTensor, adaround: opts.adaround, biasCorrection: opts.biasCorrection,
      onProgress: opts.onProgress,
    });
    repairs = { cle: cleReport, ...r };
    // provenance: which repairs ran, with their settings
    g.provenance = { ...g.provenance, repairs: {
      ...(cleReport ? { cle: `cross-layer equalization of ${cleReport.pairs} layer pairs in ${cleReport.sweeps} sweeps (${cleReport.relu6ToRelu} ReLU6 -> ReLU), high-bias absorption on ${cleReport.absorbed} channels` } : {}),
      ...(r.weightClip ? { weightClip: `${r.weightClip.method} on ${r.weightClip.layers} sub-8-bit layers` } : {}),
      ...(r.adaround ? { adaround: `${r.adaround.iterations} iterations per channel on ${r.adaround.layers.length} layers (lambda 0.3, beta 20 -> 2), inputs from the float network` } : {}),
      ...(r.biasCorrection ? { biasCorrection: `empirical, ${r.biasCorrection.layers} layers, inputs from the float network` } : {}),
    } };
  }
  return { qwm: writeQwm(lowerQuantized(g, qg).program), graph: g, method, scores, calibrationImages: px.length, repairs, mixed, quantized: qg };
}

/** The float program of an ONNX model as .qwm bytes (what `eval MODEL.onnx` runs). */
export function floatQwm(onnx: string | Uint8Array, opts: ModelOptions = {}): Uint8Array {
  return writeQwm(lowerFloat(loadOnnx(onnx, opts).graph).program);
}

export interface EvalReport {
  accuracy: number;
  top5: number;
  n: number;
  model_bytes: number;
  weight_bytes: number;
  compression_ratio: number;
  peak_arena_bytes: number;
  macs: number;
  bops: number;
  ms_per_image: number;
}

/** Model-level figures of a .qwm: sizes, parameters, MACs, BOPs. */
export function describe(qwm: Uint8Array): { contents: QwmContents; layers: LayerInfo[]; params: number; macs: number; bops: number; weightCount: number; avgWeightBits: number } {
  const contents = readQwm(qwm);
  const ls = layers(contents);
  // weights (biases excluded) of the conv / dense / depthwise layers, and their parameter-weighted average bits
  const wl = ls.filter((l) => l.weightBits > 0).map((l) => ({ n: l.params - l.output[2], bits: l.weightBits }));
  const weightCount = wl.reduce((a, l) => a + l.n, 0);
  return {
    contents, layers: ls, weightCount,
    avgWeightBits: weightCount ? wl.reduce((a, l) => a + l.n * l.bits, 0) / weightCount : 0,
    params: ls.reduce((a, l) => a + l.params, 0),
    macs: ls.reduce((a, l) => a + l.macs, 0),
    bops: ls.reduce((a, l) => a + l.macs * l.weightBits * l.actBits, 0),
  };
}

/** Accuracy and figures of a model (.qwm bytes) on a labeled dataset, on our own engine. */
export async function evaluate(qwm: Uint8Array, data: Dataset, opts: { limit?: number; batch?: number; modelBytes?: number; onProgress?: Progress } = {}): Promise<EvalReport> {
  const runner = await Runner.create(readBuild("simd"), qwm);
  const d = describe(qwm);
  const c = d.contents;
  const p = c.preprocess;
  const pre: Preprocess = {
    channelOrder: (["rgb", "bgr", "gray"] as const)[p.channelOrder], resize: p.resize === 0 ? "stretch" : "shorter-side-crop",
    cropFraction: p.cropFraction, valueScale: p.valueScale, mean: p.mean, std: p.std,
  };
  const [H, W, C] = runner.inputShape;
  const n = Math.min(opts.limit ?? data.images.length, data.images.length);
  if (n === 0) throw new QwmUsageError("the dataset has no images");
  if (data.labels.subarray(0, n).some((l) => l < 0)) throw new QwmUsageError("evaluation needs labeled images (a CIFAR batch, IDX with labels, or a folder with one sub-folder per class)");
  const classes = runner.outputSize;
  const out = c.tensors[c.outputTensor];
  const batch = opts.batch ?? 64;
  const buf = new Uint8Array(batch * H * W * C);
  let top1 = 0, top5 = 0, ms = 0;
  for (let i = 0; i < n; i += batch) {
    const b = Math.min(batch, n - i);
    for (let j = 0; j < b; j++) toModelPixels(data, i + j, H, W, C, pre, buf.subarray(j * H * W * C, (j + 1) * H * W * C));
    const t = performance.now();
    const y = runner.runPixels(buf.subarray(0, b * H * W * C), b);
    ms += performance.now() - t;
    for (let j = 0; j < b; j++) {
      const row = Array.from(y.subarray(j * classes, (j + 1) * classes), (v) => (out.dtype === 1 ? (v - out.zeroPoint) * out.scale : v));
      const label = data.labels[i + j];
      const order = row.map((v, k) => [v, k] as const).sort((a, b2) => b2[0] - a[0] || a[1] - b2[1]);
      if (order[0][1] === label) top1++;
      if (order.slice(0, 5).some(([, k]) => k === label)) top5++;
    }
    opts.onProgress?.(Math.min(n, i + b), n, "evaluating");
  }
  const fp32Bytes = d.params * 4;
  return {
    accuracy: top1 / n, top5: top5 / n, n,
    model_bytes: opts.modelBytes ?? qwm.length,
    weight_bytes: c.weightsBytes,
    compression_ratio: c.weightsBytes ? fp32Bytes / c.weightsBytes : 0,
    peak_arena_bytes: c.arenaBytes,
    macs: d.macs, bops: d.bops,
    ms_per_image: ms / n,
  };
}
