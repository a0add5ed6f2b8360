// Fuzz target: the .qwm validator inside the wasm module (assembly/runtime), on the SIMD and no-SIMD builds.
//
// Structure-aware: every case starts from a valid seed model (the runtime test programs, the bundled
// Fashion-MNIST model quantized and in float) and applies one to three mutations to real fields: counts, dims,
// offsets, op codes, dtypes and shifts (bit widths), NaN / Inf scales, dataflow (cycles, dangling and
// out-of-range references, outputs written twice), the op list's order, packed weight values, the section
// table, sizes, text sections, raw bytes. Then the CRCs are recomputed (19 cases in 20) so that the deeper
// checks are reached. Each file is loaded on both builds, with these checks:
//  - no trap (a WebAssembly.RuntimeError) and no other exception;
//  - a rejection is a typed status: a known ErrorKind, section and field, the same on both builds, and the SDK
//    turns it into a QwmError subclass;
//  - memory: a guard block before and after the model, the model bytes themselves and every other byte of
//    linear memory are unchanged by a load, except the validator's transient workspace (12 bytes per tensor
//    above the heap top) and its section cache; memory grows no more than that workspace (and, when accepted,
//    the arena);
//  - an accepted file runs on both builds with random and extreme inputs: same output bytes on both, and
//    nothing outside the arena and the output buffer changes; the SDK loads it too.
import { DType, ErrorKind, Field, HEADER_BYTES, MODEL_BYTES, Op, OP_HEADER_BYTES, Section, SECTION_ENTRY_BYTES, TENSOR_BYTES } from "../../assembly/runtime/schema.ts";
import { readFileSync } from "node:fs";
import { crc32 } from "../../src/pack/crc32.ts";
import { refreshCrcs, sectionTable, writeQwm, type Program } from "../../src/pack/qwm.ts";
import { readQwm } from "../../src/pack/read.ts";
import { KernelHost } from "../../src/wasm/kernels.ts";
import { readBuild, type BuildName } from "../../src/wasm/module.ts";
import { errorFromStatus, QwmError, QwmFormatError, sectionName } from "../../sdk/core/errors.ts";
import { loadModel as sdkLoadModel } from "../../sdk/core/model.ts";
import { f32Program, qs8Program } from "../helpers/runtime_programs.ts";
import { bump, CaseFailure, caseRng, type Outcome, type Rng, type Target, type TargetReport } from "./core.ts";

const f32b = new Float32Array(1), u32b = new Uint32Array(f32b.buffer);
const bitsOf = (x: number) => { f32b[0] = x; return u32b[0]; };
const ceil4 = (n: number) => (n + 3) & ~3;

/** Most bytes a fuzzed model may hold (qwm_load's memLimit): keeps the memory guard's snapshots small. */
export const MEM_LIMIT = 4 << 20;
/** Accepted models are run when their work (multiply-adds and element moves, one image) is below this. */
const RUN_COST_MAX = 2e7;

// ---------------------------------------------------------------------------------------------- seed layout

type FType = "u8" | "u16" | "u32" | "i32" | "f32";
interface QField { at: number; type: FType; role: string }
interface OpRec { at: number; code: number; nIn: number; nPar: number; params: number; out: number; wOff: number; wBytes: number; inputs: number[] }
interface Seed {
  name: string;
  bytes: Uint8Array;
  fields: QField[];
  byRole: Map<string, QField[]>;
  model: number;
  tensorsAt: number;
  tensorCount: number;
  ops: OpRec[];
  weightsAt: number;
  weightsLen: number;
  table: ReturnType<typeof sectionTable>;
  program: Program;
  inputId: number;
  outputId: number;
}

function layoutOf(name: string, bytes: Uint8Array): Seed {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const table = sectionTable(bytes);
  const sec = (id: number) => table.find((s) => s.id === id)!;
  const fields: QField[] = [];
  const f = (at: number, type: FType, role: string) => fields.push({ at, type, role });
  f(0, "u32", "header.magic"); f(4, "u16", "header.major"); f(6, "u16", "header.minor");
  f(8, "u32", "header.length"); f(12, "u32", "count.sections"); f(16, "u32", "header.tablecrc");
  for (let i = 20; i < 32; i += 4) f(i, "u32", "header.reserved");
  for (const s of table) {
    f(s.entry, "u16", "table.id"); f(s.entry + 2, "u16", "table.flags"); f(s.entry + 4, "u32", "offset.section");
    f(s.entry + 8, "u32", "offset.sectionlength"); f(s.entry + 12, "u32", "table.crc");
  }
  const m = sec(Section.Model).offset;
  f(m, "u32", "graph.modelinput"); f(m + 4, "u32", "graph.modeloutput"); f(m + 8, "u32", "count.arena");
  f(m + 12, "u8", "model.order"); f(m + 13, "u8", "model.resize"); f(m + 14, "u8", "model.layout"); f(m + 15, "u8", "model.reserved");
  f(m + 16, "f32", "float.crop"); f(m + 20, "f32", "float.valuescale");
  for (let c = 0; c < 4; c++) {
    f(m + 24 + 4 * c, "f32", "float.mean"); f(m + 40 + 4 * c, "f32", "float.std");
    f(m + 56 + 4 * c, "i32", "model.pixelA"); f(m + 72 + 4 * c, "i32", "model.pixelB");
  }
  f(m + 88, "u32", "model.reserved");
  const t0 = sec(Section.Tensors).offset;
  const nT = v.getUint32(t0, true);
  f(t0, "u32", "count.tensors");
  for (let k = 0; k < nT; k++) {
    const r = t0 + 4 + TENSOR_BYTES * k;
    f(r, "u8", "bits.dtype"); f(r + 1, "u8", "tensor.reserved");
    f(r + 4, "u32", "dims.H"); f(r + 8, "u32", "dims.W"); f(r + 12, "u32", "dims.C");
    f(r + 16, "u32", "offset.arena"); f(r + 20, "u32", "dims.bytes");
    f(r + 24, "f32", "float.scale"); f(r + 28, "i32", "tensor.zeropoint");
  }
  const o0 = sec(Section.Ops).offset;
  f(o0, "u32", "count.ops");
  const ops: OpRec[] = [];
  let r = o0 + 4;
  for (let k = 0, n = v.getUint32(o0, true); k < n; k++) {
    const code = v.getUint16(r, true), nIn = v.getUint16(r + 4, true), nPar = v.getUint16(r + 6, true);
    const params = r + OP_HEADER_BYTES + 4 * Math.ceil(nIn / 2);
    const inputs = Array.from({ length: nIn }, (_, i) => v.getUint16(r + OP_HEADER_BYTES + 2 * i, true));
    ops.push({ at: r, code, nIn, nPar, params, out: v.getUint16(r + 8, true), wOff: v.getUint32(r + 12, true), wBytes: v.getUint32(r + 16, true), inputs });
    f(r, "u16", "opcode.code"); f(r + 2, "u16", "count.recordbytes"); f(r + 4, "u16", "count.inputs"); f(r + 6, "u16", "count.params");
    f(r + 8, "u16", "graph.output"); f(r + 10, "u16", "graph.scratch"); f(r + 12, "u32", "offset.weights"); f(r + 16, "u32", "count.weightsbytes");
    for (let i = 0; i < nIn; i++) f(r + OP_HEADER_BYTES + 2 * i, "u16", "graph.input");
    for (let i = 0; i < nPar; i++) {
      const fl = isFloatParam(code, i);
      f(params + 4 * i, fl ? "f32" : "i32", fl ? "float.param" : isShiftParam(code, i) ? "bits.shift" : "param.int");
    }
    r += v.getUint16(r + 2, true);
  }
  const byRole = new Map<string, QField[]>();
  for (const q of fields) {
    const g = q.role.split(".")[0];
    for (const k of [q.role, g]) { if (!byRole.has(k)) byRole.set(k, []); byRole.get(k)!.push(q); }
  }
  return {
    name, bytes, fields, byRole, model: m, tensorsAt: t0, tensorCount: nT, ops, table,
    weightsAt: sec(Section.Weights).offset, weightsLen: sec(Section.Weights).length,
    program: toProgram(bytes), inputId: v.getUint32(m, true), outputId: v.getUint32(m + 4, true),
  };
}

