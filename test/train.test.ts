// Quantization-aware training (src/train/, issue #12): every layer's backward against central finite differences,
// the quantizers' defined gradients (LSQ step, PACT alpha) against hand computation, optimizer steps and
// schedules against hand computation, a tiny network that learns a toy task, and the export: the .qwm on the
// integer kernels agrees with the fake-quantized net, identically in the SIMD and no-SIMD builds.
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Act, Node } from "../src/ir/graph.ts";
import { Runner } from "../src/engine/runner.ts";
import { describe } from "../src/api.ts";
import { readBuild } from "../src/wasm/module.ts";
import { Op } from "../assembly/runtime/schema.ts";
import { accuracy, fit, ImageSet, Net, QwmTrainError, type TrainGraph } from "../src/train/node.ts";
import { buildArch } from "../src/train/archs.ts";
import { softmaxCrossEntropy } from "../src/train/layers.ts";
import { Adam, learningRate, Sgd } from "../src/train/optim.ts";
import { LsqActs, LsqWeights } from "../src/train/quantizers/lsq.ts";
import { PactActs, DorefaWeights } from "../src/train/quantizers/dorefa.ts";
import { fakeQuant, fakeQuantGrad, param } from "../src/train/quantizers/types.ts";
import { rng } from "../src/train/data.ts";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./helpers/tools.ts";
import { toyData, toyNet } from "./helpers/train-toy.ts";

const PRE = { channelOrder: "rgb" as const, resize: "stretch" as const, cropFraction: 1, valueScale: 1 / 255, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] };
const win = (k: number, s = 1, p = 0) => ({ kernel: [k, k] as [number, number], stride: [s, s] as [number, number], pads: [p, p, p, p] as [number, number, number, number], dilation: [1, 1] as [number, number] });

function randn(r: () => number, n: number, sd = 1): Float32Array {
  return Float32Array.from({ length: n }, () => sd * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()));
}
function conv(r: () => number, name: string, input: string, cin: number, cout: number, k: number, s: number, p: number, act: Act, groups = 1): Node {
  const per = k * k * (groups === 1 ? cin : 1);
  return { op: "conv", name, input, output: name, ...win(k, s, p), groups, outChannels: cout, act, weight: randn(r, cout * per, Math.sqrt(2 / per)), bias: randn(r, cout, 0.1) };
}
function graph(shape: [number, number, number], nodes: TrainGraph["nodes"], output: string): TrainGraph {
  return { input: { name: "input", shape }, output, nodes, preprocess: { ...PRE, mean: PRE.mean.slice(0, shape[2]), std: PRE.std.slice(0, shape[2]) } };
}

/**
 * Checks dL/dparams and dL/dinput of L = sum(y * R) against central differences on up to `samples` entries of each.
 * Inputs are random normal; `train` picks the batch-norm mode.
 */
function gradCheck(name: string, g: TrainGraph, B = 2, samples = 12, seed = 1) {
  test(`gradient of ${name} matches finite differences`, () => {
    const r = rng(seed);
    const net = new Net(g, B);
    for (const v of [net.input, ...net.vals.values()]) if (v.y.off === net.input.y.off) v.noGrad = false;
    const x = randn(r, B * net.input.size);
    const R = randn(r, B * net.output.size);
    const loss = () => {
      net.setInput(x);
      const y = net.forward(B, true);
      let L = 0;
      for (let i = 0; i < y.length; i++) L += y[i] * R[i];
      return L;
    };
    loss();
    net.backward(B, R);
    const dx = Float32Array.from(net.k.f32(net.input.dy, B * net.input.size));
    const check = (what: string, data: Float32Array, grad: ArrayLike<number>, set: () => void) => {
      const eps = 1e-3;
      for (let s = 0; s < Math.min(samples, data.length); s++) {
        const i = Math.floor(r() * data.length);
        const v = data[i];
        data[i] = v + eps; set(); const lp = loss();
        data[i] = v - eps; set(); const lm = loss();
        data[i] = v; set();
        const num = (lp - lm) / (2 * eps);
        const tol = 5e-3 + 2e-2 * Math.max(Math.abs(num), Math.abs(grad[i]));
        assert.ok(Math.abs(num - grad[i]) <= tol, `${name}: d/d${what}[${i}] = ${grad[i]}, finite difference ${num}`);
      }
    };
    for (const p of net.params()) check(p.name, p.data, Float32Array.from(p.grad), () => {});
    check("input", x, dx, () => {});
  });
}

