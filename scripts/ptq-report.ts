// npm run ptq-report: post-training int8 quantization on every model of ../shared/models, measured the way
// issue 5 asks: calibrate on data_batch_1.bin (--calib-size images), evaluate on all of test_batch.bin.
// Per model: fp32 (our engine) against ORT's fp32, W8A8 per calibration method, the default (auto) choice,
// and ORT's own QDQ model quantized without calibration against ORT's int8 figure. Prints a Markdown table
// and writes bench/ptq-results.json.
// Flags: --limit N (test images, default all), --calib-size N (default 512), --models a,b (default all three).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { evaluate, floatQwm, quantize } from "../src/api.ts";
import { CALIBRATION_METHODS } from "../src/calibrate/index.ts";
import { readDataset } from "../src/data/index.ts";

const args = process.argv.slice(2);
const opt = (n: string) => { const i = args.indexOf(n); return i >= 0 ? args[i + 1] : undefined; };
const shared = new URL("../../shared/", import.meta.url).pathname;
const limit = opt("--limit") ? Number(opt("--limit")) : undefined;
const calibSize = Number(opt("--calib-size") ?? 512);
const models = (opt("--models") ?? "resnet20,vgg_small,mobilenetv1_w05").split(",");
const FILE: Record<string, string> = { resnet20: "cifar10_resnet20_dev", vgg_small: "cifar10_vgg_small", mobilenetv1_w05: "cifar10_mobilenetv1_w05" };
const PRE = { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] };
const anchors = JSON.parse(readFileSync(`${shared}models/cifar10_anchors.json`, "utf8"));
const test = readDataset(`${shared}datasets/cifar10/test_batch.bin`, { limit });
const calib = readDataset(`${shared}datasets/cifar10/data_batch_1.bin`, { limit: calibSize });
const f4 = (x: number) => x.toFixed(4);

const results: Record<string, any> = {};
for (const m of models) {
  const onnx = readFileSync(`${shared}models/${FILE[m]}.onnx`);
  const a = anchors[m];
  const r: any = { n: test.images.length, calibration_images: calib.images.length, ort_fp32: a.ort_fp32 };
  r.fp32 = (await evaluate(floatQwm(onnx, { preprocess: PRE }), test)).accuracy;
  r.w8a8 = {};
  for (const method of CALIBRATION_METHODS) {
    const q = await quantize(onnx, { calib, calibration: method, calibSize, preprocess: PRE });
    const e = await evaluate(q.qwm, test);
    r.w8a8[method] = { accuracy: e.accuracy, bytes: q.qwm.length };
    console.error(`${m} ${method}: ${f4(e.accuracy)}`);
  }
  const auto = await quantize(onnx, { calib, calibration: "auto", calibSize, preprocess: PRE });
  const ae = await evaluate(auto.qwm, test);
  r.default = { method: auto.method, accuracy: ae.accuracy, bytes: auto.qwm.length, ms_per_image: ae.ms_per_image, scores: auto.scores };
  const qdq = await quantize(readFileSync(`${shared}models/${FILE[m]}_ort_qdq.onnx`), { preprocess: PRE });
  r.qdq = { accuracy: (await evaluate(qdq.qwm, test)).accuracy, ort_int8_minmax_qint8: a.ort_int8_minmax_qint8, bytes: qdq.qwm.length };
  const ortInt8 = Object.entries(a).filter(([k]) => /^ort_int8_[a-z]+_q?u?int8$/.test(k)).map(([, v]) => v as number);
  r.best_ort_int8 = Math.max(...ortInt8);
  r.checks = {
    fp32_vs_ort_within_0_0005: Math.abs(r.fp32 - a.ort_fp32) <= 0.0005,
    default_within_0_002_of_fp32: r.fp32 - ae.accuracy <= 0.002,
    default_not_below_best_ort_int8_by_0_001: r.best_ort_int8 - ae.accuracy <= 0.001,
    qdq_within_0_001_of_ort_minmax: Math.abs(r.qdq.accuracy - a.ort_int8_minmax_qint8) <= 0.001,
  };
  results[m] = r;
  console.error(`${m}: ${JSON.stringify(r.checks)}`);
}

console.log(`\nCIFAR-10 test accuracy (${test.images.length} images), calibration on the first ${calib.images.length} images of data_batch_1.bin\n`);
console.log(`| model | ORT fp32 | ours fp32 | ${CALIBRATION_METHODS.map((x) => `W8A8 ${x}`).join(" | ")} | default (method) | best ORT int8 | ORT QDQ -> ours | ORT int8 minmax |`);
console.log(`|---|---|---|${CALIBRATION_METHODS.map(() => "---").join("|")}|---|---|---|---|`);
for (const [m, r] of Object.entries(results)) {
  console.log(`| ${m} | ${f4(r.ort_fp32)} | ${f4(r.fp32)} | ${CALIBRATION_METHODS.map((x) => f4(r.w8a8[x].accuracy)).join(" | ")} | ${f4(r.default.accuracy)} (${r.default.method}) | ${f4(r.best_ort_int8)} | ${f4(r.qdq.accuracy)} | ${f4(r.qdq.ort_int8_minmax_qint8)} |`);
}
mkdirSync(new URL("../bench/", import.meta.url), { recursive: true });
writeFileSync(new URL("../bench/ptq-results.json", import.meta.url), JSON.stringify(results, null, 1));
const failed = Object.entries(results).flatMap(([m, r]) => Object.entries(r.checks).filter(([, ok]) => !ok).map(([k]) => `${m}: ${k}`));
console.log(failed.length ? `\nchecks failed: ${failed.join(", ")}` : "\nall checks passed");
