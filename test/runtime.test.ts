// The runtime inside the wasm module (assembly/runtime): validator, arena binding, interpreter.
//  (1) small int8 and f32 programs through qwm_run_pixels / qwm_run_f32 against the same kernels called step by
//      step, on the SIMD and no-SIMD builds in Node and the relaxed build in Deno, all bit-identical;
//  (2) a corruption suite: every field of the header, section table, model record, tensor table and op records
//      set to 0 / max / +-1 (floats also NaN / Inf / negative), CRCs recomputed so that the validator itself is
//      exercised; each file is rejected with an error naming the expected section and field, or runs cleanly;
//      truncations; the checksum path on its own;
//  (3) the memory limit; (4) bad run arguments.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { DType, ErrorKind, Field, HEADER_BYTES, Op, Section, SECTION_ENTRY_BYTES } from "../assembly/runtime/schema.ts";
import { crc32 } from "../src/pack/crc32.ts";
import { refreshCrcs, sectionTable } from "../src/pack/qwm.ts";
import { KernelHost } from "../src/wasm/kernels.ts";
import { nodeBuilds, readBuild } from "../src/wasm/module.ts";
import {
  errField, errKind, errSection, f32Program, loadModel, qs8Program, randomF32, randomPixels, referenceRun,
  runtimeBatch, runtimeChecks, type TestProgram,
} from "./helpers/runtime_programs.ts";
import { rng } from "./helpers/ref.ts";
import { findTool, ROOT, testIf } from "./helpers/tools.ts";

const hosts = await Promise.all(nodeBuilds().map(async (b) => [b, await KernelHost.create(readBuild(b))] as const));
const simd = hosts.find(([b]) => b === "simd")![1];
const code = (kind: ErrorKind, section: number, field: Field) => ((kind << 24) | (section << 16) | field) >>> 0;
const show = (c: number) => `${ErrorKind[errKind(c)] ?? errKind(c)} section ${Section[errSection(c)] ?? errSection(c)} field ${Field[errField(c)] ?? errField(c)}`;

// ---------------------------------------------------------------- (1) programs, builds, reference

const outputsByBuild = new Map<string, string[]>();

for (const [build, h] of hosts) {
  test(`${build}: programs through the runtime equal the kernels run step by step`, () => {
    const results = runtimeChecks(h);
    assert.ok(results.length >= 8);
    const bad = results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.detail}`);
    assert.equal(bad, [], `${build}: runtime differs from the step-by-step reference`);
    outputsByBuild.set(build, results.map((r) => r.out));
  });
}

test("SIMD and no-SIMD runtimes give the same bytes", () => {
  const a = outputsByBuild.get("simd"), b = outputsByBuild.get("nosimd");
  assert.ok(a && b);
  assert.equal(b, a);
});

// The lite build (build/qwasm.lite.wasm: the same int8 / fp32 sources compiled without the sub-8-bit ops).
const lite = await KernelHost.create(readFileSync(`${ROOT}build/qwasm.lite.wasm`));
test("lite build: programs through the runtime equal the kernels step by step and the SIMD build's bytes", () => {
  const results = runtimeChecks(lite);
  const bad = results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.detail}`);
  assert.equal(bad, [], "lite: runtime differs from the step-by-step reference");
  assert.equal(results.map((r) => r.out), outputsByBuild.get("simd") ?? runtimeChecks(simd).map((r) => r.out));
});

test("lite build: every corrupted file gets the SIMD build's status, except op codes 24..39: Unknown OpCode", () => {
  let cases = 0, lowbit = 0;
  const failures: string[] = [];
  for (const tp of programsForCorruption) {
    for (const s of specsFor(tp.bytes)) {
      const v0 = new DataView(tp.bytes.buffer, tp.bytes.byteOffset, tp.bytes.byteLength);
      const orig = read(v0, s);
      for (const x of mutations(v0, s)) {
        if (x === orig) continue;
        const b = tp.bytes.slice(), v = new DataView(b.buffer);
        write(v, s, x);
        if (s.fixCrc) fixTableCrc(b); else if (!s.noRefresh) refresh(b);
        const want = tryFile(simd, b), got = tryFile(lite, b);
        cases++;
        const lowOp = / code$/.test(s.what) && x >= Op.Conv2dQs4 && x <= Op.DwConv2dQb1 && x !== 33;
        if (lowOp) {
          lowbit++;
          if (got.code !== code(ErrorKind.Unknown, Section.Ops, Field.OpCode)) failures.push(`${tp.name}: ${s.what} = ${x}: lite gave ${show(got.code)}`);
        } else if (got.code !== want.code || got.index !== want.index) {
          failures.push(`${tp.name}: ${s.what} = 0x${x.toString(16)}: lite ${show(got.code)} [${got.index}], simd ${show(want.code)} [${want.index}]`);
        }
      }
    }
  }
  assert.equal(failures.slice(0, 10), [], `${failures.length} of ${cases}`);
  assert.ok(cases > 1000, `${cases} cases`);
  console.log(`  lite: ${cases} corrupted files, the SIMD build's status on all (${lowbit} with a low-bit op code: Unknown OpCode)`);
});

const deno = findTool("deno");
testIf(!!deno, "relaxed-SIMD build under Deno: runtime equals the step-by-step kernels and the SIMD build's bytes", "npm package deno is not installed", () => {
  const out = execFileSync(deno!, ["run", "--quiet", "--no-lock", "--allow-read", "test/hosts/runtime-deno.ts", "relaxed"], {
    cwd: ROOT, encoding: "utf8", maxBuffer: 64 << 20,
  });
  const { results } = JSON.parse(out.trim().split("\n").pop()!);
  const bad = results.filter((r: any) => !r.ok).map((r: any) => `${r.name}: ${r.detail}`);
  assert.equal(bad, [], "relaxed build: runtime differs from the reference");
  const simdOut = outputsByBuild.get("simd") ?? runtimeChecks(simd).map((r) => r.out);
  assert.equal(results.map((r: any) => r.out), simdOut, "relaxed build differs from the SIMD build");
});

