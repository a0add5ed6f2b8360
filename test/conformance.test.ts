// ONNX conformance (src/onnx/conformance.ts): the layout conversions and the comparison it relies on, then the
// whole suite of ONNX's operator tests from Debian's libonnx-testdata on the SIMD build: no failure, and at
// least MIN_PASSED tests passing (so that a regression in the importer or the engine is caught).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import onnxProto from "onnx-proto";
import {
  compareOutputs, DEFAULT_DATA_DIR, groupByReason, nhwcOutputToOnnx, onnxInputToNhwc, reasonGroup, runConformance, softmaxRows,
} from "../src/onnx/conformance.ts";
import { readBuild } from "../src/wasm/module.ts";
import { testIf } from "./helpers/tools.ts";

/** Passing tests reached when this was written (node, pytorch-converted suites); raise it as support grows. */
const MIN_PASSED = 34;

const iota = (n: number) => Float32Array.from({ length: n }, (_, i) => i);

test("NCHW input to per-image NHWC, batch from the first dim", () => {
  // [N=2, C=3, H=2, W=2]: value = n*100 + c*10 + h*2 + w
  const N = 2, C = 3, H = 2, W = 2;
  const nchw = new Float32Array(N * C * H * W);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) {
    nchw[((n * C + c) * H + h) * W + w] = n * 100 + c * 10 + h * 2 + w;
  }
  const { x, batch } = onnxInputToNhwc(nchw, [N, C, H, W], { name: "x", layout: "nchw", dims: [C, H, W] });
  assert.is(batch, 2);
  for (let n = 0; n < N; n++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) for (let c = 0; c < C; c++) {
    assert.is(x[((n * H + h) * W + w) * C + c], n * 100 + c * 10 + h * 2 + w);
  }
});

test("[N, K] input and an [N, H, W, C] graph input pass unchanged", () => {
  assert.equal(Array.from(onnxInputToNhwc(iota(6), [2, 3], { name: "x", layout: "nc", dims: [3] }).x), Array.from(iota(6)));
  // an NHWC graph input: the importer reports NCHW dims [C, H, W] = [3, 5, 6] for ONNX dims [1, 5, 6, 3]
  const r = onnxInputToNhwc(iota(90), [1, 5, 6, 3], { name: "x", layout: "nchw", dims: [3, 5, 6] });
  assert.equal(Array.from(r.x), Array.from(iota(90)));
  assert.throws(() => onnxInputToNhwc(iota(90), [1, 6, 5, 3], { name: "x", layout: "nchw", dims: [3, 5, 6] }), /neither/);
  assert.throws(() => onnxInputToNhwc(iota(10), [2, 5], { name: "x", layout: "nc", dims: [3] }), /does not fit/);
});

test("NHWC output back to NCHW, and a flattened value from NHWC order to ONNX's (c, h, w) order", () => {
  const C = 2, H = 3, W = 2, per = C * H * W;
  // our output: per image NHWC, value = n*1000 + c*100 + h*10 + w at index (h*W + w)*C + c
  const y = new Float32Array(2 * per);
  for (let n = 0; n < 2; n++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) for (let c = 0; c < C; c++) {
    y[n * per + (h * W + w) * C + c] = n * 1000 + c * 100 + h * 10 + w;
  }
  const want: number[] = [];
  for (let n = 0; n < 2; n++) for (let c = 0; c < C; c++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) want.push(n * 1000 + c * 100 + h * 10 + w);
  assert.equal(Array.from(nhwcOutputToOnnx(y, 2, { name: "y", layout: "nchw", dims: [C, H, W] })), want);
  assert.equal(Array.from(nhwcOutputToOnnx(y, 2, { name: "y", layout: "nc", dims: [per], chw: [C, H, W] })), want);
  // a plain [N, K] output (not flattened from an image) is already in ONNX order
  assert.equal(Array.from(nhwcOutputToOnnx(y, 2, { name: "y", layout: "nc", dims: [per] })), Array.from(y));
  // the conversions are inverse to each other
  const back = onnxInputToNhwc(Float32Array.from(want), [2, C, H, W], { name: "x", layout: "nchw", dims: [C, H, W] }).x;
  assert.equal(Array.from(back), Array.from(y));
});