{
  const r = rng(7);
  gradCheck("conv 3x3 stride 2 pad 1 + ReLU (GEMM, im2col / col2im)", graph([6, 6, 3], [conv(r, "c", "input", 3, 5, 3, 2, 1, "relu")], "c"));
  gradCheck("conv 1x1 (direct GEMM) + ReLU6", graph([4, 4, 8], [conv(r, "c", "input", 8, 6, 1, 1, 0, "relu6")], "c"));
  gradCheck("depthwise conv 3x3 pad 1", graph([5, 5, 4], [conv(r, "dw", "input", 4, 4, 3, 1, 1, "none", 4)], "dw"));
  gradCheck("dense (over a flattened 3x3x4 input)", graph([3, 3, 4], [
    { op: "flatten", name: "f", input: "input", output: "f" },
    { op: "dense", name: "fc", input: "f", output: "fc", act: "none", outChannels: 7, weight: randn(r, 7 * 36, 0.3), bias: randn(r, 7, 0.1) },
  ], "fc"));
  gradCheck("batch norm (batch statistics) + ReLU", graph([3, 3, 4], [
    conv(r, "c", "input", 4, 4, 1, 1, 0, "none"), { op: "bn", name: "bn", input: "c", output: "bn", act: "relu" },
  ], "bn"), 3);
  gradCheck("max pool 2x2, average pool 3x3 pad 1 stride 2, global average pool", graph([6, 6, 3], [
    { op: "maxpool", name: "mp", input: "input", output: "mp", ...win(2, 2) },
    { op: "avgpool", name: "ap", input: "input", output: "ap", ...win(3, 2, 1) },
    { op: "add", name: "a", inputs: ["mp", "ap"], output: "a", act: "none" },
    { op: "gap", name: "gap", input: "a", output: "gap" },
  ], "gap"));
  gradCheck("residual add + ReLU (a value read twice), ReLU6 node", graph([4, 4, 3], [
    conv(r, "c1", "input", 3, 3, 3, 1, 1, "none"),
    { op: "add", name: "a", inputs: ["input", "c1"], output: "a", act: "relu" },
    { op: "act", name: "r6", input: "a", output: "r6", kind: "clip", alpha: 0, beta: 6 },
  ], "r6"));
}

test("softmax cross-entropy: loss and gradient against finite differences", () => {
  const r = rng(3);
  const z = randn(r, 3 * 5, 2), labels = [1, 4, 0], g = new Float32Array(15);
  const { loss } = softmaxCrossEntropy(z, labels, 3, 5, g);
  let ref = 0;
  for (let n = 0; n < 3; n++) {
    const row = Array.from(z.subarray(n * 5, n * 5 + 5));
    ref += Math.log(row.reduce((a, v) => a + Math.exp(v), 0)) - row[labels[n]];
  }
  assert.ok(Math.abs(loss - ref / 3) < 1e-6);
  for (let i = 0; i < 15; i++) {
    const v = z[i], e = 1e-3;
    z[i] = v + e; const lp = softmaxCrossEntropy(z, labels, 3, 5).loss;
    z[i] = v - e; const lm = softmaxCrossEntropy(z, labels, 3, 5).loss;
    z[i] = v;
    assert.ok(Math.abs((lp - lm) / (2 * e) - g[i]) < 1e-3, `dlogit ${i}`);
  }
});

