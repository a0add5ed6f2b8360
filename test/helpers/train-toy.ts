// The toy task of test/train.test.ts (8x8 gray images, 3 classes; a small CNN with batch norm, max pool and a
// residual add), trained for a few steps with a fixed seed and exported to .qwm. Isomorphic (no node: imports):
// test/train-browser.test.ts runs this same code in Node and, bundled by esbuild, in Chromium, and compares.
import type { Act, Node } from "../../src/ir/graph.ts";
import type { Dataset } from "../../src/data/types.ts";
import { fit, ImageSet, Net, type EpochReport, type TrainGraph } from "../../src/train/index.ts";
import { gauss, rng } from "../../src/train/data.ts";

const win = (k: number, s = 1, p = 0) => ({ kernel: [k, k] as [number, number], stride: [s, s] as [number, number], pads: [p, p, p, p] as [number, number, number, number], dilation: [1, 1] as [number, number] });

function randn(r: () => number, n: number, sd = 1): Float32Array {
  return Float32Array.from({ length: n }, () => sd * gauss(r));
}
function conv(r: () => number, name: string, input: string, cin: number, cout: number, k: number, s: number, p: number, act: Act): Node {
  const per = k * k * cin;
  return { op: "conv", name, input, output: name, ...win(k, s, p), groups: 1, outChannels: cout, act, weight: randn(r, cout * per, Math.sqrt(2 / per)), bias: randn(r, cout, 0.1) };
}

/** Class 0 when the left half is brighter, 1 when the right half is, 2 when the top is. */
export function toyData(n: number, seed: number): Dataset {
  const r = rng(seed);
  const images = [], labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(r() * 3), data = new Uint8Array(64);
    for (let p = 0; p < 64; p++) {
      const h = p >> 3, w = p & 7;
      const hot = c === 0 ? w < 4 : c === 1 ? w >= 4 : h < 4;
      data[p] = Math.max(0, Math.min(255, Math.round((hot ? 170 : 90) + 50 * (r() - 0.5))));
    }
    images.push({ data, width: 8, height: 8, channels: 1 as const });
    labels[i] = c;
  }
  return { width: 8, height: 8, channels: 1, images, labels, source: "toy" };
}

export function toyNet(seed: number): TrainGraph {
  const r = rng(seed);
  return {
    input: { name: "input", shape: [8, 8, 1] }, output: "fc",
    preprocess: { channelOrder: "gray", resize: "stretch", cropFraction: 1, valueScale: 1 / 255, mean: [0.5], std: [0.25] },
    nodes: [
      conv(r, "c1", "input", 1, 8, 3, 1, 1, "none"), { op: "bn", name: "bn1", input: "c1", output: "bn1", act: "relu" },
      { op: "maxpool", name: "mp", input: "bn1", output: "mp", ...win(2, 2) },
      conv(r, "c2", "mp", 8, 8, 3, 1, 1, "none"), { op: "bn", name: "bn2", input: "c2", output: "bn2", act: "relu" },
      conv(r, "c3", "bn2", 8, 8, 3, 1, 1, "relu"),
      { op: "add", name: "res", inputs: ["bn2", "c3"], output: "res", act: "relu" },
      { op: "gap", name: "gap", input: "res", output: "gap" },
      { op: "dense", name: "fc", input: "gap", output: "fc", act: "none", outChannels: 3, weight: randn(r, 24, 0.3), bias: new Float32Array(3) },
    ],
  };
}

export interface ToyRun {
  /** Every optimizer step: fit()'s running mean loss and accuracy over the epoch so far, and the learning rate. */
  steps: { epoch: number; step: number; loss: number; acc: number; lr: number }[];
  /** Per-step loss of each mini-batch, recovered from the running means (sum after step s minus sum before). */
  epochs: EpochReport[];
  qwm: Uint8Array;
}

/**
 * W4A4 LSQ quantization-aware training of toyNet(seed) on 192 toy images: 2 epochs of 6 steps (batch 32),
 * Adam with a cosine schedule, then the exported .qwm (calibrated on 64 images). Uses whatever training wasm
 * setTrainWasm() was given.
 */
export async function trainToy(seed = 3): Promise<ToyRun> {
  const data = new ImageSet(toyData(192, seed), [8, 8, 1], toyNet(seed).preprocess);
  const net = new Net(toyNet(seed), 32, { weightBits: 4, actBits: 4, method: "lsq" });
  const steps: ToyRun["steps"] = [];
  let qwm!: Uint8Array;
  const epochs = await fit(net, data, {
    epochs: 2, lr: 0.02, optimizer: "adam", weightDecay: 1e-4, schedule: "cosine", seed, calibImages: 64,
    onStep: (s) => { steps.push({ epoch: s.epoch, step: s.step, loss: s.loss, acc: s.acc, lr: s.lr }); },
    onEpoch: (_e, q) => { qwm = q; },
  }, { training: "test/helpers/train-toy.ts" });
  net.k.dispose();
  // timings differ between runs: keep only what the arithmetic decides
  return { steps, epochs: epochs.map((e) => ({ ...e, seconds: 0, ms_per_image: 0 })), qwm };
}
