// npm run lowbit-report: the weight representations of issue #6 on every model of ../shared/models, each with
// its size, compression and latency beside its accuracy: int8, uniform 4-bit, k-means codebooks W4 / W3 / W2
// (per output channel, and W4 per layer; depthwise layers included), power-of-two W4 / W3, uniform 2-bit,
// ternary, binary BWN and binary XNOR (W1A1), naive (no repair: plain k-means, nearest level, no training). Calibrates the activations on data_batch_1.bin (--calib-size images, --calibration method), evaluates
// on test_batch.bin (all of it unless --limit). Latency: `qwasm bench`'s measure (SDK model, SIMD build, batch 1
// median of --iterations runs, one thread). Prints a Markdown table and writes bench/lowbit-results.json.
// Flags: --limit N, --calib-size N (default 512), --calibration M (default minmax), --models a,b,
// --configs w8,u4,k4,k4l,k3,k2,p4,p3,u2,t2,b1,x1 (default all), --iterations N (default 30), --rounds R (default 3: the
// latency is the lowest of R medians, the configurations of a model taking turns, which a loaded machine
// disturbs least), --latency-only (re-measures the latency of the models in bench/lowbit-results.json, checking
// that quantization gives the same bytes again, and reprints the table).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { describe, evaluate, floatQwm, quantize, type QuantizeOptions } from "../src/api.ts";
import { readDataset } from "../src/data/index.ts";
import { loadModel } from "../sdk/hosts/node.ts";
import { readBuild } from "../src/wasm/module.ts";

const args = process.argv.slice(2);
const opt = (n: string) => { const i = args.indexOf(n); return i >= 0 ? args[i + 1] : undefined; };
const shared = new URL("../../shared/", import.meta.url).pathname;
const limit = opt("--limit") ? Number(opt("--limit")) : undefined;
const calibSize = Number(opt("--calib-size") ?? 512);
const calibration = (opt("--calibration") ?? "minmax") as QuantizeOptions["calibration"];
const iterations = Number(opt("--iterations") ?? 30);
const rounds = Number(opt("--rounds") ?? 3);
const latencyOnly = args.includes("--latency-only");
const RESULTS = new URL("../bench/lowbit-results.json", import.meta.url);
const models = (opt("--models") ?? "resnet20,vgg_small,mobilenetv1_w05").split(",");
const FILE: Record<string, string> = { resnet20: "cifar10_resnet20_dev", vgg_small: "cifar10_vgg_small", mobilenetv1_w05: "cifar10_mobilenetv1_w05" };
const PRE = { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] };

const CONFIGS: Record<string, { label: string; o: Partial<QuantizeOptions> }> = {
  w8: { label: "int8", o: {} },
  u4: { label: "uniform W4", o: { weightBits: 4, weightFormat: "uniform" } },
  k4: { label: "k-means W4 (per-channel)", o: { weightBits: 4, weightFormat: "kmeans" } },
  k4l: { label: "k-means W4 (per-layer)", o: { weightBits: 4, weightFormat: "kmeans", codebook: "per-layer" } },
  k3: { label: "k-means W3 (per-channel)", o: { weightBits: 3, weightFormat: "kmeans" } },
  k2: { label: "k-means W2 (per-channel)", o: { weightBits: 2, weightFormat: "kmeans" } },
  p4: { label: "pow2 W4", o: { weightBits: 4, weightFormat: "pow2" } },
  p3: { label: "pow2 W3", o: { weightBits: 3, weightFormat: "pow2" } },
  u2: { label: "uniform W2", o: { weightBits: 2, weightFormat: "uniform" } },
  t2: { label: "ternary W2", o: { weightBits: 2, weightFormat: "ternary" } },
  b1: { label: "binary BWN (W1A8)", o: { weightBits: 1 } },
  x1: { label: "binary XNOR (W1A1)", o: { weightBits: 1, actBits: 1 } },
};
const configs = (opt("--configs") ?? Object.keys(CONFIGS).join(",")).split(",");
for (const c of configs) if (!CONFIGS[c]) throw new Error(`--configs: unknown '${c}' (${Object.keys(CONFIGS).join(", ")})`);

const test = readDataset(`${shared}datasets/cifar10/test_batch.bin`, { limit });
const calib = readDataset(`${shared}datasets/cifar10/data_batch_1.bin`, { limit: calibSize });

/** `qwasm bench`'s batch-1 latency: median of `iterations` runs after a warm-up of 400 ms, SIMD build. */
async function medianLatency(qwm: Uint8Array): Promise<number> {
  const m = await loadModel(qwm, { wasm: { simd: readBuild("simd"), nosimd: readBuild("nosimd") } });
  const [H, W, C] = m.info.input.shape;
  const one = new Uint8Array(H * W * C).map((_, i) => (i * 2654435761) >>> 24);
  // warm-up for 400 ms at least: V8 compiles wasm functions first with its baseline compiler and swaps in the
  // optimized code once a function is hot; a few runs are not enough for every kernel of a large module
  for (let i = 0, t = performance.now(); i < 5 || performance.now() - t < 400; i++) m.run(one);
  const ts: number[] = [];
  for (let i = 0; i < iterations; i++) { const t = performance.now(); m.run(one); ts.push(performance.now() - t); }
  m.dispose();
  return ts.sort((a, b) => a - b)[ts.length >> 1];
}

