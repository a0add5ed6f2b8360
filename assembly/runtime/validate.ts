// The .qwm validator (docs/format.md is the spec). A reader never trusts a file: every offset, length, count,
// shape and parameter is checked before the interpreter uses it, so that running a validated model cannot
// trap, hang, or touch memory outside the model bytes, the arena and the caller's buffers. A bad file gives an
// error code `kind << 24 | section << 16 | field` (schema.ts) and the index of the table entry, tensor or op
// concerned (errorIndex()).
//
// Order of the checks: header, section table (ids, flags, alignment, bounds, overlaps, CRCs), required sections,
// model record size and arena size (and the caller's memory limit), tensor table, model fields, op records one
// by one (structure, tensor ids, weights, scratch, dtypes, shapes, parameters, dataflow), then the arena plan
// against liveness. All loops are bounded by counts that were range-checked first; sums and products of file
// values are computed in u64 (every factor is below 2^32 and no product has more than two of them before a
// range check), so nothing wraps.
//
// The dataflow checks need two i32 per tensor and a list of live tensors: a transient workspace (12 bytes per
// tensor, at most 768 KiB) placed just above the allocator's heap top. It is never allocated: the arena, which
// qwm_load allocates after a successful validation, simply reuses those bytes.

import {
  DType, ErrorKind, Field, HEADER_BYTES, MAX_DIM, MAX_OPS, MAX_SECTIONS, MAX_TENSORS, MODEL_BYTES, NONE16, NONE32,
  OP_HEADER_BYTES, Op, QWM_MAGIC, QWM_MAJOR, SECTION_ENTRY_BYTES, SECTION_FLAG_REQUIRED, Section, TENSOR_BYTES,
} from "./schema";
import { readerSet, readerBase, readerFault, rd_u8, rd_u16, rd_u32, rd_i32, rd_f32 } from "./reader";
import { crc32 } from "./crc32";
import { LOWBIT } from "./features";
import { qw_heap_top } from "./memory";
import { qs8_packed_bytes } from "../kernels/qs8_gemm";
import { qs8_dwconv2d_packed_bytes } from "../kernels/qs8_dwconv2d";
import { qs4_packed_bytes, qs2_packed_bytes, qbw_packed_bytes } from "../kernels/qs4_conv2d";
import { qs4_dwconv2d_packed_bytes } from "../kernels/qs4_dwconv2d";
import { qlut_packed_bytes } from "../kernels/qlut_conv2d";
import { qs2_dwconv2d_packed_bytes, qbw_dwconv2d_packed_bytes, qlut_dwconv2d_packed_bytes } from "../kernels/qs2_dwconv2d";
import { qb1_packed_bytes, qb1_conv2d_scratch_bytes } from "../kernels/qb1_conv2d";
import { qb1_dwconv2d_packed_bytes } from "../kernels/qb1_dwconv2d";
import { f32_packed_bytes } from "../kernels/f32_gemm";
import { f32_dwconv2d_packed_bytes } from "../kernels/f32_dwconv2d";
import { f32_conv2d_scratch_bytes } from "../kernels/f32_conv2d";

/** Largest arena accepted: the kernels index tensors with i32 arithmetic, so every tensor stays below 2^31. */
export const ARENA_MAX: u32 = 0x7fff0000;
/** Highest section id the runtime knows (Provenance). */
const LAST_SECTION: u32 = 6;
const I32_MAX: u64 = 0x7fffffff;
// The schema's constants, typed for the u32 arithmetic below.
const HDR: u32 = HEADER_BYTES, ENTRY: u32 = SECTION_ENTRY_BYTES, MAX_SEC: u32 = MAX_SECTIONS;
const MODEL_REC: u32 = MODEL_BYTES, TENSOR_REC: u32 = TENSOR_BYTES, OP_HDR: u32 = OP_HEADER_BYTES;
const MAX_T: u32 = MAX_TENSORS, MAX_O: u32 = MAX_OPS, MAX_D: u32 = MAX_DIM;
const NO_ID: u32 = NONE16, NO_WEIGHTS: u32 = <u32>NONE32, MAGIC: u32 = <u32>QWM_MAGIC, MAJOR: u32 = QWM_MAJOR;
const REQUIRED: u32 = SECTION_FLAG_REQUIRED;

// ---- the validated model: valid after validate() returned 0 (offsets relative to the model's start) ----------

export let sectionCount: u32 = 0;
export let modelOff: u32 = 0;   // the 96-byte Model record
export let tensorRecs: u32 = 0; // first tensor record
export let tensorCount: u32 = 0;
export let opRecs: u32 = 0;     // first op record
export let opCount: u32 = 0;
export let weightsOff: u32 = 0; // Weights section
export let weightsLen: u32 = 0;
export let inputId: u32 = 0;
export let outputId: u32 = 0;
export let arenaBytes: u32 = 0;

// Offset, length and table entry of each known section id (index = id; 0 unused).
const SEC_OFF: usize = memory.data(8 * 4, 4);
const SEC_LEN: usize = memory.data(8 * 4, 4);
const SEC_ENTRY: usize = memory.data(8 * 4, 4);
@inline function secOff(id: u32): u32 { return load<u32>(SEC_OFF + (<usize>id << 2)); }
@inline function secLen(id: u32): u32 { return load<u32>(SEC_LEN + (<usize>id << 2)); }
@inline function secEntry(id: u32): i32 { return load<i32>(SEC_ENTRY + (<usize>id << 2)); }

// ---- errors -----------------------------------------------------------------------------------------------

let errIndex: i32 = -1;

/** Builds an error code and remembers which entry / tensor / op it concerns (-1: none). */
export function fail(kind: ErrorKind, section: i32, field: Field, index: i32): i32 {
  errIndex = index;
  return (<i32>kind << 24) | ((section & 0xff) << 16) | <i32>field;
}

/**
 * Index of what the last error concerns (-1 if none): the section table entry (section table errors), the tensor
 * id (Tensors), the op index (Ops), the channel (Model/Std).
 */
export function errorIndex(): i32 {
  return errIndex;
}

export function clearError(): void {
  errIndex = -1;
}

// ---- tensor records (valid ids only) ----------------------------------------------------------------------

@inline export function tRec(id: u32): u32 { return tensorRecs + id * TENSOR_REC; }
export function tDtype(id: u32): u32 { return rd_u8(tRec(id)); }
/** Dimension i of a tensor: 0 H, 1 W, 2 C. */
export function tDim(id: u32, i: u32): u32 { return rd_u32(tRec(id) + 4 + (i << 2)); }
export function tOffset(id: u32): u32 { return rd_u32(tRec(id) + 16); }
export function tBytes(id: u32): u32 { return rd_u32(tRec(id) + 20); }
export function tScale(id: u32): f32 { return rd_f32(tRec(id) + 24); }
export function tZeroPoint(id: u32): i32 { return rd_i32(tRec(id) + 28); }
@inline function tScaleBits(id: u32): u32 { return rd_u32(tRec(id) + 24); }

/** True when the arena ranges of two tensors share a byte. */
function tOverlap(a: u32, b: u32): bool {
  const a0 = <u64>tOffset(a), b0 = <u64>tOffset(b);
  return a0 < b0 + <u64>tBytes(b) && b0 < a0 + <u64>tBytes(a);
}

@inline function isFinite32(bits: u32): bool { return (bits & 0x7f800000) != 0x7f800000; }
@inline function isNaN32(bits: u32): bool { return (bits & 0x7fffffff) > 0x7f800000; }
@inline function ceil4(n: u64): u64 { return (n + 3) & ~(<u64>3); }
@inline function ceil8(n: u64): u64 { return (n + 7) & ~(<u64>7); }

// ---- op descriptors: inputs (min, max), param count, flags; indexed by op code (min 0: unknown code) --------

const W_: u8 = 1; // the op reads packed weights
const S_: u8 = 2; // the op needs a scratch tensor
const OP_INFO: usize = memory.data<u8>([
  0, 0, 0, 0,        // 0
  1, 1, 11, W_ | S_, // 1 Conv2dQs8
  1, 1, 11, W_,      // 2 DwConv2dQs8
  1, 1, 3, W_ | S_,  // 3 DenseQs8
  1, 1, 6, 0,        // 4 MaxPoolQs8
  1, 1, 6, 0,        // 5 AvgPoolQs8
  1, 1, 2, 0,        // 6 GlobalAvgPoolQs8
  2, 2, 5, 0,        // 7 AddQs8
  1, 64, 0, 0,       // 8 Concat
  1, 1, 0, W_,       // 9 LutQs8
  1, 1, 0, 0,        // 10 Quantize
  1, 1, 0, 0,        // 11 Dequantize
  1, 1, 0, 0,        // 12 Reshape
  0, 0, 0, 0,        // 13
  0, 0, 0, 0,        // 14
  0, 0, 0, 0,        // 15
  1, 1, 10, W_ | S_, // 16 Conv2dF32
  1, 1, 10, W_,      // 17 DwConv2dF32
  1, 1, 2, W_,       // 18 DenseF32
  1, 1, 6, 0,        // 19 MaxPoolF32
  1, 1, 6, 0,        // 20 AvgPoolF32
  1, 1, 0, 0,        // 21 GlobalAvgPoolF32
  2, 2, 2, 0,        // 22 AddF32
  1, 1, 3, 0,        // 23 ActF32
  1, 1, 11, W_ | S_, // 24 Conv2dQs4
  1, 1, 11, W_,      // 25 DwConv2dQs4
  1, 1, 3, W_ | S_,  // 26 DenseQs4
  1, 1, 11, W_ | S_, // 27 Conv2dQs2
  1, 1, 3, W_ | S_,  // 28 DenseQs2
  1, 1, 11, W_ | S_, // 29 Conv2dQbw
  1, 1, 3, W_ | S_,  // 30 DenseQbw
  1, 1, 14, W_ | S_, // 31 Conv2dQlut
  1, 1, 6, W_ | S_,  // 32 DenseQlut
  1, 1, 14, W_,      // 33 DwConv2dQlut
  1, 1, 1, 0,        // 34 SignQb1
  1, 1, 11, W_ | S_, // 35 Conv2dQb1
  1, 1, 3, W_ | S_,  // 36 DenseQb1
  1, 1, 11, W_,      // 37 DwConv2dQs2
  1, 1, 11, W_,      // 38 DwConv2dQbw
  1, 1, 11, W_,      // 39 DwConv2dQb1
]);
const OP_CODES: u32 = 40;

