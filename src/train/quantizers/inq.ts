// Incremental network quantization (Zhou et al. 2017, INQ; issue #13): the weights of a layer are quantized and
// frozen in growing groups while the rest stay float and are retrained to compensate. The partition follows
// INQ's magnitude rule (the largest |w| not yet frozen go first) and its accumulated portions
//   50%, 75%, 87.5%, 100% of the layer's weights, frozen at training progress 0, 1/4, 1/2, 3/4
// (inqFraction). The grid is the integer kernels' (not INQ's powers of two): q in [-2^(B-1), 2^(B-1) - 1] times
// a step per output channel, fixed at the first forward (max |w| / Qp), so frozen weights never move;
// at 2 bits with the ternary grid q in {-1, 0, 1}. A frozen weight gets no gradient; the forward uses q * step
// for frozen weights and the float weight for the others; from progress 3/4 on the layer is entirely on the grid
// (what the export writes).
import { EmaMaxActs } from "./ste.ts";
import { rnd, weightRange, type Method, type Param, type WeightQuantizer } from "./types.ts";

export const INQ_STAGES: [number, number][] = [[0, 0.5], [0.25, 0.75], [0.5, 0.875], [0.75, 1]];

/** The fraction of a layer's weights frozen on the grid at training progress p in [0, 1]. */
export function inqFraction(p: number): number {
  let f = 0;
  for (const [at, frac] of INQ_STAGES) if (p >= at) f = frac;
  return f;
}

export class InqWeights implements WeightQuantizer {
  readonly params: Param[] = [];
  readonly steps: Float32Array;
  readonly frozen: Uint8Array;
  readonly q: Int8Array;
  readonly format?: string;
  private fraction = 0;
  private init = false;
  constructor(readonly bits: number, readonly N: number, readonly per: number, ternary = bits === 2) {
    this.steps = new Float32Array(N);
    this.frozen = new Uint8Array(N * per);
    this.q = new Int8Array(N * per);
    if (ternary) this.format = "ternary";
  }
  private range() { return this.format === "ternary" ? { Qn: 1, Qp: 1 } : weightRange(this.bits); }
  progress(p: number): void { this.fraction = inqFraction(p); }
  /** How many weights are frozen. */
  frozenCount(): number { let n = 0; for (const f of this.frozen) n += f; return n; }
  private freeze(w: Float32Array): void {
    const target = Math.ceil(this.fraction * w.length);
    let have = this.frozenCount();
    if (have >= target) return;
    const { Qn, Qp } = this.range();
    const order = Array.from({ length: w.length }, (_, i) => i).filter((i) => !this.frozen[i]).sort((a, b) => Math.abs(w[b]) - Math.abs(w[a]) || a - b);
    for (const i of order) {
      if (have >= target) break;
      const s = this.steps[Math.floor(i / this.per)];
      this.q[i] = Math.max(-Qn, Math.min(Qp, rnd(w[i] / s)));
      this.frozen[i] = 1;
      have++;
    }
  }
  forward(w: Float32Array, wq: Float32Array): void {
    if (!this.init) {
      const { Qp } = this.range();
      for (let c = 0; c < this.N; c++) {
        let m = 0;
        for (let i = c * this.per; i < (c + 1) * this.per; i++) m = Math.max(m, Math.abs(w[i]));
        this.steps[c] = Math.fround(Math.max(m, 1e-8) / Qp);
      }
      this.init = true;
      if (this.fraction === 0) this.fraction = INQ_STAGES[0][1];
    }
    this.freeze(w);
    for (let i = 0; i < w.length; i++) wq[i] = this.frozen[i] ? this.q[i] * this.steps[Math.floor(i / this.per)] : w[i];
  }
  backward(_w: Float32Array, g: Float32Array, gw: Float32Array): void {
    for (let i = 0; i < g.length; i++) if (!this.frozen[i]) gw[i] += g[i];
  }
  export(w: Float32Array): { q: Int8Array; scales: Float32Array; format?: string } {
    const { Qn, Qp } = this.range();
    const q = Int8Array.from(w, (x, i) => (this.frozen[i] ? this.q[i] : Math.max(-Qn, Math.min(Qp, rnd(x / this.steps[Math.floor(i / this.per)])))));
    return { q, scales: Float32Array.from(this.steps), format: this.format };
  }
}

export const inq: Method = {
  name: "inq",
  summary: "incremental quantization (INQ): largest weights frozen on the grid in portions 50/75/87.5/100% at progress 0, 1/4, 1/2, 3/4; the rest retrained (2 bits: ternary grid)",
  weight: (bits, N, per) => new InqWeights(bits, N, per),
  act: (bits) => new EmaMaxActs(bits, true),
};
