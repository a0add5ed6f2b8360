// What a quantization report shows (issue 14): the data `collectReport` gathers and `renderReport` draws.
// Plain JSON-able values, so a report can be rendered again from its embedded data.
import type { EvalReport } from "../api.ts";

/** One configuration tried: its evaluation (what `qwasm eval --json` prints for its model), or why there is none. */
export interface ReportConfig {
  id: string;
  label: string;
  /** "baseline", "uniform", "repairs", "mixed", "k-means", "power-of-two", ... (legend and grouping). */
  group: string;
  /** The options it was quantized with, as text (e.g. `weightBits: 4, cle: true`). */
  options: string;
  status: "ok" | "failed";
  /** For "failed": the error, one line. */
  why?: string;
  eval?: EvalReport;
  /** The calibration method quantize() used ("model": the QDQ model's own scales). */
  calibration?: string;
  /** Weight bits of the conv / dense layers, in order (0: float). */
  layerBits?: number[];
}

/** One op of the detailed configuration's .qwm (src/pack/read.ts `layers`), with the graph's layer name. */
export interface ReportLayer {
  index: number;
  /** The graph node's name for conv / dense layers; the op name otherwise. */
  name: string;
  op: string;
  input: [number, number, number];
  output: [number, number, number];
  weightBits: number;
  actBits: number;
  scheme: string;
  weightBytes: number;
  params: number;
  macs: number;
  /** MACs x weight bits x activation bits (0 for ops without weights, as in `eval`'s total). */
  bops: number;
}

/**
 * A layer's float weights divided by their output channel's step (its scale; binary XNOR: alpha = mean |w|), as
 * a histogram, with the levels the representation can take, in steps (src/report/collect.ts `layerGrid`).
 * Values more than half a step beyond their channel's outermost levels are clipped by the quantizer.
 */
export interface ReportHistogram {
  layer: string;
  op: string;
  bits: number;
  format: string;
  weights: number;
  /** x range of the bins, in steps. */
  lo: number;
  hi: number;
  counts: number[];
  /** Representable levels, in steps (integers; k-means / power-of-two: the table entries, the union of the channels' tables). */
  levels: number[];
  /** Per-channel codebooks: each channel has its own table of at most `levels` entries; channel 0's, in steps. */
  perChannel?: { channels: number; levels: number; channel0: number[] };
  clip: [number, number];
  /** Fraction of weights more than half a step beyond their channel's outermost levels. */
  clipped: number;
  /** RMS of w/scale - q over the layer, in steps: the rounding and clipping error. */
  rmsError: number;
}

export interface SensitivityLayer {
  name: string;
  op: string;
  params: number;
  bytesAtBits?: Record<string, number>;
  /** Weight bits of the kernel the layer runs on at each width (a 2-bit layer may be stored widened). */
  storedBitsAtBits?: Record<string, number>;
  /** Per weight width: KL divergence of the outputs from fp32, and top-1 agreement with fp32 (the other layers at int8). */
  perBits: Record<string, { kl: number; top1Agreement: number }>;
}

export type ReportSensitivity =
  | { available: true; bits: number[]; layers: SensitivityLayer[]; heldOutImages?: number; int8?: { kl: number; top1Agreement: number } }
  | { available: false; why: string };

export interface ReportData {
  title: string;
  model: { name: string; bytes: number; params: number; macs: number; input: number[]; classes: number };
  data: { source: string; n: number };
  calib: { source: string; n: number };
  /** ISO time the report was made, and by what. */
  generated: string;
  tool: string;
  configs: ReportConfig[];
  /** The configuration whose layers are tabulated and whose weights are drawn. */
  detail?: { configId: string; layers: ReportLayer[]; histograms: ReportHistogram[] };
  sensitivity: ReportSensitivity;
}
