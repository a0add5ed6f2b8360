// loadModel and the Model object: one wasm instance per model; the runtime inside it validates the .qwm bytes
// and runs them. This file only moves bytes, checks arguments and turns outputs into labels and scores.
// Host-agnostic: no Node APIs. sdk/hosts/* wrap loadModelWith with where each host finds the wasm builds.
import { QwmError, QwmFormatError, QwmHostError, QwmInputError, QwmLimitError, errorFromStatus } from "./errors.ts";
import { ErrorKind, Field, Section } from "../../assembly/runtime/schema.ts";
import { imageChannels, preprocess, type ImageLike, type PixelSpec } from "./preprocess.ts";
import {
  BUILDS, LOWBIT_OP, LOWBIT_NAMES, fetchUrl, firstLowBitOp, isArrayBuffer, isResponse, isThenable, response, selectBuild,
  type BuildName, type Host, type WasmSource,
} from "./wasm.ts";

export type { BuildName, WasmSource, ImageLike };

/** A .qwm model: bytes, a URL (string or URL; fetched), or a (promised) fetch Response. */
export type ModelSource = Uint8Array | ArrayBuffer | URL | string | Response | PromiseLike<Response>;

export interface LoadOptions {
  /**
   * Wasm builds to use instead of the host's defaults; when given, only these builds are candidates. lite
   * (build/qwasm.lite.wasm: SIMD, int8 + fp32 ops only) is picked first for a model without sub-8-bit ops.
   */
  wasm?: { lite?: WasmSource; relaxed?: WasmSource; simd?: WasmSource; nosimd?: WasmSource };
  /**
   * Use this build (fail if it cannot compile) instead of picking the best one the host validates. 'lite' on a
   * model with a sub-8-bit op fails with QwmFormatError 'UNKNOWN' (section Ops, field OpCode) naming the op.
   */
  build?: BuildName;
  /** Most bytes the model may hold in wasm memory: its .qwm bytes, its arena and a run's input and output buffers. */
  memoryLimit?: number;
}

export interface RunOptions {
  /** Images in the input (default 1). */
  batch?: number;
}

export interface RunResult {
  /** Dequantized outputs, [batch][classes]: (raw - zeroPoint) * scale, or the float model's outputs. */
  logits: Float32Array;
  /** The int8 outputs, [batch][classes]; empty for a float-output model. */
  raw: Int8Array;
}

export interface ClassifyOptions {
  /** How many classes to return, 1..classes (default min(5, classes)). */
  topK?: number;
}

export interface Prediction {
  label: string;
  index: number;
  /** Softmax probability of the dequantized logits. */
  score: number;
}

export type DTypeName = "int8" | "float32";

export interface ModelInfo {
  input: { shape: [h: number, w: number, c: number]; dtype: DTypeName; scale: number; zeroPoint: number };
  output: { shape: [h: number, w: number, c: number]; classes: number; dtype: DTypeName; scale: number; zeroPoint: number };
  preprocessing: {
    channelOrder: "rgb" | "bgr" | "gray";
    resize: "stretch" | "crop";
    crop: number;
    valueScale: number;
    mean: number[];
    std: number[];
  };
  /** One per class (from the Labels section; String(index) where absent). */
  labels: readonly string[];
  /** The Provenance section's JSON object, or null. */
  provenance: Record<string, unknown> | null;
  /** The wasm build running the model. */
  build: BuildName;
  opCount: number;
  opCodes: readonly number[];
  tensorCount: number;
  /** Planned peak bytes of every activation and scratch buffer (the arena). */
  arenaBytes: number;
  /** Size of the .qwm file. */
  modelBytes: number;
  /** Current size of this model's wasm memory. */
  readonly wasmMemoryBytes: number;
}

export interface Model {
  readonly info: ModelInfo;
  /** Runs `batch` inputs: Float32Array = normalized NHWC floats, Uint8Array = pixels at the model's size. */
  run(input: Float32Array | Uint8Array | Uint8ClampedArray, options?: RunOptions): RunResult;
  /** The u8 pixels [H][W][C] that classify feeds the model for `image` (docs/api.md); run() takes them. */
  preprocess(image: ImageLike): Uint8Array;
  /** Preprocesses an image (docs/api.md) and returns the top classes, best first. */
  classify(image: ImageLike, options?: ClassifyOptions): Prediction[];
  /** classify for several images in one batched run. */
  classifyBatch(images: readonly ImageLike[], options?: ClassifyOptions): Prediction[][];
  /** Frees the model's wasm instance; later calls throw QwmError 'DISPOSED'. */
  dispose(): void;
}

