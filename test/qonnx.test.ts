// QONNX import (issue 7): Quant, BipolarQuant and Trunc as the QONNX spec defines them. (a) our float reference
// (test/helpers/qonnx_ref.ts) against examples worked by hand from the spec; (b) models built here with those
// nodes, imported without calibration, whose .qwm integer outputs must match the reference within one output
// step; the low-bit weights must land on the low-bit kernels with their learned scales; typed errors.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { quantize } from "../src/api.ts";
import type { Dataset } from "../src/data/index.ts";
import { importOnnx } from "../src/onnx/import.ts";
import { QwmOnnxError } from "../src/onnx/types.ts";
import { roundingFn, quantWeights, activationQuant, truncQuant } from "../src/onnx/qonnx.ts";
import { readQwm, layers } from "../src/pack/read.ts";
import { Runner } from "../src/engine/runner.ts";
import { readBuild } from "../src/wasm/module.ts";
import { Op } from "../assembly/runtime/schema.ts";
import { rng } from "./helpers/ref.ts";
import {
  attrInt, attrInts, attrStr, conv2d, gap, gemm, mapT, model, node, QONNX, quantNode, quantParams, refBipolar, refQuant, refRound, refTrunc, relu, tensor, vi, type T4,
} from "./helpers/qonnx_ref.ts";

// ------------------------------------------------------------------------------------- (a) the reference

// the spec's table (intquant_v1.md, "Rounding modes")
const TABLE: Record<string, number[]> = {
  ROUND: [6, 2, 2, 1, 1, -1, -1, -2, -2, -6],
  CEIL: [6, 3, 2, 2, 1, -1, -1, -1, -2, -5],
  FLOOR: [5, 2, 1, 1, 1, -1, -2, -2, -3, -6],
  UP: [6, 3, 2, 2, 1, -1, -2, -2, -3, -6],
  DOWN: [5, 2, 1, 1, 1, -1, -1, -1, -2, -5],
  HALF_UP: [6, 3, 2, 1, 1, -1, -1, -2, -3, -6],
  HALF_DOWN: [5, 2, 2, 1, 1, -1, -1, -2, -2, -5],
};
const NUMS = [5.5, 2.5, 1.6, 1.1, 1.0, -1.0, -1.1, -1.6, -2.5, -5.5];

test("rounding modes: the reference and the importer both give the spec's table", () => {
  for (const [mode, want] of Object.entries(TABLE)) {
    assert.equal(NUMS.map((v) => refRound(v, mode)), want, `reference ${mode}`);
    assert.equal(NUMS.map((v) => roundingFn(mode)(v)), want, `importer ${mode}`);
    assert.equal(NUMS.map((v) => roundingFn(mode.toLowerCase())(v)), want, `importer ${mode.toLowerCase()}`);
  }
  assert.throws(() => roundingFn("STOCHASTIC"), /rounding_mode 'STOCHASTIC'/);
});

