// Writing .qwm files (docs/format.md): a program (tensors, ops, weights, metadata) into deterministic bytes.
import {
  DType, HEADER_BYTES, MODEL_BYTES, NONE16, NONE32, OP_HEADER_BYTES, Op, QWM_MAGIC, QWM_MAJOR, QWM_MINOR,
  SECTION_ENTRY_BYTES, SECTION_FLAG_REQUIRED, Section, TENSOR_BYTES,
} from "../../assembly/runtime/schema.ts";
import { crc32 } from "./crc32.ts";
import { QwmPackError } from "./layout.ts";

export interface TensorDesc {
  dtype: DType;
  shape: [number, number, number];
  offset: number; // arena offset, set by the planner
  scale: number;
  zeroPoint: number;
  name?: string; // not stored
}

export interface OpDesc {
  op: Op;
  inputs: number[];
  output: number;
  scratch?: number;
  weights?: { offset: number; bytes: number };
  params: number[]; // i32 values (f32 params passed as their bit patterns)
}

export interface ModelMeta {
  inputTensor: number;
  outputTensor: number;
  arenaBytes: number;
  channelOrder: number;
  resize: number;
  cropFraction: number;
  valueScale: number;
  mean: number[];
  std: number[];
  pixelA: number[];
  pixelB: number[];
}

export interface Program {
  meta: ModelMeta;
  tensors: TensorDesc[];
  ops: OpDesc[];
  weights: Uint8Array;
  labels?: string[];
  provenance?: Record<string, unknown>;
}

export const elemBytes = (d: DType) => (d === DType.F32 ? 4 : 1);
/** Bytes of a tensor: H * W * C elements; a bit tensor (B1) H * W * ceil(C/8). */
export const tensorBytes = (t: TensorDesc) =>
  t.dtype === DType.B1 ? t.shape[0] * t.shape[1] * Math.ceil(t.shape[2] / 8) : t.shape[0] * t.shape[1] * t.shape[2] * elemBytes(t.dtype);
const align16 = (n: number) => (n + 15) & ~15;

/** The bits of an f32 as an i32 param. */
export function f32Bits(x: number): number {
  const f = new Float32Array([x]);
  return new Int32Array(f.buffer)[0];
}

function modelSection(m: ModelMeta): Uint8Array {
  const b = new Uint8Array(MODEL_BYTES), v = new DataView(b.buffer);
  v.setUint32(0, m.inputTensor, true);
  v.setUint32(4, m.outputTensor, true);
  v.setUint32(8, m.arenaBytes, true);
  v.setUint8(12, m.channelOrder);
  v.setUint8(13, m.resize);
  v.setUint8(14, 0);
  v.setFloat32(16, m.cropFraction, true);
  v.setFloat32(20, m.valueScale, true);
  for (let c = 0; c < 4; c++) {
    v.setFloat32(24 + 4 * c, m.mean[c] ?? 0, true);
    v.setFloat32(40 + 4 * c, m.std[c] ?? 1, true);
    v.setInt32(56 + 4 * c, m.pixelA[c] ?? 0, true);
    v.setInt32(72 + 4 * c, m.pixelB[c] ?? 0, true);
  }
  return b;
}

function tensorSection(ts: TensorDesc[]): Uint8Array {
  const b = new Uint8Array(4 + ts.length * TENSOR_BYTES), v = new DataView(b.buffer);
  v.setUint32(0, ts.length, true);
  ts.forEach((t, i) => {
    const o = 4 + i * TENSOR_BYTES;
    v.setUint8(o, t.dtype);
    v.setUint32(o + 4, t.shape[0], true);
    v.setUint32(o + 8, t.shape[1], true);
    v.setUint32(o + 12, t.shape[2], true);
    v.setUint32(o + 16, t.offset, true);
    v.setUint32(o + 20, tensorBytes(t), true);
    v.setFloat32(o + 24, t.dtype === DType.I8 ? t.scale : 0, true);
    v.setInt32(o + 28, t.dtype === DType.I8 ? t.zeroPoint : 0, true);
  });
  return b;
}

export const opRecordBytes = (nIn: number, nParams: number) => OP_HEADER_BYTES + 4 * Math.ceil(nIn / 2) + 4 * nParams;

function opSection(ops: OpDesc[]): Uint8Array {
  const total = 4 + ops.reduce((a, o) => a + opRecordBytes(o.inputs.length, o.params.length), 0);
  const b = new Uint8Array(total), v = new DataView(b.buffer);
  v.setUint32(0, ops.length, true);
  let o = 4;
  for (const op of ops) {
    const len = opRecordBytes(op.inputs.length, op.params.length);
    v.setUint16(o, op.op, true);
    v.setUint16(o + 2, len, true);
    v.setUint16(o + 4, op.inputs.length, true);
    v.setUint16(o + 6, op.params.length, true);
    v.setUint16(o + 8, op.output, true);
    v.setUint16(o + 10, op.scratch ?? NONE16, true);
    v.setUint32(o + 12, op.weights ? op.weights.offset : NONE32, true);
    v.setUint32(o + 16, op.weights ? op.weights.bytes : 0, true);
    let p = o + OP_HEADER_BYTES;
    for (const id of op.inputs) { v.setUint16(p, id, true); p += 2; }
    if (op.inputs.length & 1) { v.setUint16(p, NONE16, true); p += 2; }
    for (const x of op.params) { v.setInt32(p, x, true); p += 4; }
    o += len;
  }
  return b;
}

