// Lowering a graph to a .qwm program: the float program (f32 ops, for calibration and layers kept in float)
// or the int8 program (qs8 ops) from a graph and its quantization. Packs each layer's weights in the order its
// kernel reads them, creates the scratch buffers, and plans the arena by liveness (plan.ts).
import { ChannelOrder, DType, Op, Resize } from "../../assembly/runtime/schema.ts";
import { inferShapes, nodeInputs, type Act, type Graph, type Node, type Shape } from "../ir/graph.ts";
import {
  buildQs8Lut, f32ConvScratchBytes, packF32Depthwise, packF32Gemm, packQs8Depthwise, packQs8Gemm,
  qs8ConvScratchBytes, qs8DenseScratchBytes, QwmPackError,
} from "./layout.ts";
import { planArena } from "./plan.ts";
import {
  packQb1Conv, packQb1Depthwise, packQbwDepthwise, packQbwGemm, packQlutGemm, packQs2Depthwise, packQs2Gemm, packQs4Depthwise,
  packQs4Gemm, packQlutDepthwise, type Codebook,
} from "./lowbit.ts";
import { f32Bits, type OpDesc, type Program, type TensorDesc } from "./qwm.ts";
import { actBounds, multipliers, roundHalfAway, type QParams } from "../quantize/params.ts";

/** How a graph is quantized: activation parameters of every value, int8 weights of every conv / dense. */
export interface QuantizedGraph {
  act: Map<string, QParams>;
  /**
   * `bits` 4, 2 or 1 (src/quantize/lowbit.ts) selects the sub-8-bit ops; absent: int8. A `codebook` (whose
   * table values are q) selects the codebook ops (Conv2dQlut / DenseQlut). `xnor` (with bits 1,
   * src/quantize/binary.ts): binary activations too, SignQb1 + the XNOR-popcount ops; `scales` are then the real
   * scales of the +-1 dot product, and `biasOffset` (real units) is added to the layer's bias.
   */
  weights: Map<string, { q: Int8Array; scales: Float32Array; bits?: number; format?: string; codebook?: Codebook; xnor?: { threshold: number; biasOffset: Float32Array } }>;
  /**
   * Values held on fewer than 256 levels (quantization-aware training, src/train/): an A-bit activation after a
   * ReLU is an int8 tensor on 2^A levels from its zero point; the op producing it clamps to [zp, zp + levels - 1].
   */
  levels?: Map<string, number>;
}

const ceilTo = (n: number, a: number) => Math.ceil(n / a) * a;
/** Scratch of the sub-8-bit GEMM ops: the padded int16 image with channels padded to 8 (16 for 2-bit). */
function subConvScratch(bits: number, OH: number, OW: number, C: number, KH: number, KW: number, SH: number, SW: number, DH: number, DW: number): number {
  const Hp = (OH - 1) * SH + (KH - 1) * DH + 1, Wp = (OW - 1) * SW + (KW - 1) * DW + 1;
  return Hp * Wp * ceilTo(C, bits === 2 ? 16 : 8) * 2 + 4 * KH * KW;
}
const subPack = (bits: number) => (bits === 4 ? packQs4Gemm : bits === 2 ? packQs2Gemm : packQbwGemm);
/** Scratch of Conv2dQb1 / DenseQb1: a tile of 32 bit rows (ceil128(K)/8 bytes) and their padding masks. */
export const qb1ConvScratchBytes = (taps: number, C: number) => 32 * (Math.ceil((taps * C) / 128) * 16 + 8) + 16;

export interface LowerOptions {
  /** Share arena bytes between tensors whose lifetimes do not overlap (default true; false keeps all). */
  reuse?: boolean;
  /**
   * Binary (XNOR) layers as their exact int8 twin, a reference for tests: SignQb1 becomes a LutQs8 to +-1 (int8,
   * scale 1, zero point 0, so that zero padding is 0, neither +1 nor -1) and the XNOR op the int8 op with the
   * same +-1 weights, int32 biases, multipliers and shift: the same integers, on the int8 kernels.
   */
  binaryAsInt8?: boolean;
}

export interface Lowered { program: Program; tensorOf: Map<string, number> }

