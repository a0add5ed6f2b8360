// A quantization regularizer (issue #13), the oscillation-dampening term of Nagel et al. 2022 ("Overcoming
// Oscillations in Quantization-Aware Training"): the forward uses the fake-quantized weights of the max-abs grid
// (as `ste-clip`), and the latent weights are pulled toward the grid point they round to by
//   R = lambda * sum_i (w[i] - Q(w[i]))^2,   dR/dw[i] = 2 lambda (w[i] - Q(w[i]))   (Q held fixed: its own
//   derivative is 0 almost everywhere), lambda = LAMBDA * progress (annealed from 0 over the run, as in the paper),
// added to the straight-through gradient of the loss (R itself is not added to the reported loss). Weights that
// sit on the grid stop oscillating across rounding boundaries, so the exported integers are the ones trained.
import { EmaMaxActs, MaxAbsWeights } from "./ste.ts";
import type { Method } from "./types.ts";

export const REG_LAMBDA = 0.05;

export class RegularizedWeights extends MaxAbsWeights {
  lambda = 0;
  private wq = new Float32Array(0);
  constructor(bits: number, N: number, per: number, readonly lambdaMax = REG_LAMBDA) { super(bits, N, per, true); }
  progress(p: number): void { this.lambda = this.lambdaMax * Math.max(0, Math.min(1, p)); }
  forward(w: Float32Array, wq: Float32Array): void {
    super.forward(w, wq);
    if (this.wq.length !== wq.length) this.wq = new Float32Array(wq.length);
    this.wq.set(wq);
  }
  backward(w: Float32Array, g: Float32Array, gw: Float32Array): void {
    super.backward(w, g, gw);
    const k = 2 * this.lambda;
    if (k > 0) for (let i = 0; i < w.length; i++) gw[i] += k * (w[i] - this.wq[i]);
  }
}

export const reg: Method = {
  name: "reg",
  summary: `clipped STE plus a quantization regularizer lambda*sum (w - Q(w))^2 pulling weights to the grid (lambda annealed 0 -> ${REG_LAMBDA})`,
  weight: (bits, N, per) => new RegularizedWeights(bits, N, per),
  act: (bits) => new EmaMaxActs(bits, true),
};
