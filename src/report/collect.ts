// Gathering a quantization report (issue 14): every configuration quantized with `quantize()` and evaluated
// with `evaluate()` (the functions `qwasm quantize` and `qwasm eval --json` run, so the figures are the same),
// the per-layer view of one configuration from its .qwm (src/pack/read.ts) and its quantized weights, and the
// layer sensitivity from a provider function when there is one. The configurations are data (CONFIGS); those
// needing a feature this build lacks are reported as not available instead of silently running without it.
import { describe, evaluate, floatQwm, quantize, QwmUsageError, VERSION, type QuantizeOptions, type QuantizeResult } from "../api.ts";
import type { Dataset } from "../data/index.ts";
import type { Graph, Node } from "../ir/graph.ts";
import { applyLowBit } from "../quantize/lowbit.ts";
import type { ReportConfig, ReportData, ReportHistogram, ReportLayer, ReportSensitivity, SensitivityLayer } from "./types.ts";

/**
 * Options of the PTQ-repairs and mixed-precision work, not in every build's QuantizeOptions yet; declared here
 * with the same names and types so that the configurations can name them.
 */
export interface FutureOptions {
  cle?: boolean;
  biasCorrection?: boolean;
  adaround?: boolean | { iterations?: number };
  weightClip?: "mse" | "aciq";
  sizeBudgetKiB?: number;
  avgBits?: number;
  bitsPerLayer?: Record<string, number>;
}
export type ConfigOptions = Omit<QuantizeOptions, "calib" | "onProgress" | "weightFormat"> & FutureOptions & { weightFormat?: string };

/** A configuration to try: `options: "fp32"` is the float model on our fp32 kernels. */
export interface ConfigSpec {
  id: string;
  label: string;
  group: string;
  options: ConfigOptions | "fp32";
}

/** Everything the report tries by default, in the order the tables list them. */
export const CONFIGS: readonly ConfigSpec[] = [
  { id: "fp32", label: "fp32", group: "baseline", options: "fp32" },
  { id: "w8a8", label: "W8A8", group: "uniform", options: { weightBits: 8 } },
  { id: "w4a8", label: "W4A8", group: "uniform", options: { weightBits: 4 } },
  { id: "w4a8-cle-bc", label: "W4A8 CLE+BC", group: "repairs", options: { weightBits: 4, cle: true, biasCorrection: true } },
  { id: "w4a8-mse", label: "W4A8 MSE clip", group: "repairs", options: { weightBits: 4, weightClip: "mse" } },
  { id: "w4a8-adaround", label: "W4A8 AdaRound", group: "repairs", options: { weightBits: 4, adaround: true } },
  { id: "w4a8-repairs", label: "W4A8 all repairs", group: "repairs", options: { weightBits: 4, cle: true, biasCorrection: true, weightClip: "mse", adaround: true } },
  { id: "w2a8", label: "W2A8", group: "uniform", options: { weightBits: 2 } },
  { id: "w2a8-ternary", label: "W2A8 ternary", group: "uniform", options: { weightBits: 2, weightFormat: "ternary" } },
  { id: "w1a8", label: "W1A8 binary", group: "uniform", options: { weightBits: 1 } },
  { id: "mixed-avg4", label: "mixed, 4 bits avg", group: "mixed", options: { avgBits: 4 } },
  { id: "mixed-avg3", label: "mixed, 3 bits avg", group: "mixed", options: { avgBits: 3 } },
  { id: "kmeans-w4", label: "W4A8 k-means", group: "k-means", options: { weightBits: 4, weightFormat: "kmeans" } },
  { id: "kmeans-w3", label: "W3A8 k-means", group: "k-means", options: { weightBits: 3, weightFormat: "kmeans" } },
  { id: "pow2-w4", label: "W4A8 power-of-two", group: "power-of-two", options: { weightBits: 4, weightFormat: "pow2" } },
  { id: "pow2-w3", label: "W3A8 power-of-two", group: "power-of-two", options: { weightBits: 3, weightFormat: "pow2" } },
];

/**
 * The FutureOptions this build's `quantize()` implements. quantize() ignores options it does not know, so a
 * configuration naming one would silently run without it: it is reported as not available until its name is
 * here (added where the option is implemented).
 */
export const IMPLEMENTED_OPTIONS: ReadonlySet<keyof FutureOptions> = new Set<keyof FutureOptions>([]);

