// Codebook (LUT) weights through the whole path (issue #6: k-means weight sharing and power-of-two weights):
// the quantizer (k-means++ / Lloyd, snapped to int8 levels; pow2 sign + exponent codes), lowering to the
// Conv2dQlut / DwConv2dQlut / DenseQlut ops, the validator (every field of the layout, corruptions refused with the exact
// error), and the interpreter: a codebook program gives exactly the outputs of its int8 twin (the same int8
// weights on the qs8 ops) in every build. The kernels themselves are checked in test/cases/lowbit.ts.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lowerQuantized, type QuantizedGraph } from "../src/pack/lower.ts";
import { refreshCrcs, writeQwm } from "../src/pack/qwm.ts";
import { readQwm, layers } from "../src/pack/read.ts";
import { qlutDepthwisePackedBytes, qlutPackedBytes } from "../src/pack/lowbit.ts";
import { minMaxRanges } from "../src/calibrate/minmax.ts";
import { quantizeGraph } from "../src/quantize/graph.ts";
import { applyLowBit, kmeans1d, pow2Table, quantizeWeightsKmeans, quantizeWeightsPow2, type CodebookScope } from "../src/quantize/lowbit.ts";
import { QwmQuantizeError } from "../src/quantize/params.ts";
import { Runner } from "../src/engine/runner.ts";
import { KernelHost } from "../src/wasm/kernels.ts";
import { readBuild } from "../src/wasm/module.ts";
import { ErrorKind, Field, Op, Section } from "../assembly/runtime/schema.ts";
import { randomImages, tinyNet } from "./helpers/graphs.ts";
import { findTool, testIf, ROOT } from "./helpers/tools.ts";

const g = tinyNet(11);
const simd = readBuild("simd");
const calib = randomImages(101, 64);
const evalSet = randomImages(202, 50);
const ranges = await minMaxRanges(g, simd, calib.x);
const batch = new Uint8Array(evalSet.px.length * evalSet.px[0].length);
evalSet.px.forEach((p, i) => batch.set(p, i * p.length));

type Fmt = "kmeans" | "pow2";
const LUT_OPS = [Op.Conv2dQlut, Op.DwConv2dQlut, Op.DenseQlut];
/** The codebook program and its int8 twin (same int8 weights and scales, qs8 ops). */
function pair(bits: number, format: Fmt, codebook: CodebookScope = "per-channel") {
  const qg = quantizeGraph(g, ranges);
  const choice = applyLowBit(g, qg, { bits, format, codebook, keepEnds: false });
  const twin: QuantizedGraph = { act: qg.act, weights: new Map([...qg.weights].map(([k, v]) => [k, { q: v.q, scales: v.scales }])) };
  return { low: writeQwm(lowerQuantized(g, qg).program), int8: writeQwm(lowerQuantized(g, twin).program), choice };
}

const CONFIGS: [number, Fmt, CodebookScope][] = [
  [1, "kmeans", "per-channel"], [2, "kmeans", "per-layer"], [3, "kmeans", "per-channel"], [4, "kmeans", "per-layer"],
  [5, "kmeans", "per-channel"], [8, "kmeans", "per-layer"], [3, "pow2", "per-channel"], [4, "pow2", "per-channel"],
];

for (const [bits, format, scope] of CONFIGS) {
  test(`${bits}-bit ${format} ${format === "kmeans" ? scope : ""}: Conv2dQlut / DwConv2dQlut / DenseQlut program equals its int8 twin (SIMD, no-SIMD)`, async () => {
    const { low, int8, choice } = pair(bits, format, scope);
    const c = readQwm(low);
    const ops = c.ops.map((o) => o.op);
    assert.ok(ops.includes(Op.Conv2dQlut) && ops.includes(Op.DwConv2dQlut) && ops.includes(Op.DenseQlut), "program uses the three codebook ops");
    assert.ok(choice.every((x) => x.format === format && x.bits === bits), JSON.stringify(choice));
    assert.ok(choice.some((x) => x.name === "dw" && x.bits === bits), "the depthwise layer takes the codebook too");
    // (per-channel tables, 16+ bytes per channel, outweigh the index savings on this tiny net's 8-channel layers)
    if (bits < 8 && (scope === "per-layer" || format === "pow2")) assert.ok(low.length < int8.length, `smaller than the int8 twin (${low.length} vs ${int8.length})`);
    const info = layers(c).filter((l) => l.op === "Conv2dQlut" || l.op === "DwConv2dQlut" || l.op === "DenseQlut");
    assert.is(info.length, ops.length - ops.filter((o) => !LUT_OPS.includes(o)).length);
    assert.ok(info.every((l) => l.weightBits === bits && l.scheme.startsWith(format === "pow2" ? "pow2" : "k-means")), info.map((l) => l.scheme).join("; "));
    const ref = (await Runner.create(simd, int8)).runPixels(batch, evalSet.px.length);
    for (const b of ["simd", "nosimd"] as const) {
      const got = (await Runner.create(readBuild(b), low)).runPixels(batch, evalSet.px.length);
      assert.equal(Array.from(got), Array.from(ref), b);
    }
  });
}

