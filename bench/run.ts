// npm run bench: qwasm against its peers, side by side in one run, on the models of ../shared/models and the
// bundled model (issue 10). Protocol, the same for every runtime:
//  - inputs: the first 64 test images of the model's dataset, as uint8 pixels (qwasm) or normalized floats
//    (the float runtimes; NCHW for ONNX Runtime, NHWC for TF.js), converted ahead of the timed runs;
//  - batch-1 latency: every runtime in turn, round after round (order rotated), each run timed alone; the
//    median of all runs, wall clock (and CPU time of this process, which a loaded machine does not inflate);
//  - batch-64 throughput: 64 images per run, images/s from the median run;
//  - cold start: a fresh `node` process per runtime (bench/cold.mjs), from importing the runtime and reading
//    the model's first byte to the first result; median of several processes;
//  - peak memory: the same processes' peak RSS growth (getrusage) after batch-1 and batch-64 runs; for qwasm
//    also its WebAssembly.Memory size;
//  - accuracy: qwasm's models and ONNX Runtime's (onnxruntime-node) on --limit test images;
//  - ratios: qwasm int8 / peer, in time per image, milliseconds and bytes (below 1: qwasm costs less).
// Writes bench/results.json and bench/results.md (also printed).
//  - the relaxed-SIMD build: its own figures in Deno (bench/deno-latency.ts), next to the SIMD build there.
// Flags: --quick (fewer images and repetitions), --limit N (accuracy images), --models a,b,
//        --lowbit-limit N (accuracy images of the sub-8-bit variants; default 2000, --quick 1000),
//        --runtimes a,b (qwasm,ort-web,ort-node,tfjs-wasm), --no-cold, --no-accuracy, --no-deno, --out FILE.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { floatQwm, loadOnnx, quantize, VERSION } from "../src/api.ts";
import { readDataset, type Dataset } from "../src/data/index.ts";
import { readQwm } from "../src/pack/read.ts";
import { Op } from "../assembly/runtime/schema.ts";
import { argmax, makeInputs, maxAbsDiff, ortNodeSession, ortWebSession, qwasmSession, tfjsSession, type Inputs, type Runtime, type Session } from "./peers.ts";
// @ts-ignore plain JavaScript module
import { encodeTfw } from "./tfjs-model.mjs";

const args = process.argv.slice(2);
const flag = (n: string) => args.includes(n);
const opt = (n: string) => { const i = args.indexOf(n); return i >= 0 ? args[i + 1] : undefined; };
const quick = flag("--quick");
const here = (p: string) => new URL(p, import.meta.url).pathname;
const shared = here("../../shared/");
const OUT = here("out/");
const CACHE = `${OUT}cache/`;
mkdirSync(CACHE, { recursive: true });

const P = quick
  ? { limit: 1000, lowbitLimit: 1000, rounds: 5, perRound: 6, b64Runs: 3, coldReps: 3, accBatch: 64 }
  : { limit: 10000, lowbitLimit: 2000, rounds: 12, perRound: 10, b64Runs: 7, coldReps: 5, accBatch: 64 };
const limit = opt("--limit") ? Number(opt("--limit")) : P.limit;
// sub-8-bit variants: fewer images by default (their kernels are slower and their accuracy moves by whole points)
const lowbitLimit = Math.min(limit, opt("--lowbit-limit") ? Number(opt("--lowbit-limit")) : P.lowbitLimit);
const BATCH = 64;

interface ModelSpec {
  key: string;
  onnx: string;
  qdq?: string;
  mean: number[];
  std: number[];
  calib: string;
  test: string;
  labels?: string;
  anchors?: Record<string, number>;
}

const CIFAR = { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] };
const anchors = existsSync(`${shared}models/cifar10_anchors.json`) ? JSON.parse(readFileSync(`${shared}models/cifar10_anchors.json`, "utf8")) : {};
const fashionTest = existsSync("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")
  ? "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz" : here("../models/data/fashion-t10k1000-images-idx3-ubyte.gz");
