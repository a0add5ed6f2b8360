// Training data: a dataset's images as the model's uint8 pixels, shuffled mini-batches with a seeded generator,
// augmentation for small images (random crop with zero padding, horizontal flip), normalized to the model's input.
import type { Preprocess } from "../ir/graph.ts";
import { toModelPixels } from "../data/pixels.ts";
import type { Dataset } from "../data/types.ts";
import { QwmTrainError } from "./kernels.ts";
import { mulberry32 } from "../util/rng.ts";
import { cos, log } from "./detmath.ts";

/** The training data's generator (the --seed): mulberry32. */
export const rng = mulberry32;

/** Standard normal from a uniform generator (Box-Muller). */
export function gauss(r: () => number): number {
  return Math.sqrt(-2 * log(1 - r())) * cos(2 * Math.PI * r());
}

export interface Augment { pad: number; flip: boolean }

export class ImageSet {
  readonly n: number;
  readonly pixels: Uint8Array;
  readonly labels: Int32Array;
  private lut: Float32Array[];
  constructor(ds: Dataset, readonly shape: [number, number, number], readonly pre: Preprocess, limit = Infinity) {
    const [H, W, C] = shape;
    this.n = Math.min(limit, ds.images.length);
    if (this.n === 0) throw new QwmTrainError(`dataset '${ds.source}' has no images`);
    this.labels = ds.labels.slice(0, this.n);
    if (this.labels.some((l) => l < 0)) throw new QwmTrainError(`dataset '${ds.source}': training needs labeled images`);
    this.pixels = new Uint8Array(this.n * H * W * C);
    for (let i = 0; i < this.n; i++) toModelPixels(ds, i, H, W, C, pre, this.pixels.subarray(i * H * W * C, (i + 1) * H * W * C));
    this.lut = Array.from({ length: C }, (_, c) => Float32Array.from({ length: 256 }, (_, v) => (v * pre.valueScale - pre.mean[c]) / pre.std[c]));
  }
  /** Images idx[from..from+B) into `out` (NHWC floats), augmented when `aug` and `r` are given. */
  batch(idx: ArrayLike<number>, from: number, B: number, out: Float32Array, aug?: Augment, r?: () => number): Int32Array {
    const [H, W, C] = this.shape, S = H * W * C;
    const labels = new Int32Array(B);
    for (let j = 0; j < B; j++) {
      const i = idx[from + j];
      labels[j] = this.labels[i];
      const src = this.pixels.subarray(i * S, (i + 1) * S), o = j * S;
      let dy = 0, dx = 0, flip = false;
      if (aug && r) {
        if (aug.pad > 0) { dy = Math.floor(r() * (2 * aug.pad + 1)) - aug.pad; dx = Math.floor(r() * (2 * aug.pad + 1)) - aug.pad; }
        flip = aug.flip && r() < 0.5;
      }
      for (let h = 0; h < H; h++) {
        const sh = h + dy;
        for (let w = 0; w < W; w++) {
          const sw = (flip ? W - 1 - w : w) + dx;
          const inside = sh >= 0 && sh < H && sw >= 0 && sw < W;
          for (let c = 0; c < C; c++) out[o + (h * W + w) * C + c] = this.lut[c][inside ? src[(sh * W + sw) * C + c] : 0];
        }
      }
    }
    return labels;
  }
}

export function shuffled(n: number, r: () => number): Int32Array {
  const a = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) { const j = Math.floor(r() * (i + 1)); const t = a[i]; a[i] = a[j]; a[j] = t; }
  return a;
}
