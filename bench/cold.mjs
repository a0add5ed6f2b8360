// One cold start of one runtime, in this fresh process (spawned by bench/run.ts, plain JavaScript so that no
// TypeScript loader runs): the clock starts before the runtime's code is imported and the model's first byte
// is read, and stops at the first result. Then batch-1 and batch-64 runs, for the peak memory:
// RSS growth = peak RSS of the process (VmHWM of /proc/self/status; getrusage's maxrss would carry the
// spawning process's peak across exec) minus RSS once the inputs are made; for qwasm also the size of its
// WebAssembly.Memory. Prints one JSON line.
//   node bench/cold.mjs RUNTIME MODEL_FILE H,W,C MEAN STD [--runs N]
// RUNTIME: qwasm | ort-web | ort-node | tfjs-wasm; MODEL_FILE: .qwm, .onnx or .tfw (bench/tfjs-model.mjs).
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";

const [runtime, file, shapeArg, meanArg, stdArg] = process.argv.slice(2);
const runsAt = process.argv.indexOf("--runs");
const runs = runsAt > 0 ? Number(process.argv[runsAt + 1]) : 20;
const root = new URL("../", import.meta.url).pathname;
const nm = `${root}node_modules`;
const [H, W, C] = shapeArg.split(",").map(Number);
const mean = meanArg.split(",").map(Number), std = stdArg.split(",").map(Number);
const per = H * W * C;

// the same pseudo-random image for every runtime, in each one's layout (prepared before the clock starts)
const input = (B) => {
  const px = new Uint8Array(B * per).map((_, i) => (i * 2654435761) >>> 24);
  const nhwc = new Float32Array(B * per), nchw = new Float32Array(B * per);
  for (let b = 0; b < B; b++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < C; c++) {
    const v = (Math.fround(px[b * per + (y * W + x) * C + c] / 255) - mean[c]) / std[c];
    nhwc[b * per + (y * W + x) * C + c] = v;
    nchw[b * per + (c * H + y) * W + x] = v;
  }
  return { px, nhwc, nchw, B };
};
const one = input(1), big = input(64);
let rssMax = 0;
const rss = () => { const r = process.memoryUsage().rss; rssMax = Math.max(rssMax, r); return r; };
const hwm = () => {
  try { return Number(/VmHWM:\s*(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))[1]) * 1024; } catch { return rssMax; }
};
const rss0 = rss();

const t0 = performance.now();
let tImport, tLoad, run, wasmMemory = () => 0;
if (runtime === "qwasm") {
  const { loadModel } = await import(`${root}dist/sdk/node.js`);
  tImport = performance.now();
  const m = await loadModel(await readFile(file));
  tLoad = performance.now();
  run = (x) => m.run(x.px, { batch: x.B }).logits;
  wasmMemory = () => m.info.wasmMemoryBytes;
} else if (runtime === "ort-web" || runtime === "ort-node") {
  let ort;
  if (runtime === "ort-web") {
    const mod = await import("onnxruntime-web");
    ort = mod.default ?? mod;
    Object.assign(ort.env.wasm, { numThreads: 1, proxy: false, simd: true, wasmPaths: `${nm}/onnxruntime-web/dist/` });
  } else {
    ort = createRequire(import.meta.url)("onnxruntime-node");
  }
  tImport = performance.now();
  const opts = runtime === "ort-web"
    ? { executionProviders: ["wasm"], graphOptimizationLevel: "all" }
    : { executionProviders: ["cpu"], intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: "sequential", graphOptimizationLevel: "all" };
  const s = await ort.InferenceSession.create(await readFile(file), opts);
  tLoad = performance.now();
  const name = s.inputNames[0], outName = s.outputNames[0];
  run = async (x) => (await s.run({ [name]: new ort.Tensor("float32", x.nchw, [x.B, C, H, W]) }))[outName].data;
} else if (runtime === "tfjs-wasm") {
  const { buildTfModel, tfWasm } = await import("./tfjs-model.mjs");
  const tf = await tfWasm(nm);
  tImport = performance.now();
  const model = buildTfModel(tf, await readFile(file));
  tLoad = performance.now();
  run = (x) => model.run(x.nhwc, x.B);
} else {
  console.error(`cold.mjs: unknown runtime ${runtime}`);
  process.exit(2);
}
const first = await run(one);
const t1 = performance.now();
if (!first || !(first.length > 0) || !Number.isFinite(first[0])) throw new Error("no result");
rss();
for (let i = 0; i < runs; i++) { await run(one); rss(); }
for (let i = 0; i < 2; i++) { await run(big); rss(); }
const maxRss = Math.max(hwm(), rssMax);
console.log(JSON.stringify({
  runtime, cold_ms: t1 - t0, import_ms: tImport - t0, load_ms: tLoad - tImport, first_run_ms: t1 - tLoad,
  rss_start: rss0, rss_peak: maxRss, rss_growth: maxRss - rss0, wasm_memory: wasmMemory(),
}));