test("Quant, BipolarQuant and Trunc: examples worked by hand from the spec", () => {
  // 4-bit signed, scale 0.5: x/s = -6.6 -0.52 0 0.48 1.5 3.8 20 -> round half even -7 -1 0 0 2 4 20 -> clamp [-8, 7]
  assert.equal(refQuant([-3.3, -0.26, 0, 0.24, 0.75, 1.9, 10], [0.5], [0], 4, true, false, "ROUND"), [-3.5, -0.5, 0, 0, 1, 2, 3.5]);
  // the same, narrow: clamp [-7, 7]; -5 / 0.5 = -10 -> -7
  assert.equal(refQuant([-5, 5], [0.5], [0], 4, true, true, "ROUND"), [-3.5, 3.5]);
  // 2-bit signed, narrow: {-1, 0, 1} (ternary)
  assert.equal(refQuant([-0.9, -0.2, 0.3, 0.9], [0.5], [0], 2, true, true, "ROUND"), [-0.5, 0, 0.5, 0.5]);
  // 3-bit unsigned, zero point 2, scale 0.25: x/s + z = -2 2 3.2 6.8 -> clamp [0, 7] -> 0 2 3.2 6.8 -> round 0 2 3 7 -> (v - 2) * 0.25
  assert.equal(refQuant([-1, 0, 0.3, 1.2], [0.25], [2], 3, false, false, "ROUND"), [-0.5, 0, 0.25, 1.25]);
  // FLOOR and CEIL at 8 bits unsigned
  assert.equal(refQuant([0.99, 1.01], [0.5], [0], 8, false, false, "FLOOR"), [0.5, 1]);
  assert.equal(refQuant([0.99, 1.01], [0.5], [0], 8, false, false, "CEIL"), [1, 1.5]);
  // per-channel scales (weights [2][2], one scale per row)
  assert.equal(refQuant([0.3, -0.3, 0.3, -0.3], [0.1, 1], [0], 8, true, true, "ROUND", (i) => i >> 1), [0.30000000000000004, -0.30000000000000004, 0, 0]);
  // BipolarQuant: x >= 0 -> +1 (0 included)
  assert.equal(refBipolar([-0.1, 0, 2], [0.3]), [-0.3, 0.3, 0.3]);
  // Trunc: scale 0.5 -> out_scale 2 (t = 4), 4-bit unsigned, FLOOR: x/s = 0 2 5.8 15 200 -> round 0 2 6 15 200 -> /4 -> clamp [0, 15] -> floor 0 0 1 3 15
  assert.equal(refTrunc([0, 1, 2.9, 7.5, 100], 0.5, 0, 2, 4, false, false), [0, 0, 2, 6, 30]);
  assert.equal(refTrunc([0, 1, 2.9, 7.5, 100], 0.5, 0, 2, 4, false, false, "ROUND"), [0, 0, 4, 8, 30]);
  // the importer's weight quantizer agrees with the reference on the first example, and gives the integers
  const w = quantWeights({ dims: [7], data: [-3.3, -0.26, 0, 0.24, 0.75, 1.9, 10] }, { dims: [], data: [0.5] }, [0], 4, { signed: true, narrow: false, rounding: "ROUND" }, "w");
  assert.equal(Array.from(w.values), [-3.5, -0.5, 0, 0, 1, 2, 3.5]);
  assert.equal(Array.from(w.q), [-7, -1, 0, 0, 2, 4, 7]);
  assert.is(w.bits, 4);
  // activation parameters: unsigned grids shift by -128; a grid narrower than int8 gets a clip
  assert.equal(activationQuant(0.1, 0, 8, { signed: false, narrow: false }), { q: { scale: Math.fround(0.1), zeroPoint: -128 }, clip: undefined });
  assert.equal(activationQuant(0.5, 0, 4, { signed: false, narrow: false }), { q: { scale: 0.5, zeroPoint: -128 }, clip: [0, 7.5] });
  assert.equal(activationQuant(0.5, 0, 8, { signed: true, narrow: true }).clip, [-63.5, 63.5]);
  assert.equal(truncQuant(0.5, 0, 8, 2, 4, { signed: false, narrow: false }), { q: { scale: 2, zeroPoint: -128 }, clip: [0, 30], outScale: 2 });
  assert.is(truncQuant(0.5, 0, 8, undefined, 4, { signed: false, narrow: false }).outScale, 8, "Trunc v1: out_scale = scale * 2^(in - out)");
});

// ------------------------------------------------------------------------- (b) models with QONNX nodes

const r = rng(77);
const rand = (n: number, s: number) => Float64Array.from({ length: n }, () => Math.fround((r.next() * 2 - 1) * s)); // float32 values, as the file stores them
const f32 = Math.fround;
const maxAbs = (a: ArrayLike<number>) => { let m = 0; for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i])); return m; };
const IMAGES = 24;
const inputs = Array.from({ length: IMAGES }, () => rand(3 * 8 * 8, 2));
const S_IN = f32(2 / 127.3); // 8-bit signed input quantizer