const cifar = (name: string, key: string): ModelSpec => ({
  key, onnx: `${shared}models/cifar10_${name}.onnx`, qdq: `${shared}models/cifar10_${name}_ort_qdq.onnx`, ...CIFAR,
  calib: `${shared}datasets/cifar10/data_batch_1.bin`, test: `${shared}datasets/cifar10/test_batch.bin`, anchors: anchors[key],
});
const ALL: ModelSpec[] = [
  cifar("resnet20_dev", "resnet20"),
  cifar("mobilenetv1_w05", "mobilenetv1_w05"),
  cifar("vgg_small", "vgg_small"),
  {
    key: "fashion_mnist_dsres", onnx: here("../models/fashion_mnist_dsres.onnx"), mean: [0.286], std: [0.353],
    calib: here("../models/data/fashion-train256-images-idx3-ubyte.gz"), test: fashionTest, labels: here("../models/fashion_mnist_labels.txt"),
  },
];
const want = opt("--models")?.split(",");
const models = ALL.filter((m) => existsSync(m.onnx) && (!want || want.includes(m.key)));
const RUNTIMES = (opt("--runtimes")?.split(",") ?? ["qwasm", "ort-web", "ort-node", "tfjs-wasm"]) as Runtime[];

const log = (...a: unknown[]) => console.error(...a);
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s.length ? (s.length & 1 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN; };
const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const sha = (...parts: (Uint8Array | string)[]) => { const h = createHash("sha256"); for (const p of parts) h.update(p); return h.digest("hex").slice(0, 16); };

// ---- our models (cached by the ONNX bytes, the calibration file, the options and the toolkit's sources) ----

/** A hash of every file under src/ and assembly/runtime/schema.ts: a changed toolkit makes new models. */
function toolkitHash(): string {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(`${d}/${e.name}`);
      else if (e.name.endsWith(".ts")) files.push(`${d}/${e.name}`);
    }
  };
  walk(here("../src"));
  files.sort();
  return sha(...files.map((f) => readFileSync(f)), readFileSync(here("../assembly/runtime/schema.ts")));
}
const TOOLKIT = toolkitHash();

interface Variant { name: string; precision: string; qwm: Uint8Array; method: string; weightBits: number }

async function ourModels(m: ModelSpec): Promise<Variant[]> {
  const onnx = readFileSync(m.onnx);
  const calibBytes = readFileSync(m.calib);
  const pre = { mean: m.mean, std: m.std };
  const out: Variant[] = [];
  const make = async (name: string, extra: Record<string, unknown>) => {
    const key = sha(onnx, calibBytes, JSON.stringify({ pre, extra, VERSION, labels: m.labels ?? "", TOOLKIT }));
    const file = `${CACHE}${m.key}.${name}.${key}.qwm`;
    let qwm: Uint8Array, method = "cached";
    if (existsSync(file)) {
      qwm = readFileSync(file);
      method = JSON.parse(readFileSync(`${file}.json`, "utf8")).method;
    } else {
      const labels = m.labels ? readFileSync(m.labels, "utf8").trim().split("\n") : undefined;
      const q = await quantize(onnx, { calib: readDataset(m.calib, { limit: 256 }), preprocess: pre, labels, ...extra } as any);
      qwm = q.qwm;
      method = q.method;
      writeFileSync(file, qwm);
      writeFileSync(`${file}.json`, JSON.stringify({ method }));
    }
    return { qwm, method };
  };
  const int8 = await make("int8", {});
  out.push({ name: "qwasm int8", precision: "int8", ...int8, weightBits: 8 });
  // Sub-8-bit weights where the toolkit offers them: a variant counts only when its program has other ops.
  for (const [name, bits] of [["int4", 4], ["binary", 1]] as const) {
    try {
      const v = await make(name, { weightBits: bits });
      const codes = new Set(readQwm(v.qwm).ops.map((o) => o.op));
      const int8Codes = new Set(readQwm(int8.qwm).ops.map((o) => o.op));
      const differs = Buffer.compare(Buffer.from(v.qwm), Buffer.from(int8.qwm)) !== 0 && [...codes].some((c) => !int8Codes.has(c));
      if (differs) out.push({ name: `qwasm ${name}`, precision: name === "binary" ? "w1a8" : "w4a8", ...v, weightBits: bits });
    } catch { /* not available */ }
  }
  return out;
}