for (const [build, h] of hosts) {
  test(`${build}: qwm_tensor_ptr reads every intermediate after a batch-1 run (no arena reuse)`, () => {
    for (const tp of [qs8Program(5, false), f32Program(6, false)]) {
      const prog = tp.program;
      const inT = prog.tensors[prog.meta.inputTensor];
      const n = inT.shape[0] * inT.shape[1] * inT.shape[2];
      const x = randomF32(21, n, false);
      // reference: every tensor of one image
      const input = inT.dtype === DType.F32 ? new Uint8Array(x.buffer.slice(0))
        : new Uint8Array(Int8Array.from(x, (v) => Math.max(-128, Math.min(127, Math.sign(v / Math.fround(inT.scale)) * Math.round(Math.abs(Math.fround(v / Math.fround(inT.scale)))) + inT.zeroPoint))).buffer);
      const want = referenceRun(h, prog, input);
      assert.is(loadModel(h, tp.bytes).code, 0);
      assert.is(runtimeBatch(h, "f32", x, 1).code, 0);
      prog.tensors.forEach((t, id) => {
        if (t.dtype === DType.U8) return;
        const p = h.fn("qwm_tensor_ptr")(id) >>> 0;
        const got = new Uint8Array(h.exports.memory.buffer, p, want[id].length);
        assert.equal(Array.from(got), Array.from(want[id]), `${tp.name}: tensor ${id}`);
      });
    }
  });
}

test("information exports describe the bound model", () => {
  const h = simd;
  const tp = qs8Program(7);
  const { ptr, code: c } = loadModel(h, tp.bytes);
  assert.is(c, 0);
  const f = (n: string, ...a: number[]) => h.fn(n)(...a);
  const prog = tp.program, inT = prog.tensors[prog.meta.inputTensor], outT = prog.tensors[prog.meta.outputTensor];
  assert.equal([0, 1, 2].map((i) => f("qwm_input_dim", i)), inT.shape);
  assert.equal([0, 1, 2].map((i) => f("qwm_output_dim", i)), outT.shape);
  assert.is(f("qwm_input_dim", 3), 0);
  assert.is(f("qwm_input_dtype"), DType.I8);
  assert.is(f("qwm_input_scale"), Math.fround(inT.scale));
  assert.is(f("qwm_input_zero_point"), inT.zeroPoint);
  assert.is(f("qwm_output_dtype"), DType.F32);
  assert.is(f("qwm_output_scale"), 0);
  assert.is(f("qwm_output_bytes"), 40);
  assert.is(f("qwm_arena_bytes"), prog.meta.arenaBytes);
  assert.is(f("qwm_op_count"), prog.ops.length);
  assert.equal(prog.ops.map((_, i) => f("qwm_op_code", i)), prog.ops.map((o) => o.op));
  assert.is(f("qwm_op_code", prog.ops.length), 0);
  assert.is(f("qwm_tensor_count"), prog.tensors.length);
  prog.tensors.forEach((t, id) => {
    assert.equal([0, 1, 2].map((i) => f("qwm_tensor_dim", id, i)), t.shape);
    assert.is(f("qwm_tensor_dtype", id), t.dtype);
  });
  const table = sectionTable(tp.bytes);
  for (const s of table) {
    assert.is(f("qwm_section_offset", s.id), s.offset);
    assert.is(f("qwm_section_length", s.id), s.length);
  }
  assert.is(f("qwm_section_offset", 99), -1);
  const lab = table.find((s) => s.id === Section.Labels)!;
  const text = new TextDecoder().decode(new Uint8Array(h.exports.memory.buffer, ptr + f("qwm_section_offset", Section.Labels), lab.length));
  assert.is(text.split("\n")[9], "class 9");
  assert.is(f("qwm_meta_channel_order"), 0);
  assert.is(f("qwm_meta_resize"), 1);
  assert.is(f("qwm_meta_crop"), Math.fround(0.875));
  assert.is(f("qwm_meta_value_scale"), Math.fround(1 / 255));
  assert.is(f("qwm_meta_mean", 1), Math.fround(0.456));
  assert.is(f("qwm_meta_std", 2), Math.fround(0.225));
  f("qwm_unload");
  assert.is(f("qwm_op_count"), 0);
  assert.is(f("qwm_section_offset", Section.Labels), -1);
});

// ---------------------------------------------------------------- (2) corruption suite

type FType = "u8" | "u16" | "u32" | "i32" | "f32";
type Allow = [section: number, field: Field][];
interface Spec {
  what: string;
  at: number;
  type: FType;
  allow: Allow;     // acceptable (section, field) of a rejection; [] = must be accepted
  index?: number;   // when the error names this section: the index it must name at least
  fixCrc?: boolean; // a section CRC field: recompute only the table CRC afterwards (refreshCrcs would undo it)
  noRefresh?: boolean; // the table CRC field: recompute nothing
  floatParam?: boolean;
}

const ANY = -1; // any section
const M = Section.Model, T = Section.Tensors, O = Section.Ops;

