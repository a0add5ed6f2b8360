// The training kernels (assembly/train/index.ts, build/qwasm.train.wasm) over one growable wasm memory.
// Tensors live in that memory as byte offsets; `f32()` gives a fresh Float32Array view (views detach when the
// memory grows, so the engine takes them at the point of use and allocates everything before it trains).
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export class QwmTrainError extends Error {
  readonly code = "QWM_TRAIN";
  constructor(message: string) {
    super(message);
    this.name = "QwmTrainError";
  }
}

interface Exports {
  memory: WebAssembly.Memory;
  heap_base(): number;
  gemm_f32(M: number, N: number, K: number, a: number, aRs: number, aKs: number, b: number, ldb: number, c: number, ldc: number, beta: number): void;
  im2col_f32(x: number, B: number, H: number, W: number, C: number, KH: number, KW: number, SH: number, SW: number, PT: number, PL: number, DH: number, DW: number, OH: number, OW: number, col: number): void;
  col2im_f32(dcol: number, B: number, H: number, W: number, C: number, KH: number, KW: number, SH: number, SW: number, PT: number, PL: number, DH: number, DW: number, OH: number, OW: number, dx: number): void;
  add_f32(y: number, x: number, n: number): void;
  bias_act_f32(y: number, P: number, N: number, bias: number, act: number): void;
  add_act_f32(y: number, a: number, b: number, n: number, act: number): void;
  act_grad_f32(dz: number, dy: number, y: number, n: number, act: number): void;
  colsum_f32(x: number, P: number, N: number, out: number): void;
  fq_f32(x: number, y: number, n: number, s: number, lo: number, hi: number): void;
  fq_grad_f32(x: number, gy: number, gx: number, n: number, s: number, lo: number, hi: number, all: number, sums: number): void;
}

/** Kernels whose memory holds a view, for the fake quantizers (quantizers/types.ts) to run there. */
const live = new Set<Kernels>();
export function kernelsOf(a: Float32Array): Kernels | undefined {
  for (const k of live) if (a.buffer === k.k.memory.buffer) return k;
  return undefined;
}

/** A tensor in the kernels' memory: `n` f32 values at byte offset `off`. */
export interface Buf { off: number; n: number }

const WASM_DIRS = ["../../build/", "../build/"].map((d) => new URL(d, import.meta.url));

export function trainWasmBytes(): Uint8Array {
  const dir = WASM_DIRS.find((d) => existsSync(fileURLToPath(new URL("qwasm.train.wasm", d))));
  if (!dir) throw new QwmTrainError("build/qwasm.train.wasm is missing: run `node scripts/build.mjs`");
  return readFileSync(fileURLToPath(new URL("qwasm.train.wasm", dir)));
}

export class Kernels {
  readonly k: Exports;
  private top: number;
  constructor(bytes: Uint8Array = trainWasmBytes()) {
    this.k = new WebAssembly.Instance(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), {}).exports as unknown as Exports;
    this.top = this.k.heap_base();
    this.sums = this.alloc(8);
    live.add(this);
  }
  /** f64 x 3 result slot of fq_grad_f32. */
  readonly sums: Buf;
  /** Stops routing fake quantization of this memory's views here (the net is dropped). */
  dispose(): void { live.delete(this); }
  get bytes(): number { return this.top; }
  /** `n` zeroed f32 values, 16-byte aligned. */
  alloc(n: number): Buf {
    const off = this.top;
    const end = off + ((n * 4 + 15) & ~15);
    if (end > 4 * 1024 ** 3 - 65536) throw new QwmTrainError(`training needs more than 4 GiB of wasm memory (${(end / 2 ** 20).toFixed(0)} MiB): use a smaller --batch`);
    const have = this.k.memory.buffer.byteLength;
    if (end > have) this.k.memory.grow(Math.ceil((end - have) / 65536));
    this.top = end;
    return { off, n };
  }
  f32(b: Buf, n = b.n): Float32Array {
    return new Float32Array(this.k.memory.buffer, b.off, n);
  }
  /** C[M][N] = (beta ? C : 0) + A B, A's element (i, k) at aRs*i + aKs*k, B row-major [K][ldb]. */
  gemm(M: number, N: number, K: number, a: number, aRs: number, aKs: number, b: number, ldb: number, c: number, ldc: number, beta: 0 | 1): void {
    this.k.gemm_f32(M, N, K, a, aRs, aKs, b, ldb, c, ldc, beta);
  }
}