/** Whether a weight format runs in this build: asks the low-bit quantizer itself on a one-layer graph. */
function formatAvailable(format: string, bits: number): string | undefined {
  const node = { op: "dense", name: "probe", input: "x", output: "y", weight: Float32Array.from({ length: 16 }, (_, i) => (i - 7.5) / 8), bias: new Float32Array(2), outChannels: 2, act: "none" } as Node;
  const g = { nodes: [node] } as unknown as Graph;
  try {
    applyLowBit(g, { act: new Map(), weights: new Map() }, { bits, format: format as any, keepEnds: false });
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** Why a configuration cannot run in this build, or undefined when it can. */
export function unavailableReason(spec: ConfigSpec): string | undefined {
  if (spec.options === "fp32") return undefined;
  const missing = (Object.keys(spec.options) as (keyof ConfigOptions)[])
    .filter((k) => ["cle", "biasCorrection", "adaround", "weightClip", "sizeBudgetKiB", "avgBits", "bitsPerLayer"].includes(k) && !IMPLEMENTED_OPTIONS.has(k as keyof FutureOptions));
  if (missing.length) return `QuantizeOptions ${missing.join(", ")} ${missing.length > 1 ? "are" : "is"} not implemented`;
  const f = spec.options.weightFormat;
  if (f && f !== "uniform" && f !== "ternary") {
    const why = formatAvailable(f, spec.options.weightBits ?? 4);
    if (why) return why;
  }
  return undefined;
}

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

/** The layer-sensitivity analysis (src/quantize/sensitivity.ts) as the report calls it. */
export type SensitivityFn = (onnx: Uint8Array, opts: { calib: Dataset; bits: number[] } & Omit<QuantizeOptions, "calib">) => Promise<{
  layers: { name: string; op: string; params: number; bytesAtBits?: Record<string, number>; perBits: Record<string, { kl: number; top1Agreement: number }> }[];
}>;

export interface CollectOptions {
  /** Calibration images (unlabeled is fine) and labeled evaluation images. */
  calib: Dataset;
  data: Dataset;
  /** Configurations to try (default: all of CONFIGS). */
  configs?: ConfigSpec[];
  /** Options every configuration shares: preprocessing, labels, calibration method and size. */
  base?: Omit<QuantizeOptions, "calib" | "onProgress" | "weightBits" | "weightFormat">;
  /** Evaluate on the first `limit` images. */
  limit?: number;
  /** The sensitivity provider; absent or null: the report says it is not available. */
  sensitivity?: SensitivityFn | null;
  /** Why there is no provider (shown in the report). */
  sensitivityMissing?: string;
  sensitivityBits?: number[];
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

/** Representable levels, in steps, of a known representation; undefined when the format is not one we know. */
function knownLevels(bits: number, format: string): number[] | undefined {
  const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
  if (format === "binary" || bits === 1) return [-1, 1];
  if (format === "ternary") return [-1, 0, 1];
  if (format !== "uniform") return undefined;
  if (bits === 8) return range(-127, 127);
  if (bits === 4) return range(-7, 7);
  if (bits === 2) return range(-2, 1);
  return undefined;
}

/** Histogram of one layer's weights in steps of its channel scales, with the representation's levels. */
export function weightHistogram(n: Extract<Node, { op: "conv" | "dense" }>, lw: { q: Int8Array; scales: Float32Array; bits?: number; format?: string }, bins = 60): ReportHistogram {
  const N = n.outChannels, per = n.weight.length / N;
  const bits = lw.bits ?? 8, format = lw.format ?? "uniform";
  const x = new Float64Array(n.weight.length);
  let se = 0;
  for (let i = 0; i < x.length; i++) {
    x[i] = n.weight[i] / lw.scales[Math.floor(i / per)];
    se += (x[i] - lw.q[i]) ** 2;
  }
  const used = [...new Set(lw.q)].sort((a, b) => a - b);
  const levels = knownLevels(bits, format) ?? used;
  const clip: [number, number] = [levels[0], levels[levels.length - 1]];
  let mn = Infinity, mx = -Infinity, clipped = 0;
  for (const v of x) { mn = Math.min(mn, v); mx = Math.max(mx, v); if (v < clip[0] - 0.5 || v > clip[1] + 0.5) clipped++; }
  const lo = Math.min(mn, clip[0] - 0.5), hi = Math.max(mx, clip[1] + 0.5);
  const pad = (hi - lo) * 0.02;
  const a = lo - pad, b = hi + pad;
  const counts = new Array<number>(bins).fill(0);
  for (const v of x) counts[Math.min(bins - 1, Math.floor(((v - a) / (b - a)) * bins))]++;
  return {
    layer: n.name, op: n.op === "conv" ? (n.groups !== 1 ? "depthwise conv" : `conv ${n.kernel[0]}x${n.kernel[1]}`) : "dense",
    bits, format, weights: x.length, lo: a, hi: b, counts, levels, clip, clipped: clipped / x.length, rmsError: Math.sqrt(se / x.length),
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

/** Quantizes and evaluates every configuration and gathers the report's data. */
export async function collectReport(onnx: Uint8Array, opts: CollectOptions): Promise<ReportData> {
  const specs = opts.configs ?? [...CONFIGS];
  const base = opts.base ?? {};
  const sensBits = opts.sensitivityBits ?? [8, 4, 2];
  const steps = specs.length + 1;
  let step = 0;
  const tell = (what: string) => opts.onProgress?.(step, steps, what);
  const configs: ReportConfig[] = [];
  const results = new Map<string, QuantizeResult>();
  const limit = Math.min(opts.limit ?? opts.data.images.length, opts.data.images.length);
  if (limit === 0) throw new QwmUsageError("report: the evaluation set has no images");
  for (const spec of specs) {
    const c: ReportConfig = { id: spec.id, label: spec.label, group: spec.group, options: configOptionsText(spec.options), status: "ok" };
    configs.push(c);
    const why = unavailableReason(spec);
    if (why) {
      Object.assign(c, { status: "unavailable", why });
      tell(`${spec.label}: not available in this build (${why})`);
      step++;
      continue;
    }
    try {
      if (spec.options === "fp32") {
        tell(`${spec.label}: evaluating`);
        const qwm = floatQwm(onnx, base);
        c.eval = await evaluate(qwm, opts.data, { limit, modelBytes: onnx.length });
        c.layerBits = describe(qwm).layers.filter((l) => l.weightBits > 0 && l.weightBytes > 0).map((l) => l.weightBits);
      } else {
        tell(`${spec.label}: quantizing`);
        const r = await quantize(onnx, { ...base, ...(spec.options as QuantizeOptions), calib: opts.calib });
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
    }
    step++;
  }

  // the detailed configuration: its layers from the .qwm, its weights against its grid
  // (a requested one that did not run gives way to the default)
  if (opts.detail && !specs.some((s) => s.id === opts.detail)) throw new QwmUsageError(`report: --detail '${opts.detail}' is not among the configurations`);
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

  // sensitivity
  let sensitivity: ReportSensitivity;
  if (!opts.sensitivity) {
    sensitivity = { available: false, why: opts.sensitivityMissing ?? "no sensitivity analysis in this build (src/quantize/sensitivity.ts)" };
    tell("sensitivity: not available");
  } else {
    tell(`sensitivity at ${sensBits.join(", ")} bits`);
    try {
      const s = await opts.sensitivity(onnx, { ...base, calib: opts.calib, bits: sensBits });
      const layers: SensitivityLayer[] = s.layers.map((l) => ({ name: l.name, op: l.op, params: l.params, bytesAtBits: l.bytesAtBits, perBits: l.perBits }));
      sensitivity = { available: true, bits: sensBits, layers };
    } catch (e) {
      sensitivity = { available: false, why: `the analysis failed: ${(e as Error).message}` };
    }
  }
  step++;
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

/**
 * The layer-sensitivity provider of this build, when it has one (src/quantize/sensitivity.ts, exporting
 * `sensitivity`). Looked up at run time so that the report works in builds without it: the template import
 * resolves against this file under tsx, and esbuild bundles every src/quantize/*.ts for it into the CLI.
 */
export async function findSensitivity(module = "sensitivity"): Promise<{ fn?: SensitivityFn; why?: string }> {
  let m: Record<string, unknown>;
  try {
    m = await import(`../quantize/${module}.ts`);
  } catch {
    return { why: `no sensitivity analysis in this build (src/quantize/${module}.ts)` };
  }
  if (typeof m.sensitivity !== "function") return { why: `src/quantize/${module}.ts exports no sensitivity() function` };
  return { fn: m.sensitivity as SensitivityFn };
}