interface Runtime {
  memory: WebAssembly.Memory;
  qw_alloc(bytes: number): number;
  qw_heap_top(): number;
  qw_heap_rewind(mark: number): void;
  qwm_load(ptr: number, len: number, memLimit: number): number;
  qwm_error_index(): number;
  qwm_run_pixels(px: number, batch: number, out: number): number;
  qwm_run_f32(x: number, batch: number, out: number): number;
  qwm_input_dim(i: number): number;
  qwm_input_dtype(): number;
  qwm_input_scale(): number;
  qwm_input_zero_point(): number;
  qwm_output_dim(i: number): number;
  qwm_output_dtype(): number;
  qwm_output_scale(): number;
  qwm_output_zero_point(): number;
  qwm_output_bytes(): number;
  qwm_arena_bytes(): number;
  qwm_op_count(): number;
  qwm_op_code(i: number): number;
  qwm_tensor_count(): number;
  qwm_section_offset(id: number): number;
  qwm_section_length(id: number): number;
  qwm_meta_channel_order(): number;
  qwm_meta_resize(): number;
  qwm_meta_crop(): number;
  qwm_meta_value_scale(): number;
  qwm_meta_mean(c: number): number;
  qwm_meta_std(c: number): number;
  qwm_unload(): void;
}

const REQUIRED_EXPORTS = [
  "qw_alloc", "qw_heap_top", "qw_heap_rewind", "qwm_load", "qwm_error_index", "qwm_run_pixels", "qwm_run_f32",
  "qwm_input_dim", "qwm_input_dtype", "qwm_input_scale", "qwm_input_zero_point", "qwm_output_dim", "qwm_output_dtype",
  "qwm_output_scale", "qwm_output_zero_point", "qwm_output_bytes", "qwm_arena_bytes", "qwm_op_count", "qwm_op_code",
  "qwm_tensor_count", "qwm_section_offset", "qwm_section_length", "qwm_meta_channel_order", "qwm_meta_resize",
  "qwm_meta_crop", "qwm_meta_value_scale", "qwm_meta_mean", "qwm_meta_std", "qwm_unload",
];

const DTYPE_F32 = 2;
const SECTION_LABELS = 5, SECTION_PROVENANCE = 6;
const MAX_BYTES = 2 ** 31; // one buffer of a run must stay addressable by an i32 pointer
const dtypeName = (d: number): DTypeName => (d === DTYPE_F32 ? "float32" : "int8");

const bad = (code: string, message: string) => new QwmInputError(code, `qwasm: ${message}`);

const LIMIT_KIND = 12; // ErrorKind.Limit: refused before allocating (memoryLimit), or the arena could not be allocated

/** The runtime's Limit refusal with the numbers: the file's bytes and its arena (read from its validated header). */
function limitError(bytes: Uint8Array, limit: number, memory: number): QwmLimitError {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let arena = -1;
  for (let e = 32, n = Math.min(v.getUint32(12, true), 64); e < 32 + 16 * n && e + 16 <= bytes.length; e += 16) {
    const off = v.getUint32(e + 4, true);
    if (v.getUint16(e, true) === 1 && off + 12 <= bytes.length) arena = v.getUint32(off + 8, true); // Model record: arena bytes at 8
  }
  const need = arena >= 0 ? `${bytes.length + arena} bytes (the ${bytes.length}-byte model and its ${arena}-byte arena)` : "more memory";
  return limit && limit < 2 ** 32
    ? new QwmLimitError("MEMORY_LIMIT", `qwasm: the model needs ${need}, over options.memoryLimit = ${limit}; nothing was allocated for it (section Header, field Memory)`)
    : new QwmLimitError("OUT_OF_MEMORY", `qwasm: the host cannot grow wasm memory (now ${memory} bytes) for the model: it needs ${need} (section Header, field Memory)`);
}

