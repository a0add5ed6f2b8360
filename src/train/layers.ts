// The training engine's layers: explicit fp32 forward and backward over NHWC mini-batches [B][H][W][C].
// conv (groups 1) and dense run as GEMMs on the wasm kernels (im2col, then A*B forward, A^T*B for the weight
// gradient, A*B + col2im for the input gradient); depthwise conv, batch norm, activations, pooling, add and the
// fake quantizers run in TypeScript over views of the same wasm memory. Every layer's backward ADDS into its
// inputs' gradients (a value read twice, as a residual's input, gets both); the net zeroes them first.
import type { Act } from "../ir/graph.ts";
import { type Buf, Kernels, QwmTrainError } from "./kernels.ts";
import { param, type ActQuantizer, type Param, type WeightQuantizer } from "./quantizers/types.ts";
import { exp, log } from "./detmath.ts";

/** A value of the network: per-image shape and its batch buffers (activations and gradient). */
export interface Val {
  name: string;
  shape: [number, number, number];
  /** values per image */
  size: number;
  y: Buf;
  dy: Buf;
  /** no gradient needed (the input image) */
  noGrad?: boolean;
}

/** Scratch shared by all layers (sized for the largest), allocated once the net is built. */
export interface Scratch { col: Buf; dz: Buf }

export abstract class Layer {
  params: Param[] = [];
  constructor(readonly name: string, readonly inputs: Val[], readonly out: Val) {}
  /** Scratch floats this layer needs for a batch of B: [col, dz]. */
  scratch(_B: number): [number, number] { return [0, 0]; }
  abstract forward(k: Kernels, s: Scratch, B: number, train: boolean): void;
  abstract backward(k: Kernels, s: Scratch, B: number): void;
}

const ACT_CODE = { none: 0, relu: 1, relu6: 2 } as const;
function applyAct(act: Act, y: Float32Array): void {
  if (act === "relu") { for (let i = 0; i < y.length; i++) if (y[i] < 0) y[i] = 0; }
  else if (act === "relu6") { for (let i = 0; i < y.length; i++) y[i] = y[i] < 0 ? 0 : y[i] > 6 ? 6 : y[i]; }
}
/** dz = dy * act'(y); returns the buffer holding dz (dy itself when there is no activation). */
function actBackward(k: Kernels, act: Act, out: Val, dzBuf: Buf, n: number): Buf {
  if (act === "none") return out.dy;
  k.k.act_grad_f32(dzBuf.off, out.dy.off, out.y.off, n, ACT_CODE[act]);
  return dzBuf;
}

export interface ConvGeom { KH: number; KW: number; SH: number; SW: number; PT: number; PL: number; DH: number; DW: number }