const utf8 = (s: string) => new TextEncoder().encode(s);

/** JSON with sorted keys, so the same object always gives the same bytes. */
export function stableJson(x: unknown): string {
  return JSON.stringify(x, (_k, v) => (v && typeof v === "object" && !Array.isArray(v)
    ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]])) : v));
}

/** Serializes a program; the same program always gives the same bytes. */
export function writeQwm(p: Program): Uint8Array {
  if (p.tensors.length === 0 || p.tensors.length > 65535) throw new QwmPackError(`tensor count ${p.tensors.length} outside 1..65535`);
  if (p.ops.length === 0 || p.ops.length > 65535) throw new QwmPackError(`op count ${p.ops.length} outside 1..65535`);
  p.tensors.forEach((t, i) => {
    if (!t.shape.every((d) => Number.isInteger(d) && d >= 1 && d <= 65535)) throw new QwmPackError(`tensor ${i}${t.name ? ` ('${t.name}')` : ""}: shape ${t.shape.join("x")} outside the format's 1..65535 per dim`);
  });
  if (!(p.meta.arenaBytes >= 0 && p.meta.arenaBytes <= 0x7fff0000)) throw new QwmPackError(`arena of ${p.meta.arenaBytes} bytes is over the format's ${0x7fff0000}`);
  const sections: { id: Section; required: boolean; data: Uint8Array }[] = [
    { id: Section.Model, required: true, data: modelSection(p.meta) },
    { id: Section.Tensors, required: true, data: tensorSection(p.tensors) },
    { id: Section.Ops, required: true, data: opSection(p.ops) },
    { id: Section.Weights, required: true, data: p.weights },
  ];
  if (p.labels?.length) sections.push({ id: Section.Labels, required: false, data: utf8(p.labels.join("\n")) });
  if (p.provenance) sections.push({ id: Section.Provenance, required: false, data: utf8(stableJson(p.provenance)) });

  const tableEnd = HEADER_BYTES + SECTION_ENTRY_BYTES * sections.length;
  let at = align16(tableEnd);
  const placed = sections.map((s) => { const off = at; at = align16(off + s.data.length); return off; });
  const total = placed.length ? placed[placed.length - 1] + sections[sections.length - 1].data.length : tableEnd;
  const out = new Uint8Array(total), v = new DataView(out.buffer);
  v.setUint32(0, QWM_MAGIC, true);
  v.setUint16(4, QWM_MAJOR, true);
  v.setUint16(6, QWM_MINOR, true);
  v.setUint32(8, total, true);
  v.setUint32(12, sections.length, true);
  sections.forEach((s, i) => {
    const e = HEADER_BYTES + i * SECTION_ENTRY_BYTES;
    out.set(s.data, placed[i]);
    v.setUint16(e, s.id, true);
    v.setUint16(e + 2, s.required ? SECTION_FLAG_REQUIRED : 0, true);
    v.setUint32(e + 4, placed[i], true);
    v.setUint32(e + 8, s.data.length, true);
    v.setUint32(e + 12, crc32(s.data), true);
  });
  v.setUint32(16, crc32(out, HEADER_BYTES, tableEnd), true);
  return out;
}

/** Section table of a .qwm (for tests and tools; the runtime has its own validating reader). */
export function sectionTable(bytes: Uint8Array): { id: number; flags: number; offset: number; length: number; crc: number; entry: number }[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = v.getUint32(12, true);
  return Array.from({ length: n }, (_, i) => {
    const e = HEADER_BYTES + i * SECTION_ENTRY_BYTES;
    return { id: v.getUint16(e, true), flags: v.getUint16(e + 2, true), offset: v.getUint32(e + 4, true),
      length: v.getUint32(e + 8, true), crc: v.getUint32(e + 12, true), entry: e };
  });
}

/** Recomputes every section CRC and the table CRC in place (for corruption tests and repairs). */
export function refreshCrcs(bytes: Uint8Array): Uint8Array {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const s of sectionTable(bytes)) {
    if (s.offset + s.length <= bytes.length) v.setUint32(s.entry + 12, crc32(bytes, s.offset, s.offset + s.length), true);
  }
  const n = v.getUint32(12, true);
  const end = Math.min(bytes.length, HEADER_BYTES + n * SECTION_ENTRY_BYTES);
  v.setUint32(16, crc32(bytes, HEADER_BYTES, end), true);
  return bytes;
}
