// Binary (XNOR-Net) layers: +-1 weights and +-1 activations (issue #6). A layer marked binary runs as
//   SignQb1 (its int8 input -> one bit per channel, threshold at the input's real zero)
//   Conv2dQb1 / DenseQb1 / DwConv2dQb1 (XNOR-popcount, exact zero padding, int8 output)
// The arithmetic the quantizer approximates the float layer with (docs/kernels.md, "Binary layers"):
//   weights   w[n][t][c] ~ alpha[n] * q,   q = sign(w) (+1 at 0),  alpha[n] = mean |w[n]| (XNOR-Net)
//   inputs    x[c]       ~ u[c] + v * a,   a = +1 where x is above the threshold, else -1
// where u[c] = (m+[c] + m-[c]) / 2 and v = mean over channels of (m+[c] - m-[c]) / 2, m+ / m- the calibrated
// means of x over the +1 / -1 pixels (the least-squares two-level fit; for a symmetric input u = 0 and v is
// XNOR-Net's beta = mean |x|, taken per tensor at calibration instead of per pixel at run time: a documented
// simplification). Then, per output channel n,
//   y[n] ~ alpha[n] * v * dot + (bias[n] + alpha[n] * sum_{t,c} q[n][t][c] * u[c])
// so the kernel's integer dot product has the real scale alpha[n] * v (in the requantization multiplier) and
// the input offset u goes into the int32 bias (exact for interior pixels; at the borders, where padding taps
// are neither +1 nor -1, the offset of the missing taps is not subtracted). Depthwise layers take u and v per
// channel. The threshold is the input's real zero: x >= 0 is +1, except for a non-negative input (a ReLU
// output, zero point -128) where x > 0 is +1 (zero, the inactive unit, is -1).
// The first conv and the last layer stay 8-bit by default (keepEnds), as in XNOR-Net.
import { inferShapes, type Graph, type Node } from "../ir/graph.ts";
import type { QuantizedGraph } from "../pack/lower.ts";
import { floatRunner } from "../calibrate/minmax.ts";
import { QwmQuantizeError, type QParams } from "./params.ts";

/** Calibrated two-level fit of one value's channels: m+ and m- (means over the +1 / -1 elements). */
export interface BinaryActStats { plus: Float64Array; minus: Float64Array; nonNegative: boolean }

/** The XNOR parameters of one layer, as the lowering reads them (QuantizedGraph weights entry `xnor`). */
export interface XnorParams {
  /** SignQb1 threshold in the input's quantized domain: bit = x >= threshold. */
  threshold: number;
  /** Added to the float bias (real units) before it is quantized: alpha[n] * sum q * u. */
  biasOffset: Float32Array;
}

/** A layer to binarize; alpha, u, v default to XNOR-Net's / the calibrated statistics (training passes its own). */
export interface XnorLayer {
  name: string;
  /** Per output channel weight scale (default mean |w|). */
  alpha?: Float32Array;
  /** Per input channel activation offset and scale of the two-level fit (default from the statistics). */
  u?: Float64Array;
  v?: Float64Array;
}

export interface XnorChoice { name: string; op: "conv" | "depthwise" | "dense"; raisedOutputScale: boolean }

type Layer = Extract<Node, { op: "conv" | "dense" }>;
const TINY = 1e-12;

/**
 * Statistics of the inputs of `layers` over calibration images (normalized NHWC floats): per channel, the mean
 * of x where x is above the threshold (m+) and where it is not (m-). `act` gives each value's int8 parameters
 * (a value whose zero point is -128 is non-negative: threshold x > 0).
 */