/** Conv (groups 1) or dense (a 1x1 conv over a 1x1 image of K channels): weight [N][KH][KW][C], bias [N]. */
export class Conv extends Layer {
  readonly w: Param;
  readonly b: Param;
  wq?: WeightQuantizer;
  readonly K: number;
  readonly N: number;
  private wEff!: Buf;
  private wT!: Buf;
  private gEff!: Buf;
  private bias!: Buf;
  private readonly direct: boolean;
  constructor(name: string, x: Val, out: Val, weight: Float32Array, bias: Float32Array, readonly g: ConvGeom, readonly act: Act, k: Kernels) {
    super(name, [x], out);
    this.N = out.shape[2];
    this.K = g.KH * g.KW * x.shape[2];
    if (weight.length !== this.N * this.K) throw new QwmTrainError(`${name}: weight has ${weight.length} values, expected ${this.N}x${this.K}`);
    this.w = param(`${name}.weight`, Float32Array.from(weight), true);
    this.b = param(`${name}.bias`, Float32Array.from(bias));
    this.params = [this.w, this.b];
    this.direct = g.KH === 1 && g.KW === 1 && g.SH === 1 && g.SW === 1 && g.PT === 0 && g.PL === 0 && x.shape[0] === out.shape[0] && x.shape[1] === out.shape[1];
    this.wEff = k.alloc(this.N * this.K);
    this.wT = k.alloc(this.N * this.K);
    this.gEff = k.alloc(this.N * this.K);
    this.bias = k.alloc(this.N);
  }
  setQuantizer(q: WeightQuantizer | undefined): void {
    this.wq = q;
    this.params = q ? [this.w, this.b, ...q.params.map((p) => ({ ...p, name: `${this.name}.${p.name}` }))] : [this.w, this.b];
  }
  /** The weights the forward uses (fake-quantized when a quantizer is set). */
  effectiveWeights(k: Kernels): Float32Array {
    return Float32Array.from(k.f32(this.wEff));
  }
  scratch(B: number): [number, number] {
    const P = B * this.out.shape[0] * this.out.shape[1];
    return [this.direct ? 0 : P * this.K, P * this.N];
  }
  private im2col(k: Kernels, s: Scratch, B: number): number {
    const x = this.inputs[0];
    if (this.direct) return x.y.off;
    const [H, W, C] = x.shape, [OH, OW] = this.out.shape, g = this.g;
    k.k.im2col_f32(x.y.off, B, H, W, C, g.KH, g.KW, g.SH, g.SW, g.PT, g.PL, g.DH, g.DW, OH, OW, s.col.off);
    return s.col.off;
  }
  forward(k: Kernels, s: Scratch, B: number): void {
    const N = this.N, K = this.K;
    const we = k.f32(this.wEff);
    if (this.wq) this.wq.forward(this.w.data, we);
    else we.set(this.w.data);
    const wt = k.f32(this.wT);
    for (let n = 0; n < N; n++) for (let i = 0; i < K; i++) wt[i * N + n] = we[n * K + i];
    const P = B * this.out.shape[0] * this.out.shape[1];
    const a = this.im2col(k, s, B);
    k.gemm(P, N, K, a, K, 1, this.wT.off, N, this.out.y.off, N, 0);
    k.f32(this.bias).set(this.b.data);
    k.k.bias_act_f32(this.out.y.off, P, N, this.bias.off, ACT_CODE[this.act]);
  }
  backward(k: Kernels, s: Scratch, B: number): void {
    const N = this.N, K = this.K, x = this.inputs[0];
    const P = B * this.out.shape[0] * this.out.shape[1];
    const dzb = actBackward(k, this.act, this.out, s.dz, P * N);
    k.k.colsum_f32(dzb.off, P, N, this.bias.off);
    this.b.grad.set(k.f32(this.bias));
    const a = this.im2col(k, s, B);
    k.gemm(N, K, P, dzb.off, 1, N, a, K, this.gEff.off, K, 0);
    const ge = k.f32(this.gEff);
    if (this.wq) { this.w.grad.fill(0); this.wq.backward(this.w.data, ge, this.w.grad); }
    else this.w.grad.set(ge);
    if (x.noGrad) return;
    if (this.direct) { k.gemm(P, K, N, dzb.off, N, 1, this.wEff.off, K, x.dy.off, K, 1); return; }
    k.gemm(P, K, N, dzb.off, N, 1, this.wEff.off, K, s.col.off, K, 0);
    const [H, W, C] = x.shape, [OH, OW] = this.out.shape, g = this.g;
    k.k.col2im_f32(s.col.off, B, H, W, C, g.KH, g.KW, g.SH, g.SW, g.PT, g.PL, g.DH, g.DW, OH, OW, x.dy.off);
  }
}

