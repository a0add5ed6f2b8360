// STE and clipped STE (Bengio et al. 2013; the survey's section on gradient approximation): the step comes from
// the data (weights: max |w| per output channel / Qp; activations: an exponential moving average of the batch
// maximum / (2^A - 1)), the rounding's gradient is taken as 1. Plain STE passes the gradient everywhere; clipped
// STE zeroes it where the input is outside the quantizer's range.
import { actLevels, fakeQuant, fakeQuantGrad, rnd, weightRange, type ActQuantizer, type Method, type WeightQuantizer } from "./types.ts";

export class MaxAbsWeights implements WeightQuantizer {
  readonly params = [];
  readonly steps: Float32Array;
  constructor(readonly bits: number, readonly N: number, readonly per: number, readonly clipped: boolean) {
    this.steps = new Float32Array(N);
  }
  forward(w: Float32Array, wq: Float32Array): void {
    const { Qn, Qp } = weightRange(this.bits);
    for (let c = 0; c < this.N; c++) {
      let m = 0;
      for (let i = c * this.per; i < (c + 1) * this.per; i++) m = Math.max(m, Math.abs(w[i]));
      const s = (this.steps[c] = Math.fround(Math.max(m, 1e-8) / Qp));
      for (let i = c * this.per; i < (c + 1) * this.per; i++) wq[i] = Math.max(-Qn, Math.min(Qp, rnd(w[i] / s))) * s;
    }
  }
  backward(w: Float32Array, g: Float32Array, gw: Float32Array): void {
    const { Qn, Qp } = weightRange(this.bits);
    for (let c = 0; c < this.N; c++) {
      const s = this.steps[c];
      for (let i = c * this.per; i < (c + 1) * this.per; i++) {
        const v = w[i] / s;
        if (!this.clipped || (v >= -Qn && v <= Qp)) gw[i] += g[i];
      }
    }
  }
  export(w: Float32Array): { q: Int8Array; scales: Float32Array } {
    const { Qn, Qp } = weightRange(this.bits);
    const q = new Int8Array(w.length);
    for (let c = 0; c < this.N; c++) {
      for (let i = c * this.per; i < (c + 1) * this.per; i++) q[i] = Math.max(-Qn, Math.min(Qp, rnd(w[i] / this.steps[c])));
    }
    return { q, scales: Float32Array.from(this.steps) };
  }
}

export class EmaMaxActs implements ActQuantizer {
  readonly params = [];
  range = 0;
  constructor(readonly bits: number, readonly clipped: boolean, readonly momentum = 0.9) {}
  step(): number { return Math.fround(Math.max(this.range, 1e-8) / actLevels(this.bits)); }
  forward(x: Float32Array, y: Float32Array, _per: number, train: boolean): void {
    if (train) {
      let m = 0;
      for (let i = 0; i < x.length; i++) if (x[i] > m) m = x[i];
      this.range = this.range === 0 ? m : this.momentum * this.range + (1 - this.momentum) * m;
    }
    fakeQuant(x, y, this.step(), 0, actLevels(this.bits));
  }
  backward(x: Float32Array, gy: Float32Array, gx: Float32Array): void {
    fakeQuantGrad(x, gy, gx, this.step(), 0, actLevels(this.bits), !this.clipped);
  }
}

export const ste: Method = {
  name: "ste",
  summary: "straight-through estimator: max-abs weight steps per channel, EMA-max activation range, gradient 1 everywhere",
  weight: (bits, N, per) => new MaxAbsWeights(bits, N, per, false),
  act: (bits) => new EmaMaxActs(bits, false),
};

export const steClipped: Method = {
  name: "ste-clip",
  summary: "clipped straight-through estimator: as ste, gradient 0 outside the quantizer's range",
  weight: (bits, N, per) => new MaxAbsWeights(bits, N, per, true),
  act: (bits) => new EmaMaxActs(bits, true),
};
