// Binary XNOR layers (SignQb1 + Conv2dQb1 / DenseQb1 / DwConv2dQb1) and the 2-bit / ternary / BWN depthwise ops
// (DwConv2dQs2, DwConv2dQbw) through the whole path: quantizer -> lowering -> .qwm -> validator -> interpreter.
//  - an XNOR program equals, bit for bit, its int8 twin (the same +-1 weights, biases and multipliers on the int8
//    kernels, the sign as a +-1 lookup table, zero padding 0), on the SIMD and no-SIMD builds, and on the relaxed
//    build in Deno;
//  - low-bit depthwise programs equal their int8 twins;
//  - corruption of every field of the new ops' records and of their weights is refused naming the section and
//    field, or runs identically on both builds;
//  - the width checks of the packer and of the validator (taps against the 64-bit padding masks and the u8
//    mismatch lanes, accumulator bounds).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lowerQuantized, type QuantizedGraph } from "../src/pack/lower.ts";
import { refreshCrcs, sectionTable, writeQwm, type Program } from "../src/pack/qwm.ts";
import { layers, readQwm } from "../src/pack/read.ts";
import { minMaxRanges } from "../src/calibrate/minmax.ts";
import { quantizeGraph } from "../src/quantize/graph.ts";
import { applyLowBit } from "../src/quantize/lowbit.ts";
import { applyXnor, binaryActStats, innerLayers } from "../src/quantize/binary.ts";
import { packQb1Conv, packQb1Depthwise, packQbwDepthwise, packQs2Depthwise } from "../src/pack/lowbit.ts";
import { QwmPackError } from "../src/pack/layout.ts";
import { Runner } from "../src/engine/runner.ts";
import { KernelHost } from "../src/wasm/kernels.ts";
import { readBuild } from "../src/wasm/module.ts";
import { DType, ErrorKind, Field, Op, Section } from "../assembly/runtime/schema.ts";
import { errField, errKind, errSection, loadModel, randomPixels, runtimeBatch } from "./helpers/runtime_programs.ts";
import { randomImages, tinyNet } from "./helpers/graphs.ts";
import { findTool, testIf, ROOT } from "./helpers/tools.ts";

const g = tinyNet(15); // a seed whose depthwise multipliers stay below 1 at 2 bits (no 2^e rescaling to int4)
const simd = readBuild("simd");
const calib = randomImages(100, 48);
const evalSet = randomImages(200, 40);
const ranges = await minMaxRanges(g, simd, calib.x);
const batch = new Uint8Array(evalSet.px.length * evalSet.px[0].length);
evalSet.px.forEach((p, i) => batch.set(p, i * p.length));

/** Every conv / dense of tinyNet binary (XNOR), and the lowered program with its int8 twin. */
async function xnorPair(keepEnds = false) {
  const qg = quantizeGraph(g, ranges);
  const names = innerLayers(g, keepEnds);
  const inputs = names.map((n) => (g.nodes.find((x) => x.name === n) as { input: string }).input);
  const stats = await binaryActStats(g, simd, calib.x.slice(0, 32), inputs, qg.act);
  const choice = applyXnor(g, qg, names, stats);
  return { choice, qg, low: writeQwm(lowerQuantized(g, qg).program), twin: writeQwm(lowerQuantized(g, qg, { binaryAsInt8: true }).program), program: lowerQuantized(g, qg).program };
}

const xnor = await xnorPair();

