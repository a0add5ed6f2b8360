// ONNX -> graph IR. Walks the nodes in order, evaluating constant subgraphs (weights, QDQ weight dequantization,
// the shape arithmetic PyTorch exports emit) and translating the rest into IR nodes over NHWC values.
// QuantizeLinear / DequantizeLinear pairs on activations become quantization parameters of IR values; weights
// given quantized keep their int8 values and scales. Then src/transforms simplifies the graph.
import type { Act, Graph, Node, Preprocess } from "../ir/graph.ts";
import type { QParams } from "../quantize/params.ts";
import { simplify } from "../transforms/index.ts";
import { attributes, decodeModel, DT, dimsOf, elemTypeOf, tensorToConst, type Const, type OnnxNode } from "./proto.ts";
import { QwmOnnxError, type Imported, type OnnxIo } from "./types.ts";
import { activationQuant, bipolarWeights, isQonnxOp, QONNX_OPS, quantWeights, truncQuant, type WeightQuant } from "./qonnx.ts";

export const SUPPORTED_OPS = [
  "Conv", "ConvInteger", "QLinearConv", "Gemm", "MatMul", "MatMulInteger", "QLinearMatMul", "BatchNormalization",
  "Relu", "Clip", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Add", "Sub", "Mul", "Div", "MaxPool",
  "AveragePool", "GlobalAveragePool", "ReduceMean", "Flatten", "Reshape", "Transpose", "Concat", "Softmax",
  "Dropout", "Identity", "Pad", "Constant", "Shape", "Gather", "Unsqueeze", "Squeeze", "Cast",
  "QuantizeLinear", "DequantizeLinear",
] as const;

/**
 * Weight quantization carried by a constant that came out of DequantizeLinear (int8) or a QONNX Quant /
 * BipolarQuant (`bits`: the kernel, src/onnx/qonnx.ts; `error`: why no kernel holds it, raised by the layer).
 */
interface WQuant { q: ArrayLike<number>; scales: number[]; zps: number[]; axis: number; bits?: number; error?: string }

type Val =
  | { k: "const"; c: Const; wq?: WQuant }
  | {
      k: "act";
      v: string; // IR value
      dims: number[]; // ONNX dims without the batch: [C, H, W] or [K]
      layout: "nchw" | "nc";
      chw?: [number, number, number]; // an "nc" value flattened from NCHW: its ONNX order is (c, h, w)
      pad?: [number, number, number, number]; // a pending zero Pad (top, left, bottom, right)
      q?: QParams; // the value is the quantized form (output of QuantizeLinear, or an integer input)
      nhwc?: boolean; // a graph input given as [N, H, W, C], waiting for its Transpose
    };
type ActVal = Extract<Val, { k: "act" }>;

export interface ImportOptions {
  preprocess?: Partial<Preprocess>;
  labels?: string[];
}

const TYPE_NAMES: Record<number, string> = {
  0: "undefined (not a tensor)", 1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64", 8: "string",
  9: "bool", 10: "float16", 11: "double", 12: "uint32", 13: "uint64", 14: "complex64", 15: "complex128", 16: "bfloat16",
};

const prod = (a: readonly number[]) => a.reduce((x, y) => x * y, 1);

/** Most values an activation may have: 2^27 (512 MiB as float32); every dim of an image at most 65535. */
const MAX_ACT_VALUES = 2 ** 27;
/** Whether activation dims fit a .qwm tensor (a flattened [N, K] value: K up to MAX_ACT_VALUES). */
const actSizeOk = (dims: readonly number[]) =>
  dims.every((d) => Number.isSafeInteger(d) && d >= 1 && (dims.length === 1 || d <= 65535)) && prod(dims) <= MAX_ACT_VALUES;