function tfwFor(m: ModelSpec): string {
  const onnx = readFileSync(m.onnx);
  const file = `${CACHE}${m.key}.${sha(onnx, "tfw1")}.tfw`;
  if (!existsSync(file)) {
    const imp = loadOnnx(onnx, { preprocess: { mean: m.mean, std: m.std } });
    writeFileSync(file, encodeTfw(imp.graph, imp.graph.input.shape));
  }
  return file;
}

// ---- accuracy ------------------------------------------------------------------------------------------

function batches(ds: Dataset, shape: [number, number, number], m: ModelSpec, n: number): { x: Inputs; labels: Int32Array }[] {
  const out = [];
  for (let i = 0; i < n; i += P.accBatch) {
    const b = Math.min(P.accBatch, n - i);
    const imgs = Array.from({ length: b }, (_, j) => ds.images[i + j].data);
    out.push({ x: makeInputs(imgs, shape, m.mean, m.std), labels: ds.labels.subarray(i, i + b) });
  }
  return out;
}

async function accuracy(s: Session, bs: { x: Inputs; labels: Int32Array }[]): Promise<number> {
  let right = 0, n = 0;
  for (const [i, b] of bs.entries()) {
    s.prepare(1000 + i, b.x);
    const y = await s.run(1000 + i);
    const top = argmax(y, y.length / b.x.batch);
    for (let j = 0; j < b.x.batch; j++) if (top[j] === b.labels[j]) right++;
    n += b.x.batch;
  }
  return right / n;
}

// ---- timing --------------------------------------------------------------------------------------------

interface Timed { wall: number[]; cpu: number[] }

async function timeRounds(sessions: Session[], ids: number[], rounds: number, perRound: number): Promise<Timed[]> {
  const res: Timed[] = sessions.map(() => ({ wall: [], cpu: [] }));
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < sessions.length; k++) {
      const si = (k + r) % sessions.length; // rotate the order: no runtime always runs first
      const s = sessions[si];
      for (let i = 0; i < perRound; i++) {
        const id = ids[(r * perRound + i) % ids.length];
        const c = cpuMs(), t = performance.now();
        await s.run(id);
        const dt = performance.now() - t, dc = cpuMs() - c;
        res[si].wall.push(dt);
        res[si].cpu.push(dc);
      }
    }
  }
  return res;
}

// ---- cold start ----------------------------------------------------------------------------------------

function cold(runtime: Runtime, file: string, shape: number[], m: ModelSpec, reps: number) {
  const runs: any[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    const out = execFileSync(process.execPath, [here("cold.mjs"), runtime, file, shape.join(","), m.mean.join(","), m.std.join(",")], { encoding: "utf8", maxBuffer: 1 << 20 });
    const r = JSON.parse(out.trim().split("\n").pop()!);
    r.process_ms = performance.now() - t;
    runs.push(r);
  }
  const med = (k: string) => median(runs.map((r: any) => r[k]));
  return {
    cold_ms: med("cold_ms"), import_ms: med("import_ms"), load_ms: med("load_ms"), first_run_ms: med("first_run_ms"),
    process_ms: med("process_ms"), rss_growth: med("rss_growth"), wasm_memory: med("wasm_memory"), reps,
  };
}

// ---- main ----------------------------------------------------------------------------------------------

interface Row {
  model: string; runtime: Runtime; name: string; precision: string; model_file: string; model_path: string; model_bytes: number;
  accuracy?: number; accuracy_n?: number; accuracy_by?: string;
  b1_ms: number; b1_cpu_ms: number; b64_img_s: number; b64_cpu_img_s: number; b1_samples: number;
  cold?: ReturnType<typeof cold>; wasm_memory?: number;
  agreement_top1?: number; max_abs_diff_vs_qwasm_fp32?: number;
  ratios?: Record<string, number>;
}

const results: { meta: Record<string, unknown>; models: Record<string, { rows: Row[]; notes: string[] }>; targets: any[] } = {
  meta: {
    date: new Date().toISOString(), node: process.version, cpu: cpus()[0]?.model, cores: cpus().length,
    loadavg_start: loadavg(), quick, limit, protocol: P, qwasm_version: VERSION,
    versions: Object.fromEntries(["onnxruntime-web", "onnxruntime-node", "@tensorflow/tfjs-core", "@tensorflow/tfjs-backend-wasm"].map((p) => {
      try { return [p, JSON.parse(readFileSync(here(`../node_modules/${p}/package.json`), "utf8")).version]; } catch { return [p, null]; }
    })),
  },
  models: {},
  targets: [],
};