test("XNOR program: sign + binary conv / depthwise / dense ops, smaller than its int8 twin, equal to it bit for bit (SIMD, no-SIMD)", async () => {
  const c = readQwm(xnor.low);
  const ops = c.ops.map((o) => o.op);
  for (const want of [Op.SignQb1, Op.Conv2dQb1, Op.DwConv2dQb1, Op.DenseQb1]) assert.ok(ops.includes(want), `program uses ${Op[want]}`);
  // c2 and c3 read the same value: one SignQb1 serves both
  assert.is(ops.filter((o) => o === Op.SignQb1).length, new Set(xnor.choice.map((x) => (g.nodes.find((n) => n.name === x.name) as { input: string }).input)).size);
  assert.ok(c.tensors.some((t) => t.dtype === DType.B1));
  assert.ok(xnor.low.length < xnor.twin.length, `${xnor.low.length} < ${xnor.twin.length}`);
  const info = layers(c).filter((l) => l.actBits === 1 && l.weightBits === 1);
  assert.is(info.length, 6); // c1, dw, pw, c2, c3, fc
  assert.ok(info.every((l) => l.scheme.startsWith("binary XNOR")));
  const ref = (await Runner.create(simd, xnor.twin)).runPixels(batch, evalSet.px.length);
  // the outputs are not constant: the test compares something
  assert.ok(new Set(Array.from(ref)).size > 5, `${new Set(Array.from(ref)).size} distinct outputs`);
  for (const b of ["simd", "nosimd"] as const) {
    const got = (await Runner.create(readBuild(b), xnor.low)).runPixels(batch, evalSet.px.length);
    assert.equal(Array.from(got), Array.from(ref), b);
  }
});

test("XNOR quantizer: first conv and last layer stay 8-bit by default; thresholds at the real zero", async () => {
  const { low, qg } = await xnorPair(true);
  const ls = layers(readQwm(low));
  assert.is(ls.find((l) => l.op === "Conv2dQs8")?.output.join("x"), "16x16x8");
  assert.ok(ls.some((l) => l.op === "DenseQs8"));
  assert.ok(ls.some((l) => l.op === "DwConv2dQb1") && ls.some((l) => l.op === "Conv2dQb1"));
  assert.not.ok(ls.some((l) => l.op === "DenseQb1"));
  for (const [name, w] of qg.weights) {
    if (!w.xnor) continue;
    const x = qg.act.get((g.nodes.find((n) => n.name === name) as { input: string }).input)!;
    // non-negative inputs (zero point -128): x > 0 is +1; others: x >= 0
    assert.is(w.xnor.threshold, x.zeroPoint === -128 ? x.zeroPoint + 1 : x.zeroPoint, name);
    assert.ok(w.q.every((v) => v === 1 || v === -1));
  }
});

test("applyXnor with given alpha / u / v (the training path) and typed errors", () => {
  const qg = quantizeGraph(g, ranges);
  const pw = g.nodes.find((n) => n.name === "pw")! as { weight: Float32Array; outChannels: number };
  const alpha = Float32Array.from({ length: pw.outChannels }, (_, i) => 0.01 * (i + 1));
  applyXnor(g, qg, [{ name: "pw", alpha, u: new Float64Array(8).fill(0.25), v: new Float64Array(8).fill(0.5) }], new Map());
  const w = qg.weights.get("pw")!;
  assert.equal(Array.from(w.scales), Array.from(alpha, (a) => Math.fround(a * 0.5)));
  // bias offset alpha * sum q * u
  const per = pw.weight.length / pw.outChannels;
  for (let n = 0; n < pw.outChannels; n++) {
    let s = 0;
    for (let i = 0; i < per; i++) s += pw.weight[n * per + i] < 0 ? -1 : 1;
    assert.ok(Math.abs(w.xnor!.biasOffset[n] - alpha[n] * s * 0.25) < 1e-6);
  }
  assert.throws(() => applyXnor(g, qg, ["nope"], new Map()), /no conv or dense/);
  assert.throws(() => applyXnor(g, qg, ["c2"], new Map()), /no statistics/);
});

const deno = findTool("deno");
testIf(!!deno, "XNOR and low-bit depthwise programs on the relaxed build (Deno) equal Node's SIMD build", "npm package deno is not installed", async () => {
  const dir = mkdtempSync(join(tmpdir(), "qwasm-"));
  writeFileSync(join(dir, "x.bin"), batch);
  for (const [name, bytes] of [["xnor", xnor.low], ...(["qs2", "ternary", "qbw"] as const).map((k) => [k, dwPair(k).low] as const)] as const) {
    writeFileSync(join(dir, "m.qwm"), bytes);
    const out = execFileSync(deno!, ["run", "--quiet", "--no-lock", "--allow-read", "test/hosts/run-qwm-deno.ts", "relaxed",
      join(dir, "m.qwm"), join(dir, "x.bin"), String(evalSet.px.length)], { cwd: ROOT, encoding: "utf8", maxBuffer: 64 << 20 });
    const want = (await Runner.create(simd, bytes)).runPixels(batch, evalSet.px.length);
    assert.equal(JSON.parse(out.trim().split("\n").pop()!), Array.from(want), name);
  }
});