export function importOnnx(bytes: Uint8Array, opts: ImportOptions = {}): Imported {
  const model = decodeModel(bytes);
  const g = model.graph;
  if (!g) throw new QwmOnnxError("ONNX_INVALID", "the model has no graph");
  // Opsets before 7 are read too: the supported ops mean the same there, except the forms handled per node
  // (Add/Sub/Mul/Div `broadcast` + `axis`, Reshape's `shape` attribute, Concat's default axis, Pad's
  // `paddings`, Cast's `to` by name, BatchNormalization's `is_test`).
  let opset = 0;
  for (const o of model.opsetImport ?? []) {
    if ((o.domain ?? "") !== "" && o.domain !== "ai.onnx") continue;
    opset = typeof o.version === "number" ? o.version : Number(o.version);
  }
  const vals = new Map<string, Val>();
  for (const t of g.initializer ?? []) vals.set(t.name, { k: "const", c: tensorToConst(t) });

  // the one graph input (inputs that are also initializers are constants)
  const inputs = (g.input ?? []).filter((i: any) => !vals.has(i.name));
  if (inputs.length !== 1) {
    throw new QwmOnnxError("ONNX_UNSUPPORTED", `graphs with ${inputs.length} inputs are not supported (an image classifier has exactly one: ${inputs.map((i: any) => i.name).join(", ")})`);
  }
  const inVi = inputs[0];
  const inDims = dimsOf(inVi);
  const nodes: Node[] = [];
  const quantAct = new Map<string, QParams>();
  const quantW = new Map<string, { q: Int8Array; scales: Float32Array; bits?: number }>();
  let nameCount = 0, qonnxNodes = 0;
  const used = new Set<string>();
  const irName = (base: string) => {
    let s = base.replace(/[^A-Za-z0-9_./:-]/g, "_") || `v${nameCount}`;
    while (used.has(s)) s = `${base}_${++nameCount}`;
    used.add(s);
    return s;
  };

  let input: OnnxIo;
  let graphInputShape: [number, number, number];
  const inName = irName(inVi.name);
  const inType = elemTypeOf(inVi);
  const integerInput = [DT.UINT8, DT.INT8, DT.INT32, DT.INT16, DT.UINT16].includes(inType as any);
  if (inType !== DT.FLOAT && !integerInput) {
    // qwasm computes in float32 (and integers): a double, float16 or string input would change the numbers
    throw new QwmOnnxError("ONNX_UNSUPPORTED", `input '${inVi.name}' has element type ${TYPE_NAMES[inType] ?? inType}; supported: float32, int8/16/32, uint8/16`);
  }
  const inQ: QParams | undefined = integerInput ? { scale: 1, zeroPoint: 0 } : undefined;
  if (inDims.length === 4) {
    const [, a, b, c] = inDims;
    if (a == null || b == null || c == null) throw new QwmOnnxError("ONNX_UNSUPPORTED", `input '${inVi.name}': dims [${inDims}] must be fixed except the batch`);
    // NHWC inputs (TensorFlow exports) are recognized by a Transpose(0,3,1,2) right after; assume NCHW unless C is last and small
    const nhwc = c <= 4 && a > 4 && g.node?.some((n: any) => n.opType === "Transpose" && n.input[0] === inVi.name);
    if (nhwc) {
      graphInputShape = [a, b, c];
      vals.set(inVi.name, { k: "act", v: inName, dims: [a, b, c], layout: "nchw", nhwc: true, q: inQ });
      input = { name: inVi.name, layout: "nchw", dims: [c, a, b] };
    } else {
      graphInputShape = [b, c, a];
      vals.set(inVi.name, { k: "act", v: inName, dims: [a, b, c], layout: "nchw", q: inQ });
      input = { name: inVi.name, layout: "nchw", dims: [a, b, c] };
    }
  } else if (inDims.length === 2) {
    const K = inDims[1];
    if (K == null) throw new QwmOnnxError("ONNX_UNSUPPORTED", `input '${inVi.name}': dims [${inDims}] must be fixed except the batch`);
    graphInputShape = [1, 1, K];
    vals.set(inVi.name, { k: "act", v: inName, dims: [K], layout: "nc", q: inQ });
    input = { name: inVi.name, layout: "nc", dims: [K] };
  } else {
    throw new QwmOnnxError("ONNX_UNSUPPORTED", `input '${inVi.name}' has rank ${inDims.length}; supported: [N, C, H, W] images and [N, K] vectors`);
  }
  if (inQ) quantAct.set(inName, inQ);
  // the .qwm input is an image of 1 (gray) or 3 (RGB / BGR) channels; an [N, K] vector is a 1x1 image of K channels
  if (!actSizeOk(graphInputShape)) {
    throw new QwmOnnxError("ONNX_UNSUPPORTED", `input '${inVi.name}' of dims [${inDims.map((d) => d ?? "N")}] is larger than a .qwm tensor can be (dims 1..65535, at most 2^27 values)`);
  }
  if (graphInputShape[2] !== 1 && graphInputShape[2] !== 3) {
    throw new QwmOnnxError("ONNX_UNSUPPORTED", `input '${inVi.name}' of dims [${inDims.map((d) => d ?? "N")}] has ${graphInputShape[2]} channels; supported: images of 1 (gray) or 3 (RGB / BGR) channels ([N, K] vectors count as K channels)`);
  }

  const graphOutputs = (g.output ?? []).map((o: any) => o.name);
  if (graphOutputs.length !== 1) throw new QwmOnnxError("ONNX_UNSUPPORTED", `graphs with ${graphOutputs.length} outputs are not supported (one: the class scores)`);

  (g.node ?? []).forEach((node: OnnxNode, index: number) => {
    const where = node.name || `#${index}`;
    const fail = (code: "ONNX_UNSUPPORTED" | "ONNX_INVALID", msg: string): never => {
      throw new QwmOnnxError(code, `node '${where}' (${node.opType}): ${msg}`, where, node.opType);
    };
    const qonnx = isQonnxOp(node.domain ?? "", node.opType);
    if (!qonnx && (node.domain ?? "") !== "" && node.domain !== "ai.onnx") fail("ONNX_UNSUPPORTED", `domain '${node.domain}' is not supported (the default ONNX domain, and QONNX's ${QONNX_OPS.join(", ")})`);
    if (!qonnx && !(SUPPORTED_OPS as readonly string[]).includes(node.opType)) {
      fail("ONNX_UNSUPPORTED", `op type is not supported; supported ops: ${SUPPORTED_OPS.join(", ")}`);
    }
    const at = attributes(node);
    if (typeof at.get("to") === "string") at.set("to", (DT as Record<string, number>)[at.get("to")] ?? -1); // Cast-1: type by name
    const inp = (i: number): Val | undefined => {
      const n = node.input[i];
      if (n === undefined || n === "") return undefined;
      const v = vals.get(n);
      if (!v) fail("ONNX_INVALID", `input '${n}' is not defined before this node`);
      return v;
    };
    const need = (i: number) => inp(i) ?? fail("ONNX_INVALID", `input ${i} is missing`);
    const cst = (i: number, what: string): Const => {
      const v = need(i);
      if (v.k !== "const") fail("ONNX_UNSUPPORTED", `${what} (input ${i}) must be a constant`);
      return (v as any).c;
    };
    const act = (i: number): ActVal => {
      const v = need(i);
      if (v.k !== "act") fail("ONNX_UNSUPPORTED", `input ${i} must be an activation, not a constant`);
      const a = v as ActVal;
      if (a.nhwc) fail("ONNX_UNSUPPORTED", `an [N, H, W, C] input must go through Transpose(perm 0,3,1,2) first`);
      if (a.pad && node.opType !== "Conv" && node.opType !== "QLinearConv" && node.opType !== "ConvInteger") {
        fail("ONNX_UNSUPPORTED", `a Pad is supported only right before a Conv`);
      }
      return a;
    };
    const out = (i: number, v: Val) => {
      const n = node.output[i];
      if (v.k === "act" && !actSizeOk(v.dims)) fail("ONNX_UNSUPPORTED", `its output of dims [${v.dims}] is larger than a .qwm tensor can be (dims 1..65535, at most 2^27 values)`);
      if (n !== undefined && n !== "") vals.set(n, v);
    };
    const newVal = (base?: string) => irName(base ?? node.output[0] ?? `${node.opType}_${index}`);
    const nodeName = irName(node.name || `${node.opType}_${index}`);
    const allConst = node.input.filter((x: string) => x !== "").every((x: string) => vals.get(x)?.k === "const");

    if (qonnx) {
      // QONNX quantizers (src/onnx/qonnx.ts): weights keep their integers, activations get their parameters
      qonnxNodes++;
      const scalarOf = (i: number, what: string) => {
        const c = cst(i, what);
        if (c.data.length !== 1) fail("ONNX_UNSUPPORTED", `${what} must be one value here (per-tensor), got ${c.data.length}`);
        return Number(c.data[0]);
      };
      const signed = (at.get("signed") ?? 1) !== 0, narrow = (at.get("narrow") ?? 0) !== 0;
      const x = need(0);
      const wrap = <T>(f: () => T): T => { try { return f(); } catch (e) { return fail("ONNX_UNSUPPORTED", (e as Error).message); } };
      if (x.k === "const") {
        if (node.opType === "Trunc") fail("ONNX_UNSUPPORTED", "Trunc of a constant (Trunc applies to accumulated activations)");
        const what = `weights quantized by '${where}'`;
        const w: WeightQuant = node.opType === "BipolarQuant"
          ? wrap(() => bipolarWeights(x.c, cst(1, "scale")))
          : wrap(() => quantWeights(x.c, cst(1, "scale"), cst(2, "zeropt").data, scalarOf(3, "bitwidth"), { signed, narrow, rounding: at.get("rounding_mode") ?? "ROUND" }, what));
        out(0, { k: "const", c: { dims: x.c.dims, dtype: DT.FLOAT, data: w.values }, wq: { q: w.q, scales: w.scales, zps: [0], axis: w.axis, bits: w.bits, error: w.error } });
        return;
      }
      const a = act(0);
      if (a.q) fail("ONNX_UNSUPPORTED", "a QONNX quantizer of an integer value");
      if (node.opType === "BipolarQuant") fail("ONNX_UNSUPPORTED", "BipolarQuant of an activation: binary activations have no kernel (weights only)");
      const r = node.opType === "Trunc"
        ? wrap(() => truncQuant(scalarOf(1, "scale"), scalarOf(2, "zeropt"), scalarOf(3, "in_bitwidth"), node.input.length >= 6 ? scalarOf(4, "out_scale") : undefined, scalarOf(node.input.length >= 6 ? 5 : 4, "out_bitwidth"), { signed, narrow }))
        : wrap(() => activationQuant(scalarOf(1, "scale"), scalarOf(2, "zeropt"), scalarOf(3, "bitwidth"), { signed, narrow }));
      let v = a.v;
      if (r.clip) {
        v = newVal();
        nodes.push({ op: "act", name: nodeName, input: a.v, output: v, kind: "clip", alpha: r.clip[0], beta: r.clip[1] });
      }
      // the value it quantizes takes the same parameters unless it has its own (int8 saturation, then the Clip)
      if (!quantAct.has(a.v)) quantAct.set(a.v, r.q);
      quantAct.set(v, r.q);
      out(0, { ...a, v, q: undefined });
      return;
    }

    if (allConst && node.opType !== "DequantizeLinear" && node.opType !== "Constant") {
      out(0, { k: "const", c: foldConst(node.opType, node.input.map((_: string, i: number) => inp(i)?.k === "const" ? (inp(i) as any).c : undefined), at, fail) });
      return;
    }

    switch (node.opType) {
      case "Constant": {
        const c = at.get("value") ?? (at.has("value_float") ? { dims: [], dtype: DT.FLOAT, data: [at.get("value_float")] }
          : at.has("value_floats") ? { dims: [at.get("value_floats").length], dtype: DT.FLOAT, data: at.get("value_floats") }
          : at.has("value_int") ? { dims: [], dtype: DT.INT64, data: [at.get("value_int")] }
          : at.has("value_ints") ? { dims: [at.get("value_ints").length], dtype: DT.INT64, data: at.get("value_ints") } : undefined);
        if (!c) fail("ONNX_UNSUPPORTED", "Constant without a tensor, float(s) or int(s) value");
        if (!Array.isArray(c.dims)) fail("ONNX_INVALID", "Constant 'value' must be a tensor");
        out(0, { k: "const", c });
        return;
      }
      case "Identity":
      case "Dropout":
        out(0, need(0));
        return;
      case "Cast": {
        const x = act(0);
        const to = at.get("to");
        if (to !== DT.FLOAT && to !== DT.DOUBLE && !(x.q && x.q.scale === 1)) fail("ONNX_UNSUPPORTED", `Cast of an activation to type ${to}: only to float`);
        out(0, { ...x, q: undefined });
        return;
      }
      case "QuantizeLinear": {
        const x = act(0);
        const q = qparamsOf(cst(1, "scale"), inp(2)?.k === "const" ? (inp(2) as any).c : undefined, fail);
        if (x.q) fail("ONNX_UNSUPPORTED", "QuantizeLinear of an already quantized value");
        // The quantized value stands for the float value; a zero point at the bottom of the range clamps at 0
        // (a ReLU the exporter folded into the QuantizeLinear's saturation): make that clamp explicit.
        let v = x.v;
        if (q.zeroPoint === -128 && !producedNonNegative(nodes, x.v)) {
          v = newVal(`${x.v}_relu`);
          nodes.push({ op: "act", name: irName(`${nodeName}_relu`), input: x.v, output: v, kind: "relu", alpha: 0, beta: 0 });
        }
        quantAct.set(v, q);
        out(0, { ...x, v, q });
        return;
      }
      case "DequantizeLinear": {
        const x = need(0);
        if (x.k === "const") {
          out(0, dequantConst(x.c, cst(1, "scale"), inp(2)?.k === "const" ? (inp(2) as any).c : undefined, at.get("axis") ?? 1, fail));
          return;
        }
        const a = x as ActVal;
        const q = qparamsOf(cst(1, "scale"), inp(2)?.k === "const" ? (inp(2) as any).c : undefined, fail);
        if (a.q && (Math.abs(a.q.scale - q.scale) > 1e-6 * q.scale || a.q.zeroPoint !== q.zeroPoint)) {
          // re-scaled dequantization: not a plain QDQ pair
          fail("ONNX_UNSUPPORTED", "DequantizeLinear with parameters different from its QuantizeLinear");
        }
        quantAct.set(a.v, q);
        out(0, { ...a, q: undefined });
        return;
      }
      case "Conv":
      case "ConvInteger":
      case "QLinearConv": {
        const ql = node.opType === "QLinearConv", ci = node.opType === "ConvInteger";
        const x = act(0);
        if (x.layout !== "nchw") fail("ONNX_UNSUPPORTED", "Conv input must be an [N, C, H, W] image");
        let W: Const, wq: WQuant | undefined, bias: Float32Array | undefined;
        let inScale = 1;
        let xin = x.v;
        if (ql) {
          const xq = qparamsOf(cst(1, "x_scale"), cst(2, "x_zero_point"), fail);
          checkInputQ(x, xq, fail);
          const wv = dequantConst(cst(3, "w"), cst(4, "w_scale"), cst(5, "w_zero_point"), 0, fail);
          W = wv.c; wq = wv.wq;
          const B = inp(8);
          if (B) {
            const bc = cst(8, "B");
            const ws = cst(4, "w_scale").data;
            bias = Float32Array.from(bc.data, (b, n) => b * xq.scale * ws[ws.length === 1 ? 0 : n]);
          }
        } else if (ci) {
          const w = cst(1, "w");
          const wzp = inp(3) ? cst(3, "w_zero_point").data : [0];
          const xzp = inp(2) ? cst(2, "x_zero_point").data[0] : 0;
          const N = w.dims[0], per = w.data.length / N;
          W = { dims: w.dims, dtype: DT.FLOAT, data: Float32Array.from(w.data, (v, i) => v - wzp[wzp.length === 1 ? 0 : Math.floor(i / per)]) };
          // integer semantics: (x_q - x_zp); a float input value v stands for x_q = v / s + zp
          const xq = x.q ?? { scale: 1, zeroPoint: 0 };
          if (xq.zeroPoint !== xzp) {
            // subtract the difference first (padding then contributes exactly 0, as in ONNX)
            const C = x.dims[0];
            const shifted = newVal(`${x.v}_zp`);
            nodes.push(affineNode(irName(`${nodeName}_zp`), x.v, shifted, C, Float32Array.from({ length: C }, () => 1), Float32Array.from({ length: C }, () => (xq.zeroPoint - xzp) * xq.scale)));
            xin = shifted;
          }
          inScale = 1 / xq.scale;
        } else {
          const wv = need(1);
          if (wv.k !== "const") fail("ONNX_UNSUPPORTED", "Conv weights must be constant");
          W = (wv as any).c; wq = (wv as any).wq;
          if (inp(2)) bias = Float32Array.from(cst(2, "B").data);
        }
        if (W.dims.length !== 4) fail("ONNX_UNSUPPORTED", `only 2-D convolution is supported (weights of rank ${W.dims.length})`);
        const [N, Cg, KH, KW] = W.dims;
        const [C, H, Wd] = x.dims;
        const group = at.get("group") ?? 1;
        const ks = at.get("kernel_shape");
        if (ks && (ks[0] !== KH || ks[1] !== KW)) fail("ONNX_INVALID", `kernel_shape ${ks} disagrees with weights ${W.dims}`);
        const strides = at.get("strides") ?? [1, 1], dil = at.get("dilations") ?? [1, 1];
        let pads = explicitPads(at, [H, Wd], [KH, KW], strides, dil, fail);
        if (x.pad) pads = [pads[0] + x.pad[0], pads[1] + x.pad[1], pads[2] + x.pad[2], pads[3] + x.pad[3]];
        const depthwise = group === C && N === C && Cg === 1 && group > 1;
        if (group !== 1 && !depthwise) fail("ONNX_UNSUPPORTED", `group=${group} with ${C} -> ${N} channels; supported: group 1, or depthwise (group = channels, one output per channel)`);
        if (group === 1 && Cg !== C) fail("ONNX_INVALID", `weights expect ${Cg} input channels, input has ${C}`);
        const weight = new Float32Array(N * KH * KW * Cg);
        for (let n = 0; n < N; n++) for (let c = 0; c < Cg; c++) for (let ky = 0; ky < KH; ky++) for (let kx = 0; kx < KW; kx++) {
          weight[((n * KH + ky) * KW + kx) * Cg + c] = W.data[((n * Cg + c) * KH + ky) * KW + kx] * inScale;
        }
        const y = newVal();
        const oh = Math.floor((H + pads[0] + pads[2] - dil[0] * (KH - 1) - 1) / strides[0]) + 1;
        const ow = Math.floor((Wd + pads[1] + pads[3] - dil[1] * (KW - 1) - 1) / strides[1]) + 1;
        nodes.push({
          op: "conv", name: nodeName, input: xin, output: y, weight, bias: bias ?? new Float32Array(N), outChannels: N,
          groups: depthwise ? C : 1, act: "none", kernel: [KH, KW], stride: [strides[0], strides[1]],
          pads: [pads[0], pads[1], pads[2], pads[3]], dilation: [dil[0], dil[1]],
        });
        if (wq?.error) fail("ONNX_UNSUPPORTED", wq.error);
        if (wq?.bits !== undefined && depthwise && wq.bits < 4) wq = { ...wq, bits: 4 }; // depthwise kernels: int8 and int4
        if (wq) registerWeightQuant(quantW, nodeName, wq, W.dims, (q) => {
          const t = new Int8Array(q.length);
          for (let n = 0; n < N; n++) for (let c = 0; c < Cg; c++) for (let ky = 0; ky < KH; ky++) for (let kx = 0; kx < KW; kx++) {
            t[((n * KH + ky) * KW + kx) * Cg + c] = q[((n * Cg + c) * KH + ky) * KW + kx];
          }
          return t;
        });
        let yq: QParams | undefined;
        if (ql) { yq = qparamsOf(cst(6, "y_scale"), cst(7, "y_zero_point"), fail); quantAct.set(y, yq); }
        out(0, { k: "act", v: y, dims: [N, oh, ow], layout: "nchw", q: yq });
        return;
      }
      case "Gemm":
      case "MatMul":
      case "MatMulInteger":
      case "QLinearMatMul": {
        const op = node.opType;
        const x = act(0);
        if (x.layout !== "nc") fail("ONNX_UNSUPPORTED", "input must be [N, K] (Flatten an image first)");
        const K = x.dims[0];
        let B: Const, wq: WQuant | undefined, alpha = 1, beta = 1, transB = 0, inScale = 1;
        let yq: QParams | undefined;
        let bias: Float32Array | undefined;
        if (op === "QLinearMatMul") {
          const xq = qparamsOf(cst(1, "a_scale"), cst(2, "a_zero_point"), fail);
          checkInputQ(x, xq, fail);
          const bv = dequantConst(cst(3, "b"), cst(4, "b_scale"), cst(5, "b_zero_point"), 1, fail);
          B = bv.c; wq = bv.wq;
          yq = qparamsOf(cst(6, "y_scale"), cst(7, "y_zero_point"), fail);
        } else if (op === "MatMulInteger") {
          const b = cst(1, "B");
          const bzp = inp(3) ? cst(3, "b_zero_point").data : [0];
          const azp = inp(2) ? cst(2, "a_zero_point").data[0] : 0;
          const xq = x.q ?? { scale: 1, zeroPoint: 0 };
          if (azp !== xq.zeroPoint) fail("ONNX_UNSUPPORTED", "a_zero_point must equal the input's zero point");
          const Nn = b.dims[1];
          B = { dims: b.dims, dtype: DT.FLOAT, data: Float32Array.from(b.data, (v, i) => v - bzp[bzp.length === 1 ? 0 : i % Nn]) };
          inScale = 1 / xq.scale;
        } else {
          const bv = need(1);
          if (bv.k !== "const") fail("ONNX_UNSUPPORTED", "the second operand must be constant weights");
          B = (bv as any).c; wq = (bv as any).wq;
          if (op === "Gemm") {
            alpha = at.get("alpha") ?? 1; beta = at.get("beta") ?? 1; transB = at.get("transB") ?? 0;
            if ((at.get("transA") ?? 0) !== 0) fail("ONNX_UNSUPPORTED", "transA=1 is not supported");
            if (inp(2)) {
              const c = cst(2, "C");
              bias = Float32Array.from({ length: transB ? B.dims[0] : B.dims[1] }, (_, n) => beta * c.data[c.data.length === 1 ? 0 : n]);
              if (c.data.length !== 1 && c.data.length !== bias.length) fail("ONNX_UNSUPPORTED", `C of shape [${c.dims}] is not a bias vector`);
            }
          }
        }
        if (B.dims.length !== 2) fail("ONNX_UNSUPPORTED", `weights of rank ${B.dims.length}; only 2-D`);
        const N = transB ? B.dims[0] : B.dims[1];
        const Kb = transB ? B.dims[1] : B.dims[0];
        if (Kb !== K) fail("ONNX_INVALID", `weights have K=${Kb}, input has ${K}`);
        // IR weights [N][K], K in the IR (NHWC) order of the input
        const perm = flattenPerm(x);
        const weight = new Float32Array(N * K);
        for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) {
          weight[n * K + perm[k]] = alpha * inScale * (transB ? B.data[n * K + k] : B.data[k * N + n]);
        }
        const y = newVal();
        nodes.push({ op: "dense", name: nodeName, input: x.v, output: y, weight, bias: bias ?? new Float32Array(N), outChannels: N, act: "none" });
        if (wq?.error) fail("ONNX_UNSUPPORTED", wq.error);
        if (wq && alpha === 1) {
          // per tensor, or per output channel (ONNX axis 0 of [N, K] with transB, axis 1 of [K, N] without)
          const axis = wq.axis === -1 ? -1 : wq.axis === (transB ? 0 : 1) ? 0 : 1;
          registerWeightQuant(quantW, nodeName, { ...wq, axis }, [N, K], (q) => {
            const t = new Int8Array(N * K);
            for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) t[n * K + perm[k]] = q[transB ? n * K + k : k * N + n];
            return t;
          });
        }
        if (yq) quantAct.set(y, yq);
        out(0, { k: "act", v: y, dims: [N], layout: "nc", q: yq });
        return;
      }
      case "BatchNormalization": {
        const x = act(0);
        const [s, b, m, v] = [1, 2, 3, 4].map((i) => cst(i, ["", "scale", "B", "mean", "var"][i]).data);
        const eps = at.get("epsilon") ?? 1e-5;
        if ((at.get("spatial") ?? 1) !== 1) fail("ONNX_UNSUPPORTED", "spatial=0 (per-element statistics); supported: spatial=1");
        if ((at.get("training_mode") ?? 0) !== 0 || (opset > 0 && opset < 7 && !at.get("is_test")) || node.output.slice(1).some((o: string) => o !== "")) {
          fail("ONNX_UNSUPPORTED", "training mode (batch statistics); supported: inference with the given mean and variance");
        }
        const C = x.dims[0];
        const w = Float32Array.from({ length: C }, (_, c) => s[c] / Math.sqrt(v[c] + eps));
        const y = newVal();
        nodes.push(affineNode(nodeName, x.v, y, C, toIrOrder(w, x), toIrOrder(Float32Array.from({ length: C }, (_, c) => b[c] - m[c] * w[c]), x)));
        out(0, { ...x, v: y, q: undefined });
        return;
      }
      case "Relu":
      case "LeakyRelu":
      case "Sigmoid":
      case "HardSigmoid":
      case "HardSwish":
      case "Clip": {
        const x = act(0);
        let kind: "relu" | "clip" | "leakyrelu" | "sigmoid" | "hardsigmoid" | "hardswish";
        let alpha = 0, beta = 0;
        switch (node.opType) {
          case "Relu": kind = "relu"; break;
          case "LeakyRelu": kind = "leakyrelu"; alpha = at.get("alpha") ?? 0.01; break;
          case "Sigmoid": kind = "sigmoid"; break;
          case "HardSigmoid": kind = "hardsigmoid"; alpha = at.get("alpha") ?? 0.2; beta = at.get("beta") ?? 0.5; break;
          case "HardSwish": kind = "hardswish"; break;
          default: {
            kind = "clip";
            alpha = at.has("min") ? at.get("min") : inp(1) ? cst(1, "min").data[0] : -Infinity;
            beta = at.has("max") ? at.get("max") : inp(2) ? cst(2, "max").data[0] : Infinity;
          }
        }
        const y = newVal();
        nodes.push({ op: "act", name: nodeName, input: x.v, output: y, kind, alpha, beta });
        out(0, { ...x, v: y, q: undefined });
        return;
      }
      case "Add":
      case "Sub":
      case "Mul":
      case "Div": {
        const a = need(0), b = need(1);
        if (a.k === "act" && b.k === "act") {
          if (node.opType !== "Add") fail("ONNX_UNSUPPORTED", `${node.opType} of two activations; supported: Add of two activations, ${node.opType} by a constant`);
          const x = act(0), z = act(1);
          if (x.dims.join() !== z.dims.join() || x.layout !== z.layout || String(x.chw) !== String(z.chw)) fail("ONNX_UNSUPPORTED", `Add of shapes [${x.dims}] and [${z.dims}]: broadcasting between activations is not supported`);
          const y = newVal();
          nodes.push({ op: "add", name: nodeName, inputs: [x.v, z.v], output: y, act: "none" });
          out(0, { ...x, v: y, q: undefined, chw: x.chw });
          return;
        }
        const actFirst = a.k === "act";
        const x = act(actFirst ? 0 : 1);
        const c = (actFirst ? b : a) as { k: "const"; c: Const };
        const C = x.dims[0];
        let cc = c.c;
        if (at.get("broadcast")) {
          // opsets before 7: B is broadcast to A's shape, aligned at `axis` (or at the end)
          if (!actFirst) fail("ONNX_UNSUPPORTED", "legacy broadcast of a constant first operand");
          const rank = x.layout === "nchw" ? 4 : 2;
          const ax = at.has("axis") ? (at.get("axis") < 0 ? at.get("axis") + rank : at.get("axis")) : rank - cc.dims.length;
          if (ax < 0 || ax + cc.dims.length > rank) fail("ONNX_INVALID", `broadcast of [${cc.dims}] at axis ${ax} of a rank-${rank} value`);
          cc = { ...cc, dims: [...Array(ax).fill(1), ...cc.dims, ...Array(rank - ax - cc.dims.length).fill(1)] };
        }
        const per = toIrOrder(perChannelConst(cc, x, fail), x);
        const ones = Float32Array.from({ length: C }, () => 1), zeros = new Float32Array(C);
        let w: Float32Array = ones, sh: Float32Array = zeros;
        switch (node.opType) {
          case "Add": sh = per; break;
          case "Sub": if (actFirst) sh = per.map((v) => -v); else { w = ones.map(() => -1); sh = per; } break;
          case "Mul": w = per; break;
          case "Div": if (!actFirst) fail("ONNX_UNSUPPORTED", "division of a constant by an activation"); w = per.map((v) => 1 / v); break;
        }
        const y = newVal();
        nodes.push(affineNode(nodeName, x.v, y, C, w, sh));
        out(0, { ...x, v: y, q: undefined });
        return;
      }
      case "MaxPool":
      case "AveragePool": {
        const x = act(0);
        if (x.layout !== "nchw") fail("ONNX_UNSUPPORTED", "pooling input must be an [N, C, H, W] image");
        const k = at.get("kernel_shape");
        if (!k || k.length !== 2) fail("ONNX_UNSUPPORTED", "only 2-D pooling is supported");
        if ((at.get("dilations") ?? [1, 1]).some((d: number) => d !== 1)) fail("ONNX_UNSUPPORTED", "pooling dilations other than 1 are not supported");
        if ((at.get("storage_order") ?? 0) !== 0) fail("ONNX_UNSUPPORTED", "storage_order=1 is not supported");
        if (node.output.length > 1 && node.output[1]) fail("ONNX_UNSUPPORTED", "the Indices output of MaxPool is not supported");
        const strides = at.get("strides") ?? [1, 1];
        const [C, H, W] = x.dims;
        const pads = explicitPads(at, [H, W], k, strides, [1, 1], fail);
        if (node.opType === "AveragePool" && (at.get("count_include_pad") ?? 0) === 1 && pads.some((p: number) => p > 0)) {
          fail("ONNX_UNSUPPORTED", "count_include_pad=1 with padding is not supported (padded taps are not counted)");
        }
        // ceil_mode: extra bottom/right padding that the floor formula turns into the ceil result
        const outSize = (n: number, kk: number, s: number, p0: number, p1: number) => {
          const f = (n + p0 + p1 - kk) / s;
          return (at.get("ceil_mode") ?? 0) ? Math.ceil(f) + 1 : Math.floor(f) + 1;
        };
        let oh = outSize(H, k[0], strides[0], pads[0], pads[2]), ow = outSize(W, k[1], strides[1], pads[1], pads[3]);
        // the last window must start inside the input or its left padding (ONNX's ceil_mode rule)
        if ((oh - 1) * strides[0] >= H + pads[0]) oh--;
        if ((ow - 1) * strides[1] >= W + pads[1]) ow--;
        const extraB = Math.max(0, (oh - 1) * strides[0] + k[0] - (H + pads[0] + pads[2]));
        const extraR = Math.max(0, (ow - 1) * strides[1] + k[1] - (W + pads[1] + pads[3]));
        const y = newVal();
        nodes.push({
          op: node.opType === "MaxPool" ? "maxpool" : "avgpool", name: nodeName, input: x.v, output: y,
          kernel: [k[0], k[1]], stride: [strides[0], strides[1]], pads: [pads[0], pads[1], pads[2] + extraB, pads[3] + extraR],
        });
        out(0, { k: "act", v: y, dims: [C, oh, ow], layout: "nchw", q: x.q });
        return;
      }
      case "GlobalAveragePool":
      case "ReduceMean": {
        const x = act(0);
        if (x.layout !== "nchw") fail("ONNX_UNSUPPORTED", "input must be an [N, C, H, W] image");
        let keep = 1;
        if (node.opType === "ReduceMean") {
          const axes: number[] = (at.get("axes") ?? (inp(1) ? Array.from(cst(1, "axes").data) : [])).map((a: number) => (a < 0 ? a + 4 : a)).sort();
          if (axes.join() !== "2,3") fail("ONNX_UNSUPPORTED", `ReduceMean over axes [${axes}]; supported: the spatial axes [2, 3]`);
          keep = at.get("keepdims") ?? 1;
        }
        const y = newVal();
        nodes.push({ op: "gap", name: nodeName, input: x.v, output: y });
        const C = x.dims[0];
        out(0, keep ? { k: "act", v: y, dims: [C, 1, 1], layout: "nchw" } : { k: "act", v: y, dims: [C], layout: "nc" });
        return;
      }
      case "Flatten": {
        const x = act(0);
        const axis = at.get("axis") ?? 1;
        if (x.layout === "nc") {
          if (axis !== 1) fail("ONNX_UNSUPPORTED", `Flatten axis=${axis} of an [N, K] value`);
          out(0, x);
          return;
        }
        if (axis !== 1) fail("ONNX_UNSUPPORTED", `Flatten axis=${axis}; supported: axis 1 (keep the batch)`);
        out(0, flatten(x, nodes, nodeName, newVal));
        return;
      }
      case "Reshape": {
        const x = act(0);
        const shape: number[] = at.has("shape") ? at.get("shape") : Array.from(cst(1, "shape").data);
        const total = prod(x.dims);
        const dims = shape.map((d, i) => (d === 0 && !(at.get("allowzero") ?? 0) ? (i === 0 ? 1 : [1, ...x.dims][i]) : d));
        const known = dims.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
        const full = dims.map((d) => (d === -1 ? total / known : d));
        if (full[0] !== 1 && !(shape[0] === -1 || shape[0] === 0)) fail("ONNX_UNSUPPORTED", `Reshape to [${shape}] changes the batch`);
        const rest = full.slice(1);
        if (prod(rest) !== total) fail("ONNX_UNSUPPORTED", `Reshape to [${shape}] of [${x.dims}]: the batch must stay the first axis`);
        if (rest.length === 1) { out(0, x.layout === "nc" ? x : flatten(x, nodes, nodeName, newVal)); return; }
        if (rest.length === 3 && rest[1] === 1 && rest[2] === 1 && ((x.layout === "nc" && !x.chw) || (x.dims[1] === 1 && x.dims[2] === 1))) {
          out(0, { k: "act", v: x.v, dims: rest, layout: "nchw", q: x.q });
          return;
        }
        if (rest.join() === x.dims.join()) { out(0, x); return; }
        fail("ONNX_UNSUPPORTED", `Reshape of [${x.dims}] to [${shape}]; supported: flattening to [N, K] and [N, C] <-> [N, C, 1, 1]`);
        return;
      }
      case "Squeeze":
      case "Unsqueeze": {
        const x = act(0);
        const axes: number[] = (at.get("axes") ?? (inp(1) ? Array.from(cst(1, "axes").data) : [])).slice().sort();
        if (node.opType === "Unsqueeze" && x.layout === "nc" && !x.chw && axes.join() === "2,3") {
          out(0, { k: "act", v: x.v, dims: [x.dims[0], 1, 1], layout: "nchw", q: x.q });
          return;
        }
        if (node.opType === "Squeeze" && x.layout === "nchw" && x.dims[1] === 1 && x.dims[2] === 1 && ["2,3", "-2,-1"].includes(axes.join())) {
          out(0, { k: "act", v: x.v, dims: [x.dims[0]], layout: "nc", q: x.q });
          return;
        }
        fail("ONNX_UNSUPPORTED", `${node.opType} axes [${axes}] of an activation [${x.dims}]; supported: [N, C] <-> [N, C, 1, 1]`);
        return;
      }
      case "Transpose": {
        const v = need(0) as ActVal;
        const perm: number[] = at.get("perm") ?? [];
        if (v.nhwc && perm.join() === "0,3,1,2") {
          const [Hh, Ww, Cc] = v.dims;
          out(0, { k: "act", v: v.v, dims: [Cc, Hh, Ww], layout: "nchw", q: v.q });
          return;
        }
        const x = act(0);
        if (perm.every((p, i) => p === i)) { out(0, x); return; }
        fail("ONNX_UNSUPPORTED", `Transpose perm [${perm}] of an activation; supported: NHWC input to NCHW (0,3,1,2)`);
        return;
      }
      case "Concat": {
        const xs = node.input.map((_: string, i: number) => act(i));
        const axis = at.get("axis") ?? 1; // Concat-1..3: default 1 (later opsets require it)
        const rank = xs[0].layout === "nchw" ? 4 : 2;
        if ((axis < 0 ? axis + rank : axis) !== 1) fail("ONNX_UNSUPPORTED", `Concat on axis ${axis}; supported: channels (axis 1)`);
        if (xs.some((x: ActVal) => x.layout !== xs[0].layout || x.chw || x.dims.slice(1).join() !== xs[0].dims.slice(1).join())) {
          fail("ONNX_UNSUPPORTED", "Concat of values with different spatial sizes or layouts");
        }
        const y = newVal();
        nodes.push({ op: "concat", name: nodeName, inputs: xs.map((x: ActVal) => x.v), output: y });
        out(0, { k: "act", v: y, dims: [xs.reduce((a: number, x: ActVal) => a + x.dims[0], 0), ...xs[0].dims.slice(1)], layout: xs[0].layout });
        return;
      }
      case "Softmax": {
        const x = act(0);
        if (!graphOutputs.includes(node.output[0])) {
          fail("ONNX_UNSUPPORTED", "Softmax is supported only as the last op of a classifier (it is dropped: qwasm outputs logits and the SDK applies softmax)");
        }
        const axis = at.get("axis") ?? (x.layout === "nc" ? 1 : -1);
        if (x.layout !== "nc" || !(axis === 1 || axis === -1)) fail("ONNX_UNSUPPORTED", "Softmax must be over the classes of an [N, K] value");
        out(0, { ...x, softmaxDropped: true } as any);
        return;
      }
      case "Pad": {
        const x = act(0);
        const mode = at.get("mode") ?? "constant";
        const pads: number[] = at.get("pads") ?? at.get("paddings") ?? (inp(1) ? Array.from(cst(1, "pads").data) : []);
        const value = at.get("value") ?? (inp(2) ? cst(2, "constant_value").data[0] : 0);
        if (mode !== "constant" || value !== 0) fail("ONNX_UNSUPPORTED", `Pad mode '${mode}' value ${value}; supported: constant zero padding before a Conv`);
        if (pads.length !== 8 || pads[0] || pads[1] || pads[4] || pads[5] || pads.some((p) => p < 0)) fail("ONNX_UNSUPPORTED", "Pad of other than the spatial axes (or negative pads)");
        if (x.layout !== "nchw") fail("ONNX_UNSUPPORTED", "Pad of an [N, K] value");
        const prev = x.pad ?? [0, 0, 0, 0];
        out(0, { ...x, pad: [prev[0] + pads[2], prev[1] + pads[3], prev[2] + pads[6], prev[3] + pads[7]] });
        return;
      }
      case "Shape": {
        const x = act(0);
        let dims = [1, ...x.dims];
        const start = at.get("start") ?? 0, end = at.get("end");
        dims = dims.slice(start, end);
        out(0, { k: "const", c: { dims: [dims.length], dtype: DT.INT64, data: dims } });
        return;
      }
      default:
        fail("ONNX_UNSUPPORTED", "op type is not supported here: its inputs must be constants");
    }
  });

  const outName = graphOutputs[0];
  const ov = vals.get(outName);
  if (!ov) throw new QwmOnnxError("ONNX_INVALID", `graph output '${outName}' is not produced by any node`);
  if (ov.k !== "act") throw new QwmOnnxError("ONNX_UNSUPPORTED", `graph output '${outName}' is a constant`);
  if (ov.pad) throw new QwmOnnxError("ONNX_UNSUPPORTED", `graph output '${outName}' is a padded value`);
  if (ov.v === inName) {
    throw new QwmOnnxError("ONNX_UNSUPPORTED", `graph output '${outName}' is the input itself (after Identity, Dropout, Cast to float or a final Softmax, which the SDK applies): a model must compute at least one layer`);
  }
  const output: OnnxIo & { chw?: [number, number, number] } = { name: outName, layout: ov.layout, dims: ov.dims };
  if (ov.chw) output.chw = ov.chw;

  const C = graphInputShape[2];
  const preprocess: Preprocess = {
    channelOrder: C === 1 ? "gray" : "rgb", resize: "stretch", cropFraction: 1, valueScale: 1 / 255,
    mean: Array.from({ length: C }, () => 0), std: Array.from({ length: C }, () => 1), ...opts.preprocess,
  };
  let graph: Graph = {
    input: { name: inName, shape: graphInputShape },
    output: ov.v,
    nodes,
    preprocess,
    labels: opts.labels,
    provenance: { source: "onnx", producer: `${model.producerName ?? ""} ${model.producerVersion ?? ""}`.trim(), softmaxDropped: !!(ov as any).softmaxDropped },
  };
  const quant = { act: quantAct, weights: quantW };
  graph = simplify(graph, quant);
  return { graph, quant: quantAct.size > (inQ ? 1 : 0) || quantW.size ? quant : undefined, qonnx: qonnxNodes || undefined, input, output, supportedOps: SUPPORTED_OPS };
}

