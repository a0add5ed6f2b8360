// Graph transforms on the IR: fold per-channel affine layers (BatchNorm, Mul/Add by constants) into the conv or
// dense layer before them, fuse ReLU / ReLU6 into the layer before them, and remove dead nodes. Quantization
// parameters that came with the model follow the values they describe.
import type { Act, Graph, Node } from "../ir/graph.ts";
import { nodeInputs } from "../ir/graph.ts";
import type { QParams } from "../quantize/params.ts";

export interface GraphQuant {
  act: Map<string, QParams>;
  weights: Map<string, { q: Int8Array; scales: Float32Array }>;
}

type Conv = Extract<Node, { op: "conv" }>;

/** A per-channel affine layer: depthwise 1x1, stride 1, no padding (what BatchNorm and Mul/Add by constants become). */
export function isAffine(n: Node): n is Conv {
  return n.op === "conv" && n.groups > 1 && n.groups === n.outChannels && n.kernel[0] === 1 && n.kernel[1] === 1 &&
    n.stride[0] === 1 && n.stride[1] === 1 && n.pads.every((p) => p === 0);
}

function consumers(g: Graph): Map<string, Node[]> {
  const m = new Map<string, Node[]>();
  for (const n of g.nodes) for (const v of nodeInputs(n)) m.set(v, [...(m.get(v) ?? []), n]);
  return m;
}

/** Folds `a` (affine, reading p's output) into p: p's output becomes a's output. */
function foldAffine(p: Extract<Node, { op: "conv" | "dense" }>, a: Conv, quant?: GraphQuant) {
  const N = p.outChannels;
  const per = p.weight.length / N;
  const scale = a.weight, shift = a.bias;
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < per; i++) p.weight[n * per + i] *= scale[n];
    p.bias[n] = p.bias[n] * scale[n] + shift[n];
  }
  const wq = quant?.weights.get(p.name);
  if (wq) {
    for (let n = 0; n < N; n++) {
      wq.scales[n] *= Math.abs(scale[n]);
      if (scale[n] < 0) for (let i = 0; i < per; i++) wq.q[n * per + i] = -wq.q[n * per + i];
    }
  }
  p.output = a.output;
}

const fusable = (n: Node): Act | null => {
  if (n.op !== "act") return null;
  if (n.kind === "relu" || (n.kind === "clip" && n.alpha === 0 && n.beta === Infinity)) return "relu";
  if (n.kind === "clip" && n.alpha === 0 && n.beta === 6) return "relu6";
  return null;
};

/** Folds, fuses and prunes until nothing changes; returns the same graph object, simplified. */
export function simplify(g: Graph, quant?: GraphQuant): Graph {
  for (let changed = true; changed;) {
    changed = false;
    const cons = consumers(g);
    const producer = new Map(g.nodes.map((n) => [n.output, n]));
    for (const n of g.nodes) {
      const input = n.op === "conv" || n.op === "act" ? n.input : undefined;
      if (!input || input === g.input.name) continue;
      const p = producer.get(input);
      if (!p || (cons.get(input)?.length ?? 0) !== 1 || input === g.output) continue;
      if (isAffine(n) && (p.op === "conv" || p.op === "dense") && p.act === "none") {
        foldAffine(p, n, quant);
        g.nodes = g.nodes.filter((x) => x !== n);
        changed = true;
        break;
      }
      const act = fusable(n);
      if (act && (p.op === "conv" || p.op === "dense" || p.op === "add")) {
        if (p.act === "none" || (p.act === "relu6" && act === "relu") || p.act === act) {
          if (p.act === "none") p.act = act;
          p.output = (n as any).output;
          g.nodes = g.nodes.filter((x) => x !== n);
          changed = true;
          break;
        }
        if (p.act === "relu" && act === "relu6") {
          p.act = "relu6";
          p.output = (n as any).output;
          g.nodes = g.nodes.filter((x) => x !== n);
          changed = true;
          break;
        }
      }
    }
  }
  // dead nodes: keep what the output needs
  const need = new Set([g.output]);
  const keep: Node[] = [];
  for (const n of [...g.nodes].reverse()) {
    if (!need.has(n.output)) continue;
    keep.push(n);
    for (const v of nodeInputs(n)) need.add(v);
  }
  g.nodes = keep.reverse();
  if (quant) {
    const live = new Set([g.input.name, ...g.nodes.map((n) => n.output)]);
    for (const k of [...quant.act.keys()]) if (!live.has(k)) quant.act.delete(k);
    const names = new Set(g.nodes.map((n) => n.name));
    for (const k of [...quant.weights.keys()]) if (!names.has(k)) quant.weights.delete(k);
  }
  return g;
}
