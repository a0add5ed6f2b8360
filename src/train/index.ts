// Quantization-aware training and fine-tuning on our own wasm kernels (issue #12): the loop that drives a Net
// (net.ts) over an ImageSet (data.ts) with an optimizer and schedule (optim.ts), exporting .qwm after each epoch.
import { QwmTrainError } from "./kernels.ts";
import { Net } from "./net.ts";
import { ImageSet, rng, shuffled, type Augment } from "./data.ts";
import { Adam, learningRate, Sgd, type Optimizer, type Schedule } from "./optim.ts";
import { softmaxCrossEntropy } from "./layers.ts";

export { Net, type QuantSpec, type TrainGraph, type BnNode } from "./net.ts";
export { ImageSet, type Augment } from "./data.ts";
export { QwmTrainError, setTrainWasm, type TrainWasm } from "./kernels.ts";
export { ARCHS, buildArch } from "./archs.ts";
export { METHODS } from "./quantizers/index.ts";
export { SCHEDULES, type Schedule } from "./optim.ts";

export interface FitOptions {
  epochs: number;
  lr: number;
  optimizer: "sgd" | "adam";
  momentum?: number;
  weightDecay: number;
  schedule: Schedule;
  seed: number;
  augment?: Augment;
  /** Training images whose ranges set the 8-bit activations of the export (default 512). */
  calibImages?: number;
  onStep?: (s: { epoch: number; step: number; steps: number; loss: number; acc: number; lr: number; imagesPerSecond: number }) => void;
  /** After each epoch: the report so far and the exported .qwm of the net as it is now. */
  onEpoch?: (e: EpochReport, qwm: Uint8Array) => void | Promise<void>;
}

export interface EpochReport {
  epoch: number;
  loss: number;
  train_accuracy: number;
  seconds: number;
  ms_per_image: number;
  lr_end: number;
}

export function optimizer(name: string, weightDecay: number, momentum = 0.9): Optimizer {
  if (name === "sgd") return new Sgd(momentum, weightDecay);
  if (name === "adam") return new Adam(0.9, 0.999, 1e-8, weightDecay);
  throw new QwmTrainError(`--optimizer ${name}: use sgd or adam`);
}

/** Ranges of every value over the first `n` images (inference mode), then the .qwm. */
export function exportNet(net: Net, data: ImageSet, n: number, provenance: Record<string, unknown> = {}): Uint8Array {
  net.resetRanges();
  const x = new Float32Array(net.batch * net.input.size);
  const idx = Int32Array.from({ length: data.n }, (_, i) => i);
  for (let i = 0; i < Math.min(n, data.n); i += net.batch) {
    const B = Math.min(net.batch, Math.min(n, data.n) - i);
    data.batch(idx, i, B, x);
    net.setInput(x.subarray(0, B * net.input.size));
    net.forward(B, false);
    net.observe(B);
  }
  return net.exportQwm(provenance);
}

/** Top-1 accuracy of the net itself (fp32, fake-quantized where quantizers are set) and its argmaxes. */
export function accuracy(net: Net, data: ImageSet, n = data.n): { accuracy: number; argmax: Int32Array } {
  const x = new Float32Array(net.batch * net.input.size);
  const idx = Int32Array.from({ length: data.n }, (_, i) => i);
  const m = Math.min(n, data.n), argmax = new Int32Array(m);
  let correct = 0;
  for (let i = 0; i < m; i += net.batch) {
    const B = Math.min(net.batch, m - i);
    const labels = data.batch(idx, i, B, x);
    net.setInput(x.subarray(0, B * net.input.size));
    const y = net.forward(B, false);
    for (let j = 0; j < B; j++) {
      let best = 0;
      for (let c = 1; c < net.classes; c++) if (y[j * net.classes + c] > y[j * net.classes + best]) best = c;
      argmax[i + j] = best;
      if (best === labels[j]) correct++;
    }
  }
  return { accuracy: correct / m, argmax };
}

/** Trains `net` on `data` for opts.epochs epochs. */
export async function fit(net: Net, data: ImageSet, opts: FitOptions, provenance: Record<string, unknown> = {}): Promise<EpochReport[]> {
  if (!(opts.epochs >= 1 && Number.isInteger(opts.epochs))) throw new QwmTrainError(`--epochs ${opts.epochs}: a whole number >= 1`);
  if (!(opts.lr > 0)) throw new QwmTrainError(`--lr ${opts.lr}: a positive number`);
  const r = rng(opts.seed);
  const opt = optimizer(opts.optimizer, opts.weightDecay, opts.momentum);
  const params = net.params();
  const B = net.batch, stepsPerEpoch = Math.ceil(data.n / B), T = opts.epochs * stepsPerEpoch;
  const x = new Float32Array(B * net.input.size);
  const reports: EpochReport[] = [];
  let t = 0;
  for (let epoch = 1; epoch <= opts.epochs; epoch++) {
    const order = shuffled(data.n, r);
    const t0 = performance.now();
    let lossSum = 0, correct = 0, seen = 0, lr = opts.lr;
    for (let s = 0; s < stepsPerEpoch; s++, t++) {
      const b = Math.min(B, data.n - s * B);
      net.setProgress(t / T);
      const labels = data.batch(order, s * B, b, x, opts.augment, r);
      net.setInput(x.subarray(0, b * net.input.size));
      const logits = net.forward(b, true);
      const grad = new Float32Array(b * net.classes);
      const { loss, correct: c } = softmaxCrossEntropy(logits, labels, b, net.classes, grad);
      if (!Number.isFinite(loss)) throw new QwmTrainError(`the loss diverged (${loss}) at epoch ${epoch}, step ${s + 1}: lower --lr`);
      net.backward(b, grad);
      lr = learningRate(opts.schedule, opts.lr, t, T);
      opt.step(params, lr);
      lossSum += loss * b; correct += c; seen += b;
      opts.onStep?.({ epoch, step: s + 1, steps: stepsPerEpoch, loss: lossSum / seen, acc: correct / seen, lr, imagesPerSecond: seen / ((performance.now() - t0) / 1000) });
    }
    const seconds = (performance.now() - t0) / 1000;
    const rep: EpochReport = { epoch, loss: lossSum / seen, train_accuracy: correct / seen, seconds, ms_per_image: (seconds * 1000) / seen, lr_end: lr };
    reports.push(rep);
    if (opts.onEpoch) await opts.onEpoch(rep, exportNet(net, data, opts.calibImages ?? 512, { ...provenance, epochs: epoch }));
  }
  return reports;
}
