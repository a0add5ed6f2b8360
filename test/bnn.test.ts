// Binary and ternary quantization-aware training (issue #13): the methods' gradients against hand computation
// and finite differences (XNOR weights and their scale, ApproxSign, TTQ's scale, the regularizer), TWN's
// threshold, INQ's partition schedule, the export (binary layers on SignQb1 + the XNOR-popcount ops, ternary ones
// on the 2-bit kernels; the .qwm's argmaxes agree with the fake-quantized net, identically in the SIMD and
// no-SIMD builds) and the CLI's refusals of method / bit combinations.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Act, Node } from "../src/ir/graph.ts";
import type { Dataset } from "../src/data/index.ts";
import { Runner } from "../src/engine/runner.ts";
import { describe } from "../src/api.ts";
import { readBuild } from "../src/wasm/module.ts";
import { Op } from "../assembly/runtime/schema.ts";
import { readQwm } from "../src/pack/read.ts";
import { accuracy, fit, ImageSet, Net, QwmTrainError, type TrainGraph } from "../src/train/node.ts";
import { buildArch } from "../src/train/archs.ts";
import { rng } from "../src/train/data.ts";
import { checkMethod } from "../src/train/quantizers/index.ts";
import { SignActs, XnorWeights } from "../src/train/quantizers/xnor.ts";
import { TtqWeights, TwnWeights, twnThreshold } from "../src/train/quantizers/ternary.ts";
import { InqWeights, inqFraction } from "../src/train/quantizers/inq.ts";
import { REG_LAMBDA, RegularizedWeights } from "../src/train/quantizers/regularizer.ts";
import { initBatchNorms, insertBatchNorms } from "../src/train/rebn.ts";
import { ROOT } from "./helpers/tools.ts";

const close = (a: number, b: number, tol = 1e-5) => Math.abs(a - b) <= tol * Math.max(1, Math.abs(a), Math.abs(b));
const loss = (wq: Float32Array, g: Float32Array) => wq.reduce((a, v, i) => a + v * g[i], 0);

test("XNOR weights: alpha = mean|w| per channel, q*alpha == wq; gradient = clipped STE + the exact path through alpha (finite differences)", () => {
  const w = Float32Array.from([0.3, -0.2, 1.5, -0.1, 0, 0.25, -0.4, 0.05]); // 2 channels x 4, one |w| > 1, one 0
  const g = Float32Array.from([0.5, -1, 2, 0.25, -0.5, 1.5, 0.75, -2]);
  const q = new XnorWeights(2, 4), wq = new Float32Array(8);
  q.forward(w, wq);
  assert.ok(close(q.alpha[0], (0.3 + 0.2 + 1.5 + 0.1) / 4) && close(q.alpha[1], (0 + 0.25 + 0.4 + 0.05) / 4));
  const e = q.export(w);
  assert.equal(Array.from(e.q), [1, -1, 1, -1, 1, 1, -1, 1]); // sign(0) = +1, as the XNOR packer
  for (let i = 0; i < 8; i++) assert.is(e.q[i] * e.scales[i >> 2], wq[i]);
  const gw = new Float32Array(8);
  q.backward(w, g, gw);
  for (let i = 0; i < 8; i++) {
    const c = i >> 2, sg = e.q[i];
    let gb = 0;
    for (let j = c * 4; j < c * 4 + 4; j++) gb += g[j] * e.q[j];
    const hand = (Math.abs(w[i]) <= 1 ? q.alpha[c] * g[i] : 0) + (sg * gb) / 4;
    assert.ok(close(gw[i], hand), `w[${i}]: ${gw[i]} vs ${hand}`);
    // the alpha path is the true derivative: a small step that keeps the sign changes the loss through alpha only
    if (w[i] !== 0) {
      const h = 1e-3, wp = Float32Array.from(w), wm = Float32Array.from(w), a = new Float32Array(8), b = new Float32Array(8);
      wp[i] += h; wm[i] -= h;
      new XnorWeights(2, 4).forward(wp, a); new XnorWeights(2, 4).forward(wm, b);
      const fd = (loss(a, g) - loss(b, g)) / (2 * h);
      assert.ok(close(fd, (sg * gb) / 4, 1e-2), `alpha path of w[${i}]: fd ${fd} vs ${(sg * gb) / 4}`);
    }
  }
});

