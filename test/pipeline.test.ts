// The whole path on a hand-built graph (conv, depthwise, max/avg pooling, residual add, concat, global average
// pooling, dense): min-max calibration on the float program, int8 quantization, packing, and the int8 program
// against the float one (argmax agreement, cosine of the logits), with every build bit-identical.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lowerFloat, lowerQuantized } from "../src/pack/lower.ts";
import { writeQwm } from "../src/pack/qwm.ts";
import { minMaxRanges } from "../src/calibrate/minmax.ts";
import { quantizeGraph } from "../src/quantize/graph.ts";
import { Runner } from "../src/engine/runner.ts";
import { readBuild } from "../src/wasm/module.ts";
import { randomImages, tinyNet } from "./helpers/graphs.ts";
import { findTool, testIf, ROOT } from "./helpers/tools.ts";

const g = tinyNet(7);
const simd = readBuild("simd");
const calib = randomImages(100, 64);
const evalSet = randomImages(200, 100);
const ranges = await minMaxRanges(g, simd, calib.x);
const qg = quantizeGraph(g, ranges);
const qwm = writeQwm(lowerQuantized(g, qg).program);
const fwm = writeQwm(lowerFloat(g).program);

const cosine = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; }
  return ab / Math.sqrt(aa * bb);
};
const argmax = (a: ArrayLike<number>) => { let k = 0; for (let i = 1; i < a.length; i++) if (a[i] > a[k]) k = i; return k; };

test("the writer is deterministic", () => {
  assert.equal(writeQwm(lowerQuantized(g, quantizeGraph(g, ranges)).program), qwm);
});

test("int8 program tracks the float program (argmax agreement, cosine >= 0.999)", async () => {
  const fr = await Runner.create(simd, fwm), qr = await Runner.create(simd, qwm);
  const s = qr.host.exports.qwm_output_scale(), z = qr.host.exports.qwm_output_zero_point();
  let agree = 0, cosSum = 0, cosMin = 1;
  const gaps: number[] = [];
  for (let i = 0; i < evalSet.x.length; i++) {
    const f = fr.runF32(evalSet.x[i]) as Float32Array;
    const q = qr.runPixels(evalSet.px[i]) as Int8Array;
    const deq = Array.from(q, (v) => (v - z) * s);
    if (argmax(deq) === argmax(f)) agree++;
    // where they disagree, the float program itself must be nearly tied between the two classes
    else gaps.push((f[argmax(f)] - f[argmax(deq)]) / s);
    const c = cosine(deq, f);
    cosSum += c;
    cosMin = Math.min(cosMin, c);
  }
  const n = evalSet.x.length;
  console.log(`    ${n} images: argmax agreement ${agree}/${n}, mean cosine ${(cosSum / n).toFixed(5)}, min ${cosMin.toFixed(5)}`);
  assert.ok(cosSum / n >= 0.999, `mean cosine ${cosSum / n}`);
  console.log(`    disagreements: float gap between the two classes, in output quantization steps: ${gaps.map((x) => x.toFixed(2)).join(", ")}`);
  assert.ok(agree >= 0.95 * n, `argmax agreement ${agree}/${n}`);
  assert.ok(gaps.every((x) => x < 2), "a disagreement where the float program is not within 2 quantization steps of a tie");
});

test("SIMD and no-SIMD give identical int8 outputs on the pipeline's model (batch 100)", async () => {
  const batch = new Uint8Array(evalSet.px.length * evalSet.px[0].length);
  evalSet.px.forEach((p, i) => batch.set(p, i * p.length));
  const a = (await Runner.create(simd, qwm)).runPixels(batch, evalSet.px.length);
  const b = (await Runner.create(readBuild("nosimd"), qwm)).runPixels(batch, evalSet.px.length);
  assert.equal(Array.from(b), Array.from(a));
});

const deno = findTool("deno");
testIf(!!deno, "the relaxed build (Deno) gives the same int8 outputs as Node's SIMD build", "npm package deno is not installed", async () => {
  const dir = mkdtempSync(join(tmpdir(), "qwasm-"));
  const batch = new Uint8Array(evalSet.px.length * evalSet.px[0].length);
  evalSet.px.forEach((p, i) => batch.set(p, i * p.length));
  writeFileSync(join(dir, "m.qwm"), qwm);
  writeFileSync(join(dir, "x.bin"), batch);
  const out = execFileSync(deno!, ["run", "--quiet", "--no-lock", "--allow-read", "test/hosts/run-qwm-deno.ts", "relaxed",
    join(dir, "m.qwm"), join(dir, "x.bin"), String(evalSet.px.length)], { cwd: ROOT, encoding: "utf8", maxBuffer: 64 << 20 });
  const want = (await Runner.create(simd, qwm)).runPixels(batch, evalSet.px.length);
  assert.equal(JSON.parse(out.trim().split("\n").pop()!), Array.from(want));
});

test.run();