const F32_PARAMS: Partial<Record<number, number[]>> = {
  [Op.Conv2dF32]: [8, 9], [Op.DwConv2dF32]: [8, 9], [Op.DenseF32]: [0, 1], [Op.AddF32]: [0, 1], [Op.ActF32]: [1, 2],
};
const isFloatParam = (code: number, i: number) => !!F32_PARAMS[code]?.includes(i);
const SHIFT_PARAM: Partial<Record<number, number>> = { [Op.Conv2dQs8]: 8, [Op.DwConv2dQs8]: 8, [Op.DenseQs8]: 0, [Op.GlobalAvgPoolQs8]: 1, [Op.AddQs8]: 2 };
const isShiftParam = (code: number, i: number) => SHIFT_PARAM[code] === i;

/** A validated .qwm as a Program, for the op-list mutations that re-serialize (writeQwm: fresh CRCs). */
function toProgram(bytes: Uint8Array): Program {
  const c = readQwm(bytes);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const m = c.sections.find((s) => s.id === Section.Model)!.offset;
  const w = c.sections.find((s) => s.id === Section.Weights)!;
  return {
    meta: {
      inputTensor: c.inputTensor, outputTensor: c.outputTensor, arenaBytes: c.arenaBytes,
      channelOrder: c.preprocess.channelOrder, resize: c.preprocess.resize, cropFraction: c.preprocess.cropFraction,
      valueScale: c.preprocess.valueScale, mean: c.preprocess.mean, std: c.preprocess.std,
      pixelA: [0, 1, 2, 3].map((i) => v.getInt32(m + 56 + 4 * i, true)),
      pixelB: [0, 1, 2, 3].map((i) => v.getInt32(m + 72 + 4 * i, true)),
    },
    tensors: c.tensors, ops: c.ops, weights: bytes.slice(w.offset, w.offset + w.length),
    labels: c.labels, provenance: c.provenance,
  };
}

const cloneProgram = (p: Program): Program => ({
  ...p, meta: { ...p.meta },
  tensors: p.tensors.map((t) => ({ ...t, shape: [...t.shape] as [number, number, number] })),
  ops: p.ops.map((o) => ({ ...o, inputs: [...o.inputs], params: [...o.params], weights: o.weights && { ...o.weights } })),
});

// ---------------------------------------------------------------------------------------------- mutations

interface Ctx { b: Uint8Array; v: DataView; s: Seed; r: Rng; crc: "all" | "none" | "table" }

function interesting(r: Rng, type: FType, x: number, s: Seed): number {
  const len = s.bytes.length;
  switch (type) {
    case "u8": return r.pick([0, 1, 2, 3, 4, 0x7f, 0x80, 0xfe, 0xff, (x + 1) & 0xff, (x - 1) & 0xff, r.int(0, 255)]);
    case "u16": return r.pick([0, 1, 2, 0x7fff, 0x8000, 0xfffe, 0xffff, (x + 1) & 0xffff, (x - 1) & 0xffff,
      s.tensorCount, s.tensorCount - 1, r.int(0, s.tensorCount - 1), r.int(0, 0xffff)]);
    case "u32": return r.pick([0, 1, 4, 15, 16, 17, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffff0, (x + 1) >>> 0, (x - 1) >>> 0,
      (x + 16) >>> 0, (x - 16) >>> 0, (x * 2) >>> 0, x >>> 1, 65535, 65536, 1 << 24, 0x7fff0000, len, len - 16, r.int(0, 0xffffffff)]);
    case "i32": return r.pick([0, 1, -1, 0x7fffffff, -0x80000000, x + 1, x - 1, -x, 23, 24, 30, 31, 32, 61, 62, 63, 64,
      255, 256, -128, 127, 128, -129, r.int(-0x80000000, 0x7fffffff)]) >>> 0;
    case "f32": {
      const f = new DataView(new Uint32Array([x]).buffer).getFloat32(0, true);
      return r.pick([0x7fc00000, 0xffc00000, 0x7f800001, bitsOf(Infinity), bitsOf(-Infinity), 0, 0x80000000, 1, 0x807fffff,
        0x7f7fffff, bitsOf(-1), bitsOf(f * 2), bitsOf(f / 2), bitsOf(1e-30), bitsOf(1e30), bitsOf(-f), (x + 1) >>> 0, (x - 1) >>> 0]);
    }
  }
}

function readF(v: DataView, q: QField): number {
  switch (q.type) {
    case "u8": return v.getUint8(q.at);
    case "u16": return v.getUint16(q.at, true);
    default: return v.getUint32(q.at, true);
  }
}
function writeF(v: DataView, q: QField, x: number): void {
  if (q.at + (q.type === "u8" ? 1 : q.type === "u16" ? 2 : 4) > v.byteLength) return;
  if (q.type === "u8") v.setUint8(q.at, x & 0xff);
  else if (q.type === "u16") v.setUint16(q.at, x & 0xffff, true);
  else v.setUint32(q.at, x >>> 0, true);
}

function mutateRole(c: Ctx, role: string): void {
  const list = c.s.byRole.get(role);
  if (!list?.length) return;
  const q = c.r.pick(list);
  writeF(c.v, q, interesting(c.r, q.type, readF(c.v, q), c.s));
}

const tensorRec = (s: Seed, id: number) => s.tensorsAt + 4 + TENSOR_BYTES * id;

