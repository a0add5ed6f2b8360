// Bounds-checked little-endian reads within the model buffer [base, base + size).
// Offsets are relative to the start of the .qwm file. The validator checks every offset and length against
// its container before it reads, so these checks are the last line of defence: a read that would leave the
// buffer returns 0 and raises `fault` instead of touching foreign memory (the validator refuses the file
// if a fault was ever raised). The interpreter reads only what the validator accepted.

let base: usize = 0;
let size: u32 = 0;
let fault: bool = false;

/** Points the reader at a model buffer (and clears the fault flag). */
export function readerSet(p: usize, n: u32): void {
  base = p;
  size = n;
  fault = false;
}

/** Absolute address of the model's first byte. */
export function readerBase(): usize {
  return base;
}

/** True once a read went past the end of the buffer. */
export function readerFault(): bool {
  return fault;
}

/** True when [off, off + n) lies within the buffer (computed in u64: no wrap-around). */
@inline export function within(off: u64, n: u64): bool {
  return off + n <= <u64>size;
}

// One read for every width (n = 1, 2 or 4). A u32 is read as two u16 halves through a recursive call; besides
// being correct little-endian, that keeps the function out of line (the optimizer inlines neither a function into
// itself nor, at this size, one that still calls), so each of the validator's hundreds of call sites costs a few
// bytes instead of a copy of the bounds check.
function rd(off: u32, n: u32): u32 {
  if (!within(off, n)) {
    fault = true;
    return 0;
  }
  if (n == 4) return rd(off, 2) | (rd(off + 2, 2) << 16);
  const p = base + <usize>off;
  return n == 1 ? <u32>load<u8>(p) : <u32>load<u16>(p);
}

@inline export function rd_u8(off: u32): u32 { return rd(off, 1); }
@inline export function rd_u16(off: u32): u32 { return rd(off, 2); }
@inline export function rd_u32(off: u32): u32 { return rd(off, 4); }
@inline export function rd_i32(off: u32): i32 { return <i32>rd(off, 4); }
@inline export function rd_f32(off: u32): f32 { return reinterpret<f32>(rd(off, 4)); }
