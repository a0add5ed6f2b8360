// Layer sensitivity (issue 7): how much each conv / dense / depthwise layer's output divergence grows when that
// layer alone is quantized to fewer bits. Calibrate once; then, for each layer and each bit width, the network
// runs on our wasm engine with that layer at b bits and EVERY OTHER LAYER AT INT8 (W8A8, the deployable
// baseline: our integer programs have no fp32 islands), and its logits are compared with the fp32 program's on
// held-apart calibration images: KL(softmax fp32 || softmax quantized), mean over images, and the top-1
// agreement. `perBits[8]` is the all-int8 network itself, so `kl(b) - kl(8)` is the layer's own share
// (HAWQ-V3 treats these shares as additive; src/quantize/mixed.ts does).
import { readFileSync } from "node:fs";
import { importOnnx } from "../onnx/import.ts";
import type { Graph, Node, Preprocess } from "../ir/graph.ts";
import { Op } from "../../assembly/runtime/schema.ts";
import { lowerFloat, lowerQuantized, type QuantizedGraph } from "../pack/lower.ts";
import { writeQwm } from "../pack/qwm.ts";
import { Runner } from "../engine/runner.ts";
import { calibrate, chooseCalibration, type CalibrationMethod } from "../calibrate/index.ts";
import { normalizedFloats, toModelPixels, type Dataset } from "../data/index.ts";
import { readBuild } from "../wasm/module.ts";
import { quantizeGraph, type Ranges } from "./graph.ts";
import { quantizeWeightsLowBit } from "./lowbit.ts";
import { QwmQuantizeError } from "./params.ts";

export interface BitsScore {
  /** Mean KL(softmax(fp32 logits) || softmax(quantized logits)) over the held-out images, in nats. */
  kl: number;
  /** Held-out images whose top-1 class equals the fp32 program's, as a fraction. */
  top1Agreement: number;
}

export interface LayerSensitivity {
  name: string;
  op: "conv" | "dense" | "depthwise";
  /** Weight count (biases excluded): what the parameter-weighted average bits weigh. */
  params: number;
  /** Bytes of the layer's packed weights in the .qwm weights section (16-byte padded) at each bit width. */
  bytesAtBits: Record<number, number>;
  /**
   * Weight bits of the kernel the layer actually runs on at each asked width: a 2-bit or binary layer whose
   * requantization multiplier reaches 1 is stored widened (src/pack/lower.ts), e.g. on the int4 kernel.
   */
  storedBitsAtBits: Record<number, number>;
  perBits: Record<number, BitsScore>;
}

export interface SensitivityTable {
  /** The asked widths, 8 always included. */
  bits: number[];
  layers: LayerSensitivity[];
  /** Bytes of the weights section outside the conv / dense layers (activation lookup tables). */
  otherWeightBytes: number;
  /** The all-int8 network against fp32 (every layer's perBits[8]). */
  int8: BitsScore;
  heldOutImages: number;
  calibrationImages: number;
  calibration: CalibrationMethod | "given";
  /** Seconds spent measuring (after calibration). */
  seconds: number;
}

const OP_BITS: Partial<Record<number, number>> = {
  [Op.Conv2dQs8]: 8, [Op.DwConv2dQs8]: 8, [Op.DenseQs8]: 8, [Op.Conv2dQs4]: 4, [Op.DwConv2dQs4]: 4, [Op.DenseQs4]: 4,
  [Op.Conv2dQs2]: 2, [Op.DenseQs2]: 2, [Op.DwConv2dQs2]: 2, [Op.Conv2dQbw]: 1, [Op.DenseQbw]: 1, [Op.DwConv2dQbw]: 1,
};
const pad16 = (n: number) => (n + 15) & ~15;

type Layer = Extract<Node, { op: "conv" | "dense" }>;
export const weightLayers = (g: Graph): Layer[] => g.nodes.filter((n): n is Layer => n.op === "conv" || n.op === "dense");
const kindOf = (n: Layer): LayerSensitivity["op"] => (n.op === "dense" ? "dense" : n.groups !== 1 ? "depthwise" : "conv");

function softmax(row: ArrayLike<number>): Float64Array {
  let m = -Infinity;
  for (let i = 0; i < row.length; i++) m = Math.max(m, row[i]);
  const p = Float64Array.from(row as ArrayLike<number>, (v) => Math.exp(v - m));
  const s = p.reduce((a, b) => a + b, 0);
  return p.map((v) => v / s);
}
const argmax = (a: ArrayLike<number>) => { let k = 0; for (let i = 1; i < a.length; i++) if (a[i] > a[k]) k = i; return k; };