test("a codebook layer whose multiplier would reach 1 keeps its indices, its table scaled by 2^e (equals the int8 twin)", async () => {
  const qg = quantizeGraph(g, ranges);
  applyLowBit(g, qg, { bits: 3, format: "pow2", keepEnds: false });
  const lw = qg.weights.get("pw")!;
  lw.scales = lw.scales.map((s) => s * 40); // coarse: the real multiplier passes 1
  const qx = qg.act.get("mp")!, qy = qg.act.get("pw")!;
  const maxReal = Math.max(...Array.from(lw.scales, (s) => (qx.scale * s) / qy.scale));
  let e = 0;
  while (maxReal / 2 ** e >= 0.999 && e < 7) e++;
  assert.ok(e >= 2, `e = ${e}`);
  const low = writeQwm(lowerQuantized(g, qg).program);
  const twin: QuantizedGraph = { act: qg.act, weights: new Map([...qg.weights].map(([k, v]) => [k, k === "pw"
    ? { q: Int8Array.from(v.q, (x) => x * 2 ** e), scales: v.scales.map((s) => s / 2 ** e) } : { q: v.q, scales: v.scales }])) };
  const int8 = writeQwm(lowerQuantized(g, twin).program);
  const c = readQwm(low), pw = c.ops.find((o) => o.op === Op.Conv2dQlut && o.params[0] === 1)!; // the one 1x1 conv
  assert.ok(pw, "pw stays a codebook layer");
  const scheme = layers(c)[c.ops.indexOf(pw)].scheme;
  assert.ok(scheme.includes(`+-${2 ** e}..${4 * 2 ** e}`), scheme);
  const ref = (await Runner.create(simd, int8)).runPixels(batch, evalSet.px.length);
  for (const b of ["simd", "nosimd"] as const) {
    assert.equal(Array.from((await Runner.create(readBuild(b), low)).runPixels(batch, evalSet.px.length)), Array.from(ref), b);
  }
});

test("k-means: exact centroids of separated clusters, deterministic, at most 2^b distinct levels", () => {
  const x = Float32Array.from([1, 1.2, 0.8, 5, 5.5, 4.5, -3, -3.1, -2.9]);
  assert.equal(Array.from(kmeans1d(x, 3), (v) => +v.toFixed(5)), [-3, 1, 5]);
  assert.equal(Array.from(kmeans1d(Float32Array.from([2, 2, 2]), 16)), [2]); // fewer distinct values than k
  const r = Float32Array.from({ length: 5000 }, (_, i) => Math.sin(i * 12.9898) * 0.3);
  const a = quantizeWeightsKmeans(r, 10, 3), b = quantizeWeightsKmeans(r, 10, 3);
  assert.equal(Array.from(a.q), Array.from(b.q));
  assert.is(a.codebook!.tables.length, 10 * 8);
  for (let n = 0; n < 10; n++) {
    const row = a.q.subarray(n * 500, (n + 1) * 500);
    assert.ok(new Set(row).size <= 8);
    assert.is(Math.max(...Array.from(row, Math.abs)), 127); // the largest centroid is the int8 level 127
    // dequantized error below that of 3-bit uniform rounding (k-means minimizes it)
    const s = a.scales[n], orig = r.subarray(n * 500, (n + 1) * 500);
    const mx = Math.max(...Array.from(orig, Math.abs)), su = mx / 3;
    let ek = 0, eu = 0;
    for (let i = 0; i < 500; i++) {
      ek += (row[i] * s - orig[i]) ** 2;
      eu += (Math.max(-3, Math.min(3, Math.round(orig[i] / su))) * su - orig[i]) ** 2;
    }
    assert.ok(ek < eu, `channel ${n}: k-means error ${ek} vs uniform ${eu}`);
  }
  const layer = quantizeWeightsKmeans(r, 10, 2, "per-layer");
  assert.is(layer.codebook!.tables.length, 4);
  assert.ok(new Set(layer.q).size <= 4 && new Set(layer.scales).size === 10, "one table, a scale per channel");
});