// ---------------------------------------------------------------- low-bit depthwise

function dwPair(kind: "qs2" | "ternary" | "qbw") {
  const qg = quantizeGraph(g, ranges);
  const choice = applyLowBit(g, qg, { bits: kind === "qbw" ? 1 : 2, format: kind === "ternary" ? "ternary" : "uniform", keepEnds: false });
  // the int8 twin: the same integers; a layer whose multiplier reaches 1 has them scaled by 2^e as lower.ts does
  const twin: QuantizedGraph = {
    act: qg.act, weights: new Map([...qg.weights].map(([k, v]) => {
      const n = g.nodes.find((x) => x.name === k) as { input: string; output: string };
      const real = Math.max(...v.scales) * qg.act.get(n.input)!.scale / qg.act.get(n.output)!.scale;
      let e = 0;
      while (v.bits !== undefined && real / 2 ** e >= 0.999 && e < 7) e++;
      return [k, { q: Int8Array.from(v.q, (x) => x * 2 ** e), scales: Float32Array.from(v.scales, (x) => x / 2 ** e) }];
    })),
  };
  return { choice, low: writeQwm(lowerQuantized(g, qg).program), int8: writeQwm(lowerQuantized(g, twin).program) };
}

for (const kind of ["qs2", "ternary", "qbw"] as const) {
  test(`${kind} depthwise: the depthwise layer keeps ${kind === "qbw" ? 1 : 2} bits (no 4-bit fallback) and equals its int8 twin (SIMD, no-SIMD)`, async () => {
    const { choice, low, int8 } = dwPair(kind);
    assert.is(choice.find((c) => c.name === "dw")!.bits, kind === "qbw" ? 1 : 2);
    const c = readQwm(low);
    const want = kind === "qbw" ? Op.DwConv2dQbw : Op.DwConv2dQs2;
    assert.ok(c.ops.some((o) => o.op === want), `program uses ${Op[want]}`);
    const l = layers(c).find((x) => x.op === Op[want])!;
    assert.is(l.weightBits, kind === "qbw" ? 1 : 2);
    assert.ok(kind === "ternary" ? l.scheme.startsWith("ternary") : kind === "qs2" ? l.scheme.startsWith("2-bit uniform") : l.scheme.includes("BWN"), l.scheme);
    const ref = (await Runner.create(simd, int8)).runPixels(batch, evalSet.px.length);
    for (const b of ["simd", "nosimd"] as const) {
      const got = (await Runner.create(readBuild(b), low)).runPixels(batch, evalSet.px.length);
      assert.equal(Array.from(got), Array.from(ref), b);
    }
  });
}

// ---------------------------------------------------------------- packer width checks

