// Linear-memory bump allocator for hosts and tests. No managed objects: the runtime is `--runtime stub`.
// `qw_alloc` returns 16-byte aligned blocks (0 when memory cannot grow); `qw_reset` frees everything at once.

const HEAP_START: usize = (__heap_base + 15) & ~(<usize>15);
let top: usize = HEAP_START;

export function qw_alloc(bytes: usize): usize {
  const p = top;
  const end = (p + bytes + 15) & ~(<usize>15);
  if (end < p) return 0; // wrapped
  const have = (<usize>memory.size()) << 16;
  if (end > have) {
    const pages = <i32>((end - have + 0xffff) >>> 16);
    if (memory.grow(pages) < 0) return 0;
  }
  top = end;
  return p;
}

export function qw_reset(): void {
  top = HEAP_START;
}

export function qw_heap_top(): usize {
  return top;
}

/** Frees everything allocated after `mark` (a value of qw_heap_top); ignored if `mark` is not below the top. */
export function qw_heap_rewind(mark: usize): void {
  if (mark >= HEAP_START && mark <= top && (mark & 15) == 0) top = mark;
}