/** Depthwise conv (channel multiplier 1): weight [C][KH][KW], bias [C]. */
export class DwConv extends Layer {
  readonly w: Param;
  readonly b: Param;
  wq?: WeightQuantizer;
  private wEff: Float32Array;
  constructor(name: string, x: Val, out: Val, weight: Float32Array, bias: Float32Array, readonly g: ConvGeom, readonly act: Act) {
    super(name, [x], out);
    this.w = param(`${name}.weight`, Float32Array.from(weight), true);
    this.b = param(`${name}.bias`, Float32Array.from(bias));
    this.params = [this.w, this.b];
    this.wEff = new Float32Array(weight.length);
  }
  setQuantizer(q: WeightQuantizer | undefined): void {
    this.wq = q;
    this.params = q ? [this.w, this.b, ...q.params.map((p) => ({ ...p, name: `${this.name}.${p.name}` }))] : [this.w, this.b];
  }
  effectiveWeights(): Float32Array { return Float32Array.from(this.wEff); }
  scratch(B: number): [number, number] { return [0, B * this.out.size]; }
  private each(B: number, f: (xi: number, yi: number, wi: number) => void): void {
    const [H, W, C] = this.inputs[0].shape, [OH, OW] = this.out.shape, g = this.g, T = g.KH * g.KW;
    for (let n = 0; n < B; n++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
      const yb = ((n * OH + oh) * OW + ow) * C;
      for (let kh = 0; kh < g.KH; kh++) {
        const ih = oh * g.SH - g.PT + kh * g.DH;
        if (ih < 0 || ih >= H) continue;
        for (let kw = 0; kw < g.KW; kw++) {
          const iw = ow * g.SW - g.PL + kw * g.DW;
          if (iw < 0 || iw >= W) continue;
          const xb = ((n * H + ih) * W + iw) * C, t = kh * g.KW + kw;
          for (let c = 0; c < C; c++) f(xb + c, yb + c, c * T + t);
        }
      }
    }
  }
  forward(k: Kernels, _s: Scratch, B: number): void {
    if (this.wq) this.wq.forward(this.w.data, this.wEff);
    else this.wEff.set(this.w.data);
    const C = this.out.shape[2];
    const x = k.f32(this.inputs[0].y, B * this.inputs[0].size), y = k.f32(this.out.y, B * this.out.size), w = this.wEff;
    for (let i = 0; i < y.length; i++) y[i] = this.b.data[i % C];
    this.each(B, (xi, yi, wi) => { y[yi] += x[xi] * w[wi]; });
    applyAct(this.act, y);
  }
  backward(k: Kernels, s: Scratch, B: number): void {
    const C = this.out.shape[2], x0 = this.inputs[0];
    const dz = k.f32(actBackward(k, this.act, this.out, s.dz, B * this.out.size), B * this.out.size);
    const x = k.f32(x0.y, B * x0.size), w = this.wEff;
    const gEff = new Float32Array(w.length);
    this.b.grad.fill(0);
    for (let i = 0; i < dz.length; i++) this.b.grad[i % C] += dz[i];
    const dx = x0.noGrad ? undefined : k.f32(x0.dy, B * x0.size);
    this.each(B, (xi, yi, wi) => {
      gEff[wi] += dz[yi] * x[xi];
      if (dx) dx[xi] += dz[yi] * w[wi];
    });
    if (this.wq) { this.w.grad.fill(0); this.wq.backward(this.w.data, gEff, this.w.grad); }
    else this.w.grad.set(gEff);
  }
}