test("packers: width checks and bad values are QwmPackErrors", () => {
  const ones = (n: number) => new Int8Array(n).fill(1);
  const z = (n: number) => new Int32Array(n);
  const m = (n: number) => new Int32Array(n).fill(1 << 20);
  assert.throws(() => packQb1Conv(ones(2 * 81 * 3), 2, 81, 3, z(2), m(2)), (e: unknown) => e instanceof QwmPackError && /at most 64/.test((e as Error).message));
  assert.throws(() => packQb1Conv(ones(9 * 4), 1, 9, 4, Int32Array.of(2 ** 31 - 10), m(1)), /exceeds the int32 accumulator/);
  assert.throws(() => packQb1Conv(new Int8Array(9 * 4), 1, 9, 4, z(1), m(1)), /\+1 or -1/);
  assert.throws(() => packQb1Depthwise(ones(256 * 4), 4, 16, 16, z(4), m(4)), (e: unknown) => e instanceof QwmPackError && /at most 255/.test((e as Error).message));
  assert.ok(packQb1Depthwise(ones(255 * 4), 4, 15, 17, z(4), m(4)).length === 255 * 1 + 32);
  assert.throws(() => packQb1Depthwise(ones(9 * 4), 4, 3, 3, Int32Array.of(0, 0, 2 ** 31 - 5, 0), m(4)), /accumulator/);
  assert.throws(() => packQs2Depthwise(Int8Array.of(2, 0, 0, 0), 4, 1, 1, z(4), m(4)), /\[-2, 1\]/);
  assert.throws(() => packQs2Depthwise(new Int8Array(9).fill(-2), 1, 3, 3, Int32Array.of(2 ** 31 - 100), m(1)), /accumulator/);
  assert.throws(() => packQbwDepthwise(new Int8Array(9), 1, 3, 3, z(1), m(1)), /\+1 or -1/);
  assert.throws(() => packQbwDepthwise(ones(9), 1, 3, 3, z(1), Int32Array.of(-1)), /negative multiplier/);
  assert.throws(() => packQbwDepthwise(ones(8), 1, 3, 3, z(1), m(1)), /expected 9 values/);
});

// ---------------------------------------------------------------- validator: widths and corruption

const hosts = await Promise.all((["simd", "nosimd"] as const).map(async (b) => [b, await KernelHost.create(readBuild(b))] as const));
const code = (kind: ErrorKind, section: number, field: Field) => ((kind << 24) | (section << 16) | field) >>> 0;

/** A one-layer binary program: input [H][W][C] i8 -> SignQb1 -> (conv KHxKW -> N | depthwise KHxKW) -> i8. */
function oneLayer(kind: "conv" | "dw", H: number, C: number, K: number, N = 4, weights?: Uint8Array): Uint8Array {
  const OH = H - K + 1, T = K * K;
  const outC = kind === "dw" ? C : N;
  const w = weights ?? (kind === "dw" ? packQb1Depthwise(new Int8Array(T * C).fill(1), C, K, K, new Int32Array(C), new Int32Array(C).fill(1 << 24))
    : packQb1Conv(new Int8Array(N * T * C).fill(1), N, T, C, new Int32Array(N), new Int32Array(N).fill(1 << 24)));
  const wpad = new Uint8Array(Math.ceil(w.length / 16) * 16);
  wpad.set(w);
  const Cb = Math.ceil(C / 8), al = (n: number) => Math.ceil(n / 16) * 16;
  const scratch = 32 * (Math.ceil((T * C) / 128) * 16 + 8) + 16;
  const sizes = [H * H * C, H * H * Cb, OH * OH * outC, scratch];
  const offs: number[] = [];
  let at = 0;
  for (const s of sizes) { offs.push(at); at += al(s); }
  const p: Program = {
    meta: { inputTensor: 0, outputTensor: 2, arenaBytes: at, channelOrder: 0, resize: 0, cropFraction: 1, valueScale: 1 / 255, mean: [0, 0, 0], std: [1, 1, 1], pixelA: [1 << 16, 1 << 16, 1 << 16], pixelB: [-128 << 16, -128 << 16, -128 << 16] },
    tensors: [
      { dtype: DType.I8, shape: [H, H, C], offset: offs[0], scale: 0.05, zeroPoint: 0 },
      { dtype: DType.B1, shape: [H, H, C], offset: offs[1], scale: 0, zeroPoint: 0 },
      { dtype: DType.I8, shape: [OH, OH, outC], offset: offs[2], scale: 0.1, zeroPoint: 3 },
      { dtype: DType.U8, shape: [1, 1, scratch], offset: offs[3], scale: 0, zeroPoint: 0 },
    ],
    ops: [
      { op: Op.SignQb1, inputs: [0], output: 1, params: [0] },
      kind === "dw"
        ? { op: Op.DwConv2dQb1, inputs: [1], output: 2, params: [K, K, 1, 1, 0, 0, 1, 1, 31, -128, 127], weights: { offset: 0, bytes: w.length } }
        : { op: Op.Conv2dQb1, inputs: [1], output: 2, params: [K, K, 1, 1, 0, 0, 1, 1, 31, -128, 127], weights: { offset: 0, bytes: w.length }, scratch: 3 },
    ],
    weights: wpad,
  };
  return writeQwm(p);
}