/** Sets tensor dims; when `consistent`, recomputes its bytes field so the mutation gets past the bytes check. */
function setDims(c: Ctx, id: number, dims: number[], consistent: boolean): void {
  const r = tensorRec(c.s, id);
  dims.forEach((d, i) => c.v.setUint32(r + 4 + 4 * i, d >>> 0, true));
  if (consistent) {
    const eb = c.v.getUint8(r) === DType.F32 ? 4 : 1;
    c.v.setUint32(r + 20, Math.min(0xffffffff, dims[0] * dims[1] * dims[2] * eb) >>> 0, true);
  }
}

const DIM_VALUES = [0, 1, 2, 3, 4, 7, 8, 255, 256, 4096, 65535, 65536, 0x7fffffff, 0xffffffff];

/** Packed-weight regions of a qs8 op (see validate.ts): int8 weights, then int32 arrays per output channel. */
function qs8Regions(s: Seed, v: DataView, op: OpRec): { w: [number, number]; arrays: [string, number, number][] } | null {
  const base = s.weightsAt + op.wOff;
  const N = v.getUint32(tensorRec(s, op.out) + 12, true);
  if (op.code === Op.Conv2dQs8 || op.code === Op.DenseQs8) {
    const Np = ceil4(N), tail = base + op.wBytes - 16 * Np;
    return { w: [base, op.wBytes - 16 * Np], arrays: [["bias", tail, Np], ["mult", tail + 4 * Np, Np], ["sumw", tail + 8 * Np, Np], ["sumwn", tail + 12 * Np, Np]] };
  }
  if (op.code === Op.DwConv2dQs8) {
    const wl = op.wBytes - 8 * N;
    return { w: [base, wl], arrays: [["bias", base + wl, N], ["mult", base + wl + 4 * N, N]] };
  }
  return null;
}

type Mutator = (c: Ctx) => Uint8Array | void;