// model 1: Quant(input) -> Conv (4-bit narrow per-channel weights) -> Relu -> Quant(u4) -> Conv (2-bit weights,
// stride 2) -> Relu -> Quant(u4) -> GlobalAveragePool -> Quant(u8) -> Flatten -> Gemm (BipolarQuant weights) -> Quant(s8)
const W1 = rand(6 * 3 * 9, 0.4), B1 = rand(6, 0.1), W2 = rand(8 * 6 * 9, 0.3), B2 = rand(8, 0.1), WF = rand(10 * 8, 1), BF = rand(10, 0.2);
const S_W1 = Array.from({ length: 6 }, (_, n) => f32(maxAbs(W1.subarray(n * 27, (n + 1) * 27)) / 7));
const S_W2 = [f32(maxAbs(W2) / 2.2)];
const S_WF = Array.from({ length: 10 }, (_, n) => f32(0.05 + 0.01 * n)); // output multipliers below 1: the binary kernel (not widened)
// biases on their accumulator grid (input scale x weight scale), as Brevitas exports int32 biases
const onGrid = (b: Float64Array, unit: (n: number) => number) => b.map((v, n) => f32(Math.round(v / unit(n)) * unit(n)));
const w1q = refQuant(W1, S_W1, [0], 4, true, true, "ROUND", (i) => Math.floor(i / 27));
const w2q = refQuant(W2, S_W2, [0], 2, true, false, "ROUND");
const wfq = refBipolar(WF, S_WF, (i) => Math.floor(i / 8));

/** The float reference of model 1 up to each quantizer, given the activation scales. */
function model1Ref(x: Float64Array, s: { a1: number; a2: number; g: number; o: number }) {
  const xin: T4 = { c: 3, h: 8, w: 8, d: Float64Array.from(refQuant(x, [S_IN], [0], 8, true, false, "ROUND")) };
  const c1 = relu(conv2d(xin, w1q, B1, 6, 3, 1, 1));
  const a1 = mapT(c1, (d) => refQuant(d, [s.a1], [0], 4, false, false, "ROUND"));
  const c2 = relu(conv2d(a1, w2q, B2, 8, 3, 2, 1));
  const a2 = mapT(c2, (d) => refQuant(d, [s.a2], [0], 4, false, false, "ROUND"));
  const g = gap(a2);
  const gq = refQuant(g, [s.g], [0], 8, false, false, "ROUND");
  const logits = gemm(gq, wfq, BF, 10);
  return { c1, c2, g, logits, y: refQuant(logits, [s.o], [0], 8, true, false, "ROUND") };
}
// activation scales from the reference's ranges on the test images (as a trained model would have learned)
const S1 = { a1: 1, a2: 1, g: 1, o: 1 };
B1.set(onGrid(B1, (n) => S_IN * S_W1[n]));
S1.a1 = f32(Math.max(...inputs.map((x) => maxAbs(model1Ref(x, S1).c1.d))) / 12);
B2.set(onGrid(B2, () => S1.a1 * S_W2[0]));
S1.a2 = f32(Math.max(...inputs.map((x) => maxAbs(model1Ref(x, S1).c2.d))) / 14);
S1.g = f32(S1.a2 / 10.3); // the pooled 4-bit grid, finer (the GAP multiplier s_a2 / (16 s_g) stays below 1)
BF.set(onGrid(BF, (n) => S1.g * S_WF[n]));
S1.o = f32(Math.max(...inputs.map((x) => maxAbs(model1Ref(x, S1).logits))) / 120.3);