/** KL(softmax(ref) || softmax(got)) and top-1 agreement, averaged over `n` rows of `k` logits. */
export function logitDivergence(ref: ArrayLike<number>, got: ArrayLike<number>, n: number, k: number): BitsScore {
  let kl = 0, agree = 0;
  for (let i = 0; i < n; i++) {
    const a = Array.from({ length: k }, (_, j) => ref[i * k + j]), b = Array.from({ length: k }, (_, j) => got[i * k + j]);
    const p = softmax(a), q = softmax(b);
    for (let j = 0; j < k; j++) if (p[j] > 0) kl += p[j] * (Math.log(p[j]) - Math.log(Math.max(q[j], 1e-30)));
    if (argmax(a) === argmax(b)) agree++;
  }
  return { kl: Math.max(0, kl / n), top1Agreement: agree / n };
}

export interface MeasureOptions {
  /** Bit widths to try per layer (default 8, 4, 2); depthwise layers only take 8 and 4. */
  bits?: number[];
  /** A compiled wasm build (default: the SIMD build). */
  wasm?: WebAssembly.Module;
  onProgress?: (done: number, total: number, what: string) => void;
}

/**
 * The sensitivity table of `g` quantized as `base` (int8, from calibration), on `heldOut` (uint8 pixels at the
 * model's input size, one image each).
 */
export async function measureSensitivity(g: Graph, base: QuantizedGraph, heldOut: Uint8Array[], opts: MeasureOptions = {}): Promise<Omit<SensitivityTable, "calibrationImages" | "calibration">> {
  const t0 = performance.now();
  const bits = [...new Set([8, ...(opts.bits ?? [8, 4, 2])])].sort((a, b) => b - a);
  for (const b of bits) if (![8, 4, 2, 1].includes(b)) throw new QwmQuantizeError(`sensitivity: ${b}-bit weights have no kernel; use 8, 4, 2 or 1`);
  if (heldOut.length === 0) throw new QwmQuantizeError("sensitivity needs held-out images");
  const wasm = opts.wasm ?? new WebAssembly.Module(readBuild("simd") as Uint8Array<ArrayBuffer>);
  const size = heldOut[0].length, n = heldOut.length;
  const batch = new Uint8Array(n * size);
  heldOut.forEach((p, i) => batch.set(p, i * size));
  const fp = await Runner.create(wasm, writeQwm(lowerFloat(g).program));
  const ref = Float32Array.from(fp.runPixels(batch, n));
  const k = fp.outputSize;

  /** Runs the int8 program with `weights` replaced; returns its score and the packed bytes / bits of `layer`. */
  const run = async (weights: QuantizedGraph["weights"], layer?: Layer) => {
    const lowered = lowerQuantized(g, { act: base.act, weights });
    const r = await Runner.create(wasm, writeQwm(lowered.program));
    const out = r.runPixels(batch, n);
    const s = r.host.exports.qwm_output_scale(), z = r.host.exports.qwm_output_zero_point();
    const deq = Float32Array.from(out, (q) => (q - z) * s);
    const ops = lowered.program.ops;
    const opOf = (l: Layer) => ops.find((o) => o.output === lowered.tensorOf.get(l.output))!;
    return { score: logitDivergence(ref, deq, n, k), op: layer ? opOf(layer) : undefined, ops, opOf };
  };

  const layers = weightLayers(g);
  const plans = layers.map(() => [...bits]); // every layer kind has 8, 4, 2 and 1-bit kernels (depthwise: qs4, qs2, qbw)
  const total = plans.reduce((a, p) => a + p.length - 1, 1);
  let done = 0;
  opts.onProgress?.(done, total, "sensitivity");
  const b8 = await run(base.weights);
  opts.onProgress?.(++done, total, "sensitivity");
  const layerOps = new Set(layers.map((l) => b8.opOf(l)));
  const otherWeightBytes = b8.ops.filter((o) => o.weights && !layerOps.has(o)).reduce((a, o) => a + pad16(o.weights!.bytes), 0);
  const table: LayerSensitivity[] = [];
  for (const [i, l] of layers.entries()) {
    const o8 = b8.opOf(l);
    const row: LayerSensitivity = {
      name: l.name, op: kindOf(l), params: l.weight.length,
      bytesAtBits: { 8: pad16(o8.weights!.bytes) }, storedBitsAtBits: { 8: OP_BITS[o8.op]! }, perBits: { 8: b8.score },
    };
    for (const b of plans[i]) {
      if (b === 8) continue;
      const weights = new Map(base.weights);
      weights.set(l.name, quantizeWeightsLowBit(l.weight, l.outChannels, b));
      const r = await run(weights, l);
      row.perBits[b] = r.score;
      row.bytesAtBits[b] = pad16(r.op!.weights!.bytes);
      row.storedBitsAtBits[b] = OP_BITS[r.op!.op]!;
      opts.onProgress?.(++done, total, "sensitivity");
    }
    table.push(row);
  }
  return { bits, layers: table, otherWeightBytes, int8: b8.score, heldOutImages: n, seconds: (performance.now() - t0) / 1000 };
}