test("pow2: sign + exponent tables, nearest level, per-channel scale", () => {
  assert.equal(Array.from(pow2Table(3)), [0, 1, 2, 4, 0, -1, -2, -4]);
  assert.equal(Array.from(pow2Table(4)), [0, 1, 2, 4, 8, 16, 32, 64, 0, -1, -2, -4, -8, -16, -32, -64]);
  const w = Float32Array.from([0.8, -0.4, 0.2, 0.05, -0.8, 0.31, 0.02, 0.59]);
  const p = quantizeWeightsPow2(w, 1, 3);
  assert.is(p.scales[0], Math.fround(0.8 / 4));
  assert.equal(Array.from(p.q), [4, -2, 1, 0, -4, 2, 0, 2]); // 0.31/0.2 = 1.55 -> 2; 0.59/0.2 = 2.95 -> 2
  assert.throws(() => quantizeWeightsPow2(w, 1, 2), (e: unknown) => e instanceof QwmQuantizeError);
});

test("bad options: a typed error naming the flag", () => {
  const qg = quantizeGraph(g, ranges);
  const bad = (o: Parameters<typeof applyLowBit>[2], re: RegExp) =>
    assert.throws(() => applyLowBit(g, qg, o), (e: unknown) => e instanceof QwmQuantizeError && re.test((e as Error).message));
  bad({ bits: 9, format: "kmeans" }, /1 to 8 bits/);
  bad({ bits: 2, format: "pow2" }, /3 or 4 bits/);
  bad({ bits: 3, format: "uniform" }, /kmeans or pow2/);
  bad({ bits: 4, format: "kmeans", codebook: "per-row" as CodebookScope }, /per-channel or per-layer/);
});

// ---------------------------------------------------------------- corruption: each field refused exactly

const code = (k: ErrorKind, f: Field) => ((k << 24) | (Section.Ops << 16) | f) >>> 0;