for (const m of models) {
  log(`\n== ${m.key}`);
  const variants = await ourModels(m);
  const info = readQwm(variants[0].qwm);
  const shape = info.tensors[info.inputTensor].shape as [number, number, number];
  const test = readDataset(m.test, { limit: Math.max(limit, BATCH) });
  const notes: string[] = [];
  const onnxBytes = readFileSync(m.onnx);
  const qdqBytes = m.qdq && existsSync(m.qdq) ? readFileSync(m.qdq) : undefined;

  // sessions
  interface Entry { s: Session; name: string; precision: string; file: string; bytes: number; variant?: Variant; onnx?: Uint8Array }
  const entries: Entry[] = [];
  for (const v of variants) {
    const file = `${CACHE}${m.key}.${v.name.split(" ")[1]}.qwm`;
    writeFileSync(file, v.qwm);
    if (RUNTIMES.includes("qwasm")) entries.push({ s: await qwasmSession(v.qwm), name: v.name, precision: v.precision, file, bytes: v.qwm.length, variant: v });
  }
  for (const [rt, make] of [["ort-web", ortWebSession], ["ort-node", ortNodeSession]] as const) {
    if (!RUNTIMES.includes(rt)) continue;
    entries.push({ s: await make(onnxBytes), name: `${rt} fp32`, precision: "fp32", file: m.onnx, bytes: onnxBytes.length, onnx: onnxBytes });
    if (qdqBytes) entries.push({ s: await make(qdqBytes), name: `${rt} int8 (ORT QDQ)`, precision: "int8", file: m.qdq!, bytes: qdqBytes.length, onnx: qdqBytes });
  }
  if (RUNTIMES.includes("tfjs-wasm")) {
    try {
      const tfw = tfwFor(m);
      entries.push({ s: await tfjsSession(readFileSync(tfw)), name: "tfjs-wasm fp32", precision: "fp32", file: tfw, bytes: readFileSync(tfw).length });
    } catch (e) {
      notes.push(`TF.js: not rebuilt (${(e as Error).message})`);
    }
  }
  const sessions = entries.map((e) => e.s);

  // the same inputs for all: 16 single images (ids 0..15) and one batch of 64 (id 64)
  const imgs = test.images.slice(0, BATCH).map((i) => i.data);
  const singles = imgs.slice(0, 16).map((im) => makeInputs([im], shape, m.mean, m.std));
  const big = makeInputs(imgs, shape, m.mean, m.std);
  for (const s of sessions) { singles.forEach((x, i) => s.prepare(i, x)); s.prepare(BATCH, big); }

  // outputs on the batch of 64: top-1 agreement with ORT (node) fp32; TF.js against qwasm's own fp32 program
  const outs: Float32Array[] = [];
  for (const s of sessions) { for (let i = 0; i < 3; i++) await s.run(0); outs.push(await s.run(BATCH)); }
  const classes = outs[0].length / BATCH;
  const refIdx = entries.findIndex((e) => e.name === "ort-node fp32");
  if (refIdx >= 0) {
    const ref = argmax(outs[refIdx], classes);
    entries.forEach((e, i) => {
      const a = argmax(outs[i], classes);
      (e as any).agreement = a.reduce((n, v, j) => n + (v === ref[j] ? 1 : 0), 0) / BATCH;
    });
  }
  const tfIdx = entries.findIndex((e) => e.s.runtime === "tfjs-wasm");
  if (tfIdx >= 0) {
    const f = await qwasmSession(floatQwm(onnxBytes, { preprocess: { mean: m.mean, std: m.std } }));
    f.prepare(BATCH, big);
    (entries[tfIdx] as any).diff = maxAbsDiff(await f.run(BATCH), outs[tfIdx]);
    f.dispose();
  }

  // batch-1 latency, then batch-64 throughput, interleaved
  log(`batch 1: ${P.rounds} rounds x ${P.perRound} runs x ${sessions.length} runtimes`);
  const t1 = await timeRounds(sessions, singles.map((_, i) => i), P.rounds, P.perRound);
  log(`batch ${BATCH}: ${P.b64Runs} rounds`);
  const t64 = await timeRounds(sessions, [BATCH], P.b64Runs, 1);

  // accuracy: ours (SDK) and ONNX Runtime's (node) on the same images
  const n = Math.min(limit, test.images.length);
  const accB = flag("--no-accuracy") ? [] : batches(test, shape, m, n);
  const rows: Row[] = [];
  for (const [i, e] of entries.entries()) {
    const row: Row = {
      model: m.key, runtime: e.s.runtime, name: e.name, precision: e.precision, model_file: e.file.replace(here("../"), ""), model_path: e.file, model_bytes: e.bytes,
      b1_ms: median(t1[i].wall), b1_cpu_ms: median(t1[i].cpu), b1_samples: t1[i].wall.length,
      b64_img_s: (BATCH * 1000) / median(t64[i].wall), b64_cpu_img_s: (BATCH * 1000) / median(t64[i].cpu),
      agreement_top1: (e as any).agreement, max_abs_diff_vs_qwasm_fp32: (e as any).diff,
      wasm_memory: e.s.wasmMemoryBytes?.(),
    };
    if (accB.length && (e.s.runtime === "qwasm" || e.s.runtime === "ort-node")) {
      log(`accuracy ${e.name}`);
      const s = e.s.runtime === "ort-node" ? await ortNodeSession(e.onnx!, 2) : e.s;
      const nv = e.variant && e.variant.weightBits < 8 ? Math.min(n, lowbitLimit) : n;
      row.accuracy = await accuracy(s, nv < n ? accB.slice(0, Math.ceil(nv / P.accBatch)) : accB);
      row.accuracy_n = Math.min(n, Math.ceil(nv / P.accBatch) * P.accBatch);
      row.accuracy_by = e.s.runtime === "ort-node" ? "onnxruntime-node" : "qwasm";
      if (s !== e.s) s.dispose();
    }
    rows.push(row);
  }
  for (const s of sessions) s.dispose();

  // cold start and peak memory, fresh processes
  if (!flag("--no-cold")) {
    for (const r of rows) {
      if (r.runtime === "qwasm" && r.name !== "qwasm int8") continue;
      log(`cold start ${r.name} x${P.coldReps}`);
      try {
        r.cold = cold(r.runtime, r.model_path, shape, m, P.coldReps);
      } catch (e) {
        notes.push(`cold start ${r.name} failed: ${(e as Error).message.split("\n")[0]}`);
      }
    }
  }

  // ratios: qwasm int8 / peer (time per image, ms, bytes)
  const ours = rows.find((r) => r.name === "qwasm int8")!;
  for (const r of rows) {
    if (r.runtime === "qwasm") continue; // ratios are to the peers
    r.ratios = {
      b1_latency: ours.b1_ms / r.b1_ms,
      b1_latency_cpu: ours.b1_cpu_ms / r.b1_cpu_ms,
      b64_time_per_image: r.b64_img_s / ours.b64_img_s,
      b64_time_per_image_cpu: r.b64_cpu_img_s / ours.b64_cpu_img_s,
      ...(ours.cold && r.cold ? { cold_start: ours.cold.cold_ms / r.cold.cold_ms, rss_growth: ours.cold.rss_growth / r.cold.rss_growth } : {}),
    };
  }
  results.models[m.key] = { rows, notes };
  log(modelTable(m.key, rows, notes));
}