const MUTATORS: Record<string, Mutator> = {
  // a random field of the file, any role, to an interesting value
  field: (c) => { const q = c.r.pick(c.s.fields); writeF(c.v, q, interesting(c.r, q.type, readF(c.v, q), c.s)); },
  counts: (c) => mutateRole(c, "count"),
  dims: (c) => {
    const id = c.r.int(0, c.s.tensorCount - 1);
    const r = tensorRec(c.s, id);
    const dims = [0, 1, 2].map((i) => c.v.getUint32(r + 4 + 4 * i, true));
    const k = c.r.int(0, 2);
    dims[k] = c.r.next() < 0.5 ? c.r.pick(DIM_VALUES) : Math.max(0, dims[k] + c.r.int(-2, 2));
    if (c.r.next() < 0.3) dims[(k + 1) % 3] = c.r.pick(DIM_VALUES);
    setDims(c, id, dims, c.r.next() < 0.8);
  },
  offsets: (c) => {
    const pick = c.r.int(0, 3);
    if (pick === 0) mutateRole(c, "offset");
    else if (pick === 1) {
      // a tensor moved to another tensor's place, or to the end of the arena (16-aligned, past or at it)
      const a = c.r.int(0, c.s.tensorCount - 1), b = c.r.int(0, c.s.tensorCount - 1);
      const arena = c.v.getUint32(c.s.model + 8, true);
      const to = c.r.next() < 0.6 ? c.v.getUint32(tensorRec(c.s, b) + 16, true) : (arena - c.r.int(0, 4) * 16) >>> 0;
      c.v.setUint32(tensorRec(c.s, a) + 16, to, true);
    } else if (pick === 2) {
      // an op's weights pointed at another op's weights (aligned, in range: only the values check can tell)
      const w = c.s.ops.filter((o) => o.wOff !== 0xffffffff);
      if (w.length) c.v.setUint32(c.r.pick(w).at + 12, c.r.pick(w).wOff, true);
    } else {
      // the arena shrunk to just below some tensor's end
      const id = c.r.int(0, c.s.tensorCount - 1);
      const end = c.v.getUint32(tensorRec(c.s, id) + 16, true) + c.v.getUint32(tensorRec(c.s, id) + 20, true);
      c.v.setUint32(c.s.model + 8, Math.max(0, end - c.r.int(1, 16)), true);
    }
  },
  opcode: (c) => {
    const op = c.r.pick(c.s.ops);
    const codes = Object.values(Op).filter((x): x is number => typeof x === "number");
    c.v.setUint16(op.at, c.r.next() < 0.75 ? c.r.pick(codes) : c.r.pick([0, 13, 14, 15, 24, 25, 255, 0xffff, c.r.int(0, 0xffff)]), true);
  },
  bits: (c) => {
    const k = c.r.int(0, 3);
    if (k === 0) {
      // dtype i8 / f32 / u8 / unknown, bytes kept consistent or not
      const id = c.r.int(0, c.s.tensorCount - 1), r = tensorRec(c.s, id);
      const dt = c.r.pick([0, 1, 2, 3, 4, 255]);
      c.v.setUint8(r, dt);
      if (c.r.next() < 0.7) setDims(c, id, [0, 1, 2].map((i) => c.v.getUint32(r + 4 + 4 * i, true)), true);
      if (dt === DType.I8 && c.r.next() < 0.7) c.v.setFloat32(r + 24, 0.05, true);
      if (dt !== DType.I8 && c.r.next() < 0.7) { c.v.setUint32(r + 24, 0, true); c.v.setInt32(r + 28, 0, true); }
    } else if (k === 1) {
      // requantization shifts (the fixed-point "bit width" of the multipliers)
      const list = c.s.byRole.get("bits.shift");
      if (list?.length) c.v.setInt32(c.r.pick(list).at, c.r.pick([0, 1, 15, 16, 23, 24, 30, 31, 32, 47, 61, 62, 63, 64, -1, 0x7fffffff]), true);
    } else if (k === 2) {
      // the clamp bounds lo / hi of an int8 op
      const op = c.r.pick(c.s.ops.filter((o) => o.code in SHIFT_PARAM && o.code !== Op.GlobalAvgPoolQs8) as OpRec[]);
      if (op) {
        const at = op.params + 4 * (SHIFT_PARAM[op.code]! + 1 + c.r.int(0, 1));
        c.v.setInt32(at, c.r.pick([-129, -128, -127, 0, 126, 127, 128, -0x80000000, 0x7fffffff]), true);
      }
    } else mutateRole(c, "tensor"); // zero points
  },
  floats: (c) => mutateRole(c, "float"),
  graph: (c) => {
    const s = c.s, ops = s.ops, r = c.r;
    const k = r.int(0, ops.length - 1), op = ops[k];
    switch (r.int(0, 7)) {
      case 0: { // an input read before it is written: a later op's output (a cycle when that op depends on this one)
        if (!op.nIn || k === ops.length - 1) return;
        c.v.setUint16(op.at + OP_HEADER_BYTES + 2 * r.int(0, op.nIn - 1), ops[r.int(k + 1, ops.length - 1)].out, true);
        return;
      }
      case 1: { // dangling: past the tensor table, or a tensor no op writes
        if (!op.nIn) return;
        const written = new Set([s.inputId, ...ops.map((o) => o.out)]);
        const unwritten = Array.from({ length: s.tensorCount }, (_, i) => i).filter((i) => !written.has(i));
        const id = r.next() < 0.5 || !unwritten.length ? s.tensorCount + r.int(0, 3) : r.pick(unwritten);
        c.v.setUint16(op.at + OP_HEADER_BYTES + 2 * r.int(0, op.nIn - 1), id, true);
        return;
      }
      case 2: // its own output as an input: a one-op cycle
        if (op.nIn) c.v.setUint16(op.at + OP_HEADER_BYTES + 2 * r.int(0, op.nIn - 1), op.out, true);
        return;
      case 3: // output written twice, or the model input overwritten
        c.v.setUint16(op.at + 8, r.next() < 0.5 && k > 0 ? ops[r.int(0, k - 1)].out : s.inputId, true);
        return;
      case 4: // scratch: another tensor (an input, the output, another op's scratch) or removed
        c.v.setUint16(op.at + 10, r.pick([op.out, ...op.inputs, 0xffff, ...ops.map((o) => c.v.getUint16(o.at + 10, true))]), true);
        return;
      case 5: // the model output: a tensor nobody writes, the input, a scratch
        c.v.setUint32(s.model + 4, r.int(0, s.tensorCount - 1), true);
        return;
      case 6: // the model input: an op's output (a cycle through the input)
        c.v.setUint32(s.model, r.pick(ops).out, true);
        return;
      default: { // two ops exchange their outputs
        const j = r.int(0, ops.length - 1);
        c.v.setUint16(op.at + 8, ops[j].out, true);
        c.v.setUint16(ops[j].at + 8, op.out, true);
      }
    }
  },
  oplist: (c) => {
    // re-serialized: reordered, duplicated, deleted, cyclic op lists with consistent structure and fresh CRCs
    const p = cloneProgram(c.s.program), r = c.r, n = p.ops.length;
    const a = r.int(0, n - 1), b = r.int(0, n - 1);
    switch (r.int(0, 5)) {
      case 0: [p.ops[a], p.ops[b]] = [p.ops[b], p.ops[a]]; break;
      case 1: p.ops.reverse(); break;
      case 2: p.ops.splice(b, 0, { ...p.ops[a], inputs: [...p.ops[a].inputs], params: [...p.ops[a].params] }); break;
      case 3: if (n > 1) p.ops.splice(a, 1); break;
      case 4: { // a cycle: an earlier op reads a later op's output, which depends on it
        const lo = Math.min(a, b), hi = Math.max(a, b);
        if (lo !== hi && p.ops[lo].inputs.length) p.ops[lo].inputs[0] = p.ops[hi].output;
        break;
      }
      default: p.ops.push(p.ops.shift()!);
    }
    if (r.next() < 0.3) for (const t of p.tensors) t.offset = 0; // and the arena plan ignores liveness
    try {
      return writeQwm(p);
    } catch {
      return; // the writer refuses it (counts): the byte-level mutations cover those
    }
  },
  weights: (c) => {
    const s = c.s, r = c.r;
    const withW = s.ops.filter((o) => o.wOff !== 0xffffffff && o.wOff + o.wBytes <= s.weightsLen);
    if (!withW.length) return;
    const op = r.pick(withW);
    const reg = qs8Regions(s, c.v, op);
    const k = r.int(0, 4);
    if (!reg || k === 0) {
      // raw bytes of the op's weights
      for (let j = r.int(1, 8); j > 0 && op.wBytes; j--) c.b[s.weightsAt + op.wOff + r.int(0, op.wBytes - 1)] = r.int(0, 255);
      return;
    }
    if (k === 1) {
      // extreme int8 weights: all -128 (outside the qs8 range), or +-127 / -128 at random
      const all = r.next() < 0.5;
      for (let i = 0; i < reg.w[1] && reg.w[0] + i < c.b.length; i++) c.b[reg.w[0] + i] = all ? 0x80 : r.pick([0x80, 0x81, 0x7f]);
      return;
    }
    const [name, at, len] = r.pick(reg.arrays);
    const i = r.int(0, Math.max(0, len - 1));
    if (at + 4 * i + 4 > c.b.length || at < 0) return; // an earlier mutation changed the layer's shape
    const x = k === 2 ? r.pick([0x7fffffff, -0x80000000, -1, 0x40000000, -0x40000000]) : c.v.getInt32(at + 4 * i, true) + r.pick([-1, 1, 1000, -1000]);
    c.v.setInt32(at + 4 * i, name === "mult" && k === 3 ? -1 : x, true);
  },
  table: (c) => {
    const t = c.s.table, r = c.r;
    const e = r.pick(t), e2 = r.pick(t);
    switch (r.int(0, 4)) {
      case 0: { // two entries exchange places
        const a = c.b.slice(e.entry, e.entry + 16);
        c.b.copyWithin(e.entry, e2.entry, e2.entry + 16);
        c.b.set(a, e2.entry);
        return;
      }
      case 1: c.v.setUint16(e.entry, e2.id, true); return; // a duplicate id
      case 2: c.v.setUint16(e.entry, r.pick([0, 7, 8, 99, 0xffff]), true); c.v.setUint16(e.entry + 2, r.int(0, 1), true); return; // unknown id
      case 3: c.v.setUint16(e.entry + 2, r.pick([0, 1, 2, 3, 0x8000, 0xffff]), true); return; // flags
      default: c.v.setUint32(e.entry + 8, (c.v.getUint32(e.entry + 8, true) + r.pick([-16, -1, 1, 16, 4096])) >>> 0, true); // length
    }
  },
  size: (c) => {
    const r = c.r, b = c.b;
    let out: Uint8Array;
    switch (r.int(0, 2)) {
      case 0: out = b.slice(0, r.int(0, b.length - 1)); break;
      case 1: { out = new Uint8Array(b.length + r.pick([1, 15, 16, 64, 4096])); out.set(b); for (let i = b.length; i < out.length; i++) out[i] = r.int(0, 255); break; }
      default: { const at = r.int(0, b.length), n = r.pick([1, 4, 16]); out = new Uint8Array(b.length + n); out.set(b.subarray(0, at)); out.set(b.subarray(at), at + n); }
    }
    if (out.length >= 12 && r.next() < 0.7) new DataView(out.buffer).setUint32(8, out.length, true);
    return out;
  },
  text: (c) => {
    const s = c.s.table.find((e) => e.id === (c.r.next() < 0.5 ? Section.Labels : Section.Provenance));
    if (!s || !s.length) return;
    const at = s.offset + c.r.int(0, s.length - 1);
    c.b[at] = c.r.pick([0xff, 0xc0, 0x80, 0xed, 0x5b, 0x00, 0x22]);
  },
  havoc: (c) => { for (let j = c.r.int(1, 8); j > 0; j--) c.b[c.r.int(0, c.b.length - 1)] = c.r.int(0, 255); },
};