function specsFor(bytes: Uint8Array): Spec[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const specs: Spec[] = [];
  const add = (what: string, at: number, type: FType, allow: Allow, extra: Partial<Spec> = {}) => specs.push({ what, at, type, allow, ...extra });
  const tableFields: Allow = [[ANY, Field.SectionId], [ANY, Field.SectionFlags], [ANY, Field.SectionOffset], [ANY, Field.SectionLength], [ANY, Field.SectionCrc], [0, Field.TableCrc]];

  // header
  add("magic", 0, "u32", [[0, Field.Magic]]);
  for (let i = 0; i < 4; i++) add(`magic[${i}]`, i, "u8", [[0, Field.Magic]]);
  add("major", 4, "u16", [[0, Field.Major]]);
  add("minor", 6, "u16", []);
  add("file length", 8, "u32", [[0, Field.FileLength]]);
  add("section count", 12, "u32", [[0, Field.SectionCount], ...tableFields]);
  add("table crc", 16, "u32", [[0, Field.TableCrc]], { noRefresh: true });
  for (let i = 20; i < 32; i++) add(`header reserved[${i}]`, i, "u8", [[0, Field.HeaderReserved]]);

  // section table
  const sections = sectionTable(bytes);
  const content: Record<number, Allow> = {
    [M]: [[M, Field.SectionLength]],
    [T]: [[T, Field.TensorCount], [T, Field.SectionLength]],
    [O]: [[O, Field.OpCount], [O, Field.RecordBytes], [O, Field.SectionLength]],
    [Section.Weights]: [[O, Field.WeightsOffset], [O, Field.WeightsBytes], [O, Field.WeightValues]],
  };
  sections.forEach((s, i) => {
    const e = s.entry, n = `entry ${i} (${Section[s.id]})`;
    add(`${n} id`, e, "u16", [[ANY, Field.SectionId]], { index: i });
    add(`${n} flags`, e + 2, "u16", [[s.id, Field.SectionFlags]], { index: i });
    add(`${n} offset`, e + 4, "u32", [[ANY, Field.SectionOffset], [s.id, Field.SectionLength]], { index: i });
    add(`${n} length`, e + 8, "u32", [[ANY, Field.SectionOffset], [s.id, Field.SectionLength], ...(content[s.id] ?? [])], { index: i });
    add(`${n} crc`, e + 12, "u32", [[s.id, Field.SectionCrc]], { fixCrc: true, index: i });
  });
  const sec = (id: number) => sections.find((s) => s.id === id)!;

  // model record
  const m = sec(M).offset;
  add("model input tensor", m, "u32", [[M, Field.InputTensor], [M, Field.OutputTensor], [M, Field.ChannelOrder], [O, Field.InputId], [O, Field.OutputId], [O, Field.ScratchId]]);
  add("model output tensor", m + 4, "u32", [[M, Field.OutputTensor]]);
  add("model arena bytes", m + 8, "u32", [[M, Field.ArenaBytes], [T, Field.ArenaOffset], [0, Field.Memory]]);
  add("model channel order", m + 12, "u8", [[M, Field.ChannelOrder]]);
  add("model resize", m + 13, "u8", [[M, Field.Resize]]);
  add("model layout", m + 14, "u8", [[M, Field.ModelReserved]]);
  add("model reserved byte", m + 15, "u8", [[M, Field.ModelReserved]]);
  add("model crop fraction", m + 16, "f32", [[M, Field.CropFraction]]);
  add("model value scale", m + 20, "f32", [[M, Field.ValueScale]]);
  for (let c = 0; c < 4; c++) {
    add(`model mean[${c}]`, m + 24 + 4 * c, "f32", [[M, Field.Std]]);
    add(`model std[${c}]`, m + 40 + 4 * c, "f32", [[M, Field.Std]]);
    add(`model pixel A[${c}]`, m + 56 + 4 * c, "i32", []);
    add(`model pixel B[${c}]`, m + 72 + 4 * c, "i32", []);
  }
  for (let i = 88; i < 96; i++) add(`model reserved[${i}]`, m + i, "u8", [[M, Field.ModelReserved]]);

  // tensors
  const t0 = sec(T).offset;
  add("tensor count", t0, "u32", [[T, Field.TensorCount], [T, Field.SectionLength]]);
  const nT = v.getUint32(t0, true);
  for (let k = 0; k < nT; k++) {
    const r = t0 + 4 + 32 * k, n = `tensor ${k}`, ix = { index: k };
    add(`${n} dtype`, r, "u8", [[T, Field.DType], [T, Field.Dims], [T, Field.TensorBytes], [T, Field.Scale], [T, Field.ZeroPoint]], ix);
    for (let i = 1; i < 4; i++) add(`${n} reserved[${i}]`, r + i, "u8", [[T, Field.TensorReserved]], ix);
    for (let i = 0; i < 3; i++) add(`${n} dim ${"HWC"[i]}`, r + 4 + 4 * i, "u32", [[T, Field.Dims], [T, Field.TensorBytes]], ix);
    add(`${n} arena offset`, r + 16, "u32", [[T, Field.ArenaOffset], [O, Field.OutputId], [O, Field.ScratchId]], ix);
    add(`${n} bytes`, r + 20, "u32", [[T, Field.TensorBytes]], ix);
    add(`${n} scale`, r + 24, "f32", [[T, Field.Scale], [O, Field.Scale]], ix);
    add(`${n} zero point`, r + 28, "i32", [[T, Field.ZeroPoint], [O, Field.ZeroPoint]], ix);
  }

  // ops
  const o0 = sec(O).offset;
  add("op count", o0, "u32", [[O, Field.OpCount], [O, Field.RecordBytes], [O, Field.SectionLength], [M, Field.OutputTensor]]);
  const nO = v.getUint32(o0, true);
  let r = o0 + 4;
  const F32_PARAMS: Partial<Record<Op, number[]>> = {
    [Op.Conv2dF32]: [8, 9], [Op.DwConv2dF32]: [8, 9], [Op.DenseF32]: [0, 1], [Op.AddF32]: [0, 1], [Op.ActF32]: [1, 2],
  };
  const anyOps: Allow = [Field.OpCode, Field.RecordBytes, Field.InputCount, Field.ParamCount, Field.InputId, Field.OutputId,
    Field.ScratchId, Field.WeightsOffset, Field.WeightsBytes, Field.Param, Field.OpReserved, Field.Scale, Field.ZeroPoint].map((fl) => [O, fl]);
  for (let k = 0; k < nO; k++) {
    const codeK = v.getUint16(r, true) as Op, len = v.getUint16(r + 2, true);
    const nIn = v.getUint16(r + 4, true), nPar = v.getUint16(r + 6, true);
    const n = `op ${k} (${Op[codeK]})`, ix = { index: k };
    add(`${n} code`, r, "u16", [...anyOps, [M, Field.OutputTensor]], ix);
    add(`${n} record bytes`, r + 2, "u16", [[O, Field.RecordBytes]], ix);
    add(`${n} input count`, r + 4, "u16", [[O, Field.InputCount], [O, Field.RecordBytes], [O, Field.InputId], [O, Field.OpReserved]], ix);
    add(`${n} param count`, r + 6, "u16", [[O, Field.ParamCount], [O, Field.RecordBytes]], ix);
    const tensorRef: Allow = [[O, Field.InputId], [O, Field.OutputId], [O, Field.ScratchId], [O, Field.Scale], [O, Field.ZeroPoint], [O, Field.WeightsBytes], [M, Field.OutputTensor]];
    add(`${n} output`, r + 8, "u16", tensorRef, ix);
    add(`${n} scratch`, r + 10, "u16", [[O, Field.ScratchId]], ix);
    add(`${n} weights offset`, r + 12, "u32", [[O, Field.WeightsOffset], [O, Field.WeightsBytes], [O, Field.WeightValues]], ix);
    add(`${n} weights bytes`, r + 16, "u32", [[O, Field.WeightsBytes]], ix);
    for (let i = 0; i < nIn; i++) add(`${n} input ${i}`, r + 20 + 2 * i, "u16", tensorRef, ix);
    if (nIn & 1) add(`${n} input padding`, r + 20 + 2 * nIn, "u16", [[O, Field.OpReserved]], ix);
    const p0 = r + 20 + 4 * Math.ceil(nIn / 2);
    for (let i = 0; i < nPar; i++) {
      add(`${n} param ${i}`, p0 + 4 * i, "i32", [[O, Field.Param], [O, Field.OutputId], [O, Field.WeightsBytes], [O, Field.ScratchId]],
        { ...ix, floatParam: F32_PARAMS[codeK]?.includes(i) });
    }
    r += len;
  }
  return specs;
}

