import type { KernelHost } from "../../src/wasm/kernels.ts";

/** One kernel check: runs the kernel on `host` and returns its output and the reference's. */
export interface KernelCase {
  name: string;
  run(host: KernelHost): { got: ArrayLike<number>; want: ArrayLike<number> };
}

/** Index of the first difference, or -1 when equal bit for bit (floats compared by their bits). */
export function firstDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  const fa = new Float32Array(1), ua = new Uint32Array(fa.buffer);
  const fb = new Float32Array(1), ub = new Uint32Array(fb.buffer);
  const isFloat = a instanceof Float32Array || b instanceof Float32Array;
  for (let i = 0; i < a.length; i++) {
    if (isFloat) {
      fa[0] = a[i]; fb[0] = b[i];
      if (ua[0] !== ub[0]) return i;
    } else if (a[i] !== b[i]) return i;
  }
  return -1;
}
