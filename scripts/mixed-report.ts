// npm run mixed-report: automatic mixed precision (issue 7) on every model of ../shared/models and the bundled
// Fashion-MNIST model. Per model: fp32 and W8A8 on our engine, then quantize --avg-bits B (default 4.5): bits per
// layer from the sensitivity table (each layer alone at 8 / 4 / 2 bits, the rest int8, KL of the logits against
// fp32 on 256 held-out calibration images) by the exact knapsack, first and last layers at 8 bits.
// CIFAR-10 models calibrate on data_batch_1.bin (the first --calib-size images; the next 256 are held out for
// the sensitivity) and are evaluated on all of test_batch.bin; the bundled model on Fashion-MNIST's training and
// test images (Debian dataset-fashion-mnist, else the small subsets in models/data).
// Prints a Markdown table and the per-layer choices, and writes bench/mixed-results.json.
// Flags: --limit N (test images), --calib-size N (default 512, as ptq-report), --avg-bits B (default 4.5), --calibration M
// (default minmax), --models a,b (resnet20, vgg_small, mobilenetv1_w05, fashion).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { describe, evaluate, floatQwm, quantize, type QuantizeOptions } from "../src/api.ts";
import { readDataset, type Dataset } from "../src/data/index.ts";

const args = process.argv.slice(2);
const opt = (n: string) => { const i = args.indexOf(n); return i >= 0 ? args[i + 1] : undefined; };
const shared = new URL("../../shared/", import.meta.url).pathname;
const root = new URL("../", import.meta.url).pathname;
const limit = opt("--limit") ? Number(opt("--limit")) : undefined;
const calibSize = Number(opt("--calib-size") ?? 512);
const avgBits = Number(opt("--avg-bits") ?? 4.5);
const calibration = (opt("--calibration") ?? "minmax") as QuantizeOptions["calibration"];
const models = (opt("--models") ?? "resnet20,vgg_small,mobilenetv1_w05,fashion").split(",");
const CIFAR_PRE = { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] };
const FMNIST = "/usr/share/datasets/fashion-mnist/";
const fashionData = existsSync(`${FMNIST}t10k-images-idx3-ubyte.gz`)
  ? { calib: `${FMNIST}train-images-idx3-ubyte.gz`, test: `${FMNIST}t10k-images-idx3-ubyte.gz` }
  : { calib: `${root}models/data/fashion-train256-images-idx3-ubyte.gz`, test: `${root}models/data/fashion-t10k1000-images-idx3-ubyte.gz` };
