// The toolkit's engine: runs a .qwm program on the wasm runtime (one instance per program) and gives access
// to every tensor after a run, which calibration needs. Host-agnostic; Node code passes the build's bytes.
// (Users run models through sdk/, which exposes no internals.)
import { DType, ErrorKind, Field, Section } from "../../assembly/runtime/schema.ts";
import { KernelHost } from "../wasm/kernels.ts";

export class QwmEngineError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = "QwmEngineError";
    this.code = code;
  }
}

/** "kind in section.field (index i)" for a runtime error code. */
export function describeError(code: number, index: number): string {
  const kind = ErrorKind[(code >>> 24) & 0xff] ?? `kind ${(code >>> 24) & 0xff}`;
  const section = Section[(code >>> 16) & 0xff] ?? (((code >>> 16) & 0xff) ? `section ${(code >>> 16) & 0xff}` : "header");
  const field = Field[code & 0xffff] ?? `field ${code & 0xffff}`;
  return `${kind} in ${section}.${field}${index >= 0 ? ` (index ${index})` : ""}`;
}

export class Runner {
  readonly host: KernelHost;
  readonly inputShape: [number, number, number];
  readonly outputShape: [number, number, number];
  readonly inputDtype: DType;
  readonly outputDtype: DType;
  private e: any;

  private constructor(host: KernelHost) {
    this.host = host;
    this.e = host.exports;
    const e = this.e;
    this.inputShape = [e.qwm_input_dim(0), e.qwm_input_dim(1), e.qwm_input_dim(2)];
    this.outputShape = [e.qwm_output_dim(0), e.qwm_output_dim(1), e.qwm_output_dim(2)];
    this.inputDtype = e.qwm_input_dtype();
    this.outputDtype = e.qwm_output_dtype();
  }

  static async create(wasm: BufferSource | WebAssembly.Module, qwm: Uint8Array): Promise<Runner> {
    const host = await KernelHost.create(wasm);
    const p = host.put(qwm);
    const rc = host.exports.qwm_load(p, qwm.length, 0);
    if (rc !== 0) throw new QwmEngineError("QWM_FORMAT", `invalid .qwm: ${describeError(rc, host.exports.qwm_error_index())}`);
    return new Runner(host);
  }

  get inputSize() { return this.inputShape[0] * this.inputShape[1] * this.inputShape[2]; }
  get outputSize() { return this.outputShape[0] * this.outputShape[1] * this.outputShape[2]; }

  private runWith(fn: string, data: Float32Array | Uint8Array, batch: number): Float32Array | Int8Array {
    const h = this.host;
    const mark = h.exports.qw_heap_top();
    try {
      const px = h.put(data);
      const outBytes = this.e.qwm_output_bytes() * batch;
      const po = h.alloc(outBytes);
      const rc = this.e[fn](px, batch, po);
      if (rc !== 0) throw new QwmEngineError("QWM_RUN", `run failed: ${describeError(rc, -1)}`);
      return this.outputDtype === DType.F32 ? h.read(Float32Array, po, outBytes / 4) : h.read(Int8Array, po, outBytes);
    } finally {
      this.e.qw_heap_rewind(mark);
    }
  }

  /** Normalized NHWC floats in, raw output out (int8 or f32). */
  runF32(x: Float32Array, batch = 1) { return this.runWith("qwm_run_f32", x, batch); }
  /** uint8 pixels at the model's input size in, raw output out. */
  runPixels(px: Uint8Array, batch = 1) { return this.runWith("qwm_run_pixels", px, batch); }

  /** A copy of tensor `id` after the last run (its last image). */
  tensor(id: number): Float32Array | Int8Array {
    const e = this.e;
    const n = e.qwm_tensor_dim(id, 0) * e.qwm_tensor_dim(id, 1) * e.qwm_tensor_dim(id, 2);
    const ptr = e.qwm_tensor_ptr(id);
    return e.qwm_tensor_dtype(id) === DType.F32 ? this.host.read(Float32Array, ptr, n) : this.host.read(Int8Array, ptr, n);
  }
}