const ACT_KIND = { relu: 0, clip: 1, sigmoid: 2, hardswish: 3, leakyrelu: 4, hardsigmoid: 5 } as const;
const ACT_FN: Record<keyof typeof ACT_KIND, (x: number, a: number, b: number) => number> = {
  relu: (x) => Math.max(x, 0),
  clip: (x, a, b) => Math.min(Math.max(x, a), b),
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  hardswish: (x) => (x * Math.min(Math.max(x + 3, 0), 6)) / 6,
  leakyrelu: (x, a) => (x < 0 ? x * a : x),
  hardsigmoid: (x, a, b) => Math.max(Math.min(a * x + b, 1), 0),
};

function floatBounds(act: Act): [number, number] {
  return act === "relu" ? [0, Infinity] : act === "relu6" ? [0, 6] : [-Infinity, Infinity];
}

class Builder {
  tensors: TensorDesc[] = [];
  ops: OpDesc[] = [];
  chunks: Uint8Array[] = [];
  wBytes = 0;
  tensor(dtype: DType, shape: Shape, q: QParams = { scale: 0, zeroPoint: 0 }, name?: string): number {
    this.tensors.push({ dtype, shape: [...shape] as Shape, offset: 0, scale: q.scale, zeroPoint: q.zeroPoint, name });
    return this.tensors.length - 1;
  }
  /** A u8 scratch tensor of at least `bytes` (dims stay within the format's 65535 by using rows of 4096). */
  scratch(bytes: number): number {
    const b = Math.max(16, bytes);
    return this.tensor(DType.U8, b <= 4096 ? [1, 1, b] : [1, Math.ceil(b / 4096), 4096]);
  }
  weights(bytes: Uint8Array): { offset: number; bytes: number } {
    const offset = this.wBytes;
    this.chunks.push(bytes);
    const pad = (16 - (bytes.length & 15)) & 15;
    if (pad) this.chunks.push(new Uint8Array(pad));
    this.wBytes += bytes.length + pad;
    return { offset, bytes: bytes.length };
  }
  weightBlob(): Uint8Array {
    const out = new Uint8Array(this.wBytes);
    let at = 0;
    for (const c of this.chunks) { out.set(c, at); at += c.length; }
    return out;
  }
}

const win = (n: { kernel: [number, number]; stride: [number, number]; pads: number[] }) =>
  [n.kernel[0], n.kernel[1], n.stride[0], n.stride[1], n.pads[0], n.pads[1]];

/** Depthwise weights [C][KH][KW] (the IR's [N][KH][KW][1]) to tap-major [KH*KW][C]. */
function tapMajor<T extends Int8Array | Float32Array>(w: T, C: number, T_: number): T {
  const out = new (w.constructor as any)(w.length) as T;
  for (let c = 0; c < C; c++) for (let t = 0; t < T_; t++) out[t * C + c] = w[c * T_ + t];
  return out;
}

function pixelQuant(g: Graph, q: QParams): { A: number[]; B: number[] } {
  const p = g.preprocess, C = g.input.shape[2];
  const A: number[] = [], B: number[] = [];
  for (let c = 0; c < C; c++) {
    A.push(Math.round(65536 * p.valueScale / (p.std[c] * q.scale)));
    B.push(Math.round(65536 * (q.zeroPoint - p.mean[c] / (p.std[c] * q.scale))));
  }
  return { A, B };
}

function finish(g: Graph, b: Builder, tensorOf: Map<string, number>, opts: LowerOptions, inputQ?: QParams): Lowered {
  const input = tensorOf.get(g.input.name)!, output = tensorOf.get(g.output)!;
  const plan = planArena(b.tensors, b.ops, input, output, opts.reuse ?? true);
  plan.offsets.forEach((o, i) => (b.tensors[i].offset = o));
  const p = g.preprocess;
  const pq = inputQ ? pixelQuant(g, inputQ) : { A: [], B: [] };
  const program: Program = {
    meta: {
      inputTensor: input, outputTensor: output, arenaBytes: plan.arenaBytes,
      channelOrder: { rgb: ChannelOrder.RGB, bgr: ChannelOrder.BGR, gray: ChannelOrder.Gray }[p.channelOrder],
      resize: p.resize === "stretch" ? Resize.Stretch : Resize.ShorterSideCrop,
      cropFraction: p.cropFraction, valueScale: p.valueScale, mean: p.mean, std: p.std, pixelA: pq.A, pixelB: pq.B,
    },
    tensors: b.tensors, ops: b.ops, weights: b.weightBlob(), labels: g.labels, provenance: g.provenance,
  };
  return { program, tensorOf };
}

