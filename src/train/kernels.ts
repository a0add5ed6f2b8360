// The training kernels (assembly/train/index.ts, build/qwasm.train.wasm) over one growable wasm memory.
// Tensors live in that memory as byte offsets; `f32()` gives a fresh Float32Array view (views detach when the
// memory grows, so the engine takes them at the point of use and allocates everything before it trains).
// Isomorphic: no file system here. The wasm comes as bytes or a compiled WebAssembly.Module, passed to the
// constructor or set once with setTrainWasm(); under Node, src/train/node.ts sets it from build/qwasm.train.wasm.

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

/** The training kernels' wasm (build/qwasm.train.wasm): its bytes or a compiled module. */
export type TrainWasm = Uint8Array | ArrayBuffer | WebAssembly.Module;

let defaultWasm: TrainWasm | (() => TrainWasm) | undefined;
let compiled: WebAssembly.Module | undefined;

/**
 * Sets the wasm that `new Kernels()` (and so `new Net(...)`) instantiates: bytes, a WebAssembly.Module, or a
 * function giving either on first use. Compiled once, then each Net gets its own instance and memory.
 */
export function setTrainWasm(wasm: TrainWasm | (() => TrainWasm)): void {
  defaultWasm = wasm;
  compiled = undefined;
}

function toModule(w: TrainWasm): WebAssembly.Module {
  if (w instanceof WebAssembly.Module) return w;
  if (!(w instanceof Uint8Array || w instanceof ArrayBuffer)) throw new QwmTrainError("the training wasm must be bytes (Uint8Array / ArrayBuffer) or a WebAssembly.Module");
  try {
    return new WebAssembly.Module(w as Uint8Array<ArrayBuffer>);
  } catch (e) {
    throw new QwmTrainError(`the training wasm does not compile (is it build/qwasm.train.wasm?): ${(e as Error).message}`);
  }
}

function defaultModule(): WebAssembly.Module {
  if (!compiled) {
    if (defaultWasm === undefined) {
      throw new QwmTrainError("no training wasm: call setTrainWasm(bytes or WebAssembly.Module of qwasm.train.wasm) first, or under Node import src/train/node.ts");
    }
    compiled = toModule(typeof defaultWasm === "function" ? defaultWasm() : defaultWasm);
  }
  return compiled;
}

export class Kernels {
  readonly k: Exports;
  private top: number;
  /** `wasm`: the training wasm (default: the one given to setTrainWasm). */
  constructor(wasm?: TrainWasm) {
    const m = wasm === undefined ? defaultModule() : toModule(wasm);
    const k = new WebAssembly.Instance(m, {}).exports as unknown as Exports;
    if (typeof k.gemm_f32 !== "function" || !(k.memory instanceof WebAssembly.Memory)) throw new QwmTrainError("this wasm is not the training kernels (build/qwasm.train.wasm): it has no gemm_f32");
    this.k = k;
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