test("LSQ: forward on the grid, input gradient and step gradient (with g = 1/sqrt(N Qp)) as defined", () => {
  // 2-bit weights: Qn = 2, Qp = 1; one channel of 4, step 0.5
  const q = new LsqWeights(2, 1, 4);
  const w = Float32Array.of(0.3, -0.8, 2.0, -1.6);
  const wq = new Float32Array(4);
  q.forward(w, wq); // initializes s = 2 mean|w| / sqrt(Qp) = 2.35
  q.s.data[0] = 0.5;
  q.forward(w, wq);
  // v = 0.6, -1.6, 4, -3.2 -> round 1, -2, clamp 1, clamp -2
  assert.equal(Array.from(wq), [0.5, -1, 0.5, -1]);
  const g = Float32Array.of(1, 2, 3, 4), gw = new Float32Array(4);
  q.backward(w, g, gw);
  assert.equal(Array.from(gw), [1, 2, 0, 0]); // straight through inside (-Qn, Qp) only
  const ds = ((1 - 0.6) * 1 + (-2 - -1.6) * 2 + 1 * 3 + -2 * 4) / Math.sqrt(4 * 1);
  assert.ok(Math.abs(q.s.grad[0] - ds) < 1e-6, `ds ${q.s.grad[0]} vs ${ds}`);
  const ex = q.export(w);
  assert.equal(Array.from(ex.q), [1, -2, 1, -2]);
  assert.equal(Array.from(ex.q, (v) => v * ex.scales[0]), Array.from(wq));
  // 4-bit unsigned activations: Qp = 15, step 0.25; values below 0 clamp to 0 and add nothing to ds
  const a = new LsqActs(4);
  const x = Float32Array.of(-1, 0.3, 1.0, 5.0), y = new Float32Array(4);
  a.forward(x, y, 4, true);
  a.s.data[0] = 0.25;
  a.forward(x, y, 4, false);
  assert.equal(Array.from(y), [0, 0.25, 1, 3.75]);
  const gx = new Float32Array(4);
  a.backward(x, Float32Array.of(1, 1, 1, 1), gx);
  assert.equal(Array.from(gx), [0, 1, 1, 0]);
  const dsa = ((1 - 1.2) + (4 - 4) + 15) / Math.sqrt(4 * 15);
  assert.ok(Math.abs(a.s.grad[0] - dsa) < 1e-5, `ds ${a.s.grad[0]} vs ${dsa}`);
});

test("PACT: clipping at alpha, dL/dalpha = sum of the gradient where x >= alpha; DoReFa weights on the signed grid", () => {
  const p = new PactActs(2); // Qp = 3
  const x = Float32Array.of(-0.5, 0.4, 1.4, 2.0, 7), y = new Float32Array(5);
  p.forward(x, y, 5, true);
  p.alpha.data[0] = 1.5; // step 0.5
  p.forward(x, y, 5, false);
  assert.equal(Array.from(y), [0, 0.5, 1.5, 1.5, 1.5]);
  const gx = new Float32Array(5);
  p.backward(x, Float32Array.of(1, 2, 3, 4, 5), gx);
  assert.equal(Array.from(gx), [0, 2, 3, 0, 0]);
  assert.is(p.alpha.grad[0], 9);
  const d = new DorefaWeights(4, 2, 3);
  const w = Float32Array.of(0.1, -0.5, 0.25, 2, -1, 0), wq = new Float32Array(6);
  d.forward(w, wq);
  const ex = d.export(w);
  assert.ok(ex.q.every((v) => v >= -7 && v <= 7));
  assert.equal(Array.from(ex.q, (v, i) => Math.fround(v * ex.scales[Math.floor(i / 3)])), Array.from(wq));
  assert.equal(ex.q[1], -7); // the channel's largest |w| maps to the end of the grid
});

test("fake quantization on the wasm kernels equals the TypeScript reference", () => {
  const net = new Net(graph([2, 2, 1], [conv(rng(1), "c", "input", 1, 1, 1, 1, 0, "relu")], "c"), 1);
  const n = 1037, r = rng(5);
  const buf = net.k.alloc(4 * n);
  const all = net.k.f32(buf);
  const [x, y, gy, gx] = [0, 1, 2, 3].map((i) => all.subarray(i * n, (i + 1) * n));
  x.set(randn(r, n, 3)); gy.set(randn(r, n));
  const xs = Float32Array.from(x), gys = Float32Array.from(gy), ys = new Float32Array(n), gxs = new Float32Array(n);
  fakeQuant(x, y, 0.37, 0, 15);
  fakeQuant(xs, ys, 0.37, 0, 15);
  assert.equal(Array.from(y), Array.from(ys));
  const a = fakeQuantGrad(x, gy, gx, 0.37, -8, 7, false), b = fakeQuantGrad(xs, gys, gxs, 0.37, -8, 7, false);
  assert.equal(Array.from(gx), Array.from(gxs));
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-3 * (1 + Math.abs(b[i])), `sum ${i}: ${a[i]} vs ${b[i]}`);
  net.k.dispose();
});

