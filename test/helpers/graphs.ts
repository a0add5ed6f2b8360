// Hand-built float graphs for tests: small networks with every op family, random but well-scaled weights.
import type { Graph, Node } from "../../src/ir/graph.ts";
import { rng } from "./ref.ts";

export const CIFAR_PREPROCESS = {
  channelOrder: "rgb" as const, resize: "stretch" as const, cropFraction: 1, valueScale: 1 / 255,
  mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616],
};

/** He-scaled random weights (gaussian by Box-Muller), deterministic. */
function weights(r: ReturnType<typeof rng>, n: number, fanIn: number): Float32Array {
  const s = Math.sqrt(2 / fanIn);
  return Float32Array.from({ length: n }, () => {
    const u = Math.max(r.next(), 1e-9), v = r.next();
    return s * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  });
}

const W = (k: number, s = 1, p = 0) => ({ kernel: [k, k] as [number, number], stride: [s, s] as [number, number], pads: [p, p, p, p] as [number, number, number, number], dilation: [1, 1] as [number, number] });

/** 16x16x3 -> conv, depthwise, max pool, pointwise, residual add, avg pool, strided conv, concat, GAP, dense -> 10. */
export function tinyNet(seed = 1, size = 16): Graph {
  const r = rng(seed);
  const conv = (name: string, input: string, cin: number, cout: number, k: number, s: number, p: number, act: "none" | "relu" | "relu6", groups = 1): Node => ({
    op: "conv", name, input, output: name, ...W(k, s, p), groups, outChannels: cout, act,
    weight: weights(r, cout * k * k * (groups === 1 ? cin : 1), k * k * (groups === 1 ? cin : 1)),
    bias: Float32Array.from({ length: cout }, () => (r.next() - 0.5) * 0.2),
  });
  const nodes: Node[] = [
    conv("c1", "input", 3, 8, 3, 1, 1, "relu"),
    conv("dw", "c1", 8, 8, 3, 1, 1, "relu6", 8),
    { op: "maxpool", name: "mp", input: "dw", output: "mp", kernel: [2, 2], stride: [2, 2], pads: [0, 0, 0, 0] },
    conv("pw", "mp", 8, 8, 1, 1, 0, "none"),
    { op: "add", name: "res", inputs: ["mp", "pw"], output: "res", act: "relu" },
    { op: "avgpool", name: "ap", input: "res", output: "ap", kernel: [2, 2], stride: [2, 2], pads: [0, 0, 0, 0] },
    conv("c2", "ap", 8, 12, 3, 2, 1, "relu"),
    conv("c3", "ap", 8, 4, 3, 2, 1, "relu"),
    { op: "concat", name: "cat", inputs: ["c2", "c3"], output: "cat" },
    { op: "gap", name: "gap", input: "cat", output: "gap" },
    { op: "dense", name: "fc", input: "gap", output: "logits", act: "none", outChannels: 10,
      weight: weights(r, 10 * 16, 16), bias: Float32Array.from({ length: 10 }, () => (r.next() - 0.5) * 0.1) },
  ];
  return {
    input: { name: "input", shape: [size, size, 3] },
    output: "logits",
    nodes,
    preprocess: CIFAR_PREPROCESS,
    labels: ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"],
    provenance: { source: "test/helpers/graphs.ts tinyNet", seed },
  };
}

/** Random uint8 images [n][H][W][3] and their normalized floats. */
export function randomImages(seed: number, n: number, size = 16) {
  const r = rng(seed);
  const px = Array.from({ length: n }, () => {
    // smooth-ish images: a random gradient plus noise, so they resemble pictures more than pure noise
    const a = r.next() * 255, gx = (r.next() - 0.5) * 16, gy = (r.next() - 0.5) * 16;
    return Uint8Array.from({ length: size * size * 3 }, (_, i) => {
      const p = Math.floor(i / 3), y = Math.floor(p / size), x = p % size, c = i % 3;
      return Math.max(0, Math.min(255, Math.round(a + gx * x + gy * y + (c - 1) * 20 + (r.next() - 0.5) * 60)));
    });
  });
  const norm = (p: Uint8Array) => Float32Array.from(p, (v, i) => (v / 255 - CIFAR_PREPROCESS.mean[i % 3]) / CIFAR_PREPROCESS.std[i % 3]);
  return { px, x: px.map(norm) };
}
