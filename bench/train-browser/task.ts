// The workload of bench/train-browser.ts, isomorphic (runs in Node and, bundled, in Chromium): the built-in
// fmnist-cnn at W4A4 LSQ (or fp32), batch 64, SGD + cosine, on 28x28 synthetic images from a seeded generator
// (a bright square whose position is the class), one epoch; ms per training image, the loss bits and the .qwm.
import { fit, ImageSet, Net, buildArch } from "../../src/train/index.ts";
import { rng } from "../../src/train/data.ts";
import type { Dataset } from "../../src/data/types.ts";

export function synthetic(n: number, seed: number): Dataset {
  const r = rng(seed), images = [], labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(r() * 10), data = new Uint8Array(784);
    const y0 = 2 + 8 * Math.floor(c / 3), x0 = 2 + 8 * (c % 3);
    for (let p = 0; p < 784; p++) {
      const y = Math.floor(p / 28), x = p % 28, on = y >= y0 && y < y0 + 8 && x >= x0 && x < x0 + 8;
      data[p] = Math.min(255, Math.floor((on ? 160 : 20) + 90 * r()));
    }
    images.push({ data, width: 28, height: 28, channels: 1 as const });
    labels[i] = c;
  }
  return { width: 28, height: 28, channels: 1, images, labels, source: "synthetic" };
}

export async function benchTrain(images: number, quant: boolean) {
  const g = buildArch("fmnist-cnn", 1, 10);
  const data = new ImageSet(synthetic(images, 5), g.input.shape, g.preprocess);
  const net = new Net(g, 64, quant ? { weightBits: 4, actBits: 4, method: "lsq" } : undefined);
  const losses: number[] = [];
  let qwm!: Uint8Array;
  const t0 = performance.now();
  await fit(net, data, { epochs: 1, lr: 0.1, optimizer: "sgd", weightDecay: 5e-4, schedule: "cosine", seed: 1, calibImages: 64,
    onStep: (s) => { losses.push(s.loss); }, onEpoch: (_e, q) => { qwm = q; } });
  const ms = performance.now() - t0; // includes the export (64 calibration images)
  net.k.dispose();
  let h = 0x811c9dc5;
  for (const b of qwm) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return { msPerImage: ms / images, lossBits: losses.map((l) => l.toString()).join(","), lastLoss: losses[losses.length - 1], qwmBytes: qwm.length, qwmHash: h.toString(16) };
}