test("SGD with momentum and Adam: steps as computed by hand; weight decay only where it applies", () => {
  const w = param("w", Float32Array.of(1, -2), true), b = param("b", Float32Array.of(0.5));
  const sgd = new Sgd(0.9, 0.1);
  w.grad.set([0.5, 1]); b.grad.set([2]);
  sgd.step([w, b], 0.1); // v = g + 0.1 w = [0.6, 0.8]; b: v = 2
  assert.ok(Math.abs(w.data[0] - (1 - 0.06)) < 1e-6 && Math.abs(w.data[1] - (-2 - 0.08)) < 1e-6 && Math.abs(b.data[0] - 0.3) < 1e-6);
  sgd.step([w, b], 0.1); // v = 0.9 v + g + 0.1 w
  const v0 = 0.9 * 0.6 + 0.5 + 0.1 * 0.94;
  assert.ok(Math.abs(w.data[0] - (0.94 - 0.1 * v0)) < 1e-6);
  assert.ok(Math.abs(b.data[0] - (0.3 - 0.1 * (0.9 * 2 + 2))) < 1e-6);
  const p = param("p", Float32Array.of(1, 1));
  const adam = new Adam();
  p.grad.set([0.3, -4]);
  adam.step([p], 0.01); // first step: m/c1 = g, v/c2 = g^2 -> w -= lr g / (|g| + eps)
  assert.ok(Math.abs(p.data[0] - 0.99) < 1e-6 && Math.abs(p.data[1] - 1.01) < 1e-6);
  p.grad.set([0.3, -4]);
  adam.step([p], 0.01);
  assert.ok(Math.abs(p.data[0] - 0.98) < 1e-6, `${p.data[0]}`);
});

test("cosine and one-cycle schedules", () => {
  assert.is(learningRate("cosine", 0.1, 0, 100), 0.1);
  assert.ok(Math.abs(learningRate("cosine", 0.1, 50, 100) - 0.05) < 1e-12);
  assert.ok(Math.abs(learningRate("onecycle", 0.1, 0, 100) - 0.004) < 1e-12);
  assert.ok(Math.abs(learningRate("onecycle", 0.1, 30, 100) - 0.1) < 1e-12);
  assert.ok(Math.abs(learningRate("onecycle", 0.1, 99, 100) - 0.004 / 1e4) < 1e-12);
  assert.ok(learningRate("onecycle", 0.1, 60, 100) < 0.1 && learningRate("onecycle", 0.1, 15, 100) < 0.1);
});

// The toy task and net (8x8 gray images, 3 classes): test/helpers/train-toy.ts, shared with train-browser.test.ts.

test("a tiny network learns a toy task (fp32, Adam, one-cycle) and its float .qwm gives the same argmaxes", async () => {
  const train = new ImageSet(toyData(384, 1), [8, 8, 1], toyNet(1).preprocess);
  const held = new ImageSet(toyData(200, 2), [8, 8, 1], toyNet(1).preprocess);
  const net = new Net(toyNet(1), 32);
  const before = accuracy(net, held).accuracy;
  let qwm!: Uint8Array;
  await fit(net, train, { epochs: 4, lr: 0.02, optimizer: "adam", weightDecay: 0, schedule: "onecycle", seed: 1, onEpoch: (_e, q) => { qwm = q; } });
  const after = accuracy(net, held);
  assert.ok(after.accuracy >= 0.95 && after.accuracy > before, `accuracy ${before} -> ${after.accuracy}`);
  const run = await Runner.create(readBuild("simd"), qwm);
  const px = held.pixels;
  const y = run.runPixels(px, held.n) as Float32Array;
  let agree = 0;
  for (let i = 0; i < held.n; i++) {
    const row = Array.from(y.subarray(i * 3, i * 3 + 3));
    if (row.indexOf(Math.max(...row)) === after.argmax[i]) agree++;
  }
  assert.ok(agree >= held.n - 1, `float .qwm agrees with the engine on ${agree} of ${held.n}`);
  // batch norm folded at export: the float program's logits are the engine's (inference mode) up to f32 rounding
  const x = new Float32Array(32 * 64);
  held.batch(Int32Array.from({ length: 32 }, (_, i) => i), 0, 32, x);
  net.setInput(x);
  const ref = net.forward(32, false);
  let worst = 0;
  for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(ref[i] - y[i]) / (1 + Math.abs(ref[i])));
  assert.ok(worst < 1e-4, `folded float .qwm differs from the engine by ${worst}`);
});

