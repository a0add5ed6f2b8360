// Quantizing a graph: activation parameters for every value from calibrated ranges, int8 weights for every
// conv and dense layer, and the constraints the int8 kernels need (pools, flatten and concat keep their
// input's scale and zero point).
import type { Graph } from "../ir/graph.ts";
import type { QuantizedGraph } from "../pack/lower.ts";
import { asymmetricQParams, quantizeWeights, type QParams } from "./params.ts";

export interface Range { min: number; max: number }
export type Ranges = Map<string, Range>;

export interface QuantizeOptions {
  /** One weight scale per output channel (default) or one per tensor. */
  perChannel?: boolean;
}

export function quantizeGraph(g: Graph, ranges: Ranges, opts: QuantizeOptions = {}): QuantizedGraph {
  const r = new Map<string, Range>();
  const get = (v: string) => {
    const x = ranges.get(v);
    if (!x) throw new Error(`value '${v}' has no calibrated range`);
    return x;
  };
  r.set(g.input.name, get(g.input.name));
  for (const n of g.nodes) r.set(n.output, { ...get(n.output) });
  // concat: inputs and output share one range (their union), until nothing changes
  for (let changed = true; changed;) {
    changed = false;
    for (const n of g.nodes) {
      if (n.op !== "concat") continue;
      const vs = [...n.inputs, n.output];
      const min = Math.min(...vs.map((v) => r.get(v)!.min)), max = Math.max(...vs.map((v) => r.get(v)!.max));
      for (const v of vs) {
        const x = r.get(v)!;
        if (x.min !== min || x.max !== max) { x.min = min; x.max = max; changed = true; }
      }
    }
  }
  const act = new Map<string, QParams>();
  for (const [v, x] of r) act.set(v, asymmetricQParams(x.min, x.max));
  // pools and flatten pass their input's parameters through
  for (const n of g.nodes) {
    if (n.op === "maxpool" || n.op === "avgpool" || n.op === "flatten") act.set(n.output, act.get(n.input)!);
  }
  const weights = new Map<string, { q: Int8Array; scales: Float32Array }>();
  for (const n of g.nodes) {
    if (n.op === "conv" || n.op === "dense") weights.set(n.name, quantizeWeights(n.weight, n.outChannels, opts.perChannel ?? true));
  }
  return { act, weights };
}

/**
 * The quantization a QDQ / QLinear model carries, completed for lowering: values without parameters take
 * their input's where the int8 kernels need equal parameters (pools, flatten); layers without given int8
 * weights get per-channel symmetric ones. Throws naming the first value that still lacks parameters.
 */
export function quantizationFromModel(g: Graph, given: QuantizedGraph, opts: QuantizeOptions = {}): QuantizedGraph {
  const act = new Map(given.act);
  for (const n of g.nodes) {
    if ((n.op === "maxpool" || n.op === "avgpool" || n.op === "flatten") && act.has(n.input)) act.set(n.output, act.get(n.input)!);
  }
  for (const v of [g.input.name, ...g.nodes.map((n) => n.output)]) {
    if (!act.has(v)) throw new Error(`value '${v}' has no quantization parameters in the model; calibrate it (--calib)`);
  }
  const weights = new Map(given.weights);
  for (const n of g.nodes) {
    if ((n.op === "conv" || n.op === "dense") && !weights.has(n.name)) {
      weights.set(n.name, quantizeWeights(n.weight, n.outChannels, opts.perChannel ?? true));
    }
  }
  return { act, weights };
}