// ---- the relaxed-SIMD build, in Deno (Node 20 does not run it) -----------------------------------------

const deno = here("../node_modules/.bin/deno");
const relaxed: any[] = [];
if (RUNTIMES.includes("qwasm") && !flag("--no-deno") && existsSync(deno)) {
  const files = Object.values(results.models).map((v) => v.rows.find((r) => r.name === "qwasm int8")?.model_path).filter(Boolean) as string[];
  log(`relaxed-SIMD build in Deno: ${files.length} models`);
  try {
    const out = execFileSync(deno, ["run", "--quiet", "--no-lock", "--allow-read", "--allow-env", here("deno-latency.ts"),
      "--rounds", String(P.rounds), "--per-round", String(P.perRound), "--b64-runs", String(P.b64Runs), ...files], { encoding: "utf8", maxBuffer: 1 << 22 });
    for (const r of JSON.parse(out.trim().split("\n").pop()!)) {
      const key = Object.entries(results.models).find(([, v]) => v.rows.some((x) => x.model_path === r.file))?.[0];
      relaxed.push({ model: key, ...r, file: undefined });
    }
  } catch (e) {
    log(`deno run failed: ${(e as Error).message.split("\n")[0]}`);
  }
}
(results as any).deno = { version: existsSync(deno) ? execFileSync(deno, ["--version"], { encoding: "utf8" }).split("\n")[0] : null, rows: relaxed };
results.meta.loadavg_end = loadavg();

