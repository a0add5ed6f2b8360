// Sub-8-bit weights (issue #6): naive per-channel rounding of a layer's float weights to b bits, in the
// representations the kernels execute (docs/kernels.md, "Sub-8-bit weights"):
//   uniform 4-bit   q in [-7, 7], scale = max|w| / 7 per output channel           (qs4 ops)
//   uniform 2-bit   q in [-2, 1] (a 4-level grid), scale = max(-min/2, max) per ch (qs2 ops)
//   ternary (TWN)   q in {-1, 0, 1}: delta = 0.7 mean|w|, scale = mean |w| over |w| > delta   (qs2 ops)
//   binary (BWN)    q = sign(w) (+1 at 0), scale = mean|w| per output channel          (qbw ops)
//   k-means codebook (Deep Compression weight sharing) 2^b centroids per output channel (default) or per layer:
//                   k-means++ seeding (fixed seed), Lloyd iterations; each centroid then snapped to an int8 level
//                   of the table's scale max|centroid| / 127, so that execution is integer   (qlut ops)
//   power-of-two    sign + exponent codes, one fixed table {0, +-2^0 .. +-2^(2^(b-1)-2)} (b = 3: {0, +-1, +-2,
//                   +-4}; b = 4: up to +-64), scale = max|w| / 2^(2^(b-1)-2) per channel, nearest level (qlut ops)
// Every representation has conv, dense and depthwise kernels (depthwise 2-bit / ternary / BWN: 1.1's ops 37, 38;
// codebook depthwise: op 33, at most 64 taps, so a larger depthwise kernel keeps uniform 4-bit, or int8 for
// codebooks of more than 4 bits, and says so).
import { mulberry32 } from "../util/rng.ts";
import type { Graph, Node } from "../ir/graph.ts";
import type { QuantizedGraph } from "../pack/lower.ts";
import type { Codebook } from "../pack/lowbit.ts";
import { roundHalfAway, QwmQuantizeError } from "./params.ts";
import { fitOutputScales } from "./binary.ts";

export type WeightFormat = "uniform" | "ternary" | "kmeans" | "pow2";
export type CodebookScope = "per-layer" | "per-channel";
export interface LowBitOptions {
  /** Weight bits: 8 (no change), 4, 2 or 1; 3 only with kmeans / pow2; kmeans takes 1..8, pow2 3 or 4. */
  bits: number;
  format?: WeightFormat;
  /**
   * k-means: one codebook per output channel (default) or one per layer (over the per-channel-normalized weights,
   * each channel keeping its scale). Depthwise layers always share one table per layer: a channel has only
   * KH*KW weights, fewer than a table's entries.
   */
  codebook?: CodebookScope;
  /** Keep the first conv and the last layer at 8 bits (default true). */
  keepEnds?: boolean;
  /** Only these layers (by name) take `bits`; the others stay int8 (default: every layer but the ends). */
  only?: (name: string) => boolean;
  /** One scale per layer instead of one per output channel. */
  perTensor?: boolean;
  /**
   * Explicit bits (8, 4, 2 or 1) of named layers (mixed precision, src/quantize/mixed.ts); they override `bits`
   * and keepEnds for those layers. Depthwise layers take 8 or 4. An unknown name is a QwmQuantizeError.
   */
  bitsPerLayer?: Record<string, number>;
}

const TINY = 1e-12;

export interface LayerWeights { q: Int8Array; scales: Float32Array; bits?: number; format?: string; codebook?: Codebook }