function model1(over: { w1Bits?: number; w1Zp?: number; w1Fine?: boolean; actBits?: number; bipolarAct?: boolean; noOutQuant?: boolean } = {}): Uint8Array {
  const conv = (name: string, x: string, w: string, b: string, y: string, stride: number) =>
    node("Conv", [x, w, b], [y], [attrInts("kernel_shape", [3, 3]), attrInts("pads", [1, 1, 1, 1]), attrInts("strides", [stride, stride])], name);
  return model({
    name: "qonnx1",
    node: [
      quantNode("x", "qin", "xq", true, false),
      quantNode("w1", "qw1", "w1q", true, true),
      conv("conv1", "xq", "w1q", "b1", "c1", 1),
      node("Relu", ["c1"], ["r1"]),
      over.bipolarAct ? node("BipolarQuant", ["r1", "qa1_s"], ["a1"], [], "qa1", QONNX) : quantNode("r1", "qa1", "a1", false, false),
      quantNode("w2", "qw2", "w2q", true, false),
      conv("conv2", "a1", "w2q", "b2", "c2", 2),
      node("Relu", ["c2"], ["r2"]),
      quantNode("r2", "qa2", "a2", false, false),
      node("GlobalAveragePool", ["a2"], ["g"]),
      quantNode("g", "qg", "gq", false, false),
      node("Flatten", ["gq"], ["f"], [attrInt("axis", 1)]),
      node("BipolarQuant", ["wf", "qwf_s"], ["wfq"], [], "qwf", QONNX),
      node("Gemm", ["f", "wfq", "bf"], ["logits"], [attrInt("transB", 1)], "fc"),
      ...(over.noOutQuant ? [] : [quantNode("logits", "qo", "y", true, false)]),
    ],
    initializer: [
      tensor("w1", [6, 3, 3, 3], W1), tensor("b1", [6], B1), tensor("w2", [8, 6, 3, 3], W2), tensor("b2", [8], B2), tensor("wf", [10, 8], WF), tensor("bf", [10], BF),
      ...quantParams("qin", [S_IN], [], 0, 8),
      ...quantParams("qw1", over.w1Fine ? S_W1.map((x) => x / 40) : S_W1, [6, 1, 1, 1], over.w1Zp ?? 0, over.w1Bits ?? 4),
      ...quantParams("qa1", [S1.a1], [], 0, over.actBits ?? 4),
      ...quantParams("qw2", S_W2, [], 0, 2),
      ...quantParams("qa2", [S1.a2], [], 0, 4),
      ...quantParams("qg", [S1.g], [], 0, 8),
      tensor("qwf_s", [10, 1], S_WF),
      ...quantParams("qo", [S1.o], [], 0, 8),
    ],
    input: [vi("x", [1, 3, 8, 8])], output: [vi(over.noOutQuant ? "logits" : "y", [1, 10])],
  });
}

/** NCHW images to the NHWC floats our engine takes. */
const nhwc = (x: Float64Array, C: number, H: number, W: number) => {
  const out = new Float32Array(C * H * W);
  for (let c = 0; c < C; c++) for (let i = 0; i < H * W; i++) out[i * C + c] = x[c * H * W + i];
  return out;
};

/** Runs a .qwm on the test images (SIMD and no-SIMD builds, which must agree); its int8 outputs. */
async function runInts(qwm: Uint8Array): Promise<Int8Array[]> {
  const outs: Int8Array[] = [];
  for (const b of ["simd", "nosimd"] as const) {
    const run = await Runner.create(readBuild(b), qwm);
    const batch = new Float32Array(IMAGES * 3 * 64);
    inputs.forEach((x, i) => batch.set(nhwc(x, 3, 8, 8), i * 3 * 64));
    outs.push(Int8Array.from(run.runF32(batch, IMAGES) as Int8Array));
  }
  assert.equal(Array.from(outs[0]), Array.from(outs[1]), "SIMD and no-SIMD builds agree");
  const K = outs[0].length / IMAGES;
  return Array.from({ length: IMAGES }, (_, i) => outs[0].subarray(i * K, (i + 1) * K));
}