test("sign activations: +-1 (+1 at 0), ApproxSign gradient 2 - 2|x| inside (-1, 1) = the derivative of Bi-Real's quadratic", () => {
  const x = Float32Array.from([-1.5, -0.75, -0.25, 0, 0.1, 0.5, 0.999, 1, 3]);
  const s = new SignActs(), y = new Float32Array(x.length), gx = new Float32Array(x.length).fill(0.5);
  s.forward(x, y);
  assert.equal(Array.from(y), [-1, -1, -1, 1, 1, 1, 1, 1, 1]);
  const p = new SignActs(true), yp = new Float32Array(4);
  p.forward(Float32Array.from([0, 0.01, 2, 0]), yp); // a ReLU output: 0 is the inactive unit, -1 (SignQb1's x > zero point)
  assert.equal(Array.from(yp), [-1, 1, 1, -1]);
  s.backward(x, Float32Array.from(x, () => 2), gx); // adds into gx
  const F = (v: number) => (v < -1 ? -1 : v < 0 ? 2 * v + v * v : v < 1 ? 2 * v - v * v : 1);
  for (let i = 0; i < x.length; i++) {
    const hand = Math.abs(x[i]) < 1 ? 2 - 2 * Math.abs(x[i]) : 0;
    assert.ok(close(gx[i], 0.5 + 2 * hand), `x=${x[i]}: ${gx[i]}`);
    if (x[i] !== 0 && Math.abs(Math.abs(x[i]) - 1) > 0.01) {
      const fd = (F(x[i] + 1e-4) - F(x[i] - 1e-4)) / 2e-4;
      assert.ok(close(fd, hand, 1e-3), `x=${x[i]}: fd ${fd} vs ${hand}`);
    }
  }
});

test("TWN: delta = 0.7 mean|w|, scale = mean |w| over |w| > delta (by hand); straight-through gradient", () => {
  const w = Float32Array.from([0.1, -0.5, 0.9, -0.05, 0.3, 0]);
  const t = twnThreshold(w);
  assert.ok(close(t.delta, (0.7 * 1.85) / 6) && close(t.scale, (0.5 + 0.9 + 0.3) / 3));
  const q = new TwnWeights(1, 6), wq = new Float32Array(6);
  q.forward(w, wq);
  const e = q.export(w);
  assert.equal(Array.from(e.q), [0, -1, 1, 0, 1, 0]);
  assert.is(e.format, "ternary");
  for (let i = 0; i < 6; i++) assert.is(e.q[i] * e.scales[0], wq[i]);
  const gw = new Float32Array(6), g = Float32Array.from([1, 2, 3, 4, 5, 6]);
  q.backward(w, g, gw);
  assert.equal(Array.from(gw), [1, 2, 3, 4, 5, 6]);
});

test("TTQ: threshold 0.05 max|w|, scale starts at TWN's and its gradient sum t*g matches finite differences; latent gradients scaled", () => {
  const w = Float32Array.from([0.02, -0.5, 0.9, -0.04, 0.3, 0.01, -0.2, 0.6]);
  const q = new TtqWeights(2, 4), wq = new Float32Array(8);
  q.forward(w, wq);
  assert.ok(close(q.delta[0], 0.05 * 0.9) && close(q.delta[1], 0.05 * 0.6));
  assert.ok(close(q.s.data[0], twnThreshold(w, 0, 4).scale) && close(q.s.data[1], twnThreshold(w, 4, 8).scale));
  const e = q.export(w);
  assert.equal(Array.from(e.q), [0, -1, 1, 0, 1, 0, -1, 1]);
  const g = Float32Array.from([0.5, -1, 2, 0.25, -0.5, 1.5, 0.75, -2]), gw = new Float32Array(8);
  q.backward(w, g, gw);
  for (let c = 0; c < 2; c++) {
    const h = 1e-3, s0 = q.s.data[c];
    const at = (s: number) => { q.s.data[c] = s; const y = new Float32Array(8); q.forward(w, y); return loss(y, g); };
    const fd = (at(s0 + h) - at(s0 - h)) / (2 * h);
    q.s.data[c] = s0;
    assert.ok(close(q.s.grad[c], fd, 1e-3), `channel ${c}: ${q.s.grad[c]} vs fd ${fd}`);
  }
  for (let i = 0; i < 8; i++) assert.ok(close(gw[i], e.q[i] === 0 ? g[i] : q.s.data[i >> 2] * g[i]));
});

