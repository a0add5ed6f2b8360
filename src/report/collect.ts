// Gathering a quantization report (issue 14): every configuration quantized with `quantize()` and evaluated
// with `evaluate()` (the functions `qwasm quantize` and `qwasm eval --json` run, so the figures are the same),
// the per-layer view of one configuration from its .qwm (src/pack/read.ts) and its quantized weights, and the
// layer sensitivity of src/quantize/sensitivity.ts. The configurations are data (CONFIGS): QuantizeOptions as
// they are; one that throws is reported as failed, with the error.
import { describe, evaluate, floatQwm, quantize, QwmUsageError, VERSION, type QuantizeOptions, type QuantizeResult } from "../api.ts";
import type { Dataset } from "../data/index.ts";
import type { Graph, Node } from "../ir/graph.ts";
import type { QuantizedGraph } from "../pack/lower.ts";
import { sensitivity as measureLayerSensitivity, type SensitivityOptions, type SensitivityTable } from "../quantize/sensitivity.ts";
import type { ReportConfig, ReportData, ReportHistogram, ReportLayer, ReportSensitivity, SensitivityLayer } from "./types.ts";

/** AdaRound iterations per output channel in the report's configurations (quantize()'s default is 500). */
export const REPORT_ADAROUND_ITERATIONS = 100;

/** A configuration to try: `options: "fp32"` is the float model on our fp32 kernels. */
export interface ConfigSpec {
  id: string;
  label: string;
  group: string;
  options: Omit<QuantizeOptions, "calib" | "onProgress"> | "fp32";
}

const adaround = { iterations: REPORT_ADAROUND_ITERATIONS };

/** Everything the report tries by default, in the order the tables list them. */
export const CONFIGS: readonly ConfigSpec[] = [
  { id: "fp32", label: "fp32", group: "baseline", options: "fp32" },
  { id: "w8a8", label: "W8A8", group: "uniform", options: { weightBits: 8 } },
  { id: "w4a8", label: "W4A8", group: "uniform", options: { weightBits: 4 } },
  { id: "w4a8-cle", label: "W4A8 CLE", group: "repairs", options: { weightBits: 4, cle: true } },
  { id: "w4a8-bc", label: "W4A8 BC", group: "repairs", options: { weightBits: 4, biasCorrection: true } },
  { id: "w4a8-mse", label: "W4A8 MSE clip", group: "repairs", options: { weightBits: 4, weightClip: "mse" } },
  { id: "w4a8-adaround", label: "W4A8 AdaRound", group: "repairs", options: { weightBits: 4, adaround } },
  { id: "w4a8-repairs", label: "W4A8 all repairs", group: "repairs", options: { weightBits: 4, cle: true, biasCorrection: true, weightClip: "mse", adaround } },
  { id: "mixed-avg4.5", label: "mixed 4.5 b", group: "mixed", options: { avgBits: 4.5 } },
  { id: "mixed-avg4", label: "mixed 4 b", group: "mixed", options: { avgBits: 4 } },
  { id: "kmeans-w4", label: "W4 k-means", group: "k-means", options: { weightBits: 4, weightFormat: "kmeans" } },
  { id: "kmeans-w3", label: "W3 k-means", group: "k-means", options: { weightBits: 3, weightFormat: "kmeans" } },
  { id: "pow2-w4", label: "W4 pow2", group: "power-of-two", options: { weightBits: 4, weightFormat: "pow2" } },
  { id: "pow2-w3", label: "W3 pow2", group: "power-of-two", options: { weightBits: 3, weightFormat: "pow2" } },
  { id: "w2a8", label: "W2A8", group: "uniform", options: { weightBits: 2 } },
  { id: "w2a8-ternary", label: "W2A8 ternary", group: "uniform", options: { weightBits: 2, weightFormat: "ternary" } },
  { id: "w1a8", label: "W1A8 binary", group: "binary", options: { weightBits: 1 } },
  { id: "w1a1", label: "W1A1 XNOR", group: "binary", options: { weightBits: 1, actBits: 1 } },
];

