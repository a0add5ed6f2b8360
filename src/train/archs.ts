// Built-in architectures for `qwasm train` (docs/training.md): small CNNs trained from scratch, with batch norm
// after every conv (folded at export). Weights: He-normal (fan in) from the --seed; biases 0.
//   fmnist-cnn       28x28x1: conv3x3 16 BN ReLU, maxpool 2; conv3x3 32 BN ReLU, maxpool 2; conv3x3 64 BN ReLU;
//                    global average pool; dense 10. 23.9 k parameters (+224 batch norm), 2.1 M MACs.
//   fmnist-bireal    28x28x1: conv3x3 32 BN, maxpool 2; block x + BN(conv3x3 32 (sign x)) at 14x14; maxpool 2;
//                    3 such blocks at 7x7; flatten; dense 10. Real-valued (int8) shortcuts, no ReLU (Bi-Real
//                    Net); the 4 block convs are the binary layers of --method xnor. 37.5 k parameters, 3.4 M MACs.
//   cifar-resnet20   32x32x3: ResNet-20 (He et al. 2016, CIFAR form): conv3x3 16 BN ReLU, 3 stages x 3 basic
//                    blocks (16, 32, 64 channels; stride 2 and a 1x1 projection + BN at each stage change), global
//                    average pool, dense 10. 0.27 M parameters, 41 M MACs.
import type { Act, Preprocess } from "../ir/graph.ts";
import { gauss, rng } from "./data.ts";
import { QwmTrainError } from "./kernels.ts";
import type { TrainGraph, TrainNode } from "./net.ts";

const FMNIST_PRE: Preprocess = { channelOrder: "gray", resize: "stretch", cropFraction: 1, valueScale: 1 / 255, mean: [0.286], std: [0.353] };
const CIFAR_PRE: Preprocess = { channelOrder: "rgb", resize: "stretch", cropFraction: 1, valueScale: 1 / 255, mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] };

class Builder {
  nodes: TrainNode[] = [];
  private r: () => number;
  private i = 0;
  constructor(seed: number, private c: number) { this.r = rng(seed); }
  private he(n: number, fanIn: number): Float32Array {
    const sd = Math.sqrt(2 / fanIn);
    return Float32Array.from({ length: n }, () => gauss(this.r) * sd);
  }
  /** conv (no bias) + BN + act; returns the output value. */
  convBn(x: string, out: number, k: number, stride: number, act: Act, cin = this.c): string {
    const id = ++this.i, p = (k - 1) >> 1;
    this.nodes.push({ op: "conv", name: `conv${id}`, input: x, output: `conv${id}`, weight: this.he(out * k * k * cin, k * k * cin), bias: new Float32Array(out),
      outChannels: out, groups: 1, act: "none", kernel: [k, k], stride: [stride, stride], pads: [p, p, p, p], dilation: [1, 1] });
    this.nodes.push({ op: "bn", name: `bn${id}`, input: `conv${id}`, output: `bn${id}`, act });
    this.c = out;
    return `bn${id}`;
  }
  maxpool(x: string): string {
    const id = ++this.i;
    this.nodes.push({ op: "maxpool", name: `pool${id}`, input: x, output: `pool${id}`, kernel: [2, 2], stride: [2, 2], pads: [0, 0, 0, 0] });
    return `pool${id}`;
  }
  add(a: string, b: string, act: Act = "relu"): string {
    const id = ++this.i;
    this.nodes.push({ op: "add", name: `add${id}`, inputs: [a, b], output: `add${id}`, act });
    return `add${id}`;
  }
  head(x: string, classes: number): string {
    this.nodes.push({ op: "gap", name: "gap", input: x, output: "gap" });
    const c = this.c, sd = Math.sqrt(1 / c);
    this.nodes.push({ op: "dense", name: "fc", input: "gap", output: "logits", weight: Float32Array.from({ length: classes * c }, () => (this.r() * 2 - 1) * sd),
      bias: new Float32Array(classes), outChannels: classes, act: "none" });
    return "logits";
  }
}