test("quantization regularizer: gradient = clipped STE + 2 lambda (w - Q(w)), lambda annealed with progress (finite differences of R)", () => {
  const w = Float32Array.from([0.33, -0.71, 0.12, 0.9, -0.05, 0.44]);
  const q = new RegularizedWeights(4, 1, 6), wq = new Float32Array(6);
  q.progress(0.5);
  assert.ok(close(q.lambda, REG_LAMBDA / 2));
  q.forward(w, wq);
  const g = Float32Array.from([1, -1, 0.5, 2, -0.25, 0.1]), gw = new Float32Array(6);
  q.backward(w, g, gw);
  const R = (v: Float32Array) => q.lambda * v.reduce((a, x, i) => a + (x - wq[i]) ** 2, 0); // Q(w) held fixed
  for (const i of [0, 1, 2, 4, 5]) { // w[3], the channel's max |w|, is a grid point (the step is max|w| / 7)
    const wp = Float32Array.from(w), wm = Float32Array.from(w);
    wp[i] += 1e-4; wm[i] -= 1e-4;
    const fd = (R(wp) - R(wm)) / 2e-4;
    assert.ok(close(gw[i] - g[i], fd, 1e-3), `w[${i}]: ${gw[i] - g[i]} vs fd ${fd}`);
    assert.ok(Math.abs(w[i] - wq[i]) > 1e-4, "the test's weights are off the grid");
  }
  q.progress(0);
  const g0 = new Float32Array(6);
  q.backward(w, g, g0);
  for (const i of [0, 1, 2, 4, 5]) assert.is(g0[i], g[i]); // lambda 0: plain clipped STE (inside the range)
});

test("INQ: partition 50/75/87.5/100% at progress 0, 1/4, 1/2, 3/4, largest |w| first; frozen weights stay on the grid, get no gradient", () => {
  assert.equal([0, 0.2, 0.25, 0.49, 0.5, 0.74, 0.75, 1].map(inqFraction), [0.5, 0.5, 0.75, 0.75, 0.875, 0.875, 1, 1]);
  const r = rng(3), N = 2, per = 16;
  const w = Float32Array.from({ length: N * per }, () => r() * 2 - 1);
  const q = new InqWeights(4, N, per), wq = new Float32Array(N * per);
  const counts: number[] = [];
  let prev = new Uint8Array(N * per);
  for (const p of [0, 0.3, 0.6, 0.8]) {
    q.progress(p);
    q.forward(w, wq);
    counts.push(q.frozenCount());
    for (let i = 0; i < prev.length; i++) if (prev[i]) assert.is(q.frozen[i], 1, "a frozen weight stays frozen");
    // frozen = the largest |w| of the layer
    const minFrozen = Math.min(...Array.from(w).filter((_, i) => q.frozen[i]).map(Math.abs));
    const maxFree = Math.max(0, ...Array.from(w).filter((_, i) => !q.frozen[i]).map(Math.abs));
    assert.ok(minFrozen >= maxFree);
    for (let i = 0; i < w.length; i++) {
      if (q.frozen[i]) assert.is(wq[i], Math.fround(q.q[i] * q.steps[Math.floor(i / per)]));
      else assert.is(wq[i], w[i]);
    }
    const gw = new Float32Array(N * per);
    q.backward(w, new Float32Array(N * per).fill(1), gw);
    for (let i = 0; i < w.length; i++) assert.is(gw[i], q.frozen[i] ? 0 : 1);
    // moving the latent weights does not move the frozen ones
    const w2 = Float32Array.from(w, (x) => x * 0.5), y2 = new Float32Array(N * per);
    q.forward(w2, y2);
    for (let i = 0; i < w.length; i++) if (q.frozen[i]) assert.is(y2[i], wq[i]);
    prev = Uint8Array.from(q.frozen);
  }
  assert.equal(counts, [16, 24, 28, 32]);
  const e = q.export(w);
  for (let i = 0; i < w.length; i++) { assert.ok(e.q[i] >= -8 && e.q[i] <= 7); assert.is(Math.fround(e.q[i] * e.scales[Math.floor(i / per)]), wq[i]); }
});