test("validator width checks: binary conv taps <= 64 (padding masks), binary depthwise taps <= 255 (u8 lanes)", () => {
  const [, h] = hosts[0];
  const ok = (b: Uint8Array) => loadModel(h, b).code >>> 0;
  assert.is(ok(oneLayer("conv", 10, 3, 8)), 0); // 64 taps
  const T81 = 81, C = 3, N = 4, Kb = Math.ceil((T81 * C) / 128) * 16;
  const raw81 = new Uint8Array(4 * Kb + 8 * 4 + 2 * T81 * 4); // right size for 9x9, zero weights and sums
  assert.is(ok(oneLayer("conv", 10, C, 9, N, raw81)), code(ErrorKind.Range, Section.Ops, Field.Param));
  assert.is(ok(oneLayer("dw", 16, 3, 15)), 0); // 225 taps
  assert.is(ok(oneLayer("dw", 16, 3, 16, 4, new Uint8Array(256 + 24))), code(ErrorKind.Range, Section.Ops, Field.Param));
});

// Corruption of the binary ops' records and weights: every field set to 0 / max / +-1, CRCs recomputed.
function corrupt(bytes: Uint8Array): { what: string; at: number; size: 1 | 2 | 4 }[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const sec = sectionTable(bytes);
  const ops = sec.find((s) => s.id === Section.Ops)!, wts = sec.find((s) => s.id === Section.Weights)!, tns = sec.find((s) => s.id === Section.Tensors)!;
  const out: { what: string; at: number; size: 1 | 2 | 4 }[] = [];
  const n = v.getUint32(ops.offset, true);
  let r = ops.offset + 4;
  const mine = new Set([Op.SignQb1, Op.Conv2dQb1, Op.DenseQb1, Op.DwConv2dQs2, Op.DwConv2dQbw, Op.DwConv2dQb1]);
  for (let k = 0; k < n; k++) {
    const op = v.getUint16(r, true), len = v.getUint16(r + 2, true), nIn = v.getUint16(r + 4, true), nPar = v.getUint16(r + 6, true);
    if (mine.has(op)) {
      const name = `op ${k} (${Op[op]})`;
      out.push({ what: `${name} code`, at: r, size: 2 }, { what: `${name} output`, at: r + 8, size: 2 }, { what: `${name} scratch`, at: r + 10, size: 2 },
        { what: `${name} weights offset`, at: r + 12, size: 4 }, { what: `${name} weights bytes`, at: r + 16, size: 4 }, { what: `${name} input`, at: r + 20, size: 2 });
      const p0 = r + 20 + 4 * Math.ceil(nIn / 2);
      for (let i = 0; i < nPar; i++) out.push({ what: `${name} param ${i}`, at: p0 + 4 * i, size: 4 });
      const wOff = v.getUint32(r + 12, true), wLen = v.getUint32(r + 16, true);
      if (wOff !== 0xffffffff) for (let i = 0; i < wLen; i += Math.max(1, Math.floor(wLen / 24))) out.push({ what: `${name} weight byte ${i}`, at: wts.offset + wOff + i, size: 1 });
      // its output tensor's record: dtype and dims
      const y = v.getUint16(r + 8, true), tr = tns.offset + 4 + 32 * y;
      out.push({ what: `${name} output dtype`, at: tr, size: 1 }, { what: `${name} output C`, at: tr + 12, size: 4 });
    }
    r += len;
  }
  return out;
}

