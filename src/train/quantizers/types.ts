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
  export(w: Float32Array): { q: Int8Array; scales: Float32Array };
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
}

export const weightRange = (bits: number) => ({ Qn: 2 ** (bits - 1), Qp: 2 ** (bits - 1) - 1 });
export const actLevels = (bits: number) => 2 ** bits - 1;

/** Round half away from zero (the kernels' rounding, docs/kernels.md). */
export const rnd = (x: number) => (x < 0 ? -Math.round(-x) : Math.round(x));