const NAMES = Object.keys(MUTATORS);
// Structure-aware strategies are picked more often than raw ones.
const WEIGHTS: Record<string, number> = { field: 3, counts: 2, dims: 3, offsets: 3, opcode: 2, bits: 3, floats: 3, graph: 4, oplist: 3, weights: 3, table: 2, size: 1, text: 1, havoc: 1 };
const TOTAL_W = NAMES.reduce((a, n) => a + WEIGHTS[n], 0);
function pickMutator(r: Rng): string {
  let x = r.next() * TOTAL_W;
  for (const n of NAMES) if ((x -= WEIGHTS[n]) < 0) return n;
  return NAMES[NAMES.length - 1];
}

/** Recomputes CRCs for whatever table the bytes carry (also a table reaching past the end). */
function refresh(b: Uint8Array): void {
  if (b.length < HEADER_BYTES) return;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const n = v.getUint32(12, true);
  if (n <= 64 && HEADER_BYTES + n * SECTION_ENTRY_BYTES <= b.length) {
    try { refreshCrcs(b); return; } catch { /* fall through */ }
  }
  for (let e = HEADER_BYTES; e + SECTION_ENTRY_BYTES <= b.length && e < HEADER_BYTES + 64 * SECTION_ENTRY_BYTES; e += SECTION_ENTRY_BYTES) {
    const off = v.getUint32(e + 4, true), len = v.getUint32(e + 8, true);
    if (off + len <= b.length) v.setUint32(e + 12, crc32(b, off, off + len), true);
  }
  v.setUint32(16, crc32(b, HEADER_BYTES, Math.min(b.length, HEADER_BYTES + Math.min(n, 64) * SECTION_ENTRY_BYTES)), true);
}

/** Applies one to three mutations to a copy of the seed. */
export function mutate(s: Seed, r: Rng): { bytes: Uint8Array; mutators: string[] } {
  let b: Uint8Array = s.bytes.slice();
  const n = r.next() < 0.7 ? 1 : r.int(2, 3);
  const used: string[] = [];
  for (let i = 0; i < n; i++) {
    const name = pickMutator(r);
    // structure-aware offsets refer to the seed's layout: after a size change or re-serialization they are stale
    if (i > 0 && (used.includes("size") || used.includes("oplist")) && name !== "havoc" && name !== "size") continue;
    used.push(name);
    const c: Ctx = { b, v: new DataView(b.buffer, b.byteOffset, b.byteLength), s, r, crc: "all" };
    const out = MUTATORS[name](c);
    if (out) b = out;
  }
  const crc = r.next();
  if (crc < 0.95) refresh(b);
  else if (crc < 0.97) used.push("stale-crc");
  else {
    // only the table CRC recomputed: the section CRC path
    if (b.length >= HEADER_BYTES) {
      const v = new DataView(b.buffer);
      const n = Math.min(v.getUint32(12, true), 64);
      v.setUint32(16, crc32(b, HEADER_BYTES, Math.min(b.length, HEADER_BYTES + n * SECTION_ENTRY_BYTES)), true);
    }
    used.push("stale-section-crc");
  }
  return { bytes: b, mutators: used };
}

// ---------------------------------------------------------------------------------------------- guarded host

type Region = [start: number, end: number];
const ZEROS = new Uint8Array(1 << 20);

/**
 * A build's instance with a shadow copy of its linear memory: after a call, every byte outside the regions
 * the call may write must equal the shadow (bytes past the shadow's length, from memory growth, must be 0).
 */
class Guarded {
  readonly h: KernelHost;
  readonly heapStart: number;
  shadow = new Uint8Array(0);
  /** Static bytes the validator writes: its section cache. */
  secCache: Region[] = [];
  /** Static bytes a run may write: all but the module's data segments (kernels' and the interpreter's scratch). */
  runStatics: Region[] = [];
  notes: string[] = [];
  constructor(readonly build: BuildName, h: KernelHost) {
    this.h = h;
    h.reset();
    this.heapStart = h.exports.qw_heap_top() >>> 0;
  }
  mem(): Uint8Array { return new Uint8Array(this.h.exports.memory.buffer); }
  snap(): void {
    const m = this.mem();
    if (this.shadow.length !== m.length) this.shadow = new Uint8Array(m.length);
    this.shadow.set(m);
  }
  /** The first byte outside `allowed` that differs from the shadow, or -1. */
  diff(allowed: Region[]): number {
    const m = this.mem(), s = this.shadow;
    const regs = allowed.filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
    let at = 0;
    const check = (a: number, b: number): number => {
      // [a, b) against the shadow, then past the shadow against zeros
      const sEnd = Math.min(b, s.length);
      if (a < sEnd && Buffer.compare(m.subarray(a, sEnd), s.subarray(a, sEnd)) !== 0) {
        for (let i = a; i < sEnd; i++) if (m[i] !== s[i]) return i;
      }
      for (let p = Math.max(a, s.length); p < b; p += ZEROS.length) {
        const q = Math.min(b, p + ZEROS.length);
        if (Buffer.compare(m.subarray(p, q), ZEROS.subarray(0, q - p)) !== 0) for (let i = p; i < q; i++) if (m[i]) return i;
      }
      return -1;
    };
    for (const [a, b] of regs) {
      if (a > at) { const d = check(at, Math.min(a, m.length)); if (d >= 0) return d; }
      at = Math.max(at, b);
    }
    return at < m.length ? check(at, m.length) : -1;
  }
}

const u32at = (b: Uint8Array, at: number) => (at + 4 <= b.length ? new DataView(b.buffer, b.byteOffset).getUint32(at, true) : 0);

/** The tensor count the validator would size its workspace with (0 if it cannot get that far). */
function workspaceTensors(b: Uint8Array): number {
  if (b.length < HEADER_BYTES) return 0;
  const n = u32at(b, 12);
  if (n < 1 || n > 64 || HEADER_BYTES + 16 * n > b.length) return 0;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const hits: number[] = [];
  for (let i = 0; i < n; i++) if (v.getUint16(HEADER_BYTES + 16 * i, true) === Section.Tensors) hits.push(v.getUint32(HEADER_BYTES + 16 * i + 4, true));
  if (hits.length !== 1) return 0;
  const t = u32at(b, hits[0]);
  return t >= 1 && t <= 65535 ? t : 0;
}

const PAGE = 65536;
const roundPage = (n: number) => Math.ceil(n / PAGE) * PAGE;
const GUARD = 64;

interface LoadResult { status: number; index: number; ptr: number; len: number; top: number }