for (const [build, h] of hosts) {
  test(`${build}: corruption of the binary / low-bit depthwise ops: refused naming Ops (or Tensors) and a field, or runs`, () => {
    let refused = 0, ran = 0;
    const files = [xnor.low, dwPair("qs2").low, dwPair("qbw").low];
    for (const base of files) {
      for (const s of corrupt(base)) {
        const v0 = new DataView(base.buffer, base.byteOffset, base.byteLength);
        const x = s.size === 1 ? v0.getUint8(s.at) : s.size === 2 ? v0.getUint16(s.at, true) : v0.getUint32(s.at, true);
        const max = s.size === 1 ? 0xff : s.size === 2 ? 0xffff : 0xffffffff;
        for (const val of new Set([0, max, (x + 1) & max, (x - 1) & max, x ^ 1])) {
          if (val === x) continue;
          const b = base.slice();
          const v = new DataView(b.buffer);
          if (s.size === 1) v.setUint8(s.at, val); else if (s.size === 2) v.setUint16(s.at, val, true); else v.setUint32(s.at, val >>> 0, true);
          refreshCrcs(b);
          const { code: c } = loadModel(h, b, 16 << 20);
          if (c !== 0) {
            refused++;
            const sec = errSection(c);
            assert.ok(sec === Section.Ops || sec === Section.Tensors || sec === Section.Model, `${s.what} = ${val}: section ${sec}`);
            assert.ok(errField(c) !== Field.None && ErrorKind[errKind(c)] !== undefined, `${s.what} = ${val}: field ${errField(c)}`);
            continue;
          }
          // accepted: runs on this build like on the other
          ran++;
          const px = randomPixels(5, 16 * 16 * 3);
          const a = runtimeBatch(h, "pixels", px, 1);
          assert.is(a.code, 0, `${s.what} = ${val}`);
          const other = hosts.find(([bb]) => bb !== build)![1];
          assert.is(loadModel(other, b, 16 << 20).code, 0);
          assert.equal(Array.from(runtimeBatch(other, "pixels", px, 1).out), Array.from(a.out), `${s.what} = ${val}: builds differ`);
        }
      }
    }
    assert.ok(refused > 200 && ran > 10, `refused ${refused}, ran ${ran}`);
  });
}

// ---------------------------------------------------------------- the CLI

const qwasm = (...args: string[]) => {
  const r = spawnSync(process.execPath, [join(ROOT, "bin/qwasm.mjs"), ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, QWASM_DEBUG: "" } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

test("CLI: quantize --weights 1 --acts 1 (bundled Fashion-MNIST model), inspect and eval; flag errors", () => {
  const dir = mkdtempSync(join(tmpdir(), "qwasm-xnor-"));
  const out = join(dir, "x.qwm");
  const common = ["quantize", "models/fashion_mnist_dsres.onnx", "--calib", "models/data/fashion-train256-images-idx3-ubyte.gz", "--calib-size", "64",
    "--calibration", "minmax", "--mean", "0.286", "--std", "0.353", "--out", out];
  const q = qwasm(...common, "--weights", "1", "--acts", "1");
  assert.is(q.code, 0, q.err);
  const info = JSON.parse(qwasm("inspect", out, "--json").out);
  const ops: string[] = info.layers.map((l: { op: string }) => l.op);
  assert.ok(ops.includes("SignQb1") && ops.includes("Conv2dQb1"), ops.join(","));
  assert.is(ops.find((o) => o.startsWith("Conv2d")), "Conv2dQs8"); // the first conv stays 8-bit
  const weighted = info.layers.filter((l: { weightBits: number }) => l.weightBits > 0);
  assert.is(weighted[weighted.length - 1].weightBits, 8); // and the last layer too
  assert.match(info.provenance.weights, /binary XNOR .* 8-bit: /);
  const e = qwasm("eval", out, "--data", "models/data/fashion-t10k1000-images-idx3-ubyte.gz", "--limit", "200", "--json");
  assert.is(e.code, 0, e.err);
  const r = JSON.parse(e.out);
  assert.is(r.n, 200);
  assert.ok(r.accuracy >= 0 && r.accuracy <= 1);
  for (const [args, msg] of [[["--acts", "1"], /--acts 1 \(binary XNOR layers\) needs --weights 1/], [["--weights", "1", "--acts", "4"], /--acts must be 8 or 1/]] as const) {
    const b = qwasm(...common, ...args);
    assert.is(b.code, 2, b.err);
    assert.match(b.err, msg);
    assert.is(b.err.trim().split("\n").length, 1);
  }
});

test.run();