/** Index of the centroid nearest to v in the sorted `c` (ties to the lower one). */
function nearest(c: Float64Array, v: number): number {
  let lo = 0, hi = c.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (v > (c[mid] + c[mid + 1]) / 2) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * 1-D k-means of `x` with at most k centroids (fewer when x has fewer distinct values): k-means++ seeding with
 * a fixed seed, then Lloyd iterations until no assignment changes (at most `iters`). Returns sorted centroids.
 */
export function kmeans1d(x: Float32Array, k: number, seed = 1, iters = 50): Float64Array {
  const distinct = new Set(x).size;
  k = Math.max(1, Math.min(k, distinct));
  const rand = mulberry32(seed); // the same weights always give the same codebook
  const cent: number[] = [x[Math.floor(rand() * x.length)]];
  const d2 = new Float64Array(x.length).fill(Infinity);
  while (cent.length < k) {
    const last = cent[cent.length - 1];
    let total = 0;
    for (let i = 0; i < x.length; i++) { const d = (x[i] - last) ** 2; if (d < d2[i]) d2[i] = d; total += d2[i]; }
    let pick = 0;
    if (total > 0) {
      let r = rand() * total;
      for (pick = 0; pick < x.length - 1; pick++) { r -= d2[pick]; if (r < 0 && d2[pick] > 0) break; }
      if (d2[pick] === 0) pick = d2.findIndex((d) => d > 0);
    }
    cent.push(x[pick]);
  }
  let c = Float64Array.from(cent).sort();
  const assign = new Int32Array(x.length).fill(-1);
  for (let it = 0; it < iters; it++) {
    let changed = 0;
    const sum = new Float64Array(c.length), cnt = new Float64Array(c.length);
    for (let i = 0; i < x.length; i++) {
      const j = nearest(c, x[i]);
      if (j !== assign[i]) { assign[i] = j; changed++; }
      sum[j] += x[i]; cnt[j]++;
    }
    if (changed === 0 && it > 0) break;
    c = Float64Array.from(c, (v, j) => (cnt[j] ? sum[j] / cnt[j] : v)).sort();
  }
  return c;
}

/**
 * k-means codebook of a layer's weights `w` ([N][rest]): `bits`-bit indices into tables of int8 levels, one per
 * output channel, or one for the layer. The int8 weights q are the table values of the indices. A per-layer
 * table clusters the weights divided by their channel's max |w| and each channel keeps its own scale (the
 * requantization multiplier is per channel in every layout, so this costs nothing over one scale per layer).
 */
export function quantizeWeightsKmeans(w: Float32Array, N: number, bits: number, scope: CodebookScope = "per-channel"): LayerWeights {
  const per = w.length / N, perChannel = scope === "per-channel";
  // per-layer: each channel normalized by its max |w| (its range), then clustered together
  const range = new Float64Array(N).fill(TINY);
  for (let i = 0; i < w.length; i++) { const n = Math.floor(i / per); range[n] = Math.max(range[n], Math.abs(w[i])); }
  const groups = perChannel ? Array.from({ length: N }, (_, n) => w.subarray(n * per, (n + 1) * per)) : [Float32Array.from(w, (v, i) => v / range[Math.floor(i / per)])];
  const cents = groups.map((g) => kmeans1d(g, 2 ** bits));
  const entries = Math.max(...cents.map((c) => c.length));
  const tables = new Int8Array(groups.length * entries), idx = new Uint8Array(w.length), scales = new Float32Array(N);
  groups.forEach((g, gi) => {
    const c = cents[gi];
    const s = Math.max(Math.max(...Array.from(c, Math.abs)) / 127, TINY);
    for (let j = 0; j < c.length; j++) tables[gi * entries + j] = Math.max(-127, Math.min(127, roundHalfAway(c[j] / s)));
    for (let i = 0; i < g.length; i++) idx[gi * (perChannel ? per : 0) + i] = nearest(c, g[i]);
    if (perChannel) scales[gi] = s; else for (let n = 0; n < N; n++) scales[n] = s * range[n];
  });
  const codebook: Codebook = { bits, entries, perChannel, idx, tables };
  const q = Int8Array.from(idx, (v, i) => tables[(perChannel ? Math.floor(i / per) * entries : 0) + v]);
  return { q, scales, bits, format: "kmeans", codebook };
}

/** The fixed table of b-bit power-of-two codes: index 0 and 2^(b-1) are 0, then +-2^0, +-2^1, ... */
export function pow2Table(bits: number): Int8Array {
  const half = 2 ** (bits - 1);
  return Int8Array.from({ length: 2 * half }, (_, i) => (i % half === 0 ? 0 : (i < half ? 1 : -1) * 2 ** ((i % half) - 1)));
}

/** Power-of-two weights: per-channel scale max|w| / 2^emax, each weight the nearest level of pow2Table(bits). */
export function quantizeWeightsPow2(w: Float32Array, N: number, bits: number): LayerWeights {
  if (bits !== 3 && bits !== 4) throw new QwmQuantizeError(`pow2 weights: ${bits} bits; use 3 or 4`);
  const table = pow2Table(bits), top = Math.max(...table);
  const per = w.length / N, idx = new Uint8Array(w.length), scales = new Float32Array(N);
  for (let n = 0; n < N; n++) {
    const row = w.subarray(n * per, (n + 1) * per);
    let mx = 0;
    for (const v of row) mx = Math.max(mx, Math.abs(v));
    const s = Math.max(mx / top, TINY);
    scales[n] = s;
    for (let i = 0; i < per; i++) {
      const t = row[i] / s;
      let best = 0;
      for (let j = 1; j < table.length; j++) if (Math.abs(t - table[j]) < Math.abs(t - table[best])) best = j;
      idx[n * per + i] = best;
    }
  }
  const q = Int8Array.from(idx, (v) => table[v]);
  return { q, scales, bits, format: "pow2", codebook: { bits, entries: table.length, perChannel: false, idx, tables: table } };
}


/** Naive rounding of `w` ([N][rest]) to the representation of `bits` / `format`, per channel or per tensor. */
export function quantizeWeightsLowBit(w: Float32Array, N: number, bits: number, format: WeightFormat = "uniform", perTensor = false): LayerWeights {
  if (perTensor && N > 1) {
    // the whole tensor as one channel: one scale, the same codes
    const one = quantizeWeightsLowBit(w, 1, bits, format);
    return { ...one, scales: new Float32Array(N).fill(one.scales[0]) };
  }
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
 * conv and the last layer when keepEnds (default), and the layers of `opts.bitsPerLayer` at their own bits.
 * Depthwise layers take the same representation (qs4, qs2 or qbw depthwise kernels); a 2-bit or binary depthwise
 * layer whose requantization multiplier would reach 1 gets a coarser output scale (the conv and dense layers are
 * stored as int4 with 2^e-scaled integers instead, lower.ts). Returns the per-layer choice.
 */
export function applyLowBit(g: Graph, qg: QuantizedGraph, opts: LowBitOptions): { name: string; bits: number; format: string }[] {
  const format = opts.format ?? "uniform";
  if (!["uniform", "ternary", "kmeans", "pow2"].includes(format)) throw new QwmQuantizeError(`weight format '${format}': use uniform, ternary, kmeans or pow2`);
  const codebook = opts.codebook ?? "per-channel";
  if (codebook !== "per-channel" && codebook !== "per-layer") throw new QwmQuantizeError(`codebook '${codebook}': use per-channel or per-layer`);
  if (format === "kmeans") {
    if (!(Number.isInteger(opts.bits) && opts.bits >= 1 && opts.bits <= 8)) throw new QwmQuantizeError(`--weights ${opts.bits}: k-means codebooks take 1 to 8 bits`);
  } else if (format === "pow2") {
    if (opts.bits !== 3 && opts.bits !== 4) throw new QwmQuantizeError(`--weights ${opts.bits}: power-of-two weights take 3 or 4 bits`);
  } else {
    if (![8, 4, 3, 2, 1].includes(opts.bits)) throw new QwmQuantizeError(`--weights ${opts.bits}: use 8, 4, 3, 2 or 1`);
    if (opts.bits === 3) throw new QwmQuantizeError("3-bit weights only with --weight-format kmeans or pow2");
  }
  if (format === "ternary" && opts.bits !== 2) throw new QwmQuantizeError("ternary weights are 2-bit: use --weights 2");
  const lut = format === "kmeans" || format === "pow2";
  const layers = g.nodes.filter((n): n is Extract<Node, { op: "conv" | "dense" }> => n.op === "conv" || n.op === "dense");
  const per = opts.bitsPerLayer ?? {};
  for (const [name, b] of Object.entries(per)) {
    const n = layers.find((l) => l.name === name);
    if (!n) throw new QwmQuantizeError(`bits per layer: no conv / dense layer is named '${name}' (layers: ${layers.map((l) => l.name).join(", ")})`);
    if (![8, 4, 2, 1].includes(b)) throw new QwmQuantizeError(`bits per layer: layer '${name}' at ${b} bits; use 8, 4, 2 or 1`);
  }
  const out: { name: string; bits: number; format: string }[] = [];
  layers.forEach((n, i) => {
    const ends = ((opts.keepEnds ?? true) && (i === 0 || i === layers.length - 1)) || (opts.only !== undefined && !opts.only(n.name));
    let bits = per[n.name] ?? (ends ? 8 : opts.bits);
    const dw = n.op === "conv" && n.groups !== 1;
    // the codebook depthwise kernel takes at most 64 taps: a larger one keeps uniform 4-bit (or int8)
    const bigDw = dw && lut && n.kernel[0] * n.kernel[1] > 64;
    if (bigDw) bits = bits > 4 ? 8 : 4;
    const fmt = ends || bigDw || bits !== opts.bits ? "uniform" : format;
    if (bits === 8 && fmt !== "kmeans") { out.push({ name: n.name, bits: 8, format: "uniform" }); return; }
    // a depthwise channel has only KH*KW weights, fewer than a table's entries: depthwise layers share one table
    const lw = fmt === "kmeans" ? quantizeWeightsKmeans(n.weight, n.outChannels, bits, dw ? "per-layer" : codebook)
      : fmt === "pow2" ? quantizeWeightsPow2(n.weight, n.outChannels, bits)
      : quantizeWeightsLowBit(n.weight, n.outChannels, bits, fmt, opts.perTensor);
    qg.weights.set(n.name, lw);
    out.push({ name: n.name, bits, format: lw.format! });
  });
  fitOutputScales(g, qg);
  return out;
}