// ---------------------------------------------------------------------------------------------- helpers

function affineNode(name: string, input: string, output: string, C: number, w: Float32Array, b: Float32Array): Node {
  return {
    op: "conv", name, input, output, weight: w, bias: b, outChannels: C, groups: C, act: "none",
    kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0], dilation: [1, 1],
  };
}

/** Flattens an NCHW value: an IR flatten (NHWC order) remembering the ONNX (c, h, w) order for dense weights. */
function flatten(x: ActVal, nodes: Node[], name: string, newVal: () => string): ActVal {
  const [C, H, W] = x.dims;
  const y = newVal();
  nodes.push({ op: "flatten", name, input: x.v, output: y });
  return { k: "act", v: y, dims: [C * H * W], layout: "nc", chw: H * W > 1 ? [C, H, W] : undefined, q: x.q };
}

/** Per-channel values in ONNX order to the IR's order (a flattened image keeps NHWC order: see flattenPerm). */
function toIrOrder(per: Float32Array, x: ActVal): Float32Array {
  if (!x.chw) return per;
  const perm = flattenPerm(x);
  const out = new Float32Array(per.length);
  for (let k = 0; k < per.length; k++) out[perm[k]] = per[k];
  return out;
}

/** perm[k] = IR (h, w, c) index of ONNX (c, h, w) index k for a flattened value (identity otherwise). */
function flattenPerm(x: ActVal): Int32Array {
  const K = x.dims[0];
  const perm = Int32Array.from({ length: K }, (_, i) => i);
  if (!x.chw) return perm;
  const [C, H, W] = x.chw;
  for (let c = 0; c < C; c++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) perm[(c * H + h) * W + w] = (h * W + w) * C + c;
  return perm;
}

