// Layer sensitivity and automatic mixed precision (issue 7): the exact knapsack against brute force, budgets met
// as inspect reports them, typed errors, the sensitivity table's shape and sanity, and the CLI.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, quantize } from "../src/api.ts";
import { readDataset } from "../src/data/index.ts";
import { minMaxRanges } from "../src/calibrate/minmax.ts";
import { quantizeGraph } from "../src/quantize/graph.ts";
import { applyLowBit } from "../src/quantize/lowbit.ts";
import { chooseBits, knapsack, type LayerOption } from "../src/quantize/mixed.ts";
import { measureSensitivity, type SensitivityTable } from "../src/quantize/sensitivity.ts";
import { QwmQuantizeError } from "../src/quantize/params.ts";
import { readBuild } from "../src/wasm/module.ts";
import { rng } from "./helpers/ref.ts";
import { randomImages, tinyNet } from "./helpers/graphs.ts";
import { ROOT, testIf } from "./helpers/tools.ts";
import { haveFashion } from "./helpers/fashion.ts";

/** Every combination of options: the least loss within the budget (ties: least cost). */
function bruteForce(options: LayerOption[][], budget: number) {
  let best: { cost: number; loss: number } | undefined;
  const rec = (i: number, cost: number, loss: number) => {
    if (i === options.length) {
      if (cost <= budget && (!best || loss < best.loss - 1e-12 || (Math.abs(loss - best.loss) <= 1e-12 && cost < best.cost))) best = { cost, loss };
      return;
    }
    for (const o of options[i]) rec(i + 1, cost + o.cost, loss + o.loss);
  };
  rec(0, 0, 0);
  return best;
}

test("the knapsack is optimal: 300 random multiple-choice instances against brute force", () => {
  const r = rng(11);
  let feasible = 0;
  for (let t = 0; t < 300; t++) {
    const L = 1 + Math.floor(r.next() * 7), K = 1 + Math.floor(r.next() * 4);
    const options = Array.from({ length: L }, () => Array.from({ length: K }, () => ({
      bits: 8, cost: 1 + Math.floor(r.next() * 40), loss: Math.floor(r.next() * 6) / 4, // repeated values: ties
    })));
    const budget = Math.floor(r.next() * 40 * L);
    const want = bruteForce(options, budget), got = knapsack(options, budget);
    if (!want) { assert.is(got, undefined, `instance ${t}: nothing fits`); continue; }
    feasible++;
    assert.ok(got, `instance ${t}: a choice fits`);
    const cost = got!.pick.reduce((a, p, i) => a + options[i][p].cost, 0), loss = got!.pick.reduce((a, p, i) => a + options[i][p].loss, 0);
    assert.ok(cost <= budget, `instance ${t}: within budget`);
    assert.ok(Math.abs(loss - want.loss) < 1e-9, `instance ${t}: loss ${loss} = optimum ${want.loss}`);
    assert.ok(Math.abs(got!.loss - loss) < 1e-9 && got!.cost === cost, `instance ${t}: reported totals`);
    assert.is(cost, want.cost, `instance ${t}: least cost among the optima`);
  }
  assert.ok(feasible > 100, `${feasible} feasible instances`);
});

// a small real table: tinyNet calibrated on random images
const g = tinyNet(5);
const wasm = new WebAssembly.Module(readBuild("simd") as Uint8Array<ArrayBuffer>);
const cal = randomImages(21, 48), val = randomImages(22, 48);
const ranges = await minMaxRanges(g, wasm, cal.x);
const raw = await measureSensitivity(g, quantizeGraph(g, ranges), val.px, { bits: [8, 4, 2, 1], wasm });
const table: SensitivityTable = { ...raw, calibrationImages: 48, calibration: "minmax" };

