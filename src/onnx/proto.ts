// Decoding ONNX protobuf with the maintained onnx-proto definitions (protobufjs), and turning its tensors and
// attributes into plain numbers. The only file that touches the protobuf classes.
import onnxProto from "onnx-proto";
import { QwmOnnxError } from "./types.ts";

const { onnx } = onnxProto as any;

export type OnnxModel = any;
export type OnnxNode = any;

export function decodeModel(bytes: Uint8Array): OnnxModel {
  try {
    return onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new QwmOnnxError("ONNX_DECODE", `not a valid ONNX model: ${(e as Error).message}`);
  }
}

export function decodeTensorProto(bytes: Uint8Array): any {
  try {
    return onnx.TensorProto.decode(bytes);
  } catch (e) {
    throw new QwmOnnxError("ONNX_DECODE", `not a valid ONNX tensor: ${(e as Error).message}`);
  }
}

/** ONNX TensorProto.DataType values the importer reads. */
export const DT = { FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, BOOL: 9, DOUBLE: 11, UINT32: 12, UINT64: 13 } as const;

/** A constant tensor: dims and values (as numbers; int64 as JS numbers). */
export interface Const { dims: number[]; dtype: number; data: ArrayLike<number> }

const num = (x: any): number => (typeof x === "number" ? x : x && typeof x.toNumber === "function" ? x.toNumber() : Number(x));