function explicitPads(at: Map<string, any>, size: number[], k: number[], s: number[], d: number[], fail: (c: any, m: string) => never): [number, number, number, number] {
  const auto = at.get("auto_pad") ?? "NOTSET";
  if (auto === "NOTSET") {
    const p = at.get("pads") ?? [0, 0, 0, 0];
    if (p.length !== 4) fail("ONNX_UNSUPPORTED", `pads of length ${p.length}; only 2-D`);
    if (p.some((x: number) => x < 0)) fail("ONNX_UNSUPPORTED", "negative pads");
    return [p[0], p[1], p[2], p[3]];
  }
  if (auto === "VALID") return [0, 0, 0, 0];
  if (auto !== "SAME_UPPER" && auto !== "SAME_LOWER") fail("ONNX_UNSUPPORTED", `auto_pad '${auto}'`);
  const r: number[] = [];
  for (let i = 0; i < 2; i++) {
    const out = Math.ceil(size[i] / s[i]);
    const total = Math.max(0, (out - 1) * s[i] + d[i] * (k[i] - 1) + 1 - size[i]);
    const small = Math.floor(total / 2), big = total - small;
    r.push(auto === "SAME_UPPER" ? small : big, auto === "SAME_UPPER" ? big : small);
  }
  return [r[0], r[2], r[1], r[3]];
}