test("validator: every codebook field corrupted is refused with the exact kind and field (SIMD, no-SIMD)", async () => {
  const { low } = pair(3, "kmeans", "per-channel");
  const c = readQwm(low);
  const wAt = c.sections.find((s) => s.id === Section.Weights)!.offset;
  const opsAt = c.sections.find((s) => s.id === Section.Ops)!.offset;
  // op record offsets
  const recs: number[] = [];
  const dv = new DataView(low.buffer, low.byteOffset);
  for (let i = 0, o = opsAt + 4; i < c.ops.length; i++) { recs.push(o); o += dv.getUint16(o + 2, true); }
  const k = c.ops.findIndex((o) => o.op === Op.Conv2dQlut && o.params[13] === 1);
  const d = c.ops.findIndex((o) => o.op === Op.DenseQlut);
  const op = c.ops[k], x = c.tensors[op.inputs[0]], y = c.tensors[op.output];
  const [KH, KW] = op.params, N = y.shape[2], C = x.shape[2], T = KH * KW;
  const pConv = recs[k] + 20 + 4, pDense = recs[d] + 20 + 4; // one input: ids padded to 4 bytes
  const w0 = wAt + op.weights!.offset;
  const Cp = Math.ceil(C / 16) * 16, rowBytes = (T * Cp * 3) / 8, idxBytes = Math.ceil((N * rowBytes) / 16) * 16;
  const tables = w0 + idxBytes, tail = tables + 16 * N;
  assert.is(op.weights!.bytes, qlutPackedBytes(N, T, C, 3, true));
  const entries = op.params[12];

  type Mut = [string, (b: Uint8Array, v: DataView) => void, number];
  const muts: Mut[] = [
    ["bits 0", (_, v) => v.setInt32(pConv + 44, 0, true), code(ErrorKind.Range, Field.Param)],
    ["bits 9", (_, v) => v.setInt32(pConv + 44, 9, true), code(ErrorKind.Range, Field.Param)],
    ["bits 4 (size no longer matches)", (_, v) => v.setInt32(pConv + 44, 4, true), code(ErrorKind.Range, Field.WeightsBytes)],
    ["entries 0", (_, v) => v.setInt32(pConv + 48, 0, true), code(ErrorKind.Range, Field.Param)],
    ["entries 9 > 2^3", (_, v) => v.setInt32(pConv + 48, 9, true), code(ErrorKind.Range, Field.Param)],
    ["per-channel flag 2", (_, v) => v.setInt32(pConv + 52, 2, true), code(ErrorKind.Range, Field.Param)],
    ["per-layer flag on a per-channel layer", (_, v) => v.setInt32(pConv + 52, 0, true), code(ErrorKind.Range, Field.WeightsBytes)],
    ["dense bits 0", (_, v) => v.setInt32(pDense + 12, 0, true), code(ErrorKind.Range, Field.Param)],
    ["dense entries > 2^b", (_, v) => v.setInt32(pDense + 16, 2 ** c.ops[d].params[3] + 1, true), code(ErrorKind.Range, Field.Param)],
    ["index in a padding channel", (b) => { b[w0 + (C * 3 >> 3) + 1] |= 0x80; }, code(ErrorKind.Range, Field.WeightValues)],
    ["idx padding byte", (b) => { if (idxBytes > N * rowBytes) b[w0 + N * rowBytes] = 1; else b[tables + 15] = 1; }, code(ErrorKind.Range, Field.WeightValues)],
    ["table entry -128", (b) => { b[tables + 16 * (N - 1)] = 0x80; }, code(ErrorKind.Range, Field.WeightValues)],
    ["table entry past the entry count", (b) => { b[tables + 8] = 5; }, code(ErrorKind.Range, Field.WeightValues)],
    ["negative multiplier", (_, v) => v.setInt32(tail + 4 * N, -1, true), code(ErrorKind.Range, Field.WeightValues)],
    ["bias at the accumulator bound", (_, v) => v.setInt32(tail, 2 ** 31 - 1, true), code(ErrorKind.Range, Field.WeightValues)],
  ];
  // the depthwise codebook layer: T rows of ceil(C*3/8) bytes, then its one table (16 bytes), then bias, mult
  const kd = c.ops.findIndex((o) => o.op === Op.DwConv2dQlut);
  const od = c.ops[kd], Cd = c.tensors[od.inputs[0]].shape[2], Td = od.params[0] * od.params[1], Rb = Math.ceil((Cd * 3) / 8);
  const pDw = recs[kd] + 20 + 4, wd = wAt + od.weights!.offset, tablesD = wd + Td * Rb, tailD = tablesD + 16;
  assert.is(od.params[13], 0, "depthwise layers share one table");
  assert.is(od.weights!.bytes, qlutDepthwisePackedBytes(Cd, od.params[0], od.params[1], 3, false));
  muts.push(
    ["depthwise bits 9", (_, v) => v.setInt32(pDw + 44, 9, true), code(ErrorKind.Range, Field.Param)],
    ["depthwise bits 4 (size no longer matches)", (_, v) => v.setInt32(pDw + 44, 4, true), code(ErrorKind.Range, Field.WeightsBytes)],
    ["depthwise per-channel flag on a per-layer layer", (_, v) => v.setInt32(pDw + 52, 1, true), code(ErrorKind.Range, Field.WeightsBytes)],
    ["depthwise table entry -128", (b) => { b[tablesD] = 0x80; }, code(ErrorKind.Range, Field.WeightValues)],
    ["depthwise table entry past the entry count", (b) => { b[tablesD + 15] = 3; }, code(ErrorKind.Range, Field.WeightValues)],
    ["depthwise negative multiplier", (_, v) => v.setInt32(tailD + 4 * Cd, -1, true), code(ErrorKind.Range, Field.WeightValues)],
    ["depthwise bias at the accumulator bound", (_, v) => v.setInt32(tailD, 2 ** 31 - 1, true), code(ErrorKind.Range, Field.WeightValues)],
    ["depthwise window 9x9 (81 taps > 64)", (_, v) => { v.setInt32(pDw, 9, true); v.setInt32(pDw + 4, 9, true); }, code(ErrorKind.Range, Field.Param)],
  );
  // one entry fewer, that entry zeroed in every table: only the indices that use it are out of range now
  muts.push(["index >= entries", (b, v) => {
    v.setInt32(pConv + 48, entries - 1, true);
    for (let n = 0; n < N; n++) b[tables + 16 * n + entries - 1] = 0;
  }, code(ErrorKind.Range, Field.WeightValues)]);
  for (const build of ["simd", "nosimd"] as const) {
    const h = await KernelHost.create(readBuild(build));
    const load = (bytes: Uint8Array) => { h.reset(); return h.fn("qwm_load")(h.put(bytes), bytes.length, 0) >>> 0; };
    assert.is(load(low), 0, "the intact file loads");
    for (const [name, f, want] of muts) {
      const b = Uint8Array.from(low);
      f(b, new DataView(b.buffer));
      const st = load(refreshCrcs(b));
      assert.is(st, want, `${build}: ${name}: status 0x${st.toString(16)}, want 0x${want.toString(16)}`);
    }
  }
});

// ---------------------------------------------------------------- the CLI, as a user runs it