/** Byte offset of the params in an op record with `nIn` inputs (u16 ids padded to 4 bytes). */
@inline export function opParams(rec: u32, nIn: u32): u32 {
  return rec + OP_HDR + (((nIn + 1) >> 1) << 2);
}

// ---- workspace for the dataflow checks (see the top of the file) -----------------------------------------

const UNWRITTEN: i32 = -2; // WRITE[t]: never written (the model input is written at -1)
let WRITE: usize = 0;      // i32[tensorCount]: index of the op that writes t
let LAST: usize = 0;       // i32[tensorCount]: index of the last op that reads t (-2: none)
let ACTIVE: usize = 0;     // u32[tensorCount]: tensors live across the current op
@inline function wAt(t: u32): i32 { return load<i32>(WRITE + (<usize>t << 2)); }
@inline function lastAt(t: u32): i32 { return load<i32>(LAST + (<usize>t << 2)); }

// Geometry of the windowed op being checked (set by checkWindow).
let gKH: i32 = 0, gKW: i32 = 0, gSH: i32 = 0, gSW: i32 = 0, gDH: i32 = 0, gDW: i32 = 0;

// ============================================================================================================

/**
 * Validates the model held at [ptr, ptr + len). Returns 0 or an error code. On success the globals above
 * describe the model; on failure they are meaningless. Nothing is allocated.
 */
export function validate(ptr: usize, len: u32, memLimit: u32): i32 {
  errIndex = -1;
  readerSet(0, 0);
  // The buffer itself: 16-byte aligned (so the Weights section is, for the kernels' in-place reads) and inside
  // linear memory (else every read would trap).
  const memBytes = (<u64>memory.size()) << 16;
  if (<u64>ptr + <u64>len > memBytes) return fail(ErrorKind.State, 0, Field.Memory, -1);
  if ((ptr & 15) != 0) return fail(ErrorKind.Align, 0, Field.Memory, -1);
  readerSet(ptr, len);

  let e = checkHeaderAndTable(len);
  if (e != 0) return e;

  // Model record: its size, then the arena size, which the memory limit needs before anything else happens.
  modelOff = secOff(Section.Model);
  const ml = secLen(Section.Model);
  if (ml != MODEL_REC) {
    return fail(ml < MODEL_REC ? ErrorKind.Truncated : ErrorKind.Range, Section.Model, Field.SectionLength, secEntry(Section.Model));
  }
  arenaBytes = rd_u32(modelOff + 8);
  if (arenaBytes > ARENA_MAX) return fail(ErrorKind.Range, Section.Model, Field.ArenaBytes, -1);
  if (memLimit != 0 && <u64>arenaBytes + <u64>len > <u64>memLimit) return fail(ErrorKind.Limit, 0, Field.Memory, -1);

  weightsOff = secOff(Section.Weights);
  weightsLen = secLen(Section.Weights);

  e = checkTensors();
  if (e != 0) return e;
  e = checkModelFields();
  if (e != 0) return e;
  e = setupWorkspace(ptr, len);
  if (e != 0) return e;
  e = checkOps();
  if (e != 0) return e;
  e = checkLiveness();
  if (e != 0) return e;
  // Every read above was preceded by an explicit range check; a fault means one was missing: refuse.
  if (readerFault()) return fail(ErrorKind.Truncated, 0, Field.None, -1);
  return 0;
}

// ---- header and section table -----------------------------------------------------------------------------

function checkHeaderAndTable(len: u32): i32 {
  if (len < HDR) return fail(ErrorKind.Truncated, 0, Field.FileLength, -1);
  if (rd_u32(0) != MAGIC) return fail(ErrorKind.BadMagic, 0, Field.Magic, -1);
  if (rd_u16(4) != MAJOR) return fail(ErrorKind.Version, 0, Field.Major, -1); // any minor is accepted
  const fileLen = rd_u32(8);
  if (fileLen != len) return fail(fileLen > len ? ErrorKind.Truncated : ErrorKind.Range, 0, Field.FileLength, -1);
  const n = rd_u32(12);
  if (n < 1 || n > MAX_SEC) return fail(ErrorKind.Range, 0, Field.SectionCount, -1);
  const tableEnd = HDR + n * ENTRY; // n <= 64: no wrap
  if (tableEnd > len) return fail(ErrorKind.Truncated, 0, Field.SectionCount, -1);
  for (let i: u32 = 20; i < HDR; i++) {
    if (rd_u8(i) != 0) return fail(ErrorKind.Range, 0, Field.HeaderReserved, -1);
  }
  if (crc32(readerBase() + HDR, tableEnd - HDR) != rd_u32(16)) {
    return fail(ErrorKind.Crc, 0, Field.TableCrc, -1);
  }
  sectionCount = n;

  memory.fill(SEC_OFF, 0, 32);
  memory.fill(SEC_LEN, 0, 32);
  memory.fill(SEC_ENTRY, 0xff, 32); // -1: absent
  for (let i: u32 = 0; i < n; i++) {
    const ent = HDR + i * ENTRY;
    const id = rd_u16(ent), flags = rd_u16(ent + 2), off = rd_u32(ent + 4), slen = rd_u32(ent + 8);
    const known = id >= 1 && id <= LAST_SECTION;
    const sec = known ? <i32>id : 0; // errors name the entry's section when it is a known one
    const idx = <i32>i;
    if ((flags & ~REQUIRED) != 0) return fail(ErrorKind.Range, sec, Field.SectionFlags, idx);
    if (known) {
      if (secEntry(id) >= 0) return fail(ErrorKind.Range, sec, Field.SectionId, idx); // an id appears once
      // Sections 1-4 are required and must say so.
      if (id <= <u32>Section.Weights && (flags & REQUIRED) == 0) return fail(ErrorKind.Range, sec, Field.SectionFlags, idx);
    } else if ((flags & REQUIRED) != 0) {
      return fail(ErrorKind.Unknown, 0, Field.SectionId, idx); // unknown and required: cannot be read
    }
    // Every section, even a skipped one, is aligned, after the table, inside the file and apart from the others.
    if ((off & 15) != 0) return fail(ErrorKind.Align, sec, Field.SectionOffset, idx);
    if (off < tableEnd) return fail(ErrorKind.Overlap, sec, Field.SectionOffset, idx);
    if (off > len) return fail(ErrorKind.Truncated, sec, Field.SectionOffset, idx);
    if (<u64>off + <u64>slen > <u64>len) return fail(ErrorKind.Truncated, sec, Field.SectionLength, idx);
    for (let j: u32 = 0; j < i; j++) {
      const ej = HDR + j * ENTRY;
      const o2 = <u64>rd_u32(ej + 4), l2 = <u64>rd_u32(ej + 8);
      if (<u64>off < o2 + l2 && o2 < <u64>off + <u64>slen) return fail(ErrorKind.Overlap, sec, Field.SectionOffset, idx);
    }
    if (crc32(readerBase() + <usize>off, slen) != rd_u32(ent + 12)) return fail(ErrorKind.Crc, sec, Field.SectionCrc, idx);
    if (known) {
      store<u32>(SEC_OFF + (<usize>id << 2), off);
      store<u32>(SEC_LEN + (<usize>id << 2), slen);
      store<i32>(SEC_ENTRY + (<usize>id << 2), idx);
    }
  }
  for (let id: u32 = Section.Model; id <= <u32>Section.Weights; id++) {
    if (secEntry(id) < 0) return fail(ErrorKind.Missing, <i32>id, Field.SectionId, -1);
  }
  return 0;
}

/** Offset of the section with this id relative to the model start, or -1 when absent (validated files only). */
export function sectionOffset(id: u32): i32 {
  for (let i: u32 = 0; i < sectionCount; i++) {
    const ent = HDR + i * ENTRY;
    if (rd_u16(ent) == id) return <i32>rd_u32(ent + 4);
  }
  return -1;
}

/** Length of the section with this id, or -1 when absent (validated files only). */
export function sectionLength(id: u32): i32 {
  for (let i: u32 = 0; i < sectionCount; i++) {
    const ent = HDR + i * ENTRY;
    if (rd_u16(ent) == id) return <i32>rd_u32(ent + 8);
  }
  return -1;
}

// ---- tensors ----------------------------------------------------------------------------------------------

function checkTensors(): i32 {
  const off = secOff(Section.Tensors), len = secLen(Section.Tensors);
  const ent = secEntry(Section.Tensors);
  if (len < 4) return fail(ErrorKind.Truncated, Section.Tensors, Field.TensorCount, -1);
  const n = rd_u32(off);
  if (n < 1 || n > MAX_T) return fail(ErrorKind.Range, Section.Tensors, Field.TensorCount, -1);
  const need = 4 + <u64>n * TENSOR_REC;
  if (<u64>len < need) return fail(ErrorKind.Truncated, Section.Tensors, Field.TensorCount, -1);
  if (<u64>len > need) return fail(ErrorKind.Range, Section.Tensors, Field.SectionLength, ent);
  tensorCount = n;
  tensorRecs = off + 4;
  for (let id: u32 = 0; id < n; id++) {
    const e = checkTensor(id);
    if (e != 0) return e;
  }
  return 0;
}