/** Scale and zero point of a per-tensor (De)QuantizeLinear, as int8 parameters (uint8 shifted by 128). */
function qparamsOf(scale: Const, zp: Const | undefined, fail: (c: any, m: string) => never): QParams {
  if (scale.data.length !== 1) fail("ONNX_UNSUPPORTED", "per-axis quantization of activations is not supported");
  const s = scale.data[0];
  if (!(s > 0) || !Number.isFinite(s)) fail("ONNX_INVALID", `quantization scale ${s} must be positive and finite`);
  const z = zp ? zp.data[0] : 0;
  const u8 = !zp || zp.dtype === DT.UINT8;
  if (zp && zp.dtype !== DT.UINT8 && zp.dtype !== DT.INT8) fail("ONNX_UNSUPPORTED", `zero point of type ${zp.dtype}; supported: int8, uint8`);
  return { scale: Math.fround(s), zeroPoint: u8 ? z - 128 : z };
}

function checkInputQ(x: ActVal, q: QParams, fail: (c: any, m: string) => never) {
  if (x.q && (Math.abs(x.q.scale - q.scale) > 1e-6 * q.scale || x.q.zeroPoint !== q.zeroPoint)) {
    fail("ONNX_UNSUPPORTED", "the input's scale/zero point differs from the quantized value it reads");
  }
}

