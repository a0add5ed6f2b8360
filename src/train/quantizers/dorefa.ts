// DoReFa-Net (Zhou et al. 2016) and PACT (Choi et al. 2018).
// DoReFa weights: t = tanh(w), normalized per output channel by max |t| to [-1, 1], rounded to the signed grid
//   [-Qp, Qp] / Qp (zero included, so the layer runs on the integer kernels; the paper's grid 2i/(2^k-1) - 1 has
//   no zero) and rescaled by the channel's max |w| (the paper's weights are in [-1, 1]; keeping the magnitude
//   lets a BN-folded pretrained network be fine-tuned). Gradient: straight through the rounding, through tanh.
// DoReFa activations: clip(x, 0, 1) on the A-bit grid i / (2^A - 1); gradient 1 inside [0, 1].
// PACT activations: y = clip(x, 0, alpha) on the grid s * i, s = alpha / (2^A - 1), alpha learned:
//   dy/dx = 1 for 0 <= x < alpha, dy/dalpha = 1 for x >= alpha (straight through the rounding), alpha decays
//   (L2, as in the paper). Initial alpha: max(1, 2 sqrt(Qp) mean|x|) on the first batch. PACT's weights: DoReFa's.
import { actLevels, fakeQuant, fakeQuantGrad, param, rnd, type ActQuantizer, type Method, type Param, type WeightQuantizer } from "./types.ts";
import { tanh } from "../detmath.ts";

export class DorefaWeights implements WeightQuantizer {
  readonly params = [];
  private mt: Float32Array;
  private mw: Float32Array;
  constructor(readonly bits: number, readonly N: number, readonly per: number) {
    this.mt = new Float32Array(N);
    this.mw = new Float32Array(N);
  }
  private Qp() { return 2 ** (this.bits - 1) - 1; }
  forward(w: Float32Array, wq: Float32Array): void {
    const Qp = this.Qp();
    for (let c = 0; c < this.N; c++) {
      let mt = 0, mw = 0;
      for (let i = c * this.per; i < (c + 1) * this.per; i++) { mt = Math.max(mt, Math.abs(tanh(w[i]))); mw = Math.max(mw, Math.abs(w[i])); }
      this.mt[c] = Math.max(mt, 1e-8);
      this.mw[c] = Math.fround(Math.max(mw, 1e-8) / Qp);
      for (let i = c * this.per; i < (c + 1) * this.per; i++) wq[i] = rnd((tanh(w[i]) / this.mt[c]) * Qp) * this.mw[c];
    }
  }
  backward(w: Float32Array, g: Float32Array, gw: Float32Array): void {
    const Qp = this.Qp();
    for (let c = 0; c < this.N; c++) {
      const k = (Qp * this.mw[c]) / this.mt[c];
      for (let i = c * this.per; i < (c + 1) * this.per; i++) { const t = tanh(w[i]); gw[i] += g[i] * k * (1 - t * t); }
    }
  }
  export(w: Float32Array): { q: Int8Array; scales: Float32Array } {
    const Qp = this.Qp();
    const q = new Int8Array(w.length);
    for (let c = 0; c < this.N; c++) for (let i = c * this.per; i < (c + 1) * this.per; i++) q[i] = rnd((tanh(w[i]) / this.mt[c]) * Qp);
    return { q, scales: Float32Array.from(this.mw) };
  }
}

export class DorefaActs implements ActQuantizer {
  readonly params = [];
  constructor(readonly bits: number) {}
  step(): number { return Math.fround(1 / actLevels(this.bits)); }
  forward(x: Float32Array, y: Float32Array): void {
    fakeQuant(x, y, this.step(), 0, actLevels(this.bits));
  }
  backward(x: Float32Array, gy: Float32Array, gx: Float32Array): void {
    fakeQuantGrad(x, gy, gx, this.step(), 0, actLevels(this.bits));
  }
}

export class PactActs implements ActQuantizer {
  readonly params: Param[];
  readonly alpha: Param;
  private init = false;
  constructor(readonly bits: number) {
    this.alpha = param("pact_alpha", new Float32Array(1), true);
    this.params = [this.alpha];
  }
  step(): number { return Math.fround(this.alpha.data[0] / actLevels(this.bits)); }
  forward(x: Float32Array, y: Float32Array, _per: number, train: boolean): void {
    const Qp = actLevels(this.bits);
    if (!this.init && train) {
      let a = 0;
      for (let i = 0; i < x.length; i++) a += Math.abs(x[i]);
      this.alpha.data[0] = Math.max(1, 2 * Math.sqrt(Qp) * (a / x.length));
      this.init = true;
    }
    if (!(this.alpha.data[0] > 1e-6)) this.alpha.data[0] = 1e-6;
    fakeQuant(x, y, this.step(), 0, Qp);
  }
  backward(x: Float32Array, gy: Float32Array, gx: Float32Array): void {
    const [, , above] = fakeQuantGrad(x, gy, gx, this.step(), 0, actLevels(this.bits));
    this.alpha.grad[0] = above;
  }
}

export const dorefa: Method = {
  name: "dorefa",
  summary: "DoReFa: tanh-normalized weights (per-channel magnitude kept), activations clipped to [0, 1]",
  weight: (bits, N, per) => new DorefaWeights(bits, N, per),
  act: (bits) => new DorefaActs(bits),
};

export const pact: Method = {
  name: "pact",
  summary: "PACT: learned activation clipping alpha (with L2 decay), DoReFa weights",
  weight: (bits, N, per) => new DorefaWeights(bits, N, per),
  act: (bits) => new PactActs(bits),
};