/** qwm_load under the memory guard. Throws CaseFailure on a trap or a stray write. */
function guardedLoad(g: Guarded, bytes: Uint8Array): LoadResult {
  const h = g.h;
  h.reset();
  const mem0 = g.mem().length;
  const pre = h.alloc(GUARD), ptr = h.alloc(Math.max(1, bytes.length)), post = h.alloc(GUARD);
  const m = g.mem();
  m.fill(0xa5, pre, pre + GUARD);
  m.set(bytes, ptr);
  m.fill(0x5a, post, post + GUARD);
  const top = h.exports.qw_heap_top() >>> 0;
  g.snap();
  let status: number, index: number;
  try {
    status = h.fn("qwm_load")(ptr, bytes.length, MEM_LIMIT) >>> 0;
    index = h.fn("qwm_error_index")() | 0;
  } catch (e) {
    throw new CaseFailure(e instanceof WebAssembly.RuntimeError ? "trap" : "crash", `${g.build}: qwm_load threw ${(e as Error)?.stack ?? e}`);
  }
  // the validator's workspace: 12 bytes per tensor at the 16-aligned heap top (qwm_load's arena reuses them)
  const ws = Math.ceil(Math.max(top, ptr + bytes.length) / 16) * 16;
  const wsEnd = ws + 12 * workspaceTensors(bytes);
  const d = g.diff([[ws, wsEnd], ...g.secCache]);
  if (d >= 0) {
    const where = d >= pre && d < pre + GUARD ? "guard before the model" : d >= ptr && d < ptr + bytes.length ? "the model bytes"
      : d >= post && d < post + GUARD ? "guard after the model" : d < g.heapStart ? "static data" : "memory outside the model";
    throw new CaseFailure("memory", `${g.build}: qwm_load (status 0x${status.toString(16)}) wrote byte ${d} (${where}; model at ${ptr}+${bytes.length}, workspace ${ws}..${wsEnd})`);
  }
  const arena = status === 0 ? h.fn("qwm_arena_bytes")() >>> 0 : 0;
  const bound = Math.max(mem0, roundPage(Math.max(wsEnd, top + arena)));
  if (g.mem().length > bound) {
    throw new CaseFailure("memory", `${g.build}: memory grew to ${g.mem().length} bytes, bound ${bound} (workspace ${wsEnd - ws}, arena ${arena})`);
  }
  return { status, index, ptr, len: bytes.length, top };
}

/** Runs one batch through the bound model under the guard; returns the output bytes. */
function guardedRun(g: Guarded, kind: "pixels" | "f32", input: Uint8Array | Float32Array, ld: LoadResult): Uint8Array {
  const h = g.h;
  const arena = h.fn("qwm_arena_bytes")() >>> 0;
  const arenaPtr = ld.top; // qwm_load's qw_alloc at the heap top it found
  const src = h.put(input as Uint8Array);
  const ob = h.fn("qwm_output_bytes")() >>> 0;
  const out = h.alloc(Math.max(16, ob));
  g.snap();
  let st: number;
  try {
    st = h.fn(kind === "pixels" ? "qwm_run_pixels" : "qwm_run_f32")(src, 1, out) >>> 0;
  } catch (e) {
    throw new CaseFailure(e instanceof WebAssembly.RuntimeError ? "trap" : "crash", `${g.build}: qwm_run_${kind} threw ${(e as Error)?.stack ?? e}`);
  }
  if (st !== 0) throw new CaseFailure("crash", `${g.build}: qwm_run_${kind} of an accepted model returned 0x${st.toString(16)}`);
  const d = g.diff([[arenaPtr, arenaPtr + arena], [out, out + ob], ...g.runStatics]);
  if (d >= 0) throw new CaseFailure("memory", `${g.build}: qwm_run_${kind} wrote byte ${d} outside the arena ${arenaPtr}+${arena} and the output ${out}+${ob} (model at ${ld.ptr}+${ld.len})`);
  return g.mem().slice(out, out + ob);
}

/** Finds the runtime's mutable static arrays by their contents after a known load and run (for the guard). */
function locateStatics(g: Guarded, seed: Seed): void {
  const h = g.h;
  const find = (words: number[], what: string): Region | null => {
    const m = g.mem();
    const v = new DataView(m.buffer);
    for (let a = 0; a + 4 * words.length <= g.heapStart; a += 4) {
      let ok = true;
      for (let i = 0; i < words.length && ok; i++) ok = v.getUint32(a + 4 * i, true) === words[i] >>> 0;
      if (ok) return [a, a + 4 * words.length];
    }
    g.notes.push(`${what} not found in static data: the guard allows all of [0, ${g.heapStart})`);
    return null;
  };
  const ld = guardedLoadUnchecked(g, seed.bytes);
  if (ld !== 0) throw new Error(`seed ${seed.name} does not load on ${g.build}: 0x${ld.toString(16)}`);
  const off = [0, 0, 0, 0, 0, 0, 0, 0], len = [0, 0, 0, 0, 0, 0, 0, 0], ent = [-1, -1, -1, -1, -1, -1, -1, -1];
  seed.table.forEach((s, i) => { if (s.id >= 1 && s.id <= 6) { off[s.id] = s.offset; len[s.id] = s.length; ent[s.id] = i; } });
  const regs = [find(off, "section offsets"), find(len, "section lengths"), find(ent, "section entries")];
  g.secCache = regs.every(Boolean) ? (regs as Region[]) : [[0, g.heapStart]];
  h.fn("qwm_unload")();
  // a run may write the static bytes outside the data segments (the constant tables): the kernels' and the
  // interpreter's scratch (Concat's argument arrays, the GEMM's operand view, ...)
  const segs = dataSegments(buildBytes(g.build)).filter(([a]) => a < g.heapStart).sort((x, y) => x[0] - y[0]);
  let at = 0;
  for (const [a, b] of segs) { if (a > at) g.runStatics.push([at, a]); at = Math.max(at, b); }
  if (at < g.heapStart) g.runStatics.push([at, g.heapStart]);
}

/** Address ranges of a wasm module's active data segments (the constants in linear memory). */
function dataSegments(w: Uint8Array): Region[] {
  let p = 8;
  const out: Region[] = [];
  const leb = () => { let r = 0, s = 0, b; do { b = w[p++]; r += (b & 0x7f) * 2 ** s; s += 7; } while (b & 0x80); return r; };
  while (p < w.length) {
    const id = w[p++], size = leb(), end = p + size;
    if (id === 11) {
      for (let i = 0, n = leb(); i < n; i++) {
        const flags = leb();
        if (flags !== 0 || w[p++] !== 0x41) throw new Error("dataSegments: only active segments at i32.const offsets are supported");
        const off = leb(); // non-negative offsets: the LEB's value as unsigned
        if (w[p++] !== 0x0b) throw new Error("dataSegments: bad offset expression");
        const len = leb();
        out.push([off, off + len]);
        p += len;
      }
    }
    p = end;
  }
  return out;
}