for (const method of ["lsq", "pact", "dorefa", "ste-clip"]) {
  test(`W4A4 ${method}: trains, exports 4-bit middle layers / 8-bit ends, the .qwm agrees with the fake-quantized net (SIMD = no-SIMD)`, async () => {
    const train = new ImageSet(toyData(384, 1), [8, 8, 1], toyNet(1).preprocess);
    const held = new ImageSet(toyData(200, 2), [8, 8, 1], toyNet(1).preprocess);
    const net = new Net(toyNet(1), 32, { weightBits: 4, actBits: 4, method });
    let qwm!: Uint8Array;
    await fit(net, train, { epochs: 3, lr: method === "dorefa" ? 0.01 : 0.02, optimizer: "adam", weightDecay: 1e-4, schedule: "cosine", seed: 2, onEpoch: (_e, q) => { qwm = q; } });
    const fq = accuracy(net, held);
    assert.ok(fq.accuracy >= 0.9, `fake-quantized accuracy ${fq.accuracy}`);
    const info = describe(qwm);
    assert.equal(info.layers.filter((l) => l.weightBits > 0).map((l) => l.weightBits), [8, 4, 4, 8]);
    const outs = await Promise.all(["simd", "nosimd"].map(async (b) => Array.from((await Runner.create(readBuild(b as "simd"), qwm)).runPixels(held.pixels, held.n))));
    assert.equal(outs[0], outs[1]);
    let agree = 0;
    for (let i = 0; i < held.n; i++) {
      const row = outs[0].slice(i * 3, i * 3 + 3);
      if (row.indexOf(Math.max(...row)) === fq.argmax[i]) agree++;
    }
    assert.ok(agree >= 0.95 * held.n, `the integer .qwm agrees with the fake-quantized net on ${agree} of ${held.n}`);
  });
}

test("A-bit activations are int8 tensors on 2^A levels in the exported program", async () => {
  const train = new ImageSet(toyData(64, 1), [8, 8, 1], toyNet(1).preprocess);
  const net = new Net(toyNet(1), 32, { weightBits: 4, actBits: 2, method: "lsq" });
  let qwm!: Uint8Array;
  await fit(net, train, { epochs: 1, lr: 0.01, optimizer: "sgd", weightDecay: 0, schedule: "cosine", seed: 1, onEpoch: (_e, q) => { qwm = q; } });
  const c = describe(qwm).contents;
  // the three convs with ReLU (first at 8-bit weights, two at 4) and the residual add (ReLU) clamp their int8
  // outputs to [-128, -128 + 3]
  const clamped = c.ops.filter((o) => o.op === Op.AddQs8 || o.op === Op.Conv2dQs4 || o.op === Op.Conv2dQs8);
  assert.equal(clamped.map((o) => o.op), [Op.Conv2dQs8, Op.Conv2dQs4, Op.Conv2dQs4, Op.AddQs8]);
  for (const o of clamped) {
    assert.equal(o.params.slice(-2), [-128, -125]);
    assert.is(c.tensors[o.output].zeroPoint, -128);
  }
});

test("bad input: typed errors", () => {
  const g = toyNet(1);
  assert.throws(() => new Net(g, 4, { weightBits: 5, actBits: 4, method: "lsq" }), (e: Error) => e instanceof QwmTrainError && /5-bit/.test(e.message));
  assert.throws(() => new Net(g, 4, { weightBits: 4, actBits: 4, method: "nope" }), /unknown --method 'nope'/);
  const sig = { ...g, nodes: [...g.nodes.slice(0, 1), { op: "act", name: "s", input: "c1", output: "s", kind: "sigmoid", alpha: 0, beta: 0 } as Node] , output: "s" };
  assert.throws(() => new Net(sig, 4), (e: Error) => e instanceof QwmTrainError && /sigmoid/.test(e.message));
  assert.throws(() => buildArch("nope", 1), (e: Error) => e instanceof QwmTrainError && /fmnist-cnn/.test(e.message));
});

