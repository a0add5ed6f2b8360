// Sub-8-bit weights through the whole path (quantizer -> lowering -> .qwm 1.1 -> validator -> interpreter):
// a low-bit program must give exactly the outputs of the int8 program whose int8 weights are the same small
// integers (the int8 kernels then compute the same int32 accumulators), in every build.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lowerQuantized, type QuantizedGraph } from "../src/pack/lower.ts";
import { refreshCrcs, writeQwm } from "../src/pack/qwm.ts";
import { readQwm, layers } from "../src/pack/read.ts";
import { minMaxRanges } from "../src/calibrate/minmax.ts";
import { quantizeGraph } from "../src/quantize/graph.ts";
import { applyLowBit } from "../src/quantize/lowbit.ts";
import { Runner } from "../src/engine/runner.ts";
import { readBuild } from "../src/wasm/module.ts";
import { ErrorKind, Field, Op, Section } from "../assembly/runtime/schema.ts";
import { KernelHost } from "../src/wasm/kernels.ts";
import { randomImages, tinyNet } from "./helpers/graphs.ts";
import { findTool, testIf, ROOT } from "./helpers/tools.ts";
import { packQbwGemm, packQs2Gemm, packQs4Gemm } from "../src/pack/lowbit.ts";
import { rng } from "./helpers/ref.ts";

const g = tinyNet(7);
const simd = readBuild("simd");
const calib = randomImages(100, 64);
const evalSet = randomImages(200, 50);
const ranges = await minMaxRanges(g, simd, calib.x);
const batch = new Uint8Array(evalSet.px.length * evalSet.px[0].length);
evalSet.px.forEach((p, i) => batch.set(p, i * p.length));

/** The low-bit program and its int8 twin (same integer weights and scales, int8 ops). */
function pair(bits: number, format: "uniform" | "ternary") {
  const qg = quantizeGraph(g, ranges);
  const choice = applyLowBit(g, qg, { bits, format, keepEnds: false });
  const twin: QuantizedGraph = { act: qg.act, weights: new Map([...qg.weights].map(([k, v]) => [k, { q: v.q, scales: v.scales }])) };
  return { low: writeQwm(lowerQuantized(g, qg).program), int8: writeQwm(lowerQuantized(g, twin).program), choice };
}

for (const [bits, format] of [[4, "uniform"], [2, "uniform"], [2, "ternary"], [1, "uniform"]] as const) {
  test(`${bits}-bit ${format} weights: the .qwm 1.1 program equals its int8 twin bit for bit (SIMD, no-SIMD)`, async () => {
    const { low, int8, choice } = pair(bits, format);
    const c = readQwm(low);
    assert.is(c.version, "1.1");
    const ops = new Set(c.ops.map((o) => o.op));
    const want = bits === 4 ? Op.Conv2dQs4 : bits === 2 ? Op.Conv2dQs2 : Op.Conv2dQbw;
    assert.ok(ops.has(want), `program uses ${Op[want]}`);
    assert.ok(choice.some((x) => x.bits === bits));
    assert.ok(low.length < int8.length, "smaller than the int8 twin");
    const info = layers(c).filter((l) => l.weightBits > 0 && l.weightBits < 8);
    assert.ok(info.length > 0 && info.every((l) => l.scheme !== "-"));
    if (format === "ternary") assert.ok(info.some((l) => l.scheme.startsWith("ternary")));
    const ref = (await Runner.create(simd, int8)).runPixels(batch, evalSet.px.length);
    for (const b of ["simd", "nosimd"] as const) {
      const got = (await Runner.create(readBuild(b), low)).runPixels(batch, evalSet.px.length);
      assert.equal(Array.from(got), Array.from(ref), b);
    }
  });
}