/**
 * The format's limits on a graph (docs/format.md), checked before anything is packed, so that a graph outside
 * them is a QwmPackError naming the node rather than a file the runtime refuses: dims 1..65535; windows with
 * kernel, stride and dilation 1..255, top / left padding at most (K-1)*D and at most one window of bottom /
 * right padding; activation parameters the runtime accepts.
 */
function checkFormatLimits(g: Graph, shapes: Map<string, Shape>): void {
  for (const [v, s] of shapes) {
    if (!s.every((d) => Number.isInteger(d) && d >= 1 && d <= 65535)) throw new QwmPackError(`value '${v}' of shape ${s.join("x")}: a .qwm tensor's dims are 1..65535`);
  }
  for (const n of g.nodes) {
    const bad = (m: string) => new QwmPackError(`node '${n.name}' (${n.op}): ${m}`);
    if (n.op === "conv" || n.op === "maxpool" || n.op === "avgpool") {
      const d = n.op === "conv" ? n.dilation : [1, 1];
      const [H, W] = shapes.get(n.input)!, [OH, OW] = shapes.get(n.output)!;
      if (![...n.kernel, ...n.stride, ...d].every((x) => Number.isInteger(x) && x >= 1 && x <= 255)) {
        throw bad(`kernel ${n.kernel}, stride ${n.stride}, dilation ${d}: each must be 1..255 in a .qwm`);
      }
      const [PT, PL] = n.pads;
      if (!(PT >= 0 && PT <= (n.kernel[0] - 1) * d[0] && PL >= 0 && PL <= (n.kernel[1] - 1) * d[1])) throw bad(`padding ${n.pads} is more than the kernel can cover ((K-1)*D)`);
      if ((OH - 1) * n.stride[0] + 1 > PT + H || (OW - 1) * n.stride[1] + 1 > PL + W) throw bad(`output ${OH}x${OW} has windows entirely in the bottom / right padding`);
    }
    if (n.op === "act") {
      if (n.kind === "clip" ? !(n.alpha <= n.beta) : !(Number.isFinite(n.alpha) && Number.isFinite(n.beta))) {
        throw bad(`${n.kind} with parameters ${n.alpha}, ${n.beta} (clip: min <= max; others: finite)`);
      }
    }
  }
}

/**
 * A layer's int32 biases in accumulator units, bias / (inScale * scale[c]), leaving the accumulator room:
 * |bias| + 255 * sum |q| <= 2^31 - 1 per channel (|x - zx| <= 255), the runtime's bound. A channel whose weights
 * are all zero (a pruned filter, a batch norm with gamma 0) is given a scale that makes its bias 2^24, exact
 * in the accumulator (its weights are zero at any scale); another channel's bias saturates at its room. A layer
 * whose weights alone could overflow the accumulator is a QwmPackError.
 */
function fitBias(n: { name: string; bias: Float32Array }, inScale: number, q: Int8Array, scales: Float32Array): { biasQ: Int32Array; scales: Float32Array } {
  const N = n.bias.length, per = q.length / N;
  const out = Float32Array.from(scales), biasQ = new Int32Array(N);
  for (let c = 0; c < N; c++) {
    let abs = 0;
    for (let i = c * per; i < (c + 1) * per; i++) abs += Math.abs(q[i]);
    const room = 2 ** 31 - 1 - 255 * abs;
    if (room < 0) throw new QwmPackError(`node '${n.name}': output channel ${c} could overflow its int32 accumulator (sum |w| = ${abs}; at most ${Math.floor((2 ** 31 - 1) / 255)})`);
    let b = roundHalfAway(n.bias[c] / (inScale * out[c]));
    if (Math.abs(b) > room) {
      if (abs === 0) {
        out[c] = Math.abs(n.bias[c]) / (inScale * 2 ** 24);
        b = Math.max(-room, Math.min(room, roundHalfAway(n.bias[c] / (inScale * out[c]))));
      } else b = Math.sign(b) * room;
    }
    biasQ[c] = b;
  }
  return { biasQ, scales: out };
}