test("method / bit combinations: binary needs xnor with 1-bit weights and activations, ternary methods 2-bit weights (typed errors)", () => {
  const bad: [string, number, number, RegExp][] = [
    ["lsq", 1, 1, /binary layers are trained with --method xnor/],
    ["xnor", 1, 8, /need --weights 1 --acts 1/],
    ["xnor", 2, 1, /need --weights 1 --acts 1/],
    ["xnor", 4, 4, /quantizes weights to 1 bits/],
    ["twn", 4, 8, /quantizes weights to 2 bits, not 4/],
    ["ttq", 8, 4, /is for 2-bit weights/],
    ["inq", 4, 1, /binary layers are trained with --method xnor/],
  ];
  for (const [m, wb, ab, re] of bad) assert.throws(() => checkMethod(m, wb, ab), (e: Error) => e instanceof QwmTrainError && re.test(e.message), `${m} W${wb}A${ab}`);
  for (const [m, wb, ab] of [["xnor", 1, 1], ["twn", 2, 8], ["ttq", 2, 4], ["inq", 4, 4], ["inq", 2, 8], ["reg", 2, 4], ["lsq", 4, 4]] as const) checkMethod(m, wb, ab);
  assert.throws(() => new Net(buildArch("fmnist-bireal", 1), 2, { weightBits: 1, actBits: 1, method: "lsq" }), (e: Error) => e instanceof QwmTrainError);
});

// ---- the export: a small Bi-Real-style net on a toy task --------------------------------------------------------
const PRE = { channelOrder: "gray" as const, resize: "stretch" as const, cropFraction: 1, valueScale: 1 / 255, mean: [0.5], std: [0.25] };
function toyData(n: number, seed: number, noise = 60): Dataset {
  const r = rng(seed);
  const images = [], labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(r() * 3), data = new Uint8Array(64);
    for (let p = 0; p < 64; p++) {
      const h = p >> 3, w = p & 7;
      const hot = c === 0 ? w < 4 : c === 1 ? w >= 4 : h < 4;
      data[p] = Math.max(0, Math.min(255, Math.round((hot ? 170 : 90) + noise * (r() - 0.5))));
    }
    images.push({ data, width: 8, height: 8, channels: 1 as const });
    labels[i] = c;
  }
  return { width: 8, height: 8, channels: 1, images, labels, source: "toy" };
}
function toyBireal(seed: number): TrainGraph {
  const r = rng(seed);
  const randn = (n: number, sd: number) => Float32Array.from({ length: n }, () => sd * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()));
  const conv = (name: string, input: string, cin: number, cout: number, act: Act): Node =>
    ({ op: "conv", name, input, output: name, kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], dilation: [1, 1], groups: 1, outChannels: cout, act, weight: randn(cout * 9 * cin, Math.sqrt(2 / (9 * cin))), bias: new Float32Array(cout) });
  const nodes: TrainGraph["nodes"] = [conv("c1", "input", 1, 8, "none"), { op: "bn", name: "b1", input: "c1", output: "b1", act: "none" }];
  let x = "b1";
  for (const i of [2, 3]) {
    nodes.push(conv(`c${i}`, x, 8, 8, "none"), { op: "bn", name: `b${i}`, input: `c${i}`, output: `b${i}`, act: "none" });
    nodes.push({ op: "add", name: `a${i}`, inputs: [`b${i}`, x], output: `a${i}`, act: "none" });
    x = `a${i}`;
  }
  nodes.push({ op: "gap", name: "gap", input: x, output: "gap" });
  nodes.push({ op: "dense", name: "fc", input: "gap", output: "fc", act: "none", outChannels: 3, weight: randn(24, 0.3), bias: new Float32Array(3) });
  return { input: { name: "input", shape: [8, 8, 1] }, output: "fc", nodes, preprocess: PRE };
}