function checkOptions(options: unknown): LoadOptions {
  if (options === undefined) return {};
  if (options === null || typeof options !== "object") throw bad("BAD_OPTION", "options must be an object");
  const o = options as LoadOptions;
  for (const k of Object.keys(o)) {
    if (k !== "wasm" && k !== "build" && k !== "memoryLimit") throw bad("BAD_OPTION", `unknown option '${k}'`);
  }
  if (o.build !== undefined && !BUILDS.includes(o.build)) {
    throw bad("BAD_OPTION", `options.build must be one of ${BUILDS.join(", ")}, got ${String(o.build)}`);
  }
  if (o.memoryLimit !== undefined && (typeof o.memoryLimit !== "number" || !Number.isInteger(o.memoryLimit) || o.memoryLimit < 1)) {
    throw bad("BAD_OPTION", `options.memoryLimit must be a positive integer number of bytes, got ${String(o.memoryLimit)}`);
  }
  if (o.wasm !== undefined) {
    if (o.wasm === null || typeof o.wasm !== "object") throw bad("BAD_OPTION", "options.wasm must be an object { lite?, relaxed?, simd?, nosimd? }");
    for (const k of Object.keys(o.wasm)) {
      if (!BUILDS.includes(k as BuildName)) throw bad("BAD_OPTION", `options.wasm has unknown build '${k}' (builds: ${BUILDS.join(", ")})`);
    }
  }
  return o;
}

const inputFail = (m: string, c?: unknown) => new QwmInputError("FETCH_FAILED", `qwasm: model ${m}`, c);

async function readModel(source: ModelSource, host: Host): Promise<Uint8Array> {
  if (source instanceof Uint8Array) return source;
  if (isArrayBuffer(source)) return new Uint8Array(source);
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  let res: Response;
  if (typeof source === "string" || source instanceof URL) {
    const url = typeof source === "string" ? (host.resolveString ? host.resolveString(source) : source) : source;
    const local = url instanceof URL ? host.readUrl?.(url) : undefined;
    if (local) {
      try {
        return await local;
      } catch (e) {
        throw new QwmInputError("FETCH_FAILED", `qwasm: cannot read model ${url}: ${(e as Error)?.message ?? e}`, e);
      }
    }
    res = await fetchUrl(url, String(url), inputFail);
  } else if (isResponse(source) || isThenable(source)) {
    res = await response(source as Response | PromiseLike<Response>, "response", inputFail);
  } else {
    throw bad("BAD_SOURCE", "the model source must be a Uint8Array, ArrayBuffer, URL, URL string or Response");
  }
  try {
    return new Uint8Array(await res.arrayBuffer());
  } catch (e) {
    throw new QwmInputError("FETCH_FAILED", `qwasm: reading the model response failed: ${(e as Error)?.message ?? e}`, e);
  }
}

/** The core loader: `host` says where the wasm builds are when options.wasm does not. */
export async function loadModelWith(host: Host, source: ModelSource, options?: LoadOptions): Promise<Model> {
  const opts = checkOptions(options);
  if (typeof WebAssembly !== "object") throw new QwmHostError("NO_WEBASSEMBLY", "qwasm: this host has no WebAssembly");
  const given = opts.wasm ?? {}, forced = opts.build;
  const provided = BUILDS.filter((b) => given[b] != null);
  let bytes: Uint8Array, build: BuildName, module: WebAssembly.Module;
  if (forced === "lite" || (!forced && (given.lite != null || (!provided.length && host.lite)))) {
    // Lite may be picked: whether it can run the model decides, so the model is read first.
    bytes = await readModel(source, host);
    const [op, code] = firstLowBitOp(bytes);
    if (op >= 0 && (forced === "lite" || provided.join() === "lite")) {
      throw new QwmFormatError("UNKNOWN", `qwasm: the lite build cannot run this model: op ${op} is ${LOWBIT_NAMES.split(" ")[code - LOWBIT_OP] || "op"} (code ${code}), ` +
        `a sub-8-bit op that only the full builds (relaxed, simd, nosimd) run (section Ops, field OpCode, index ${op})`,
        "Ops", "OpCode", op, (ErrorKind.Unknown << 24 | Section.Ops << 16 | Field.OpCode) >>> 0);
    }
    ({ build, module } = await selectBuild(host, given, forced, op !== -1));
  } else {
    [bytes, { build, module }] = await Promise.all([readModel(source, host), selectBuild(host, given, forced)]);
  }
  let instance: WebAssembly.Instance;
  try {
    instance = await WebAssembly.instantiate(module, {});
  } catch (e) {
    throw new QwmHostError("INSTANTIATE_FAILED", `qwasm: instantiating the ${build} build failed: ${(e as Error)?.message ?? e}`, e);
  }
  const ex = instance.exports as unknown as Runtime;
  const missing = REQUIRED_EXPORTS.filter((n) => typeof (ex as any)[n] !== "function");
  if (missing.length || !(ex.memory instanceof WebAssembly.Memory)) {
    throw new QwmHostError("BAD_BUILD", `qwasm: the ${build} wasm build is not a qwasm runtime (missing ${missing.slice(0, 3).join(", ") || "memory"})`);
  }
  return new QwmModel(ex, build, bytes, opts.memoryLimit ?? 0);
}