/** The float program: every node on the fp32 kernels. */
export function lowerFloat(g: Graph, opts: LowerOptions = {}): Lowered {
  const shapes = inferShapes(g);
  checkFormatLimits(g, shapes);
  const b = new Builder();
  const tensorOf = new Map<string, number>();
  const t = (v: string) => tensorOf.get(v)!;
  tensorOf.set(g.input.name, b.tensor(DType.F32, g.input.shape, undefined, g.input.name));
  for (const n of g.nodes) {
    const out = b.tensor(DType.F32, shapes.get(n.output)!, undefined, n.output);
    tensorOf.set(n.output, out);
    const inputs = nodeInputs(n).map(t);
    const op = (code: Op, params: number[] = [], extra: Partial<OpDesc> = {}) => b.ops.push({ op: code, inputs, output: out, params, ...extra });
    switch (n.op) {
      case "conv": {
        const [, , C] = shapes.get(n.input)!;
        const [KH, KW] = n.kernel;
        const [lo, hi] = floatBounds(n.act).map(f32Bits);
        const geom = [...win(n), n.dilation[0], n.dilation[1]];
        if (n.groups === 1) {
          const K = KH * KW * C;
          op(Op.Conv2dF32, [...geom, lo, hi], { weights: b.weights(packF32Gemm(n.weight, n.outChannels, K, n.bias)), scratch: b.scratch(f32ConvScratchBytes(K)) });
        } else {
          op(Op.DwConv2dF32, [...geom, lo, hi], { weights: b.weights(packF32Depthwise(n.weight, C, KH, KW, n.bias)) });
        }
        break;
      }
      case "dense": {
        const [h, w, c] = shapes.get(n.input)!;
        op(Op.DenseF32, floatBounds(n.act).map(f32Bits), { weights: b.weights(packF32Gemm(n.weight, n.outChannels, h * w * c, n.bias)) });
        break;
      }
      case "maxpool": op(Op.MaxPoolF32, win(n)); break;
      case "avgpool": op(Op.AvgPoolF32, win(n)); break;
      case "gap": op(Op.GlobalAvgPoolF32); break;
      case "add": op(Op.AddF32, floatBounds(n.act).map(f32Bits)); break;
      case "concat": op(Op.Concat); break;
      case "act": op(Op.ActF32, [ACT_KIND[n.kind], f32Bits(n.alpha), f32Bits(n.beta)]); break;
      case "flatten": op(Op.Reshape); break;
    }
  }
  return finish(g, b, tensorOf, opts);
}