export function configOptionsText(o: ConfigSpec["options"]): string {
  if (o === "fp32") return "float model";
  return Object.entries(o).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`).join(", ");
}

/** The configurations named by `ids` (all of CONFIGS when none), in CONFIGS order; an unknown id is a usage error. */
export function selectConfigs(ids?: string[]): ConfigSpec[] {
  if (!ids || ids.length === 0) return [...CONFIGS];
  const unknown = ids.filter((id) => !CONFIGS.some((c) => c.id === id));
  if (unknown.length) throw new QwmUsageError(`unknown configuration${unknown.length > 1 ? "s" : ""} ${unknown.map((u) => `'${u}'`).join(", ")} (known: ${CONFIGS.map((c) => c.id).join(", ")})`);
  return CONFIGS.filter((c) => ids.includes(c.id));
}

/** The layer-sensitivity analysis as the report calls it: `sensitivity()` of src/quantize/sensitivity.ts. */
export type SensitivityFn = (onnx: Uint8Array, opts: SensitivityOptions) => Promise<Pick<SensitivityTable, "bits" | "layers"> & Partial<SensitivityTable>>;

export interface CollectOptions {
  /**
   * Calibration images (unlabeled is fine): the first `base.calibSize` calibrate; the sensitivity analysis and
   * the mixed-precision search score on the images after them (else on the last quarter, see splitHeldOut).
   */
  calib: Dataset;
  /** Labeled evaluation images. */
  data: Dataset;
  /** Configurations to try (default: all of CONFIGS). */
  configs?: ConfigSpec[];
  /** Options every configuration shares: preprocessing, labels, calibration method and size. */
  base?: Omit<QuantizeOptions, "calib" | "onProgress" | "weightBits" | "weightFormat">;
  /** Evaluate on the first `limit` images. */
  limit?: number;
  /** The sensitivity analysis (default: src/quantize/sensitivity.ts); false: leave the section out. */
  sensitivity?: SensitivityFn | false;
  /** Weight widths of the sensitivity analysis (default 8, 4, 2, 1). */
  sensitivityBits?: number[];
  /** Held-out calibration images the sensitivity analysis scores on (default 256). */
  sensitivityHeldOut?: number;
  /** The configuration whose layers are tabulated and drawn (default: w4a8, else the first quantized one). */
  detail?: string;
  /** Called with each quantized configuration's .qwm (e.g. to save it for `qwasm eval`). */
  onModel?: (id: string, qwm: Uint8Array) => void;
  /** One call per step: step k of n, and what it is doing. */
  onProgress?: (done: number, total: number, what: string) => void;
  /** Shown in the report's title; default "model". */
  modelName?: string;
  /** The report's time stamp (default: now). */
  generated?: string;
}

const isWeighted = (n: Node): n is Extract<Node, { op: "conv" | "dense" }> => n.op === "conv" || n.op === "dense";

/** One layer's packed weights as quantize() leaves them (QuantizeResult.quantized.weights). */
export type LayerQuantization = QuantizedGraph["weights"] extends Map<string, infer W> ? W : never;

const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

/**
 * The grid of a layer's representation: per output channel, the real size of one step and the levels, in steps,
 * its weights can take (the grid in real units is level x step).
 *   uniform 8 / 4 / 2 bits   step = the channel's scale; levels -127..127, -7..7, -2..1
 *   ternary, binary (BWN)    step = the channel's scale; levels -1, 0, 1 and -1, 1
 *   k-means, power-of-two    step = the channel's table scale; levels the entries of the channel's table
 *                            (one table for the layer, or one per channel): the int8 values `q` holds
 *   binary XNOR              `scales` are those of the +-1 dot product (they include the input's two-level fit),
 *                            so the step is the weights' own alpha = mean |w| of the channel (applyXnor's, in
 *                            quantize()); levels -1, 1
 * Another uniform width (none is produced today) takes the levels its weights use.
 */
export function layerGrid(n: Extract<Node, { op: "conv" | "dense" }>, lw: LayerQuantization): { step: Float64Array; levels: (c: number) => number[]; perChannel: boolean; bits: number; format: string } {
  const N = n.outChannels, per = n.weight.length / N;
  const bits = lw.bits ?? 8;
  const step = Float64Array.from(lw.scales);
  if (lw.xnor) {
    for (let c = 0; c < N; c++) {
      let s = 0;
      for (let i = 0; i < per; i++) s += Math.abs(n.weight[c * per + i]);
      step[c] = s / per || 1e-12;
    }
    return { step, levels: () => [-1, 1], perChannel: false, bits: 1, format: "xnor" };
  }
  if (lw.codebook) {
    const { entries, perChannel, tables } = lw.codebook;
    const table = (c: number) => [...new Set(tables.subarray(perChannel ? c * entries : 0, (perChannel ? c * entries : 0) + entries))].sort((a, b) => a - b);
    const shared = perChannel ? undefined : table(0);
    return { step, levels: (c) => shared ?? table(c), perChannel, bits, format: lw.format ?? "codebook" };
  }
  const format = lw.format ?? (bits === 1 ? "binary" : "uniform");
  const known = format === "binary" || bits === 1 ? [-1, 1] : format === "ternary" ? [-1, 0, 1]
    : bits === 8 ? range(-127, 127) : bits === 4 ? range(-7, 7) : bits === 2 ? range(-2, 1) : [...new Set(lw.q)].sort((a, b) => a - b);
  return { step, levels: () => known, perChannel: false, bits, format };
}

/**
 * Histogram of one layer's float weights in steps of their channel's grid (layerGrid), with the grid's levels:
 * a weight more than half a step beyond its channel's outermost levels counts as clipped; the RMS error is
 * that of w / step - q.
 */
export function weightHistogram(n: Extract<Node, { op: "conv" | "dense" }>, lw: LayerQuantization, bins = 60): ReportHistogram {
  const N = n.outChannels, per = n.weight.length / N;
  const grid = layerGrid(n, lw);
  const x = new Float64Array(n.weight.length);
  const all = new Set<number>();
  let se = 0, clipped = 0;
  for (let c = 0; c < N; c++) {
    const lv = grid.levels(c);
    for (const v of lv) all.add(v);
    const lo = lv[0] - 0.5, hi = lv[lv.length - 1] + 0.5;
    for (let i = c * per; i < (c + 1) * per; i++) {
      x[i] = n.weight[i] / grid.step[c];
      se += (x[i] - lw.q[i]) ** 2;
      if (x[i] < lo || x[i] > hi) clipped++;
    }
  }
  const levels = [...all].sort((a, b) => a - b);
  const clip: [number, number] = [levels[0], levels[levels.length - 1]];
  let mn = Infinity, mx = -Infinity;
  for (const v of x) { mn = Math.min(mn, v); mx = Math.max(mx, v); }
  const lo = Math.min(mn, clip[0] - 0.5), hi = Math.max(mx, clip[1] + 0.5);
  const pad = (hi - lo) * 0.02;
  const a = lo - pad, b = hi + pad;
  const counts = new Array<number>(bins).fill(0);
  for (const v of x) counts[Math.min(bins - 1, Math.floor(((v - a) / (b - a)) * bins))]++;
  return {
    layer: n.name, op: n.op === "conv" ? (n.groups !== 1 ? "depthwise conv" : `conv ${n.kernel[0]}x${n.kernel[1]}`) : "dense",
    bits: grid.bits, format: grid.format, weights: x.length, lo: a, hi: b, counts, levels, clip, clipped: clipped / x.length, rmsError: Math.sqrt(se / x.length),
    ...(grid.perChannel ? { perChannel: { channels: N, levels: Math.max(...Array.from({ length: N }, (_, c) => grid.levels(c).length)), channel0: grid.levels(0) } } : {}),
  };
}

/**
 * The per-layer rows of a .qwm, conv / dense ops named after the graph's layers (in order; a lowering that
 * does not give one op per layer leaves the ops' own names).
 */
export function reportLayers(qwm: Uint8Array, g: Graph): ReportLayer[] {
  const d = describe(qwm);
  const names = g.nodes.filter(isWeighted).map((n) => n.name);
  const weighted = (l: { weightBits: number; weightBytes: number }) => l.weightBits > 0 && l.weightBytes > 0;
  const named = d.layers.filter(weighted).length === names.length;
  let k = 0;
  return d.layers.map((l) => ({
    index: l.index, name: named && weighted(l) ? names[k++] : l.op, op: l.op, input: l.input, output: l.output,
    weightBits: l.weightBits, actBits: l.actBits, scheme: l.scheme, weightBytes: l.weightBytes, params: l.params, macs: l.macs,
    bops: l.macs * l.weightBits * l.actBits,
  }));
}

/** The sensitivity table as the report keeps it (JSON-able, widths as keys). */
export function reportSensitivity(t: Awaited<ReturnType<SensitivityFn>>): ReportSensitivity & { available: true } {
  const layers: SensitivityLayer[] = t.layers.map((l) => ({
    name: l.name, op: l.op, params: l.params, perBits: Object.fromEntries(Object.entries(l.perBits).map(([b, s]) => [b, { kl: s.kl, top1Agreement: s.top1Agreement }])),
    ...(l.bytesAtBits ? { bytesAtBits: { ...l.bytesAtBits } } : {}),
    ...(l.storedBitsAtBits ? { storedBitsAtBits: { ...l.storedBitsAtBits } } : {}),
  }));
  return {
    available: true, bits: [...t.bits].sort((a, b) => b - a), layers,
    ...(t.heldOutImages !== undefined ? { heldOutImages: t.heldOutImages } : {}),
    ...(t.int8 ? { int8: { kl: t.int8.kl, top1Agreement: t.int8.top1Agreement } } : {}),
  };
}

/** Quantizes and evaluates every configuration, measures the layer sensitivity, and gathers the report's data. */
export async function collectReport(onnx: Uint8Array, opts: CollectOptions): Promise<ReportData> {
  const specs = opts.configs ?? [...CONFIGS];
  const base = opts.base ?? {};
  const sensBits = opts.sensitivityBits ?? [8, 4, 2, 1];
  const analysis = opts.sensitivity === undefined ? measureLayerSensitivity : opts.sensitivity;
  const steps = specs.length + (analysis ? 1 : 0);
  let step = 0;
  const tell = (what: string) => opts.onProgress?.(step, steps, what);
  const configs: ReportConfig[] = [];
  const results = new Map<string, QuantizeResult>();
  const limit = Math.min(opts.limit ?? opts.data.images.length, opts.data.images.length);
  if (limit === 0) throw new QwmUsageError("report: the evaluation set has no images");
  if (opts.detail && !specs.some((s) => s.id === opts.detail)) throw new QwmUsageError(`report: --detail '${opts.detail}' is not among the configurations`);
  for (const spec of specs) {
    const c: ReportConfig = { id: spec.id, label: spec.label, group: spec.group, options: configOptionsText(spec.options), status: "ok" };
    configs.push(c);
    try {
      if (spec.options === "fp32") {
        tell(`${spec.label}: evaluating`);
        const qwm = floatQwm(onnx, base);
        c.eval = await evaluate(qwm, opts.data, { limit, modelBytes: onnx.length });
        c.layerBits = describe(qwm).layers.filter((l) => l.weightBits > 0 && l.weightBytes > 0).map((l) => l.weightBits);
      } else {
        tell(`${spec.label}: quantizing`);
        const r = await quantize(onnx, { ...base, ...spec.options, calib: opts.calib });
        results.set(spec.id, r);
        c.calibration = r.method;
        opts.onModel?.(spec.id, r.qwm);
        tell(`${spec.label}: evaluating`);
        c.eval = await evaluate(r.qwm, opts.data, { limit });
        c.layerBits = describe(r.qwm).layers.filter((l) => l.weightBits > 0 && l.weightBytes > 0).map((l) => l.weightBits);
      }
    } catch (e) {
      if (e instanceof QwmUsageError) throw e;
      Object.assign(c, { status: "failed", why: (e as Error).message });
      tell(`${spec.label}: failed (${(e as Error).message})`);
    }
    step++;
  }

  // the detailed configuration: its layers from the .qwm, its weights against its grid
  // (a requested one that failed gives way to the default)
  const detailId = opts.detail && results.has(opts.detail) ? opts.detail : results.has("w4a8") ? "w4a8" : [...results.keys()][0];
  let detail: ReportData["detail"];
  const dr = detailId ? results.get(detailId) : undefined;
  if (dr) {
    const nodes = dr.graph.nodes.filter(isWeighted);
    detail = {
      configId: detailId!, layers: reportLayers(dr.qwm, dr.graph),
      histograms: nodes.filter((n) => dr.quantized.weights.has(n.name)).map((n) => weightHistogram(n, dr.quantized.weights.get(n.name)!)),
    };
  }

  // sensitivity: an analysis that fails is reported, not fatal
  let sensitivity: ReportSensitivity;
  if (!analysis) {
    sensitivity = { available: false, why: "not asked for" };
  } else {
    tell(`sensitivity at ${sensBits.join(", ")} bits`);
    try {
      const s = await analysis(onnx, {
        calib: opts.calib, bits: sensBits, calibSize: base.calibSize, heldOutSize: opts.sensitivityHeldOut ?? 256, calibration: base.calibration,
        percentile: base.percentile, perTensor: base.perTensor, preprocess: base.preprocess,
      });
      sensitivity = reportSensitivity(s);
    } catch (e) {
      if (e instanceof QwmUsageError) throw e;
      sensitivity = { available: false, why: `the analysis failed: ${(e as Error).message}` };
    }
    step++;
  }
  tell("done");

  const fq = describe(floatQwm(onnx, base));
  const inT = fq.contents.tensors[fq.contents.inputTensor], outT = fq.contents.tensors[fq.contents.outputTensor];
  return {
    title: `Quantization report: ${opts.modelName ?? "model"}`,
    model: { name: opts.modelName ?? "model", bytes: onnx.length, params: fq.params, macs: fq.macs, input: inT.shape, classes: outT.shape[2] },
    data: { source: opts.data.source, n: limit },
    calib: { source: opts.calib.source, n: Math.min(base.calibSize ?? 256, opts.calib.images.length) },
    generated: opts.generated ?? new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    tool: `qwasm ${VERSION}`,
    configs, detail, sensitivity,
  };
}
