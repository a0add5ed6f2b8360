// Cross-layer equalization and high-bias absorption (Nagel, van Baalen, Blankevoort, Welling, "Data-Free
// Quantization Through Weight Equalization and Bias Correction", ICCV 2019, sections 4.1 and 4.2), on the
// float graph before calibration.
//
// Pairs: a conv / depthwise / dense layer L1 whose output reaches exactly one conv / depthwise / dense layer L2
// through nothing but max pools and flattens (each value on the way read by that one node, none the graph's
// output), with L1's activation none, ReLU or ReLU6. ReLU is positively homogeneous, relu(x / s) = relu(x) / s,
// and max pooling commutes with a positive per-channel scale, so dividing L1's output channel i (its weights
// and bias) by s_i and multiplying L2's input channel i by s_i leaves the network's function unchanged.
// ReLU6 is not homogeneous (the clip at 6 would have to move to 6 / s_i, which the kernels cannot do per
// channel), so L1's ReLU6 becomes a ReLU when its pair is equalized, as the paper does for MobileNetV2; that is
// exact for every value below 6 and the change is measured (the fp32 accuracy before and after is in the repairs
// report). Residual adds, concats and average pools end a chain: no pair crosses them.
//   Equalization: r1_i = max |L1 row i|, r2_i = max |L2 input channel i| (every weight L2 applies to channel i;
//   a depthwise L2: its channel i), s_i = sqrt(r1_i / r2_i), which makes both ranges sqrt(r1_i r2_i). Pairs are
//   visited in graph order, again and again, until no s_i differs from 1 by more than 1e-6 (at most 100 sweeps;
//   chains like pointwise -> depthwise -> pointwise need several).
//   High-bias absorption: for a pair whose L1 ends in ReLU, the pre-activation of L1's channel i is measured on
//   calibration images (BatchNorm is folded already, so its beta / gamma are not available): mean b_i and std
//   g_i over all positions. c_i = max(0, b_i - 3 g_i) is taken out of L1's bias and L2's bias gains
//   sum over L2's weights on channel i times c_i. relu(x - c) = relu(x) - c holds wherever x >= c (nearly all
//   values when c is 3 std below the mean) except at L2's zero padding, where the absorbed constant is missing:
//   this part is approximate, as in the paper, and shrinks L1's output range so the activation grid is finer.
import type { Graph, Node } from "../../ir/graph.ts";
import { inferShapes, nodeInputs } from "../../ir/graph.ts";
import { floatRunner } from "../../calibrate/minmax.ts";
import type { Layer } from "./inputs.ts";

export interface ClePair { l1: Layer; l2: Layer; channels: number }
export interface CleReport { pairs: number; sweeps: number; relu6ToRelu: number; absorbed: number; maxRangeRatioBefore: number; maxRangeRatioAfter: number }

const isLayer = (n: Node): n is Layer => n.op === "conv" || n.op === "dense";

/** The equalizable pairs of `g`. */
export function clePairs(g: Graph): ClePair[] {
  const cons = new Map<string, Node[]>();
  for (const n of g.nodes) for (const v of nodeInputs(n)) cons.set(v, [...(cons.get(v) ?? []), n]);
  const shapes = inferShapes(g);
  const pairs: ClePair[] = [];
  for (const l1 of g.nodes) {
    if (!isLayer(l1)) continue;
    let v = l1.output;
    for (;;) {
      const c = cons.get(v) ?? [];
      if (v === g.output || c.length !== 1) break;
      const next = c[0];
      if (next.op === "maxpool" || next.op === "flatten") { v = next.output; continue; }
      if (isLayer(next)) {
        const C = l1.outChannels;
        const inC = shapes.get(next.input)![2];
        const ok = next.op === "dense" ? (next.weight.length / next.outChannels) % C === 0 : inC === C;
        if (ok) pairs.push({ l1, l2: next, channels: C });
      }
      break;
    }
  }
  return pairs;
}

const dwOf = (n: Layer) => n.op === "conv" && n.groups !== 1;

/** r2: max |w| L2 applies to each of its C input channels. */
function inputRanges(l2: Layer, C: number): Float64Array {
  const r = new Float64Array(C);
  const w = l2.weight;
  if (dwOf(l2)) {
    const T = w.length / C;
    for (let c = 0; c < C; c++) for (let t = 0; t < T; t++) r[c] = Math.max(r[c], Math.abs(w[c * T + t]));
    return r;
  }
  for (let i = 0; i < w.length; i++) { const c = i % C; r[c] = Math.max(r[c], Math.abs(w[i])); }
  return r;
}

function rowRanges(l1: Layer): Float64Array {
  const N = l1.outChannels, per = l1.weight.length / N, r = new Float64Array(N);
  for (let n = 0; n < N; n++) for (let i = 0; i < per; i++) r[n] = Math.max(r[n], Math.abs(l1.weight[n * per + i]));
  return r;
}

/** Scales L2's input channels by s (L1's output channels were divided by it). */
function scaleInputs(l2: Layer, s: Float64Array) {
  const w = l2.weight, C = s.length;
  if (dwOf(l2)) {
    const T = w.length / C;
    for (let c = 0; c < C; c++) for (let t = 0; t < T; t++) w[c * T + t] *= s[c];
  } else for (let i = 0; i < w.length; i++) w[i] *= s[i % C];
}