export async function binaryActStats(g: Graph, wasm: BufferSource | WebAssembly.Module, images: Float32Array[], values: string[], act: Map<string, QParams>): Promise<Map<string, BinaryActStats>> {
  const { runner, tensorOf } = await floatRunner(g, wasm);
  const shapes = inferShapes(g);
  const acc = new Map<string, { sp: Float64Array; np: Float64Array; sm: Float64Array; nm: Float64Array; nonNeg: boolean }>();
  for (const v of new Set(values)) {
    const shape = v === g.input.name ? g.input.shape : shapes.get(v);
    if (!shape || !tensorOf.has(v)) throw new QwmQuantizeError(`value '${v}' is not in the graph`);
    const C = shape[2];
    const f = () => new Float64Array(C);
    acc.set(v, { sp: f(), np: f(), sm: f(), nm: f(), nonNeg: act.get(v)?.zeroPoint === -128 });
  }
  for (const img of images) {
    runner.runF32(img, 1);
    for (const [v, a] of acc) {
      const t = v === g.input.name ? img : runner.tensor(tensorOf.get(v)!);
      const C = a.sp.length;
      for (let i = 0; i < t.length; i++) {
        const x = t[i], c = i % C;
        if (a.nonNeg ? x > 0 : x >= 0) { a.sp[c] += x; a.np[c]++; } else { a.sm[c] += x; a.nm[c]++; }
      }
    }
  }
  const out = new Map<string, BinaryActStats>();
  for (const [v, a] of acc) {
    const C = a.sp.length;
    const plus = new Float64Array(C), minus = new Float64Array(C);
    for (let c = 0; c < C; c++) {
      plus[c] = a.np[c] ? a.sp[c] / a.np[c] : 0;
      minus[c] = a.nm[c] ? a.sm[c] / a.nm[c] : 0;
    }
    out.set(v, { plus, minus, nonNegative: a.nonNeg });
  }
  return out;
}

/** `q` with a coarser scale and the same real lower bound (the zero point follows). */
function coarser(q: QParams, scale: number): QParams {
  const lo = (-128 - q.zeroPoint) * q.scale;
  return { scale, zeroPoint: Math.max(-128, Math.min(127, Math.round(-128 - lo / scale))) };
}

/**
 * The requantization multipliers must stay below 1: a binary layer's real scale alpha*v per unit of its +-1 dot
 * product (or a 2-bit / binary depthwise layer's inScale * weight scale) can exceed its output's int8 step; that
 * step is then finer than any value the layer can produce, so nothing is lost by coarsening it. Such an output scale is raised (its real lower bound kept), and so,
 * until nothing changes, are the values that must share it (pool / flatten input and output, concat inputs and
 * output: the coarsest wins) and the outputs of the int8 layers and global pools whose multiplier would then
 * reach 1.
 */
export function fitOutputScales(g: Graph, qg: QuantizedGraph, choices: XnorChoice[] = []) {
  const shapes = inferShapes(g);
  const raise = (v: string, scale: number) => {
    const q = qg.act.get(v)!;
    if (scale <= q.scale) return false;
    qg.act.set(v, coarser(q, scale));
    const c = choices.find((x) => (g.nodes.find((n) => n.name === x.name) as Layer).output === v);
    if (c) c.raisedOutputScale = true;
    return true;
  };
  for (let changed = true; changed;) {
    changed = false;
    for (const m of g.nodes) {
      if (m.op === "conv" || m.op === "dense") {
        const w = qg.weights.get(m.name);
        // sub-8-bit conv / dense weights rescale themselves (lower.ts, 2^e into int4); 2-bit and binary depthwise
        // layers keep their width and raise their output scale instead (src/quantize/lowbit.ts)
        const lowDw = m.op === "conv" && m.groups !== 1 && w !== undefined && (w.bits === 2 || w.bits === 1);
        if (!w || (w.bits !== undefined && w.bits < 8 && !w.xnor && !lowDw)) continue;
        const sIn = w.xnor ? 1 : qg.act.get(m.input)!.scale;
        changed = raise(m.output, (sIn * Math.max(...w.scales)) / 0.99) || changed;
      } else if (m.op === "gap") {
        const [h, w] = shapes.get(m.input)!;
        changed = raise(m.output, qg.act.get(m.input)!.scale / (h * w * 0.99)) || changed;
      } else if (m.op === "maxpool" || m.op === "avgpool" || m.op === "flatten" || m.op === "concat") {
        const vs = m.op === "concat" ? [...m.inputs, m.output] : [m.input, m.output];
        const top = vs.map((v) => qg.act.get(v)!).reduce((a, b) => (b.scale > a.scale ? b : a));
        for (const v of vs) {
          const q = qg.act.get(v)!;
          if (q.scale !== top.scale || q.zeroPoint !== top.zeroPoint) { qg.act.set(v, top); changed = true; }
        }
      }
    }
  }
}

/** The layers XNOR quantization binarizes by default: every conv / dense except the first conv and the last layer. */
export function innerLayers(g: Graph, keepEnds = true): string[] {
  const layers = g.nodes.filter((n): n is Layer => n.op === "conv" || n.op === "dense");
  return layers.filter((_, i) => !keepEnds || (i !== 0 && i !== layers.length - 1)).map((n) => n.name);
}