/** Flatten, then one dense layer to the classes (He-uniform fan-in init, as head()). */
function flatHead(b: Builder, x: string, size: number, classes: number, r: () => number): string {
  b.nodes.push({ op: "flatten", name: "flatten", input: x, output: "flat" });
  const sd = Math.sqrt(1 / size);
  b.nodes.push({ op: "dense", name: "fc", input: "flat", output: "logits", weight: Float32Array.from({ length: classes * size }, () => (r() * 2 - 1) * sd),
    bias: new Float32Array(classes), outChannels: classes, act: "none" });
  return "logits";
}

/**
 * Bi-Real-style net for binary training (Liu et al. 2018): a real-valued stem, then blocks x + BN(conv3x3(x)) whose
 * conv reads sign(x) when trained binary (--method xnor) while the shortcut carries x itself (real-valued, int8 in
 * the .qwm), no ReLU; a flattened dense head (the last layer, 8-bit, as the stem).
 */
function fmnistBireal(seed: number, classes: number): TrainGraph {
  const b = new Builder(seed, 1);
  let x = b.convBn("input", 32, 3, 1, "none");
  x = b.maxpool(x); // 14x14x32
  x = b.add(b.convBn(x, 32, 3, 1, "none"), x, "none");
  x = b.maxpool(x); // 7x7x32
  for (let i = 0; i < 3; i++) x = b.add(b.convBn(x, 32, 3, 1, "none"), x, "none");
  const out = flatHead(b, x, 7 * 7 * 32, classes, rng(seed + 1));
  return { input: { name: "input", shape: [28, 28, 1] }, output: out, nodes: b.nodes, preprocess: FMNIST_PRE };
}

function fmnistCnn(seed: number, classes: number): TrainGraph {
  const b = new Builder(seed, 1);
  let x = b.convBn("input", 16, 3, 1, "relu");
  x = b.maxpool(x);
  x = b.convBn(x, 32, 3, 1, "relu");
  x = b.maxpool(x);
  x = b.convBn(x, 64, 3, 1, "relu");
  const out = b.head(x, classes);
  return { input: { name: "input", shape: [28, 28, 1] }, output: out, nodes: b.nodes, preprocess: FMNIST_PRE };
}

function cifarResnet20(seed: number, classes: number): TrainGraph {
  const b = new Builder(seed, 3);
  let x = b.convBn("input", 16, 3, 1, "relu");
  let c = 16;
  for (const [stage, width] of [16, 32, 64].entries()) {
    for (let blk = 0; blk < 3; blk++) {
      const stride = stage > 0 && blk === 0 ? 2 : 1;
      const y1 = b.convBn(x, width, 3, stride, "relu", c);
      const y2 = b.convBn(y1, width, 3, 1, "none", width);
      const sc = stride !== 1 || c !== width ? b.convBn(x, width, 1, stride, "none", c) : x;
      x = b.add(y2, sc);
      c = width;
    }
  }
  const out = b.head(x, classes);
  return { input: { name: "input", shape: [32, 32, 3] }, output: out, nodes: b.nodes, preprocess: CIFAR_PRE };
}

export const ARCHS: Record<string, { summary: string; build: (seed: number, classes: number) => TrainGraph }> = {
  "fmnist-cnn": { summary: "28x28x1, 3 conv3x3 (16/32/64) + BN + ReLU, 2 max pools, GAP, dense (23.9 k params)", build: fmnistCnn },
  "cifar-resnet20": { summary: "32x32x3 ResNet-20 with BN and 1x1 projection shortcuts (0.27 M params)", build: cifarResnet20 },
  "fmnist-bireal": { summary: "28x28x1 Bi-Real-style: conv3x3 32 + BN stem, 4 blocks x + BN(conv3x3 32 (x)) (1 at 14x14, 3 at 7x7, max pools), flatten, dense (binary with --method xnor)", build: fmnistBireal },
};

export function buildArch(name: string, seed: number, classes = 10): TrainGraph {
  const a = ARCHS[name];
  if (!a) throw new QwmTrainError(`unknown --arch '${name}' (built in: ${Object.keys(ARCHS).join(", ")})`);
  return a.build(seed, classes);
}