const SPEC: Record<string, { onnx: string; pre: QuantizeOptions["preprocess"]; calib: string; test: string }> = {
  resnet20: { onnx: `${shared}models/cifar10_resnet20_dev.onnx`, pre: CIFAR_PRE, calib: `${shared}datasets/cifar10/data_batch_1.bin`, test: `${shared}datasets/cifar10/test_batch.bin` },
  vgg_small: { onnx: `${shared}models/cifar10_vgg_small.onnx`, pre: CIFAR_PRE, calib: `${shared}datasets/cifar10/data_batch_1.bin`, test: `${shared}datasets/cifar10/test_batch.bin` },
  mobilenetv1_w05: { onnx: `${shared}models/cifar10_mobilenetv1_w05.onnx`, pre: CIFAR_PRE, calib: `${shared}datasets/cifar10/data_batch_1.bin`, test: `${shared}datasets/cifar10/test_batch.bin` },
  fashion: { onnx: `${root}models/fashion_mnist_dsres.onnx`, pre: { mean: [0.286], std: [0.353] }, ...fashionData },
};
const f4 = (x: number) => x.toFixed(4);
const log = (s: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${s}\n`);

const results: Record<string, any> = {};
for (const m of models) {
  const s = SPEC[m];
  if (!s) throw new Error(`unknown model '${m}' (${Object.keys(SPEC).join(", ")})`);
  const onnx = new Uint8Array(readFileSync(s.onnx));
  const test: Dataset = readDataset(s.test, { limit });
  const calib = readDataset(s.calib, { limit: calibSize + 256 });
  log(`${m}: fp32 on ${test.images.length} test images`);
  const fq = floatQwm(onnx, { preprocess: s.pre });
  const fp32 = await evaluate(fq, test);
  const base = { calib, calibSize, calibration, preprocess: s.pre } satisfies QuantizeOptions;
  log(`${m}: fp32 ${f4(fp32.accuracy)}; W8A8`);
  const q8 = await quantize(onnx, base);
  const e8 = await evaluate(q8.qwm, test);
  log(`${m}: W8A8 ${f4(e8.accuracy)}; mixed at <= ${avgBits} average bits (sensitivity, knapsack)`);
  const t0 = performance.now();
  const mq = await quantize(onnx, { ...base, avgBits, onProgress: (d, n, w) => { if (w === "sensitivity" && (d % 10 === 0 || d === n)) log(`${m}: ${w} ${d}/${n}`); } });
  const secs = (performance.now() - t0) / 1000;
  const em = await evaluate(mq.qwm, test);
  const d = describe(mq.qwm);
  const mc = mq.mixed!.choice;
  results[m] = {
    n: test.images.length, calibration_images: mq.calibrationImages, held_out_images: mq.mixed!.table.heldOutImages, calibration: mq.method,
    fp32: fp32.accuracy, fp32_weight_bytes: d.params * 4,
    w8a8: { accuracy: e8.accuracy, bytes: q8.qwm.length, weight_bytes: e8.weight_bytes, compression_ratio: e8.compression_ratio },
    mixed: {
      avg_bits_budget: avgBits, avg_bits: d.avgWeightBits, accuracy: em.accuracy, bytes: mq.qwm.length, weight_bytes: em.weight_bytes,
      compression_ratio: em.compression_ratio, predicted_kl: mc.predictedLoss, bits_per_layer: mc.bitsPerLayer, quantize_seconds: secs,
      sensitivity_seconds: mq.mixed!.table.seconds, drop_vs_fp32: fp32.accuracy - em.accuracy,
    },
  };
  log(`${m}: mixed ${f4(em.accuracy)} at ${d.avgWeightBits.toFixed(3)} bits, ${mq.qwm.length} bytes (${secs.toFixed(0)} s)`);
}

console.log(`\nMixed precision at <= ${avgBits} average weight bits (parameter-weighted over conv / dense / depthwise weights, first and last layers at 8 bits), ${calibration} calibration on ${calibSize} images, sensitivity on the next 256\n`);
console.log("| model | test images | fp32 | W8A8 | W8A8 bytes | mixed | drop vs fp32 | avg bits | .qwm bytes | weights bytes | compression vs fp32 weights |");
console.log("|---|---|---|---|---|---|---|---|---|---|---|");
for (const [m, r] of Object.entries(results)) {
  console.log(`| ${m} | ${r.n} | ${f4(r.fp32)} | ${f4(r.w8a8.accuracy)} | ${r.w8a8.bytes} | ${f4(r.mixed.accuracy)} | ${f4(r.mixed.drop_vs_fp32)} | ${r.mixed.avg_bits.toFixed(3)} | ${r.mixed.bytes} | ${r.mixed.weight_bytes} | ${r.mixed.compression_ratio.toFixed(2)}x |`);
}
for (const [m, r] of Object.entries(results)) console.log(`\n${m} bits per layer: ${Object.entries(r.mixed.bits_per_layer).map(([k, b]) => `${k}=${b}`).join(" ")}`);
if (results.resnet20) console.log(`\nResNet-20 goal (mixed >= fp32 - 0.005 at <= 4.5 bits): ${results.resnet20.mixed.drop_vs_fp32 <= 0.005 && results.resnet20.mixed.avg_bits <= 4.5 ? "met" : "NOT met"}`);
mkdirSync(new URL("../bench/", import.meta.url), { recursive: true });
writeFileSync(new URL("../bench/mixed-results.json", import.meta.url), JSON.stringify(results, null, 1));