/** Largest r1_i / r2_i (or its inverse) over all pairs: 1 when every pair is equalized. */
function worstRatio(pairs: ClePair[]): number {
  let worst = 1;
  for (const p of pairs) {
    const r1 = rowRanges(p.l1), r2 = inputRanges(p.l2, p.channels);
    for (let i = 0; i < p.channels; i++) if (r1[i] > 0 && r2[i] > 0) worst = Math.max(worst, r1[i] / r2[i], r2[i] / r1[i]);
  }
  return worst;
}

/** Equalizes every pair of `g` in place (weights and biases); returns the pairs and sweeps. */
export function equalize(g: Graph): { pairs: ClePair[]; sweeps: number; relu6ToRelu: number; before: number; after: number } {
  const pairs = clePairs(g);
  const before = worstRatio(pairs);
  let relu6ToRelu = 0;
  for (const p of pairs) if (p.l1.act === "relu6") { p.l1.act = "relu"; relu6ToRelu++; }
  let sweeps = 0;
  for (; sweeps < 100; sweeps++) {
    let change = 0;
    for (const p of pairs) {
      const r1 = rowRanges(p.l1), r2 = inputRanges(p.l2, p.channels);
      const s = new Float64Array(p.channels);
      for (let i = 0; i < p.channels; i++) {
        s[i] = r1[i] > 0 && r2[i] > 0 ? Math.sqrt(r1[i] / r2[i]) : 1;
        change = Math.max(change, Math.abs(s[i] - 1));
      }
      const N = p.l1.outChannels, per = p.l1.weight.length / N;
      for (let n = 0; n < N; n++) {
        for (let i = 0; i < per; i++) p.l1.weight[n * per + i] /= s[n];
        p.l1.bias[n] /= s[n];
      }
      scaleInputs(p.l2, s);
    }
    if (change < 1e-6) { sweeps++; break; }
  }
  return { pairs, sweeps, relu6ToRelu, before, after: worstRatio(pairs) };
}

/** Per-channel mean and std of the pre-activations of `layers` over `images`, from the float program. */
export async function preActivationStats(g: Graph, wasm: BufferSource | WebAssembly.Module, images: Float32Array[], layers: Layer[]) {
  const want = new Set(layers.map((l) => l.name));
  const pre = (l: Layer) => `${l.output}#pre`;
  const nodes: Node[] = [];
  for (const n of g.nodes) {
    if (isLayer(n) && want.has(n.name) && n.act !== "none") {
      nodes.push({ ...n, act: "none", output: pre(n) } as Layer);
      nodes.push({ op: "act", name: `${n.name}#act`, input: pre(n), output: n.output, kind: n.act === "relu" ? "relu" : "clip", alpha: 0, beta: n.act === "relu" ? 0 : 6 });
    } else nodes.push(n);
  }
  const g2: Graph = { ...g, nodes };
  const { runner, tensorOf } = await floatRunner(g2, wasm);
  const acc = layers.map((l) => ({ l, sum: new Float64Array(l.outChannels), sq: new Float64Array(l.outChannels), count: 0, id: tensorOf.get(l.act === "none" ? l.output : pre(l))! }));
  for (const img of images) {
    runner.runF32(img, 1);
    for (const a of acc) {
      const t = runner.tensor(a.id) as Float32Array, C = a.l.outChannels;
      for (let i = 0; i < t.length; i++) { const c = i % C; a.sum[c] += t[i]; a.sq[c] += t[i] * t[i]; }
      a.count += t.length / C;
    }
  }
  return new Map(acc.map((a) => {
    const mean = a.sum.map((s) => s / a.count);
    const std = a.sq.map((s, c) => Math.sqrt(Math.max(0, s / a.count - mean[c] ** 2)));
    return [a.l.name, { mean, std }] as const;
  }));
}

/** High-bias absorption over the ReLU pairs of `pairs`; returns how many channels absorbed a non-zero c. */
export async function absorbHighBias(g: Graph, wasm: BufferSource | WebAssembly.Module, images: Float32Array[], pairs: ClePair[]): Promise<number> {
  const relu = pairs.filter((p) => p.l1.act === "relu");
  if (!relu.length) return 0;
  const stats = await preActivationStats(g, wasm, images, relu.map((p) => p.l1));
  let absorbed = 0;
  for (const p of relu) {
    const { mean, std } = stats.get(p.l1.name)!;
    const C = p.channels;
    const c = Float64Array.from({ length: C }, (_, i) => Math.max(0, mean[i] - 3 * std[i]));
    for (let i = 0; i < C; i++) { p.l1.bias[i] -= c[i]; if (c[i] > 0) absorbed++; }
    const w = p.l2.weight;
    if (dwOf(p.l2)) {
      const T = w.length / C;
      for (let ch = 0; ch < C; ch++) { let s = 0; for (let t = 0; t < T; t++) s += w[ch * T + t]; p.l2.bias[ch] += s * c[ch]; }
    } else {
      const per = w.length / p.l2.outChannels;
      for (let n = 0; n < p.l2.outChannels; n++) {
        let s = 0;
        for (let i = 0; i < per; i++) s += w[n * per + i] * c[i % C];
        p.l2.bias[n] += s;
      }
    }
  }
  return absorbed;
}

/** CLE and high-bias absorption (when images are given) on `g`, in place. */
export async function crossLayerEqualize(g: Graph, wasm: BufferSource | WebAssembly.Module, images?: Float32Array[]): Promise<CleReport> {
  const e = equalize(g);
  const absorbed = images?.length ? await absorbHighBias(g, wasm, images, e.pairs) : 0;
  return { pairs: e.pairs.length, sweeps: e.sweeps, relu6ToRelu: e.relu6ToRelu, absorbed, maxRangeRatioBefore: e.before, maxRangeRatioAfter: e.after };
}