test("comparison: rtol 1e-3, atol 1e-7 scaled by the largest expected magnitude; integers exactly", () => {
  assert.is(compareOutputs([1.0009], [1], false), null);
  assert.match(compareOutputs([1, 1.0011], [1, 1], false) ?? "", /^index 1: got 1.0011, expected 1/);
  // near zero next to large values: atol = 1e-7 * 1e4 = 1e-3
  assert.is(compareOutputs([0.0009, 1e4], [0, 1e4], false), null);
  assert.ok(compareOutputs([0.0011, 1e4], [0, 1e4], false));
  // small values: atol stays 1e-7
  assert.is(compareOutputs([5e-8], [0], false), null);
  assert.ok(compareOutputs([2e-7], [0], false));
  assert.is(compareOutputs([NaN, Infinity], [NaN, Infinity], false), null);
  assert.ok(compareOutputs([0], [NaN], false));
  assert.is(compareOutputs([2.9999, -4.0001], [3, -4], true), null);
  assert.match(compareOutputs([3.6], [3], true) ?? "", /index 0: got 3.6, expected 3/);
  assert.match(compareOutputs([1, 2], [1], false) ?? "", /2 values, expected 1/);
});

test("softmax rows, and exclusion reasons grouped without test-specific names", () => {
  const p = softmaxRows(Float64Array.from([0, 0, 1000, 0]), 2);
  assert.ok(Math.abs(p[0] - 0.5) < 1e-12 && Math.abs(p[1] - 0.5) < 1e-12 && p[2] === 1 && p[3] === 0);
  assert.is(reasonGroup("node '#0' (Flatten): Flatten axis=2; supported: axis 1"), "Flatten: Flatten axis=2; supported: axis 1");
  assert.is(reasonGroup("graphs with 2 inputs are not supported (an image classifier has exactly one: x, W)"),
    "graphs with 2 inputs are not supported (an image classifier has exactly one)");
  const g = groupByReason([{ reason: "input 'a' has rank 3" }, { reason: "input 'b' has rank 3" }, { reason: "x" }]);
  assert.equal(g.map((x) => [x.reason, x.items.length]), [["input '…' has rank 3", 2], ["x", 1]]);
});

// ---- the runner on small suites written here: a right and a wrong answer, a quantized output, both kinds of
// exclusion, and the importer's broadcasting of constants (numpy rules; opsets before 7: `broadcast` + `axis`)

