// A trainable network built from the graph IR (plus batch-norm nodes for training from scratch): a DAG of
// layers (layers.ts) over values in the training kernels' memory, fake quantizers inserted per --method, and the
// export to a .qwm program on the integer kernels (batch norm folded, integer weights and activation grids kept).
import { inferShapes, type Act, type Graph, type Node } from "../ir/graph.ts";
import { lowerFloat, lowerQuantized, type QuantizedGraph } from "../pack/lower.ts";
import { writeQwm } from "../pack/qwm.ts";
import { asymmetricQParams, quantizeWeights, type QParams } from "../quantize/params.ts";
import { Kernels, QwmTrainError } from "./kernels.ts";
import { ActLayer, ActQuant, Add, BatchNorm, Conv, DwConv, type Layer, Pool, type Scratch, type Val, type ConvGeom } from "./layers.ts";
import { applyXnor } from "../quantize/binary.ts";
import { SignActs } from "./quantizers/xnor.ts";
import { checkMethod, type ActQuantizer, type Param, type WeightQuantizer } from "./quantizers/index.ts";

/** Batch normalization (training from scratch); folded into the conv before it at export. */
export interface BnNode { op: "bn"; input: string; output: string; name: string; act: Act }
export type TrainNode = Node | BnNode;
export interface TrainGraph extends Omit<Graph, "nodes"> { nodes: TrainNode[] }

export interface QuantSpec {
  /** Weight bits of the conv / dense layers between the first and the last (32: float). */
  weightBits: number;
  /** Bits of the activations after ReLU / ReLU6 (32: float). */
  actBits: number;
  method: string;
}

type WeightLayer = Conv | DwConv;

const geom = (n: { kernel: [number, number]; stride: [number, number]; pads: number[]; dilation?: [number, number] }): ConvGeom => ({
  KH: n.kernel[0], KW: n.kernel[1], SH: n.stride[0], SW: n.stride[1], PT: n.pads[0], PL: n.pads[1], DH: n.dilation?.[0] ?? 1, DW: n.dilation?.[1] ?? 1,
});

export class Net {
  readonly k: Kernels;
  readonly vals = new Map<string, Val>();
  readonly layers: Layer[] = [];
  readonly input: Val;
  readonly output: Val;
  readonly classes: number;
  /** IR value -> its activation quantizer (A-bit values). */
  readonly actQ = new Map<string, ActQuantizer>();
  /** weight layers in order, and which of them are fake-quantized */
  readonly weightLayers: WeightLayer[] = [];
  /** conv / dense nodes trained as binary XNOR layers (--weights 1 --acts 1) */
  readonly binary = new Set<string>();
  private byNode = new Map<string, Layer>();
  private scratch!: Scratch;
  private ranges = new Map<string, { min: number; max: number }>();