/** Batch normalization over N, H, W per channel (batch statistics in training, running ones otherwise), then act. */
export class BatchNorm extends Layer {
  readonly gamma: Param;
  readonly beta: Param;
  readonly mean: Float32Array;
  readonly var: Float32Array;
  private xhat = new Float32Array(0);
  private invStd: Float32Array;
  constructor(name: string, x: Val, out: Val, readonly act: Act, readonly eps = 1e-5, readonly momentum = 0.1) {
    super(name, [x], out);
    const C = x.shape[2];
    this.gamma = param(`${name}.gamma`, new Float32Array(C).fill(1));
    this.beta = param(`${name}.beta`, new Float32Array(C));
    this.mean = new Float32Array(C);
    this.var = new Float32Array(C).fill(1);
    this.invStd = new Float32Array(C);
    this.params = [this.gamma, this.beta];
  }
  scratch(B: number): [number, number] { return [0, B * this.out.size]; }
  forward(k: Kernels, _s: Scratch, B: number, train: boolean): void {
    const C = this.out.shape[2], n = B * this.out.size, M = n / C;
    const x = k.f32(this.inputs[0].y, n), y = k.f32(this.out.y, n);
    if (this.xhat.length < n) this.xhat = new Float32Array(n);
    const mean = new Float64Array(C), v = new Float64Array(C);
    if (train) {
      for (let o = 0; o < n; o += C) for (let c = 0; c < C; c++) mean[c] += x[o + c];
      for (let c = 0; c < C; c++) mean[c] /= M;
      for (let o = 0; o < n; o += C) for (let c = 0; c < C; c++) { const d = x[o + c] - mean[c]; v[c] += d * d; }
      for (let c = 0; c < C; c++) {
        v[c] /= M;
        this.mean[c] = (1 - this.momentum) * this.mean[c] + this.momentum * mean[c];
        this.var[c] = (1 - this.momentum) * this.var[c] + this.momentum * v[c] * (M / Math.max(1, M - 1));
      }
    } else {
      for (let c = 0; c < C; c++) { mean[c] = this.mean[c]; v[c] = this.var[c]; }
    }
    for (let c = 0; c < C; c++) this.invStd[c] = 1 / Math.sqrt(v[c] + this.eps);
    const g = this.gamma.data, b = this.beta.data, xh = this.xhat, is = this.invStd;
    for (let o = 0; o < n; o += C) {
      for (let c = 0; c < C; c++) { const h = (x[o + c] - mean[c]) * is[c]; xh[o + c] = h; y[o + c] = g[c] * h + b[c]; }
    }
    applyAct(this.act, y);
  }
  backward(k: Kernels, s: Scratch, B: number): void {
    const C = this.out.shape[2], n = B * this.out.size, M = n / C;
    const dz = k.f32(actBackward(k, this.act, this.out, s.dz, n), n);
    const xh = this.xhat, g = this.gamma.data;
    const sdz = new Float64Array(C), sdzx = new Float64Array(C);
    for (let o = 0; o < n; o += C) for (let c = 0; c < C; c++) { sdz[c] += dz[o + c]; sdzx[c] += dz[o + c] * xh[o + c]; }
    for (let c = 0; c < C; c++) { this.beta.grad[c] = sdz[c]; this.gamma.grad[c] = sdzx[c]; }
    if (this.inputs[0].noGrad) return;
    const dx = k.f32(this.inputs[0].dy, n);
    const f = Float64Array.from({ length: C }, (_, c) => (g[c] * this.invStd[c]) / M), m1 = Float64Array.from(sdz), m2 = Float64Array.from(sdzx);
    for (let o = 0; o < n; o += C) for (let c = 0; c < C; c++) dx[o + c] += f[c] * (M * dz[o + c] - m1[c] - xh[o + c] * m2[c]);
  }
  /** Per-channel affine a*x + b equal to this layer in inference. */
  affine(): { a: Float32Array; b: Float32Array } {
    const C = this.mean.length, a = new Float32Array(C), b = new Float32Array(C);
    for (let c = 0; c < C; c++) {
      a[c] = this.gamma.data[c] / Math.sqrt(this.var[c] + this.eps);
      b[c] = this.beta.data[c] - a[c] * this.mean[c];
    }
    return { a, b };
  }
}

/** ReLU / ReLU6 as their own node. */
export class ActLayer extends Layer {
  constructor(name: string, x: Val, out: Val, readonly act: Act) { super(name, [x], out); }
  scratch(B: number): [number, number] { return [0, B * this.out.size]; }
  forward(k: Kernels, _s: Scratch, B: number): void {
    const n = B * this.out.size, y = k.f32(this.out.y, n);
    y.set(k.f32(this.inputs[0].y, n));
    applyAct(this.act, y);
  }
  backward(k: Kernels, s: Scratch, B: number): void {
    const n = B * this.out.size;
    if (this.inputs[0].noGrad) return;
    const dz = k.f32(actBackward(k, this.act, this.out, s.dz, n), n), dx = k.f32(this.inputs[0].dy, n);
    for (let i = 0; i < n; i++) dx[i] += dz[i];
  }
}

/** a + b, then act. */
export class Add extends Layer {
  constructor(name: string, a: Val, b: Val, out: Val, readonly act: Act) { super(name, [a, b], out); }
  scratch(B: number): [number, number] { return [0, B * this.out.size]; }
  forward(k: Kernels, _s: Scratch, B: number): void {
    k.k.add_act_f32(this.out.y.off, this.inputs[0].y.off, this.inputs[1].y.off, B * this.out.size, ACT_CODE[this.act]);
  }
  backward(k: Kernels, s: Scratch, B: number): void {
    const n = B * this.out.size;
    const dz = actBackward(k, this.act, this.out, s.dz, n);
    for (const x of this.inputs) if (!x.noGrad) k.k.add_f32(x.dy.off, dz.off, n);
  }
}