test("int4 GEMM layout: every weight where docs/format.md puts it, weight 0 (byte 0x08) in all padding", () => {
  const r = rng(11);
  for (const [N, taps, C] of [[5, 9, 3], [8, 1, 16], [3, 4, 13], [1, 1, 1]]) {
    const w = r.i8(N * taps * C, -8, 7);
    const packed = packQs4Gemm(w, N, taps, C, new Int32Array(N), new Int32Array(N).fill(1 << 20));
    const Np = (N + 3) & ~3, Cp = (C + 7) & ~7, K = taps * Cp;
    assert.is(packed.length, (Np * K) / 2 + 16 * Np);
    // decoder written from docs/format.md: per 4 k, 8 bytes; channel c, k at byte 4*(c&1) + (k&3); c < 2: low
    // nibble w + 8, c >= 2: high nibble, two's complement
    const at = (n: number, k: number) => {
      const b = packed[(n >> 2) * K * 2 + (k >> 2) * 8 + 4 * (n & 1) + (k & 3)];
      return (n & 3) < 2 ? (b & 15) - 8 : ((b << 24) >> 28);
    };
    for (let n = 0; n < Np; n++) for (let k = 0; k < K; k++) {
      const t = Math.floor(k / Cp), c = k % Cp;
      const want = n < N && c < C ? w[(n * taps + t) * C + c] : 0;
      if (at(n, k) !== want) assert.unreachable(`N=${N} taps=${taps} C=${C}: weight (${n}, ${k}) decodes to ${at(n, k)}, want ${want}`);
    }
    const tail = new Int32Array(packed.buffer, (Np * K) / 2, 4 * Np);
    for (let n = 0; n < N; n++) {
      let sum = 0;
      for (let i = 0; i < taps * C; i++) sum += w[n * taps * C + i];
      assert.is(tail[2 * Np + n], sum, "sumw");
    }
  }
});

// The SIMD int4 kernel runs a last block of <= 2 channels without the high nibbles (igemm4_simd_lo): it relies on
// the validator refusing any non-zero weight in a padding row, as the relaxed path relies on zero channel padding.
test("validator: a non-zero int4 weight in a padding row or padding channel is refused (WeightValues)", async () => {
  const { low } = pair(4, "uniform");
  const c = readQwm(low);
  const wAt = c.sections.find((s) => s.id === Section.Weights)!.offset;
  const d = c.ops.find((o) => o.op === Op.DenseQs4)!;
  const N = c.tensors[d.output].shape[2], C = c.tensors[d.inputs[0]].shape[2];
  assert.ok(N % 4 === 2, `the dense layer has two padding rows (N = ${N})`);
  const K = (C + 7) & ~7, base = wAt + d.weights!.offset;
  // weight (n, k) at byte (n >> 2)*2K + (k >> 2)*8 + 4*(n & 1) + (k & 3); rows n & 3 >= 2 in the high nibble
  const at = (n: number, k: number) => base + (n >> 2) * 2 * K + (k >> 2) * 8 + 4 * (n & 1) + (k & 3);
  const want = ((ErrorKind.Range << 24) | (Section.Ops << 16) | Field.WeightValues) >>> 0;
  for (const build of ["simd", "nosimd"] as const) {
    const h = await KernelHost.create(readBuild(build));
    const load = (bytes: Uint8Array) => { h.reset(); return h.fn("qwm_load")(h.put(bytes), bytes.length, 0) >>> 0; };
    assert.is(load(low), 0, "the intact file loads");
    const muts: [string, (b: Uint8Array) => void][] = [
      [`padding row ${N} (high nibble 1)`, (b) => { b[at(N, 0)] |= 0x10; }],
      [`padding row ${N + 1} (high nibble -8)`, (b) => { b[at(N + 1, 5)] |= 0x80; }],
    ];
    if (C < K) muts.push([`padding channel ${C} of row 0 (low nibble not 8)`, (b) => { b[at(0, C)] ^= 0x01; }]);
    for (const [name, f] of muts) {
      const b = Uint8Array.from(low);
      f(b);
      const st = load(refreshCrcs(b));
      assert.is(st, want, `${build}: ${name}: status 0x${st.toString(16)}, want 0x${want.toString(16)}`);
    }
  }
});

