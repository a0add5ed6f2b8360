// The graph IR: a float image classifier as a list of nodes over named values, NHWC, one image.
// Importers (src/onnx) produce it; transforms rewrite it; calibration runs it; src/pack lowers it to .qwm.
// Nothing here knows about ONNX or about the .qwm bytes.

export type Shape = [h: number, w: number, c: number];
export type Act = "none" | "relu" | "relu6";

export interface Window {
  kernel: [number, number];
  stride: [number, number];
  /** top, left, bottom, right */
  pads: [number, number, number, number];
  dilation: [number, number];
}

export type Node =
  | ({ op: "conv"; input: string; output: string; name: string;
       /** [N][KH][KW][C/groups] */ weight: Float32Array; bias: Float32Array; outChannels: number;
       groups: number; act: Act } & Window)
  | { op: "dense"; input: string; output: string; name: string;
      /** [N][K], K in NHWC order of the input */ weight: Float32Array; bias: Float32Array; outChannels: number; act: Act }
  | ({ op: "maxpool" | "avgpool"; input: string; output: string; name: string } & Omit<Window, "dilation">)
  | { op: "gap"; input: string; output: string; name: string }
  | { op: "add"; inputs: [string, string]; output: string; name: string; act: Act }
  | { op: "concat"; inputs: string[]; output: string; name: string }
  | { op: "act"; input: string; output: string; name: string;
      kind: "relu" | "clip" | "sigmoid" | "hardswish" | "leakyrelu" | "hardsigmoid"; alpha: number; beta: number }
  | { op: "flatten"; input: string; output: string; name: string };

export type NodeOp = Node["op"];

export interface Preprocess {
  channelOrder: "rgb" | "bgr" | "gray";
  resize: "stretch" | "shorter-side-crop";
  cropFraction: number;
  /** pixel 0..255 times valueScale, then (x - mean) / std per channel */
  valueScale: number;
  mean: number[];
  std: number[];
}

export interface Graph {
  input: { name: string; shape: Shape };
  output: string;
  nodes: Node[];
  preprocess: Preprocess;
  labels?: string[];
  provenance?: Record<string, unknown>;
}

export class QwmGraphError extends Error {
  readonly code = "QWM_GRAPH";
  constructor(message: string) {
    super(message);
    this.name = "QwmGraphError";
  }
}

export function nodeInputs(n: Node): string[] {
  return "inputs" in n ? n.inputs : [n.input];
}

const windowOut = (size: number, k: number, s: number, p0: number, p1: number, d: number) =>
  Math.floor((size + p0 + p1 - d * (k - 1) - 1) / s) + 1;

/** Shape of every value, checking each node's inputs as it goes. */
export function inferShapes(g: Graph): Map<string, Shape> {
  const shapes = new Map<string, Shape>([[g.input.name, g.input.shape]]);
  const get = (n: Node, v: string) => {
    const s = shapes.get(v);
    if (!s) throw new QwmGraphError(`node '${n.name}' (${n.op}): input '${v}' is not defined before it`);
    return s;
  };
  for (const n of g.nodes) {
    if (shapes.has(n.output)) throw new QwmGraphError(`node '${n.name}' (${n.op}): value '${n.output}' is written twice`);
    let out: Shape;
    switch (n.op) {
      case "conv": {
        const [h, w, c] = get(n, n.input);
        const [kh, kw] = n.kernel;
        if (n.groups !== 1 && !(n.groups === c && n.outChannels === c)) {
          throw new QwmGraphError(`node '${n.name}' (conv): groups=${n.groups} with ${c} -> ${n.outChannels} channels; supported: groups 1, or depthwise (groups = channels, multiplier 1)`);
        }
        const cin = n.groups === 1 ? c : 1;
        if (n.weight.length !== n.outChannels * kh * kw * cin) throw new QwmGraphError(`node '${n.name}' (conv): weight has ${n.weight.length} values, expected ${n.outChannels}x${kh}x${kw}x${cin}`);
        if (n.bias.length !== n.outChannels) throw new QwmGraphError(`node '${n.name}' (conv): bias has ${n.bias.length} values, expected ${n.outChannels}`);
        const oh = windowOut(h, kh, n.stride[0], n.pads[0], n.pads[2], n.dilation[0]);
        const ow = windowOut(w, kw, n.stride[1], n.pads[1], n.pads[3], n.dilation[1]);
        if (oh < 1 || ow < 1) throw new QwmGraphError(`node '${n.name}' (conv): empty output ${oh}x${ow}`);
        out = [oh, ow, n.outChannels];
        break;
      }
      case "dense": {
        const [h, w, c] = get(n, n.input);
        const K = h * w * c;
        if (n.weight.length !== n.outChannels * K) throw new QwmGraphError(`node '${n.name}' (dense): weight has ${n.weight.length} values, expected ${n.outChannels}x${K}`);
        if (n.bias.length !== n.outChannels) throw new QwmGraphError(`node '${n.name}' (dense): bias has ${n.bias.length} values`);
        out = [1, 1, n.outChannels];
        break;
      }
      case "maxpool":
      case "avgpool": {
        const [h, w, c] = get(n, n.input);
        out = [windowOut(h, n.kernel[0], n.stride[0], n.pads[0], n.pads[2], 1), windowOut(w, n.kernel[1], n.stride[1], n.pads[1], n.pads[3], 1), c];
        if (out[0] < 1 || out[1] < 1) throw new QwmGraphError(`node '${n.name}' (${n.op}): empty output`);
        break;
      }
      case "gap":
        out = [1, 1, get(n, n.input)[2]];
        break;
      case "add": {
        const a = get(n, n.inputs[0]), b = get(n, n.inputs[1]);
        if (a.join() !== b.join()) throw new QwmGraphError(`node '${n.name}' (add): shapes ${a.join("x")} and ${b.join("x")} differ (broadcasting is not supported)`);
        out = [...a];
        break;
      }
      case "concat": {
        const ss = n.inputs.map((v) => get(n, v));
        if (ss.some((s) => s[0] !== ss[0][0] || s[1] !== ss[0][1])) throw new QwmGraphError(`node '${n.name}' (concat): spatial sizes differ`);
        out = [ss[0][0], ss[0][1], ss.reduce((a, s) => a + s[2], 0)];
        break;
      }
      case "act":
        out = [...get(n, n.input)];
        break;
      case "flatten": {
        const [h, w, c] = get(n, n.input);
        out = [1, 1, h * w * c];
        break;
      }
    }
    shapes.set(n.output, out);
  }
  if (!shapes.has(g.output)) throw new QwmGraphError(`graph output '${g.output}' is not produced by any node`);
  return shapes;
}