/** Max or average pooling (average over the valid taps only, as the runtime's kernels), or global average. */
export class Pool extends Layer {
  private arg = new Int32Array(0);
  constructor(name: string, x: Val, out: Val, readonly kind: "max" | "avg" | "gap", readonly g: ConvGeom) { super(name, [x], out); }
  private windows(B: number, f: (n: number, yb: number, ih0: number, ih1: number, iw0: number, iw1: number) => void): void {
    const [H, W] = this.inputs[0].shape, [OH, OW, C] = this.out.shape, g = this.g;
    for (let n = 0; n < B; n++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
      const h0 = oh * g.SH - g.PT, w0 = ow * g.SW - g.PL;
      f(n, ((n * OH + oh) * OW + ow) * C, Math.max(0, h0), Math.min(H, h0 + g.KH), Math.max(0, w0), Math.min(W, w0 + g.KW));
    }
  }
  forward(k: Kernels, _s: Scratch, B: number): void {
    const [H, W, C] = this.inputs[0].shape;
    const x = k.f32(this.inputs[0].y, B * this.inputs[0].size), y = k.f32(this.out.y, B * this.out.size);
    if (this.kind === "max" && this.arg.length < y.length) this.arg = new Int32Array(y.length);
    this.windows(B, (n, yb, ih0, ih1, iw0, iw1) => {
      for (let c = 0; c < C; c++) {
        let acc = this.kind === "max" ? -Infinity : 0, at = -1;
        for (let ih = ih0; ih < ih1; ih++) for (let iw = iw0; iw < iw1; iw++) {
          const xi = ((n * H + ih) * W + iw) * C + c;
          if (this.kind === "max") { if (x[xi] > acc) { acc = x[xi]; at = xi; } }
          else acc += x[xi];
        }
        if (this.kind === "max") { y[yb + c] = acc; this.arg[yb + c] = at; }
        else y[yb + c] = acc / ((ih1 - ih0) * (iw1 - iw0));
      }
    });
  }
  backward(k: Kernels, _s: Scratch, B: number): void {
    if (this.inputs[0].noGrad) return;
    const [H, W, C] = this.inputs[0].shape;
    const dx = k.f32(this.inputs[0].dy, B * this.inputs[0].size), dy = k.f32(this.out.dy, B * this.out.size);
    if (this.kind === "max") { for (let i = 0; i < dy.length; i++) if (this.arg[i] >= 0) dx[this.arg[i]] += dy[i]; return; }
    this.windows(B, (n, yb, ih0, ih1, iw0, iw1) => {
      const inv = 1 / ((ih1 - ih0) * (iw1 - iw0));
      for (let ih = ih0; ih < ih1; ih++) for (let iw = iw0; iw < iw1; iw++) {
        const xb = ((n * H + ih) * W + iw) * C;
        for (let c = 0; c < C; c++) dx[xb + c] += dy[yb + c] * inv;
      }
    });
  }
}

/** A fake activation quantizer between a value and its readers. */
export class ActQuant extends Layer {
  constructor(name: string, x: Val, out: Val, readonly q: ActQuantizer) {
    super(name, [x], out);
    this.params = q.params.map((p) => ({ ...p, name: `${name}.${p.name}` }));
  }
  forward(k: Kernels, _s: Scratch, B: number, train: boolean): void {
    const n = B * this.out.size;
    this.q.forward(k.f32(this.inputs[0].y, n), k.f32(this.out.y, n), this.out.size, train);
  }
  backward(k: Kernels, _s: Scratch, B: number): void {
    const n = B * this.out.size;
    if (this.inputs[0].noGrad) return;
    this.q.backward(k.f32(this.inputs[0].y, n), k.f32(this.out.dy, n), k.f32(this.inputs[0].dy, n));
  }
}

/** Softmax cross-entropy averaged over the batch: returns the loss, writes dL/dlogits, counts correct argmaxes. */
export function softmaxCrossEntropy(logits: Float32Array, labels: ArrayLike<number>, B: number, classes: number, grad?: Float32Array): { loss: number; correct: number } {
  let loss = 0, correct = 0;
  for (let n = 0; n < B; n++) {
    const o = n * classes;
    let m = -Infinity, am = 0;
    for (let j = 0; j < classes; j++) if (logits[o + j] > m) { m = logits[o + j]; am = j; }
    let sum = 0;
    for (let j = 0; j < classes; j++) sum += exp(logits[o + j] - m);
    const label = labels[n];
    loss += log(sum) - (logits[o + label] - m);
    if (am === label) correct++;
    if (grad) for (let j = 0; j < classes; j++) grad[o + j] = (exp(logits[o + j] - m) / sum - (j === label ? 1 : 0)) / B;
  }
  return { loss: loss / B, correct };
}