// ---- targets (issue 10) --------------------------------------------------------------------------------

const row = (model: string, name: string) => results.models[model]?.rows.find((r) => r.name === name);
const target = (what: string, model: string, peer: string, key: string, limitV: number) => {
  const r = row(model, peer);
  const v = r?.ratios?.[key];
  const vc = r?.ratios?.[`${key}_cpu`];
  if (v === undefined) return;
  // judged on CPU time (see the report's note); the wall-clock ratio is kept beside it
  results.targets.push({ target: what, limit: limitV, reached: vc ?? v, reached_wall: v, met: (vc ?? v) <= limitV });
};
target("ResNet-20 int8 batch-1 latency / onnxruntime-web fp32", "resnet20", "ort-web fp32", "b1_latency", 0.35);
target("ResNet-20 int8 batch-1 latency / onnxruntime-web int8", "resnet20", "ort-web int8 (ORT QDQ)", "b1_latency", 0.4);
target("MobileNetV1-w0.5 int8 batch-1 latency / onnxruntime-web int8", "mobilenetv1_w05", "ort-web int8 (ORT QDQ)", "b1_latency", 0.3);
target("ResNet-20 cold start / onnxruntime-web fp32", "resnet20", "ort-web fp32", "cold_start", 0.1);
const r20 = row("resnet20", "qwasm int8");
if (r20?.wasm_memory) results.targets.push({ target: "ResNet-20 int8 peak wasm memory (bytes, after batch-64 runs)", limit: 1 << 20, reached: r20.wasm_memory, met: r20.wasm_memory <= 1 << 20 });

const outFile = opt("--out") ?? here("results.json");
writeFileSync(outFile, JSON.stringify(results, null, 1));
const md = markdown();
writeFileSync(here("results.md"), md);
console.log(md);
log(`wrote ${outFile.replace(here("../"), "")} and bench/results.md`);

// ---- report --------------------------------------------------------------------------------------------

function modelTable(key: string, rows: Row[], notes: string[]): string {
  const f = (x: number | undefined, d = 3) => (x === undefined || !Number.isFinite(x) ? "-" : x.toFixed(d));
  const mib = (b: number | undefined) => (b === undefined ? "-" : (b / 2 ** 20).toFixed(1));
  const L: string[] = [];
  L.push(`### ${key}\n`);
  L.push("| runtime | accuracy | b1 ms CPU (wall) | ratio CPU (wall) | b64 img/s CPU (wall) | ratio CPU (wall) | cold ms | ratio | RSS growth MiB | ratio | wasm mem KiB | top-1 vs ORT fp32 |");
  L.push("|---|---|---|---|---|---|---|---|---|---|---|---|");
  for (const r of rows) {
    const q = r.ratios;
    const acc = r.accuracy === undefined ? "-" : `${(100 * r.accuracy).toFixed(2)}%${r.accuracy_n !== limit ? ` (${r.accuracy_n})` : ""}`;
    L.push(`| ${r.name} | ${acc} | ` +
      `${f(r.b1_cpu_ms)} (${f(r.b1_ms)}) | ${q ? `${f(q.b1_latency_cpu, 2)} (${f(q.b1_latency, 2)})` : "-"} | ` +
      `${f(r.b64_cpu_img_s, 0)} (${f(r.b64_img_s, 0)}) | ${q ? `${f(q.b64_time_per_image_cpu, 2)} (${f(q.b64_time_per_image, 2)})` : "-"} | ` +
      `${f(r.cold?.cold_ms, 0)} | ${f(q?.cold_start, 3)} | ${mib(r.cold?.rss_growth)} | ${f(q?.rss_growth, 2)} | ` +
      `${r.wasm_memory ? (r.wasm_memory / 1024).toFixed(0) : "-"} | ${r.agreement_top1 === undefined ? "-" : (100 * r.agreement_top1).toFixed(0) + "%"} |`);
  }
  L.push("");
  const tf = rows.find((r) => r.max_abs_diff_vs_qwasm_fp32 !== undefined);
  if (tf) L.push(`TF.js rebuild check: max |logit difference| against qwasm's own fp32 program on the 64 images: ${tf.max_abs_diff_vs_qwasm_fp32!.toExponential(2)}.`);
  for (const n of notes) L.push(`Note: ${n}`);
  return L.join("\n") + "\n";
}

