// The training engine in a browser (issue #12): src/train/ is isomorphic. Its core bundles for the browser with no
// node: module; the same toy training (test/helpers/train-toy.ts: W4A4 LSQ, Adam, 12 steps, fixed seed), bundled
// by esbuild with the training wasm inlined as bytes, runs in Debian Chromium (playwright-core), on the page's main thread and in a
// Web Worker, and gives Node's per-step losses bit for bit and Node's .qwm byte for byte. Also: the wasm-loading errors are typed.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as esbuild from "esbuild";
import { describe } from "../src/api.ts";
import { Kernels } from "../src/train/kernels.ts";
import { Net, QwmTrainError, setTrainWasm, trainWasmBytes } from "../src/train/node.ts";
import { trainToy, toyNet, type ToyRun } from "./helpers/train-toy.ts";
import { mathSweep } from "./helpers/math-sweep.ts";
import * as detmath from "../src/train/detmath.ts";
import { ROOT, testIf } from "./helpers/tools.ts";

const CHROMIUM = "/usr/bin/chromium";
const hasPlaywright = existsSync(`${ROOT}node_modules/playwright-core/package.json`);
const CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const TMP = mkdtempSync(join(tmpdir(), "qwasm-train-browser-"));

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
/** The f64 bit pattern of every number of the run's step records: equality here is bit-identity (-0, NaN included). */
const bits = (steps: ToyRun["steps"]) => steps.map((s) => [s.loss, s.acc, s.lr].map((v) => hex(new Uint8Array(Float64Array.of(v).buffer))).join(" "));
/** Each step's own mini-batch loss, from fit()'s running means over the epoch (sum after minus sum before). */
function batchLosses(r: ToyRun): number[] {
  return r.steps.map((s, i) => {
    const prev = i > 0 && r.steps[i - 1].epoch === s.epoch ? r.steps[i - 1] : undefined;
    const seen = (t: typeof s) => Math.min(t.step * 32, 192);
    return (s.loss * seen(s) - (prev ? prev.loss * seen(prev) : 0)) / (seen(s) - (prev ? seen(prev) : 0));
  });
}

async function bundle(entry: string): Promise<esbuild.BuildResult & { outputFiles: esbuild.OutputFile[]; metafile: esbuild.Metafile }> {
  return await esbuild.build({
    entryPoints: [entry], bundle: true, write: false, metafile: true, outdir: TMP,
    format: "esm", platform: "browser", target: "es2022", loader: { ".wasm": "binary" }, logLevel: "silent",
  });
}