/** DequantizeLinear of a constant: the float constant, plus its integer values and scales (int8 weights). */
function dequantConst(x: Const, scale: Const, zp: Const | undefined, axis: number, fail: (c: any, m: string) => never): { k: "const"; c: Const; wq?: WQuant } {
  const n = x.data.length;
  const rank = x.dims.length;
  const ax = axis < 0 ? axis + rank : axis;
  const per = scale.data.length;
  const axisLen = per === 1 ? 1 : x.dims[ax];
  if (per !== 1 && per !== axisLen) fail("ONNX_INVALID", `${per} scales for axis ${axis} of [${x.dims}]`);
  const inner = per === 1 ? n : prod(x.dims.slice(ax + 1));
  const ch = (i: number) => (per === 1 ? 0 : Math.floor(i / inner) % axisLen);
  const z = zp ? zp.data : [0];
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = (x.data[i] - z[z.length === 1 ? 0 : ch(i)]) * scale.data[ch(i)];
  const c: Const = { dims: x.dims, dtype: DT.FLOAT, data };
  const symmetric = Array.from(z).every((v) => v === 0) && (x.dtype === DT.INT8);
  return symmetric
    ? { k: "const", c, wq: { q: x.data, scales: Array.from(scale.data), zps: Array.from(z), axis: per === 1 ? -1 : ax } }
    : { k: "const", c };
}