test("built-in architectures build, run and have the documented sizes", () => {
  for (const [name, params] of [["fmnist-cnn", 23_946], ["cifar-resnet20", 272_474]] as const) {
    const net = new Net(buildArch(name, 1), 2);
    const n = net.weightLayers.reduce((a, l) => a + l.w.data.length + l.b.data.length, 0);
    assert.ok(Math.abs(n - params) / params < 0.01, `${name}: ${n} conv/dense parameters`);
    net.setInput(new Float32Array(2 * net.input.size));
    assert.is(net.forward(2, true).length, 20);
    net.k.dispose();
  }
});

// ---- the CLI: qwasm train / qwasm finetune ----------------------------------------------------------------------
const qwasm = (...args: string[]) => {
  const r = spawnSync(process.execPath, [join(ROOT, "bin/qwasm.mjs"), ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, QWASM_DEBUG: "" } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const tmp = mkdtempSync(join(tmpdir(), "qwasm-train-"));
const FM_TRAIN = "models/data/fashion-train256-images-idx3-ubyte.gz", FM_TEST = "models/data/fashion-t10k1000-images-idx3-ubyte.gz";

test("qwasm train --json: per-epoch test accuracy of the exported .qwm, which qwasm eval reproduces", () => {
  const out = join(tmp, "fm.qwm");
  const r = qwasm("train", "--arch", "fmnist-cnn", "--data", FM_TRAIN, "--test", FM_TEST, "--test-limit", "200", "--epochs", "2", "--batch", "32",
    "--weights", "4", "--acts", "4", "--method", "pact", "--out", out, "--json");
  assert.is(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.is(j.epochs.length, 2);
  assert.is(j.first_last_bits, 8);
  assert.equal(j.layers.map((l: { weightBits: number }) => l.weightBits), [8, 4, 4, 8]);
  assert.match(j.provenance.weights, /first conv and last layer 8-bit/);
  const e = qwasm("eval", out, "--data", FM_TEST, "--limit", "200", "--json");
  assert.is(e.code, 0, e.err);
  assert.is(JSON.parse(e.out).accuracy, j.epochs[1].test.accuracy);
  assert.ok(existsSync(out));
});

test("qwasm finetune / train: user mistakes are one clear line and a non-zero exit", () => {
  const out = join(tmp, "x.qwm");
  const cases: [string[], RegExp][] = [
    [["finetune", "--data", FM_TRAIN, "--out", out], /finetune needs a MODEL\.onnx/],
    [["finetune", "models/fashion_mnist_dsres.onnx", "--out", out], /needs --data/],
    [["finetune", "models/fashion_mnist_dsres.onnx", "--data", FM_TRAIN], /needs --out/],
    [["finetune", "models/fashion_mnist_dsres.onnx", "--data", FM_TRAIN, "--out", out, "--method", "magic"], /--method must be lsq, pact, dorefa, ste, ste-clip/],
    [["finetune", "models/fashion_mnist_dsres.onnx", "--data", FM_TRAIN, "--out", out, "--weights", "3"], /--weights must be 32 \(float\), 8, 4, 2 or 1/],
    [["finetune", "models/fashion_mnist_dsres.onnx", "--data", FM_TRAIN, "--out", out, "--weights", "32", "--acts", "4"], /goes with --acts 32/],
    [["finetune", "models/fashion_mnist_dsres.onnx", "--data", FM_TRAIN, "--out", "models/fashion_mnist_dsres.onnx"], /should be a \.qwm file/],
    [["finetune", "models/fashion_mnist_dsres.onnx", "--data", FM_TRAIN, "--out", out, "--lr", "-1"], /--lr must be a positive number/],
    [["train", "--arch", "alexnet", "--data", FM_TRAIN, "--out", out], /built in are fmnist-cnn, cifar-resnet20/],
    [["train", "--data", FM_TRAIN, "--out", out], /train needs --arch/],
    [["train", "--arch", "fmnist-cnn", "--data", FM_TRAIN, "--out", out, "--optimizer", "rmsprop"], /--optimizer must be sgd or adam/],
    [["train", "--arch", "fmnist-cnn", "--data", FM_TRAIN, "--out", out, "--bogus", "1"], /unknown option --bogus/],
  ];
  for (const [args, re] of cases) {
    const r = qwasm(...args);
    assert.is(r.code, 2, `${args.join(" ")}: exit ${r.code} ${r.err}`);
    assert.match(r.err, re);
    assert.is(r.err.trim().split("\n").length, 1, r.err);
  }
});

test.run();