export function tensorToConst(t: any): Const {
  const dims: number[] = (t.dims ?? []).map(num);
  if (dims.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new QwmOnnxError("ONNX_INVALID", `tensor '${t.name}': dims [${dims}] must be non-negative integers`);
  const n = dims.reduce((a, b) => a * b, 1);
  const dtype: number = t.dataType;
  const raw: Uint8Array | undefined = t.rawData && t.rawData.length ? t.rawData : undefined;
  if (t.dataLocation === 1) throw new QwmOnnxError("ONNX_UNSUPPORTED", `tensor '${t.name}': external data is not supported; save the model with its weights inside`);
  const view = (ctor: any, bpe: number) => {
    if (!raw) return undefined;
    if (raw.length !== n * bpe) throw new QwmOnnxError("ONNX_INVALID", `tensor '${t.name}': raw data has ${raw.length} bytes, expected ${n * bpe}`);
    const copy = new Uint8Array(raw); // a copy at offset 0 (protobuf gives views into a shared buffer)
    return new ctor(copy.buffer, copy.byteOffset, n);
  };
  let data: ArrayLike<number>;
  switch (dtype) {
    case DT.FLOAT: data = view(Float32Array, 4) ?? Float32Array.from(t.floatData ?? []); break;
    case DT.DOUBLE: data = view(Float64Array, 8) ?? Float64Array.from(t.doubleData ?? []); break;
    case DT.UINT8: data = view(Uint8Array, 1) ?? Uint8Array.from(t.int32Data ?? []); break;
    case DT.INT8: data = view(Int8Array, 1) ?? Int8Array.from(t.int32Data ?? []); break;
    case DT.INT16: data = view(Int16Array, 2) ?? Int16Array.from(t.int32Data ?? []); break;
    case DT.UINT16: data = view(Uint16Array, 2) ?? Uint16Array.from(t.int32Data ?? []); break;
    case DT.INT32: data = view(Int32Array, 4) ?? Int32Array.from(t.int32Data ?? []); break;
    case DT.BOOL: data = view(Uint8Array, 1) ?? Uint8Array.from(t.int32Data ?? []); break;
    case DT.INT64: {
      if (raw) {
        if (raw.length !== n * 8) throw new QwmOnnxError("ONNX_INVALID", `tensor '${t.name}': raw data has ${raw.length} bytes, expected ${n * 8}`);
        const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
        data = Array.from({ length: n }, (_, i) => Number(v.getBigInt64(i * 8, true)));
      } else data = (t.int64Data ?? []).map(num);
      break;
    }
    default:
      throw new QwmOnnxError("ONNX_UNSUPPORTED", `tensor '${t.name}': data type ${dtype} is not supported (float, double, int8/16/32/64, uint8/16, bool are)`);
  }
  if (data.length !== n) throw new QwmOnnxError("ONNX_INVALID", `tensor '${t.name}': ${data.length} values for dims [${dims}]`);
  return { dims, dtype, data };
}

// Attributes that mean the same in every op the importer reads, with the ONNX type and the range it may use
// them in (untrusted files: a wrong type or an absurd value is ONNX_INVALID here, not a TypeError later).
const MAX_DIM = 65535;
const INT_ATTRS: Record<string, [number, number]> = {
  group: [1, MAX_DIM], axis: [-8, 8], transA: [0, 1], transB: [0, 1], keepdims: [0, 1], ceil_mode: [0, 1],
  count_include_pad: [0, 1], storage_order: [0, 1], allowzero: [0, 1], spatial: [0, 1], training_mode: [0, 1],
  is_test: [0, 1], broadcast: [0, 1], start: [-8, 8], end: [-8, 8], value_int: [-(2 ** 53), 2 ** 53],
};
const INTS_ATTRS: Record<string, [number, number]> = {
  kernel_shape: [1, MAX_DIM], strides: [1, MAX_DIM], dilations: [1, MAX_DIM], pads: [0, MAX_DIM], paddings: [0, MAX_DIM],
  perm: [-8, 8], axes: [-8, 8], shape: [-1, 2 ** 31], value_ints: [-(2 ** 53), 2 ** 53],
};
const FLOAT_ATTRS = new Set(["alpha", "beta", "epsilon", "momentum", "min", "max", "value_float"]);
const STRING_ATTRS = new Set(["auto_pad", "mode"]);
const TYPE_NAME: Record<number, string> = { 1: "float", 2: "int", 3: "string", 4: "tensor", 5: "graph", 6: "floats", 7: "ints", 8: "strings" };

/** Attributes of a node as plain values: numbers, number arrays, strings, or Const tensors. */
export function attributes(node: OnnxNode): Map<string, any> {
  const m = new Map<string, any>();
  const where = `node '${node.name || "?"}' (${node.opType})`;
  const bad = (name: string, what: string): never => {
    throw new QwmOnnxError("ONNX_INVALID", `${where}: attribute '${name}' ${what}`, node.name || undefined, node.opType);
  };
  const intIn = (name: string, v: number, [lo, hi]: [number, number]) => {
    if (!Number.isSafeInteger(v) || v < lo || v > hi) bad(name, `is ${v}, outside ${lo}..${hi}`);
    return v;
  };
  for (const a of node.attribute ?? []) {
    const name: string = a.name;
    const want = name in INT_ATTRS ? 2 : name in INTS_ATTRS ? 7 : FLOAT_ATTRS.has(name) ? 1 : STRING_ATTRS.has(name) ? 3 : 0;
    // `to` (Cast) is an int, or a type name before opset 6; `value` a tensor (Constant) or a float (Pad-1)
    const ok = !want || a.type === want || (name === "to" && (a.type === 2 || a.type === 3)) || (name === "value" && (a.type === 1 || a.type === 4));
    if (!ok) bad(name, `must be of type ${TYPE_NAME[want]}, not ${TYPE_NAME[a.type] ?? a.type}`);
    switch (a.type) {
      case 1: // FLOAT
        if (Number.isNaN(a.f)) bad(name, "is NaN");
        m.set(name, a.f);
        break;
      case 2: m.set(name, name in INT_ATTRS ? intIn(name, num(a.i), INT_ATTRS[name]) : num(a.i)); break; // INT
      case 3: m.set(name, new TextDecoder().decode(a.s)); break; // STRING
      case 4: // TENSOR
        if (!a.t) bad(name, "has no tensor");
        m.set(name, tensorToConst(a.t));
        break;
      case 6: m.set(name, Array.from(a.floats ?? [])); break; // FLOATS
      case 7: m.set(name, (a.ints ?? []).map((x: any) => (name in INTS_ATTRS ? intIn(name, num(x), INTS_ATTRS[name]) : num(x)))); break; // INTS
      default: m.set(name, { unsupportedType: a.type });
    }
  }
  return m;
}

export const dimsOf = (vi: any): (number | null)[] =>
  (vi?.type?.tensorType?.shape?.dim ?? []).map((d: any) => (d.dimValue != null && num(d.dimValue) > 0 ? num(d.dimValue) : null));
export const elemTypeOf = (vi: any): number => vi?.type?.tensorType?.elemType ?? 0;