test("sensitivity table: one row per conv / dense / depthwise layer, widths measured, bytes as packed, 8 bits nearly lossless", () => {
  const names = g.nodes.filter((n) => n.op === "conv" || n.op === "dense").map((n) => n.name);
  assert.equal(table.layers.map((l) => l.name), names);
  assert.equal(table.bits, [8, 4, 2, 1]);
  const dw = table.layers.find((l) => l.name === "dw")!;
  assert.is(dw.op, "depthwise");
  assert.equal(Object.keys(dw.perBits).map(Number).sort(), [1, 2, 4, 8], "depthwise: every width (qs4, qs2, qbw depthwise kernels)");
  assert.is(dw.storedBitsAtBits[2], 2);
  assert.is(dw.storedBitsAtBits[1], 1);
  for (const l of table.layers) {
    const node = g.nodes.find((n) => n.name === l.name) as any;
    assert.is(l.params, node.weight.length);
    if (l.name !== "c1") assert.ok(l.bytesAtBits[4] < l.bytesAtBits[8], `${l.name}: 4-bit packs smaller`); // c1: 3 channels padded to 8
    for (const b of Object.keys(l.perBits)) {
      assert.is(l.bytesAtBits[+b] % 16, 0);
      assert.ok(l.perBits[+b].kl >= 0 && l.perBits[+b].top1Agreement >= 0 && l.perBits[+b].top1Agreement <= 1);
    }
    assert.equal(l.perBits[8], table.int8, "8 bits: the all-int8 network");
  }
  assert.ok(table.int8.kl < 0.01 && table.int8.top1Agreement >= 0.9, `int8: ${JSON.stringify(table.int8)}`);
  const sum = (b: number) => table.layers.filter((l) => l.perBits[b]).reduce((a, l) => a + l.perBits[b].kl, 0);
  const conv = table.layers.filter((l) => l.op !== "depthwise");
  const sumOf = (b: number) => conv.reduce((a, l) => a + l.perBits[b].kl, 0);
  assert.ok(sumOf(4) > sumOf(8) && sumOf(2) > sumOf(4), `fewer bits, larger KL: ${sumOf(8)}, ${sumOf(4)}, ${sumOf(2)}`);
  assert.ok(sum(1) > sum(4));
});

test("chooseBits meets --avg-bits and --size-budget budgets exactly as measured, optimally, with fixed layers kept", () => {
  const total = table.layers.reduce((a, l) => a + l.params, 0);
  for (const avg of [3, 4.5, 6, 8]) {
    const c = chooseBits(table, { avgBits: avg, fixed: { c1: 8, fc: 8 } });
    assert.ok(c.avgBits <= avg + 1e-12, `avg ${c.avgBits} <= ${avg}`);
    assert.is(c.bitsPerLayer.c1, 8);
    assert.is(c.bitsPerLayer.fc, 8);
    const bitSum = table.layers.reduce((a, l) => a + l.storedBitsAtBits[c.bitsPerLayer[l.name]] * l.params, 0);
    assert.ok(Math.abs(c.avgBits - bitSum / total) < 1e-12);
    if (avg === 8) assert.is(c.predictedLoss, 0);
  }
  const all8 = table.layers.reduce((a, l) => a + l.bytesAtBits[8], 0) + table.otherWeightBytes;
  let last = -1;
  for (const frac of [0.95, 0.7, 0.5]) { // tighter budgets: never less loss
    const budget = Math.floor(all8 * frac);
    const c = chooseBits(table, { sizeBudgetBytes: budget });
    assert.ok(c.weightBytes <= budget, `${c.weightBytes} <= ${budget}`);
    assert.ok(c.predictedLoss >= last);
    last = c.predictedLoss;
  }
});

test("chooseBits: typed errors for an unreachable budget, two budgets, unknown or unmeasured fixed layers", () => {
  assert.throws(() => chooseBits(table, { avgBits: 1.5, fixed: { c1: 8, fc: 8 } }), (e: Error) => e instanceof QwmQuantizeError && /cannot be met/.test(e.message));
  assert.throws(() => chooseBits(table, { sizeBudgetBytes: 100 }), (e: Error) => e instanceof QwmQuantizeError && /cannot be met.*bytes/.test(e.message));
  assert.throws(() => chooseBits(table, { avgBits: 4, sizeBudgetBytes: 1e6 }), /exactly one budget/);
  assert.throws(() => chooseBits(table, { avgBits: 4, fixed: { nope: 8 } }), /no conv \/ dense layer is named 'nope'/);
  assert.throws(() => chooseBits({ ...table, layers: table.layers.map((l) => (l.name === "dw" ? { ...l, perBits: { 8: l.perBits[8], 4: l.perBits[4] } } : l)) }, { avgBits: 4, fixed: { dw: 2 } }), /did not measure/);
});

