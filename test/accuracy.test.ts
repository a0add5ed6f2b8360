// Accuracy on ../shared/models against the figures in cifar10_anchors.json, on all 10,000 test images:
// our fp32 engine reproduces onnxruntime's fp32 accuracy (within 0.0005); ORT's QDQ models quantized without
// calibration score within 0.001 of ORT's own int8; our default W8A8 (calibrated on data_batch_1.bin) is
// within 0.002 of fp32 and not below the best ORT int8 figure by more than 0.001.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { evaluate, floatQwm, quantize } from "../src/api.ts";
import { readDataset } from "../src/data/index.ts";
import { ROOT, testIf } from "./helpers/tools.ts";

const SHARED = join(ROOT, "../shared");
const have = existsSync(join(SHARED, "models/cifar10_anchors.json")) && existsSync(join(SHARED, "datasets/cifar10/test_batch.bin"));
const PRE = { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] };
const MODELS = { resnet20: "cifar10_resnet20_dev", vgg_small: "cifar10_vgg_small", mobilenetv1_w05: "cifar10_mobilenetv1_w05" };
const anchors = have ? JSON.parse(readFileSync(join(SHARED, "models/cifar10_anchors.json"), "utf8")) : {};
const testSet = have ? readDataset(join(SHARED, "datasets/cifar10/test_batch.bin")) : undefined;
const calib = have ? readDataset(join(SHARED, "datasets/cifar10/data_batch_1.bin"), { limit: 256 }) : undefined;
const why = "../shared/models and ../shared/datasets/cifar10 are not present";

for (const [key, file] of Object.entries(MODELS)) {
  testIf(have, `${key}: fp32 on our engine = onnxruntime fp32 within 0.0005; ORT's QDQ model within 0.001 of ORT int8; default W8A8 within targets`, why, async () => {
    const a = anchors[key];
    const onnx = readFileSync(join(SHARED, `models/${file}.onnx`));
    const fp32 = (await evaluate(floatQwm(onnx, { preprocess: PRE }), testSet!)).accuracy;
    const qdq = (await evaluate((await quantize(readFileSync(join(SHARED, `models/${file}_ort_qdq.onnx`)), { preprocess: PRE })).qwm, testSet!)).accuracy;
    const q = await quantize(onnx, { calib: calib!, preprocess: PRE });
    const w8a8 = (await evaluate(q.qwm, testSet!)).accuracy;
    const bestOrt = Math.max(...Object.entries(a).filter(([k]) => /^ort_int8_[a-z]+_q?u?int8$/.test(k)).map(([, v]) => v as number));
    console.log(`    ${key}: fp32 ${fp32} (ORT ${a.ort_fp32}); QDQ ${qdq} (ORT int8 minmax ${a.ort_int8_minmax_qint8}); W8A8 ${q.method} ${w8a8} (best ORT int8 ${bestOrt})`);
    assert.ok(Math.abs(fp32 - a.ort_fp32) <= 0.0005, `fp32 ${fp32} vs ORT ${a.ort_fp32}`);
    assert.ok(Math.abs(qdq - a.ort_int8_minmax_qint8) <= 0.001, `QDQ ${qdq} vs ORT ${a.ort_int8_minmax_qint8}`);
    assert.ok(fp32 - w8a8 <= 0.002, `W8A8 ${w8a8} vs fp32 ${fp32}`);
    assert.ok(bestOrt - w8a8 <= 0.001, `W8A8 ${w8a8} vs best ORT int8 ${bestOrt}`);
  });
}

test.run();
