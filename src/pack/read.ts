// Reading a .qwm back for tools (inspect, eval's figures). Call it on files the runtime has validated
// (Runner.create does): the runtime is the one validating reader; this one only describes.
import { DType, OP_HEADER_BYTES, Op, Section, TENSOR_BYTES } from "../../assembly/runtime/schema.ts";
import { sectionTable, type OpDesc, type TensorDesc } from "./qwm.ts";

export interface QwmContents {
  raw: Uint8Array;
  bytes: number;
  version: string;
  sections: { id: number; name: string; offset: number; length: number; required: boolean }[];
  inputTensor: number;
  outputTensor: number;
  arenaBytes: number;
  preprocess: { channelOrder: number; resize: number; cropFraction: number; valueScale: number; mean: number[]; std: number[] };
  tensors: TensorDesc[];
  ops: OpDesc[];
  weightsBytes: number;
  labels?: string[];
  provenance?: Record<string, unknown>;
}

export function readQwm(b: Uint8Array): QwmContents {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const table = sectionTable(b);
  const sec = (id: Section) => table.find((s) => s.id === id);
  const m = sec(Section.Model)!.offset;
  const tensorsAt = sec(Section.Tensors)!.offset, opsAt = sec(Section.Ops)!.offset;
  const tensors: TensorDesc[] = Array.from({ length: v.getUint32(tensorsAt, true) }, (_, i) => {
    const o = tensorsAt + 4 + i * TENSOR_BYTES;
    return {
      dtype: v.getUint8(o) as DType,
      shape: [v.getUint32(o + 4, true), v.getUint32(o + 8, true), v.getUint32(o + 12, true)],
      offset: v.getUint32(o + 16, true), scale: v.getFloat32(o + 24, true), zeroPoint: v.getInt32(o + 28, true),
    };
  });
  const ops: OpDesc[] = [];
  let o = opsAt + 4;
  for (let i = 0, n = v.getUint32(opsAt, true); i < n; i++) {
    const nIn = v.getUint16(o + 4, true), nP = v.getUint16(o + 6, true);
    const wOff = v.getUint32(o + 12, true), scratch = v.getUint16(o + 10, true);
    let p = o + OP_HEADER_BYTES;
    const inputs = Array.from({ length: nIn }, (_, k) => v.getUint16(p + 2 * k, true));
    p += 4 * Math.ceil(nIn / 2);
    ops.push({
      op: v.getUint16(o, true) as Op, inputs, output: v.getUint16(o + 8, true),
      scratch: scratch === 0xffff ? undefined : scratch,
      weights: wOff === 0xffffffff ? undefined : { offset: wOff, bytes: v.getUint32(o + 16, true) },
      params: Array.from({ length: nP }, (_, k) => v.getInt32(p + 4 * k, true)),
    });
    o += v.getUint16(o + 2, true);
  }
  const text = (id: Section) => {
    const s = sec(id);
    return s ? new TextDecoder().decode(b.subarray(s.offset, s.offset + s.length)) : undefined;
  };
  const C = tensors[v.getUint32(m, true)].shape[2];
  const labels = text(Section.Labels);
  const prov = text(Section.Provenance);
  return {
    raw: b,
    bytes: b.length,
    version: `${v.getUint16(4, true)}.${v.getUint16(6, true)}`,
    sections: table.map((s) => ({ id: s.id, name: Section[s.id] ?? `unknown ${s.id}`, offset: s.offset, length: s.length, required: (s.flags & 1) === 1 })),
    inputTensor: v.getUint32(m, true),
    outputTensor: v.getUint32(m + 4, true),
    arenaBytes: v.getUint32(m + 8, true),
    preprocess: {
      channelOrder: v.getUint8(m + 12), resize: v.getUint8(m + 13), cropFraction: v.getFloat32(m + 16, true),
      valueScale: v.getFloat32(m + 20, true),
      mean: Array.from({ length: C }, (_, c) => v.getFloat32(m + 24 + 4 * c, true)),
      std: Array.from({ length: C }, (_, c) => v.getFloat32(m + 40 + 4 * c, true)),
    },
    tensors, ops,
    weightsBytes: sec(Section.Weights)!.length,
    labels: labels ? labels.split("\n") : undefined,
    provenance: prov ? JSON.parse(prov) : undefined,
  };
}

const WINDOWED = new Set([Op.Conv2dQs8, Op.DwConv2dQs8, Op.Conv2dF32, Op.DwConv2dF32, Op.Conv2dQs4, Op.DwConv2dQs4, Op.Conv2dQs2, Op.Conv2dQbw,
  Op.Conv2dQlut, Op.Conv2dQb1, Op.DwConv2dQs2, Op.DwConv2dQbw, Op.DwConv2dQb1, Op.DwConv2dQlut]);