async function trainedExport(weightBits: number, actBits: number, method: string) {
  // noisy enough that the classes overlap: the argmaxes to agree on are not all obvious
  const train = new ImageSet(toyData(384, 1, 400), [8, 8, 1], PRE);
  const held = new ImageSet(toyData(200, 2, 400), [8, 8, 1], PRE);
  const net = new Net(toyBireal(1), 32, { weightBits, actBits, method });
  let qwm!: Uint8Array;
  await fit(net, train, { epochs: 3, lr: 0.01, optimizer: "adam", weightDecay: 0, schedule: "cosine", seed: 2, onEpoch: (_e, q) => { qwm = q; } });
  const fq = accuracy(net, held);
  const outs = await Promise.all(["simd", "nosimd"].map(async (b) => Array.from((await Runner.create(readBuild(b as "simd"), qwm)).runPixels(held.pixels, held.n))));
  let agree = 0;
  for (let i = 0; i < held.n; i++) {
    const row = outs[0].slice(i * 3, i * 3 + 3);
    if (row.indexOf(Math.max(...row)) === fq.argmax[i]) agree++;
  }
  // the logits themselves: the .qwm's (int8, an affine map of the real ones) correlate with the fake-quantized net's
  const a: number[] = [], b: number[] = [];
  const x = new Float32Array(32 * 64), idx = Int32Array.from({ length: held.n }, (_, i) => i);
  for (let i = 0; i < held.n; i += 32) {
    const B = Math.min(32, held.n - i);
    held.batch(idx, i, B, x);
    net.setInput(x.subarray(0, B * 64));
    const y = net.forward(B, false);
    for (let j = 0; j < B * 3; j++) { a.push(y[j]); b.push(outs[0][i * 3 + j]); }
  }
  const mean = (v: number[]) => v.reduce((s, t) => s + t, 0) / v.length, ma = mean(a), mb = mean(b);
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < a.length; i++) { sab += (a[i] - ma) * (b[i] - mb); saa += (a[i] - ma) ** 2; sbb += (b[i] - mb) ** 2; }
  const logitCorr = sab / Math.sqrt(saa * sbb);
  net.k.dispose();
  if (process.env.BNN_PRINT) console.log(`${method} W${weightBits}A${actBits}: fake-quantized ${fq.accuracy}, agreement ${agree} / ${held.n}, logit correlation ${logitCorr}`);
  return { qwm, fq, outs, agree, n: held.n, logitCorr };
}

test("W1A1 xnor: binary middle layers export to SignQb1 + Conv2dQb1, 8-bit ends; the .qwm agrees with the fake-quantized net (SIMD = no-SIMD)", async () => {
  const r = await trainedExport(1, 1, "xnor");
  assert.ok(r.fq.accuracy >= 0.6, `fake-quantized accuracy ${r.fq.accuracy} (chance 0.33)`);
  const c = readQwm(r.qwm);
  assert.is(c.ops.filter((o) => o.op === Op.SignQb1).length, 2);
  assert.is(c.ops.filter((o) => o.op === Op.Conv2dQb1).length, 2);
  assert.equal(describe(r.qwm).layers.filter((l) => l.weightBits > 0).map((l) => l.weightBits), [8, 1, 1, 8]);
  assert.equal(r.outs[0], r.outs[1]);
  // binary layers amplify the 8-bit rounding of their inputs near the sign threshold (measured: 183 of 200)
  assert.ok(r.agree >= 0.85 * r.n, `the integer .qwm agrees with the fake-quantized net on ${r.agree} of ${r.n}`);
  assert.ok(r.logitCorr >= 0.95, `logit correlation ${r.logitCorr}`);
});