test("applyLowBit with bits per layer: the given bits, the rest as before; typed errors", () => {
  const qg = quantizeGraph(g, ranges);
  const choice = applyLowBit(g, qg, { bits: 8, bitsPerLayer: { pw: 2, c2: 1, dw: 4 } });
  assert.equal(Object.fromEntries(choice.map((c) => [c.name, c.bits])), { c1: 8, dw: 4, pw: 2, c2: 1, c3: 8, fc: 8 });
  assert.is(qg.weights.get("pw")!.bits, 2);
  assert.throws(() => applyLowBit(g, quantizeGraph(g, ranges), { bits: 8, bitsPerLayer: { zz: 4 } }), (e: Error) => e instanceof QwmQuantizeError && /'zz'/.test(e.message));
  assert.throws(() => applyLowBit(g, quantizeGraph(g, ranges), { bits: 8, bitsPerLayer: { dw: 3 } }), /use 8, 4, 2 or 1/);
  assert.throws(() => applyLowBit(g, quantizeGraph(g, ranges), { bits: 8, bitsPerLayer: { c1: 3 } }), /8, 4, 2 or 1/);
});

const FASHION = `${ROOT}models/fashion_mnist_dsres.onnx`;
const CALIB = `${ROOT}models/data/fashion-train256-images-idx3-ubyte.gz`;
const PRE = { mean: [0.286], std: [0.353] };

testIf(haveFashion(), "quantize() with avgBits / sizeBudgetKiB on the bundled model: budgets met as describe() (inspect) reports them, provenance records the choice", "the bundled model's data is missing", async () => {
  const onnx = new Uint8Array(readFileSync(FASHION));
  const calib = readDataset(CALIB, { limit: 64 });
  const r = await quantize(onnx, { calib, calibSize: 32, calibration: "minmax", preprocess: PRE, avgBits: 4.5 });
  const d = describe(r.qwm);
  const m = r.mixed!;
  assert.is(m.table.heldOutImages, 32, "held out: the 32 images after the 32 calibration images");
  assert.ok(d.avgWeightBits <= 4.5 && Math.abs(d.avgWeightBits - m.choice.avgBits) < 1e-9, `inspect's average ${d.avgWeightBits} = the choice's ${m.choice.avgBits}`);
  assert.is(d.contents.weightsBytes, m.choice.weightBytes, "predicted weights section = the file's");
  const names = m.table.layers.map((l) => l.name);
  assert.is(m.choice.bitsPerLayer[names[0]], 8, "first layer at 8 bits");
  assert.is(m.choice.bitsPerLayer[names[names.length - 1]], 8, "last layer at 8 bits");
  assert.equal(d.contents.provenance!.bitsPerLayer, m.choice.bitsPerLayer);
  assert.match(String(d.contents.provenance!.weights), /mixed precision.*average weight bits <= 4.5/);
  // the per-layer bits in the file are the chosen ones, layer by layer
  const fileBits = d.layers.filter((l) => l.weightBits > 0).map((l) => l.weightBits);
  assert.equal(fileBits, names.map((n) => m.table.layers.find((l) => l.name === n)!.storedBitsAtBits[m.choice.bitsPerLayer[n]]));

  const kib = Math.floor(m.choice.weightBytes / 1024) + 0.5;
  const s = await quantize(onnx, { calib, calibSize: 32, calibration: "minmax", preprocess: PRE, sizeBudgetKiB: kib });
  assert.ok(describe(s.qwm).contents.weightsBytes <= kib * 1024);
  let err: Error | undefined;
  try { await quantize(onnx, { calib, calibSize: 32, calibration: "minmax", preprocess: PRE, sizeBudgetKiB: 1 }); } catch (e) { err = e as Error; }
  assert.ok(err instanceof QwmQuantizeError && /cannot be met/.test(err.message), String(err));
});