/**
 * Marks `layers` of `qg` binary (XNOR): +-1 weights with per-channel alpha, SignQb1 on their inputs, and the
 * two-level input fit from `stats` (binaryActStats) unless a layer gives its own u / v. An output scale too fine
 * for the binary layer's coarsest step (the requantization multiplier alpha*v / outScale must stay below 1)
 * is raised; pools and flatten after it follow. Callable with given float weights and scales (training).
 */
export function applyXnor(g: Graph, qg: QuantizedGraph, layers: (string | XnorLayer)[], stats: Map<string, BinaryActStats>): XnorChoice[] {
  const out: XnorChoice[] = [];
  const nonNegOf = new Map<string, boolean | undefined>();
  for (const spec of layers) {
    const L: XnorLayer = typeof spec === "string" ? { name: spec } : spec;
    const n = g.nodes.find((x) => x.name === L.name);
    if (!n || (n.op !== "conv" && n.op !== "dense")) throw new QwmQuantizeError(`binary layer '${L.name}': no conv or dense node of that name`);
    const dw = n.op === "conv" && n.groups !== 1;
    if (n.op === "conv" && n.groups !== 1 && n.groups !== n.outChannels) throw new QwmQuantizeError(`binary layer '${n.name}': grouped convs other than depthwise have no binary kernel`);
    const N = n.outChannels, per = n.weight.length / N;
    const st = stats.get(n.input);
    const Cin = dw ? N : per / (n.op === "conv" ? n.kernel[0] * n.kernel[1] : 1);
    // u, v: given, or from the statistics (dense layers over a flattened H x W x C input: channel i % C)
    const C = st ? st.plus.length : 0;
    const uOf = (c: number) => (L.u ? L.u[c % L.u.length] : st ? (st.plus[c % C] + st.minus[c % C]) / 2 : NaN);
    const vOf = (c: number) => (L.v ? L.v[c % L.v.length] : st ? (st.plus[c % C] - st.minus[c % C]) / 2 : NaN);
    if (!st && (!L.u || !L.v)) throw new QwmQuantizeError(`binary layer '${n.name}': no statistics for its input '${n.input}' (binaryActStats) and no u / v given`);
    let vMean = 0;
    for (let c = 0; c < (dw ? N : Cin); c++) vMean += vOf(c);
    vMean /= dw ? N : Cin;
    const q = new Int8Array(n.weight.length), scales = new Float32Array(N), biasOffset = new Float32Array(N);
    for (let o = 0; o < N; o++) {
      let sumAbs = 0;
      for (let i = 0; i < per; i++) sumAbs += Math.abs(n.weight[o * per + i]);
      const alpha = L.alpha ? L.alpha[o] : sumAbs / per;
      let off = 0;
      for (let i = 0; i < per; i++) {
        const s = n.weight[o * per + i] < 0 ? -1 : 1;
        q[o * per + i] = s;
        // weight i of a conv row is tap-major [t][c]: input channel i % Cin (depthwise: the channel o)
        off += s * uOf(dw ? o : i % Cin);
      }
      const v = dw ? vOf(o) : vMean;
      scales[o] = Math.max(alpha * Math.max(v, 0), TINY);
      biasOffset[o] = alpha * off;
    }
    if (!scales.every(Number.isFinite) || !biasOffset.every(Number.isFinite)) throw new QwmQuantizeError(`binary layer '${n.name}': non-finite scales`);
    if (!qg.act.get(n.input)) throw new QwmQuantizeError(`value '${n.input}' has no quantization parameters`);
    qg.weights.set(n.name, { q, scales, bits: 1, format: "xnor", xnor: { threshold: 0, biasOffset } });
    nonNegOf.set(n.name, st ? st.nonNegative : undefined);
    out.push({ name: n.name, op: dw ? "depthwise" : n.op, raisedOutputScale: false });
  }
  fitOutputScales(g, qg, out);
  for (const c of out) {
    const n = g.nodes.find((x) => x.name === c.name) as Layer;
    const qx = qg.act.get(n.input)!, w = qg.weights.get(n.name)!;
    const nonNeg = nonNegOf.get(n.name) ?? qx.zeroPoint === -128;
    w.xnor!.threshold = Math.min(127, nonNeg ? qx.zeroPoint + 1 : qx.zeroPoint);
  }
  return out;
}