const DEPTHWISE = new Set([Op.DwConv2dQs8, Op.DwConv2dF32, Op.DwConv2dQs4, Op.DwConv2dQs2, Op.DwConv2dQbw, Op.DwConv2dQb1, Op.DwConv2dQlut]);
/** The codebook ops (1.1) and where their params bits, entries, perChannel start. */
const LUT_AT: Partial<Record<number, number>> = { [Op.Conv2dQlut]: 11, [Op.DwConv2dQlut]: 11, [Op.DenseQlut]: 3 };
const XNOR = "binary XNOR (+-1 weights and activations) per-channel alpha";
/** Weight bits and representation of the sub-8-bit ops (1.1). */
const SUB_BITS: Partial<Record<number, [number, string]>> = {
  [Op.Conv2dQs4]: [4, "int4 uniform per-channel"], [Op.DwConv2dQs4]: [4, "int4 uniform per-channel"], [Op.DenseQs4]: [4, "int4 uniform per-channel"],
  [Op.Conv2dQs2]: [2, "2-bit"], [Op.DenseQs2]: [2, "2-bit"],
  [Op.Conv2dQbw]: [1, "binary (BWN) per-channel scale"], [Op.DenseQbw]: [1, "binary (BWN) per-channel scale"],
  [Op.DwConv2dQs2]: [2, "2-bit"], [Op.DwConv2dQbw]: [1, "binary (BWN) per-channel scale"],
  [Op.Conv2dQb1]: [1, XNOR], [Op.DenseQb1]: [1, XNOR], [Op.DwConv2dQb1]: [1, XNOR],
};

export interface LayerInfo {
  index: number;
  op: string;
  input: [number, number, number];
  output: [number, number, number];
  weightBits: number; // 0 for ops without weights
  actBits: number;
  scheme: string;
  weightBytes: number;
  params: number; // float parameters the layer stands for (weights + biases)
  macs: number;
  outScale?: number;
  outZeroPoint?: number;
  /** Per-channel weight scales, min and max (int8 layers: mult / 2^shift * outScale / inScale). */
  weightScaleRange?: [number, number];
}

/**
 * The representation of a codebook layer: "pow2" when its one table is {0, +-2^e} (the quantizer's fixed
 * sign + exponent table, possibly scaled by 2^e), else "k-means" with its tables' count and size.
 */
function lutScheme(q: QwmContents, op: QwmContents["ops"][number]): string {
  const at = LUT_AT[op.op]!;
  const [bits, entries, perCh] = op.params.slice(at, at + 3);
  const y = q.tensors[op.output], x = q.tensors[op.inputs[0]], N = y.shape[2];
  const taps = op.op === Op.DenseQlut ? 1 : op.params[0] * op.params[1], C = op.op === Op.DenseQlut ? x.shape[0] * x.shape[1] * x.shape[2] : x.shape[2];
  // depthwise: T rows of ceil(C*b/8) bytes; GEMM: N rows of K = taps*ceil16(C) indices, padded to 16 bytes
  const idxBytes = op.op === Op.DwConv2dQlut ? taps * Math.ceil((C * bits) / 8) : Math.ceil((N * taps * Math.ceil(C / 16) * 16 * bits) / 8 / 16) * 16;
  const base = q.sections.find((s) => s.id === Section.Weights)!.offset + (op.weights?.offset ?? 0) + idxBytes;
  const table = Array.from(q.raw.subarray(base, base + entries), (b) => (b << 24) >> 24);
  const isPow2 = (v: number) => v === 0 || (Math.abs(v) & (Math.abs(v) - 1)) === 0;
  if (!perCh && entries === 2 ** bits && table.every(isPow2) && table[0] === 0 && table[entries / 2] === 0) return `pow2 sign + exponent, levels 0, +-${Math.min(...table.filter((v) => v > 0))}..${Math.max(...table)} x per-channel scale`;
  return `k-means ${perCh ? `${N} tables` : "1 table"} of ${entries} int8 levels (${perCh ? "per-channel" : "per-layer"})`;
}