for (const method of ["twn", "ttq", "inq", "reg"]) {
  test(`W2A8 ${method}: ${method === "reg" ? "2-bit" : "ternary"} middle layers on the 2-bit kernels (${method === "reg" ? "[-2, 1]" : "{-1, 0, 1}"}), agreement with the fake-quantized net (SIMD = no-SIMD)`, async () => {
    const r = await trainedExport(2, 8, method);
    assert.ok(r.fq.accuracy >= 0.6, `fake-quantized accuracy ${r.fq.accuracy} (chance 0.33)`);
    const layers = describe(r.qwm).layers.filter((l) => l.weightBits > 0);
    assert.equal(layers.map((l) => l.weightBits), [8, 2, 2, 8]);
    for (const l of layers.slice(1, 3)) assert.match(l.scheme, method === "reg" ? /2-bit|ternary/ : /ternary/);
    assert.equal(r.outs[0], r.outs[1]);
    assert.ok(r.agree >= 0.95 * r.n, `the integer .qwm agrees with the fake-quantized net on ${r.agree} of ${r.n}`);
    assert.ok(r.logitCorr >= 0.99, `logit correlation ${r.logitCorr}`);
  });
}

test("fmnist-bireal: 4 binary block convs under xnor, first conv and last dense 8-bit, sign only on the binary convs' inputs", () => {
  const net = new Net(buildArch("fmnist-bireal", 1), 2, { weightBits: 1, actBits: 1, method: "xnor" });
  assert.equal(net.weightLayers.map((l) => l.wq?.bits ?? 8), [8, 1, 1, 1, 1, 8]);
  assert.is(net.binary.size, 4);
  const n = net.weightLayers.reduce((a, l) => a + l.w.data.length + l.b.data.length, 0);
  assert.is(n, 32 * 9 + 32 + 4 * (32 * 288 + 32) + 10 * 1568 + 10);
  net.setInput(new Float32Array(2 * net.input.size));
  assert.is(net.forward(2, true).length, 20);
  net.k.dispose();
});

test("--bn: batch norms after every conv, set so the float net is unchanged on the init images; the low-bit net's channels get the float statistics", () => {
  const g0 = toyBireal(4);
  // a BN-folded graph: the toy net without its batch norms (each add / gap reads the conv directly)
  const ren = new Map(g0.nodes.filter((n) => n.op === "bn").map((n) => [n.output, (n as { input: string }).input]));
  const folded: TrainGraph = { ...g0, nodes: g0.nodes.filter((n) => n.op !== "bn").map((n) => ("inputs" in n ? { ...n, inputs: n.inputs.map((v) => ren.get(v) ?? v) } : { ...n, input: ren.get(n.input) ?? n.input })) as TrainGraph["nodes"] };
  (folded.nodes[0] as { act: Act }).act = "relu";
  const g = insertBatchNorms(folded);
  assert.is(g.nodes.filter((n) => n.op === "bn").length, 3);
  assert.equal(g.nodes.filter((n) => n.op === "conv").map((n) => (n as { act: Act }).act), ["none", "none", "none"]);
  assert.is((g.nodes.find((n) => n.name === "c1:bn") as { act: Act }).act, "relu");
  const data = new ImageSet(toyData(32, 5), [8, 8, 1], PRE);
  const x = new Float32Array(32 * 64);
  data.batch(Int32Array.from({ length: 32 }, (_, i) => i), 0, 32, x);
  const ref = new Net(folded, 32);
  ref.setInput(x);
  const y0 = ref.forward(32, false);
  const f = new Net(g, 32);
  initBatchNorms(f, folded, data, 32);
  f.setInput(x);
  const y1 = f.forward(32, false);
  for (let i = 0; i < y0.length; i++) assert.ok(Math.abs(y0[i] - y1[i]) <= 1e-3 * (1 + Math.abs(y0[i])), `logit ${i}: ${y0[i]} vs ${y1[i]}`);
  // ternary: after each batch norm, the channel's mean / std over the images are the float net's
  const t = new Net(g, 32, { weightBits: 2, actBits: 8, method: "twn" });
  initBatchNorms(t, folded, data, 32);
  t.setInput(x);
  t.forward(32, false);
  for (const v of ["c2", "c3"]) {
    const a = t.k.f32(t.vals.get(v)!.y, 32 * 64 * 8), b = f.k.f32(f.vals.get(v)!.y, 32 * 64 * 8);
    for (let c = 0; c < 8; c++) {
      let ma = 0, mb = 0, va = 0, vb = 0;
      for (let i = c; i < a.length; i += 8) { ma += a[i]; mb += b[i]; va += a[i] * a[i]; vb += b[i] * b[i]; }
      const n = a.length / 8;
      ma /= n; mb /= n;
      assert.ok(Math.abs(ma - mb) <= 1e-3 * (1 + Math.abs(mb)), `${v}[${c}] mean ${ma} vs ${mb}`);
      assert.ok(Math.abs(Math.sqrt(va / n - ma * ma) - Math.sqrt(vb / n - mb * mb)) <= 1e-3 * (1 + Math.sqrt(vb / n)), `${v}[${c}] std`);
    }
  }
  for (const n of [ref, f, t]) n.k.dispose();
});