/** The lowest of `rounds` medians, the models taking turns. */
async function latencies(qwms: Uint8Array[]): Promise<number[]> {
  const best = qwms.map(() => Infinity);
  for (let r = 0; r < rounds; r++) for (let i = 0; i < qwms.length; i++) best[i] = Math.min(best[i], await medianLatency(qwms[i]));
  return best;
}

const results: Record<string, any> = latencyOnly ? JSON.parse(readFileSync(RESULTS, "utf8")) : {};
if (latencyOnly && !existsSync(RESULTS)) throw new Error("--latency-only needs bench/lowbit-results.json (run the report first)");
for (const m of latencyOnly ? Object.keys(results) : models) {
  const onnx = readFileSync(`${shared}models/${FILE[m]}.onnx`);
  const f = floatQwm(onnx, { preprocess: PRE });
  const fp32WeightBytes = describe(f).params * 4;
  const r: any = latencyOnly ? results[m] : { fp32_weight_bytes: fp32WeightBytes, n: test.images.length, calibration, calibration_images: calib.images.length, rows: {} };
  if (!latencyOnly) {
    r.fp32 = (await evaluate(f, test)).accuracy;
    console.error(`${m}: fp32 ${r.fp32.toFixed(4)}`);
  }
  const qwms: Uint8Array[] = [];
  const cs = latencyOnly ? Object.keys(r.rows) : configs;
  for (const c of cs) {
    const t0 = performance.now();
    const q = await quantize(onnx, { calib, calibration, calibSize, preprocess: PRE, ...CONFIGS[c].o });
    const qs = (performance.now() - t0) / 1000;
    qwms.push(q.qwm);
    if (latencyOnly) {
      if (q.qwm.length !== r.rows[c].qwm_bytes) throw new Error(`${m} ${c}: ${q.qwm.length} bytes now, ${r.rows[c].qwm_bytes} in the report (other flags?)`);
      continue;
    }
    const e = await evaluate(q.qwm, test);
    const layers = describe(q.qwm).layers.filter((l) => l.weightBits > 0);
    r.rows[c] = {
      label: CONFIGS[c].label, accuracy: e.accuracy, qwm_bytes: q.qwm.length, weight_bytes: e.weight_bytes,
      compression_vs_fp32_weights: fp32WeightBytes / e.weight_bytes, quantize_s: qs,
      layers: layers.map((l) => `${l.op} W${l.weightBits}`).reduce((acc: Record<string, number>, k) => ({ ...acc, [k]: (acc[k] ?? 0) + 1 }), {}),
    };
    console.error(`${m} ${CONFIGS[c].label}: ${e.accuracy.toFixed(4)}, ${q.qwm.length} bytes (quantized in ${qs.toFixed(1)} s)`);
  }
  const ms = await latencies(qwms);
  cs.forEach((c, i) => { r.rows[c].b1_ms = ms[i]; });
  console.error(`${m} latency (ms): ${cs.map((c, i) => `${c} ${ms[i].toFixed(2)}`).join(", ")}`);
  results[m] = r;
}

const any = Object.values<any>(results)[0];
console.log(`\nCIFAR-10 test accuracy (${any.n} images of test_batch.bin), activations int8 (${any.calibration ?? calibration} on ${any.calibration_images ?? calib.images.length} images of data_batch_1.bin);`);
console.log(`first conv and last layer int8; depthwise layers take the representation too (codebooks: one table per layer). Latency: batch 1, SIMD build, lowest of ${rounds} medians of ${iterations} runs.\n`);
console.log("| model | representation | top-1 | vs fp32 | .qwm bytes | weight bytes | compression vs fp32 weights | latency ms |");
console.log("|---|---|---|---|---|---|---|---|");
for (const [m, r] of Object.entries(results)) {
  console.log(`| ${m} | fp32 | ${r.fp32.toFixed(4)} | - | - | ${r.fp32_weight_bytes} | 1.00x | - |`);
  for (const row of Object.values<any>(r.rows)) {
    console.log(`| ${m} | ${row.label} | ${row.accuracy.toFixed(4)} | ${(row.accuracy - r.fp32 >= 0 ? "+" : "") + ((row.accuracy - r.fp32) * 100).toFixed(2)} pt | ${row.qwm_bytes} | ${row.weight_bytes} | ${row.compression_vs_fp32_weights.toFixed(2)}x | ${row.b1_ms.toFixed(2)} |`);
  }
}
mkdirSync(new URL("../bench/", import.meta.url), { recursive: true });
writeFileSync(RESULTS, JSON.stringify(results, null, 1));