/** Registers a layer's given int8 weights (per output channel along ONNX axis 0 of `dims`, or per tensor). */
function registerWeightQuant(map: Map<string, { q: Int8Array; scales: Float32Array; bits?: number }>, node: string, wq: WQuant, dims: number[],
  toIr: (q: ArrayLike<number>) => Int8Array) {
  const N = dims[0];
  if (wq.axis !== -1 && wq.axis !== 0) return; // not per output channel: requantize from the floats instead
  const q = toIr(Int8Array.from(wq.q, (v) => (v < -127 ? -127 : v))); // qs8 kernels take [-127, 127]
  const scales = Float32Array.from({ length: N }, (_, n) => wq.scales[wq.scales.length === 1 ? 0 : n]);
  map.set(node, wq.bits !== undefined && wq.bits < 8 ? { q, scales, bits: wq.bits, format: "qonnx" } as any : { q, scales });
}

/** A constant operand of an elementwise op on an activation, as one value per channel. */
function perChannelConst(c: Const, x: ActVal, fail: (c: any, m: string) => never): Float32Array {
  const C = x.dims[0];
  // numpy broadcasting: the constant's dims align with the activation's [N, C, H, W] or [N, K] at the end,
  // so one value per channel is [C, 1, 1] / [1, C, 1, 1] for images and [K] / [1, K] for vectors
  const rank = x.layout === "nchw" ? 4 : 2;
  if (c.dims.length <= rank && c.data.length === 1) return Float32Array.from({ length: C }, () => c.data[0]);
  if (c.dims.length <= rank && c.data.length === C) {
    const d = c.dims.filter((v) => v !== 1);
    const channelAxisOk = x.layout === "nc" ? c.dims[c.dims.length - 1] === C : c.dims[c.dims.length - 3] === C;
    if (d.length === 1 && channelAxisOk) return Float32Array.from(c.data);
  }
  return fail("ONNX_UNSUPPORTED", `constant of shape [${c.dims}] against an activation of shape [${x.dims}]; supported: a scalar or one value per channel`);
}