/** Our integer outputs against the reference's integers: within one step everywhere; how many exact. */
function compare(ours: Int8Array[], ref: number[][], scale: number, zp: number): { exact: number; total: number } {
  let exact = 0, total = 0;
  ours.forEach((row, i) => row.forEach((q, j) => {
    const want = Math.round(ref[i][j] / scale) + zp; // the reference is on the grid: an integer up to float error
    assert.ok(Math.abs(q - want) <= 1, `image ${i}, output ${j}: ${q} vs reference ${want}`);
    if (q === want) exact++;
    total++;
  }));
  if (process.env.QONNX_VERBOSE) console.log(`${exact} of ${total} outputs exact, the rest one step apart`);
  return { exact, total };
}

test("model 1 (Quant 4-bit / 2-bit weights, BipolarQuant weights, u4 / u8 / s8 activations): imported without calibration onto the low-bit kernels, outputs within one step of the reference", async () => {
  const onnx = model1();
  const imp = importOnnx(onnx);
  assert.ok(imp.quant, "the model carries its quantization");
  // the float weights are the quantizers' outputs (float32 of the reference)
  const conv1 = imp.graph.nodes.find((n) => n.name === "conv1") as any;
  const ref1 = new Float32Array(6 * 27);
  for (let n = 0; n < 6; n++) for (let c = 0; c < 3; c++) for (let t = 0; t < 9; t++) ref1[n * 27 + t * 3 + c] = w1q[(n * 3 + c) * 9 + t];
  assert.equal(Array.from(conv1.weight), Array.from(ref1));
  const wq = imp.quant!.weights.get("conv1") as any;
  assert.is(wq.bits, 4);
  assert.ok(Array.from(wq.q as Int8Array).every((v) => v >= -7 && v <= 7));
  assert.is((imp.quant!.weights.get("conv2") as any).bits, 2);
  assert.is((imp.quant!.weights.get("fc") as any).bits, 1);

  const q = await quantize(onnx);
  assert.is(q.method, "model", "no calibration");
  const c = readQwm(q.qwm);
  const ops = new Set(c.ops.map((o) => o.op));
  assert.ok(ops.has(Op.Conv2dQs4), "4-bit conv");
  assert.ok(ops.has(Op.DenseQbw), `binary dense: ${JSON.stringify(layers(c).map((l) => [l.op, l.weightBits]))} ${S1.g} ${S1.o}`);
  const ls = layers(c).filter((l) => l.weightBits > 0);
  assert.equal(ls.map((l) => l.weightBits).slice(0, 1).concat(ls.slice(-1).map((l) => l.weightBits)), [4, 1]);
  assert.ok(ls[1].weightBits <= 4, `conv2 on a 2-bit (or widened int4) kernel: ${ls[1].weightBits}`);
  assert.ok(ops.has(Op.LutQs8), "the u4 quantizer's clip");
  const out = c.tensors[c.outputTensor];
  assert.is(out.zeroPoint, 0);
  assert.ok(Math.abs(out.scale - S1.o) < 1e-7 * S1.o, "the output keeps its learned scale");
  const ours = await runInts(q.qwm);
  const ref = inputs.map((x) => model1Ref(x, S1).y);
  const { exact, total } = compare(ours, ref, out.scale, out.zeroPoint);
  assert.ok(exact / total >= 0.98, `${exact} of ${total} outputs exact`);
});

