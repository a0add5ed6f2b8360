// npm run repairs-report: the post-training repairs of issue 7 (src/quantize/repairs/, docs/repairs.md) on every
// model of ../shared/models and the bundled Fashion-MNIST model. Calibration on data_batch_1.bin (--calib-size
// images, default 512; Fashion-MNIST: the first --calib-size training images), evaluation on all of
// test_batch.bin (Fashion-MNIST: all 10,000 test images from /usr/share/datasets/fashion-mnist when installed,
// else the 1,000 of models/data). Rows per model: fp32, W8A8, then at W4A8 per channel naive rounding,
// + CLE, + bias correction, + AdaRound, + MSE weight clipping, all together; the same at W4A8 per tensor; W3
// k-means (naive and all repairs, when the quantizer accepts --weight-format kmeans); W2A8 naive and all.
// Each row: accuracy, .qwm bytes, weight bytes, compression of the weights against fp32, quantize seconds.
// Prints a Markdown table per model and writes bench/repairs-results.json.
// Flags: --limit N (test images), --calib-size N, --models a,b (resnet20,vgg_small,mobilenetv1_w05,fashion),
// --rows substr,substr (only rows whose name contains one), --adaround-iters N (default: the library's),
// --calibration METHOD (activation calibration of every row, default minmax), --print FILE (only print the
// tables of a saved bench/repairs-results.json).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { evaluate, floatQwm, quantize, type QuantizeOptions } from "../src/api.ts";
import { readDataset } from "../src/data/index.ts";

const args = process.argv.slice(2);
const opt = (n: string) => { const i = args.indexOf(n); return i >= 0 ? args[i + 1] : undefined; };
const root = new URL("../", import.meta.url).pathname;
const shared = new URL("../../shared/", import.meta.url).pathname;
const limit = opt("--limit") ? Number(opt("--limit")) : undefined;
const calibSize = Number(opt("--calib-size") ?? 512);
const models = (opt("--models") ?? "resnet20,mobilenetv1_w05,vgg_small,fashion").split(",");
const rowFilter = opt("--rows")?.split(",");
const iters = opt("--adaround-iters") ? Number(opt("--adaround-iters")) : undefined;
const adaround = iters ? { iterations: iters } : true;
const calibration = (opt("--calibration") ?? "minmax") as QuantizeOptions["calibration"];

const CIFAR_PRE = { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] };
const FASHION_PRE = { mean: [0.286], std: [0.353] };
const fashionFull = "/usr/share/datasets/fashion-mnist/";
const SOURCES: Record<string, () => { onnx: string; pre: QuantizeOptions["preprocess"]; calib: string; test: string; anchor?: number }> = {
  resnet20: () => cifar("cifar10_resnet20_dev", "resnet20"),
  vgg_small: () => cifar("cifar10_vgg_small", "vgg_small"),
  mobilenetv1_w05: () => cifar("cifar10_mobilenetv1_w05", "mobilenetv1_w05"),
  fashion: () => ({
    onnx: `${root}models/fashion_mnist_dsres.onnx`, pre: FASHION_PRE,
    calib: existsSync(`${fashionFull}train-images-idx3-ubyte.gz`) ? `${fashionFull}train-images-idx3-ubyte.gz` : `${root}models/data/fashion-train256-images-idx3-ubyte.gz`,
    test: existsSync(`${fashionFull}t10k-images-idx3-ubyte.gz`) ? `${fashionFull}t10k-images-idx3-ubyte.gz` : `${root}models/data/fashion-t10k1000-images-idx3-ubyte.gz`,
  }),
};
const anchors = JSON.parse(readFileSync(`${shared}models/cifar10_anchors.json`, "utf8"));
function cifar(file: string, key: string) {
  return { onnx: `${shared}models/${file}.onnx`, pre: CIFAR_PRE, calib: `${shared}datasets/cifar10/data_batch_1.bin`, test: `${shared}datasets/cifar10/test_batch.bin`, anchor: anchors[key]?.ort_fp32 };
}

const ALL = { cle: true, biasCorrection: true, adaround, weightClip: "mse" as const };
// name -> quantize options (the rows of the issue's table)
const ROWS: [string, QuantizeOptions][] = [
  ["W8A8 per-channel", {}],
  ["W4A8 per-channel naive", { weightBits: 4 }],
  ["W4A8 per-channel +CLE", { weightBits: 4, cle: true }],
  ["W4A8 per-channel +BC", { weightBits: 4, biasCorrection: true }],
  ["W4A8 per-channel +AdaRound", { weightBits: 4, adaround }],
  ["W4A8 per-channel +clip mse", { weightBits: 4, weightClip: "mse" }],
  ["W4A8 per-channel +clip aciq", { weightBits: 4, weightClip: "aciq" }],
  ["W4A8 per-channel all (CLE+BC+AdaRound+clip mse)", { weightBits: 4, ...ALL }],
  ["W4A8 per-tensor naive", { weightBits: 4, perTensor: true }],
  ["W4A8 per-tensor +CLE", { weightBits: 4, perTensor: true, cle: true }],
  ["W4A8 per-tensor +BC", { weightBits: 4, perTensor: true, biasCorrection: true }],
  ["W4A8 per-tensor +AdaRound", { weightBits: 4, perTensor: true, adaround }],
  ["W4A8 per-tensor all (CLE+BC+AdaRound+clip mse)", { weightBits: 4, perTensor: true, ...ALL }],
  // W3 k-means (per-channel 8-entry tables): the repairs work on the table entries (src/quantize/repairs/grid.ts)
  ["W3A8 k-means naive", { weightBits: 3, weightFormat: "kmeans" }],
  ["W3A8 k-means BC+AdaRound", { weightBits: 3, weightFormat: "kmeans", biasCorrection: true, adaround }],
  ["W3A8 k-means all (CLE+BC+AdaRound)", { weightBits: 3, weightFormat: "kmeans", cle: true, biasCorrection: true, adaround }],
  ["W2A8 per-channel naive", { weightBits: 2 }],
  ["W2A8 per-channel all (CLE+BC+AdaRound+clip mse)", { weightBits: 2, ...ALL }],
];

