// The runtime's exports: load (validate + bind), run, and read-only information about the bound model.
// Status codes: 0 ok, else `kind << 24 | section << 16 | field` (schema.ts ErrorKind / Section / Field);
// qwm_error_index() names the section entry, tensor or op concerned (-1 if none).
// Information functions return 0 (or -1 where said) when no model is bound or an argument is out of range.
//
// The host owns the model bytes: it qw_alloc's a 16-byte aligned block, copies the .qwm into it and keeps it
// unchanged while the model is bound (the weights are executed in place). The arena is qw_alloc'ed by qwm_load.

import { DType, ErrorKind, Field } from "./schema";
import { readerSet, readerBase, rd_u8, rd_u16, rd_f32 } from "./reader";
import {
  arenaBytes, clearError, errorIndex, fail, inputId, modelOff, opCount, opRecs, outputId, sectionLength, sectionOffset,
  tDim, tDtype, tScale, tZeroPoint, tensorCount, validate,
} from "./validate";
import { arenaBase, copyOutput, fillFromF32, fillFromPixels, inputElems, runOps, setArena, tensorPtr } from "./interpreter";
import { qw_alloc, qw_heap_rewind, qw_heap_top } from "./memory";

let loaded = false;
let modelLen: u32 = 0;

function unbind(): void {
  loaded = false;
  modelLen = 0;
  setArena(0);
  readerSet(0, 0);
}

/**
 * Validates the .qwm at [ptr, ptr + len), then allocates its arena (qw_alloc) and binds it. Any previous model
 * is unbound first; on error nothing stays bound. memLimit (0: none): refuse with ErrorKind.Limit before
 * allocating when arena bytes + len exceed it. Limit also when the allocation fails.
 */
export function qwm_load(ptr: usize, len: u32, memLimit: u32): i32 {
  unbind();
  const e = validate(ptr, len, memLimit);
  if (e != 0) {
    readerSet(0, 0);
    return e;
  }
  const mark = qw_heap_top();
  const arena = qw_alloc(<usize>arenaBytes);
  if (arena == 0) {
    readerSet(0, 0);
    return fail(ErrorKind.Limit, 0, Field.Memory, -1);
  }
  // The arena must not cover the model (possible only if the host placed the model above the heap top).
  if (<u64>arena < <u64>ptr + <u64>len && <u64>ptr < <u64>arena + <u64>arenaBytes) {
    qw_heap_rewind(mark);
    readerSet(0, 0);
    return fail(ErrorKind.State, 0, Field.Memory, -1);
  }
  setArena(arena);
  modelLen = len;
  loaded = true;
  return 0;
}

/** Unbinds the model (its arena stays allocated until the host's qw_reset). */
export function qwm_unload(): void {
  unbind();
}

/** Index of the section entry / tensor / op (the channel for Model/Std) the last error concerns (-1 if none). */
export function qwm_error_index(): i32 {
  return errorIndex();
}

// ---- running ----------------------------------------------------------------------------------------------

/** True when [p, p + n) lies within linear memory. */
function inMemory(p: usize, n: u64): bool {
  return <u64>p + n <= (<u64>memory.size()) << 16;
}

@inline function disjoint(a: u64, an: u64, b: u64, bn: u64): bool {
  return a + an <= b || b + bn <= a;
}

/**
 * Checks the run arguments: a model bound, batch >= 1, the input (inBytes per image) and output buffers inside
 * memory, and the output buffer apart from the model bytes and the arena (writing there would corrupt them).
 */
function checkRun(src: usize, batch: i32, inBytes: u64, out: usize): i32 {
  if (!loaded) return fail(ErrorKind.State, 0, Field.None, -1);
  if (batch <= 0) return fail(ErrorKind.State, 0, Field.Batch, -1);
  const outBytes = <u64>batch * <u64>qwm_output_bytes();
  if (!inMemory(src, <u64>batch * inBytes) || !inMemory(out, outBytes)) return fail(ErrorKind.State, 0, Field.Memory, -1);
  if (!disjoint(out, outBytes, readerBase(), modelLen) || !disjoint(out, outBytes, arenaBase(), arenaBytes)) {
    return fail(ErrorKind.State, 0, Field.Memory, -1);
  }
  clearError();
  return 0;
}

/**
 * Runs `batch` images of uint8 pixels [batch][H][W][C] at px; image b's output tensor bytes go to
 * out + b * qwm_output_bytes().
 */
export function qwm_run_pixels(px: usize, batch: i32, out: usize): i32 {
  const inBytes: u64 = loaded ? <u64>inputElems() : 0;
  const e = checkRun(px, batch, inBytes, out);
  if (e != 0) return e;
  const ob = <usize>qwm_output_bytes();
  for (let b = 0; b < batch; b++) {
    fillFromPixels(px + <usize>b * <usize>inBytes);
    runOps();
    copyOutput(out + <usize>b * ob);
  }
  return 0;
}