function checkTensor(id: u32): i32 {
  const r = tRec(id), idx = <i32>id;
  const dt = rd_u8(r);
  if (dt < <u32>DType.I8 || dt > <u32>DType.B1) return fail(ErrorKind.Unknown, Section.Tensors, Field.DType, idx);
  if ((rd_u8(r + 1) | rd_u8(r + 2) | rd_u8(r + 3)) != 0) return fail(ErrorKind.Range, Section.Tensors, Field.TensorReserved, idx);
  const H = rd_u32(r + 4), W = rd_u32(r + 8), C = rd_u32(r + 12);
  if (H - 1 >= MAX_D || W - 1 >= MAX_D || C - 1 >= MAX_D) return fail(ErrorKind.Range, Section.Tensors, Field.Dims, idx);
  // Scratch buffers are 1 x rows x C bytes (1 x 1 x bytes, or rows of 4096 bytes when larger).
  if (dt == DType.U8 && H != 1) return fail(ErrorKind.Shape, Section.Tensors, Field.Dims, idx);
  // bytes = H * W * C * element size, exactly (at most 2^50: exact in u64); bit tensors H * W * ceil(C/8).
  const eb: u64 = dt == DType.F32 ? 4 : 1;
  const bytes = rd_u32(r + 20);
  const want = dt == DType.B1 ? <u64>H * <u64>W * ((<u64>C + 7) >> 3) : <u64>H * <u64>W * <u64>C * eb;
  if (want != <u64>bytes) return fail(ErrorKind.Range, Section.Tensors, Field.TensorBytes, idx);
  // Place in the arena: 16-aligned, inside [0, arena bytes).
  const off = rd_u32(r + 16);
  if ((off & 15) != 0) return fail(ErrorKind.Align, Section.Tensors, Field.ArenaOffset, idx);
  if (<u64>off + <u64>bytes > <u64>arenaBytes) return fail(ErrorKind.Range, Section.Tensors, Field.ArenaOffset, idx);
  // Quantization: int8 tensors have a finite positive scale and a zero point in -128..127; others zeros.
  const sbits = rd_u32(r + 24);
  const zp = rd_i32(r + 28);
  if (dt == DType.I8) {
    if (!isFinite32(sbits) || !(reinterpret<f32>(sbits) > 0)) return fail(ErrorKind.Range, Section.Tensors, Field.Scale, idx);
    if (zp < -128 || zp > 127) return fail(ErrorKind.Range, Section.Tensors, Field.ZeroPoint, idx);
  } else {
    if (sbits != 0) return fail(ErrorKind.Range, Section.Tensors, Field.Scale, idx);
    if (zp != 0) return fail(ErrorKind.Range, Section.Tensors, Field.ZeroPoint, idx);
  }
  return 0;
}

// ---- model record -----------------------------------------------------------------------------------------

function checkModelFields(): i32 {
  const m = modelOff;
  const sec = <i32>Section.Model;
  inputId = rd_u32(m);
  if (inputId >= tensorCount) return fail(ErrorKind.Range, sec, Field.InputTensor, -1);
  const idt = tDtype(inputId);
  if (idt != DType.I8 && idt != DType.F32) return fail(ErrorKind.Shape, sec, Field.InputTensor, -1);
  outputId = rd_u32(m + 4);
  if (outputId >= tensorCount) return fail(ErrorKind.Range, sec, Field.OutputTensor, -1);
  const odt = tDtype(outputId);
  if (odt != DType.I8 && odt != DType.F32) return fail(ErrorKind.Shape, sec, Field.OutputTensor, -1);
  if (outputId == inputId) return fail(ErrorKind.Order, sec, Field.OutputTensor, -1); // must be written by an op
  // Channel order and the input's channel count agree (RGB / BGR: 3, gray: 1).
  const order = rd_u8(m + 12);
  if (order > 2) return fail(ErrorKind.Range, sec, Field.ChannelOrder, -1);
  const C = tDim(inputId, 2);
  if (C != (order == 2 ? 1 : 3)) return fail(ErrorKind.Shape, sec, Field.ChannelOrder, -1);
  if (rd_u8(m + 13) > 1) return fail(ErrorKind.Range, sec, Field.Resize, -1);
  // Layout (0: NHWC, the only one of v1) and the reserved byte. The schema has no Layout field: ModelReserved.
  if (rd_u8(m + 14) != 0 || rd_u8(m + 15) != 0) return fail(ErrorKind.Range, sec, Field.ModelReserved, -1);
  const crop = rd_f32(m + 16);
  if (!(crop > 0 && crop <= 1)) return fail(ErrorKind.Range, sec, Field.CropFraction, -1); // NaN fails too
  const vsBits = rd_u32(m + 20);
  if (!isFinite32(vsBits) || !(reinterpret<f32>(vsBits) > 0)) return fail(ErrorKind.Range, sec, Field.ValueScale, -1);
  // Normalization of the C channels used: mean finite, std finite and > 0 (the schema has no Mean field: both
  // are reported as Std, "the normalization").
  for (let c: u32 = 0; c < C; c++) {
    const meanBits = rd_u32(m + 24 + (c << 2)), stdBits = rd_u32(m + 40 + (c << 2));
    if (!isFinite32(meanBits)) return fail(ErrorKind.Range, sec, Field.Std, <i32>c);
    if (!isFinite32(stdBits) || !(reinterpret<f32>(stdBits) > 0)) return fail(ErrorKind.Range, sec, Field.Std, <i32>c);
  }
  // Pixel A / B (56..87): any i32 is safe, the products are computed in i64.
  for (let i: u32 = 88; i < MODEL_REC; i++) {
    if (rd_u8(m + i) != 0) return fail(ErrorKind.Range, sec, Field.ModelReserved, -1);
  }
  return 0;
}

// ---- workspace --------------------------------------------------------------------------------------------

function setupWorkspace(ptr: usize, len: u32): i32 {
  // Above both the heap top and the model (a host might have placed the model above the heap top).
  let ws = <u64>qw_heap_top();
  const modelEnd = <u64>ptr + <u64>len;
  if (modelEnd > ws) ws = modelEnd;
  ws = (ws + 15) & ~(<u64>15);
  const end = ws + <u64>tensorCount * 12;
  const have = (<u64>memory.size()) << 16;
  if (end > have) {
    const pages = <i32>((end - have + 0xffff) >> 16);
    if (end > 0x100000000 || memory.grow(pages) < 0) return fail(ErrorKind.Limit, 0, Field.Memory, -1);
  }
  WRITE = <usize>ws;
  LAST = WRITE + (<usize>tensorCount << 2);
  ACTIVE = LAST + (<usize>tensorCount << 2);
  for (let t: u32 = 0; t < tensorCount; t++) {
    store<i32>(WRITE + (<usize>t << 2), UNWRITTEN);
    store<i32>(LAST + (<usize>t << 2), -2);
  }
  store<i32>(WRITE + (<usize>inputId << 2), -1); // the model input is defined before op 0
  return 0;
}

// ---- ops --------------------------------------------------------------------------------------------------

function checkOps(): i32 {
  const off = secOff(Section.Ops), len = secLen(Section.Ops);
  if (len < 4) return fail(ErrorKind.Truncated, Section.Ops, Field.OpCount, -1);
  const n = rd_u32(off);
  if (n < 1 || n > MAX_O) return fail(ErrorKind.Range, Section.Ops, Field.OpCount, -1);
  opCount = n;
  opRecs = off + 4;
  const end = off + len; // within the file: no wrap
  let pos = opRecs;
  for (let i: u32 = 0; i < n; i++) {
    if (<u64>pos + OP_HDR > <u64>end) return fail(ErrorKind.Truncated, Section.Ops, Field.RecordBytes, <i32>i);
    const e = checkOp(<i32>i, pos, end);
    if (e != 0) return e;
    pos += rd_u16(pos + 2);
  }
  // No trailing bytes after the last record.
  if (pos != end) return fail(ErrorKind.Range, Section.Ops, Field.SectionLength, secEntry(Section.Ops));
  // The model output is written by some op, and it is live to the end.
  if (wAt(outputId) < 0) return fail(ErrorKind.Missing, Section.Model, Field.OutputTensor, -1);
  store<i32>(LAST + (<usize>outputId << 2), <i32>n);
  return 0;
}

@inline function opFail(kind: ErrorKind, field: Field, i: i32): i32 {
  return fail(kind, Section.Ops, field, i);
}

/** One op record at `r` (its 20-byte header is known to be inside the section, which ends at `end`). */
function checkOp(i: i32, r: u32, end: u32): i32 {
  // Structure: a known code, the input and param counts it takes, the exact record size.
  const code = rd_u16(r);
  if (code >= OP_CODES || load<u8>(OP_INFO + (<usize>code << 2)) == 0) return opFail(ErrorKind.Unknown, Field.OpCode, i);
  if (!LOWBIT && code >= <u32>Op.Conv2dQs4 && code <= <u32>Op.DwConv2dQb1) return opFail(ErrorKind.Unknown, Field.OpCode, i); // lite
  const info = OP_INFO + (<usize>code << 2);
  const minIn = <u32>load<u8>(info), maxIn = <u32>load<u8>(info, 1), nParams = <u32>load<u8>(info, 2), flags = <u32>load<u8>(info, 3);
  const nIn = rd_u16(r + 4), nPar = rd_u16(r + 6);
  if (nIn < minIn || nIn > maxIn) return opFail(ErrorKind.Range, Field.InputCount, i);
  if (nPar != nParams) return opFail(ErrorKind.Range, Field.ParamCount, i);
  const recBytes = rd_u16(r + 2);
  if (recBytes != OP_HDR + (((nIn + 1) >> 1) << 2) + (nPar << 2)) return opFail(ErrorKind.Range, Field.RecordBytes, i);
  if (<u64>r + <u64>recBytes > <u64>end) return opFail(ErrorKind.Truncated, Field.RecordBytes, i);

  // Tensor ids.
  for (let k: u32 = 0; k < nIn; k++) {
    if (rd_u16(r + OP_HDR + (k << 1)) >= tensorCount) return opFail(ErrorKind.Range, Field.InputId, i);
  }
  if ((nIn & 1) != 0 && rd_u16(r + OP_HDR + (nIn << 1)) != NO_ID) return opFail(ErrorKind.Range, Field.OpReserved, i);
  const y = rd_u16(r + 8);
  if (y >= tensorCount) return opFail(ErrorKind.Range, Field.OutputId, i);
  const s = rd_u16(r + 10);
  if ((flags & S_) != 0) {
    if (s == NO_ID) return opFail(ErrorKind.Missing, Field.ScratchId, i);
    if (s >= tensorCount) return opFail(ErrorKind.Range, Field.ScratchId, i);
    if (tDtype(s) != DType.U8) return opFail(ErrorKind.Shape, Field.ScratchId, i);
  } else if (s != NO_ID) {
    return opFail(ErrorKind.Range, Field.ScratchId, i);
  }

  // Weights: 16-aligned and inside the Weights section, or none at all.
  const wOff = rd_u32(r + 12), wBytes = rd_u32(r + 16);
  if ((flags & W_) != 0) {
    if ((wOff & 15) != 0) return opFail(ErrorKind.Align, Field.WeightsOffset, i);
    if (wOff > weightsLen) return opFail(ErrorKind.Range, Field.WeightsOffset, i);
    if (<u64>wOff + <u64>wBytes > <u64>weightsLen) return opFail(ErrorKind.Truncated, Field.WeightsBytes, i);
  } else {
    if (wOff != NO_WEIGHTS) return opFail(ErrorKind.Range, Field.WeightsOffset, i);
    if (wBytes != 0) return opFail(ErrorKind.Range, Field.WeightsBytes, i);
  }

  // What the op itself requires of its tensors, weights, scratch and params.
  const e = checkOpSemantics(i, code, r, nIn, y, s, wBytes);
  if (e != 0) return e;

  // Dataflow: inputs defined earlier; the output written once and never the model input (WRITE = -1).
  for (let k: u32 = 0; k < nIn; k++) {
    const t = rd_u16(r + OP_HDR + (k << 1));
    if (wAt(t) == UNWRITTEN) return opFail(ErrorKind.Order, Field.InputId, i);
    store<i32>(LAST + (<usize>t << 2), i);
  }
  if (wAt(y) != UNWRITTEN) return opFail(ErrorKind.Order, Field.OutputId, i);
  store<i32>(WRITE + (<usize>y << 2), i);
  // The output, inputs and scratch of one op do not overlap in the arena (inputs may share: they are only read).
  for (let k: u32 = 0; k < nIn; k++) {
    const t = rd_u16(r + OP_HDR + (k << 1));
    if (tOverlap(y, t)) return opFail(ErrorKind.Overlap, Field.OutputId, i);
    if (s != NO_ID && tOverlap(s, t)) return opFail(ErrorKind.Overlap, Field.ScratchId, i);
  }
  if (s != NO_ID && tOverlap(s, y)) return opFail(ErrorKind.Overlap, Field.ScratchId, i);
  return 0;
}