test("the training engine's core (src/train/index.ts) bundles for the browser: no node: module, no dataset reader", async () => {
  const r = await bundle(`${ROOT}src/train/index.ts`);
  const inputs = Object.keys(r.metafile.inputs);
  assert.ok(inputs.some((f) => f.endsWith("src/train/net.ts")) && inputs.some((f) => f.endsWith("src/pack/qwm.ts")), inputs.join(" "));
  assert.equal(inputs.filter((f) => /^node:|src\/train\/(node|run)\.ts$|src\/data\/index\.ts$/.test(f)), []);
  assert.not.match(r.outputFiles[0].text, /from\s*["']node:/);
});

test("detmath: exp, log, cos, tanh within 2 ulp of Math's (tanh 4e-16 absolute); edge cases; powInt", () => {
  const ulp = (w: number) => { const f = Float64Array.of(Math.abs(w)), u = new BigUint64Array(f.buffer); u[0] += 1n; return f[0] - Math.abs(w); };
  let a = 7;
  const next = () => (a = (Math.imul(a, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let i = 0; i < 20000; i++) {
    const xe = (next() - 0.5) * 1400, xl = Math.exp((next() - 0.5) * 1400), xc = (next() - 0.5) * 200, xt = (next() - 0.5) * 10;
    assert.ok(Math.abs(detmath.exp(xe) - Math.exp(xe)) <= 2 * ulp(Math.exp(xe)), `exp(${xe})`);
    assert.ok(Math.abs(detmath.log(xl) - Math.log(xl)) <= 2 * ulp(Math.log(xl)), `log(${xl})`);
    assert.ok(Math.abs(detmath.cos(xc) - Math.cos(xc)) <= 2 * ulp(1), `cos(${xc})`);
    assert.ok(Math.abs(detmath.tanh(xt) - Math.tanh(xt)) <= 4e-16 && Math.abs(detmath.tanh(xt / 1e7) - Math.tanh(xt / 1e7)) <= 2 * ulp(Math.tanh(xt / 1e7)), `tanh(${xt})`);
  }
  assert.equal([detmath.exp(0), detmath.exp(-Infinity), detmath.exp(Infinity), detmath.exp(800), detmath.exp(-800)], [1, 0, Infinity, Infinity, 0]);
  assert.equal([detmath.log(1), detmath.log(0), detmath.log(Infinity), detmath.log(5e-324)], [0, -Infinity, Infinity, Math.log(5e-324)]);
  for (const v of [detmath.log(-1), detmath.log(NaN), detmath.exp(NaN), detmath.cos(NaN), detmath.tanh(NaN)]) assert.ok(Number.isNaN(v));
  assert.equal([detmath.cos(0), detmath.cos(Math.PI), detmath.tanh(30), detmath.tanh(-30)], [1, -1, 1, -1]);
  assert.throws(() => detmath.cos(1e7), /outside the supported range/);
  assert.equal([detmath.powInt(0.9, 0), detmath.powInt(0.5, 10), detmath.powInt(3, 5)], [1, 2 ** -10, 243]);
});

test("the training wasm: bytes, a WebAssembly.Module or a lazy loader; bad wasm is a typed error", () => {
  const bytes = trainWasmBytes();
  const a = new Kernels(bytes), b = new Kernels(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>)), c = new Kernels(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  for (const k of [a, b, c]) { assert.ok(k.bytes > 0); k.dispose(); }
  const isTrainError = (re: RegExp) => (e: Error) => e instanceof QwmTrainError && re.test(e.message);
  assert.throws(() => new Kernels(Uint8Array.of(1, 2, 3, 4)), isTrainError(/does not compile/));
  assert.throws(() => new Kernels(Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0)), isTrainError(/not the training kernels/));
  assert.throws(() => new Kernels("qwasm.train.wasm" as never), isTrainError(/bytes .* or a WebAssembly.Module/));
  try {
    setTrainWasm(() => Uint8Array.of(1, 2, 3));
    assert.throws(() => new Net(toyNet(1), 4), isTrainError(/does not compile/));
    let loads = 0;
    setTrainWasm(() => (loads++, bytes));
    new Net(toyNet(1), 4).k.dispose();
    new Net(toyNet(1), 4).k.dispose();
    assert.is(loads, 1, "the loader runs once; the module is compiled once");
  } finally {
    setTrainWasm(trainWasmBytes);
  }
});

testIf(existsSync(CHROMIUM) && hasPlaywright,
  "train in Chromium (page and Web Worker): per-step losses bit-identical to Node's, the loss decreases, the exported .qwm equals Node's byte for byte; no wasm is a typed error",
  `needs Debian chromium (${CHROMIUM}) and npm playwright-core`, async () => {
    const node = await trainToy();
    const built = await bundle(`${ROOT}test/train-browser/entry.ts`);
    const js = built.outputFiles.find((f) => f.path.endsWith(".js"))!.contents;
    const server: Server = createServer((req, res) => {
      if (req.url === "/entry.js") res.writeHead(200, { "content-type": "text/javascript" }).end(js);
      else if (req.url === "/") res.writeHead(200, { "content-type": "text/html" }).end('<!doctype html><meta charset="utf-8"><title>train</title><link rel="icon" href="data:,"><script type="module" src="/entry.js"></script>');
      else res.writeHead(404).end();
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
    const { chromium } = await import("playwright-core");
    const profile = mkdtempSync(join(TMP, "chromium-"));
    const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
    const errors: string[] = [];
    try {
      const page = context.pages()[0] ?? await context.newPage();
      page.on("pageerror", (e) => errors.push(String(e)));
      page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
      await page.goto(url);
      await page.waitForFunction(() => window.workerResult !== undefined || window.trainError !== undefined, undefined, { timeout: 20000 });
      const got = await page.evaluate(() => ({ result: window.trainResult, worker: window.workerResult, error: window.trainError }));
      assert.is(got.error, undefined, `the page failed: ${got.error}`);
      const br = got.result as { steps: ToyRun["steps"]; epochs: ToyRun["epochs"]; qwmHex: string; isNode: boolean; noWasm: string; detmath: Record<string, string>; jsMath: Record<string, string> };
      assert.is(br.isNode, false, "ran in the page, not in Node");
      assert.equal(got.worker, got.result, "a Web Worker given the compiled WebAssembly.Module: the same results as the page's main thread");
      assert.match(br.noWasm, /^QwmTrainError: no training wasm: call setTrainWasm/, "new Net() before setTrainWasm()");

      assert.is(node.steps.length, 12);
      assert.equal(br.steps, node.steps, "per-step running loss / accuracy / learning rate");
      assert.equal(bits(br.steps), bits(node.steps), "bit patterns");
      assert.equal(br.epochs, node.epochs, "epoch reports");
      const losses = batchLosses(node);
      assert.ok(losses[losses.length - 1] < 0.5 * losses[0] && node.epochs[1].loss < node.epochs[0].loss,
        `the loss did not decrease: per step ${losses.map((l) => l.toFixed(3)).join(" ")}`);
      assert.is(br.qwmHex, hex(node.qwm), ".qwm bytes");
      assert.equal(describe(node.qwm).layers.filter((l) => l.weightBits > 0).map((l) => l.weightBits), [8, 4, 4, 8]);
      assert.equal(br.detmath, mathSweep(detmath), "detmath: the same bits in Chromium and Node");
      const nodeMath = mathSweep(Math);
      console.log(`  Math.* in Chromium vs Node: ${(["exp", "log", "cos", "tanh"] as const).map((f) => `${f} ${br.jsMath[f] === nodeMath[f] ? "same" : "differs"}`).join(", ")}`);
      assert.equal(errors, [], "errors in the page");
      console.log(`  Chromium = Node: 12 steps, batch loss ${losses[0].toFixed(4)} -> ${losses[11].toFixed(4)}, epoch loss ${node.epochs[0].loss.toFixed(4)} -> ${node.epochs[1].loss.toFixed(4)}, .qwm ${node.qwm.length} bytes, bundle ${(js.length / 1024).toFixed(0)} KiB`);
    } finally {
      await context.close();
      await new Promise((ok) => server.close(ok));
      rmSync(TMP, { recursive: true, force: true });
    }
  });

test.run();