const f32buf = new Float32Array(1), u32buf = new Uint32Array(f32buf.buffer);
const bitsOf = (x: number) => { f32buf[0] = x; return u32buf[0]; };

/** Values to try for a field: 0, max, +-1 (integers); floats also NaN, +-Inf, negative, next bit patterns. */
function mutations(v: DataView, s: Spec): number[] {
  const out: number[] = [];
  switch (s.type) {
    case "u8": { const x = v.getUint8(s.at); out.push(0, 0xff, (x + 1) & 0xff, (x - 1) & 0xff); break; }
    case "u16": { const x = v.getUint16(s.at, true); out.push(0, 0xffff, (x + 1) & 0xffff, (x - 1) & 0xffff); break; }
    case "u32": { const x = v.getUint32(s.at, true); out.push(0, 0xffffffff, (x + 1) >>> 0, (x - 1) >>> 0); break; }
    case "i32": {
      const x = v.getInt32(s.at, true);
      out.push(0, 0x7fffffff, 0x80000000, (x + 1) >>> 0, (x - 1) >>> 0);
      if (s.floatParam) out.push(bitsOf(NaN), bitsOf(Infinity), bitsOf(-Infinity), bitsOf(-1), 0x7fc00001);
      break;
    }
    case "f32": {
      const x = v.getFloat32(s.at, true), b = v.getUint32(s.at, true);
      out.push(0, bitsOf(NaN), 0xffc00000, bitsOf(Infinity), bitsOf(-Infinity), bitsOf(x === 0 ? -1 : -Math.abs(x)), (b + 1) >>> 0, (b - 1) >>> 0, 0x80000000);
      break;
    }
  }
  return [...new Set(out)];
}

function write(v: DataView, s: Spec, x: number) {
  if (s.type === "u8") v.setUint8(s.at, x);
  else if (s.type === "u16") v.setUint16(s.at, x, true);
  else v.setUint32(s.at, x >>> 0, true);
}
function read(v: DataView, s: Spec): number {
  return s.type === "u8" ? v.getUint8(s.at) : s.type === "u16" ? v.getUint16(s.at, true) : v.getUint32(s.at, true);
}

/** Recomputes the table CRC only. */
function fixTableCrc(b: Uint8Array) {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const n = v.getUint32(12, true);
  v.setUint32(16, crc32(b, HEADER_BYTES, Math.min(b.length, HEADER_BYTES + n * SECTION_ENTRY_BYTES)), true);
}

/**
 * refreshCrcs, also for files whose section count reaches past the end (refreshCrcs reads every entry): then
 * the entries that exist get their CRCs and the table CRC covers what there is of the table.
 */
function refresh(b: Uint8Array) {
  if (b.length < HEADER_BYTES) return;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const n = v.getUint32(12, true);
  if (HEADER_BYTES + n * SECTION_ENTRY_BYTES <= b.length) { refreshCrcs(b); return; }
  for (let e = HEADER_BYTES; e + SECTION_ENTRY_BYTES <= b.length; e += SECTION_ENTRY_BYTES) {
    const off = v.getUint32(e + 4, true), len = v.getUint32(e + 8, true);
    if (off + len <= b.length) v.setUint32(e + 12, crc32(b, off, off + len), true);
  }
  fixTableCrc(b);
}

const MEM_LIMIT = 16 << 20;

/** Loads a (possibly corrupt) file; if accepted, runs one image both ways. Returns the load status. */
function tryFile(h: KernelHost, bytes: Uint8Array): { code: number; index: number; ran: boolean } {
  const { code: c } = loadModel(h, bytes, MEM_LIMIT);
  const index = h.fn("qwm_error_index")() | 0;
  if (c !== 0) {
    // nothing stays bound after an error
    assert.is(h.fn("qwm_op_count")(), 0);
    return { code: c >>> 0, index, ran: false };
  }
  const dims = [0, 1, 2].map((i) => h.fn("qwm_input_dim")(i));
  const n = dims[0] * dims[1] * dims[2];
  const a = runtimeBatch(h, "pixels", randomPixels(3, n), 1);
  assert.is(a.code, 0);
  const b = runtimeBatch(h, "f32", randomF32(4, n, true, 0.02), 1);
  assert.is(b.code, 0);
  return { code: 0, index, ran: true };
}