// The arena plan against liveness: when op i writes its output (and its scratch), no tensor that is live across
// op i (written before i, read at or after i; the model output is read "at the end") may share a byte with them.
// ACTIVE holds exactly those tensors; they are pairwise disjoint, since each was checked when it was written.
function checkLiveness(): i32 {
  let nActive: u32 = 0;
  if (lastAt(inputId) >= 0) { store<u32>(ACTIVE, inputId); nActive = 1; }
  let pos = opRecs;
  for (let i: i32 = 0; i < <i32>opCount; i++) {
    // Drop the tensors whose last read is behind us.
    let k: u32 = 0;
    for (let j: u32 = 0; j < nActive; j++) {
      const t = load<u32>(ACTIVE + (<usize>j << 2));
      if (lastAt(t) >= i) { store<u32>(ACTIVE + (<usize>k << 2), t); k++; }
    }
    nActive = k;
    const y = rd_u16(pos + 8), s = rd_u16(pos + 10);
    for (let j: u32 = 0; j < nActive; j++) {
      const t = load<u32>(ACTIVE + (<usize>j << 2));
      if (tOverlap(t, y)) return opFail(ErrorKind.Overlap, Field.OutputId, i);
      if (s != NO_ID && tOverlap(t, s)) return opFail(ErrorKind.Overlap, Field.ScratchId, i);
    }
    if (lastAt(y) > i) { store<u32>(ACTIVE + (<usize>nActive << 2), y); nActive++; }
    pos += rd_u16(pos + 2);
  }
  return 0;
}

// ---- per-op requirements ----------------------------------------------------------------------------------

@inline function dimsEqual(a: u32, b: u32): bool {
  return tDim(a, 0) == tDim(b, 0) && tDim(a, 1) == tDim(b, 1) && tDim(a, 2) == tDim(b, 2);
}

/** Same int8 quantization (scale bits and zero point): ops that move int8 values without rescaling. */
function sameQuant(a: u32, b: u32, i: i32): i32 {
  if (tScaleBits(a) != tScaleBits(b)) return opFail(ErrorKind.Shape, Field.Scale, i);
  if (tZeroPoint(a) != tZeroPoint(b)) return opFail(ErrorKind.Shape, Field.ZeroPoint, i);
  return 0;
}

@inline function in1to255(v: i32): bool { return <u32>(v - 1) < 255; }

/**
 * Window geometry KH KW SH SW PT PL [DH DW] at `p` for input x and output y: kernel, stride, dilation 1..255,
 * 0 <= PT <= (KH-1)*DH (likewise PL), and at most one window of bottom/right padding:
 * (OH-1)*SH + (KH-1)*DH + 1 <= PT + H + (KH-1)*DH, i.e. (OH-1)*SH + 1 <= PT + H (likewise W).
 */
function checkWindow(i: i32, p: u32, x: u32, y: u32, dilated: bool): i32 {
  const KH = rd_i32(p), KW = rd_i32(p + 4), SH = rd_i32(p + 8), SW = rd_i32(p + 12);
  const PT = rd_i32(p + 16), PL = rd_i32(p + 20);
  const DH = dilated ? rd_i32(p + 24) : 1, DW = dilated ? rd_i32(p + 28) : 1;
  if (!in1to255(KH) || !in1to255(KW) || !in1to255(SH) || !in1to255(SW) || !in1to255(DH) || !in1to255(DW)) {
    return opFail(ErrorKind.Range, Field.Param, i);
  }
  if (PT < 0 || PT > (KH - 1) * DH || PL < 0 || PL > (KW - 1) * DW) return opFail(ErrorKind.Range, Field.Param, i);
  const OH = <i64>tDim(y, 0), OW = <i64>tDim(y, 1);
  if ((OH - 1) * <i64>SH + 1 > <i64>PT + <i64>tDim(x, 0)) return opFail(ErrorKind.Shape, Field.OutputId, i);
  if ((OW - 1) * <i64>SW + 1 > <i64>PL + <i64>tDim(x, 1)) return opFail(ErrorKind.Shape, Field.OutputId, i);
  gKH = KH; gKW = KW; gSH = SH; gSW = SW; gDH = DH; gDW = DW;
  return 0;
}

/** int8 requantization params at p: shift in [minShift, 62], then lo <= hi within -128..127. */
function checkShiftLoHi(i: i32, p: u32, minShift: i32): i32 {
  const shift = rd_i32(p), lo = rd_i32(p + 4), hi = rd_i32(p + 8);
  if (shift < minShift || shift > 62) return opFail(ErrorKind.Range, Field.Param, i);
  if (lo < -128 || hi > 127 || lo > hi) return opFail(ErrorKind.Range, Field.Param, i);
  return 0;
}

/** f32 clamp params lo, hi at p: not NaN (infinities allowed) and lo <= hi. */
function checkF32LoHi(i: i32, p: u32): i32 {
  const lo = rd_f32(p), hi = rd_f32(p + 4);
  if (!(lo <= hi)) return opFail(ErrorKind.Range, Field.Param, i); // false for NaN too
  return 0;
}

/**
 * Packed weight sizes: `need` is the layout's size computed in u64 from the file's values. Only once it fits an
 * i32 is the kernel's own *_packed_bytes function called (its i32 arithmetic then cannot wrap), and the record's
 * weights bytes must equal what the kernel says.
 */
@inline function weightsFit(need: u64): bool { return need <= I32_MAX; }

/** The op's dtype pattern: input 0 and output of the given dtypes. */
function dtypes(i: i32, x: u32, xdt: u32, y: u32, ydt: u32): i32 {
  if (tDtype(x) != xdt) return opFail(ErrorKind.Shape, Field.InputId, i);
  if (tDtype(y) != ydt) return opFail(ErrorKind.Shape, Field.OutputId, i);
  return 0;
}

// The values of packed qs8 layers. Every build must compute the same int32 accumulators from them: the relaxed
// build splits weights into max(w, 0) and max(-w, 0), which must both fit [0, 127] (w != -128), and reads the
// stored sums and the zero channel padding; the SIMD depthwise kernel adds pairs of products in int16 (again
// w != -128); and no accumulator may overflow, in any build or order of summation: with |x - zx| <= 255,
// |bias| + 255 * sum |w| <= 2^31 - 1 per output channel. The multipliers are in [0, 2^31) (requant.ts).
// A packer-written layer always passes (src/pack/layout.ts); a hostile one could make the builds disagree.

/** Packed qs8 GEMM layer (qs8_gemm.ts) at weights offset `w`: N outputs, T taps of C channels. */
function checkQs8GemmValues(i: i32, w: u32, N: u32, T: u32, C: u32): i32 {
  const Np = (N + 3) & ~3, Cp = (C + 3) & ~3, K = T * Cp; // Np * K < 2^31: the size was checked
  const base = weightsOff + w, tail = base + Np * K;
  for (let n: u32 = 0; n < Np; n++) {
    const row = base + (n >> 2) * (K << 2) + ((n & 3) << 2);
    let sum: i64 = 0, neg: i64 = 0, c: u32 = 0;
    for (let k: u32 = 0; k < K; k += 4) {
      const q = rd_u32(row + (k << 2)); // w[n][k .. k+3]
      for (let j: u32 = 0; j < 4; j++) {
        const v = <i32><i8>(q >> (j << 3));
        if (v == -128 || (v != 0 && (n >= N || c + j >= C))) return opFail(ErrorKind.Range, Field.WeightValues, i);
        sum += v;
        if (v < 0) neg -= v;
      }
      c += 4;
      if (c == Cp) c = 0;
    }
    const t = tail + (n << 2);
    const bias = <i64>rd_i32(t), mult = rd_i32(t + (Np << 2));
    const sumw = <i64>rd_i32(t + (Np << 3)), sumwn = <i64>rd_i32(t + Np * 12);
    if (n >= N && (bias != 0 || mult != 0 || sumw != 0 || sumwn != 0)) return opFail(ErrorKind.Range, Field.WeightValues, i);
    if (mult < 0) return opFail(ErrorKind.Range, Field.WeightValues, i);
    const absSum = sum + 2 * neg; // sum |w|
    if ((bias < 0 ? -bias : bias) + 255 * absSum > <i64>I32_MAX) return opFail(ErrorKind.Range, Field.WeightValues, i);
    if (sumw != sum || sumwn != neg) return opFail(ErrorKind.Range, Field.WeightValues, i);
  }
  return 0;
}