test("model 1 without its output quantizer: a typed error without calibration; with calibration the bare values are calibrated, the model's own quantization kept", async () => {
  const onnx = model1({ noOutQuant: true });
  let err: Error | undefined;
  try { await quantize(onnx); } catch (e) { err = e as Error; }
  assert.match(String(err?.message), /'logits' has no quantization parameters.*--calib/);
  // pixels p in 0..255 with mean 0.5, std 0.25: x = (p / 255 - 0.5) / 0.25 in [-2, 2]
  const pre = { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] };
  const px = Array.from({ length: 40 }, () => Uint8Array.from({ length: 192 }, () => Math.floor(r.next() * 256)));
  const calib: Dataset = { width: 8, height: 8, channels: 3, images: px.map((data) => ({ data, width: 8, height: 8, channels: 3 as const })), labels: new Int32Array(40).fill(-1), source: "test" };
  const q = await quantize(onnx, { calib, calibration: "minmax", preprocess: pre });
  const c = readQwm(q.qwm);
  assert.ok(c.ops.some((o) => o.op === Op.Conv2dQs4), "the 4-bit weights stay");
  assert.match(String(c.provenance!.calibration), /QONNX quantizers leave bare/);
  const inT = c.tensors[c.inputTensor], out = c.tensors[c.outputTensor];
  assert.ok(Math.abs(inT.scale - S_IN) < 1e-7 * S_IN, "the input keeps the model's scale");
  const run = await Runner.create(readBuild("simd"), q.qwm);
  let worst = 0;
  for (const p of px) {
    const x = Float64Array.from({ length: 192 }, (_, i) => { const ch = Math.floor(i / 64), hw = i % 64; return (p[hw * 3 + ch] / 255 - 0.5) / 0.25; });
    const y = run.runF32(nhwc(x, 3, 8, 8), 1) as Int8Array;
    const ref = model1Ref(x, S1).logits;
    y.forEach((v, j) => { worst = Math.max(worst, Math.abs((v - out.zeroPoint) * out.scale - ref[j]) / out.scale); });
  }
  // half a step of output rounding, plus about one where an upstream value lands one step off (float32 input
  // normalization, 32-bit fixed-point multipliers)
  assert.ok(worst <= 2.5, `dequantized logits within ${worst.toFixed(2)} output steps of the reference`);
});

// model 2: Quant(input) -> Conv (8-bit narrow per-channel) -> Relu -> Quant(u8) -> GlobalAveragePool -> Trunc
// (scale s/16, 12 bits in, 6 bits out, FLOOR) -> Flatten: the output is the Trunc's
const W3 = rand(5 * 27, 0.5), B3 = rand(5, 0.1);
const S_W3 = Array.from({ length: 5 }, (_, n) => f32(maxAbs(W3.subarray(n * 27, (n + 1) * 27)) / 127));
const w3q = refQuant(W3, S_W3, [0], 8, true, true, "ROUND", (i) => Math.floor(i / 27));
const S2 = { a: 1 };
const model2Ref = (x: Float64Array, mode = "FLOOR") => {
  const xin: T4 = { c: 3, h: 8, w: 8, d: Float64Array.from(refQuant(x, [S_IN], [0], 8, true, false, "ROUND")) };
  const c = relu(conv2d(xin, w3q, B3, 5, 3, 2, 1)); // 4x4
  const a = mapT(c, (d) => refQuant(d, [S2.a], [0], 8, false, false, "ROUND"));
  const g = gap(a);
  return { c, y: refTrunc(g, S2.a / 16, 0, (S2.a / 16) * 64, 6, false, false, mode) };
};
B3.set(onGrid(B3, (n) => S_IN * S_W3[n]));
S2.a = f32(Math.max(...inputs.map((x) => maxAbs(model2Ref(x).c.d))) / 200); // a power-of-two ratio to s/16 and 4s: exact in float32