const programsForCorruption: TestProgram[] = [qs8Program(8), f32Program(9)];

/** Byte positions in a .qwm: section offsets, tensor records, op records (and where their params start). */
function layoutOf(bytes: Uint8Array) {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const table = sectionTable(bytes);
  const sec = (id: number) => table.find((s) => s.id === id)!;
  const t0 = sec(Section.Tensors).offset + 4;
  const ops: { at: number; params: number }[] = [];
  let r = sec(Section.Ops).offset + 4;
  const nOps = v.getUint32(r - 4, true);
  for (let k = 0; k < nOps; k++) {
    ops.push({ at: r, params: r + 20 + 4 * Math.ceil(v.getUint16(r + 4, true) / 2) });
    r += v.getUint16(r + 2, true);
  }
  return { v, table, model: sec(Section.Model).offset, tensor: (k: number) => t0 + 32 * k, ops };
}

test("main corruptions: exact error kind, section, field and index", () => {
  const h = simd;
  const tp = programsForCorruption[0], prog = tp.program;
  const E = ErrorKind;
  // op indices and tensors of the qs8 program
  const opOf = (op: Op) => prog.ops.findIndex((o) => o.op === op);
  const conv = opOf(Op.Conv2dQs8), dw = opOf(Op.DwConv2dQs8), mp = opOf(Op.MaxPoolQs8), add = opOf(Op.AddQs8);
  const lut = opOf(Op.LutQs8), cat = opOf(Op.Concat);
  const d2 = prog.ops[dw].output, lt = prog.ops[lut].output;
  assert.ok(prog.ops[cat].inputs.includes(d2), "the depthwise output is live until the concat");
  type Case = [what: string, mutate: (L: ReturnType<typeof layoutOf>) => void, want: number, index: number];
  const cases: Case[] = [
    ["magic", (L) => L.v.setUint8(0, 0), code(E.BadMagic, 0, Field.Magic), -1],
    ["major 2", (L) => L.v.setUint16(4, 2, true), code(E.Version, 0, Field.Major), -1],
    ["file length + 16", (L) => L.v.setUint32(8, L.v.byteLength + 16, true), code(E.Truncated, 0, Field.FileLength), -1],
    ["section count 0", (L) => L.v.setUint32(12, 0, true), code(E.Range, 0, Field.SectionCount), -1],
    ["section count 65", (L) => L.v.setUint32(12, 65, true), code(E.Range, 0, Field.SectionCount), -1],
    ["header reserved", (L) => L.v.setUint8(20, 1), code(E.Range, 0, Field.HeaderReserved), -1],
    ["required section not flagged", (L) => L.v.setUint16(L.table[1].entry + 2, 0, true), code(E.Range, Section.Tensors, Field.SectionFlags), 1],
    ["unknown flag bit", (L) => L.v.setUint16(L.table[0].entry + 2, 3, true), code(E.Range, Section.Model, Field.SectionFlags), 0],
    ["misaligned section", (L) => L.v.setUint32(L.table[2].entry + 4, L.table[2].offset + 1, true), code(E.Align, Section.Ops, Field.SectionOffset), 2],
    ["section past the end", (L) => L.v.setUint32(L.table[3].entry + 8, 0x10000, true), code(E.Truncated, Section.Weights, Field.SectionLength), 3],
    ["section over the table", (L) => L.v.setUint32(L.table[0].entry + 4, 16, true), code(E.Overlap, Section.Model, Field.SectionOffset), 0],
    ["sections overlap", (L) => L.v.setUint32(L.table[1].entry + 4, L.table[0].offset + 16, true), code(E.Overlap, Section.Tensors, Field.SectionOffset), 1],
    ["duplicate id", (L) => L.v.setUint16(L.table[1].entry, Section.Model, true), code(E.Range, Section.Model, Field.SectionId), 1],
    ["unknown required section", (L) => { L.v.setUint16(L.table[5].entry, 99, true); L.v.setUint16(L.table[5].entry + 2, 1, true); }, code(E.Unknown, 0, Field.SectionId), 5],
    ["missing Weights", (L) => { L.v.setUint16(L.table[3].entry, 99, true); L.v.setUint16(L.table[3].entry + 2, 0, true); }, code(E.Missing, Section.Weights, Field.SectionId), -1],
    ["model input id", (L) => L.v.setUint32(L.model, 1000, true), code(E.Range, Section.Model, Field.InputTensor), -1],
    ["model output = input", (L) => L.v.setUint32(L.model + 4, prog.meta.inputTensor, true), code(E.Order, Section.Model, Field.OutputTensor), -1],
    ["model output a scratch tensor", (L) => L.v.setUint32(L.model + 4, prog.ops[conv].scratch!, true), code(E.Shape, Section.Model, Field.OutputTensor), -1],
    ["gray with 3 channels", (L) => L.v.setUint8(L.model + 12, 2), code(E.Shape, Section.Model, Field.ChannelOrder), -1],
    ["crop 0", (L) => L.v.setFloat32(L.model + 16, 0, true), code(E.Range, Section.Model, Field.CropFraction), -1],
    ["crop 1.5", (L) => L.v.setFloat32(L.model + 16, 1.5, true), code(E.Range, Section.Model, Field.CropFraction), -1],
    ["value scale NaN", (L) => L.v.setFloat32(L.model + 20, NaN, true), code(E.Range, Section.Model, Field.ValueScale), -1],
    ["std[1] 0", (L) => L.v.setFloat32(L.model + 44, 0, true), code(E.Range, Section.Model, Field.Std), 1],
    ["model reserved", (L) => L.v.setUint8(L.model + 90, 1), code(E.Range, Section.Model, Field.ModelReserved), -1],
    ["arena too large", (L) => L.v.setUint32(L.model + 8, 0xffffffff, true), code(E.Range, Section.Model, Field.ArenaBytes), -1],
    ["arena 0", (L) => L.v.setUint32(L.model + 8, 0, true), code(E.Range, Section.Tensors, Field.ArenaOffset), 0],
    ["tensor count 0", (L) => L.v.setUint32(L.tensor(0) - 4, 0, true), code(E.Range, Section.Tensors, Field.TensorCount), -1],
    ["tensor dtype 9", (L) => L.v.setUint8(L.tensor(3), 9), code(E.Unknown, Section.Tensors, Field.DType), 3],
    ["tensor reserved", (L) => L.v.setUint8(L.tensor(3) + 2, 1), code(E.Range, Section.Tensors, Field.TensorReserved), 3],
    ["tensor H 0", (L) => L.v.setUint32(L.tensor(3) + 4, 0, true), code(E.Range, Section.Tensors, Field.Dims), 3],
    ["tensor C 65536", (L) => L.v.setUint32(L.tensor(3) + 12, 65536, true), code(E.Range, Section.Tensors, Field.Dims), 3],
    ["tensor bytes + 1", (L) => L.v.setUint32(L.tensor(3) + 20, L.v.getUint32(L.tensor(3) + 20, true) + 1, true), code(E.Range, Section.Tensors, Field.TensorBytes), 3],
    ["tensor offset + 8", (L) => L.v.setUint32(L.tensor(3) + 16, L.v.getUint32(L.tensor(3) + 16, true) + 8, true), code(E.Align, Section.Tensors, Field.ArenaOffset), 3],
    ["tensor past the arena", (L) => L.v.setUint32(L.tensor(3) + 16, prog.meta.arenaBytes, true), code(E.Range, Section.Tensors, Field.ArenaOffset), 3],
    ["scale NaN", (L) => L.v.setFloat32(L.tensor(0) + 24, NaN, true), code(E.Range, Section.Tensors, Field.Scale), 0],
    ["scale -1", (L) => L.v.setFloat32(L.tensor(0) + 24, -1, true), code(E.Range, Section.Tensors, Field.Scale), 0],
    ["scale +Inf", (L) => L.v.setFloat32(L.tensor(0) + 24, Infinity, true), code(E.Range, Section.Tensors, Field.Scale), 0],
    ["zero point 128", (L) => L.v.setInt32(L.tensor(0) + 28, 128, true), code(E.Range, Section.Tensors, Field.ZeroPoint), 0],
    ["f32 tensor with a scale", (L) => L.v.setFloat32(L.tensor(prog.meta.outputTensor) + 24, 1, true), code(E.Range, Section.Tensors, Field.Scale), prog.meta.outputTensor],
    ["op code 13", (L) => L.v.setUint16(L.ops[conv].at, 13, true), code(E.Unknown, Section.Ops, Field.OpCode), conv],
    ["record bytes + 4", (L) => L.v.setUint16(L.ops[dw].at + 2, L.v.getUint16(L.ops[dw].at + 2, true) + 4, true), code(E.Range, Section.Ops, Field.RecordBytes), dw],
    ["input count 2", (L) => L.v.setUint16(L.ops[dw].at + 4, 2, true), code(E.Range, Section.Ops, Field.InputCount), dw],
    ["param count 10", (L) => L.v.setUint16(L.ops[conv].at + 6, 10, true), code(E.Range, Section.Ops, Field.ParamCount), conv],
    ["input id out of range", (L) => L.v.setUint16(L.ops[dw].at + 20, 5000, true), code(E.Range, Section.Ops, Field.InputId), dw],
    ["input padding", (L) => L.v.setUint16(L.ops[dw].at + 22, 0, true), code(E.Range, Section.Ops, Field.OpReserved), dw],
    ["scratch missing", (L) => L.v.setUint16(L.ops[conv].at + 10, 0xffff, true), code(E.Missing, Section.Ops, Field.ScratchId), conv],
    ["scratch not u8", (L) => L.v.setUint16(L.ops[conv].at + 10, prog.ops[dw].output, true), code(E.Shape, Section.Ops, Field.ScratchId), conv],
    ["scratch on an op without", (L) => L.v.setUint16(L.ops[dw].at + 10, prog.ops[conv].scratch!, true), code(E.Range, Section.Ops, Field.ScratchId), dw],
    ["weights misaligned", (L) => L.v.setUint32(L.ops[conv].at + 12, 1, true), code(E.Align, Section.Ops, Field.WeightsOffset), conv],
    ["weights past the section", (L) => L.v.setUint32(L.ops[conv].at + 12, 0x100000, true), code(E.Range, Section.Ops, Field.WeightsOffset), conv],
    ["weights bytes - 16", (L) => L.v.setUint32(L.ops[conv].at + 16, L.v.getUint32(L.ops[conv].at + 16, true) - 16, true), code(E.Range, Section.Ops, Field.WeightsBytes), conv],
    ["weights on a pool", (L) => L.v.setUint32(L.ops[mp].at + 12, 0, true), code(E.Range, Section.Ops, Field.WeightsOffset), mp],
    ["kernel 0", (L) => L.v.setInt32(L.ops[conv].params, 0, true), code(E.Range, Section.Ops, Field.Param), conv],
    ["pad > (K-1)*D", (L) => L.v.setInt32(L.ops[conv].params + 16, 3, true), code(E.Range, Section.Ops, Field.Param), conv],
    ["shift 30", (L) => L.v.setInt32(L.ops[conv].params + 32, 30, true), code(E.Range, Section.Ops, Field.Param), conv],
    ["lo > hi", (L) => { L.v.setInt32(L.ops[conv].params + 36, 127, true); L.v.setInt32(L.ops[conv].params + 40, 0, true); }, code(E.Range, Section.Ops, Field.Param), conv],
    ["add shift 23", (L) => L.v.setInt32(L.ops[add].params + 8, 23, true), code(E.Range, Section.Ops, Field.Param), add],
    ["add mult < 0", (L) => L.v.setInt32(L.ops[add].params, -1, true), code(E.Range, Section.Ops, Field.Param), add],
    ["stride too large for the output", (L) => L.v.setInt32(L.ops[dw].params + 8, 3, true), code(E.Shape, Section.Ops, Field.OutputId), dw],
    ["pool changes the zero point", (L) => L.v.setInt32(L.tensor(prog.ops[mp].output) + 28, 8, true), code(E.Shape, Section.Ops, Field.ZeroPoint), mp],
    ["input read before written", (L) => L.v.setUint16(L.ops[add].at + 20, lt, true), code(E.Order, Section.Ops, Field.InputId), add],
    ["output written twice", (L) => L.v.setUint16(L.ops[mp].at + 8, d2, true), code(E.Order, Section.Ops, Field.OutputId), mp],
    ["output over an input", (L) => L.v.setUint32(L.tensor(prog.ops[add].output) + 16, L.v.getUint32(L.tensor(prog.ops[add].inputs[0]) + 16, true), true), code(E.Overlap, Section.Ops, Field.OutputId), add],
    ["output over a live tensor", (L) => L.v.setUint32(L.tensor(lt) + 16, L.v.getUint32(L.tensor(d2) + 16, true), true), code(E.Overlap, Section.Ops, Field.OutputId), lut],
  ];
  const fails: string[] = [];
  for (const [what, mutate, want, index] of cases) {
    const b = tp.bytes.slice();
    mutate(layoutOf(b));
    refresh(b);
    const r = tryFile(h, b);
    if (r.code !== want || r.index !== index) fails.push(`${what}: got ${show(r.code)} index ${r.index}, want ${show(want)} index ${index}`);
  }
  assert.equal(fails, []);
  // an unknown optional section is skipped
  const b = tp.bytes.slice();
  const L = layoutOf(b);
  L.v.setUint16(L.table[4].entry, 99, true);
  refresh(b);
  assert.is(tryFile(h, b).code, 0);
  assert.is(h.fn("qwm_section_offset")(Section.Labels), -1);
  assert.is(h.fn("qwm_section_offset")(99), L.table[4].offset);
});