/** Packed qs8 depthwise layer (qs8_dwconv2d.ts) at weights offset `w`: C channels, T taps. */
function checkQs8DwValues(i: i32, w: u32, C: u32, T: u32): i32 {
  const base = weightsOff + w, tail = base + T * C; // T * C + 8 * C < 2^31: the size was checked
  for (let c: u32 = 0; c < C; c++) {
    let abs: i64 = 0;
    for (let t: u32 = 0; t < T; t++) {
      const v = <i32><i8>rd_u8(base + t * C + c);
      if (v == -128) return opFail(ErrorKind.Range, Field.WeightValues, i);
      abs += v < 0 ? -v : v;
    }
    const bias = <i64>rd_i32(tail + (c << 2)), mult = rd_i32(tail + ((C + c) << 2));
    if (mult < 0) return opFail(ErrorKind.Range, Field.WeightValues, i);
    if ((bias < 0 ? -bias : bias) + 255 * abs > <i64>I32_MAX) return opFail(ErrorKind.Range, Field.WeightValues, i);
  }
  return 0;
}

// ---- sub-8-bit layers (1.1): qs4_conv2d.ts / qs4_dwconv2d.ts layouts, decoded value by value ----------------

function subPackedBytes(kind: i32, N: i32, T: i32, C: i32): i32 {
  return kind == 4 ? qs4_packed_bytes(N, T, C) : kind == 2 ? qs2_packed_bytes(N, T, C) : qbw_packed_bytes(N, T, C);
}

/** Weight (n, k) of a packed sub-8-bit GEMM layer whose rows start at `base` (K padded, see the kernels). */
function subWeight(kind: i32, base: u32, K: u32, n: u32, k: u32): i32 {
  const c = n & 3;
  if (kind == 4) {
    const b = <i32>rd_u8(base + (n >> 2) * (K << 1) + (k >> 2) * 8 + 4 * (c & 1) + (k & 3));
    return c < 2 ? (b & 15) - 8 : (b << 24) >> 28;
  }
  if (kind == 2) {
    const c8 = n & 7, m = <i32>(c8 >> 1);
    const b = <i32>rd_u8(base + (n >> 3) * (K << 1) + (k >> 2) * 8 + 4 * (c8 & 1) + (k & 3));
    return m < 3 ? ((b >> (m << 1)) & 3) - 2 : (b << 24) >> 30;
  }
  const c16 = n & 15;
  const u = <i32>rd_u8(base + (n >> 4) * (K << 1) + (k >> 2) * 8 + 4 * (c16 & 1) + (k & 3));
  return ((u >> <i32>(c16 >> 1)) & 1) != 0 ? -1 : 1;
}

// Every build must compute the same int32 accumulators: zero in the channel padding of the 4- and 2-bit layouts
// (the relaxed int4 path reads it; the SIMD int4 path for a last block of <= 2 channels assumes it), stored sums equal to the weights' (the relaxed int4 path uses sumw), and
// |bias| + 255 * sum |w| <= 2^31 - 1. BWN padding is +1 against a zero activation (int16 A in every build).
function checkSubGemmValues(i: i32, kind: i32, w: u32, N: u32, T: u32, C: u32): i32 {
  const al: u32 = kind == 2 ? 15 : 7;
  const Cp = (C + al) & ~al, K = T * Cp, Np = (N + 3) & ~3, Nw = kind == 2 ? (N + 7) & ~7 : kind == 1 ? (N + 15) & ~15 : Np; // weight rows
  const base = weightsOff + w, tail = base + (Nw * K * <u32>kind) / 8;
  for (let n: u32 = 0; n < Nw; n++) {
    let sum: i64 = 0, abs: i64 = 0, c: u32 = 0;
    for (let k: u32 = 0; k < K; k++) {
      const v = subWeight(kind, base, K, n, k);
      const pad = n >= N || c >= C;
      if (pad && kind != 1 && v != 0) return opFail(ErrorKind.Range, Field.WeightValues, i);
      if (!pad) { sum += v; abs += v < 0 ? -v : v; }
      c++;
      if (c == Cp) c = 0;
    }
    if (n >= Np) continue; // 2-bit and BWN rows past ceil4(N): weights only
    const t = tail + (n << 2);
    const bias = <i64>rd_i32(t), mult = rd_i32(t + (Np << 2)), sumw = <i64>rd_i32(t + (Np << 3));
    if (n >= N && (bias != 0 || mult != 0 || sumw != 0)) return opFail(ErrorKind.Range, Field.WeightValues, i);
    if (mult < 0) return opFail(ErrorKind.Range, Field.WeightValues, i);
    if ((bias < 0 ? -bias : bias) + 255 * abs > <i64>I32_MAX) return opFail(ErrorKind.Range, Field.WeightValues, i);
    if (n < N && sumw != sum) return opFail(ErrorKind.Range, Field.WeightValues, i);
  }
  return 0;
}

/** Packed int4 depthwise layer (qs4_dwconv2d.ts): any nibble is valid; multipliers and accumulator bound. */
function checkQs4DwValues(i: i32, w: u32, C: u32, T: u32): i32 {
  const Cb = (C + 1) >> 1;
  const base = weightsOff + w, tail = base + T * Cb;
  for (let c: u32 = 0; c < C; c++) {
    let abs: i64 = 0;
    for (let t: u32 = 0; t < T; t++) {
      const v = (<i32>(rd_u8(base + t * Cb + (c >> 1)) >> ((c & 1) << 2)) << 28) >> 28;
      abs += v < 0 ? -v : v;
    }
    const bias = <i64>rd_i32(tail + (c << 2)), mult = rd_i32(tail + ((C + c) << 2));
    if (mult < 0) return opFail(ErrorKind.Range, Field.WeightValues, i);
    if ((bias < 0 ? -bias : bias) + 255 * abs > <i64>I32_MAX) return opFail(ErrorKind.Range, Field.WeightValues, i);
  }
  return 0;
}

const U64_MAX_NEED: u64 = 0xffffffffffff;
// Codebook layers (qlut_conv2d.ts): params bits 1..8, entries 1..2^bits, perChannel 0 / 1 (at p); the size
// from the kernel's qlut_packed_bytes; every index of a real channel < entries, padding indices and padding
// bytes 0, table entries >= entries 0 and none -128, multipliers >= 0, and |bias| + 255 * sum |w| <= 2^31 - 1
// with w the table value of each index.
function checkQlutParams(i: i32, p: u32): i32 {
  const bits = rd_i32(p), entries = rd_i32(p + 4), perCh = rd_i32(p + 8);
  if (bits < 1 || bits > 8 || entries < 1 || entries > (1 << bits) || (perCh != 0 && perCh != 1)) return opFail(ErrorKind.Range, Field.Param, i);
  return 0;
}

function qlutNeed(N: u32, T: u32, C: u32, bits: u32, perCh: u32): u64 {
  // the kernels address a row's bits in i32: K*bits < 2^31 (a row of at most 256 MiB)
  if (<u64>T * ((<u64>C + 15) & ~(<u64>15)) * <u64>bits > <u64>I32_MAX) return U64_MAX_NEED;
  const idx = ((<u64>N * <u64>T * ((<u64>C + 15) & ~(<u64>15)) * <u64>bits) / 8 + 15) & ~(<u64>15);
  return idx + <u64>(perCh != 0 ? N : 1) * <u64>max<u32>(16, 1 << bits) + 8 * <u64>N;
}

function checkQlutValues(i: i32, w: u32, N: u32, T: u32, C: u32, bits: u32, entries: u32, perCh: u32): i32 {
  const Cp = (C + 15) & ~15, K = T * Cp, rowBytes = (K * bits) >> 3, S = max<u32>(16, 1 << bits);
  const base = weightsOff + w, idxEnd = (N * rowBytes + 15) & ~15;
  const tables = base + idxEnd, G = perCh != 0 ? N : 1;
  for (let b = N * rowBytes; b < idxEnd; b++) if (rd_u8(base + b) != 0) return opFail(ErrorKind.Range, Field.WeightValues, i);
  for (let g: u32 = 0; g < G; g++) {
    for (let j: u32 = 0; j < S; j++) {
      const v = <i32><i8>rd_u8(tables + g * S + j);
      if (v == -128 || (j >= entries && v != 0)) return opFail(ErrorKind.Range, Field.WeightValues, i);
    }
  }
  const mask: u32 = (1 << bits) - 1;
  const tail = tables + G * S;
  for (let n: u32 = 0; n < N; n++) {
    const row = base + n * rowBytes, tbl = tables + (perCh != 0 ? n * S : 0);
    let abs: i64 = 0, c: u32 = 0;
    for (let k: u32 = 0; k < K; k++) {
      const bit = k * bits;
      const at = row + (bit >> 3);
      const u = <u32>rd_u8(at) | (bit + bits > ((bit >> 3) + 1) * 8 ? <u32>rd_u8(at + 1) << 8 : 0);
      const ix = (u >> (bit & 7)) & mask;
      if (c >= C ? ix != 0 : ix >= entries) return opFail(ErrorKind.Range, Field.WeightValues, i);
      const v = <i32><i8>rd_u8(tbl + ix);
      abs += v < 0 ? -v : v;
      c++;
      if (c == Cp) c = 0;
    }
    const bias = <i64>rd_i32(tail + (n << 2)), mult = rd_i32(tail + ((N + n) << 2));
    if (mult < 0) return opFail(ErrorKind.Range, Field.WeightValues, i);
    if ((bias < 0 ? -bias : bias) + 255 * abs > <i64>I32_MAX) return opFail(ErrorKind.Range, Field.WeightValues, i);
  }
  return 0;
}

/**
 * Packed codebook depthwise layer (qs2_dwconv2d.ts, qlut): per tap row, indices < entries and the bits past C*b
 * zero; table values in [-127, 127] and 0 past the entries; mult in [0, 2^31); |bias| + 255 * sum_t |w| within
 * int32 per channel.
 */