/** The representation of a sub-8-bit layer; 2-bit layers are "ternary" when no weight is -2. */
function subScheme(q: QwmContents, op: QwmContents["ops"][number]): string {
  if (LUT_AT[op.op] !== undefined) return lutScheme(q, op);
  const [, name] = SUB_BITS[op.op]!;
  if (name !== "2-bit" || !op.weights) return name;
  const y = q.tensors[op.output], Np = (y.shape[2] + 3) & ~3;
  const base = q.sections.find((s) => s.id === Section.Weights)!.offset + op.weights.offset;
  // GEMM layouts end with 16 bytes per padded channel, depthwise ones with 8 per channel (bias, mult).
  // Depthwise: every crumb in two's complement (-2 is 2); GEMM: crumbs 0..2 hold w + 2 (-2 is 0), crumb 3 two's
  // complement (-2 is 2) (docs/format.md).
  const dw = op.op === Op.DwConv2dQs2;
  const wBytes = op.weights.bytes - (dw ? 8 * y.shape[2] : 16 * Np);
  for (let i = 0; i < wBytes; i++) {
    const b = q.raw[base + i];
    const minus2 = dw ? ((b & 3) === 2 || ((b >> 2) & 3) === 2 || ((b >> 4) & 3) === 2 || (b >> 6) === 2)
      : ((b & 3) === 0 || ((b >> 2) & 3) === 0 || ((b >> 4) & 3) === 0 || (b >> 6) === 2);
    if (minus2) return "2-bit uniform [-2, 1] per-channel";
  }
  return "ternary {-1, 0, 1} per-channel";
}

/** Per-layer description: shapes, bits, packed bytes, parameters, MACs (one image). */
export function layers(q: QwmContents): LayerInfo[] {
  return q.ops.map((op, index) => {
    const x = q.tensors[op.inputs[0]], y = q.tensors[op.output];
    const [oh, ow, oc] = y.shape, [ih, iw, ic] = x.shape;
    const f32 = y.dtype === DType.F32 && x.dtype === DType.F32;
    let params = 0, macs = 0, weightBits = 0;
    let multRange: [number, number] | undefined;
    const wBytes = op.weights?.bytes ?? 0;
    if (WINDOWED.has(op.op)) {
      const [KH, KW] = op.params;
      const dw = DEPTHWISE.has(op.op);
      const per = KH * KW * (dw ? 1 : ic);
      params = oc * per + oc;
      macs = oh * ow * oc * per;
      weightBits = f32 ? 32 : 8;
    } else if (op.op === Op.DenseQs8 || op.op === Op.DenseF32 || op.op === Op.DenseQs4 || op.op === Op.DenseQs2 || op.op === Op.DenseQbw || op.op === Op.DenseQlut || op.op === Op.DenseQb1) {
      const K = ih * iw * ic;
      params = oc * K + oc;
      macs = oc * K;
      weightBits = f32 ? 32 : 8;
    }
    if (SUB_BITS[op.op]) weightBits = SUB_BITS[op.op]![0];
    const lut = LUT_AT[op.op] !== undefined;
    if (lut) weightBits = op.params[LUT_AT[op.op]!];
    let weightScaleRange: [number, number] | undefined;
    if (op.weights && (op.op === Op.Conv2dQs8 || op.op === Op.DenseQs8 || op.op === Op.DwConv2dQs8 || lut)) {
      const dense = op.op === Op.DenseQs8 || op.op === Op.DenseQlut, dw = op.op === Op.DwConv2dQs8;
      const shift = op.params[dense ? 0 : 8];
      const Np = (oc + 3) & ~3;
      const base = q.sections.find((s) => s.id === Section.Weights)!.offset + op.weights.offset;
      // the multipliers follow the int8 weights and the int32 biases (docs/kernels.md); codebook layers end with mult[N]
      const multAt = lut ? base + op.weights.bytes - 4 * oc : dw ? base + op.params[0] * op.params[1] * oc + 4 * oc : base + op.weights.bytes - 12 * Np;
      const dv = new DataView(q.raw.buffer, q.raw.byteOffset, q.raw.byteLength);
      let lo = Infinity, hi = -Infinity;
      for (let c = 0; c < oc; c++) {
        const sw = (dv.getInt32(multAt + 4 * c, true) / 2 ** shift) * y.scale / x.scale;
        lo = Math.min(lo, sw);
        hi = Math.max(hi, sw);
      }
      weightScaleRange = [lo, hi];
    }
    return {
      index, op: Op[op.op] ?? `op ${op.op}`, input: [ih, iw, ic], output: [oh, ow, oc], weightBits,
      // binary layers read 1-bit activations; SignQb1 writes them
      actBits: x.dtype === DType.B1 || y.dtype === DType.B1 ? 1 : y.dtype === DType.F32 ? 32 : 8,
      scheme: SUB_BITS[op.op] || lut ? subScheme(q, op) : op.op === Op.SignQb1 ? `sign: bit = x >= ${op.params[0]}` : weightBits === 8 ? "int8 per-channel symmetric" : weightBits === 32 ? "fp32" : "-",
      weightBytes: wBytes, params, macs,
      outScale: y.dtype === DType.I8 ? y.scale : undefined, outZeroPoint: y.dtype === DType.I8 ? y.zeroPoint : undefined,
      weightScaleRange,
    };
  });
}