// ---- the CLI ------------------------------------------------------------------------------------------------------
const qwasm = (...args: string[]) => {
  const r = spawnSync(process.execPath, [join(ROOT, "bin/qwasm.mjs"), ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, QWASM_DEBUG: "" } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const FM_TRAIN = "models/data/fashion-train256-images-idx3-ubyte.gz";

test("qwasm train: --method xnor / twn / ttq / inq / reg parse; bad bit combinations are one clear line and exit 2", () => {
  const out = join(mkdtempSync(join(tmpdir(), "qwasm-bnn-")), "x.qwm");
  const base = ["train", "--arch", "fmnist-bireal", "--data", FM_TRAIN, "--out", out];
  const cases: [string[], RegExp][] = [
    [["--method", "lsq", "--weights", "1", "--acts", "1"], /binary layers are trained with --method xnor/],
    [["--method", "xnor", "--weights", "1", "--acts", "4"], /need --weights 1 --acts 1/],
    [["--method", "xnor", "--weights", "2"], /need --weights 1 --acts 1/],
    [["--method", "twn", "--weights", "4"], /quantizes weights to 2 bits, not 4/],
    [["--method", "ttq", "--weights", "8", "--acts", "8"], /is for 2-bit weights/],
    [["--method", "twn", "--weights", "5"], /--weights must be 32 \(float\), 8, 4, 2 or 1/],
  ];
  for (const [args, re] of cases) {
    const r = qwasm(...base, ...args);
    assert.is(r.code, 2, `${args.join(" ")}: exit ${r.code} ${r.err}`);
    assert.match(r.err, re);
    assert.is(r.err.trim().split("\n").length, 1, r.err);
  }
  // the method's own bits are the defaults: xnor trains W1A1
  const r = qwasm(...base, "--method", "xnor", "--limit", "64", "--epochs", "1", "--batch", "32", "--json");
  assert.is(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.is(j.weights, 1);
  assert.is(j.acts, 1);
  assert.equal(j.layers.map((l: { weightBits: number }) => l.weightBits), [8, 1, 1, 1, 1, 8]);
  // --bn: finetune only
  const b = qwasm(...base, "--method", "twn", "--bn");
  assert.is(b.code, 2);
  assert.match(b.err, /--bn re-inserts batch norms into a BN-folded model for finetune/);
  const f = qwasm("finetune", "models/fashion_mnist_dsres.onnx", "--data", FM_TRAIN, "--out", out, "--method", "twn", "--acts", "8", "--bn",
    "--limit", "64", "--epochs", "1", "--batch", "32", "--json");
  assert.is(f.code, 0, f.err);
  const jf = JSON.parse(f.out);
  assert.match(jf.provenance.batch_norm, /re-inserted after every conv/);
  assert.ok(jf.layers.some((l: { weightBits: number }) => l.weightBits === 2));
});

test.run();
