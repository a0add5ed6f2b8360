// Post-training repairs (issue 7, src/quantize/repairs/): CLE keeps the float function and equalizes ranges,
// bias correction removes the measured mean output shift, AdaRound lowers the layer reconstruction error and
// moves weights by at most one grid step, MSE clipping never raises the rounding error, per-tensor low-bit
// weights, the API / CLI options and their typed errors. Small graphs and the bundled model on few images.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Graph, Node } from "../src/ir/graph.ts";
import { lowerFloat } from "../src/pack/lower.ts";
import { writeQwm } from "../src/pack/qwm.ts";
import { readQwm } from "../src/pack/read.ts";
import { Runner } from "../src/engine/runner.ts";
import { readBuild } from "../src/wasm/module.ts";
import { minMaxRanges } from "../src/calibrate/minmax.ts";
import { quantizeGraph } from "../src/quantize/graph.ts";
import { applyLowBit, quantizeWeightsLowBit } from "../src/quantize/lowbit.ts";
import {
  adaround, clePairs, clippedScales, codesOf, crossLayerEqualize, dequantize, equalize, gridsOf, layerInputs, nearestIndex,
  repairWeights, roundingError, uniformCodes, type LayerInputs,
} from "../src/quantize/repairs/index.ts";
import { preActivationStats } from "../src/quantize/repairs/cle.ts";
import { quantize, evaluate, QwmUsageError } from "../src/api.ts";
import { readDataset } from "../src/data/index.ts";
import { CIFAR_PREPROCESS, randomImages, tinyNet } from "./helpers/graphs.ts";
import { rng } from "./helpers/ref.ts";
import { ROOT, testIf } from "./helpers/tools.ts";
import { haveFashion } from "./helpers/fashion.ts";

const simd = readBuild("simd");
const clone = (g: Graph): Graph => ({ ...g, nodes: g.nodes.map((n) => ({ ...n, ...("weight" in n ? { weight: Float32Array.from(n.weight), bias: Float32Array.from(n.bias) } : {}) }) as Node) });

function gauss(r: ReturnType<typeof rng>) {
  return Math.sqrt(-2 * Math.log(Math.max(r.next(), 1e-9))) * Math.cos(2 * Math.PI * r.next());
}

/** conv 3x3 (ReLU) -> conv 3x3 (ReLU6) -> max pool -> flatten -> dense (ReLU) -> dense: three CLE pairs, badly scaled channels. */
function chainNet(seed = 3): Graph {
  const r = rng(seed);
  const w = (n: number, fan: number, rowScale: (i: number) => number, per: number) =>
    Float32Array.from({ length: n }, (_, i) => (gauss(r) * Math.sqrt(2 / fan) * rowScale(Math.floor(i / per))));
  const uneven = (i: number) => [0.05, 1, 3, 0.3, 8, 0.5][i % 6];
  const win = (k: number, p: number) => ({ kernel: [k, k] as [number, number], stride: [1, 1] as [number, number], pads: [p, p, p, p] as [number, number, number, number], dilation: [1, 1] as [number, number] });
  const nodes: Node[] = [
    { op: "conv", name: "a", input: "input", output: "a", ...win(3, 1), groups: 1, outChannels: 6, act: "relu", weight: w(6 * 27, 27, uneven, 27), bias: Float32Array.from({ length: 6 }, () => 0.1 * gauss(r)) },
    { op: "conv", name: "b", input: "a", output: "b", ...win(3, 1), groups: 1, outChannels: 8, act: "relu6", weight: w(8 * 54, 54, uneven, 54).map((x) => x * 0.05), bias: Float32Array.from({ length: 8 }, () => 0.1 * gauss(r)) },
    { op: "maxpool", name: "mp", input: "b", output: "mp", kernel: [2, 2], stride: [2, 2], pads: [0, 0, 0, 0] },
    { op: "flatten", name: "fl", input: "mp", output: "fl" },
    { op: "dense", name: "d1", input: "fl", output: "d1", act: "relu", outChannels: 12, weight: w(12 * 128, 128, uneven, 128), bias: Float32Array.from({ length: 12 }, () => 0.1 * gauss(r)) },
    { op: "dense", name: "d2", input: "d1", output: "logits", act: "none", outChannels: 10, weight: w(120, 12, () => 1, 12), bias: new Float32Array(10) },
  ];
  return { input: { name: "input", shape: [8, 8, 3] }, output: "logits", nodes, preprocess: CIFAR_PREPROCESS };
}

