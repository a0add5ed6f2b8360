// The qwasm CLI as a user runs it (bin/qwasm.mjs): every command, --json contracts, and one-line errors.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, testIf } from "./helpers/tools.ts";

const qwasm = (...args: string[]) => {
  const r = spawnSync(process.execPath, [join(ROOT, "bin/qwasm.mjs"), ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, QWASM_DEBUG: "" } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const tmp = mkdtempSync(join(tmpdir(), "qwasm-cli-"));
const MODEL = "models/fashion_mnist_dsres.onnx";
const CALIB = "models/data/fashion-train256-images-idx3-ubyte.gz";
const TEST = "models/data/fashion-t10k1000-images-idx3-ubyte.gz";
const PRE = ["--mean", "0.286", "--std", "0.353"];
const qwm = join(tmp, "f.qwm");

test("--version and --help", () => {
  const v = qwasm("--version");
  assert.is(v.code, 0);
  assert.match(v.out, /^\d+\.\d+\.\d+\n$/);
  const h = qwasm("--help");
  assert.is(h.code, 0);
  for (const c of ["quantize", "eval", "inspect", "classify", "bench"]) assert.ok(h.out.includes(`qwasm ${c}`), c);
});

test("user mistakes: one clear line on stderr, non-zero exit, no stack trace", () => {
  const cases: [string[], RegExp][] = [
    [["frobnicate"], /unknown command 'frobnicate'/],
    [["eval", "nope.qwm", "--data", TEST], /cannot read model 'nope.qwm'/],
    [["eval", "x.txt", "--data", TEST], /should be a \.qwm or \.onnx file/],
    [["eval", MODEL], /eval needs --data/],
    [["quantize", MODEL, "--calib", CALIB], /quantize needs --out/],
    [["quantize", MODEL, "--out", qwm, "--calibration", "magic", "--calib", CALIB], /--calibration must be/],
    [["quantize", MODEL, "--out", qwm], /no quantization \(not a QDQ model\)/],
    [["quantize", MODEL, "--out", qwm, "--calib", "missing-dir"], /does not exist/],
    [["quantize", MODEL, "--out", qwm, "--calib", CALIB, "--calib-size", "-3"], /--calib-size must be an integer/],
    [["eval", MODEL, "--data", TEST, "--mean", "0.5"], /--mean and --std go together/],
    [["eval", MODEL, "--data", TEST, "--bogus", "1"], /unknown option --bogus/],
    [["inspect", "README.md"], /should be a \.qwm file/],
    [["eval", MODEL, "--limit"], /--limit needs a value/],
  ];
  for (const [args, re] of cases) {
    const r = qwasm(...args);
    assert.ok(r.code !== 0, `${args.join(" ")}: exit ${r.code}`);
    assert.match(r.err, re, `${args.join(" ")}: ${r.err}`);
    assert.is(r.err.trim().split("\n").length, 1, `${args.join(" ")}: more than one line: ${r.err}`);
    assert.ok(!/\n\s+at /.test(r.err), "stack trace");
  }
  // a corrupted .qwm is refused with the section and field named
  const bad = join(tmp, "bad.qwm");
  writeFileSync(bad, new Uint8Array(64));
  const r = qwasm("inspect", bad);
  assert.is(r.code, 1);
  assert.match(r.err, /^qwasm: .*(magic|Magic)/);
});

test("quantize (auto calibration), then eval --json with every key, on the bundled model", () => {
  const q = qwasm("quantize", MODEL, "--calib", CALIB, "--out", qwm, ...PRE, "--labels", "models/fashion_mnist_labels.txt", "--json");
  assert.is(q.code, 0, q.err);
  const qj = JSON.parse(q.out);
  assert.ok(["minmax", "percentile", "mse", "kl"].includes(qj.method));
  assert.is(qj.calibration_images, 256);
  assert.ok(existsSync(qwm));
  const e = qwasm("eval", qwm, "--data", TEST, "--json");
  assert.is(e.code, 0, e.err);
  const lines = e.out.trim().split("\n");
  assert.is(lines.length, 1, "exactly one JSON object on stdout");
  const r = JSON.parse(lines[0]);
  for (const k of ["accuracy", "top5", "n", "model_bytes", "weight_bytes", "compression_ratio", "peak_arena_bytes", "macs", "bops", "ms_per_image"]) {
    assert.type(r[k], "number", k);
  }
  assert.is(r.n, 1000);
  assert.ok(r.accuracy > 0.8 && r.top5 >= r.accuracy, `accuracy ${r.accuracy}`);
  assert.is(r.model_bytes, readFileSync(qwm).length);
  assert.ok(r.compression_ratio > 3.5 && r.compression_ratio < 4, `ratio ${r.compression_ratio}`);
  assert.is(r.bops, r.macs * 64);
  const f = JSON.parse(qwasm("eval", MODEL, "--data", TEST, "--json", ...PRE).out);
  assert.ok(Math.abs(f.accuracy - r.accuracy) < 0.02, `fp32 ${f.accuracy} vs int8 ${r.accuracy}`);
  assert.is(f.bops, f.macs * 1024);
  // --limit
  assert.is(JSON.parse(qwasm("eval", qwm, "--data", TEST, "--json", "--limit", "10").out).n, 10);
});

test("the same quantization twice gives the same bytes", () => {
  const again = join(tmp, "g.qwm");
  assert.is(qwasm("quantize", MODEL, "--calib", CALIB, "--out", again, ...PRE, "--labels", "models/fashion_mnist_labels.txt").code, 0);
  assert.equal(readFileSync(again), readFileSync(qwm));
});

test("inspect, classify, bench", () => {
  const i = JSON.parse(qwasm("inspect", qwm, "--json").out);
  assert.equal(i.input, [28, 28, 1]);
  assert.is(i.labels[9], "Ankle boot");
  assert.ok(i.layers.some((l: any) => l.op === "DwConv2dQs8"), "depthwise layer");
  assert.ok(i.layers.every((l: any) => !l.weightBits || l.weightBits === 8));
  const text = qwasm("inspect", qwm).out;
  assert.match(text, /Conv2dQs8/);
  const c = qwasm("classify", qwm, "models/samples/01_trouser_0002.png", "models/samples/08_bag_0018.png", "--top", "3", "--json");
  assert.is(c.code, 0, c.err);
  const cj = JSON.parse(c.out);
  assert.is(cj.results.length, 2);
  assert.is(cj.results[0].top.length, 3);
  assert.is(cj.results[0].top[0].label, "Trouser");
  assert.is(cj.results[1].top[0].label, "Bag");
  const b = JSON.parse(qwasm("bench", qwm, "--batch", "8", "--json", "--iterations", "5").out);
  assert.type(b.b1_ms_median, "number");
  assert.type(b.img_s, "number");
  assert.is(b.batch, 8);
});

const SHARED = join(ROOT, "../shared/models/cifar10_resnet20_dev_ort_qdq.onnx");
testIf(existsSync(SHARED), "a QDQ model quantizes without --calib (its own scales)", "../shared/models is not present", () => {
  const out = join(tmp, "r.qwm");
  const q = qwasm("quantize", SHARED, "--out", out, "--mean", "0.4914,0.4822,0.4465", "--std", "0.247,0.2435,0.2616", "--json");
  assert.is(q.code, 0, q.err);
  assert.is(JSON.parse(q.out).method, "model");
  const e = JSON.parse(qwasm("eval", out, "--data", join(ROOT, "../shared/datasets/cifar10/test_batch.bin"), "--limit", "500", "--json").out);
  assert.ok(e.accuracy > 0.8, `accuracy ${e.accuracy}`);
});

test.run();
