// Conformance against ONNX's operator tests as Debian's libonnx-testdata ships them (suites node,
// pytorch-operator, pytorch-converted, simple; each test <test>/model.onnx with test_data_set_*/input_*.pb and
// output_*.pb). Every test whose graph uses only ops the importer claims (SUPPORTED_OPS, judged by the nodes'
// op_type, never by the folder's name) is imported, lowered to the float program, written as .qwm and run on our
// own engine; its outputs are compared with the expected ones. A test the importer refuses as unsupported
// (QwmOnnxError ONNX_UNSUPPORTED: the importer targets single-input image classifiers) is excluded with the
// importer's message as the reason; anything else that goes wrong, and every wrong number, is a failure.
//
// Inputs: the ONNX tensor (NCHW, or [N, K]) becomes our per-image NHWC floats, batch = N; integer inputs are
// passed as their values (the importer reads an integer input with scale 1, zero point 0). Outputs: our NHWC
// result back to NCHW, or to [N, K] in ONNX's (c, h, w) order when the value was flattened from an image; a
// final Softmax, which the importer drops (qwasm outputs logits), is applied with the SDK's softmax.
//
// Comparison (ONNX's usual tolerance, with atol scaled for large values):
//   float outputs:   |got - want| <= atol + rtol * |want|, rtol = 1e-3, atol = 1e-7 * max(1, max |want|)
//                    (an absolute 1e-7 is below float32 resolution once values exceed 1; scaling it by the
//                    largest expected magnitude keeps it meaningful for outputs such as 1e4-sized sums)
//   integer outputs: exactly, after rounding our float result (quantized outputs are first quantized with the
//                    output's scale and zero point, as ONNX's QuantizeLinear does: round half to even, saturate)
//   shapes:          [N, ...dims] of the importer's output layout must equal the expected tensor's dims
import { readdirSync, readFileSync, existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { softmax } from "../../sdk/core/model.ts";
import { Runner } from "../engine/runner.ts";
import { lowerFloat } from "../pack/lower.ts";
import { writeQwm } from "../pack/qwm.ts";
import { importOnnx, SUPPORTED_OPS } from "./import.ts";
import { decodeModel, decodeTensorProto, DT, tensorToConst } from "./proto.ts";
import { QwmOnnxError, type Imported, type OnnxIo } from "./types.ts";

export const RTOL = 1e-3;
export const ATOL = 1e-7;

export interface ConformanceFailure { name: string; reason: string }
export interface ConformanceExclusion {
  name: string;
  reason: string;
  /** "op": the graph uses an op outside SUPPORTED_OPS; "import": the importer refused it as unsupported. */
  cause: "op" | "import";
}
export interface ConformanceResult {
  passed: string[];
  failed: ConformanceFailure[];
  excluded: ConformanceExclusion[];
}

export interface ConformanceOptions {
  /** Run only the tests whose folder name matches (a selection for debugging, not a filter of results). */
  only?: RegExp;
}

const INTEGER_TYPES: ReadonlySet<number> = new Set([DT.UINT8, DT.INT8, DT.UINT16, DT.INT16, DT.INT32, DT.INT64, DT.UINT32, DT.UINT64, DT.BOOL]);
const INT_RANGE: Record<number, [number, number]> = {
  [DT.UINT8]: [0, 255], [DT.INT8]: [-128, 127], [DT.UINT16]: [0, 65535], [DT.INT16]: [-32768, 32767],
  [DT.INT32]: [-2147483648, 2147483647], [DT.UINT32]: [0, 4294967295], [DT.BOOL]: [0, 1],
};

// ------------------------------------------------------------------------------------------- layouts

/**
 * An ONNX input tensor (dims with the batch first) to the engine's per-image NHWC floats.
 * `io` is the importer's view of the input: NCHW images ([N, C, H, W] with io.dims = [C, H, W]), or [N, K]
 * vectors. A graph input given as [N, H, W, C] (which the importer recognizes and reports as NCHW dims
 * [C, H, W]) is already NHWC and is passed as it is.
 */
export function onnxInputToNhwc(data: ArrayLike<number>, dims: readonly number[], io: OnnxIo): { x: Float32Array; batch: number } {
  const batch = dims[0] ?? 1;
  const rest = dims.slice(1);
  const per = io.dims.reduce((a, b) => a * b, 1);
  if (data.length !== batch * per) throw new Error(`input of dims [${dims}] does not fit the model's input [N, ${io.dims}]`);
  if (io.layout === "nc" || rest.join() !== io.dims.join()) {
    // vectors, or an NHWC graph input (its dims are the permuted ones)
    if (io.layout === "nchw" && rest.join() !== [io.dims[1], io.dims[2], io.dims[0]].join()) {
      throw new Error(`input of dims [${dims}] matches neither [N, ${io.dims}] nor its NHWC form`);
    }
    return { x: Float32Array.from(data), batch };
  }
  const [C, H, W] = io.dims;
  const x = new Float32Array(data.length);
  for (let n = 0; n < batch; n++) {
    const base = n * per;
    for (let c = 0; c < C; c++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) {
      x[base + (h * W + w) * C + c] = data[base + (c * H + h) * W + w];
    }
  }
  return { x, batch };
}

/**
 * The engine's per-image output back to the ONNX layout: NCHW (`io.dims` = [C, H, W]) from NHWC, or [N, K].
 * A [N, K] value flattened from NCHW (`chw` set) is stored by our engine in NHWC order: its ONNX element
 * (c, h, w) sits at our index (h * W + w) * C + c.
 */
export function nhwcOutputToOnnx(y: ArrayLike<number>, batch: number, io: OnnxIo & { chw?: [number, number, number] }): Float64Array {
  const per = io.dims.reduce((a, b) => a * b, 1);
  if (y.length !== batch * per) throw new Error(`output of ${y.length} values does not fit [${batch}, ${io.dims}]`);
  const out = new Float64Array(y.length);
  let C: number, H: number, W: number;
  if (io.layout === "nchw") [C, H, W] = io.dims;
  else if (io.chw) [C, H, W] = io.chw;
  else { out.set(Array.from(y)); return out; }
  for (let n = 0; n < batch; n++) {
    const base = n * per;
    for (let c = 0; c < C; c++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) {
      out[base + (c * H + h) * W + w] = y[base + (h * W + w) * C + c];
    }
  }
  return out;
}

// ------------------------------------------------------------------------------------------- comparison

const roundHalfEven = (x: number) => {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

/** First mismatch between got and want (same length), or null. */
export function compareOutputs(got: ArrayLike<number>, want: ArrayLike<number>, integer: boolean): string | null {
  if (got.length !== want.length) return `${got.length} values, expected ${want.length}`;
  let maxAbs = 0;
  for (let i = 0; i < want.length; i++) if (Number.isFinite(want[i])) maxAbs = Math.max(maxAbs, Math.abs(want[i]));
  const atol = ATOL * Math.max(1, maxAbs);
  for (let i = 0; i < want.length; i++) {
    const g = got[i], w = want[i];
    if (integer) {
      if (Math.round(g) !== w) return `index ${i}: got ${g}, expected ${w} (integer output, compared exactly)`;
      continue;
    }
    if (Number.isNaN(w) ? Number.isNaN(g) : g === w || Math.abs(g - w) <= atol + RTOL * Math.abs(w)) continue;
    return `index ${i}: got ${g}, expected ${w} (|diff| ${Math.abs(g - w).toPrecision(3)} > ${(atol + RTOL * Math.abs(w)).toPrecision(3)})`;
  }
  return null;
}

/** The SDK's softmax (the one that turns qwasm's logits into scores) over each row of `k` values. */
export function softmaxRows(y: Float64Array, k: number): Float64Array {
  const out = new Float64Array(y.length);
  for (let r = 0; r < y.length; r += k) out.set(softmax(y.subarray(r, r + k)), r);
  return out;
}

// ------------------------------------------------------------------------------------------- the runner

function dataSets(testDir: string): string[] {
  return readdirSync(testDir).filter((d) => d.startsWith("test_data_set_") && statSync(join(testDir, d)).isDirectory())
    .sort((a, b) => Number(a.slice(14)) - Number(b.slice(14)));
}

function numbered(dir: string, prefix: string): string[] {
  return readdirSync(dir).filter((f) => f.startsWith(prefix) && f.endsWith(".pb"))
    .sort((a, b) => Number(a.slice(prefix.length, -3)) - Number(b.slice(prefix.length, -3)));
}

/**
 * The test folders under `dir`, as paths relative to it, sorted: its sub-folders holding a model.onnx, and
 * those one level further down (so `dir` may be one suite, like data/node, or data/ with all its suites:
 * node, pytorch-operator, pytorch-converted, simple). Folders without a model.onnx (data/real ships only
 * download links) are not tests.
 */
export function listTests(dir: string): string[] {
  const out: string[] = [];
  const isDir = (p: string) => { try { return statSync(p).isDirectory(); } catch { return false; } };
  for (const t of readdirSync(dir).sort()) {
    const p = join(dir, t);
    if (!isDir(p)) continue;
    if (existsSync(join(p, "model.onnx"))) { out.push(t); continue; }
    for (const u of readdirSync(p).sort()) if (existsSync(join(p, u, "model.onnx"))) out.push(`${t}/${u}`);
  }
  return out;
}

/** The ONNX integer output value of our float result `y` (a quantized output is quantized with its parameters). */
function integerOutput(y: Float64Array, imp: Imported, dtype: number): Float64Array {
  const q = imp.graph.output === imp.graph.input.name ? undefined : imp.quant?.act.get(imp.graph.output);
  if (!q) return y.map((v) => Math.round(v));
  // the importer keeps quantization parameters in int8 terms (uint8 zero points shifted by -128)
  const shift = dtype === DT.UINT8 ? 128 : 0;
  const [lo, hi] = INT_RANGE[dtype] ?? [-Infinity, Infinity];
  return y.map((v) => Math.min(hi, Math.max(lo, roundHalfEven(v / q.scale) + q.zeroPoint + shift)));
}

async function runOne(dir: string, name: string, wasm: WebAssembly.Module): Promise<
  { status: "passed" } | { status: "failed"; reason: string } | { status: "excluded"; reason: string; cause: "op" | "import" }
> {
  const testDir = join(dir, name);
  const bytes = readFileSync(join(testDir, "model.onnx"));
  const model = decodeModel(bytes);
  const ops = [...new Set<string>((model.graph?.node ?? []).map((n: any) => (n.domain && n.domain !== "ai.onnx" ? `${n.domain}:` : "") + n.opType))];
  const unsupported = ops.filter((o) => !(SUPPORTED_OPS as readonly string[]).includes(o));
  if (unsupported.length) {
    return { status: "excluded", cause: "op", reason: `op${unsupported.length > 1 ? "s" : ""} ${unsupported.join(", ")} ${unsupported.length > 1 ? "are" : "is"} not supported` };
  }
  let imp: Imported;
  try {
    imp = importOnnx(bytes);
  } catch (e) {
    if (e instanceof QwmOnnxError && e.code === "ONNX_UNSUPPORTED") return { status: "excluded", cause: "import", reason: e.message };
    throw e;
  }
  const runner = await Runner.create(wasm, writeQwm(lowerFloat(imp.graph).program));
  const inputNames = (model.graph.input ?? []).map((i: any) => i.name);
  const sets = dataSets(testDir);
  if (!sets.length) return { status: "failed", reason: "no test_data_set_* folder" };
  for (const set of sets) {
    const sd = join(testDir, set);
    const inputs = numbered(sd, "input_").map((f, i) => ({ t: decodeTensorProto(readFileSync(join(sd, f))), i }));
    const mine = inputs.filter(({ t, i }) => (t.name ? t.name === imp.input.name : inputNames[i] === imp.input.name));
    if (inputs.length !== 1 || mine.length !== 1) {
      return { status: "failed", reason: `${set}: ${inputs.length} input tensors, expected exactly the one for '${imp.input.name}'` };
    }
    const outputs = numbered(sd, "output_").map((f) => decodeTensorProto(readFileSync(join(sd, f))));
    if (outputs.length !== 1) return { status: "failed", reason: `${set}: ${outputs.length} output tensors, expected 1` };
    const xin = tensorToConst(mine[0].t), want = tensorToConst(outputs[0]);
    const { x, batch } = onnxInputToNhwc(xin.data, xin.dims, imp.input);
    const shape = [batch, ...imp.output.dims];
    if (shape.join() !== want.dims.join()) return { status: "failed", reason: `${set}: output shape [${shape}], expected [${want.dims}]` };
    let y = nhwcOutputToOnnx(runner.runF32(x, batch), batch, imp.output);
    // the importer drops a final Softmax (qwasm outputs logits; the SDK applies softmax): apply the SDK's
    if (imp.graph.provenance?.softmaxDropped) y = softmaxRows(y, imp.output.dims.reduce((a, b) => a * b, 1));
    const integer = INTEGER_TYPES.has(want.dtype);
    if (integer) y = integerOutput(y, imp, want.dtype);
    const bad = compareOutputs(y, want.data, integer);
    if (bad) return { status: "failed", reason: `${set}: ${bad}` };
  }
  return { status: "passed" };
}

/** Where Debian's libonnx-testdata puts ONNX's test suites (node, pytorch-operator, pytorch-converted, simple). */
export const DEFAULT_DATA_DIR = "/usr/share/libonnx-testdata/data";

/**
 * A reason with its test-specific details (value and node names, dims) removed, for grouping exclusions:
 * "node '#0' (Flatten): Flatten axis=2; ..." -> "Flatten: Flatten axis=2; ...".
 */
export function reasonGroup(reason: string): string {
  return reason
    .replace(/^node '[^']*' \(([^)]*)\): /, "$1: ")
    .replace(/\(an image classifier has exactly one: [^)]*\)/, "(an image classifier has exactly one)")
    .replace(/ of dims \[[^\]]*\]/g, "")
    .replace(/'[^']*'/g, "'…'");
}