async function floatOutputs(g: Graph, images: Float32Array[]): Promise<Float32Array[]> {
  const run = await Runner.create(simd, writeQwm(lowerFloat(g).program));
  return images.map((x) => Float32Array.from(run.runF32(x, 1) as Float32Array));
}
const maxAbs = (xs: Float32Array[]) => Math.max(...xs.map((x) => Math.max(...Array.from(x, Math.abs))));
const maxDiff = (a: Float32Array[], b: Float32Array[]) => Math.max(...a.map((x, i) => Math.max(...Array.from(x, (v, j) => Math.abs(v - b[i][j])))));

test("CLE: finds the pairs through max pool and flatten, equalizes their ranges, keeps the fp32 outputs", async () => {
  const g = chainNet();
  const imgs = randomImages(5, 24, 8).x;
  const before = await floatOutputs(g, imgs);
  const g2 = clone(g);
  assert.equal(clePairs(g2).map((p) => `${p.l1.name}->${p.l2.name}`), ["a->b", "b->d1", "d1->d2"]);
  const e = equalize(g2);
  assert.ok(e.before > 10, `ranges start unequal (worst ratio ${e.before})`);
  assert.ok(e.after < 1.001, `ranges equal after CLE (worst ratio ${e.after})`);
  assert.is(e.relu6ToRelu, 1);
  // the ReLU6 of b became ReLU: exact while b's pre-activations stay below 6, as they do in this graph
  assert.is((g2.nodes[1] as any).act, "relu");
  const after = await floatOutputs(g2, imgs);
  assert.ok(maxDiff(before, after) <= 1e-4 * maxAbs(before), `outputs unchanged (max diff ${maxDiff(before, after)})`);
  // the weights did change
  assert.ok((g2.nodes[0] as any).weight[0] !== (g.nodes[0] as any).weight[0]);
});

test("CLE on tinyNet: only the conv -> depthwise pair (the pool feeding a residual add ends the chain), outputs kept", async () => {
  const g = tinyNet(11);
  const imgs = randomImages(6, 16).x;
  const before = await floatOutputs(g, imgs);
  const g2 = clone(g);
  const pairs = clePairs(g2);
  assert.equal(pairs.map((p) => `${p.l1.name}->${p.l2.name}`), ["c1->dw"]);
  const rep = await crossLayerEqualize(g2, simd);
  assert.is(rep.pairs, 1);
  const after = await floatOutputs(g2, imgs);
  assert.ok(maxDiff(before, after) <= 1e-4 * maxAbs(before), `max diff ${maxDiff(before, after)}`);
});

test("high-bias absorption: takes mean - 3 std out of L1's bias, shrinks its output range, outputs nearly kept", async () => {
  const g = chainNet(4);
  // b's pre-activations exceed 6 in this graph: make its ReLU6 a ReLU so only the absorption is measured
  (g.nodes[1] as any).act = "relu";
  // a large positive bias on d1 makes its pre-activations sit well above 0 (what absorption removes)
  (g.nodes[4] as any).bias.fill(3);
  const imgs = randomImages(9, 32, 8).x;
  const before = await floatOutputs(g, imgs);
  const g2 = clone(g);
  const rep = await crossLayerEqualize(g2, simd, imgs);
  assert.ok(rep.absorbed > 0, "some channels absorbed a constant");
  const pre1 = await preActivationStats(g, simd, imgs, [g.nodes[4] as any]);
  const pre2 = await preActivationStats(g2, simd, imgs, [g2.nodes[4] as any]);
  // equalization rescales channels: compare the means relative to the std (scale-free)
  const rel = (p: typeof pre1) => Math.max(...Array.from(p.get("d1")!.mean, (m, i) => m / p.get("d1")!.std[i]));
  assert.ok(rel(pre2) < rel(pre1) - 1, `mean / std of d1's pre-activations drops (${rel(pre1)} -> ${rel(pre2)})`);
  const after = await floatOutputs(g2, imgs);
  // d2 has no padding: exact except for values below mean - 3 std
  assert.ok(maxDiff(before, after) <= 0.02 * maxAbs(before), `max diff ${maxDiff(before, after)} of ${maxAbs(before)}`);
});