test("2-bit and BWN GEMM layouts: every weight where docs/format.md puts it, weight 0 / +1 in all padding", () => {
  const r = rng(12);
  for (const [N, taps, C] of [[5, 9, 3], [17, 1, 16], [9, 4, 13], [1, 1, 1]]) {
    const K2 = taps * ((C + 15) & ~15), K1 = taps * ((C + 7) & ~7);
    // Qs2: per 8 channels and 4 k, 8 bytes; channel c, k at byte 4*(c&1) + (k&3), crumb c>>1 (w + 2 for
    // crumbs 0-2, two's complement for crumb 3)
    const w2 = r.i8(N * taps * C, -2, 1);
    const p2 = packQs2Gemm(w2, N, taps, C, new Int32Array(N), new Int32Array(N).fill(1 << 20));
    const N8 = (N + 7) & ~7, N16 = (N + 15) & ~15, Np = (N + 3) & ~3;
    assert.is(p2.length, (N8 * K2) / 4 + 16 * Np);
    // Qbw: per 16 channels and 4 k, 8 bytes; channel c, k at byte 4*(c&1) + (k&3), bit c>>1, set = -1
    const w1 = Int8Array.from({ length: N * taps * C }, () => (r.next() < 0.5 ? -1 : 1));
    const p1 = packQbwGemm(w1, N, taps, C, new Int32Array(N), new Int32Array(N).fill(1 << 20));
    assert.is(p1.length, (N16 * K1) / 8 + 16 * Np);
    for (const [bits, packed, w, K, rows, Cp] of [[2, p2, w2, K2, N8, (C + 15) & ~15], [1, p1, w1, K1, N16, (C + 7) & ~7]] as const) {
      for (let n = 0; n < rows; n++) for (let k = 0; k < K; k++) {
        const t = Math.floor(k / Cp), c = k % Cp, real = n < N && c < C;
        let got: number;
        if (bits === 2) {
          const b = packed[(n >> 3) * K * 2 + (k >> 2) * 8 + 4 * (n & 1) + (k & 3)], m = (n & 7) >> 1;
          got = m < 3 ? ((b >> (2 * m)) & 3) - 2 : ((b << 24) >> 30);
        } else {
          const b = packed[(n >> 4) * K * 2 + (k >> 2) * 8 + 4 * (n & 1) + (k & 3)];
          got = (b >> ((n & 15) >> 1)) & 1 ? -1 : 1;
        }
        const want = real ? w[(n * taps + t) * C + c] : bits === 2 ? 0 : 1;
        if (got !== want) assert.unreachable(`${bits}-bit N=${N} taps=${taps} C=${C}: weight (${n}, ${k}) decodes to ${got}, want ${want}`);
      }
    }
  }
});

const deno = findTool("deno");
testIf(!!deno, "4-bit and 2-bit programs on the relaxed build (Deno) equal Node's SIMD build", "npm package deno is not installed", async () => {
  const dir = mkdtempSync(join(tmpdir(), "qwasm-"));
  writeFileSync(join(dir, "x.bin"), batch);
  for (const [bits, format] of [[4, "uniform"], [2, "ternary"], [1, "uniform"]] as const) {
    const { low } = pair(bits, format);
    writeFileSync(join(dir, "m.qwm"), low);
    const out = execFileSync(deno!, ["run", "--quiet", "--no-lock", "--allow-read", "test/hosts/run-qwm-deno.ts", "relaxed",
      join(dir, "m.qwm"), join(dir, "x.bin"), String(evalSet.px.length)], { cwd: ROOT, encoding: "utf8", maxBuffer: 64 << 20 });
    const want = (await Runner.create(simd, low)).runPixels(batch, evalSet.px.length);
    assert.equal(JSON.parse(out.trim().split("\n").pop()!), Array.from(want), `${bits}-bit ${format}`);
  }
});

test.run();