/** The int8 program: every node on the qs8 kernels, with the activation and weight quantization of `qg`. */
export function lowerQuantized(g: Graph, qg: QuantizedGraph, opts: LowerOptions = {}): Lowered {
  const shapes = inferShapes(g);
  checkFormatLimits(g, shapes);
  const b = new Builder();
  const tensorOf = new Map<string, number>();
  const qOf = (v: string) => {
    const q = qg.act.get(v);
    if (!q) throw new QwmPackError(`value '${v}' has no quantization parameters`);
    return q;
  };
  const t = (v: string) => tensorOf.get(v)!;
  tensorOf.set(g.input.name, b.tensor(DType.I8, g.input.shape, qOf(g.input.name), g.input.name));
  // binary activations of a value (SignQb1 at a threshold), shared by the binary layers that read it
  const signs = new Map<string, number>();
  const signOf = (v: string, threshold: number, shape: Shape) => {
    const key = `${v}\u0000${threshold}`;
    let id = signs.get(key);
    if (id === undefined) {
      if (opts.binaryAsInt8) {
        id = b.tensor(DType.I8, shape, { scale: 1, zeroPoint: 0 }, `${v}:sign`);
        const table = Int8Array.from({ length: 256 }, (_, k) => (k - 128 >= threshold ? 1 : -1));
        b.ops.push({ op: Op.LutQs8, inputs: [t(v)], output: id, params: [], weights: b.weights(new Uint8Array(table.buffer)) });
      } else {
        id = b.tensor(DType.B1, shape, undefined, `${v}:sign`);
        b.ops.push({ op: Op.SignQb1, inputs: [t(v)], output: id, params: [threshold] });
      }
      signs.set(key, id);
    }
    return id;
  };
  /** The fused activation's clamp, narrowed to the value's levels when it has fewer than 256. */
  const bounds = (act: Act, q: QParams, v: string) => {
    const b = actBounds(act, q), lv = qg.levels?.get(v);
    if (lv === undefined) return b;
    if (!(Number.isInteger(lv) && lv >= 2 && lv <= 256)) throw new QwmPackError(`value '${v}': ${lv} levels (2..256)`);
    return { lo: Math.max(b.lo, q.zeroPoint), hi: Math.min(b.hi, q.zeroPoint + lv - 1) };
  };
  const same = (n: Node, a: QParams, o: QParams) => {
    if (a.scale !== o.scale || a.zeroPoint !== o.zeroPoint) {
      throw new QwmPackError(`node '${n.name}' (${n.op}): input and output must share scale and zero point`);
    }
  };
  for (const n of g.nodes) {
    const qy = qOf(n.output);
    const out = b.tensor(DType.I8, shapes.get(n.output)!, qy, n.output);
    tensorOf.set(n.output, out);
    const inputs = nodeInputs(n).map(t);
    const op = (code: Op, params: number[] = [], extra: Partial<OpDesc> = {}) => b.ops.push({ op: code, inputs, output: out, params, ...extra });
    switch (n.op) {
      case "conv":
      case "dense": {
        const [h, w, C] = shapes.get(n.input)!;
        const qx = qOf(n.input);
        let lw = qg.weights.get(n.name);
        if (!lw) throw new QwmPackError(`node '${n.name}' (${n.op}) has no quantized weights`);
        if (lw.xnor) {
          // binary (XNOR) layer: SignQb1 on the input, then the XNOR-popcount op; scales are per unit of the +-1 dot
          const xn = lw.xnor, N = n.outChannels;
          if (!(xn.threshold >= -128 && xn.threshold <= 127)) throw new QwmPackError(`node '${n.name}': sign threshold ${xn.threshold} outside -128..127`);
          const bias = Float32Array.from(n.bias, (v, i) => v + xn.biasOffset[i]);
          const fit = fitBias({ name: n.name, bias }, 1, lw.q, lw.scales);
          const { mult, shift } = multipliers(Array.from(fit.scales, (s) => s / qy.scale));
          const { lo, hi } = actBounds(n.act, qy);
          const bits = signOf(n.input, xn.threshold, [h, w, C]);
          const push = (code: Op, params: number[], extra: Partial<OpDesc>) => b.ops.push({ op: code, inputs: [bits], output: out, params, ...extra });
          if (opts.binaryAsInt8) {
            const [OH, OW] = shapes.get(n.output)!;
            const [KH, KW] = n.op === "conv" ? n.kernel : [1, 1];
            const geom = n.op === "conv" ? [...win(n), n.dilation[0], n.dilation[1]] : [];
            if (n.op === "dense") push(Op.DenseQs8, [shift, lo, hi], { weights: b.weights(packQs8Gemm(lw.q, N, 1, h * w * C, fit.biasQ, mult)), scratch: b.scratch(qs8DenseScratchBytes(h * w * C)) });
            else if (n.groups === 1) {
              push(Op.Conv2dQs8, [...geom, shift, lo, hi], {
                weights: b.weights(packQs8Gemm(lw.q, N, KH * KW, C, fit.biasQ, mult)),
                scratch: b.scratch(qs8ConvScratchBytes(OH, OW, C, KH, KW, n.stride[0], n.stride[1], n.dilation[0], n.dilation[1])),
              });
            } else push(Op.DwConv2dQs8, [...geom, shift, lo, hi], { weights: b.weights(packQs8Depthwise(tapMajor(lw.q, C, KH * KW), C, KH, KW, fit.biasQ, mult)) });
            break;
          }
          if (n.op === "dense") {
            if (h * w > 64) throw new QwmPackError(`node '${n.name}': a binary dense layer over ${h}x${w} pixels; at most 64 (flatten first)`);
            push(Op.DenseQb1, [shift, lo, hi], { weights: b.weights(packQb1Conv(lw.q, N, h * w, C, fit.biasQ, mult)), scratch: b.scratch(qb1ConvScratchBytes(h * w, C)) });
          } else if (n.groups === 1) {
            const [KH, KW] = n.kernel;
            push(Op.Conv2dQb1, [...win(n), n.dilation[0], n.dilation[1], shift, lo, hi], {
              weights: b.weights(packQb1Conv(lw.q, N, KH * KW, C, fit.biasQ, mult)), scratch: b.scratch(qb1ConvScratchBytes(KH * KW, C)),
            });
          } else {
            const [KH, KW] = n.kernel;
            push(Op.DwConv2dQb1, [...win(n), n.dilation[0], n.dilation[1], shift, lo, hi], {
              weights: b.weights(packQb1Depthwise(tapMajor(lw.q, C, KH * KW), C, KH, KW, fit.biasQ, mult)),
            });
          }
          break;
        }
        // A sub-8-bit layer whose real multiplier reaches 1 (coarse weight scales: 2-bit, binary) cannot be
        // requantized (shift >= 31): its integer weights are scaled by 2^e and the layer runs on the narrowest
        // kernel that holds them (int4, else int8); the arithmetic is the same, only the storage grows.
        if (lw.codebook || (lw.bits !== undefined && lw.bits < 8)) {
          const maxReal = Math.max(...Array.from(lw.scales, (s) => (qx.scale * s) / qy.scale));
          let e = 0;
          while (maxReal / 2 ** e >= 0.999 && e < 7) e++;
          if (e > 0) {
            let lo = 0, hi = 0;
            for (const v of lw.q) { lo = Math.min(lo, v * 2 ** e); hi = Math.max(hi, v * 2 ** e); } // before Int8Array wraps
            const q = Int8Array.from(lw.q, (v) => v * 2 ** e);
            if (lo < -127 || hi > 127) throw new QwmPackError(`node '${n.name}': weights too coarse for the output scale`);
            if (lw.codebook) {
              // a codebook layer keeps its indices; its table values are scaled by 2^e
              if (lw.codebook.tables.some((v) => Math.abs(v * 2 ** e) > 127)) throw new QwmPackError(`node '${n.name}': codebook too coarse for the output scale`);
              const codebook = { ...lw.codebook, tables: Int8Array.from(lw.codebook.tables, (v) => v * 2 ** e) };
              lw = { ...lw, q, scales: Float32Array.from(lw.scales, (s) => s / 2 ** e), codebook };
            } else lw = { q, scales: Float32Array.from(lw.scales, (s) => s / 2 ** e), bits: lo >= -8 && hi <= 7 ? 4 : undefined, format: lw.format };
          }
        }
        const N = n.outChannels;
        const fit = fitBias(n, qx.scale, lw.q, lw.scales); // float64: Int32Array.from would wrap a large bias around
        lw = { ...lw, scales: fit.scales };
        const biasQ = fit.biasQ;
        const { mult, shift } = multipliers(Array.from(lw.scales, (s) => (qx.scale * s) / qy.scale));
        const { lo, hi } = bounds(n.act, qy, n.output);
        const bits = lw.bits ?? 8;
        if (lw.codebook) {
          const cb = lw.codebook, lut = [cb.bits, cb.entries, cb.perChannel ? 1 : 0];
          if (n.op === "dense") {
            const K = h * w * C;
            op(Op.DenseQlut, [shift, lo, hi, ...lut], { weights: b.weights(packQlutGemm(cb, N, 1, K, biasQ, mult)), scratch: b.scratch(ceilTo(K, 16) * 2 + 16) });
          } else if (n.groups === 1) {
            const [OH, OW] = shapes.get(n.output)!;
            const [KH, KW] = n.kernel;
            op(Op.Conv2dQlut, [...win(n), n.dilation[0], n.dilation[1], shift, lo, hi, ...lut], {
              weights: b.weights(packQlutGemm(cb, N, KH * KW, C, biasQ, mult)),
              // the padded int16 image with channels padded to 16, as for the 2-bit layers
              scratch: b.scratch(subConvScratch(2, OH, OW, C, KH, KW, n.stride[0], n.stride[1], n.dilation[0], n.dilation[1])),
            });
          } else {
            const [KH, KW] = n.kernel;
            op(Op.DwConv2dQlut, [...win(n), n.dilation[0], n.dilation[1], shift, lo, hi, ...lut], {
              weights: b.weights(packQlutDepthwise(cb, C, KH, KW, biasQ, mult)),
            });
          }
          break;
        }
        if (bits !== 8) {
          const [KH, KW] = n.op === "conv" ? n.kernel : [1, 1];
          if (n.op === "dense") {
            const K = h * w * C;
            op(bits === 4 ? Op.DenseQs4 : bits === 2 ? Op.DenseQs2 : Op.DenseQbw, [shift, lo, hi], {
              weights: b.weights(subPack(bits)(lw.q, N, 1, K, biasQ, mult)), scratch: b.scratch(ceilTo(K, bits === 2 ? 16 : 8) * 2 + 16),
            });
          } else if (n.groups === 1) {
            const [OH, OW] = shapes.get(n.output)!;
            op(bits === 4 ? Op.Conv2dQs4 : bits === 2 ? Op.Conv2dQs2 : Op.Conv2dQbw, [...win(n), n.dilation[0], n.dilation[1], shift, lo, hi], {
              weights: b.weights(subPack(bits)(lw.q, N, KH * KW, C, biasQ, mult)),
              scratch: b.scratch(subConvScratch(bits, OH, OW, C, KH, KW, n.stride[0], n.stride[1], n.dilation[0], n.dilation[1])),
            });
          } else {
            const pack = bits === 4 ? packQs4Depthwise : bits === 2 ? packQs2Depthwise : packQbwDepthwise;
            op(bits === 4 ? Op.DwConv2dQs4 : bits === 2 ? Op.DwConv2dQs2 : Op.DwConv2dQbw, [...win(n), n.dilation[0], n.dilation[1], shift, lo, hi], {
              weights: b.weights(pack(tapMajor(lw.q, C, KH * KW), C, KH, KW, biasQ, mult)),
            });
          }
          break;
        }
        if (n.op === "dense") {
          const K = h * w * C;
          op(Op.DenseQs8, [shift, lo, hi], { weights: b.weights(packQs8Gemm(lw.q, N, 1, K, biasQ, mult)), scratch: b.scratch(qs8DenseScratchBytes(K)) });
          break;
        }
        const [KH, KW] = n.kernel;
        const geom = [...win(n), n.dilation[0], n.dilation[1]];
        if (n.groups === 1) {
          const [OH, OW] = shapes.get(n.output)!;
          op(Op.Conv2dQs8, [...geom, shift, lo, hi], {
            weights: b.weights(packQs8Gemm(lw.q, N, KH * KW, C, biasQ, mult)),
            scratch: b.scratch(qs8ConvScratchBytes(OH, OW, C, KH, KW, n.stride[0], n.stride[1], n.dilation[0], n.dilation[1])),
          });
        } else {
          op(Op.DwConv2dQs8, [...geom, shift, lo, hi], { weights: b.weights(packQs8Depthwise(tapMajor(lw.q, C, KH * KW), C, KH, KW, biasQ, mult)) });
        }
        break;
      }
      case "maxpool":
      case "avgpool":
        same(n, qOf(n.input), qy);
        op(n.op === "maxpool" ? Op.MaxPoolQs8 : Op.AvgPoolQs8, win(n));
        break;
      case "gap": {
        const [h, w] = shapes.get(n.input)!;
        const { mult, shift } = multipliers([qOf(n.input).scale / (h * w * qy.scale)]);
        op(Op.GlobalAvgPoolQs8, [mult[0], shift]);
        break;
      }
      case "add": {
        const qa = qOf(n.inputs[0]), qb = qOf(n.inputs[1]);
        const { mult, shift } = multipliers([qa.scale / qy.scale, qb.scale / qy.scale], 24);
        const { lo, hi } = bounds(n.act, qy, n.output);
        op(Op.AddQs8, [mult[0], mult[1], shift, lo, hi]);
        break;
      }
      case "concat":
        for (const v of n.inputs) same(n, qOf(v), qy);
        op(Op.Concat);
        break;
      case "act": {
        const qx = qOf(n.input);
        const table = buildQs8Lut((x) => ACT_FN[n.kind](x, n.alpha, n.beta), qx.scale, qx.zeroPoint, qy.scale, qy.zeroPoint);
        const lv = qg.levels?.get(n.output);
        if (lv !== undefined) for (let i = 0; i < table.length; i++) table[i] = Math.max(qy.zeroPoint, Math.min(qy.zeroPoint + lv - 1, table[i]));
        op(Op.LutQs8, [], { weights: b.weights(new Uint8Array(table.buffer)) });
        break;
      }
      case "flatten":
        same(n, qOf(n.input), qy);
        op(Op.Reshape);
        break;
    }
  }
  return finish(g, b, tensorOf, opts, qOf(g.input.name));
}