/** A layer's input statistics for AdaRound from random correlated inputs: x = A z. */
function syntheticInputs(K: number, P: number, seed: number, keepSamples = false): LayerInputs {
  const r = rng(seed);
  const A = Array.from({ length: K * K }, () => gauss(r) / Math.sqrt(K));
  const X = new Float32Array(P * K);
  for (let p = 0; p < P; p++) {
    const z = Array.from({ length: K }, () => gauss(r));
    for (let i = 0; i < K; i++) { let s = 0.3; for (let j = 0; j < K; j++) s += A[i * K + j] * z[j]; X[p * K + i] = s; }
  }
  const gram = new Float64Array(K * K), mean = new Float64Array(K);
  for (let p = 0; p < P; p++) for (let i = 0; i < K; i++) {
    mean[i] += X[p * K + i] / P;
    for (let j = 0; j < K; j++) gram[i * K + j] += (X[p * K + i] * X[p * K + j]) / P;
  }
  return keepSamples ? { K, depthwise: false, mean, samples: X, P } : { K, depthwise: false, mean, gram, P };
}

for (const [bits, format, perTensor] of [[4, "uniform", false], [4, "uniform", true], [2, "uniform", false], [2, "ternary", false], [8, "uniform", false]] as const) {
  test(`AdaRound (${bits}-bit ${format}${perTensor ? " per tensor" : ""}): lower reconstruction error than nearest, one grid step at most`, () => {
    const N = 6, K = 24, r = rng(bits * 10 + (perTensor ? 1 : 0));
    const w = Float32Array.from({ length: N * K }, () => gauss(r) * 0.2);
    const lw = bits === 8 ? { q: new Int8Array(0), scales: Float32Array.from({ length: N }, (_, n) => Math.max(...Array.from(w.subarray(n * K, (n + 1) * K), Math.abs)) / 127), bits: 8, format: "uniform" }
      : quantizeWeightsLowBit(w, N, bits, format, perTensor);
    const grids = gridsOf(codesOf(lw), lw.scales);
    const inp = syntheticInputs(K, 400, 7);
    const res = adaround(w, grids, inp, { iterations: 300 });
    assert.ok(res.error < res.nearestError * 0.9, `error ${res.error} < nearest ${res.nearestError}`);
    assert.ok(res.flipped > 0);
    for (let n = 0; n < N; n++) {
      const g = grids[n];
      for (let i = 0; i < K; i++) {
        const x = w[n * K + i], ni = nearestIndex(g, x), got = g.codes.indexOf(res.q[n * K + i]);
        assert.ok(Math.abs(got - ni) <= 1, "one grid step at most from nearest");
        // the chosen value is the grid value just below or just above the weight (or the clamped end)
        const v = g.values[got];
        const below = g.values.filter((u) => u <= x), above = g.values.filter((u) => u >= x);
        assert.ok(v === (below.length ? below[below.length - 1] : g.values[0]) || v === (above.length ? above[0] : g.values[g.values.length - 1]), `w ${x} -> ${v}`);
      }
    }
  });
}

test("AdaRound: kept samples (fewer than K / 2) give the same objective as the Gram matrix", () => {
  const N = 4, K = 40, r = rng(99);
  const w = Float32Array.from({ length: N * K }, () => gauss(r) * 0.2);
  const lw = quantizeWeightsLowBit(w, N, 4);
  const grids = gridsOf(codesOf(lw), lw.scales);
  const a = adaround(w, grids, syntheticInputs(K, 16, 3), { iterations: 100 });
  const b = adaround(w, grids, syntheticInputs(K, 16, 3, true), { iterations: 100 });
  assert.ok(Math.abs(a.nearestError - b.nearestError) <= 1e-4 * a.nearestError, `${a.nearestError} vs ${b.nearestError}`);
  assert.ok(b.error <= b.nearestError);
});

