// Fuzz target: the ONNX importer (src/onnx) and what follows it on the float path (transforms, lowering,
// the .qwm writer), then the runtime's validator on what the toolkit wrote.
//
// Seeds: four small models built here (a CNN with depthwise, batch norm and a residual add; a QDQ model with
// the shape arithmetic PyTorch exports; a gray MLP with constants, casts and clips; pads, concat and the
// activations) and the bundled Fashion-MNIST model; with --long also ../shared/models. Structure-aware
// mutations of the decoded protobuf, re-encoded: initializer dims, data types and raw data (truncated,
// extended, external), attribute values and types (extreme ints, empty lists, NaN / Inf floats, renamed,
// removed, added), op types and domains, edges (dangling names, cycles, self-references, duplicate outputs),
// node order, graph inputs and outputs (dims, element types, rank), opsets, weight values; and byte-level
// flips, truncations and insertions of the encoded bytes. Checks:
//  - every rejection is a QwmOnnxError, QwmGraphError, QwmPackError or QwmQuantizeError; anything else (a
//    TypeError, a RangeError) is a crash;
//  - the per-case time budget and the watchdog (no hang), and memory: the peak RSS may not grow by more than
//    ALLOC_BUDGET in a case;
//  - a model the importer accepts is lowered and written, and the runtime accepts what the toolkit wrote.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import onnxProto from "onnx-proto";
import { importOnnx, SUPPORTED_OPS } from "../../src/onnx/import.ts";
import { QwmOnnxError } from "../../src/onnx/types.ts";
import { QwmGraphError } from "../../src/ir/graph.ts";
import { QwmPackError } from "../../src/pack/layout.ts";
import { QwmQuantizeError } from "../../src/quantize/params.ts";
import { lowerFloat } from "../../src/pack/lower.ts";
import { writeQwm } from "../../src/pack/qwm.ts";
import { KernelHost } from "../../src/wasm/kernels.ts";
import { readBuild } from "../../src/wasm/module.ts";
import { ErrorKind, Field } from "../../assembly/runtime/schema.ts";
import { ROOT } from "../helpers/tools.ts";
import { bump, CaseFailure, type Rng, type Target, type TargetReport } from "./core.ts";
import { rng } from "../helpers/ref.ts";

const { onnx } = onnxProto as any;
const FLOAT = 1, UINT8 = 2, INT8 = 3, INT64 = 7;
const ALLOC_BUDGET = 256 << 20;

// ---------------------------------------------------------------------------------------------- seeds