function guardedLoadUnchecked(g: Guarded, bytes: Uint8Array): number {
  g.h.reset();
  const p = g.h.put(bytes);
  return g.h.fn("qwm_load")(p, bytes.length, MEM_LIMIT) >>> 0;
}

// ---------------------------------------------------------------------------------------------- cost, typing

/** Work of one image (multiply-adds and element moves) of a validated model (its text sections not read). */
function runCost(bytes: Uint8Array): number {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const table = sectionTable(bytes);
  const t0 = table.find((e) => e.id === Section.Tensors)!.offset + 4, o0 = table.find((e) => e.id === Section.Ops)!.offset;
  const shape = (id: number) => [4, 8, 12].map((k) => v.getUint32(t0 + TENSOR_BYTES * id + k, true));
  let total = 0, r = o0 + 4;
  for (let k = 0, n = v.getUint32(o0, true); k < n; k++) {
    const code = v.getUint16(r, true), nIn = v.getUint16(r + 4, true);
    const p = r + OP_HEADER_BYTES + 4 * Math.ceil(nIn / 2);
    const x = shape(v.getUint16(r + OP_HEADER_BYTES, true)), y = shape(v.getUint16(r + 8, true));
    const outN = y[0] * y[1] * y[2], inN = x[0] * x[1] * x[2];
    const taps = () => v.getInt32(p, true) * v.getInt32(p + 4, true);
    switch (code) {
      case Op.Conv2dQs8: case Op.Conv2dF32: total += outN * taps() * x[2] + 4 * inN; break;
      case Op.DwConv2dQs8: case Op.DwConv2dF32: case Op.MaxPoolQs8: case Op.AvgPoolQs8: case Op.MaxPoolF32: case Op.AvgPoolF32:
        total += outN * taps(); break;
      case Op.DenseQs8: case Op.DenseF32: total += outN * inN; break;
      default: total += outN + inN * nIn;
    }
    r += v.getUint16(r + 2, true);
  }
  return total;
}

/**
 * The build's bytes: build/, or QWASM_FUZZ_BUILD_DIR when set (to check that the fuzzer finds the bugs of an
 * older or deliberately broken runtime).
 */
function buildBytes(b: BuildName): Uint8Array {
  const dir = typeof process !== "undefined" ? process.env.QWASM_FUZZ_BUILD_DIR : undefined;
  return dir ? new Uint8Array(readFileSync(`${dir}/qwasm.${b}.wasm`)) : readBuild(b);
}

const KNOWN_SECTIONS = new Set([0, 1, 2, 3, 4, 5, 6]);

/** The check a status names: "Kind Section.Field"; throws when the status is not a typed error. */
function typedStatus(status: number, index: number): string {
  const kind = status >>> 24, sec = (status >>> 16) & 0xff, fld = status & 0xffff;
  if (!ErrorKind[kind] || kind === ErrorKind.Ok || !KNOWN_SECTIONS.has(sec) || Field[fld] === undefined || index < -1) {
    throw new CaseFailure("untyped", `status 0x${status.toString(16)} index ${index} is not a typed error (kind ${kind}, section ${sec}, field ${fld})`);
  }
  const err = errorFromStatus(status, index, "load");
  if (!(err instanceof QwmError) || err.code === "FORMAT") throw new CaseFailure("untyped", `the SDK maps status 0x${status.toString(16)} to ${err.name} ${err.code}`);
  return `${ErrorKind[kind]} ${sectionName(sec)}.${Field[fld]}`;
}

// ---------------------------------------------------------------------------------------------- the target

function extremeInputs(r: Rng, n: number, inF32: boolean): { kind: "pixels" | "f32"; data: Uint8Array | Float32Array }[] {
  const rnd = Uint8Array.from({ length: n }, () => r.int(0, 255));
  const list: { kind: "pixels" | "f32"; data: Uint8Array | Float32Array }[] = [
    { kind: "pixels", data: rnd },
    { kind: "pixels", data: new Uint8Array(n).fill(r.next() < 0.5 ? 0 : 255) },
  ];
  const f = Float32Array.from({ length: n }, () => r.pick([-1e30, 1e30, -3.4e38, 3.4e38, 0, -0, r.next() * 8 - 4]));
  if (!inF32 && r.next() < 0.3) f[r.int(0, n - 1)] = NaN; // the runtime maps NaN to the zero point
  list.push({ kind: "f32", data: f });
  return list;
}

function sameOutput(a: Uint8Array, b: Uint8Array, f32: boolean): boolean {
  if (a.length !== b.length) return false;
  if (!f32) return Buffer.compare(a, b) === 0;
  const x = new Float32Array(a.buffer, a.byteOffset, a.length >> 2), y = new Float32Array(b.buffer, b.byteOffset, b.length >> 2);
  for (let i = 0; i < x.length; i++) if (!(Object.is(x[i], y[i]) || (Number.isNaN(x[i]) && Number.isNaN(y[i])))) return false;
  return true;
}

/** The seed models: the runtime test programs, and the bundled model quantized and in float when present. */
export async function qwmSeeds(notes: string[] = [], withRealModels = true): Promise<Seed[]> {
  const seeds: Seed[] = [qs8Program(1), qs8Program(3, false), f32Program(2), f32Program(4, false)].map((t) => layoutOf(t.name, t.bytes));
  if (withRealModels) {
    const real = await realSeeds().catch((e) => { notes.push(`real-model seeds skipped: ${(e as Error).message}`); return []; });
    seeds.push(...real.map(([n, b]) => layoutOf(n, b)));
  }
  return seeds;
}

/** The bytes of case `index` of a run seeded with `seed` (to reproduce a finding outside the harness). */
export function qwmCaseBytes(seeds: Seed[], seed: number, index: number): { bytes: Uint8Array; seed: string; mutators: string[] } {
  const s = seeds[index % seeds.length];
  const m = mutate(s, caseRng(seed, "qwm", index));
  return { ...m, seed: s.name };
}