export interface SensitivityOptions {
  /** Calibration images; the first `calibSize` calibrate, the next `heldOutSize` (if `heldOut` is not given) score. */
  calib: Dataset;
  /** Bit widths per layer (default 8, 4, 2). */
  bits?: number[];
  /** Held-apart images to score on (default: calibration images after the first calibSize). */
  heldOut?: Dataset;
  /** Calibration images (default 256). */
  calibSize?: number;
  /** Held-out images (default 256). */
  heldOutSize?: number;
  calibration?: CalibrationMethod | "auto";
  percentile?: number;
  perTensor?: boolean;
  preprocess?: Partial<Preprocess>;
  onProgress?: (done: number, total: number, what: string) => void;
}

/**
 * Splits calibration data into calibration and held-out pixels: the first `calibSize` images calibrate; the
 * held-out ones are `heldOut`'s, else the calibration set's next `heldOutSize`, else (too few images) the last
 * quarter of the calibration set, which then calibrates on the rest.
 */
export function splitHeldOut(g: Graph, calib: Dataset, calibSize: number, heldOutSize: number, heldOut?: Dataset): { cal: Uint8Array[]; val: Uint8Array[] } {
  const [H, W, C] = g.input.shape;
  const px = (ds: Dataset, from: number, to: number) => Array.from({ length: Math.max(0, Math.min(to, ds.images.length) - from) }, (_, i) => toModelPixels(ds, from + i, H, W, C, g.preprocess));
  if (heldOut) return { cal: px(calib, 0, calibSize), val: px(heldOut, 0, heldOutSize) };
  if (calib.images.length > calibSize) return { cal: px(calib, 0, calibSize), val: px(calib, calibSize, calibSize + heldOutSize) };
  const n = Math.min(calibSize, calib.images.length), v = Math.floor(n / 4);
  if (v < 8) throw new QwmQuantizeError(`sensitivity needs held-out images: give at least 32 calibration images (got ${n})`);
  return { cal: px(calib, 0, n - v), val: px(calib, n - v, n) };
}

/** Calibrated activation ranges of `g` on `cal`, by `method` or the automatic choice (as quantize() does). */
export async function calibrationRanges(g: Graph, wasm: WebAssembly.Module, cal: Uint8Array[], opts: { calibration?: CalibrationMethod | "auto"; percentile?: number; perChannel?: boolean }): Promise<{ method: CalibrationMethod; ranges: Ranges; scores?: Awaited<ReturnType<typeof chooseCalibration>>["scores"] }> {
  const calibration = opts.calibration ?? "auto";
  if (calibration === "auto") {
    const c = await chooseCalibration(g, wasm, cal, { percentile: opts.percentile, quantize: { perChannel: opts.perChannel ?? true } });
    return { method: c.method, ranges: c.ranges, scores: c.scores };
  }
  return { method: calibration, ranges: await calibrate(g, wasm, cal.map((p) => normalizedFloats(p, g.preprocess)), calibration, { percentile: opts.percentile }) };
}

/** The sensitivity table of an ONNX model (a path or bytes): calibrate once, then measureSensitivity on held-apart images. */
export async function sensitivity(onnx: string | Uint8Array, opts: SensitivityOptions): Promise<SensitivityTable> {
  const g = importOnnx(typeof onnx === "string" ? readFileSync(onnx) : onnx, { preprocess: opts.preprocess }).graph;
  const wasm = new WebAssembly.Module(readBuild("simd") as Uint8Array<ArrayBuffer>);
  const { cal, val } = splitHeldOut(g, opts.calib, opts.calibSize ?? 256, opts.heldOutSize ?? 256, opts.heldOut);
  if (cal.length === 0) throw new QwmQuantizeError("the calibration set has no images");
  opts.onProgress?.(0, 1, "calibrating");
  const c = await calibrationRanges(g, wasm, cal, { calibration: opts.calibration, percentile: opts.percentile, perChannel: !opts.perTensor });
  opts.onProgress?.(1, 1, "calibrating");
  const base = quantizeGraph(g, c.ranges, { perChannel: !opts.perTensor });
  const t = await measureSensitivity(g, base, val, { bits: opts.bits, wasm, onProgress: opts.onProgress });
  return { ...t, calibrationImages: cal.length, calibration: c.method };
}
