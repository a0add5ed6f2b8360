// LSQ, learned step size quantization (Esser et al., ICLR 2020). The step s is a parameter:
//   v = x / s,  q = clamp(round(v), -Qn, Qp),  y = q * s
//   dy/dx = 1 inside (-Qn, Qp) else 0 (straight through the rounding)
//   dy/ds = (q - v) inside, -Qn below, Qp above; times the gradient scale g = 1 / sqrt(N * Qp)
// N: the weights of a channel (per-channel weights) or the features of an image (activations, per tensor).
// Initial step: 2 mean|x| / sqrt(Qp) (weights per channel; activations on the first training batch).
import { actLevels, fakeQuant, fakeQuantGrad, param, rnd, weightRange, type ActQuantizer, type Method, type Param, type WeightQuantizer } from "./types.ts";

export class LsqWeights implements WeightQuantizer {
  readonly params: Param[];
  readonly s: Param;
  private init = false;
  constructor(readonly bits: number, readonly N: number, readonly per: number) {
    this.s = param("lsq_step", new Float32Array(N));
    this.params = [this.s];
  }
  forward(w: Float32Array, wq: Float32Array): void {
    const { Qn, Qp } = weightRange(this.bits);
    const s = this.s.data;
    if (!this.init) {
      for (let c = 0; c < this.N; c++) {
        let a = 0;
        for (let i = c * this.per; i < (c + 1) * this.per; i++) a += Math.abs(w[i]);
        s[c] = Math.max((2 * a) / this.per / Math.sqrt(Qp), 1e-8);
      }
      this.init = true;
    }
    for (let c = 0; c < this.N; c++) {
      if (!(s[c] > 1e-8)) s[c] = 1e-8; // a step is positive
      const sc = s[c];
      for (let i = c * this.per; i < (c + 1) * this.per; i++) wq[i] = Math.max(-Qn, Math.min(Qp, rnd(w[i] / sc))) * sc;
    }
  }
  backward(w: Float32Array, g: Float32Array, gw: Float32Array): void {
    const { Qn, Qp } = weightRange(this.bits);
    const gs = 1 / Math.sqrt(this.per * Qp);
    for (let c = 0; c < this.N; c++) {
      const sc = this.s.data[c];
      let ds = 0;
      for (let i = c * this.per; i < (c + 1) * this.per; i++) {
        const v = w[i] / sc;
        if (v <= -Qn) ds -= Qn * g[i];
        else if (v >= Qp) ds += Qp * g[i];
        else { ds += (rnd(v) - v) * g[i]; gw[i] += g[i]; }
      }
      this.s.grad[c] = ds * gs;
    }
  }
  export(w: Float32Array): { q: Int8Array; scales: Float32Array } {
    const { Qn, Qp } = weightRange(this.bits);
    const q = new Int8Array(w.length);
    for (let c = 0; c < this.N; c++) {
      for (let i = c * this.per; i < (c + 1) * this.per; i++) q[i] = Math.max(-Qn, Math.min(Qp, rnd(w[i] / this.s.data[c])));
    }
    return { q, scales: Float32Array.from(this.s.data) };
  }
}

export class LsqActs implements ActQuantizer {
  readonly params: Param[];
  readonly s: Param;
  private init = false;
  private per = 1;
  constructor(readonly bits: number) {
    this.s = param("lsq_step", new Float32Array(1));
    this.params = [this.s];
  }
  step(): number { return this.s.data[0]; }
  forward(x: Float32Array, y: Float32Array, perImage: number, train: boolean): void {
    const Qp = actLevels(this.bits);
    this.per = perImage;
    if (!this.init && train) {
      let a = 0;
      for (let i = 0; i < x.length; i++) a += Math.abs(x[i]);
      this.s.data[0] = Math.max((2 * a) / x.length / Math.sqrt(Qp), 1e-8);
      this.init = true;
    }
    if (!(this.s.data[0] > 1e-8)) this.s.data[0] = 1e-8;
    fakeQuant(x, y, this.s.data[0], 0, Qp);
  }
  backward(x: Float32Array, gy: Float32Array, gx: Float32Array): void {
    const Qp = actLevels(this.bits);
    // -Qn = 0 for unsigned activations: below the range contributes 0 to the step's gradient
    const [inside, , above] = fakeQuantGrad(x, gy, gx, this.s.data[0], 0, Qp);
    this.s.grad[0] = (inside + Qp * above) / Math.sqrt(this.per * Qp);
  }
}

export const lsq: Method = {
  name: "lsq",
  summary: "LSQ: learned step sizes (weights per output channel, activations per tensor) with gradient scale 1/sqrt(N*Qp)",
  weight: (bits, N, per) => new LsqWeights(bits, N, per),
  act: (bits) => new LsqActs(bits),
};