test("weight clipping: MSE search never raises the rounding error (per channel and per tensor); ACIQ clips heavy tails", () => {
  const r = rng(5);
  const N = 8, per = 72;
  // Laplace-like weights with a few outliers
  const w = Float32Array.from({ length: N * per }, (_, i) => (i % 37 === 0 ? 8 : 1) * Math.log(Math.max(r.next(), 1e-9)) * (r.next() < 0.5 ? -0.05 : 0.05));
  for (const bits of [4, 2]) {
    const [lo, hi] = uniformCodes(bits);
    for (const perTensor of [false, true]) {
      const naive = quantizeWeightsLowBit(w, N, bits, "uniform", perTensor);
      const mse = clippedScales(w, N, bits, "mse", perTensor, naive.scales);
      let eNaive = 0, eMse = 0;
      for (let n = 0; n < N; n++) {
        eNaive += roundingError(w, n * per, (n + 1) * per, naive.scales[n], lo, hi);
        eMse += roundingError(w, n * per, (n + 1) * per, mse[n], lo, hi);
      }
      assert.ok(eMse <= eNaive, `${bits}-bit ${perTensor}: ${eMse} <= ${eNaive}`);
      assert.ok(eMse < 0.9 * eNaive, "outliers make clipping pay");
      if (perTensor) assert.ok(mse.every((s) => s === mse[0]), "one scale per tensor");
      const aciq = clippedScales(w, N, bits, "aciq", perTensor);
      const mx = Math.max(...Array.from(w, Math.abs));
      assert.ok(aciq.every((s) => s * Math.max(-lo, hi) < mx), "ACIQ clips below max |w|");
    }
  }
});

test("bias correction: the first layer's mean pre-activation equals the float one (BN-free graph, on calibration data)", async () => {
  const g = tinyNet(12);
  const imgs = randomImages(13, 40).x;
  const ranges = await minMaxRanges(g, simd, imgs);
  // the float graph with the dequantized 2-bit weights of c1, before and after the correction
  const meanShift = async (corrected: boolean) => {
    const gq = clone(g);
    const qg = quantizeGraph(gq, ranges);
    applyLowBit(gq, qg, { bits: 2, keepEnds: false });
    if (corrected) await repairWeights(gq, qg, simd, imgs, { biasCorrection: true });
    const c1 = gq.nodes[0] as any, lw = qg.weights.get("c1")!;
    c1.weight = Float32Array.from(dequantize(lw.q, lw.scales));
    const [a, b] = [await preActivationStats(g, simd, imgs, [g.nodes[0] as any]), await preActivationStats(gq, simd, imgs, [c1])];
    return Math.max(...Array.from(a.get("c1")!.mean, (m, i) => Math.abs(m - b.get("c1")!.mean[i])));
  };
  const before = await meanShift(false), after = await meanShift(true);
  assert.ok(before > 1e-3, `2-bit rounding shifts the mean (${before})`);
  assert.ok(after < 1e-5, `corrected: ${after}`);
});

test("layer inputs: mean patch of a conv with padding counts the zeros, as the kernels see them", async () => {
  const g = chainNet();
  const imgs = randomImages(2, 3, 8).x;
  const st = (await layerInputs(g, simd, imgs, [g.nodes[0] as any], { gram: true })).get("a")!;
  assert.is(st.K, 27);
  // centre tap (kh = 1, kw = 1) of channel c: the mean of the image's channel c
  for (let c = 0; c < 3; c++) {
    let s = 0;
    for (const x of imgs) for (let p = 0; p < 64; p++) s += x[p * 3 + c];
    assert.ok(Math.abs(st.mean[4 * 3 + c] - s / (64 * imgs.length)) < 1e-6);
  }
  // corner tap (0, 0): the top row and left column read padding
  let s = 0;
  for (const x of imgs) for (let y = 1; y < 8; y++) for (let xx = 1; xx < 8; xx++) s += x[((y - 1) * 8 + (xx - 1)) * 3];
  assert.ok(Math.abs(st.mean[0] - s / (64 * imgs.length)) < 1e-6);
  // G is symmetric, its diagonal the mean squares
  assert.ok(st.gram![1 * 27 + 5] === st.gram![5 * 27 + 1]);
});