const qwasm = (...args: string[]) => {
  const r = spawnSync(process.execPath, [join(ROOT, "bin/qwasm.mjs"), ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, QWASM_DEBUG: "" } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

testIf(haveFashion(), "CLI: qwasm sensitivity --json, quantize --avg-bits, inspect shows the average and the choice; usage errors", "the bundled model's data is missing", () => {
  const pre = ["--mean", "0.286", "--std", "0.353"];
  const s = qwasm("sensitivity", "models/fashion_mnist_dsres.onnx", "--calib", CALIB, "--calib-size", "24", "--held-out", "16", "--calibration", "minmax", "--bits", "8,4", ...pre, "--json");
  assert.is(s.code, 0, s.err);
  const t = JSON.parse(s.out);
  assert.is(t.layers.length, 6); // 5 convs (one depthwise) and the dense layer
  assert.is(t.heldOutImages, 16);
  assert.equal(Object.keys(t.layers[1].perBits).sort(), ["4", "8"]);
  const tmp = mkdtempSync(join(tmpdir(), "qwasm-mixed-"));
  const out = join(tmp, "m.qwm");
  const q = qwasm("quantize", "models/fashion_mnist_dsres.onnx", "--calib", CALIB, "--calib-size", "24", "--calibration", "minmax", ...pre, "--avg-bits", "5", "--out", out, "--json");
  assert.is(q.code, 0, q.err);
  const qj = JSON.parse(q.out);
  assert.ok(qj.mixed.avg_bits <= 5);
  const i = qwasm("inspect", out, "--json");
  const ij = JSON.parse(i.out);
  assert.ok(Math.abs(ij.avg_weight_bits - qj.mixed.avg_bits) < 1e-9);
  assert.is(ij.weight_bytes, qj.mixed.weight_bytes);
  assert.equal(ij.provenance.bitsPerLayer, qj.mixed.bits_per_layer);
  // explicit bits per layer (names as sensitivity prints them)
  const named = t.layers[2].name;
  const pl = qwasm("quantize", "models/fashion_mnist_dsres.onnx", "--calib", CALIB, "--calib-size", "24", "--calibration", "minmax", ...pre, "--bits-per-layer", `${named}=4`, "--out", out, "--json");
  assert.is(pl.code, 0, pl.err);
  const pj = JSON.parse(qwasm("inspect", out, "--json").out);
  assert.equal(Object.entries(pj.provenance.bitsPerLayer).filter(([, b]) => b !== 8), [[named, 4]]);
  const bad = qwasm("quantize", "models/fashion_mnist_dsres.onnx", "--calib", CALIB, "--calib-size", "24", "--calibration", "minmax", ...pre, "--bits-per-layer", "nope=4", "--out", out);
  assert.is(bad.code, 1);
  assert.match(bad.err, /no conv \/ dense layer is named 'nope'/);
  const text = qwasm("inspect", out);
  assert.match(text.out, /weight bits: \d\.\d{3} on average/);
  assert.match(text.out, new RegExp(`bits per layer: .*${named.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}=4`));
  for (const [args, re] of [
    [["quantize", "models/fashion_mnist_dsres.onnx", "--calib", CALIB, "--out", out, "--avg-bits", "4", "--size-budget", "20"], /not both/],
    [["quantize", "models/fashion_mnist_dsres.onnx", "--calib", CALIB, "--out", out, "--avg-bits", "4", "--weights", "4"], /leave out --weights/],
    [["quantize", "models/fashion_mnist_dsres.onnx", "--calib", CALIB, "--out", out, "--avg-bits", "-1"], /positive number/],
    [["quantize", "models/fashion_mnist_dsres.onnx", "--calib", CALIB, "--calib-size", "24", "--calibration", "minmax", "--out", out, "--size-budget", "1"], /cannot be met/],
    [["sensitivity", "models/fashion_mnist_dsres.onnx", "--calib", CALIB, "--bits", "8,3"], /--bits takes 8, 4, 2 and 1/],
    [["sensitivity", "models/fashion_mnist_dsres.onnx"], /needs --calib/],
  ] as [string[], RegExp][]) {
    const r = qwasm(...args);
    assert.ok(r.code !== 0, args.join(" "));
    assert.match(r.err, re);
    assert.is(r.err.trim().split("\n").length, 1, "one line");
  }
});

test.run();