/** Groups entries by reasonGroup(reason), largest group first (then by key). */
export function groupByReason<T extends { reason: string }>(xs: readonly T[]): { reason: string; items: T[] }[] {
  const m = new Map<string, T[]>();
  for (const x of xs) {
    const k = reasonGroup(x.reason);
    m.set(k, [...(m.get(k) ?? []), x]);
  }
  return [...m].map(([reason, items]) => ({ reason, items })).sort((a, b) => b.items.length - a.items.length || (a.reason < b.reason ? -1 : 1));
}

/**
 * Runs every test folder under `dir` (e.g. /usr/share/libonnx-testdata/data/node) on the wasm build `wasmBytes`.
 * Every test ends up in exactly one of passed, failed or excluded.
 */
export async function runConformance(dir: string, wasmBytes: Uint8Array, opts: ConformanceOptions = {}): Promise<ConformanceResult> {
  const wasm = await WebAssembly.compile(wasmBytes as Uint8Array<ArrayBuffer>);
  const res: ConformanceResult = { passed: [], failed: [], excluded: [] };
  for (const name of listTests(dir)) {
    if (opts.only && !opts.only.test(name)) continue;
    try {
      const r = await runOne(dir, name, wasm);
      if (r.status === "passed") res.passed.push(name);
      else if (r.status === "excluded") res.excluded.push({ name, reason: r.reason, cause: r.cause });
      else res.failed.push({ name, reason: r.reason });
    } catch (e) {
      const err = e as Error;
      res.failed.push({ name, reason: `${err.name ?? "Error"}${(err as any).code ? ` ${(err as any).code}` : ""}: ${err.message}` });
    }
  }
  return res;
}