test("per-tensor low-bit weights: one scale per layer at 4 and 2 bits", () => {
  const g = tinyNet(2);
  const qg = quantizeGraph(g, new Map([...[g.input.name, ...g.nodes.map((n) => n.output)]].map((v) => [v, { min: -1, max: 1 }])), { perChannel: false });
  applyLowBit(g, qg, { bits: 4, keepEnds: false, perTensor: true });
  for (const [name, lw] of qg.weights) assert.ok(lw.scales.every((s) => s === lw.scales[0]), name);
  const c2 = g.nodes.find((n) => n.name === "c2") as any;
  const maxW = Math.max(...Array.from(c2.weight as Float32Array, Math.abs));
  assert.ok(Math.abs(qg.weights.get("c2")!.scales[0] - maxW / 7) < 1e-6);
});

const FASHION = `${ROOT}models/fashion_mnist_dsres.onnx`;
testIf(haveFashion(), "quantize(): every repair at W4A8 on the bundled model, recorded in the provenance, typed errors", "bundled Fashion-MNIST model or models/data missing", async () => {
  const onnx = new Uint8Array(readFileSync(FASHION));
  const calib = readDataset(`${ROOT}models/data/fashion-train256-images-idx3-ubyte.gz`, { limit: 64 });
  const test = readDataset(`${ROOT}models/data/fashion-t10k1000-images-idx3-ubyte.gz`, { limit: 300 });
  const base = { calib, calibration: "minmax" as const, preprocess: { mean: [0.286], std: [0.353] }, weightBits: 4 };
  const naive = await quantize(onnx, base);
  const all = await quantize(onnx, { ...base, cle: true, biasCorrection: true, adaround: { iterations: 60 }, weightClip: "mse" });
  const prov = readQwm(all.qwm).provenance as any;
  for (const k of ["cle", "biasCorrection", "adaround", "weightClip"]) assert.ok(prov.repairs[k], `provenance records ${k}`);
  assert.match(prov.repairs.adaround, /60 iterations/);
  assert.ok(!readQwm(naive.qwm).provenance!.repairs);
  assert.ok(all.repairs!.adaround!.layers.every((l) => l.error <= l.nearestError));
  const [a, b] = [await evaluate(naive.qwm, test), await evaluate(all.qwm, test)];
  assert.ok(b.accuracy >= a.accuracy - 0.01, `repairs ${b.accuracy} vs naive ${a.accuracy}`);
  // deterministic: the same bytes twice
  const again = await quantize(onnx, { ...base, cle: true, biasCorrection: true, adaround: { iterations: 60 }, weightClip: "mse" });
  assert.equal(again.qwm, all.qwm);
  const rejects = async (o: object, re: RegExp) => {
    const e = await quantize(onnx, { ...base, ...o }).then(() => undefined, (x: unknown) => x);
    assert.ok(e instanceof QwmUsageError, `typed error for ${JSON.stringify(o)}`);
    assert.match((e as Error).message, re);
  };
  await rejects({ weightClip: "max" }, /weightClip must be mse or aciq/);
  await rejects({ adaround: { iterations: 0 } }, /adaround iterations must be a positive integer/);
  await rejects({ calib: undefined, cle: true }, /need calibration images/);
});