/** Runs `batch` images of normalized f32 [batch][H][W][C] at x (quantized for an int8 input). */
export function qwm_run_f32(x: usize, batch: i32, out: usize): i32 {
  const inBytes: u64 = loaded ? <u64>inputElems() << 2 : 0;
  const e = checkRun(x, batch, inBytes, out);
  if (e != 0) return e;
  const ob = <usize>qwm_output_bytes();
  for (let b = 0; b < batch; b++) {
    fillFromF32(x + <usize>b * <usize>inBytes);
    runOps();
    copyOutput(out + <usize>b * ob);
  }
  return 0;
}

// ---- information ------------------------------------------------------------------------------------------

/** Input dimension i (0 H, 1 W, 2 C). */
export function qwm_input_dim(i: i32): i32 {
  return loaded && <u32>i < 3 ? <i32>tDim(inputId, i) : 0;
}
export function qwm_input_dtype(): i32 {
  return loaded ? <i32>tDtype(inputId) : 0;
}
export function qwm_input_scale(): f32 {
  return loaded ? tScale(inputId) : 0;
}
export function qwm_input_zero_point(): i32 {
  return loaded ? tZeroPoint(inputId) : 0;
}
/** Output dimension i (0 H, 1 W, 2 C). */
export function qwm_output_dim(i: i32): i32 {
  return loaded && <u32>i < 3 ? <i32>tDim(outputId, i) : 0;
}
export function qwm_output_dtype(): i32 {
  return loaded ? <i32>tDtype(outputId) : 0;
}
export function qwm_output_scale(): f32 {
  return loaded ? tScale(outputId) : 0;
}
export function qwm_output_zero_point(): i32 {
  return loaded ? tZeroPoint(outputId) : 0;
}
/** Bytes of the output tensor of one image. */
export function qwm_output_bytes(): i32 {
  if (!loaded) return 0;
  const eb: u32 = tDtype(outputId) == DType.F32 ? 4 : 1;
  return <i32>(tDim(outputId, 0) * tDim(outputId, 1) * tDim(outputId, 2) * eb);
}
export function qwm_arena_bytes(): i32 {
  return loaded ? <i32>arenaBytes : 0;
}
export function qwm_op_count(): i32 {
  return loaded ? <i32>opCount : 0;
}
/** Op code of op i (0 if out of range). */
export function qwm_op_code(i: i32): i32 {
  if (!loaded || <u32>i >= opCount) return 0;
  let r = opRecs;
  for (let k = 0; k < i; k++) r += rd_u16(r + 2);
  return <i32>rd_u16(r);
}
export function qwm_tensor_count(): i32 {
  return loaded ? <i32>tensorCount : 0;
}
/** Absolute address of tensor `id` in the arena (for calibration, after a batch-1 run). */
export function qwm_tensor_ptr(id: i32): usize {
  return loaded && <u32>id < tensorCount ? tensorPtr(id) : 0;
}
export function qwm_tensor_dim(id: i32, i: i32): i32 {
  return loaded && <u32>id < tensorCount && <u32>i < 3 ? <i32>tDim(id, i) : 0;
}
export function qwm_tensor_dtype(id: i32): i32 {
  return loaded && <u32>id < tensorCount ? <i32>tDtype(id) : 0;
}
/** Offset of section `id` from the model start (-1 if absent or nothing bound). */
export function qwm_section_offset(id: i32): i32 {
  return loaded && <u32>id <= 0xffff ? sectionOffset(id) : -1;
}
/** Length of section `id` (-1 if absent or nothing bound). */
export function qwm_section_length(id: i32): i32 {
  return loaded && <u32>id <= 0xffff ? sectionLength(id) : -1;
}
export function qwm_meta_channel_order(): i32 {
  return loaded ? <i32>rd_u8(modelOff + 12) : 0;
}
export function qwm_meta_resize(): i32 {
  return loaded ? <i32>rd_u8(modelOff + 13) : 0;
}
export function qwm_meta_crop(): f32 {
  return loaded ? rd_f32(modelOff + 16) : 0;
}
export function qwm_meta_value_scale(): f32 {
  return loaded ? rd_f32(modelOff + 20) : 0;
}
/** Mean of channel c (0..3). */
export function qwm_meta_mean(c: i32): f32 {
  return loaded && <u32>c < 4 ? rd_f32(modelOff + 24 + (<u32>c << 2)) : 0;
}
/** Std of channel c (0..3). */
export function qwm_meta_std(c: i32): f32 {
  return loaded && <u32>c < 4 ? rd_f32(modelOff + 40 + (<u32>c << 2)) : 0;
}