const qwasm = (...args: string[]) => {
  const r = spawnSync(process.execPath, [join(ROOT, "bin/qwasm.mjs"), ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, QWASM_DEBUG: "" } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const MODEL = "models/fashion_mnist_dsres.onnx", CALIB = "models/data/fashion-train256-images-idx3-ubyte.gz";
const TEST = "models/data/fashion-t10k1000-images-idx3-ubyte.gz";
testIf(existsSync(join(ROOT, MODEL)), "CLI: quantize --weight-format kmeans / pow2, inspect shows each layer's representation, bench --data gives accuracy", `${MODEL} is missing`, () => {
  const dir = mkdtempSync(join(tmpdir(), "qwasm-cb-"));
  const common = ["--calib", CALIB, "--calib-size", "32", "--calibration", "minmax", "--mean", "0.286", "--std", "0.353"];
  const k3 = join(dir, "k3.qwm"), p4 = join(dir, "p4.qwm");
  assert.is(qwasm("quantize", MODEL, "--out", k3, ...common, "--weights", "3", "--weight-format", "kmeans", "--codebook", "per-layer").code, 0);
  assert.is(qwasm("quantize", MODEL, "--out", p4, ...common, "--weights", "4", "--weight-format", "pow2").code, 0);
  const ik = JSON.parse(qwasm("inspect", k3, "--json").out), ip = JSON.parse(qwasm("inspect", p4, "--json").out);
  const lut = (i: any) => i.layers.filter((l: any) => l.op === "Conv2dQlut" || l.op === "DenseQlut");
  assert.ok(lut(ik).length > 0 && lut(ik).every((l: any) => l.weightBits === 3 && /k-means 1 table of \d+ int8 levels \(per-layer\)/.test(l.scheme) && l.weightBytes > 0), JSON.stringify(lut(ik)[0]));
  assert.ok(lut(ip).length > 0 && lut(ip).every((l: any) => l.weightBits === 4 && l.scheme.startsWith("pow2")));
  assert.match(qwasm("inspect", k3).out, /Conv2dQlut .* W3A8 +k-means/);
  const b = JSON.parse(qwasm("bench", p4, "--data", TEST, "--limit", "200", "--iterations", "5", "--batch", "4", "--json").out);
  assert.ok(b.accuracy > 0.5 && b.images === 200 && b.b1_ms_median > 0 && b.compression_ratio > 4, JSON.stringify(b));
  const bad: [string[], RegExp][] = [
    [["--weights", "5", "--weight-format", "pow2"], /--weights must be 4, 3 with --weight-format pow2/],
    [["--weights", "3"], /--weights must be 8, 4, 3, 2, 1; got|--weights 3 needs --weight-format kmeans or pow2/],
    [["--weights", "9", "--weight-format", "kmeans"], /--weights must be 8, 7, 6, 5, 4, 3, 2, 1 with --weight-format kmeans/],
    [["--weights", "4", "--weight-format", "kmeans", "--codebook", "per-row"], /--codebook must be per-channel or per-layer/],
    [["--weights", "4", "--codebook", "per-layer"], /--codebook goes with --weight-format kmeans/],
  ];
  for (const [extra, re] of bad) {
    const r = qwasm("quantize", MODEL, "--out", join(dir, "x.qwm"), ...common, ...extra);
    assert.is(r.code, 2, extra.join(" "));
    assert.match(r.err, re);
  }
});

const deno = findTool("deno");
testIf(!!deno, "codebook programs on the relaxed build (Deno) equal Node's SIMD build", "npm package deno is not installed", async () => {
  const dir = mkdtempSync(join(tmpdir(), "qwasm-"));
  writeFileSync(join(dir, "x.bin"), batch);
  for (const [bits, format, scope] of [[3, "kmeans", "per-channel"], [6, "kmeans", "per-layer"], [4, "pow2", "per-channel"]] as const) {
    const { low } = pair(bits, format, scope);
    writeFileSync(join(dir, "m.qwm"), low);
    const out = execFileSync(deno!, ["run", "--quiet", "--no-lock", "--allow-read", "test/hosts/run-qwm-deno.ts", "relaxed",
      join(dir, "m.qwm"), join(dir, "x.bin"), String(evalSet.px.length)], { cwd: ROOT, encoding: "utf8", maxBuffer: 64 << 20 });
    const want = (await Runner.create(simd, low)).runPixels(batch, evalSet.px.length);
    assert.equal(JSON.parse(out.trim().split("\n").pop()!), Array.from(want), `${bits}-bit ${format}`);
  }
});

test.run();