export async function qwmTarget(opts: { withRealModels?: boolean } = {}): Promise<Target> {
  const notes: string[] = [];
  const seeds = await qwmSeeds(notes, opts.withRealModels !== false);
  const builds: BuildName[] = ["simd", "nosimd"];
  const hosts = await Promise.all(builds.map(async (b) => new Guarded(b, await KernelHost.create(buildBytes(b)))));
  for (const g of hosts) {
    locateStatics(g, seeds[0]);
    notes.push(...g.notes);
    for (const s of seeds) {
      const st = guardedLoadUnchecked(g, s.bytes);
      if (st !== 0) throw new Error(`seed ${s.name} does not load on ${g.build}: 0x${st.toString(16)}`);
    }
  }
  const simdModule = await WebAssembly.compile(buildBytes("simd") as Uint8Array<ArrayBuffer>);
  return {
    name: "qwm",
    async run(index, r, report: TargetReport) {
      if (index === 0 && notes.length) bump(report.counters, `notes: ${notes.join("; ")}`, 0);
      const seed = seeds[index % seeds.length];
      const { bytes, mutators } = mutate(seed, r);
      try {
        return await check(index, r, report, bytes, mutators);
      } catch (e) {
        if (e instanceof CaseFailure) e.mutators = `${seed.name}: ${mutators.join("+")}`;
        throw e;
      }
    },
  };
  async function check(index: number, r: Rng, report: TargetReport, bytes: Uint8Array, mutators: string[]) {
    {
      const loads = hosts.map((g) => guardedLoad(g, bytes));
      bump(report.counters, "loads", loads.length);
      const [a, b] = loads;
      if (a.status !== b.status || (a.status !== 0 && a.index !== b.index)) {
        throw new CaseFailure("mismatch", `builds disagree: simd 0x${a.status.toString(16)} (index ${a.index}), nosimd 0x${b.status.toString(16)} (index ${b.index})`);
      }
      let outcome: Outcome;
      if (a.status !== 0) {
        outcome = { accepted: false, by: typedStatus(a.status, a.index) };
        if (index % 8 === 0) await sdkRejects(bytes, simdModule, a.status, report);
        for (const g of hosts) g.h.fn("qwm_unload")();
        return { outcome, mutators };
      }
      // accepted: run both builds on the same inputs (when affordable) and compare
      outcome = { accepted: true };
      const h0 = hosts[0].h;
      const n = [0, 1, 2].reduce((p, i) => p * h0.fn("qwm_input_dim")(i), 1);
      const inF32 = h0.fn("qwm_input_dtype")() === DType.F32, outF32 = h0.fn("qwm_output_dtype")() === DType.F32;
      if (runCost(bytes) > RUN_COST_MAX) bump(report.counters, "accepted, not run (cost)");
      else {
        for (const inp of extremeInputs(r, n, inF32)) {
          const outs = hosts.map((g, k) => guardedRun(g, inp.kind, inp.data, loads[k]));
          bump(report.counters, "runs", outs.length);
          if (!sameOutput(outs[0], outs[1], outF32)) {
            throw new CaseFailure("mismatch", `accepted model: simd and nosimd outputs differ for ${inp.kind} input (${Array.from(outs[0].slice(0, 12))} vs ${Array.from(outs[1].slice(0, 12))})`);
          }
          bump(report.counters, "differential runs equal");
        }
      }
      for (const g of hosts) g.h.fn("qwm_unload")();
      await sdkAccepts(bytes, simdModule, report, r);
      return { outcome, mutators };
    }
  }
}

/** The SDK on a file the runtime refused: a QwmError whose code is the status's. */
async function sdkRejects(bytes: Uint8Array, simd: WebAssembly.Module, status: number, report: TargetReport): Promise<void> {
  let err: unknown;
  try {
    (await sdkLoadModel(bytes, { wasm: { simd }, memoryLimit: MEM_LIMIT })).dispose();
  } catch (e) {
    err = e;
  }
  bump(report.counters, "SDK loads");
  const want = errorFromStatus(status, -1, "load");
  if (!(err instanceof QwmError)) throw new CaseFailure("untyped", `the SDK did not refuse a file the runtime refused (status 0x${status.toString(16)}): ${String(err)}`);
  // the SDK refuses a model larger than the limit itself, before copying it: a Limit, not the runtime's status
  if (err.code !== want.code && err.code !== "MEMORY_LIMIT") throw new CaseFailure("untyped", `SDK error ${err.code} for status ${want.code}`);
}

/** The SDK on an accepted file: loads (or a QwmFormatError for its Labels / Provenance text) and classifies. */
async function sdkAccepts(bytes: Uint8Array, simd: WebAssembly.Module, report: TargetReport, r: Rng): Promise<void> {
  bump(report.counters, "SDK loads");
  let model;
  try {
    model = await sdkLoadModel(bytes, { wasm: { simd }, memoryLimit: MEM_LIMIT });
  } catch (e) {
    if (e instanceof QwmFormatError && (e.section === "Labels" || e.section === "Provenance")) { bump(report.counters, "SDK text refusals"); return; }
    if (e instanceof QwmError && e.code === "MEMORY_LIMIT") return; // model + arena + buffers over the limit
    throw new CaseFailure(e instanceof QwmError ? "mismatch" : "crash", `the SDK refused a file the runtime accepted: ${(e as Error)?.stack ?? e}`);
  }
  try {
    if (runCost(bytes) <= RUN_COST_MAX) {
      const w = r.int(1, 40), hgt = r.int(1, 40), ch = r.pick([1, 3, 4]);
      model.classify({ data: Uint8Array.from({ length: w * hgt * ch }, () => r.int(0, 255)), width: w, height: hgt }, { topK: 1 });
      bump(report.counters, "SDK classifies");
    }
  } catch (e) {
    if (!(e instanceof QwmError)) throw new CaseFailure("crash", `SDK classify: ${(e as Error)?.stack ?? e}`);
  } finally {
    model.dispose();
  }
}

/** The bundled Fashion-MNIST model, quantized (min-max on 16 images) and in float: real-sized seeds. */
async function realSeeds(): Promise<[string, Uint8Array][]> {
  const { existsSync, readFileSync } = await import("node:fs");
  const { ROOT } = await import("../helpers/tools.ts");
  const onnx = `${ROOT}models/fashion_mnist_dsres.onnx`, calib = `${ROOT}models/data/fashion-train256-images-idx3-ubyte.gz`;
  if (!existsSync(onnx) || !existsSync(calib)) throw new Error("models/fashion_mnist_dsres.onnx or its data is missing");
  const { quantize, floatQwm } = await import("../../src/api.ts");
  const { readDataset } = await import("../../src/data/index.ts");
  const pre = { mean: [0.286], std: [0.353] };
  const bytes = new Uint8Array(readFileSync(onnx));
  const data = readDataset(calib, { limit: 16 });
  const q = await quantize(bytes, { calib: data, calibration: "minmax", preprocess: pre, labels: Array.from({ length: 10 }, (_, i) => `c${i}`) });
  const seeds: [string, Uint8Array][] = [["fashion int8", q.qwm], ["fashion fp32", floatQwm(bytes, { preprocess: pre })]];
  // sub-8-bit weight layers (format 1.1), when the toolkit makes them: 4-bit, 2-bit and binary (BWN; XNOR with
  // binary activations: SignQb1 and the Qb1 ops over bit tensors)
  for (const [weightBits, actBits] of [[4, 8], [2, 8], [1, 8], [1, 1]]) {
    try {
      seeds.push([`fashion w${weightBits}${actBits === 1 ? "a1" : ""}`, (await quantize(bytes, { calib: data, calibration: "minmax", preprocess: pre, weightBits, actBits } as Parameters<typeof quantize>[1])).qwm]);
    } catch { /* no low-bit path in this toolkit */ }
  }
  return seeds;
}

export { MODEL_BYTES };
