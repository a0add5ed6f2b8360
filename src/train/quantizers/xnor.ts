// Binary networks (issue #13): XNOR-Net weights with per-channel scales and Bi-Real-style sign activations.
// Weights (Rastegari et al. 2016), per output channel n over its `per` weights:
//   wq[i] = alpha * b[i],  b[i] = sign(w[i]) (+1 at 0, as src/quantize/binary.ts packs them),  alpha = mean |w|
//   dL/dw[i] = alpha * g[i] * [|w[i]| <= 1]              (the sign, straight through, clipped: XNOR-Net's STE)
//            + b[i] / per * sum_j g[j] * b[j]              (through alpha = mean |w|: its exact derivative)
// Activations (Liu et al. 2018, Bi-Real Net): the input of a binary layer is a = sign(x) (+1 for x >= 0),
//   da/dx = ApproxSign'(x) = 2 - 2|x| for |x| < 1, else 0 (the derivative of the piecewise quadratic
//   approximation of sign). XNOR-Net's per-pixel activation scale K is not computed: a batch norm follows every
//   binary layer in the built-in architectures and absorbs a per-channel scale (as in Bi-Real Net and
//   XNOR-Net++); the export runs a = sign(x) exactly (SignQb1 at the value's real zero) and the dot product of
//   +-1 values on the XNOR-popcount kernels, times alpha (folded with the batch norm) in the requantization.
import type { ActQuantizer, Method, Param, WeightQuantizer } from "./types.ts";
import { MaxAbsWeights } from "./ste.ts";

export const sgn = (x: number) => (x < 0 ? -1 : 1);

export class XnorWeights implements WeightQuantizer {
  readonly bits = 1;
  readonly params: Param[] = [];
  readonly alpha: Float32Array;
  constructor(readonly N: number, readonly per: number) { this.alpha = new Float32Array(N); }
  forward(w: Float32Array, wq: Float32Array): void {
    for (let c = 0; c < this.N; c++) {
      let a = 0;
      for (let i = c * this.per; i < (c + 1) * this.per; i++) a += Math.abs(w[i]);
      const alpha = (this.alpha[c] = Math.fround(Math.max(a / this.per, 1e-8)));
      for (let i = c * this.per; i < (c + 1) * this.per; i++) wq[i] = w[i] < 0 ? -alpha : alpha;
    }
  }
  backward(w: Float32Array, g: Float32Array, gw: Float32Array): void {
    for (let c = 0; c < this.N; c++) {
      const alpha = this.alpha[c];
      let gb = 0;
      for (let i = c * this.per; i < (c + 1) * this.per; i++) gb += g[i] * sgn(w[i]);
      gb /= this.per;
      for (let i = c * this.per; i < (c + 1) * this.per; i++) gw[i] += (Math.abs(w[i]) <= 1 ? alpha * g[i] : 0) + sgn(w[i]) * gb;
    }
  }
  export(w: Float32Array): { q: Int8Array; scales: Float32Array } {
    return { q: Int8Array.from(w, sgn), scales: Float32Array.from(this.alpha) };
  }
}

/**
 * sign(x) with Bi-Real's ApproxSign gradient; placed on the inputs of binary layers only (net.ts). `positive`: the
 * input is non-negative (a ReLU output), +1 where x > 0 and -1 at 0 (the inactive unit), as SignQb1 exports it;
 * otherwise +1 where x >= 0.
 */
export class SignActs implements ActQuantizer {
  readonly bits = 1;
  readonly params: Param[] = [];
  constructor(public positive = false) {}
  step(): number { return 2; } // the two levels -1 and +1
  forward(x: Float32Array, y: Float32Array): void {
    if (this.positive) for (let i = 0; i < x.length; i++) y[i] = x[i] > 0 ? 1 : -1;
    else for (let i = 0; i < x.length; i++) y[i] = x[i] < 0 ? -1 : 1;
  }
  backward(x: Float32Array, gy: Float32Array, gx: Float32Array): void {
    for (let i = 0; i < x.length; i++) { const a = Math.abs(x[i]); if (a < 1) gx[i] += gy[i] * (2 - 2 * a); }
  }
}

export const xnor: Method = {
  name: "xnor",
  summary: "binary: XNOR-Net weights alpha*sign(w) (alpha = mean|w| per channel, clipped STE), sign activations with Bi-Real's ApproxSign gradient (--weights 1 --acts 1)",
  weightBits: [1],
  actBits: [1],
  weight: (bits, N, per) => (bits === 1 ? new XnorWeights(N, per) : new MaxAbsWeights(bits, N, per, true)),
  act: () => new SignActs(),
};