  constructor(readonly graph: TrainGraph, readonly batch: number, readonly quant: QuantSpec = { weightBits: 32, actBits: 32, method: "lsq" }, k = new Kernels()) {
    this.k = k;
    for (const b of [quant.weightBits, quant.actBits]) {
      if (![32, 8, 4, 3, 2, 1].includes(b)) throw new QwmTrainError(`${b}-bit ${b === quant.weightBits ? "weights" : "activations"}: use 32 (float), 8, 4, 3, 2 or 1`);
    }
    if (quant.weightBits === 3) throw new QwmTrainError("3-bit weights have no integer kernel: use 8, 4 or 2");
    const m = quant.weightBits < 8 || quant.actBits < 8 ? checkMethod(quant.method, quant.weightBits, quant.actBits) : undefined;
    // binary (XNOR) layers: every conv (groups 1) / dense but the first and the last, each reading sign(x)
    const wNodes = graph.nodes.filter((n): n is Extract<Node, { op: "conv" | "dense" }> => n.op === "conv" || n.op === "dense");
    if (quant.weightBits === 1) {
      wNodes.forEach((n, i) => { if (i > 0 && i < wNodes.length - 1 && (n.op === "dense" || n.groups === 1)) this.binary.add(n.name); });
    }
    const shapes = inferShapes({ ...graph, nodes: graph.nodes.map((n) => (n.op === "bn" ? { op: "act", kind: "relu", alpha: 0, beta: 0, input: n.input, output: n.output, name: n.name } : n)) as Node[] });
    const B = batch;
    const newVal = (name: string, shape: [number, number, number]): Val => {
      const size = shape[0] * shape[1] * shape[2];
      const v: Val = { name, shape, size, y: k.alloc(B * size), dy: k.alloc(B * size) };
      return v;
    };
    this.input = newVal(graph.input.name, graph.input.shape);
    this.input.noGrad = true;
    const reader = new Map<string, Val>([[graph.input.name, this.input]]);
    const get = (v: string) => reader.get(v)!;
    const nonNeg = new Set<string>();
    for (const n of graph.nodes) {
      const a = "act" in n ? n.act : undefined;
      if (a === "relu" || a === "relu6" || (n.op === "act" && (n.kind === "relu" || (n.kind === "clip" && n.alpha === 0)))
        || ((n.op === "maxpool" || n.op === "avgpool" || n.op === "gap" || n.op === "flatten") && nonNeg.has(n.input))) nonNeg.add(n.output);
    }
    /** the binary layer's input: sign(x) (ApproxSign gradient) of the value, for that reader only */
    const signed = (n: Node, v: string): Val => {
      const x = get(v);
      if (!this.binary.has(n.name)) return x;
      const sv = newVal(`${v}:sign:${n.name}`, x.shape);
      const q = m!.act(1);
      // a ReLU output (or its pooled / flattened form) is non-negative: its sign is x > 0, as SignQb1 exports it
      if (q instanceof SignActs) q.positive = nonNeg.has(v);
      this.layers.push(new ActQuant(sv.name, x, sv, q));
      return sv;
    };
    for (const n of graph.nodes) {
      const shape = shapes.get(n.output)!;
      if (n.op === "flatten") {
        const x = get(n.input);
        const v: Val = { name: n.output, shape, size: x.size, y: x.y, dy: x.dy, noGrad: x.noGrad };
        this.vals.set(n.output, v);
        reader.set(n.output, v);
        continue;
      }
      const out = newVal(n.output, shape);
      this.vals.set(n.output, out);
      let layer: Layer;
      let act: Act = "none";
      switch (n.op) {
        case "conv": {
          act = n.act;
          layer = n.groups === 1 ? new Conv(n.name, signed(n, n.input), out, n.weight, n.bias, geom(n), n.act, k) : new DwConv(n.name, get(n.input), out, n.weight, n.bias, geom(n), n.act);
          this.weightLayers.push(layer as WeightLayer);
          break;
        }
        case "dense": {
          act = n.act;
          const x = signed(n, n.input);
          const flat: Val = x.shape[0] === 1 && x.shape[1] === 1 ? x : { ...x, shape: [1, 1, x.size] };
          layer = new Conv(n.name, flat, out, n.weight, n.bias, geom({ kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0] }), n.act, k);
          this.weightLayers.push(layer as WeightLayer);
          break;
        }
        case "bn": act = n.act; layer = new BatchNorm(n.name, get(n.input), out, n.act); break;
        case "maxpool": case "avgpool": layer = new Pool(n.name, get(n.input), out, n.op === "maxpool" ? "max" : "avg", geom(n)); break;
        case "gap": {
          const [H, W] = shapes.get(n.input)!;
          layer = new Pool(n.name, get(n.input), out, "avg", geom({ kernel: [H, W], stride: [1, 1], pads: [0, 0, 0, 0] }));
          break;
        }
        case "add": act = n.act; layer = new Add(n.name, get(n.inputs[0]), get(n.inputs[1]), out, n.act); break;
        case "act": {
          if (n.kind === "relu") act = "relu";
          else if (n.kind === "clip" && n.alpha === 0 && n.beta === 6) act = "relu6";
          else throw new QwmTrainError(`node '${n.name}': training through ${n.kind}${n.kind === "clip" ? `(${n.alpha}, ${n.beta})` : ""} is not supported (ReLU and ReLU6 are)`);
          layer = new ActLayer(n.name, get(n.input), out, act);
          break;
        }
        default:
          throw new QwmTrainError(`node '${n.name}': training through ${n.op} is not supported`);
      }
      this.layers.push(layer);
      this.byNode.set(n.name, layer);
      reader.set(n.output, out);
      if (m && quant.actBits < 8 && quant.actBits !== 1 && act !== "none" && n.output !== graph.output) {
        const q = m.act(quant.actBits);
        const qv = newVal(`${n.output}:q`, shape);
        this.layers.push(new ActQuant(`${n.output}:q`, out, qv, q));
        this.actQ.set(n.output, q);
        reader.set(n.output, qv);
      }
    }
    this.output = reader.get(graph.output)!;
    this.classes = this.output.size;
    if (m && quant.weightBits < 8) {
      this.weightLayers.forEach((l, i) => {
        if (i === 0 || i === this.weightLayers.length - 1) return; // first conv and last layer: 8 bits
        if (quant.weightBits === 1 && !this.binary.has(l.name)) return; // binary: XNOR layers only (depthwise 8-bit)
        const dw = l instanceof DwConv;
        const bits = dw ? Math.max(4, quant.weightBits) : quant.weightBits;
        const N = dw ? l.out.shape[2] : l.N;
        const q: WeightQuantizer = m.weight(bits, N, l.w.data.length / N);
        l.setQuantizer(q);
      });
    }
    let col = 0, dz = 0;
    for (const l of this.layers) { const [c, d] = l.scratch(B); col = Math.max(col, c); dz = Math.max(dz, d); }
    this.scratch = { col: k.alloc(col), dz: k.alloc(dz) };
  }

  params(): Param[] { return this.layers.flatMap((l) => l.params); }

  /** Training progress in [0, 1], for the methods with schedules of their own (INQ, the regularizer). */
  setProgress(p: number): void { for (const l of this.weightLayers) l.wq?.progress?.(p); }

  /** Writes a batch of inputs (NHWC floats, n images). */
  setInput(x: Float32Array): void {
    this.k.f32(this.input.y, x.length).set(x);
  }

  /** Forward pass over the first B images of the batch buffers; returns the logits [B][classes] (a copy). */
  forward(B: number, train: boolean): Float32Array {
    if (B > this.batch) throw new QwmTrainError(`batch of ${B} > the net's ${this.batch}`);
    for (const l of this.layers) l.forward(this.k, this.scratch, B, train);
    return Float32Array.from(this.k.f32(this.output.y, B * this.classes));
  }

  /** Backward pass from dL/dlogits; parameter gradients are left in each Param.grad. */
  backward(B: number, dlogits: Float32Array): void {
    for (const v of this.vals.values()) this.k.f32(v.dy, B * v.size).fill(0);
    for (const l of this.layers) if (l instanceof ActQuant) this.k.f32(l.out.dy, B * l.out.size).fill(0);
    this.k.f32(this.output.dy, B * this.classes).set(dlogits);
    for (let i = this.layers.length - 1; i >= 0; i--) this.layers[i].backward(this.k, this.scratch, B);
  }

  /** Records min / max of every value over an inference batch (for the 8-bit activations of the export). */
  observe(B: number): void {
    for (const [name, v] of this.vals) {
      const y = this.k.f32(v.y, B * v.size);
      let mn = Infinity, mx = -Infinity;
      for (let i = 0; i < y.length; i++) { if (y[i] < mn) mn = y[i]; if (y[i] > mx) mx = y[i]; }
      const r = this.ranges.get(name);
      this.ranges.set(name, r ? { min: Math.min(r.min, mn), max: Math.max(r.max, mx) } : { min: mn, max: mx });
    }
    const x = this.k.f32(this.input.y, B * this.input.size);
    let mn = Infinity, mx = -Infinity;
    for (let i = 0; i < x.length; i++) { if (x[i] < mn) mn = x[i]; if (x[i] > mx) mx = x[i]; }
    const r = this.ranges.get(this.input.name);
    this.ranges.set(this.input.name, r ? { min: Math.min(r.min, mn), max: Math.max(r.max, mx) } : { min: mn, max: mx });
  }
  resetRanges(): void { this.ranges.clear(); }

  /**
   * The inference graph: batch norms folded into the conv before them, the (fake-quantized) weights the forward
   * uses, and for each quantized layer its integer weights and per-channel steps (folding scales the steps).
   */
  foldedGraph(): { graph: Graph; intWeights: Map<string, { q: Int8Array; scales: Float32Array; bits: number; format?: string }> } {
    const g = this.graph;
    const readers = new Map<string, number>();
    for (const n of g.nodes) for (const v of "inputs" in n ? n.inputs : [n.input]) readers.set(v, (readers.get(v) ?? 0) + 1);
    const bnAfter = new Map<string, BnNode>();
    for (const n of g.nodes) if (n.op === "bn") bnAfter.set(n.input, n);
    const nodes: Node[] = [];
    const skip = new Set<string>();
    const intWeights = new Map<string, { q: Int8Array; scales: Float32Array; bits: number; format?: string }>();
    for (const n of g.nodes) {
      if (skip.has(n.name)) continue;
      if (n.op === "bn") {
        throw new QwmTrainError(`batch norm '${n.name}' does not follow a conv / dense it can fold into (its input must be a conv's only reader, with no activation)`);
      }
      if (n.op !== "conv" && n.op !== "dense") { nodes.push(n); continue; }
      const l = this.byNode.get(n.name) as WeightLayer;
      let w = l instanceof Conv ? l.effectiveWeights(this.k) : l.effectiveWeights();
      let bias = Float32Array.from(l.b.data);
      let out = n.output, act = n.act;
      const N = bias.length, per = w.length / N;
      // binary layers: their folded weights alpha' * sign are binarized again at export (applyXnor)
      let iw = l.wq && !this.binary.has(n.name) ? { ...l.wq.export(l.w.data), bits: l.wq.bits } : undefined;
      const bn = bnAfter.get(n.output);
      if (bn && n.act === "none" && readers.get(n.output) === 1) {
        const { a, b } = (this.byNode.get(bn.name) as BatchNorm).affine();
        w = Float32Array.from(w, (v, i) => v * a[Math.floor(i / per)]);
        bias = Float32Array.from(bias, (v, c) => v * a[c] + b[c]);
        if (iw) {
          const lo = -(2 ** (iw.bits - 1)), hi = 2 ** (iw.bits - 1) - 1;
          const q = Int8Array.from(iw.q, (v, i) => { const s = a[Math.floor(i / per)] < 0 ? -v : v; return Math.max(lo, Math.min(hi, s)); });
          iw = { q, scales: Float32Array.from(iw.scales, (s, c) => s * Math.abs(a[c])), bits: iw.bits, format: iw.format };
        }
        out = bn.output;
        act = bn.act;
        skip.add(bn.name);
      }
      if (iw) intWeights.set(n.name, iw);
      nodes.push({ ...n, weight: w, bias, output: out, act } as Node);
    }
    return { graph: { ...g, nodes } as Graph, intWeights };
  }

  /**
   * The .qwm program of the trained net. Float when weights and activations are float (32 bits); otherwise the
   * integer program: quantized layers with their integer weights (first conv and last layer at 8 bits), A-bit
   * activations as int8 tensors on 2^A levels (zero point -128, the step of their quantizer), every other value
   * int8 with the range observed by `observe()`.
   */
  exportQwm(provenance: Record<string, unknown> = {}): Uint8Array {
    const { graph, intWeights } = this.foldedGraph();
    graph.provenance = { ...graph.provenance, ...provenance };
    if (this.quant.weightBits === 32 && this.quant.actBits === 32) return writeQwm(lowerFloat(graph).program);
    const act = new Map<string, QParams>();
    const levels = new Map<string, number>();
    const range = (v: string) => {
      const r = this.ranges.get(v);
      if (!r) throw new QwmTrainError(`value '${v}' has no observed range: run observe() on calibration images first`);
      return r;
    };
    const shapes = inferShapes(graph), shapeOf = (v: string) => shapes.get(v)!;
    act.set(graph.input.name, asymmetricQParams(range(graph.input.name).min, range(graph.input.name).max));
    for (const n of graph.nodes) {
      const q = this.actQ.get(n.output);
      if (q) {
        act.set(n.output, { scale: q.step(), zeroPoint: -128 });
        levels.set(n.output, 2 ** q.bits);
      } else if (n.op === "maxpool" || n.op === "avgpool" || n.op === "flatten") {
        act.set(n.output, act.get(n.input)!);
        if (levels.has(n.input)) levels.set(n.output, levels.get(n.input)!);
      } else {
        const r = range(n.output);
        let qp = asymmetricQParams(r.min, r.max);
        if (n.op === "gap") {
          // the runtime's global average pool rescales by a multiplier below 1: an output step at least the input's
          // step over the pool size (a coarse A-bit input over a small window would otherwise need more)
          const inner = shapeOf(n.input), min = act.get(n.input)!.scale / (inner[0] * inner[1]) / 0.999;
          if (qp.scale < min) qp = { scale: min, zeroPoint: Math.max(-128, Math.min(127, Math.round(-128 - Math.min(r.min, 0) / min))) };
        }
        act.set(n.output, qp);
      }
    }
    const weights: QuantizedGraph["weights"] = new Map();
    for (const n of graph.nodes) {
      if (n.op !== "conv" && n.op !== "dense") continue;
      const iw = intWeights.get(n.name);
      weights.set(n.name, iw ?? quantizeWeights(n.weight, n.outChannels, true));
    }
    const qg: QuantizedGraph = { act, weights, levels };
    // binary layers: the XNOR path of src/quantize/binary.ts with the trained arithmetic: sign(x) at the input's
    // real zero (u = 0, v = 1: the layer computes on the +-1 values themselves), q = the sign of the folded
    // weights, alpha = their mean |w| (the trained alpha times |BN scale|)
    if (this.binary.size) applyXnor(graph, qg, [...this.binary].map((name) => ({ name, u: new Float64Array(1), v: new Float64Array([1]) })), new Map());
    return writeQwm(lowerQuantized(graph, qg).program);
  }
}