testIf(haveFashion(), "repairs on k-means and power-of-two codebooks: AdaRound moves weights between table entries, indices follow, the .qwm runs", "bundled Fashion-MNIST model or models/data missing", async () => {
  const onnx = new Uint8Array(readFileSync(FASHION));
  const calib = readDataset(`${ROOT}models/data/fashion-train256-images-idx3-ubyte.gz`, { limit: 64 });
  const test = readDataset(`${ROOT}models/data/fashion-t10k1000-images-idx3-ubyte.gz`, { limit: 200 });
  for (const fmt of [{ weightBits: 3, weightFormat: "kmeans" as const }, { weightBits: 3, weightFormat: "pow2" as const }]) {
    const base = { calib, calibration: "minmax" as const, preprocess: { mean: [0.286], std: [0.353] }, ...fmt };
    const naive = await quantize(onnx, base);
    const r = await quantize(onnx, { ...base, biasCorrection: true, adaround: { iterations: 40 } });
    assert.ok(r.repairs!.adaround!.layers.every((l) => l.error <= l.nearestError), `${fmt.weightFormat}: AdaRound never worse than nearest`);
    assert.ok(r.repairs!.adaround!.layers.some((l) => l.flipped > 0), `${fmt.weightFormat}: some weights moved`);
    for (const [name, lw] of r.quantized!.weights) {
      if (!lw.codebook) continue;
      const cb = lw.codebook, N = lw.scales.length, per = lw.q.length / N;
      for (let i = 0; i < lw.q.length; i++) {
        const g = cb.perChannel ? Math.floor(i / per) : 0;
        assert.is(cb.tables[g * cb.entries + cb.idx[i]], lw.q[i], `${name}[${i}]: index and value agree`);
      }
    }
    const [a, b] = [await evaluate(naive.qwm, test), await evaluate(r.qwm, test)];
    assert.ok(b.accuracy >= a.accuracy - 0.02, `${fmt.weightFormat}: repairs ${b.accuracy} vs naive ${a.accuracy}`);
  }
  const e = await quantize(onnx, { calib, weightBits: 1, actBits: 1, adaround: true }).then(() => undefined, (x: unknown) => x);
  assert.ok(e instanceof QwmUsageError && /binary XNOR layers/.test((e as Error).message), "repairs refuse XNOR layers with a typed error");
});

const qwasm = (...args: string[]) => {
  const r = spawnSync(process.execPath, [join(ROOT, "bin/qwasm.mjs"), ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, QWASM_DEBUG: "" } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

testIf(haveFashion(), "CLI: --cle --bias-correction --adaround --adaround-iters --weight-clip parse, run, show in --help; mistakes are one clear line", "bundled Fashion-MNIST model or models/data missing", () => {
  const tmp = mkdtempSync(join(tmpdir(), "qwasm-repairs-"));
  const out = join(tmp, "r.qwm");
  const base = ["quantize", "models/fashion_mnist_dsres.onnx", "--calib", "models/data/fashion-train256-images-idx3-ubyte.gz", "--calib-size", "32",
    "--calibration", "minmax", "--mean", "0.286", "--std", "0.353", "--out", out];
  const ok = qwasm(...base, "--weights", "4", "--per-tensor", "--cle", "--bias-correction", "--adaround", "--adaround-iters", "20", "--weight-clip", "aciq", "--json");
  assert.is(ok.code, 0, ok.err);
  const j = JSON.parse(ok.out);
  assert.equal(Object.keys(j.repairs).sort(), ["adaround", "biasCorrection", "cle", "weightClip"]);
  assert.match(j.repairs.adaround, /^20 iterations/);
  assert.match(j.repairs.weightClip, /^aciq/);
  const prov = readQwm(new Uint8Array(readFileSync(out))).provenance as any;
  assert.match(prov.weights, /per-tensor/);
  const help = qwasm("quantize", "--help");
  for (const f of ["--cle", "--bias-correction", "--adaround", "--adaround-iters", "--weight-clip"]) assert.ok(help.out.includes(f), f);
  const cases: [string[], RegExp][] = [
    [[...base, "--weight-clip", "max"], /--weight-clip must be mse or aciq; got 'max'/],
    [[...base, "--adaround", "--adaround-iters", "0"], /--adaround-iters must be an integer in 1\.\./],
    [[...base, "--adaround-iters", "5"], /--adaround-iters goes with --adaround/],
    [["quantize", "models/fashion_mnist_dsres.onnx", "--out", out, "--cle"], /need calibration images/],
  ];
  for (const [args, re] of cases) {
    const r = qwasm(...args);
    assert.is(r.code, 2, `${args.join(" ")}: exit ${r.code} ${r.err}`);
    assert.match(r.err, re);
    assert.is(r.err.trim().split("\n").length, 1, r.err);
  }
});

test.run();
