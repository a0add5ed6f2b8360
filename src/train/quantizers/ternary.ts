// Ternary weights (issue #13) on the 2-bit kernels (qs2 ops, "ternary" format: q in {-1, 0, 1} times a step per
// output channel), per output channel n over its `per` weights:
// TWN (Li & Liu 2016): delta = 0.7 mean |w|; t[i] = sign(w[i]) where |w[i]| > delta, else 0;
//   scale = mean of |w| over |w| > delta (the closed-form optimum given delta); wq = scale * t;
//   dL/dw = dL/dwq (straight through, as in the paper).
// TTQ (Zhu et al. 2017): delta = 0.05 max |w| (the paper's t = 0.05), the scale is a learned parameter
//   (initialized to TWN's), wq = scale * t;
//   dL/dscale = sum_i t[i] g[i];  dL/dw[i] = scale * g[i] where |w| > delta, g[i] inside (TTQ's latent gradient).
//   TTQ learns two scales (Wp for the positive, Wn for the negative weights) per layer; the integer kernels
//   compute q * step per channel, which holds one, so here Wp = Wn = scale, learned per output channel instead.
import { MaxAbsWeights } from "./ste.ts";
import { LsqActs } from "./lsq.ts";
import { param, type Method, type Param, type WeightQuantizer } from "./types.ts";

/** TWN's threshold and scale of one channel: delta = 0.7 mean|w|, scale = mean |w| over |w| > delta. */
export function twnThreshold(w: ArrayLike<number>, from = 0, to = w.length): { delta: number; scale: number } {
  let a = 0;
  for (let i = from; i < to; i++) a += Math.abs(w[i]);
  const delta = (0.7 * a) / (to - from);
  let s = 0, n = 0;
  for (let i = from; i < to; i++) if (Math.abs(w[i]) > delta) { s += Math.abs(w[i]); n++; }
  return { delta, scale: n ? s / n : 0 };
}

const tern = (x: number, delta: number) => (x > delta ? 1 : x < -delta ? -1 : 0);

export class TwnWeights implements WeightQuantizer {
  readonly bits = 2;
  readonly format = "ternary";
  readonly params: Param[] = [];
  readonly delta: Float32Array;
  readonly scale: Float32Array;
  constructor(readonly N: number, readonly per: number) { this.delta = new Float32Array(N); this.scale = new Float32Array(N); }
  forward(w: Float32Array, wq: Float32Array): void {
    for (let c = 0; c < this.N; c++) {
      const t = twnThreshold(w, c * this.per, (c + 1) * this.per);
      this.delta[c] = t.delta;
      const s = (this.scale[c] = Math.fround(Math.max(t.scale, 1e-8)));
      for (let i = c * this.per; i < (c + 1) * this.per; i++) wq[i] = tern(w[i], this.delta[c]) * s;
    }
  }
  backward(_w: Float32Array, g: Float32Array, gw: Float32Array): void {
    for (let i = 0; i < g.length; i++) gw[i] += g[i];
  }
  export(w: Float32Array): { q: Int8Array; scales: Float32Array; format: string } {
    return { q: Int8Array.from(w, (x, i) => tern(x, this.delta[Math.floor(i / this.per)])), scales: Float32Array.from(this.scale), format: "ternary" };
  }
}

export class TtqWeights implements WeightQuantizer {
  readonly bits = 2;
  readonly format = "ternary";
  readonly params: Param[];
  readonly s: Param;
  readonly delta: Float32Array;
  private init = false;
  constructor(readonly N: number, readonly per: number, readonly t = 0.05) {
    this.s = param("ttq_scale", new Float32Array(N));
    this.params = [this.s];
    this.delta = new Float32Array(N);
  }
  forward(w: Float32Array, wq: Float32Array): void {
    for (let c = 0; c < this.N; c++) {
      let m = 0;
      for (let i = c * this.per; i < (c + 1) * this.per; i++) m = Math.max(m, Math.abs(w[i]));
      this.delta[c] = this.t * m;
      if (!this.init) this.s.data[c] = Math.max(twnThreshold(w, c * this.per, (c + 1) * this.per).scale, 1e-8);
      if (!(this.s.data[c] > 1e-8)) this.s.data[c] = 1e-8;
      const s = this.s.data[c];
      for (let i = c * this.per; i < (c + 1) * this.per; i++) wq[i] = tern(w[i], this.delta[c]) * s;
    }
    this.init = true;
  }
  backward(w: Float32Array, g: Float32Array, gw: Float32Array): void {
    for (let c = 0; c < this.N; c++) {
      const s = this.s.data[c], d = this.delta[c];
      let ds = 0;
      for (let i = c * this.per; i < (c + 1) * this.per; i++) {
        const t = tern(w[i], d);
        ds += t * g[i];
        gw[i] += t === 0 ? g[i] : s * g[i];
      }
      this.s.grad[c] = ds;
    }
  }
  export(w: Float32Array): { q: Int8Array; scales: Float32Array; format: string } {
    return { q: Int8Array.from(w, (x, i) => tern(x, this.delta[Math.floor(i / this.per)])), scales: Float32Array.from(this.s.data), format: "ternary" };
  }
}

const other = (bits: number, N: number, per: number) => new MaxAbsWeights(bits, N, per, true);

export const twn: Method = {
  name: "twn",
  summary: "ternary (TWN): threshold 0.7 mean|w|, closed-form scale per channel, straight-through gradient (--weights 2; LSQ activations below 8 bits)",
  weightBits: [2],
  weight: (bits, N, per) => (bits === 2 ? new TwnWeights(N, per) : other(bits, N, per)),
  act: (bits) => new LsqActs(bits),
};

export const ttq: Method = {
  name: "ttq",
  summary: "ternary (TTQ): threshold 0.05 max|w|, learned scale per channel (Wp = Wn: the kernels' q*step), TTQ's latent-weight gradients (--weights 2)",
  weightBits: [2],
  weight: (bits, N, per) => (bits === 2 ? new TtqWeights(N, per) : other(bits, N, per)),
  act: (bits) => new LsqActs(bits),
};
