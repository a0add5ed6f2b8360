// The bundled Fashion-MNIST model quantized in-process (min-max on 32 training images, with its labels), and
// test images from models/data, for tests that need a real model: the concurrency and load tests.
import { existsSync, readFileSync } from "node:fs";
import { quantize } from "../../src/api.ts";
import { readDataset } from "../../src/data/index.ts";
import { readLabels } from "../../src/data/labels.ts";
import type { ImageLike } from "../../sdk/core/model.ts";
import { ROOT } from "./tools.ts";

const ONNX = `${ROOT}models/fashion_mnist_dsres.onnx`;
const CALIB = `${ROOT}models/data/fashion-train256-images-idx3-ubyte.gz`;
const TEST = `${ROOT}models/data/fashion-t10k1000-images-idx3-ubyte.gz`;
const LABELS = `${ROOT}models/fashion_mnist_labels.txt`;

export const haveFashion = () => [ONNX, CALIB, TEST, LABELS].every(existsSync);

let cached: Promise<Uint8Array> | undefined;
/** The int8 .qwm of the bundled model. */
export function fashionQwm(): Promise<Uint8Array> {
  return (cached ??= quantize(new Uint8Array(readFileSync(ONNX)), {
    calib: readDataset(CALIB, { limit: 32 }), calibration: "minmax", preprocess: { mean: [0.286], std: [0.353] }, labels: readLabels(LABELS),
  }).then((r) => r.qwm));
}

/**
 * `n` test images: the first of every four as the 28x28 gray image, the others made from it as RGB or RGBA
 * of another size (upscaled, tinted), so that the SDK's resizing and channel conversion run too.
 */
export function fashionImages(n: number): ImageLike[] {
  const ds = readDataset(TEST, { limit: n });
  return ds.images.map((img, i) => {
    if (i % 4 === 0) return { data: img.data, width: img.width, height: img.height };
    const k = i % 4 === 1 ? 3 : 4, w = 20 + (i % 37), h = 24 + (i % 29);
    const data = new Uint8Array(w * h * k);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const v = img.data[Math.floor((y * 28) / h) * 28 + Math.floor((x * 28) / w)], o = (y * w + x) * k;
      data[o] = v; data[o + 1] = (v * 3) >> 2; data[o + 2] = Math.min(255, v + 20);
      if (k === 4) data[o + 3] = 255;
    }
    return { data, width: w, height: h };
  });
}
