// A thin host-side handle on the qwasm module's kernel exports: allocation and typed views over its memory.
// Host-agnostic (no Node APIs): Node, Deno and browsers use it for tests, benchmarks and calibration.

/** The raw exports of a qwasm build. Kernel functions take pointers into `memory` and plain numbers. */
export interface QwasmExports {
  memory: WebAssembly.Memory;
  qw_alloc(bytes: number): number;
  qw_reset(): void;
  qw_heap_top(): number;
  qw_heap_rewind(mark: number): void;
  [kernel: string]: any;
}

type TypedCtor<T> = { new (buf: ArrayBuffer, off: number, len: number): T; BYTES_PER_ELEMENT: number };
type Typed = Int8Array | Uint8Array | Int16Array | Int32Array | Uint32Array | Float32Array;

export class KernelHost {
  readonly exports: QwasmExports;
  constructor(instance: WebAssembly.Instance) {
    this.exports = instance.exports as unknown as QwasmExports;
  }

  static async create(source: BufferSource | WebAssembly.Module): Promise<KernelHost> {
    const module = source instanceof WebAssembly.Module ? source : await WebAssembly.compile(source);
    return new KernelHost(await WebAssembly.instantiate(module, {}));
  }

  /** Allocates `bytes` (16-byte aligned) in wasm memory; throws when memory cannot grow. */
  alloc(bytes: number): number {
    const p = this.exports.qw_alloc(bytes) >>> 0;
    if (p === 0 && bytes > 0) throw new RangeError(`wasm memory exhausted allocating ${bytes} bytes`);
    return p;
  }

  reset(): void {
    this.exports.qw_reset();
  }

  /** Copies a typed array into freshly allocated wasm memory and returns its address. */
  put(data: Typed): number {
    const p = this.alloc(data.byteLength);
    new Uint8Array(this.exports.memory.buffer, p, data.byteLength).set(
      new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    );
    return p;
  }

  /** A copy of `len` elements at `ptr`. */
  read<T extends Typed>(ctor: TypedCtor<T>, ptr: number, len: number): T {
    const view = new ctor(this.exports.memory.buffer, ptr, len);
    return (view as any).slice() as T;
  }

  fn(name: string): (...args: number[]) => any {
    const f = this.exports[name];
    if (typeof f !== "function") throw new TypeError(`this qwasm build has no kernel export '${name}'`);
    return f;
  }
}
