// Optimizers and learning-rate schedules. Weight decay is L2 added to the gradient of the parameters that take
// it (Param.decay: conv / dense weights, PACT's alpha), as PyTorch's SGD and Adam do.
import type { Param } from "./quantizers/types.ts";
import { cos, powInt } from "./detmath.ts";

export interface Optimizer { step(params: Param[], lr: number): void }

/** SGD with momentum (PyTorch form): v = mu v + (g + wd w); w -= lr v. */
export class Sgd implements Optimizer {
  private v = new Map<Param["data"], Float32Array>();
  constructor(readonly momentum = 0.9, readonly weightDecay = 0) {}
  step(params: Param[], lr: number): void {
    for (const p of params) {
      let v = this.v.get(p.data);
      if (!v) this.v.set(p.data, (v = new Float32Array(p.data.length)));
      const wd = p.decay ? this.weightDecay : 0;
      for (let i = 0; i < p.data.length; i++) {
        const g = p.grad[i] + wd * p.data[i];
        v[i] = this.momentum * v[i] + g;
        p.data[i] -= lr * v[i];
      }
    }
  }
}

/** Adam (Kingma & Ba) with bias correction; L2 weight decay in the gradient. */
export class Adam implements Optimizer {
  private m = new Map<Param["data"], [Float32Array, Float32Array]>();
  private t = 0;
  constructor(readonly beta1 = 0.9, readonly beta2 = 0.999, readonly eps = 1e-8, readonly weightDecay = 0) {}
  step(params: Param[], lr: number): void {
    this.t++;
    const c1 = 1 - powInt(this.beta1, this.t), c2 = 1 - powInt(this.beta2, this.t);
    for (const p of params) {
      let s = this.m.get(p.data);
      if (!s) this.m.set(p.data, (s = [new Float32Array(p.data.length), new Float32Array(p.data.length)]));
      const [m, v] = s;
      const wd = p.decay ? this.weightDecay : 0;
      for (let i = 0; i < p.data.length; i++) {
        const g = p.grad[i] + wd * p.data[i];
        m[i] = this.beta1 * m[i] + (1 - this.beta1) * g;
        v[i] = this.beta2 * v[i] + (1 - this.beta2) * g * g;
        p.data[i] -= (lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + this.eps);
      }
    }
  }
}

export type Schedule = "cosine" | "onecycle" | "constant";
export const SCHEDULES: Schedule[] = ["cosine", "onecycle", "constant"];

/**
 * Learning rate at step t of T (0-based). cosine: lr (1 + cos(pi t / T)) / 2. onecycle (Smith; PyTorch's
 * OneCycleLR defaults): from lr/25 up to lr over the first 30% of the steps, then cosine down to lr/25e4.
 */
export function learningRate(schedule: Schedule, lr: number, t: number, T: number): number {
  if (schedule === "constant") return lr;
  if (schedule === "cosine") return (lr * (1 + cos((Math.PI * t) / T))) / 2;
  const up = Math.max(1, Math.floor(0.3 * T)), lo = lr / 25, end = lo / 1e4;
  const anneal = (a: number, b: number, f: number) => b + ((a - b) * (1 + cos(Math.PI * f))) / 2;
  return t < up ? anneal(lo, lr, t / up) : anneal(lr, end, (t - up) / Math.max(1, T - 1 - up));
}
