// Batch norm re-inserted for fine-tuning a BN-folded model at very low bits (`qwasm finetune --bn`, issue #13).
// The networks in ../shared/models have their batch norms folded into the convs. Ternarizing or binarizing every
// inner layer of such a network shrinks and shifts each channel's output distribution, and through 18 layers of
// ResNet-20 the errors compound (naive 2-bit rounding: 16% top-1); with no batch norm left, fine-tuning has to
// recover the lost scale through the quantizer's steps alone. With --bn a batch norm follows every conv again,
// initialized so that it restores each channel's mean and standard deviation of the FLOAT network on a batch of
// training images (gamma = std, beta = mean: the normalized low-bit output is mapped back onto the float one),
// trained with the rest, and folded into the conv at export as for the built-in architectures.
import type { Node } from "../ir/graph.ts";
import { BatchNorm } from "./layers.ts";
import { Net, type TrainGraph } from "./net.ts";
import type { ImageSet } from "./data.ts";

/** The graph with a batch norm after every conv (the conv's activation moves to the batch norm). */
export function insertBatchNorms(g: TrainGraph): TrainGraph {
  const nodes: TrainGraph["nodes"] = [];
  for (const n of g.nodes) {
    if (n.op !== "conv") { nodes.push(n); continue; }
    const pre = `${n.output}:conv`;
    nodes.push({ ...n, output: pre, act: "none" } as Node);
    nodes.push({ op: "bn", name: `${n.name}:bn`, input: pre, output: n.output, act: n.act });
  }
  return { ...g, nodes };
}

/**
 * Sets each re-inserted batch norm of `net` (built on insertBatchNorms(g)) to the float statistics of its conv's
 * output in the float network `g`, over the first `n` images of `data`: gamma = std, beta = mean (and the running
 * statistics to those of the low-bit conv on the same images, so inference starts where training does).
 */
export function initBatchNorms(net: Net, g: TrainGraph, data: ImageSet, n = 64): void {
  const B = Math.min(net.batch, n, data.n);
  const x = new Float32Array(B * net.input.size);
  data.batch(Int32Array.from({ length: data.n }, (_, i) => i), 0, B, x);
  const stats = (m: Net, v: string) => {
    const val = m.vals.get(v)!, C = val.shape[2], y = m.k.f32(val.y, B * val.size);
    const mean = new Float64Array(C), sq = new Float64Array(C);
    for (let i = 0; i < y.length; i++) { mean[i % C] += y[i]; sq[i % C] += y[i] * y[i]; }
    const M = y.length / C;
    for (let c = 0; c < C; c++) { mean[c] /= M; sq[c] = Math.max(sq[c] / M - mean[c] * mean[c], 0); }
    return { mean, v: sq };
  };
  // the float network with identity batch norms (mean 0, var 1, gamma 1, beta 0: y = x / sqrt(1 + eps)), read
  // before its activations; one forward pass
  const float = new Net(insertBatchNorms(g), B, { weightBits: 32, actBits: 32, method: "lsq" });
  float.setInput(x);
  float.forward(B, false);
  net.setInput(x);
  const bns = net.layers.filter((l): l is BatchNorm => l instanceof BatchNorm && l.name.endsWith(":bn"));
  // one layer at a time, in order: each batch norm is set with the ones before it already in place
  for (const bn of bns) {
    const conv = g.nodes.find((n) => `${n.name}:bn` === bn.name)!;
    const f = stats(float, `${conv.output}:conv`);
    net.forward(B, false);
    const q = stats(net, `${conv.output}:conv`);
    for (let c = 0; c < f.mean.length; c++) {
      bn.mean[c] = q.mean[c];
      bn.var[c] = q.v[c];
      bn.gamma.data[c] = Math.sqrt(f.v[c] + bn.eps);
      bn.beta.data[c] = f.mean[c];
    }
  }
  float.k.dispose();
}