function model2(mode = "FLOOR", v1 = false): Uint8Array {
  const truncIn = v1 ? ["g", "qt_s", "qt_z", "qt_bi", "qt_bo"] : ["g", "qt_s", "qt_z", "qt_bi", "qt_os", "qt_bo"];
  return model({
    name: "qonnx2",
    node: [
      quantNode("x", "qin", "xq", true, false),
      quantNode("w3", "qw3", "w3q", true, true),
      node("Conv", ["xq", "w3q", "b3"], ["c"], [attrInts("kernel_shape", [3, 3]), attrInts("pads", [1, 1, 1, 1]), attrInts("strides", [2, 2])], "conv"),
      node("Relu", ["c"], ["r"]),
      quantNode("r", "qa", "a", false, false),
      node("GlobalAveragePool", ["a"], ["g"]),
      node("Trunc", truncIn, ["t"], [attrInt("signed", 0), attrInt("narrow", 0), attrStr("rounding_mode", mode)], "trunc", "finn.custom_op.general"),
      node("Flatten", ["t"], ["y"], [attrInt("axis", 1)]),
    ],
    initializer: [
      tensor("w3", [5, 3, 3, 3], W3), tensor("b3", [5], B3),
      ...quantParams("qin", [S_IN], [], 0, 8), ...quantParams("qw3", S_W3, [5, 1, 1, 1], 0, 8), ...quantParams("qa", [S2.a], [], 0, 8),
      tensor("qt_s", [], [S2.a / 16]), tensor("qt_z", [], [0]), tensor("qt_bi", [], [12]), tensor("qt_os", [], [(S2.a / 16) * 64]), tensor("qt_bo", [], [6]),
    ],
    input: [vi("x", [1, 3, 8, 8])], output: [vi("y", [1, 5])],
  });
}

test("model 2 (Trunc after average pooling, version 2 and 1, finn domain): outputs within one step of the reference's truncation", async () => {
  for (const [mode, v1] of [["FLOOR", false], ["ROUND", false], ["FLOOR", true]] as const) {
    const q = await quantize(model2(mode, v1));
    const c = readQwm(q.qwm);
    const out = c.tensors[c.outputTensor];
    assert.ok(Math.abs(out.scale - S2.a * 4) < 1e-7 * S2.a, "Trunc's output scale");
    assert.is(out.zeroPoint, -128, "unsigned: zero point -128 in int8");
    const ours = await runInts(q.qwm);
    const ref = inputs.map((x) => model2Ref(x, mode).y);
    assert.ok(ref.flat().some((v) => v > 0) && ref.flat().every((v) => v <= 63 * S2.a * 4 + 1e-9));
    const { exact, total } = compare(ours, ref, out.scale, out.zeroPoint);
    if (mode === "ROUND") assert.ok(exact / total >= 0.9, `ROUND: ${exact} of ${total} exact`);
  }
});

test("QONNX errors: typed, naming the node or layer", () => {
  const expect = (bytes: Uint8Array, re: RegExp) => assert.throws(() => importOnnx(bytes), (e: Error) => e instanceof QwmOnnxError && (re.test(e.message) || (console.error(e.message), false)), String(re));
  expect(model1({ w1Bits: 9, w1Fine: true }), /node 'conv1' \(Conv\).*9-bit signed narrow weights.*fit no kernel/);
  expect(model1({ w1Zp: 1 }), /node 'conv1' \(Conv\).*nonzero zero point/);
  expect(model1({ actBits: 16 }), /node 'a1' \(Quant\).*16-bit activations/);
  expect(model1({ bipolarAct: true }), /node 'qa1' \(BipolarQuant\).*binary activations have no kernel/);
  // an unknown op of the QONNX domain, and a QONNX op in another domain
  const bad = (domain: string, op: string) => model({ name: "bad", node: [node(op, ["x", "s"], ["y"], [], "n", domain)], initializer: [tensor("s", [], [1])], input: [vi("x", [1, 3, 4, 4])], output: [vi("y", [1, 3, 4, 4])] });
  expect(bad(QONNX, "MultiThreshold"), /domain 'qonnx.custom_op.general' is not supported/);
  expect(bad("com.example", "Quant"), /domain 'com.example' is not supported/);
  // Brevitas's own domain is read as QONNX's (here: a Quant whose inputs are missing, a typed error)
  expect(bad("onnx.brevitas", "Quant"), /node 'n' \(Quant\).*input 2 is missing/);
});

test.run();