function markdown(): string {
  const meta = results.meta as any;
  const L: string[] = [];
  L.push(`## qwasm against its peers (${meta.date.slice(0, 10)}, ${meta.node}, ${meta.cpu}, ${meta.cores} cores, one thread each${quick ? ", --quick" : ""})\n`);
  L.push(`Load average at start ${meta.loadavg_start.map((x: number) => x.toFixed(1)).join(" ")}, at end ${meta.loadavg_end.map((x: number) => x.toFixed(1)).join(" ")} ` +
    `(${meta.cores} cores shared with other work: wall-clock times include time other processes took; the CPU time of this ` +
    `single-threaded work does not, so ratios are judged on CPU time, wall clock in parentheses). ` +
    `Ratios: qwasm int8 / peer, in time (per image), milliseconds or bytes; below 1, qwasm costs less. ` +
    `b1 = batch-1 median latency, ${P.rounds} rounds x ${P.perRound} runs per runtime, interleaved; b64 = batch-64 throughput from the median of ${P.b64Runs} runs; ` +
    `cold = a fresh node process, from importing the runtime and reading the model's first byte to the first result (median of ${P.coldReps}); ` +
    `RSS growth = that process's peak RSS minus its RSS before; wasm mem = qwasm's WebAssembly.Memory after the batch-64 runs; ` +
    `accuracy on ${limit} test images, sub-8-bit variants on the number in parentheses (qwasm: its own engine; ORT: onnxruntime-node on the ONNX file). ` +
    `Versions: ${Object.entries(meta.versions).map(([k, v]) => `${k} ${v}`).join(", ")}.\n`);
  for (const [k, v] of Object.entries(results.models)) L.push(modelTable(k, v.rows, v.notes));
  const dr = (results as any).deno?.rows ?? [];
  if (dr.length) {
    L.push(`### The relaxed-SIMD build (${(results as any).deno.version}; Node 20 does not run it)\n`);
    L.push("qwasm int8 through the SDK in Deno, the relaxed and the SIMD build interleaved (same protocol; wall clock, CPU time in parentheses).\n");
    L.push("| model | build | b1 ms | b64 img/s | relaxed / SIMD time |");
    L.push("|---|---|---|---|---|");
    for (const r of dr) {
      const simd = dr.find((x: any) => x.model === r.model && x.build === "simd");
      const q = r.build === "relaxed" && simd ? `${(r.b1_ms / simd.b1_ms).toFixed(2)} (b1), ${(simd.b64_cpu_img_s / r.b64_cpu_img_s).toFixed(2)} (b64, CPU)` : "";
      L.push(`| ${r.model} | ${r.build} | ${r.b1_ms.toFixed(3)} (${r.b1_cpu_ms.toFixed(3)}) | ${r.b64_img_s.toFixed(0)} (${r.b64_cpu_img_s.toFixed(0)}) | ${q} |`);
    }
    L.push("");
  }
  if (results.targets.length) {
    L.push("### Targets (issue 10)\n");
    L.push("| target | limit | reached | reached (wall clock) | met |");
    L.push("|---|---|---|---|---|");
    for (const t of results.targets) {
      const big = t.limit > 10;
      const v = (x: number | undefined) => (x === undefined ? "-" : big ? `${(x / 1024).toFixed(0)} KiB` : x.toFixed(3));
      L.push(`| ${t.target} | ${big ? `${(t.limit / 1024).toFixed(0)} KiB` : t.limit} | ${v(t.reached)} | ${v(t.reached_wall)} | ${t.met ? "yes" : "no"} |`);
    }
  }
  return L.join("\n") + "\n";
}
void Op;