const vi = (name: string, dims: number[], elemType = FLOAT) => ({ name, type: { tensorType: { elemType, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
const f32 = (r: Rng, name: string, dims: number[], scale = 0.5) => ({ name, dims, dataType: FLOAT, rawData: new Uint8Array(Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => (r.next() * 2 - 1) * scale).buffer) });
const floats = (name: string, dims: number[], data: number[]) => ({ name, dims, dataType: FLOAT, floatData: data });
const i64 = (name: string, data: number[]) => ({ name, dims: [data.length], dataType: INT64, int64Data: data });
const i8 = (r: Rng, name: string, dims: number[]) => ({ name, dims, dataType: INT8, rawData: Uint8Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => r.int(-127, 127) & 0xff) });
const scalar = (name: string, v: number, dataType = FLOAT) => (dataType === FLOAT ? { name, dims: [], dataType, floatData: [v] } : { name, dims: [], dataType, rawData: Uint8Array.of(v & 0xff) });
const ints = (name: string, v: number[]) => ({ name, type: 7, ints: v });
const int = (name: string, v: number) => ({ name, type: 2, i: v });
const flt = (name: string, v: number) => ({ name, type: 1, f: v });
const node = (opType: string, input: string[], output: string[], attribute: object[] = [], name = "") => ({ opType, input, output, attribute, name });

function model(graph: object, opset = 13): Uint8Array {
  // a copy: protobufjs hands out views of a shared pool (and a Node Buffer's slice() is a view too)
  return new Uint8Array(onnx.ModelProto.encode({ irVersion: 7, producerName: "fuzz", opsetImport: [{ domain: "", version: opset }], graph }).finish());
}

function seedModels(): [string, Uint8Array][] {
  const r = rng(4242);
  const cnn = model({
    name: "cnn",
    node: [
      node("Conv", ["x", "w1", "b1"], ["c1"], [ints("kernel_shape", [3, 3]), ints("pads", [1, 1, 1, 1]), ints("strides", [1, 1])], "conv1"),
      node("Relu", ["c1"], ["r1"]),
      node("MaxPool", ["r1"], ["p1"], [ints("kernel_shape", [2, 2]), ints("strides", [2, 2])]),
      node("Conv", ["p1", "wd"], ["d1"], [ints("kernel_shape", [3, 3]), ints("pads", [1, 1, 1, 1]), int("group", 4)], "dw"),
      node("BatchNormalization", ["d1", "bn_s", "bn_b", "bn_m", "bn_v"], ["n1"], [flt("epsilon", 1e-5)]),
      node("Add", ["n1", "p1"], ["a1"]),
      node("Clip", ["a1", "lo", "hi"], ["k1"]),
      node("GlobalAveragePool", ["k1"], ["g1"]),
      node("Flatten", ["g1"], ["f1"], [int("axis", 1)]),
      node("Gemm", ["f1", "wf", "bf"], ["logits"], [int("transB", 1), flt("alpha", 1), flt("beta", 1)]),
      node("Softmax", ["logits"], ["y"], [int("axis", 1)]),
    ],
    initializer: [f32(r, "w1", [4, 3, 3, 3]), f32(r, "b1", [4], 0.1), f32(r, "wd", [4, 1, 3, 3]),
      floats("bn_s", [4], [1, 0.9, 1.1, 1]), floats("bn_b", [4], [0, 0.1, -0.1, 0]), floats("bn_m", [4], [0, 0.1, 0, -0.1]), floats("bn_v", [4], [1, 0.5, 2, 1]),
      scalar("lo", 0), scalar("hi", 6), f32(r, "wf", [10, 4]), f32(r, "bf", [10], 0.1)],
    input: [vi("x", [1, 3, 8, 8])], output: [vi("y", [1, 10])],
  });
  const qdq = model({
    name: "qdq",
    node: [
      node("QuantizeLinear", ["x", "sx", "zx"], ["xq"]),
      node("DequantizeLinear", ["xq", "sx", "zx"], ["xd"]),
      node("DequantizeLinear", ["wq", "sw", "zw"], ["wdq"], [int("axis", 0)]),
      node("Conv", ["xd", "wdq", "bc"], ["c1"], [ints("kernel_shape", [3, 3]), ints("pads", [1, 1, 1, 1]), ints("strides", [2, 2])]),
      node("QuantizeLinear", ["c1", "sy", "zy"], ["cq"]),
      node("DequantizeLinear", ["cq", "sy", "zy"], ["cd"]),
      node("Relu", ["cd"], ["r1"]),
      node("AveragePool", ["r1"], ["p1"], [ints("kernel_shape", [2, 2]), ints("strides", [2, 2])]),
      node("Shape", ["p1"], ["shp"]),
      node("Gather", ["shp", "zero"], ["n0"], [int("axis", 0)]),
      node("Unsqueeze", ["n0", "ax0"], ["n1"]),
      node("Concat", ["n1", "minus1"], ["newshape"], [int("axis", 0)]),
      node("Reshape", ["p1", "newshape"], ["flat"]),
      node("MatMul", ["flat", "wm"], ["mm"]),
      node("Add", ["mm", "bm"], ["y"]),
    ],
    initializer: [scalar("sx", 0.02), scalar("zx", 128, UINT8), i8(r, "wq", [6, 3, 3, 3]), floats("sw", [6], [0.01, 0.02, 0.015, 0.01, 0.03, 0.02]),
      { name: "zw", dims: [6], dataType: INT8, rawData: new Uint8Array(6) }, f32(r, "bc", [6], 0.1), scalar("sy", 0.05), scalar("zy", 0, UINT8),
      { name: "zero", dims: [], dataType: INT64, int64Data: [0] }, i64("ax0", [0]), i64("minus1", [-1]), f32(r, "wm", [24, 5]), f32(r, "bm", [5], 0.1)],
    input: [vi("x", [1, 3, 8, 8])], output: [vi("y", [1, 5])],
  });
  const mlp = model({
    name: "mlp",
    node: [
      node("Constant", [], ["w2"], [{ name: "value", type: 4, t: f32(r, "w2c", [8, 4]) }]),
      node("Flatten", ["x"], ["f"]),
      node("Sub", ["f", "mu"], ["s"]),
      node("Div", ["s", "sd"], ["z"]),
      node("Gemm", ["z", "w1", "b1"], ["h"], [int("transB", 0)]),
      node("LeakyRelu", ["h"], ["l"], [flt("alpha", 0.1)]),
      node("Cast", ["l"], ["lc"], [int("to", FLOAT)]),
      node("MatMul", ["lc", "w2"], ["m"]),
      node("Mul", ["m", "k"], ["y"]),
    ],
    initializer: [scalar("mu", 0.5), scalar("sd", 0.25), f32(r, "w1", [36, 8]), f32(r, "b1", [8], 0.1), scalar("k", 2)],
    input: [vi("x", [1, 1, 6, 6])], output: [vi("y", [1, 4])],
  }, 11);
  const branches = model({
    name: "branches",
    node: [
      node("Pad", ["x", "pads"], ["xp"], [{ name: "mode", type: 3, s: new TextEncoder().encode("constant") }]),
      node("Conv", ["xp", "w1"], ["c1"], [ints("kernel_shape", [3, 3])]),
      node("Conv", ["x", "w2", "b2"], ["c2"], [ints("kernel_shape", [1, 1]), ints("dilations", [1, 1])]),
      node("HardSigmoid", ["c1"], ["h1"], [flt("alpha", 0.2), flt("beta", 0.5)]),
      node("HardSwish", ["c2"], ["h2"]),
      node("Concat", ["h1", "h2"], ["cat"], [int("axis", 1)]),
      node("Sigmoid", ["cat"], ["sg"]),
      node("Transpose", ["sg"], ["tr"], [ints("perm", [0, 1, 2, 3])]),
      node("ReduceMean", ["tr"], ["rm"], [ints("axes", [2, 3]), int("keepdims", 1)]),
      node("Reshape", ["rm", "shape"], ["fl"]),
      node("Gemm", ["fl", "wf"], ["y"], [int("transB", 1)]),
    ],
    initializer: [i64("pads", [0, 0, 1, 1, 0, 0, 1, 1]), f32(r, "w1", [2, 3, 3, 3]), f32(r, "w2", [3, 3, 1, 1]), f32(r, "b2", [3]),
      i64("shape", [1, 5]), f32(r, "wf", [7, 5])],
    input: [vi("x", [1, 3, 6, 6])], output: [vi("y", [1, 7])],
  });
  return [["cnn", cnn], ["qdq", qdq], ["mlp", mlp], ["branches", branches]];
}

// ---------------------------------------------------------------------------------------------- mutations

const ATTR_NAMES = ["kernel_shape", "strides", "pads", "dilations", "group", "axis", "axes", "perm", "shape", "alpha", "beta",
  "epsilon", "auto_pad", "ceil_mode", "to", "transA", "transB", "keepdims", "mode", "value", "min", "max", "count_include_pad",
  "allowzero", "storage_order", "spatial", "training_mode", "is_test", "broadcast", "start", "end", "value_float", "value_ints"];
const BIG = [0, -1, 1, 2, 3, 4, 7, 255, 256, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 40, 2 ** 53, -(2 ** 31), -(2 ** 53)];
const FLOATS = [NaN, Infinity, -Infinity, 0, -0, -1, 1e-45, 1e30, -1e30, 3.4e38];

type M = any;
type Mut = (m: M, r: Rng) => void;

const nodesOf = (m: M): M[] => m.graph?.node ?? [];
const valueNames = (m: M): string[] => [
  ...(m.graph?.input ?? []).map((i: M) => i.name), ...(m.graph?.initializer ?? []).map((t: M) => t.name),
  ...nodesOf(m).flatMap((n: M) => n.output ?? []),
];

const MUTATORS: Record<string, Mut> = {
  dims: (m, r) => {
    const ts: M[] = m.graph.initializer;
    if (!ts?.length) return;
    const t = r.pick(ts);
    const d = (t.dims ?? []).map(Number);
    switch (r.int(0, 3)) {
      case 0: if (d.length) d[r.int(0, d.length - 1)] = r.pick(BIG); break;
      case 1: d.splice(r.int(0, d.length), 0, r.pick([1, 2, 0, -1])); break;
      case 2: d.splice(r.int(0, Math.max(0, d.length - 1)), 1); break;
      default: d.reverse();
    }
    t.dims = d;
  },
  dtype: (m, r) => {
    const ts: M[] = m.graph.initializer;
    if (ts?.length) r.pick(ts).dataType = r.pick([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 100]);
  },
  raw: (m, r) => {
    const ts: M[] = m.graph.initializer;
    if (!ts?.length) return;
    const t = r.pick(ts);
    const raw: Uint8Array | undefined = t.rawData?.length ? t.rawData : undefined;
    switch (r.int(0, 4)) {
      case 0: if (raw) t.rawData = new Uint8Array(raw.subarray(0, r.int(0, raw.length - 1))); break;
      case 1: if (raw) { const b = new Uint8Array(raw.length + r.pick([1, 4, 8, 1000])); b.set(raw); t.rawData = b; } break;
      case 2: t.rawData = new Uint8Array(0); t.floatData = []; t.int64Data = []; t.int32Data = []; break;
      case 3: t.dataLocation = 1; break;
      default: t.floatData = Array.from({ length: r.int(0, 5) }, () => r.next()); t.rawData = new Uint8Array(0);
    }
  },
  numbers: (m, r) => {
    // weight and quantization values: NaN, infinities, zero and negative scales
    const ts: M[] = (m.graph.initializer ?? []).filter((t: M) => t.dataType === FLOAT);
    if (!ts.length) return;
    const t = r.pick(ts);
    if (t.rawData?.length >= 4) {
      const b = new Uint8Array(t.rawData), v = new DataView(b.buffer); // a copy: decoded bytes are views
      for (let k = r.int(1, 3); k > 0; k--) v.setFloat32(4 * r.int(0, (b.length >> 2) - 1), r.pick(FLOATS), true);
      t.rawData = b;
    } else if (t.floatData?.length) {
      t.floatData = t.floatData.map((x: number) => (r.next() < 0.5 ? r.pick(FLOATS) : x));
    }
  },
  attr: (m, r) => {
    const ns = nodesOf(m);
    if (!ns.length) return;
    const n: M = r.pick(ns);
    n.attribute ??= [];
    const a: M = n.attribute.length ? r.pick(n.attribute as M[]) : undefined;
    switch (r.int(0, 5)) {
      case 0: if (a) { a.type = 2; a.i = r.pick(BIG); a.ints = []; } break;
      case 1: if (a) { a.type = 7; a.ints = Array.from({ length: r.pick([0, 1, 2, 3, 4, 8]) }, () => r.pick(BIG)); } break;
      case 2: if (a) { a.type = r.pick([1, 6]); a.f = r.pick(FLOATS); a.floats = [r.pick(FLOATS)]; } break;
      case 3: if (a) { a.name = r.pick(ATTR_NAMES); } break;
      case 4: if (a) n.attribute.splice(n.attribute.indexOf(a), 1); break;
      default: {
        const t = r.pick([1, 2, 3, 4, 6, 7]);
        n.attribute.push({ name: r.pick(ATTR_NAMES), type: t, i: r.pick(BIG), f: r.pick(FLOATS), ints: [r.pick(BIG), r.pick(BIG)], floats: [r.pick(FLOATS)],
          s: new TextEncoder().encode(r.pick(["SAME_UPPER", "VALID", "NOTSET", "reflect", "constant", "x"])) });
      }
    }
  },
  optype: (m, r) => {
    const ns = nodesOf(m);
    if (!ns.length) return;
    const n: M = r.pick(ns);
    if (r.next() < 0.85) n.opType = r.pick([...SUPPORTED_OPS, "Foo", "Loop", "Resize", ""]);
    else n.domain = r.pick(["com.microsoft", "ai.onnx", "ai.onnx.ml"]);
  },
  edges: (m, r) => {
    const ns = nodesOf(m);
    if (!ns.length) return;
    const k = r.int(0, ns.length - 1), n = ns[k];
    const names = valueNames(m);
    switch (r.int(0, 6)) {
      case 0: if (n.input?.length) n.input[r.int(0, n.input.length - 1)] = "dangling"; break;
      case 1: if (n.input?.length && n.output?.length) n.input[r.int(0, n.input.length - 1)] = n.output[0]; break; // self-cycle
      case 2: if (n.input?.length && k < ns.length - 1) n.input[r.int(0, n.input.length - 1)] = r.pick(ns.slice(k + 1)).output?.[0] ?? ""; break; // use before def / cycle
      case 3: if (n.output?.length) n.output[0] = r.pick(names); break; // duplicate definition
      case 4: n.input = (n.input ?? []).slice(0, Math.max(0, (n.input?.length ?? 0) - 1)); break;
      case 5: n.input = [...(n.input ?? []), r.pick([...names, ""])]; break;
      default: if (n.input?.length) n.input[r.int(0, n.input.length - 1)] = "";
    }
  },
  nodes: (m, r) => {
    const ns = nodesOf(m);
    if (!ns.length) return;
    const i = r.int(0, ns.length - 1), j = r.int(0, ns.length - 1);
    switch (r.int(0, 3)) {
      case 0: ns.splice(i, 1); break;
      case 1: ns.splice(j, 0, onnx.NodeProto.decode(onnx.NodeProto.encode(ns[i]).finish())); break;
      case 2: [ns[i], ns[j]] = [ns[j], ns[i]]; break;
      default: ns.reverse();
    }
  },
  io: (m, r) => {
    const g = m.graph;
    switch (r.int(0, 5)) {
      case 0: {
        const d = g.input?.[0]?.type?.tensorType?.shape?.dim;
        if (d?.length) d[r.int(0, d.length - 1)] = r.next() < 0.8 ? { dimValue: r.pick(BIG) } : { dimParam: "N" };
        break;
      }
      case 1: { const d = g.input?.[0]?.type?.tensorType?.shape?.dim; if (d) r.next() < 0.5 ? d.pop() : d.push({ dimValue: r.pick([1, 3]) }); break; }
      case 2: if (g.input?.[0]?.type?.tensorType) g.input[0].type.tensorType.elemType = r.pick([0, 1, 2, 3, 5, 6, 7, 10, 11, 16]); break;
      case 3: r.next() < 0.5 ? g.input.pop() : g.input.push({ ...g.input[0], name: "x2" }); break;
      case 4: if (g.output?.length) g.output[0].name = r.pick([...valueNames(m), "nowhere"]); break;
      default: r.next() < 0.5 ? g.output.pop() : g.output.push({ ...g.output[0], name: r.pick(valueNames(m)) });
    }
  },
  opset: (m, r) => {
    m.opsetImport = [{ domain: r.pick(["", "", "ai.onnx", "com.microsoft"]), version: r.pick([0, 1, 5, 6, 7, 9, 11, 13, 17, 19, 99]) }];
  },
};

function bytesMutation(b: Uint8Array, r: Rng): Uint8Array {
  switch (r.int(0, 2)) {
    case 0: { const o = b.slice(); for (let k = r.int(1, 8); k > 0; k--) o[r.int(0, o.length - 1)] = r.int(0, 255); return o; }
    case 1: return b.slice(0, r.int(0, b.length - 1));
    default: { const at = r.int(0, b.length), ins = Uint8Array.from({ length: r.int(1, 8) }, () => r.int(0, 255)); const o = new Uint8Array(b.length + ins.length); o.set(b.subarray(0, at)); o.set(ins, at); o.set(b.subarray(at), at + ins.length); return o; }
  }
}

// ---------------------------------------------------------------------------------------------- the target

const TYPED = [QwmOnnxError, QwmGraphError, QwmPackError, QwmQuantizeError];
const maxRss = () => process.resourceUsage().maxRSS * 1024;

function rejection(e: Error & { code?: string }): string {
  const m = e.message.replace(/'[^']*'/g, "'…'").replace(/\[[^\]]*\]/g, "[…]").replace(/-?[0-9]+(\.[0-9]+)?(e[-+]?[0-9]+)?/g, "N").replace(/\s+/g, " ");
  return `${e.name} ${e.code ?? ""} ${m.slice(0, 100)}`;
}

export async function onnxTarget(opts: { long?: boolean } = {}): Promise<Target> {
  const seeds = seedModels();
  const big: [string, Uint8Array][] = [];
  const fashion = `${ROOT}models/fashion_mnist_dsres.onnx`;
  if (existsSync(fashion)) big.push(["fashion", new Uint8Array(readFileSync(fashion))]);
  const shared = `${ROOT}../shared/models`;
  if (opts.long && existsSync(shared)) {
    for (const f of readdirSync(shared).filter((n) => n.endsWith(".onnx")).sort()) big.push([f, new Uint8Array(readFileSync(`${shared}/${f}`))]);
  }
  for (const [n, b] of [...seeds, ...big]) {
    try { importOnnx(b); } catch (e) { throw new Error(`seed ${n} does not import: ${(e as Error).message}`); }
  }
  const host = await KernelHost.create(readBuild("simd"));
  return {
    name: "onnx",
    async run(index: number, r: Rng, report: TargetReport) {
      const [name, seed] = index % 8 === 7 && big.length ? r.pick(big) : r.pick(seeds);
      const used: string[] = [];
      let bytes: Uint8Array;
      if (r.next() < 0.15) {
        used.push("bytes");
        bytes = bytesMutation(seed, r);
      } else {
        const m = onnx.ModelProto.decode(seed);
        const names = Object.keys(MUTATORS);
        for (let k = r.next() < 0.7 ? 1 : r.int(2, 3); k > 0; k--) {
          const mu = r.pick(names);
          used.push(mu);
          MUTATORS[mu](m, r);
        }
        try {
          bytes = new Uint8Array(onnx.ModelProto.encode(m).finish());
        } catch {
          used.push("unencodable");
          bytes = bytesMutation(seed, r);
        }
      }
      const fail = (kind: "crash" | "alloc" | "mismatch", detail: string) => {
        const f = new CaseFailure(kind, detail);
        f.mutators = `${name}: ${used.join("+")}`;
        return f;
      };
      const before = maxRss();
      const check = () => {
        const grew = maxRss() - before;
        if (grew > ALLOC_BUDGET) throw fail("alloc", `peak memory grew by ${(grew / 2 ** 20).toFixed(0)} MiB in one case (budget ${ALLOC_BUDGET / 2 ** 20} MiB)`);
      };
      let qwm: Uint8Array;
      try {
        const imp = importOnnx(bytes);
        bump(report.counters, "imported");
        qwm = writeQwm(lowerFloat(imp.graph).program);
      } catch (e) {
        check();
        if (TYPED.some((C) => e instanceof C)) return { outcome: { accepted: false, by: rejection(e as Error) }, mutators: used };
        throw fail("crash", `${(e as Error)?.stack ?? e}`);
      }
      check();
      // what the toolkit writes, the runtime accepts (memory permitting)
      host.reset();
      const p = host.put(qwm);
      const st = host.fn("qwm_load")(p, qwm.length, 256 << 20) >>> 0;
      host.fn("qwm_unload")();
      bump(report.counters, "written and validated");
      if (st !== 0 && st >>> 24 !== ErrorKind.Limit) {
        throw fail("mismatch", `the toolkit wrote a .qwm the runtime refuses: ${ErrorKind[st >>> 24]} section ${(st >>> 16) & 0xff} ${Field[st & 0xffff]} (index ${host.fn("qwm_error_index")()})`);
      }
      return { outcome: { accepted: true }, mutators: used };
    },
  };
}