const { onnx } = onnxProto as any;
const FLOAT = 1, UINT8 = 2;
const vi = (name: string, elemType: number, dims: number[]) =>
  ({ name, type: { tensorType: { elemType, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
const tensorPb = (name: string, dims: number[], dtype: number, data: ArrayLike<number>) =>
  dtype === FLOAT ? { name, dims, dataType: FLOAT, floatData: Array.from(data) } : { name, dims, dataType: dtype, rawData: Uint8Array.from(data) };

interface Case {
  name: string; opset?: number; nodes: object[]; inits?: object[];
  x: { dims: number[]; type?: number }; y: { dims: number[]; type?: number; data: (x: Float32Array) => ArrayLike<number> };
}

function writeSuite(cases: Case[]): string {
  const root = mkdtempSync(join(tmpdir(), "qwasm-conformance-"));
  const r = (() => { let s = 7; return () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 4 - 2; })();
  for (const c of cases) {
    const d = join(root, c.name), sd = join(d, "test_data_set_0");
    mkdirSync(sd, { recursive: true });
    const xt = c.x.type ?? FLOAT, yt = c.y.type ?? FLOAT;
    writeFileSync(join(d, "model.onnx"), onnx.ModelProto.encode({
      irVersion: 7, opsetImport: [{ domain: "", version: c.opset ?? 13 }],
      graph: { name: c.name, node: c.nodes, initializer: c.inits ?? [], input: [vi("x", xt, c.x.dims)], output: [vi("y", yt, c.y.dims)] },
    }).finish());
    const x = Float32Array.from({ length: c.x.dims.reduce((a, b) => a * b, 1) }, r);
    writeFileSync(join(sd, "input_0.pb"), onnx.TensorProto.encode(tensorPb("x", c.x.dims, xt, x)).finish());
    writeFileSync(join(sd, "output_0.pb"), onnx.TensorProto.encode(tensorPb("y", c.y.dims, yt, c.y.data(x))).finish());
  }
  return root;
}

const relu = (x: Float32Array) => x.map((v) => Math.max(v, 0));
/** Adds one value per channel to an NCHW tensor [N, C, H*W]. */
const addPerChannel = (b: number[], HW: number) => (x: Float32Array) => x.map((v, i) => v + b[Math.floor(i / HW) % b.length]);
const bias3 = [0.5, -1, 2];

test("runner: passes right numbers, fails wrong ones with the index, quantized outputs exactly, both kinds of exclusion", async () => {
  const root = writeSuite([
    { name: "relu_ok", nodes: [{ opType: "Relu", input: ["x"], output: ["y"] }], x: { dims: [2, 3, 2, 2] }, y: { dims: [2, 3, 2, 2], data: relu } },
    {
      name: "relu_wrong", nodes: [{ opType: "Relu", input: ["x"], output: ["y"] }], x: { dims: [2, 3, 2, 2] },
      y: { dims: [2, 3, 2, 2], data: (x) => relu(x).map((v, i) => (i === 5 ? v + 0.01 : v)) },
    },
    {
      name: "relu_wrong_shape", nodes: [{ opType: "Relu", input: ["x"], output: ["y"] }], x: { dims: [1, 3, 2, 2] },
      y: { dims: [1, 12], data: relu },
    },
    {
      // Relu then QuantizeLinear to uint8 (scale 0.05, zero point 10): the output is compared as integers
      name: "relu_quantized", nodes: [{ opType: "Relu", input: ["x"], output: ["r"] }, { opType: "QuantizeLinear", input: ["r", "s", "z"], output: ["y"] }],
      inits: [tensorPb("s", [], FLOAT, [0.05]), tensorPb("z", [], UINT8, [10])], x: { dims: [1, 3, 2, 2] },
      y: { dims: [1, 3, 2, 2], type: UINT8, data: (x) => relu(x).map((v) => Math.min(255, Math.round(v / Math.fround(0.05)) + 10)) },
    },
    {
      // flattened NCHW into a Gemm-free output: the [N, K] value is in ONNX's (c, h, w) order
      name: "flatten_after_relu", nodes: [{ opType: "Relu", input: ["x"], output: ["r"] }, { opType: "Flatten", input: ["r"], output: ["y"] }],
      x: { dims: [2, 3, 2, 3] }, y: { dims: [2, 18], data: relu },
    },
    {
      // a per-feature constant on a flattened image applies in ONNX's (c, h, w) order, not our NHWC order
      name: "flatten_then_add_vector",
      nodes: [{ opType: "Flatten", input: ["x"], output: ["f"] }, { opType: "Add", input: ["f", "b"], output: ["y"] }],
      inits: [tensorPb("b", [12], FLOAT, Array.from({ length: 12 }, (_, i) => i))], x: { dims: [2, 3, 2, 2] },
      y: { dims: [2, 12], data: (x) => x.map((v, i) => v + (i % 12)) },
    },
    { name: "tanh", nodes: [{ opType: "Tanh", input: ["x"], output: ["y"] }], x: { dims: [1, 3, 2, 2] }, y: { dims: [1, 3, 2, 2], data: (x) => x.map(Math.tanh) } },
    { name: "relu_4ch", nodes: [{ opType: "Relu", input: ["x"], output: ["y"] }], x: { dims: [1, 4, 2, 2] }, y: { dims: [1, 4, 2, 2], data: relu } },
    {
      // numpy broadcasting: a [3] constant against [N, 3, 3, 3] adds along W, not per channel: not supported
      name: "add_vector_along_w", nodes: [{ opType: "Add", input: ["x", "b"], output: ["y"] }], inits: [tensorPb("b", [3], FLOAT, bias3)],
      x: { dims: [1, 3, 3, 3] }, y: { dims: [1, 3, 3, 3], data: (x) => x.map((v, i) => v + bias3[i % 3]) },
    },
    {
      name: "add_per_channel", nodes: [{ opType: "Add", input: ["x", "b"], output: ["y"] }], inits: [tensorPb("b", [3, 1, 1], FLOAT, bias3)],
      x: { dims: [1, 3, 3, 3] }, y: { dims: [1, 3, 3, 3], data: addPerChannel(bias3, 9) },
    },
    {
      // opset 6: B broadcast from `axis` 1, i.e. one value per channel
      name: "add_legacy_broadcast_axis1", opset: 6,
      nodes: [{ opType: "Add", input: ["x", "b"], output: ["y"], attribute: [{ name: "broadcast", type: 2, i: 1 }, { name: "axis", type: 2, i: 1 }] }],
      inits: [tensorPb("b", [3], FLOAT, bias3)], x: { dims: [1, 3, 2, 2] }, y: { dims: [1, 3, 2, 2], data: addPerChannel(bias3, 4) },
    },
  ]);
  const res = await runConformance(root, readBuild("simd"));
  assert.equal(res.passed, ["add_legacy_broadcast_axis1", "add_per_channel", "flatten_after_relu", "flatten_then_add_vector", "relu_ok", "relu_quantized"]);
  assert.equal(res.failed.map((f) => f.name), ["relu_wrong", "relu_wrong_shape"]);
  assert.match(res.failed[0].reason, /^test_data_set_0: index 5: got /);
  assert.match(res.failed[1].reason, /output shape \[1,3,2,2\], expected \[1,12\]/);
  const ex = Object.fromEntries(res.excluded.map((e) => [e.name, e]));
  assert.equal(Object.keys(ex).sort(), ["add_vector_along_w", "relu_4ch", "tanh"]);
  assert.is(ex.tanh.cause, "op");
  assert.is(ex.tanh.reason, "op Tanh is not supported");
  assert.is(ex.relu_4ch.cause, "import");
  assert.match(ex.relu_4ch.reason, /4 channels; supported: images of 1 \(gray\) or 3/);
  assert.match(ex.add_vector_along_w.reason, /constant of shape \[3\]/);
});

testIf(existsSync(DEFAULT_DATA_DIR), "ONNX operator tests (libonnx-testdata) on the SIMD build: no failure",
  `${DEFAULT_DATA_DIR} is missing (apt-get install libonnx-testdata)`, async () => {
    const res = await runConformance(DEFAULT_DATA_DIR, readBuild("simd"));
    const byOp = res.excluded.filter((e) => e.cause === "op").length;
    console.log(`  conformance: ${res.passed.length} passed, ${res.failed.length} failed, ${res.excluded.length - byOp} excluded ` +
      `(of ${res.passed.length + res.failed.length + res.excluded.length - byOp} tests whose ops are all supported; ${byOp} tests use unsupported ops)`);
    assert.equal(res.failed, [], res.failed.map((f) => `${f.name}: ${f.reason}`).join("\n"));
    assert.ok(res.passed.length >= MIN_PASSED, `${res.passed.length} tests passed, expected at least ${MIN_PASSED}`);
    // every test lands in exactly one list, each exclusion with a reason
    const names = [...res.passed, ...res.failed.map((f) => f.name), ...res.excluded.map((e) => e.name)];
    assert.is(new Set(names).size, names.length);
    assert.ok(res.excluded.every((e) => e.reason.length > 0));
    // the selection is by the nodes' op types: a test of an op outside SUPPORTED_OPS is never imported
    assert.ok(res.excluded.some((e) => e.cause === "op" && /^ops? .* not supported$/.test(e.reason)));
  });

test.run();