function checkQlutDwValues(i: i32, w: u32, C: u32, T: u32, bits: u32, entries: u32, perCh: u32): i32 {
  const Rb = (C * bits + 7) >> 3, S = max<u32>(16, 1 << bits), G = perCh != 0 ? C : 1;
  const base = weightsOff + w, tables = base + T * Rb, tail = tables + G * S;
  for (let g: u32 = 0; g < G; g++) {
    for (let j: u32 = 0; j < S; j++) {
      const v = <i32><i8>rd_u8(tables + g * S + j);
      if (v == -128 || (j >= entries && v != 0)) return opFail(ErrorKind.Range, Field.WeightValues, i);
    }
  }
  const mask: u32 = (1 << bits) - 1;
  for (let t: u32 = 0; t < T; t++) {
    const row = base + t * Rb;
    for (let k = C * bits; k < Rb << 3; k++) if (((rd_u8(row + (k >> 3)) >> (k & 7)) & 1) != 0) return opFail(ErrorKind.Range, Field.WeightValues, i);
  }
  for (let c: u32 = 0; c < C; c++) {
    const tbl = tables + (perCh != 0 ? c * S : 0);
    let abs: i64 = 0;
    for (let t: u32 = 0; t < T; t++) {
      const bit = c * bits, at = base + t * Rb + (bit >> 3);
      const u = <u32>rd_u8(at) | ((bit & 7) + bits > 8 ? <u32>rd_u8(at + 1) << 8 : 0);
      const ix = (u >> (bit & 7)) & mask;
      if (ix >= entries) return opFail(ErrorKind.Range, Field.WeightValues, i);
      const v = <i32><i8>rd_u8(tbl + ix);
      abs += v < 0 ? -v : v;
    }
    const bias = <i64>rd_i32(tail + (c << 2)), mult = rd_i32(tail + ((C + c) << 2));
    if (mult < 0) return opFail(ErrorKind.Range, Field.WeightValues, i);
    if ((bias < 0 ? -bias : bias) + 255 * abs > <i64>I32_MAX) return opFail(ErrorKind.Range, Field.WeightValues, i);
  }
  return 0;
}

/** Byte holding bit k of channel n in a packed binary conv layer: u64 words w[Np/4][Kw][4] (qb1_conv2d.ts). */
@inline function qb1Byte(base: u32, n: u32, k: u32, Kw: u32): u32 {
  return base + (((((n >> 2) * Kw + (k >> 6)) << 2) + (n & 3)) << 3) + ((k & 63) >> 3);
}

/**
 * Packed binary conv / dense layer (qb1_conv2d.ts): weight bits zero past K and in the padding rows, popw equal to
 * each tap's number of +1 weights, mult in [0, 2^31), padding rows' tail zero, and |bias| + K <= 2^31 - 1 (the
 * +-1 dot product lies in [-K, K]).
 */
function checkQb1Values(i: i32, w: u32, N: u32, T: u32, C: u32): i32 {
  const K = T * C, Kw = (K + 63) >> 6, Kb = Kw << 3, Np = (N + 3) & ~3;
  const base = weightsOff + w, bias = base + Np * Kb, mult = bias + (Np << 2), popw = mult + (Np << 2);
  for (let n: u32 = 0; n < Np; n++) {
    for (let t: u32 = 0; t < T; t++) {
      let pop: u32 = 0;
      if (n < N) for (let c: u32 = 0; c < C; c++) { const k = t * C + c; pop += (rd_u8(qb1Byte(base, n, k, Kw)) >> (k & 7)) & 1; }
      if (<u32>rd_u16(popw + ((t * Np + n) << 1)) != pop) return opFail(ErrorKind.Range, Field.WeightValues, i);
    }
    // bits past K (and every bit of a padding row) are zero
    for (let k: u32 = n < N ? K : 0; k < Kw << 6; k++) {
      if (((rd_u8(qb1Byte(base, n, k, Kw)) >> (k & 7)) & 1) != 0) return opFail(ErrorKind.Range, Field.WeightValues, i);
    }
    const bv = <i64>rd_i32(bias + (n << 2)), m = rd_i32(mult + (n << 2));
    if (n >= N && (bv != 0 || m != 0)) return opFail(ErrorKind.Range, Field.WeightValues, i);
    if (m < 0 || (bv < 0 ? -bv : bv) + <i64>K > <i64>I32_MAX) return opFail(ErrorKind.Range, Field.WeightValues, i);
  }
  return 0;
}

/**
 * Packed 2-bit / BWN / binary depthwise layers (qs2_dwconv2d.ts, qb1_dwconv2d.ts): bits past C zero in every tap
 * row, mult in [0, 2^31), and the accumulator bound: |bias| + 255 * sum |w| <= 2^31 - 1 (int8 activations), or
 * |bias| + T (binary activations, the +-1 dot product lies in [-T, T]).
 */
function checkLowDwValues(i: i32, code: u32, w: u32, C: u32, T: u32): i32 {
  const two = code == Op.DwConv2dQs2;
  const Cb = two ? (C + 3) >> 2 : (C + 7) >> 3;
  const base = weightsOff + w, tail = base + T * Cb;
  const used: u32 = two ? 2 * (C - ((Cb - 1) << 2)) : C - ((Cb - 1) << 3); // bits used in a row's last byte
  for (let t: u32 = 0; t < T; t++) {
    if (used < 8 && (rd_u8(base + t * Cb + Cb - 1) >> used) != 0) return opFail(ErrorKind.Range, Field.WeightValues, i);
  }
  for (let c: u32 = 0; c < C; c++) {
    let abs: i64 = 0;
    if (code == Op.DwConv2dQb1) abs = <i64>T;
    else {
      for (let t: u32 = 0; t < T; t++) {
        const b = <i32>rd_u8(base + t * Cb + (c >> (two ? 2 : 3)));
        const v = two ? (b << (30 - ((c & 3) << 1))) >> 30 : 1;
        abs += 255 * <i64>(v < 0 ? -v : v);
      }
    }
    const bias = <i64>rd_i32(tail + (c << 2)), mult = rd_i32(tail + ((C + c) << 2));
    if (mult < 0) return opFail(ErrorKind.Range, Field.WeightValues, i);
    if ((bias < 0 ? -bias : bias) + abs > <i64>I32_MAX) return opFail(ErrorKind.Range, Field.WeightValues, i);
  }
  return 0;
}

