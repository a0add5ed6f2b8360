// Sub-8-bit weights (issue #6): naive per-channel rounding of a layer's float weights to b bits, in the
// representations the kernels execute (docs/kernels.md, "Sub-8-bit weights"):
//   uniform 4-bit   q in [-7, 7], scale = max|w| / 7 per output channel           (qs4 ops)
//   uniform 2-bit   q in [-2, 1] (a 4-level grid), scale = max(-min/2, max) per ch (qs2 ops)
//   ternary (TWN)   q in {-1, 0, 1}: delta = 0.7 mean|w|, scale = mean |w| over |w| > delta   (qs2 ops)
//   binary (BWN)    q = sign(w) (+1 at 0), scale = mean|w| per output channel          (qbw ops)
// Every representation has conv, dense and depthwise kernels (depthwise 2-bit / ternary / BWN since 1.1's ops 37, 38).
import type { Graph, Node } from "../ir/graph.ts";
import type { QuantizedGraph } from "../pack/lower.ts";
import { roundHalfAway, QwmQuantizeError } from "./params.ts";
import { fitOutputScales } from "./binary.ts";

export type WeightFormat = "uniform" | "ternary" | "kmeans" | "pow2";
export interface LowBitOptions {
  /** Weight bits: 8 (no change), 4, 2 or 1 (3 only with kmeans / pow2, which are not implemented yet). */
  bits: number;
  format?: WeightFormat;
  /** Keep the first conv and the last layer at 8 bits (default true). */
  keepEnds?: boolean;
  /** Only these layers (by name) take `bits`; the others stay int8 (default: every layer but the ends). */
  only?: (name: string) => boolean;
}

export interface LayerWeights { q: Int8Array; scales: Float32Array; bits?: number; format?: string }

const TINY = 1e-12;

/** Per-channel naive rounding of `w` ([N][rest]) to the representation of `bits` / `format`. */
export function quantizeWeightsLowBit(w: Float32Array, N: number, bits: number, format: WeightFormat = "uniform"): LayerWeights {
  const per = w.length / N;
  const q = new Int8Array(w.length);
  const scales = new Float32Array(N);
  for (let n = 0; n < N; n++) {
    const row = w.subarray(n * per, (n + 1) * per);
    let mn = 0, mx = 0, sumAbs = 0;
    for (const v of row) { mn = Math.min(mn, v); mx = Math.max(mx, v); sumAbs += Math.abs(v); }
    const meanAbs = sumAbs / per;
    let s: number, lo: number, hi: number;
    if (bits === 1) {
      s = Math.max(meanAbs, TINY);
      for (let i = 0; i < per; i++) q[n * per + i] = row[i] < 0 ? -1 : 1;
      scales[n] = s;
      continue;
    }
    if (bits === 2 && format === "ternary") {
      const delta = 0.7 * meanAbs;
      let sum = 0, cnt = 0;
      for (const v of row) if (Math.abs(v) > delta) { sum += Math.abs(v); cnt++; }
      s = Math.max(cnt ? sum / cnt : meanAbs, TINY);
      for (let i = 0; i < per; i++) q[n * per + i] = Math.abs(row[i]) > delta ? Math.sign(row[i]) : 0;
      scales[n] = s;
      continue;
    }
    if (bits === 4) { s = Math.max(mx, -mn) / 7; lo = -7; hi = 7; }
    else if (bits === 2) { s = Math.max(-mn / 2, mx); lo = -2; hi = 1; }
    else throw new QwmQuantizeError(`weights: ${bits}-bit ${format} weights have no kernel (use 8, 4, 2 or 1 bits, uniform or ternary)`);
    s = Math.max(s, TINY);
    for (let i = 0; i < per; i++) {
      const v = roundHalfAway(row[i] / s);
      q[n * per + i] = v < lo ? lo : v > hi ? hi : v;
    }
    scales[n] = s;
  }
  return { q, scales, bits, format: bits === 1 ? "binary" : format };
}

/**
 * Re-quantizes the conv / dense weights of `qg` to `opts.bits` (in place of the int8 ones), except the first
 * conv and the last layer when keepEnds (default). Depthwise layers take the same representation (qs4, qs2 or
 * qbw depthwise kernels); a 2-bit or binary depthwise layer whose requantization multiplier would reach 1 gets a
 * coarser output scale (the conv and dense layers are stored as int4 with 2^e-scaled integers instead, lower.ts).
 * Returns the per-layer choice.
 */
export function applyLowBit(g: Graph, qg: QuantizedGraph, opts: LowBitOptions): { name: string; bits: number; format: string }[] {
  const format = opts.format ?? "uniform";
  if (![8, 4, 3, 2, 1].includes(opts.bits)) throw new QwmQuantizeError(`--weights ${opts.bits}: use 8, 4, 3, 2 or 1`);
  if (opts.bits === 3 && format !== "kmeans" && format !== "pow2") throw new QwmQuantizeError("3-bit weights only with --weight-format kmeans or pow2");
  if (format === "kmeans" || format === "pow2") throw new QwmQuantizeError(`--weight-format ${format} is not implemented yet (issue #6 part 2)`);
  if (format === "ternary" && opts.bits !== 2) throw new QwmQuantizeError("ternary weights are 2-bit: use --weights 2");
  const layers = g.nodes.filter((n): n is Extract<Node, { op: "conv" | "dense" }> => n.op === "conv" || n.op === "dense");
  const out: { name: string; bits: number; format: string }[] = [];
  layers.forEach((n, i) => {
    const ends = ((opts.keepEnds ?? true) && (i === 0 || i === layers.length - 1)) || (opts.only !== undefined && !opts.only(n.name));
    const bits = ends ? 8 : opts.bits;
    if (bits === 8) { out.push({ name: n.name, bits: 8, format: "uniform" }); return; }
    const lw = quantizeWeightsLowBit(n.weight, n.outChannels, bits, bits === opts.bits ? format : "uniform");
    qg.weights.set(n.name, lw);
    out.push({ name: n.name, bits, format: lw.format! });
  });
  fitOutputScales(g, qg);
  return out;
}