class QwmModel implements Model {
  readonly info: ModelInfo;
  #ex: Runtime | null;
  #limit: number;
  #used: number; // bytes counted against the limit: the model and its arena
  #mark: number; // heap top after loading: each run allocates above it and rewinds to it
  #spec: PixelSpec;
  #perImage: number;
  #classes: number;
  #outBytes: number;
  #outF32: boolean;
  #outScale: number;
  #outZp: number;

  constructor(ex: Runtime, build: BuildName, bytes: Uint8Array, limit: number) {
    this.#ex = ex;
    this.#limit = limit;
    this.#used = 0;
    const ptr = this.#alloc(bytes.length);
    new Uint8Array(ex.memory.buffer, ptr, bytes.length).set(bytes);
    // The runtime takes the limit as an i32 holding a u32; 0 = none. Above 4 GiB no wasm32 memory can reach it.
    const status = ex.qwm_load(ptr, bytes.length, limit >= 2 ** 32 ? 0 : limit >>> 0);
    if (status !== 0) throw status >>> 24 === LIMIT_KIND ? limitError(bytes, limit, ex.memory.buffer.byteLength) : errorFromStatus(status, ex.qwm_error_index(), "load");
    this.#mark = ex.qw_heap_top() >>> 0;
    this.#used = bytes.length + ex.qwm_arena_bytes(); // as the runtime counts them

    const inShape: [number, number, number] = [ex.qwm_input_dim(0), ex.qwm_input_dim(1), ex.qwm_input_dim(2)];
    const outShape: [number, number, number] = [ex.qwm_output_dim(0), ex.qwm_output_dim(1), ex.qwm_output_dim(2)];
    const C = inShape[2];
    this.#perImage = inShape[0] * inShape[1] * C;
    this.#classes = outShape[0] * outShape[1] * outShape[2];
    this.#outBytes = ex.qwm_output_bytes();
    this.#outF32 = ex.qwm_output_dtype() === DTYPE_F32;
    this.#outScale = ex.qwm_output_scale();
    this.#outZp = ex.qwm_output_zero_point();
    const order = ex.qwm_meta_channel_order(), resize = ex.qwm_meta_resize(), crop = ex.qwm_meta_crop();
    this.#spec = { height: inShape[0], width: inShape[1], channels: C, channelOrder: order, resize, crop };

    const section = (id: number) => {
      const off = ex.qwm_section_offset(id), len = ex.qwm_section_length(id);
      return off < 0 || len < 0 ? null : bytes.subarray(off, off + len);
    };
    const text = (id: number, name: string) => {
      const b = section(id);
      if (!b) return null;
      try {
        return new TextDecoder("utf-8", { fatal: true }).decode(b);
      } catch {
        throw new QwmFormatError("RANGE", `qwasm: invalid model: the ${name} section is not valid UTF-8 (section ${name})`, name, "None", -1, 0);
      }
    };
    const labelText = text(SECTION_LABELS, "Labels");
    const given = labelText === null ? [] : labelText.split("\n");
    const labels = Array.from({ length: this.#classes }, (_, i) => given[i] || String(i));
    const provText = text(SECTION_PROVENANCE, "Provenance");
    let provenance: Record<string, unknown> | null = null;
    if (provText !== null) {
      let v: unknown;
      try {
        v = JSON.parse(provText);
      } catch {
        v = undefined;
      }
      if (!v || typeof v !== "object" || Array.isArray(v)) {
        throw new QwmFormatError("RANGE", "qwasm: invalid model: the Provenance section is not a JSON object (section Provenance)", "Provenance", "None", -1, 0);
      }
      provenance = v as Record<string, unknown>;
    }
    const opCount = ex.qwm_op_count();
    const chans = Math.min(C, 4);
    const memory = ex.memory;
    this.info = Object.freeze({
      input: { shape: inShape, dtype: dtypeName(ex.qwm_input_dtype()), scale: ex.qwm_input_scale(), zeroPoint: ex.qwm_input_zero_point() },
      output: { shape: outShape, classes: this.#classes, dtype: dtypeName(ex.qwm_output_dtype()), scale: this.#outScale, zeroPoint: this.#outZp },
      preprocessing: {
        channelOrder: (["rgb", "bgr", "gray"] as const)[order] ?? "rgb",
        resize: resize === 1 ? "crop" as const : "stretch" as const,
        crop,
        valueScale: ex.qwm_meta_value_scale(),
        mean: Array.from({ length: chans }, (_, c) => ex.qwm_meta_mean(c)),
        std: Array.from({ length: chans }, (_, c) => ex.qwm_meta_std(c)),
      },
      labels: Object.freeze(labels),
      provenance,
      build,
      opCount,
      opCodes: Object.freeze(Array.from({ length: opCount }, (_, i) => ex.qwm_op_code(i))),
      tensorCount: ex.qwm_tensor_count(),
      arenaBytes: ex.qwm_arena_bytes(),
      modelBytes: bytes.length,
      get wasmMemoryBytes() { return memory.buffer.byteLength; },
    });
  }

  /** A 16-aligned block of `bytes`, counted (with what the model holds) against the memory limit. */
  #alloc(bytes: number, more = 0): number {
    const ex = this.#ex!;
    const need = this.#used + bytes + more;
    if (this.#limit && need > this.#limit) {
      throw new QwmLimitError("MEMORY_LIMIT", `qwasm: needs ${need} bytes (model, arena and buffers), over options.memoryLimit = ${this.#limit}`);
    }
    const p = ex.qw_alloc(bytes) >>> 0;
    if (p === 0 && bytes > 0) {
      throw new QwmLimitError("OUT_OF_MEMORY", `qwasm: the host cannot grow wasm memory by ${bytes} bytes (now ${ex.memory.buffer.byteLength})`);
    }
    return p;
  }

  #live(): Runtime {
    if (!this.#ex) throw new QwmError("DISPOSED", "qwasm: the model was disposed");
    return this.#ex;
  }

  run(input: Float32Array | Uint8Array | Uint8ClampedArray, options?: RunOptions): RunResult {
    this.#live();
    const f32 = input instanceof Float32Array;
    if (!f32 && !(input instanceof Uint8Array || input instanceof Uint8ClampedArray)) {
      throw bad("BAD_INPUT", "run input must be a Float32Array (normalized NHWC) or a Uint8Array (pixels at the model size)");
    }
    if (options !== undefined && (options === null || typeof options !== "object")) throw bad("BAD_OPTION", "run options must be an object { batch }");
    const batch = options?.batch ?? 1;
    if (typeof batch !== "number" || !Number.isInteger(batch) || batch < 1) {
      throw bad("BAD_BATCH", `batch must be an integer >= 1, got ${String(batch)}`);
    }
    if (input.length !== batch * this.#perImage) {
      const [h, w, c] = this.info.input.shape;
      throw bad("INPUT_LENGTH", `input has ${input.length} values; batch ${batch} of ${h}x${w}x${c} needs ${batch * this.#perImage}` +
        (input.length % this.#perImage === 0 && input.length ? ` (pass { batch: ${input.length / this.#perImage} })` : ""));
    }
    if (f32) {
      for (let i = 0; i < input.length; i++) {
        if (!Number.isFinite(input[i])) throw bad("BAD_INPUT", `input[${i}] is ${input[i]}; inputs must be finite`);
      }
    }
    return this.#run(input, batch, f32);
  }

  #run(input: Float32Array | Uint8Array | Uint8ClampedArray, batch: number, f32: boolean): RunResult {
    const ex = this.#live();
    const inBytes = input.byteLength, outBytes = batch * this.#outBytes;
    if (inBytes >= MAX_BYTES || outBytes >= MAX_BYTES) {
      throw new QwmLimitError("MEMORY_LIMIT", `qwasm: batch ${batch} needs more than 2 GiB of buffers; run smaller batches`);
    }
    try {
      const pin = this.#alloc(inBytes, outBytes), pout = this.#alloc(outBytes, inBytes);
      new Uint8Array(ex.memory.buffer, pin, inBytes).set(new Uint8Array(input.buffer, input.byteOffset, inBytes));
      const status = f32 ? ex.qwm_run_f32(pin, batch, pout) : ex.qwm_run_pixels(pin, batch, pout);
      if (status !== 0) throw errorFromStatus(status, ex.qwm_error_index(), "run");
      const n = batch * this.#classes;
      if (this.#outF32) return { logits: new Float32Array(ex.memory.buffer, pout, n).slice(), raw: new Int8Array(0) };
      const raw = new Int8Array(ex.memory.buffer, pout, n).slice();
      const logits = new Float32Array(n), s = this.#outScale, z = this.#outZp;
      for (let i = 0; i < n; i++) logits[i] = (raw[i] - z) * s;
      return { logits, raw };
    } finally {
      ex.qw_heap_rewind(this.#mark);
    }
  }

  preprocess(image: ImageLike): Uint8Array {
    this.#live();
    return preprocess(image, this.#spec, new Uint8Array(this.#perImage));
  }

  classify(image: ImageLike, options?: ClassifyOptions): Prediction[] {
    this.#live();
    return this.#classify([image], options, true)[0];
  }

  classifyBatch(images: readonly ImageLike[], options?: ClassifyOptions): Prediction[][] {
    this.#live();
    if (!Array.isArray(images) || images.length === 0) throw bad("BAD_ARGUMENT", "classifyBatch takes a non-empty array of images");
    return this.#classify(images, options, false);
  }

  #classify(images: readonly ImageLike[], options: ClassifyOptions | undefined, single: boolean): Prediction[][] {
    if (options !== undefined && (options === null || typeof options !== "object")) throw bad("BAD_OPTION", "classify options must be an object { topK }");
    const classes = this.#classes;
    const topK = options?.topK ?? Math.min(5, classes);
    if (typeof topK !== "number" || !Number.isInteger(topK) || topK < 1 || topK > classes) {
      throw bad("BAD_TOP_K", `topK must be an integer in 1..${classes}, got ${String(topK)}`);
    }
    images.forEach((img, i) => imageChannels(img, single ? "image" : `images[${i}]`));
    const per = this.#perImage, px = new Uint8Array(images.length * per);
    images.forEach((img, i) => preprocess(img, this.#spec, px, i * per));
    const { logits } = this.#run(px, images.length, false);
    const labels = this.info.labels;
    return images.map((_, b) => {
      const scores = softmax(logits.subarray(b * classes, (b + 1) * classes));
      const order = Array.from({ length: classes }, (_, i) => i).sort((a, c) => scores[c] - scores[a] || a - c);
      return order.slice(0, topK).map((index) => ({ label: labels[index], index, score: scores[index] }));
    });
  }

  dispose(): void {
    if (this.#ex) {
      this.#ex.qwm_unload();
      this.#ex = null;
    }
  }
}

/**
 * Softmax in float64 (max subtracted), the one place scores are made. Uses expNeg, not Math.exp (whose last bits
 * vary between engines), so a score is the same number on every host.
 */
export function softmax(logits: ArrayLike<number>): Float64Array {
  const n = logits.length, p = new Float64Array(n);
  let m = -Infinity, sum = 0;
  for (let i = 0; i < n; i++) if (logits[i] > m) m = logits[i];
  for (let i = 0; i < n; i++) sum += p[i] = expNeg(logits[i] - m);
  for (let i = 0; i < n; i++) p[i] /= sum;
  return p;
}

const bits = new DataView(new ArrayBuffer(8));

/**
 * e^x for x <= 0 from + - * / alone, which IEEE 754 rounds exactly, so every engine gives the same bits:
 * x = k ln2 + r with ln2 split in two (fdlibm's Cody-Waite constants, k * LN2_HI exact), e^r by Horner to r^13
 * (|r| <= 0.35: relative error ~1e-16), times 2^k built from its bits.
 */
export function expNeg(x: number): number {
  if (!(x > -745.2)) return 0;
  const k = Math.round(x * 1.4426950408889634);
  const r = x - k * 6.93147180369123816490e-01 - k * 1.90821492927058770002e-10;
  let e = 1;
  for (let i = 13; i > 0; i--) e = 1 + (r * e) / i;
  const big = k < -1000 ? 64 : 0; // 2^k below the normal range: scale in two steps
  bits.setUint32(0, (k + big + 1023) << 20); // big-endian: the high word (sign, exponent) first, low word 0
  e *= bits.getFloat64(0);
  return big ? e / 18446744073709551616 : e;
}

/** Fails for hosts that have no default builds (the core entry, workerd). */
export const noDefaults = (code: string, why: string): Host => ({
  defaultWasm() {
    throw new QwmHostError(code, why);
  },
});

/** The core loader: every wasm build comes from options.wasm. Hosts export their own loadModel with defaults. */
export function loadModel(source: ModelSource, options?: LoadOptions): Promise<Model> {
  return loadModelWith(coreHost, source, options);
}
const coreHost = noDefaults("NO_BUILD", "qwasm: this entry has no default wasm builds; pass options.wasm { lite?, relaxed?, simd?, nosimd? }");