/** Whether IR value v is known to be non-negative (a ReLU-like op, or pooling / reshaping of such values). */
function producedNonNegative(nodes: Node[], v: string): boolean {
  const n = nodes.find((x) => x.output === v);
  if (!n) return false;
  switch (n.op) {
    case "act": return n.kind === "relu" || n.kind === "sigmoid" || n.kind === "hardsigmoid" || (n.kind === "clip" && n.alpha >= 0);
    case "conv": case "dense": case "add": return n.act !== "none";
    case "maxpool": case "avgpool": case "gap": case "flatten": return producedNonNegative(nodes, n.input);
    case "concat": return n.inputs.every((x) => producedNonNegative(nodes, x));
  }
}

/** Evaluates an op whose inputs are all constants (weights, the shape arithmetic of PyTorch exports). */
function foldConst(op: string, ins: (Const | undefined)[], at: Map<string, any>, fail: (c: any, m: string) => never): Const {
  const a = ins[0];
  if (!a) return fail("ONNX_INVALID", "missing input");
  if (!ins[1] && ["Add", "Sub", "Mul", "Div", "Gather", "Reshape", "QuantizeLinear"].includes(op)) fail("ONNX_INVALID", "input 1 is missing");
  const c = foldConstOp(op, ins, at, fail);
  // shape arithmetic on untrusted values: the result's dims must describe its data
  if (!c.dims.every((d) => Number.isSafeInteger(d) && d >= 0) || prod(c.dims) !== c.data.length) {
    fail("ONNX_INVALID", `the constant result has dims [${c.dims}] for ${c.data.length} values`);
  }
  return c;
}

function foldConstOp(op: string, ins: (Const | undefined)[], at: Map<string, any>, fail: (c: any, m: string) => never): Const {
  const a = ins[0]!;
  const f32 = (dims: number[], data: ArrayLike<number>, dtype = a.dtype) => ({ dims, dtype, data: dtype === DT.FLOAT ? Float32Array.from(data) : Array.from(data) });
  switch (op) {
    case "Identity": case "Dropout": return a;
    case "Cast": return f32(a.dims, a.data, at.get("to") === DT.FLOAT ? DT.FLOAT : at.get("to"));
    case "Add": case "Sub": case "Mul": case "Div": {
      const b = ins[1]!;
      const n = Math.max(a.data.length, b.data.length);
      if (a.data.length !== n && a.data.length !== 1 || b.data.length !== n && b.data.length !== 1) fail("ONNX_UNSUPPORTED", "constant broadcasting beyond scalars");
      const g = (t: Const, i: number) => t.data[t.data.length === 1 ? 0 : i];
      const isInt = a.dtype !== DT.FLOAT && a.dtype !== DT.DOUBLE;
      const r = Array.from({ length: n }, (_, i) => {
        const x = g(a, i), y = g(b, i);
        return op === "Add" ? x + y : op === "Sub" ? x - y : op === "Mul" ? x * y : isInt ? Math.trunc(x / y) : x / y;
      });
      return f32(a.data.length >= b.data.length ? a.dims : b.dims, r);
    }
    case "Gather": {
      const idx = ins[1]!;
      const axis = at.get("axis") ?? 0;
      if (a.dims.length !== 1 || axis !== 0) fail("ONNX_UNSUPPORTED", "Gather of constants beyond 1-D");
      if (Array.from(idx.data).some((i) => !Number.isInteger(i) || i < -a.data.length || i >= a.data.length)) fail("ONNX_INVALID", `Gather indices [${Array.from(idx.data)}] outside a ${a.data.length}-element tensor`);
      const r = Array.from(idx.data, (i) => a.data[i < 0 ? i + a.data.length : i]);
      return f32(idx.dims, r);
    }
    case "Unsqueeze": {
      const axes: number[] = at.get("axes") ?? Array.from(ins[1]?.data ?? []);
      const dims = a.dims.slice();
      const rank = dims.length + axes.length;
      for (const ax of axes.map((x) => (x < 0 ? x + rank : x)).sort((p, q) => p - q)) dims.splice(ax, 0, 1);
      return { ...a, dims };
    }
    case "Squeeze": {
      const axes: number[] = at.get("axes") ?? Array.from(ins[1]?.data ?? []);
      const norm = axes.map((x) => (x < 0 ? x + a.dims.length : x));
      return { ...a, dims: a.dims.filter((d, i) => (axes.length ? !norm.includes(i) : d !== 1)) };
    }
    case "Concat": {
      const axis = at.get("axis") ?? 0;
      const xs = ins.filter((x): x is Const => !!x);
      if (xs.some((x) => x.dims.length !== 1) || axis !== 0) fail("ONNX_UNSUPPORTED", "Concat of constants beyond 1-D");
      const r = xs.flatMap((x) => Array.from(x.data));
      return f32([r.length], r);
    }
    case "Reshape": {
      const shape = Array.from(ins[1]!.data);
      const total = a.data.length;
      const known = shape.map((d, i) => (d === 0 ? a.dims[i] : d)).filter((d) => d !== -1).reduce((x, y) => x * y, 1);
      return { ...a, dims: shape.map((d, i) => (d === -1 ? total / known : d === 0 ? a.dims[i] : d)) };
    }
    case "Transpose": {
      const perm: number[] = at.get("perm") ?? a.dims.map((_, i) => a.dims.length - 1 - i);
      if (perm.length !== a.dims.length || [...perm].sort().some((p, i) => p !== i)) fail("ONNX_INVALID", `perm [${perm}] is not a permutation of the ${a.dims.length} axes`);
      const dims = perm.map((p) => a.dims[p]);
      const strides = a.dims.map((_, i) => prod(a.dims.slice(i + 1)));
      const n = a.data.length;
      const r = new Array<number>(n);
      const idx = new Array<number>(dims.length).fill(0);
      for (let o = 0; o < n; o++) {
        let src = 0;
        for (let i = 0; i < dims.length; i++) src += idx[i] * strides[perm[i]];
        r[o] = a.data[src];
        for (let i = dims.length - 1; i >= 0; i--) { if (++idx[i] < dims[i]) break; idx[i] = 0; }
      }
      return f32(dims, r);
    }
    case "Shape": return { dims: [a.dims.length], dtype: DT.INT64, data: a.dims.slice() };
    case "QuantizeLinear": {
      const s = ins[1]!.data[0], z = ins[2]?.data[0] ?? 0;
      const u8 = !ins[2] || ins[2].dtype === DT.UINT8;
      const lo = u8 ? 0 : -128, hi = u8 ? 255 : 127;
      const r = Array.from(a.data, (x) => Math.max(lo, Math.min(hi, roundEven(x / s) + z)));
      return { dims: a.dims, dtype: u8 ? DT.UINT8 : DT.INT8, data: u8 ? Uint8Array.from(r) : Int8Array.from(r) };
    }
    default:
      return fail("ONNX_UNSUPPORTED", `${op} of constants is not supported`);
  }
}

const roundEven = (x: number) => {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

export type { Act };