for (const [build, h] of hosts) {
  test(`${build}: corruption suite, every field of every record (CRCs recomputed)`, () => {
    const perKind = new Map<string, number>();
    let cases = 0, accepted = 0;
    const failures: string[] = [];
    for (const tp of programsForCorruption) {
      assert.is(tryFile(h, tp.bytes).code, 0, `${tp.name} must load`);
      const specs = specsFor(tp.bytes);
      for (const s of specs) {
        const v0 = new DataView(tp.bytes.buffer, tp.bytes.byteOffset, tp.bytes.byteLength);
        const orig = read(v0, s);
        for (const x of mutations(v0, s)) {
          if (x === orig) continue;
          const b = tp.bytes.slice(), v = new DataView(b.buffer);
          write(v, s, x);
          if (s.fixCrc) fixTableCrc(b); else if (!s.noRefresh) refresh(b);
          let r: ReturnType<typeof tryFile>;
          try {
            r = tryFile(h, b);
          } catch (e) {
            failures.push(`${tp.name}: ${s.what} = 0x${x.toString(16)}: ${e}`);
            continue;
          }
          cases++;
          const kindName = r.code === 0 ? "accepted" : ErrorKind[errKind(r.code)];
          perKind.set(kindName, (perKind.get(kindName) ?? 0) + 1);
          if (r.code === 0) accepted++;
          else if (s.allow.length === 0) failures.push(`${tp.name}: ${s.what} = 0x${x.toString(16)} must be accepted, got ${show(r.code)}`);
          else {
            const ok = s.allow.some(([sec, fl]) => (sec === ANY || sec === errSection(r.code)) && fl === errField(r.code));
            if (!ok) failures.push(`${tp.name}: ${s.what} = 0x${x.toString(16)}: unexpected ${show(r.code)} (index ${r.index})`);
            else if (s.index !== undefined && errSection(r.code) === s.allow[0][0] && r.index >= 0 && r.index < s.index) {
              failures.push(`${tp.name}: ${s.what} = 0x${x.toString(16)}: ${show(r.code)} names index ${r.index} < ${s.index}`);
            }
          }
        }
      }
    }
    assert.equal(failures.slice(0, 30), [], `${failures.length} unexpected outcomes`);
    assert.ok(cases > 1000, `only ${cases} cases`);
    const summary = [...perKind.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(", ");
    console.log(`  ${build}: ${cases} corrupted files: ${summary}`);
    assert.ok(accepted < cases);
  });

  test(`${build}: truncation at many lengths, with and without the header's length patched`, () => {
    let cases = 0;
    for (const tp of programsForCorruption) {
      const full = tp.bytes;
      const lengths = new Set<number>([0, 1, 3, 4, 8, 16, 31, 32, 33, 47, 48, full.length - 1]);
      for (let n = 32; n < full.length; n += 13) lengths.add(n);
      for (const n of lengths) {
        // as cut: the header's length no longer matches
        const a = tryFile(h, full.slice(0, n));
        assert.is(a.code, code(ErrorKind.Truncated, 0, Field.FileLength), `cut at ${n}: ${show(a.code)}`);
        cases++;
        if (n < HEADER_BYTES) continue;
        // length patched, CRCs recomputed: some section now reaches past the end
        const b = full.slice(0, n);
        new DataView(b.buffer).setUint32(8, n, true);
        refresh(b);
        const r = tryFile(h, b);
        assert.is(errKind(r.code), ErrorKind.Truncated, `cut at ${n} (length patched): ${show(r.code)}`);
        cases++;
      }
    }
    console.log(`  ${build}: ${cases} truncated files, all Truncated`);
  });

  test(`${build}: random multi-byte corruption (CRCs recomputed) never traps`, () => {
    const r = rng(77);
    let rejected = 0, accepted = 0;
    for (let i = 0; i < 600; i++) {
      const tp = programsForCorruption[i & 1];
      const b = tp.bytes.slice();
      const k = r.int(1, 6);
      for (let j = 0; j < k; j++) b[r.int(0, b.length - 1)] = r.int(0, 255);
      refresh(b);
      const res = tryFile(h, b);
      if (res.code === 0) accepted++; else rejected++;
    }
    assert.ok(rejected > 0);
    console.log(`  ${build}: 600 randomly corrupted files: ${rejected} rejected, ${accepted} accepted and ran`);
  });

  test(`${build}: checksum path: a flipped byte without recomputing CRCs names its section`, () => {
    for (const tp of programsForCorruption) {
      sectionTable(tp.bytes).forEach((s, i) => {
        if (s.length === 0) return;
        const b = tp.bytes.slice();
        b[s.offset + (s.length >> 1)] ^= 0x40;
        const r = tryFile(h, b);
        assert.is(r.code, code(ErrorKind.Crc, s.id, Field.SectionCrc), `${Section[s.id]}: ${show(r.code)}`);
        assert.is(r.index, i);
      });
      // a byte of the section table: the table CRC
      const b = tp.bytes.slice();
      b[HEADER_BYTES + 9] ^= 1;
      assert.is(tryFile(h, b).code, code(ErrorKind.Crc, 0, Field.TableCrc));
      // the table CRC field itself
      const c = tp.bytes.slice();
      c[16] ^= 0x80;
      assert.is(tryFile(h, c).code, code(ErrorKind.Crc, 0, Field.TableCrc));
    }
  });
}

// ---------------------------------------------------------------- (3) memory limit, (4) run arguments

test("memory limit: Limit error before allocating anything; exactly at the limit loads", async () => {
  for (const build of nodeBuilds()) {
    const h = await KernelHost.create(readBuild(build)); // a fresh instance: memory at its initial size
    const tp = qs8Program(10);
    const arena = tp.program.meta.arenaBytes, len = tp.bytes.length;
    h.reset();
    const ptr = h.put(tp.bytes);
    const top = h.exports.qw_heap_top(), size = h.exports.memory.buffer.byteLength;
    const c = h.fn("qwm_load")(ptr, len, arena + len - 1) >>> 0;
    assert.is(c, code(ErrorKind.Limit, 0, Field.Memory), show(c));
    assert.is(h.exports.qw_heap_top(), top, "nothing allocated");
    assert.is(h.exports.memory.buffer.byteLength, size, "memory did not grow");
    assert.is(h.fn("qwm_op_count")(), 0, "nothing bound");
    assert.is(h.fn("qwm_load")(ptr, len, arena + len), 0);
    assert.ok(h.exports.qw_heap_top() >= top + arena, "the arena was allocated");
    // a limit the arena alone exceeds, a huge arena without a limit: qw_alloc fails -> Limit
    const big = tp.bytes.slice();
    const m = sectionTable(big).find((s) => s.id === Section.Model)!.offset;
    new DataView(big.buffer).setUint32(m + 8, 0x7fff0000, true);
    refreshCrcs(big);
    const { code: c2 } = loadModel(h, big, 1 << 20);
    assert.is(c2 >>> 0, code(ErrorKind.Limit, 0, Field.Memory));
  }
});

test("bad run arguments: no model, batch <= 0, buffers outside memory or over the model -> State", async () => {
  for (const build of nodeBuilds()) {
    const h = await KernelHost.create(readBuild(build));
    const st = (c: number) => c >>> 0;
    const buf = h.alloc(4096);
    assert.is(st(h.fn("qwm_run_pixels")(buf, 1, buf + 2048)), code(ErrorKind.State, 0, Field.None), "no model loaded");
    assert.is(st(h.fn("qwm_run_f32")(buf, 1, buf + 2048)), code(ErrorKind.State, 0, Field.None));
    const tp = qs8Program(11);
    const { ptr } = loadModel(h, tp.bytes);
    const px = h.alloc(192 * 4), out = h.alloc(4096);
    assert.is(h.fn("qwm_run_pixels")(px, 1, out), 0);
    assert.is(st(h.fn("qwm_run_pixels")(px, 0, out)), code(ErrorKind.State, 0, Field.Batch));
    assert.is(st(h.fn("qwm_run_f32")(px, -1, out)), code(ErrorKind.State, 0, Field.Batch));
    const end = h.exports.memory.buffer.byteLength;
    assert.is(st(h.fn("qwm_run_pixels")(end - 100, 1, out)), code(ErrorKind.State, 0, Field.Memory), "input past the end of memory");
    assert.is(st(h.fn("qwm_run_pixels")(px, 1, end - 8)), code(ErrorKind.State, 0, Field.Memory), "output past the end of memory");
    assert.is(st(h.fn("qwm_run_pixels")(px, 0x7fffffff, out)), code(ErrorKind.State, 0, Field.Memory), "huge batch");
    assert.is(st(h.fn("qwm_run_pixels")(px, 1, ptr)), code(ErrorKind.State, 0, Field.Memory), "output over the model");
    assert.is(st(h.fn("qwm_run_pixels")(px, 1, h.fn("qwm_tensor_ptr")(0))), code(ErrorKind.State, 0, Field.Memory), "output over the arena");
    // a misaligned model buffer, a buffer past the end of memory
    const p2 = h.alloc(tp.bytes.length + 16) + 4;
    new Uint8Array(h.exports.memory.buffer, p2, tp.bytes.length).set(tp.bytes);
    assert.is(st(h.fn("qwm_load")(p2, tp.bytes.length, 0)), code(ErrorKind.Align, 0, Field.Memory));
    assert.is(st(h.fn("qwm_load")(end - 8, 64, 0)), code(ErrorKind.State, 0, Field.Memory));
    // after a failed load nothing is bound
    assert.is(st(h.fn("qwm_run_pixels")(px, 1, out)), code(ErrorKind.State, 0, Field.None));
    assert.is(h.fn("qwm_error_index")(), -1);
  }
});

test.run();