const f4 = (x: number) => x.toFixed(4);
// --print FILE: only print the tables of a saved results file (a run that was stopped keeps its rows)
const printOnly = opt("--print");
const results: Record<string, any> = printOnly ? JSON.parse(readFileSync(printOnly, "utf8")).results : {};
// written after every row, so a long run that is stopped keeps what it measured
const save = () => {
  mkdirSync(new URL("../bench/", import.meta.url), { recursive: true });
  writeFileSync(new URL("../bench/repairs-results.json", import.meta.url), JSON.stringify({ results }, null, 1));
};
for (const m of printOnly ? [] : models) {
  const src = SOURCES[m]();
  const onnx = readFileSync(src.onnx);
  const test = readDataset(src.test, { limit });
  const calib = readDataset(src.calib, { limit: calibSize });
  const fp = await evaluate(floatQwm(onnx, { preprocess: src.pre }), test);
  const r: any = results[m] = { test_images: test.images.length, calibration_images: calib.images.length, fp32: fp.accuracy, fp32_weight_bytes: fp.weight_bytes, ort_fp32: src.anchor, rows: {} };
  console.error(`${m}: fp32 ${f4(fp.accuracy)} on ${test.images.length} images`);
  for (const [name, o] of ROWS) {
    if (rowFilter && !rowFilter.some((f) => name.includes(f))) continue;
    const t0 = performance.now();
    let q;
    try {
      q = await quantize(onnx, { calib, calibration, calibSize, preprocess: src.pre, ...o });
    } catch (e: any) {
      r.rows[name] = { error: `${e.name}: ${e.message}` };
      console.error(`${m} ${name}: not available (${e.message})`);
      continue;
    }
    const secs = (performance.now() - t0) / 1000;
    const e = await evaluate(q.qwm, test);
    r.rows[name] = { accuracy: e.accuracy, drop: fp.accuracy - e.accuracy, bytes: q.qwm.length, weight_bytes: e.weight_bytes, compression: e.compression_ratio, quantize_s: secs, repairs: q.repairs };
    save();
    console.error(`${m} ${name}: ${f4(e.accuracy)} (${(e.accuracy - fp.accuracy >= 0 ? "+" : "") + (e.accuracy - fp.accuracy).toFixed(4)}) ${q.qwm.length} B, x${e.compression_ratio.toFixed(2)}, ${secs.toFixed(1)} s`);
  }
  // CLE keeps the float function: the fp32 accuracy of the equalized float graph (ReLU6 -> ReLU included)
  if (!rowFilter || rowFilter.some((f) => "fp32 after CLE".includes(f))) {
    const q = await quantize(onnx, { calib, calibration, calibSize, preprocess: src.pre, cle: true });
    const { lowerFloat } = await import("../src/pack/lower.ts");
    const { writeQwm } = await import("../src/pack/qwm.ts");
    r.fp32_after_cle = (await evaluate(writeQwm(lowerFloat(q.graph).program), test)).accuracy;
    console.error(`${m} fp32 after CLE: ${f4(r.fp32_after_cle)}`);
    save();
  }
}

for (const [m, r] of Object.entries(results)) {
  console.log(`\n### ${m}: test ${r.test_images} images, calibration ${r.calibration_images} images (${calibration})\n`);
  console.log(`fp32 ${f4(r.fp32)}${r.ort_fp32 ? ` (ORT ${f4(r.ort_fp32)})` : ""}, fp32 weights ${r.fp32_weight_bytes} B${r.fp32_after_cle !== undefined ? `; fp32 after CLE ${f4(r.fp32_after_cle)}` : ""}\n`);
  console.log("| configuration | top-1 | vs fp32 | .qwm bytes | weight bytes | compression | quantize s |");
  console.log("|---|---|---|---|---|---|---|");
  for (const [name, x] of Object.entries<any>(r.rows)) {
    if (x.error) { console.log(`| ${name} | not available: ${x.error.replace(/\|/g, "/")} | | | | | |`); continue; }
    console.log(`| ${name} | ${f4(x.accuracy)} | ${(x.accuracy - r.fp32 >= 0 ? "+" : "") + (x.accuracy - r.fp32).toFixed(4)} | ${x.bytes} | ${x.weight_bytes} | ${x.compression.toFixed(2)}x | ${x.quantize_s.toFixed(1)} |`);
  }
}
const goal = (m: string, d: number) => {
  const r = results[m];
  if (!r) return undefined;
  const best = Math.max(...Object.entries<any>(r.rows).filter(([k, x]) => k.startsWith("W4A8 per-channel") && !k.includes("naive") && !x.error).map(([, x]) => x.accuracy));
  return { best, target: r.fp32 - d, met: best >= r.fp32 - d };
};
const goals = { resnet20: goal("resnet20", 0.008), mobilenetv1_w05: goal("mobilenetv1_w05", 0.02) };
console.log(`\ngoals (best W4A8 per-channel with repairs): ${JSON.stringify(goals)}`);
if (!printOnly) {
  mkdirSync(new URL("../bench/", import.meta.url), { recursive: true });
  writeFileSync(new URL("../bench/repairs-results.json", import.meta.url), JSON.stringify({ results, goals }, null, 1));
}
