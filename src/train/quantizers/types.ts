// Fake quantizers for quantization-aware training (src/train/quantizers/): each --method is one entry of the
// registry in index.ts giving a weight quantizer and an activation quantizer. A forward pass puts values on the
// integer grid the exported .qwm computes on (so what is trained is what runs); a backward pass gives the method's
// gradient (straight-through estimator or its variants) for the input and the quantizer's own parameters.
//
// Grids (what the export puts on the integer kernels):
//   weights, b bits: signed integers q in [-Qn, Qp], Qn = 2^(b-1), Qp = 2^(b-1) - 1, real value q * s[c]
//                    (one step per output channel): 4 bits [-8, 7] (qs4 ops), 2 bits [-2, 1] (qs2 ops)
//   activations, A bits (after ReLU / ReLU6): integers q in [0, 2^A - 1], real value q * s (one step per tensor):
//                    an int8 tensor with zero point -128 whose producing op clamps it to 2^A levels
import { kernelsOf } from "../kernels.ts";

/** A trainable parameter: values and gradient (set by backward, consumed by the optimizer). */
export interface Param {
  name: string;
  data: Float32Array;
  grad: Float32Array;
  /** Takes weight decay (conv / dense weights; not biases, batch-norm affine or quantizer parameters). */
  decay: boolean;
}

export function param(name: string, data: Float32Array, decay = false): Param {
  return { name, data, grad: new Float32Array(data.length), decay };
}

export interface WeightQuantizer {
  readonly bits: number;
  readonly params: Param[];
  /** wq = Q(w); `w` is [N][per]. */
  forward(w: Float32Array, wq: Float32Array): void;
  /** Given g = dL/dwq: gw += dL/dw, and the quantizer's own parameter gradients (set). */
  backward(w: Float32Array, g: Float32Array, gw: Float32Array): void;
  /** The integer weights and per-channel steps of the last forward: q[i] * scales[c] == wq[i] exactly (f32). */
  export(w: Float32Array): { q: Int8Array; scales: Float32Array; format?: string };
  /** Training progress in [0, 1] before each step (schedules inside a method: INQ's partition, annealing). */
  progress?(p: number): void;
}

export interface ActQuantizer {
  readonly bits: number;
  readonly params: Param[];
  /** y = Q(x) over a batch (`perImage` values an image); `train`: statistics and first-call initialization. */
  forward(x: Float32Array, y: Float32Array, perImage: number, train: boolean): void;
  /** gx += dL/dx from gy = dL/dy; the quantizer's parameter gradients (set). */
  backward(x: Float32Array, gy: Float32Array, gx: Float32Array): void;
  /** The grid step s: y = q * s, q in [0, 2^bits - 1]. */
  step(): number;
}

export interface Method {
  name: string;
  summary: string;
  weight(bits: number, N: number, per: number): WeightQuantizer;
  act(bits: number): ActQuantizer;
  /** The --weights / --acts below 8 the method is for (absent: 4 and 2 / 4, 3 and 2). */
  weightBits?: number[];
  actBits?: number[];
}

export const weightRange = (bits: number) => ({ Qn: 2 ** (bits - 1), Qp: 2 ** (bits - 1) - 1 });
export const actLevels = (bits: number) => 2 ** bits - 1;

/** Round half away from zero (the kernels' rounding, docs/kernels.md). */
export const rnd = (x: number) => (x < 0 ? -Math.round(-x) : Math.round(x));

/** y = clamp(round(x / s), lo, hi) * s; on the wasm kernels when the views live in their memory. */
export function fakeQuant(x: Float32Array, y: Float32Array, s: number, lo: number, hi: number): void {
  const k = kernelsOf(x);
  if (k && y.buffer === x.buffer) { k.k.fq_f32(x.byteOffset, y.byteOffset, x.length, s, lo, hi); return; }
  const s32 = Math.fround(s);
  for (let i = 0; i < x.length; i++) y[i] = Math.max(lo, Math.min(hi, rnd(Math.fround(x[i] / s32)))) * s32;
}

/**
 * Straight-through backward of fakeQuant, v = x / s: gx += gy where lo < v < hi (everywhere when `all`);
 * returns [sum (round(v) - v) gy inside, sum gy where v <= lo, sum gy where v >= hi].
 */
export function fakeQuantGrad(x: Float32Array, gy: Float32Array, gx: Float32Array, s: number, lo: number, hi: number, all = false): [number, number, number] {
  const k = kernelsOf(x);
  if (k && gy.buffer === x.buffer && gx.buffer === x.buffer) {
    k.k.fq_grad_f32(x.byteOffset, gy.byteOffset, gx.byteOffset, x.length, s, lo, hi, all ? 1 : 0, k.sums.off);
    const r = new Float64Array(k.k.memory.buffer, k.sums.off, 3);
    return [r[0], r[1], r[2]];
  }
  const s32 = Math.fround(s);
  let a = 0, b = 0, c = 0;
  for (let i = 0; i < x.length; i++) {
    const v = Math.fround(x[i] / s32), g = gy[i];
    if (v <= lo) { b += g; if (all) gx[i] += g; }
    else if (v >= hi) { c += g; if (all) gx[i] += g; }
    else { a += (rnd(v) - v) * g; gx[i] += g; }
  }
  return [a, b, c];
}