function checkOpSemantics(i: i32, code: u32, r: u32, nIn: u32, y: u32, s: u32, wBytes: u32): i32 {
  const x = rd_u16(r + OP_HDR);
  const p = opParams(r, nIn);
  let e: i32 = 0;
  switch (code) {
    case Op.Conv2dQs8: {
      if ((e = dtypes(i, x, DType.I8, y, DType.I8)) != 0) return e;
      if ((e = checkWindow(i, p, x, y, true)) != 0) return e;
      if ((e = checkShiftLoHi(i, p + 32, 31)) != 0) return e;
      const C = tDim(x, 2), N = tDim(y, 2), taps = gKH * gKW;
      const need = ceil4(N) * <u64>taps * ceil4(C) + 16 * ceil4(N);
      if (!weightsFit(need) || <u32>qs8_packed_bytes(<i32>N, taps, <i32>C) != wBytes) return opFail(ErrorKind.Range, Field.WeightsBytes, i);
      if ((e = checkQs8GemmValues(i, rd_u32(r + 12), N, <u32>taps, C)) != 0) return e;
      // Scratch: the padded image with 2-byte elements (the largest of the builds) + the tap table.
      const Hp = (<u64>tDim(y, 0) - 1) * <u64>gSH + <u64>((gKH - 1) * gDH) + 1;
      const Wp = (<u64>tDim(y, 1) - 1) * <u64>gSW + <u64>((gKW - 1) * gDW) + 1;
      const img = Hp * Wp; // < 2^50
      if (img > I32_MAX || img * ceil4(C) * 2 + 4 * <u64>taps > <u64>tBytes(s)) return opFail(ErrorKind.Range, Field.ScratchId, i);
      return 0;
    }
    case Op.Conv2dQs4:
    case Op.Conv2dQs2:
    case Op.Conv2dQbw: {
      if (!LOWBIT) break; // the lite build: not compiled (features.ts)
      if ((e = dtypes(i, x, DType.I8, y, DType.I8)) != 0) return e;
      if ((e = checkWindow(i, p, x, y, true)) != 0) return e;
      if ((e = checkShiftLoHi(i, p + 32, 31)) != 0) return e;
      const C = tDim(x, 2), N = tDim(y, 2), taps = gKH * gKW;
      const kind = code == Op.Conv2dQs4 ? 4 : code == Op.Conv2dQs2 ? 2 : 1;
      const Cp = kind == 2 ? (<u64>C + 15) & ~(<u64>15) : ceil8(C);
      const need = (kind == 2 ? (<u64>N + 7) & ~(<u64>7) : kind == 1 ? (<u64>N + 15) & ~(<u64>15) : ceil4(N)) * <u64>taps * Cp * <u64>kind / 8 + 16 * ceil4(N);
      if (!weightsFit(need) || <u32>subPackedBytes(kind, <i32>N, taps, <i32>C) != wBytes) return opFail(ErrorKind.Range, Field.WeightsBytes, i);
      if ((e = checkSubGemmValues(i, kind, rd_u32(r + 12), N, <u32>taps, C)) != 0) return e;
      const Hp = (<u64>tDim(y, 0) - 1) * <u64>gSH + <u64>((gKH - 1) * gDH) + 1;
      const Wp = (<u64>tDim(y, 1) - 1) * <u64>gSW + <u64>((gKW - 1) * gDW) + 1;
      const img = Hp * Wp;
      if (img > I32_MAX || img * Cp * 2 + 4 * <u64>taps > <u64>tBytes(s)) return opFail(ErrorKind.Range, Field.ScratchId, i);
      return 0;
    }
    case Op.DenseQs4:
    case Op.DenseQs2:
    case Op.DenseQbw: {
      if (!LOWBIT) break; // the lite build: not compiled (features.ts)
      if ((e = dtypes(i, x, DType.I8, y, DType.I8)) != 0) return e;
      if (tDim(y, 0) != 1 || tDim(y, 1) != 1) return opFail(ErrorKind.Shape, Field.OutputId, i);
      if ((e = checkShiftLoHi(i, p, 31)) != 0) return e;
      const K = tBytes(x), N = tDim(y, 2);
      const kind = code == Op.DenseQs4 ? 4 : code == Op.DenseQs2 ? 2 : 1;
      const Kp = kind == 2 ? (<u64>K + 15) & ~(<u64>15) : ceil8(K);
      const need = (kind == 2 ? (<u64>N + 7) & ~(<u64>7) : kind == 1 ? (<u64>N + 15) & ~(<u64>15) : ceil4(N)) * Kp * <u64>kind / 8 + 16 * ceil4(N);
      if (!weightsFit(need) || <u32>subPackedBytes(kind, <i32>N, 1, <i32>K) != wBytes) return opFail(ErrorKind.Range, Field.WeightsBytes, i);
      if ((e = checkSubGemmValues(i, kind, rd_u32(r + 12), N, 1, K)) != 0) return e;
      if (Kp * 2 + 16 > <u64>tBytes(s)) return opFail(ErrorKind.Range, Field.ScratchId, i);
      return 0;
    }
    case Op.Conv2dQlut: {
      if (!LOWBIT) break; // the lite build: not compiled (features.ts)
      if ((e = dtypes(i, x, DType.I8, y, DType.I8)) != 0) return e;
      if ((e = checkWindow(i, p, x, y, true)) != 0) return e;
      if ((e = checkShiftLoHi(i, p + 32, 31)) != 0) return e;
      if ((e = checkQlutParams(i, p + 44)) != 0) return e;
      const C = tDim(x, 2), N = tDim(y, 2), taps = gKH * gKW;
      const bits = rd_u32(p + 44), entries = rd_u32(p + 48), perCh = rd_u32(p + 52);
      if (!weightsFit(qlutNeed(N, <u32>taps, C, bits, perCh)) || <u32>qlut_packed_bytes(<i32>N, taps, <i32>C, <i32>bits, <i32>perCh) != wBytes) {
        return opFail(ErrorKind.Range, Field.WeightsBytes, i);
      }
      if ((e = checkQlutValues(i, rd_u32(r + 12), N, <u32>taps, C, bits, entries, perCh)) != 0) return e;
      const Hp = (<u64>tDim(y, 0) - 1) * <u64>gSH + <u64>((gKH - 1) * gDH) + 1;
      const Wp = (<u64>tDim(y, 1) - 1) * <u64>gSW + <u64>((gKW - 1) * gDW) + 1;
      const img = Hp * Wp;
      if (img > I32_MAX || img * ((<u64>C + 15) & ~(<u64>15)) * 2 + 4 * <u64>taps > <u64>tBytes(s)) return opFail(ErrorKind.Range, Field.ScratchId, i);
      return 0;
    }
    case Op.DenseQlut: {
      if (!LOWBIT) break; // the lite build: not compiled (features.ts)
      if ((e = dtypes(i, x, DType.I8, y, DType.I8)) != 0) return e;
      if (tDim(y, 0) != 1 || tDim(y, 1) != 1) return opFail(ErrorKind.Shape, Field.OutputId, i);
      if ((e = checkShiftLoHi(i, p, 31)) != 0) return e;
      if ((e = checkQlutParams(i, p + 12)) != 0) return e;
      const K = tBytes(x), N = tDim(y, 2);
      const bits = rd_u32(p + 12), entries = rd_u32(p + 16), perCh = rd_u32(p + 20);
      if (!weightsFit(qlutNeed(N, 1, K, bits, perCh)) || <u32>qlut_packed_bytes(<i32>N, 1, <i32>K, <i32>bits, <i32>perCh) != wBytes) {
        return opFail(ErrorKind.Range, Field.WeightsBytes, i);
      }
      if ((e = checkQlutValues(i, rd_u32(r + 12), N, 1, K, bits, entries, perCh)) != 0) return e;
      if (((<u64>K + 15) & ~(<u64>15)) * 2 + 16 > <u64>tBytes(s)) return opFail(ErrorKind.Range, Field.ScratchId, i);
      return 0;
    }
    case Op.DwConv2dQs4: {
      if (!LOWBIT) break; // the lite build: not compiled (features.ts)
      if ((e = dtypes(i, x, DType.I8, y, DType.I8)) != 0) return e;
      if (tDim(y, 2) != tDim(x, 2)) return opFail(ErrorKind.Shape, Field.OutputId, i);
      if ((e = checkWindow(i, p, x, y, true)) != 0) return e;
      if ((e = checkShiftLoHi(i, p + 32, 31)) != 0) return e;
      const C = tDim(x, 2);
      const need = <u64>(gKH * gKW) * ((<u64>C + 1) >> 1) + 8 * <u64>C;
      if (!weightsFit(need) || <u32>qs4_dwconv2d_packed_bytes(<i32>C, gKH, gKW) != wBytes) return opFail(ErrorKind.Range, Field.WeightsBytes, i);
      return checkQs4DwValues(i, rd_u32(r + 12), C, <u32>(gKH * gKW));
    }
    case Op.DwConv2dQlut: {
      if (!LOWBIT) break; // the lite build: not compiled (features.ts)
      if ((e = dtypes(i, x, DType.I8, y, DType.I8)) != 0) return e;
      if (tDim(y, 2) != tDim(x, 2)) return opFail(ErrorKind.Shape, Field.OutputId, i);
      if ((e = checkWindow(i, p, x, y, true)) != 0) return e;
      if ((e = checkShiftLoHi(i, p + 32, 31)) != 0) return e;
      if ((e = checkQlutParams(i, p + 44)) != 0) return e;
      // the kernel decodes an 8-channel block's taps into a 64-tap buffer
      if (gKH * gKW > 64) return opFail(ErrorKind.Range, Field.Param, i);
      const C = tDim(x, 2), T = <u32>(gKH * gKW);
      const bits = rd_u32(p + 44), entries = rd_u32(p + 48), perCh = rd_u32(p + 52);
      const need = <u64>T * ((<u64>C * <u64>bits + 7) >> 3) + <u64>(perCh != 0 ? C : 1) * <u64>max<u32>(16, 1 << bits) + 8 * <u64>C;
      if (!weightsFit(need) || <u32>qlut_dwconv2d_packed_bytes(<i32>C, gKH, gKW, <i32>bits, <i32>perCh) != wBytes) return opFail(ErrorKind.Range, Field.WeightsBytes, i);
      return checkQlutDwValues(i, rd_u32(r + 12), C, T, bits, entries, perCh);
    }
    case Op.SignQb1: {
      if (!LOWBIT) break; // the lite build: not compiled (features.ts)
      if ((e = dtypes(i, x, DType.I8, y, DType.B1)) != 0) return e;
      if (!dimsEqual(y, x)) return opFail(ErrorKind.Shape, Field.OutputId, i);
      const t = rd_i32(p);
      if (t < -128 || t > 127) return opFail(ErrorKind.Range, Field.Param, i);
      return 0;
    }
    case Op.Conv2dQb1:
    case Op.DenseQb1: {
      if (!LOWBIT) break; // the lite build: not compiled (features.ts)
      if ((e = dtypes(i, x, DType.B1, y, DType.I8)) != 0) return e;
      const dense = code == Op.DenseQb1;
      if (dense) {
        // a dense layer over the whole H x W x C bit tensor: the conv with KH = H, KW = W (1 x 1 output)
        if (tDim(y, 0) != 1 || tDim(y, 1) != 1) return opFail(ErrorKind.Shape, Field.OutputId, i);
        if ((e = checkShiftLoHi(i, p, 31)) != 0) return e;
        if (<u64>tDim(x, 0) * <u64>tDim(x, 1) > 64) return opFail(ErrorKind.Shape, Field.InputId, i);
        gKH = <i32>tDim(x, 0); gKW = <i32>tDim(x, 1);
      } else {
        if ((e = checkWindow(i, p, x, y, true)) != 0) return e;
        if ((e = checkShiftLoHi(i, p + 32, 31)) != 0) return e;
        // padding masks are 64-bit: at most 64 taps
        if (gKH * gKW > 64) return opFail(ErrorKind.Range, Field.Param, i);
      }
      const C = tDim(x, 2), N = tDim(y, 2), taps = <u32>(gKH * gKW);
      // K = taps * C < 2^22 bits; row bytes ceil64(K) / 8; 64-bit popcounts summed in int32 (qb1_conv2d.ts)
      const K = <u64>taps * <u64>C, Kb = ((K + 63) >> 6) << 3;
      const need = ceil4(N) * Kb + 8 * ceil4(N) + 2 * <u64>taps * ceil4(N);
      if (!weightsFit(need) || <u32>qb1_packed_bytes(<i32>N, <i32>taps, <i32>C) != wBytes) return opFail(ErrorKind.Range, Field.WeightsBytes, i);
      if ((e = checkQb1Values(i, rd_u32(r + 12), N, taps, C)) != 0) return e;
      if (32 * (Kb + 8) + 16 > <u64>tBytes(s) || <u32>qb1_conv2d_scratch_bytes(gKH, gKW, <i32>C) > tBytes(s)) return opFail(ErrorKind.Range, Field.ScratchId, i);
      return 0;
    }
    case Op.DwConv2dQs2:
    case Op.DwConv2dQbw:
    case Op.DwConv2dQb1: {
      if (!LOWBIT) break; // the lite build: not compiled (features.ts)
      const b1 = code == Op.DwConv2dQb1;
      if ((e = dtypes(i, x, b1 ? DType.B1 : DType.I8, y, DType.I8)) != 0) return e;
      if (tDim(y, 2) != tDim(x, 2)) return opFail(ErrorKind.Shape, Field.OutputId, i);
      if ((e = checkWindow(i, p, x, y, true)) != 0) return e;
      if ((e = checkShiftLoHi(i, p + 32, 31)) != 0) return e;
      const C = tDim(x, 2), T = <u32>(gKH * gKW);
      // binary depthwise: mismatches are counted in u8 lanes, so at most 255 taps
      if (b1 && T > 255) return opFail(ErrorKind.Range, Field.Param, i);
      const per: u64 = code == Op.DwConv2dQs2 ? 4 : 8; // channels per byte
      const need = <u64>T * ((<u64>C + per - 1) / per) + 8 * <u64>C;
      const packed = code == Op.DwConv2dQs2 ? qs2_dwconv2d_packed_bytes(<i32>C, gKH, gKW)
        : code == Op.DwConv2dQbw ? qbw_dwconv2d_packed_bytes(<i32>C, gKH, gKW) : qb1_dwconv2d_packed_bytes(<i32>C, gKH, gKW);
      if (!weightsFit(need) || <u32>packed != wBytes) return opFail(ErrorKind.Range, Field.WeightsBytes, i);
      return checkLowDwValues(i, code, rd_u32(r + 12), C, T);
    }
    case Op.DwConv2dQs8: {
      if ((e = dtypes(i, x, DType.I8, y, DType.I8)) != 0) return e;
      if (tDim(y, 2) != tDim(x, 2)) return opFail(ErrorKind.Shape, Field.OutputId, i);
      if ((e = checkWindow(i, p, x, y, true)) != 0) return e;
      if ((e = checkShiftLoHi(i, p + 32, 31)) != 0) return e;
      const C = tDim(x, 2);
      const need = <u64>(gKH * gKW) * <u64>C + 8 * <u64>C;
      if (!weightsFit(need) || <u32>qs8_dwconv2d_packed_bytes(<i32>C, gKH, gKW) != wBytes) return opFail(ErrorKind.Range, Field.WeightsBytes, i);
      return checkQs8DwValues(i, rd_u32(r + 12), C, <u32>(gKH * gKW));
    }
    case Op.DenseQs8: {
      if ((e = dtypes(i, x, DType.I8, y, DType.I8)) != 0) return e;
      if (tDim(y, 0) != 1 || tDim(y, 1) != 1) return opFail(ErrorKind.Shape, Field.OutputId, i);
      if ((e = checkShiftLoHi(i, p, 31)) != 0) return e;
      const K = tBytes(x), N = tDim(y, 2); // K = H*W*C < 2^31 (the arena bound)
      const need = ceil4(N) * ceil4(K) + 16 * ceil4(N);
      if (!weightsFit(need) || <u32>qs8_packed_bytes(<i32>N, 1, <i32>K) != wBytes) return opFail(ErrorKind.Range, Field.WeightsBytes, i);
      if ((e = checkQs8GemmValues(i, rd_u32(r + 12), N, 1, K)) != 0) return e;
      if (ceil4(K) * 2 + 16 > <u64>tBytes(s)) return opFail(ErrorKind.Range, Field.ScratchId, i);
      return 0;
    }
    case Op.MaxPoolQs8:
    case Op.AvgPoolQs8: {
      if ((e = dtypes(i, x, DType.I8, y, DType.I8)) != 0) return e;
      if (tDim(y, 2) != tDim(x, 2)) return opFail(ErrorKind.Shape, Field.OutputId, i);
      if ((e = sameQuant(x, y, i)) != 0) return e; // these kernels keep the input's quantization
      return checkWindow(i, p, x, y, false);
    }
    case Op.GlobalAvgPoolQs8: {
      if ((e = dtypes(i, x, DType.I8, y, DType.I8)) != 0) return e;
      if (tDim(y, 0) != 1 || tDim(y, 1) != 1 || tDim(y, 2) != tDim(x, 2)) return opFail(ErrorKind.Shape, Field.OutputId, i);
      const mult = rd_i32(p), shift = rd_i32(p + 4);
      if (mult < 0 || shift < 31 || shift > 62) return opFail(ErrorKind.Range, Field.Param, i);
      // The int32 sum over the P = H*W pixels of (x - zx), |x - zx| <= 255, must not overflow.
      if (<u64>tDim(x, 0) * <u64>tDim(x, 1) * 255 > I32_MAX) return opFail(ErrorKind.Range, Field.InputId, i);
      return 0;
    }
    case Op.AddQs8: {
      const b = rd_u16(r + OP_HDR + 2);
      if ((e = dtypes(i, x, DType.I8, y, DType.I8)) != 0) return e;
      if (tDtype(b) != DType.I8 || !dimsEqual(b, x)) return opFail(ErrorKind.Shape, Field.InputId, i);
      if (!dimsEqual(y, x)) return opFail(ErrorKind.Shape, Field.OutputId, i);
      if (rd_i32(p) < 0 || rd_i32(p + 4) < 0) return opFail(ErrorKind.Range, Field.Param, i); // ma, mb
      return checkShiftLoHi(i, p + 8, 24);
    }
    case Op.Concat: {
      const dt = tDtype(y);
      if (dt != DType.I8 && dt != DType.F32) return opFail(ErrorKind.Shape, Field.OutputId, i);
      let sumC: u32 = 0; // at most 64 * 65535
      for (let k: u32 = 0; k < nIn; k++) {
        const t = rd_u16(r + OP_HDR + (k << 1));
        if (tDtype(t) != dt || tDim(t, 0) != tDim(y, 0) || tDim(t, 1) != tDim(y, 1)) return opFail(ErrorKind.Shape, Field.InputId, i);
        if (dt == DType.I8 && (e = sameQuant(t, y, i)) != 0) return e; // a pure copy: one quantization
        sumC += tDim(t, 2);
      }
      if (sumC != tDim(y, 2)) return opFail(ErrorKind.Shape, Field.OutputId, i);
      return 0;
    }
    case Op.LutQs8: {
      if ((e = dtypes(i, x, DType.I8, y, DType.I8)) != 0) return e;
      if (!dimsEqual(y, x)) return opFail(ErrorKind.Shape, Field.OutputId, i);
      if (wBytes != 256) return opFail(ErrorKind.Range, Field.WeightsBytes, i);
      return 0;
    }
    case Op.Quantize:
    case Op.Dequantize: {
      const q = code == Op.Quantize;
      if ((e = dtypes(i, x, q ? DType.F32 : DType.I8, y, q ? DType.I8 : DType.F32)) != 0) return e;
      if (!dimsEqual(y, x)) return opFail(ErrorKind.Shape, Field.OutputId, i);
      return 0;
    }
    case Op.Reshape: {
      const dt = tDtype(x);
      if (dt != DType.I8 && dt != DType.F32) return opFail(ErrorKind.Shape, Field.InputId, i);
      if (tDtype(y) != dt || tBytes(y) != tBytes(x)) return opFail(ErrorKind.Shape, Field.OutputId, i);
      if (dt == DType.I8) return sameQuant(x, y, i);
      return 0;
    }
    case Op.Conv2dF32: {
      if ((e = dtypes(i, x, DType.F32, y, DType.F32)) != 0) return e;
      if ((e = checkWindow(i, p, x, y, true)) != 0) return e;
      if ((e = checkF32LoHi(i, p + 32)) != 0) return e;
      const K = <u64>(gKH * gKW) * <u64>tDim(x, 2), N = tDim(y, 2);
      const need = ceil8(N) * (K + 1) * 4;
      if (!weightsFit(need) || <u32>f32_packed_bytes(<i32>N, <i32>K) != wBytes) return opFail(ErrorKind.Range, Field.WeightsBytes, i);
      if (64 * K > I32_MAX || <u32>f32_conv2d_scratch_bytes(<i32>K) > tBytes(s)) return opFail(ErrorKind.Range, Field.ScratchId, i);
      return 0;
    }
    case Op.DwConv2dF32: {
      if ((e = dtypes(i, x, DType.F32, y, DType.F32)) != 0) return e;
      if (tDim(y, 2) != tDim(x, 2)) return opFail(ErrorKind.Shape, Field.OutputId, i);
      if ((e = checkWindow(i, p, x, y, true)) != 0) return e;
      if ((e = checkF32LoHi(i, p + 32)) != 0) return e;
      const C = tDim(x, 2);
      const need = (<u64>(gKH * gKW) + 1) * <u64>C * 4;
      if (!weightsFit(need) || <u32>f32_dwconv2d_packed_bytes(<i32>C, gKH, gKW) != wBytes) return opFail(ErrorKind.Range, Field.WeightsBytes, i);
      return 0;
    }
    case Op.DenseF32: {
      if ((e = dtypes(i, x, DType.F32, y, DType.F32)) != 0) return e;
      if (tDim(y, 0) != 1 || tDim(y, 1) != 1) return opFail(ErrorKind.Shape, Field.OutputId, i);
      if ((e = checkF32LoHi(i, p)) != 0) return e;
      const K = <u64>(tBytes(x) >> 2), N = tDim(y, 2);
      const need = ceil8(N) * (K + 1) * 4;
      if (!weightsFit(need) || <u32>f32_packed_bytes(<i32>N, <i32>K) != wBytes) return opFail(ErrorKind.Range, Field.WeightsBytes, i);
      return 0;
    }
    case Op.MaxPoolF32:
    case Op.AvgPoolF32: {
      if ((e = dtypes(i, x, DType.F32, y, DType.F32)) != 0) return e;
      if (tDim(y, 2) != tDim(x, 2)) return opFail(ErrorKind.Shape, Field.OutputId, i);
      return checkWindow(i, p, x, y, false);
    }
    case Op.GlobalAvgPoolF32: {
      if ((e = dtypes(i, x, DType.F32, y, DType.F32)) != 0) return e;
      if (tDim(y, 0) != 1 || tDim(y, 1) != 1 || tDim(y, 2) != tDim(x, 2)) return opFail(ErrorKind.Shape, Field.OutputId, i);
      return 0;
    }
    case Op.AddF32: {
      const b = rd_u16(r + OP_HDR + 2);
      if ((e = dtypes(i, x, DType.F32, y, DType.F32)) != 0) return e;
      if (tDtype(b) != DType.F32 || !dimsEqual(b, x)) return opFail(ErrorKind.Shape, Field.InputId, i);
      if (!dimsEqual(y, x)) return opFail(ErrorKind.Shape, Field.OutputId, i);
      return checkF32LoHi(i, p);
    }
    case Op.ActF32: {
      if ((e = dtypes(i, x, DType.F32, y, DType.F32)) != 0) return e;
      if (!dimsEqual(y, x)) return opFail(ErrorKind.Shape, Field.OutputId, i);
      // kind 0 relu, 1 clamp(alpha, beta), 2 sigmoid, 3 hardswish, 4 leakyrelu(alpha), 5 hardsigmoid(alpha, beta)
      const kind = rd_i32(p), aBits = rd_u32(p + 4), bBits = rd_u32(p + 8);
      if (kind < 0 || kind > 5 || isNaN32(aBits) || isNaN32(bBits)) return opFail(ErrorKind.Range, Field.Param, i);
      if (kind == 1) return checkF32LoHi(i, p + 4); // clamp bounds may be infinite
      if (!isFinite32(aBits) || !isFinite32(bBits)) return opFail(ErrorKind.Range, Field.Param, i);
      return 0;
    }
  }
  return opFail(ErrorKind.Unknown, Field.OpCode, i); // unreachable: the code was checked
}
