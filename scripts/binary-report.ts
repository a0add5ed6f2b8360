// Binary / low-bit depthwise report (issue #6): accuracy and size of ResNet-20 and
// MobileNetV1-w0.5 with naive (post-training) binary XNOR inner layers, and of MobileNetV1 with 2-bit / ternary /
// BWN / XNOR depthwise layers (pointwise layers int8, then every inner layer low-bit). Calibration on
// data_batch_1.bin (--calib-size, default 512; the method the toolkit's "auto" picks, once per model), evaluation
// on all of test_batch.bin (--limit N for fewer), CIFAR mean / std as in scripts/ptq-report.ts.
// Run: node --import tsx scripts/binary-report.ts [--limit N] [--calib-size N] [--models resnet20,mobilenetv1_w05]
//      [--configs REGEX] (only the rows whose name matches)
import { readFileSync } from "node:fs";
import { evaluate, loadOnnx, modelPixels } from "../src/api.ts";
import { chooseCalibration } from "../src/calibrate/index.ts";
import { normalizedFloats, readDataset } from "../src/data/index.ts";
import type { Graph } from "../src/ir/graph.ts";
import { lowerQuantized } from "../src/pack/lower.ts";
import { writeQwm } from "../src/pack/qwm.ts";
import { readQwm } from "../src/pack/read.ts";
import { Op } from "../assembly/runtime/schema.ts";
import { quantizeGraph, type Ranges } from "../src/quantize/graph.ts";
import { applyLowBit } from "../src/quantize/lowbit.ts";
import { applyXnor, binaryActStats, innerLayers } from "../src/quantize/binary.ts";
import { readBuild } from "../src/wasm/module.ts";

const args = process.argv.slice(2);
const opt = (n: string) => { const i = args.indexOf(n); return i >= 0 ? args[i + 1] : undefined; };
const shared = new URL("../../shared/", import.meta.url).pathname;
const limit = opt("--limit") ? Number(opt("--limit")) : undefined;
const calibSize = Number(opt("--calib-size") ?? 512);
const models = (opt("--models") ?? "resnet20,mobilenetv1_w05").split(",");
const only = opt("--configs") ? new RegExp(opt("--configs")!) : undefined; // a regex over the row names
const FILE: Record<string, string> = { resnet20: "cifar10_resnet20_dev", vgg_small: "cifar10_vgg_small", mobilenetv1_w05: "cifar10_mobilenetv1_w05" };
const PRE = { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] };
const test = readDataset(`${shared}datasets/cifar10/test_batch.bin`, { limit });
const calib = readDataset(`${shared}datasets/cifar10/data_batch_1.bin`, { limit: calibSize });
const wasm = readBuild("simd");

type Config = { name: string; bits: number; format?: "uniform" | "ternary"; xnor?: boolean; depthwiseOnly?: boolean; only?: number[] };
const CONFIGS: Record<string, Config[]> = {
  resnet20: [
    { name: "int8", bits: 8 },
    { name: "BWN inner layers (W1A8)", bits: 1 },
    { name: "XNOR inner layers (W1A1)", bits: 1, xnor: true },
    // one binary layer at a time: what each costs on its own (the sanity check of the path: well above chance)
    { name: "XNOR on inner layer 1 only", bits: 1, xnor: true, only: [0] },
    { name: "XNOR on inner layer 8 only", bits: 1, xnor: true, only: [7] },
    { name: "XNOR on inner layer 17 only", bits: 1, xnor: true, only: [16] },
  ],
  mobilenetv1_w05: [
    { name: "int8", bits: 8 },
    { name: "depthwise 2-bit uniform, pointwise int8", bits: 2, depthwiseOnly: true },
    { name: "depthwise ternary, pointwise int8", bits: 2, format: "ternary", depthwiseOnly: true },
    { name: "depthwise BWN, pointwise int8", bits: 1, depthwiseOnly: true },
    { name: "depthwise XNOR, pointwise int8", bits: 1, xnor: true, depthwiseOnly: true },
    { name: "inner layers 2-bit uniform", bits: 2 },
    { name: "inner layers ternary", bits: 2, format: "ternary" },
    { name: "inner layers BWN", bits: 1 },
    { name: "inner layers XNOR", bits: 1, xnor: true },
  ],
};

async function build(g: Graph, ranges: Ranges, floats: Float32Array[], c: Config): Promise<Uint8Array> {
  const qg = quantizeGraph(g, ranges);
  const isDw = (name: string) => g.nodes.some((n) => n.name === name && n.op === "conv" && n.groups !== 1);
  if (c.xnor) {
    const names = innerLayers(g).filter((n, i) => (!c.depthwiseOnly || isDw(n)) && (!c.only || c.only.includes(i)));
    const inputs = names.map((name) => (g.nodes.find((n) => n.name === name) as { input: string }).input);
    applyXnor(g, qg, names, await binaryActStats(g, wasm, floats.slice(0, 64), inputs, qg.act));
  } else if (c.bits !== 8) {
    applyLowBit(g, qg, { bits: c.bits, format: c.format, only: c.depthwiseOnly ? isDw : undefined });
  }
  return writeQwm(lowerQuantized(g, qg).program);
}

const rows: string[] = [];
for (const m of models) {
  const g = loadOnnx(readFileSync(`${shared}models/${FILE[m]}.onnx`), { preprocess: PRE }).graph;
  const px = modelPixels(g, calib);
  const floats = px.map((p) => normalizedFloats(p, g.preprocess));
  const choice = await chooseCalibration(g, wasm, px, {});
  console.error(`${m}: calibration ${choice.method} on ${px.length} images`);
  for (const c of (CONFIGS[m] ?? []).filter((x) => !only || only.test(x.name))) {
    const qwm = await build(g, choice.ranges, floats, c);
    const e = await evaluate(qwm, test);
    // the layers as they run: a 2-bit / binary layer whose multiplier would reach 1 is stored as int4 / int8
    // with its integers scaled by 2^e (src/pack/lower.ts), so count the ops
    const count = new Map<string, number>();
    for (const o of readQwm(qwm).ops) if (o.op !== Op.SignQb1 && (o.op >= Op.Conv2dQs4 || o.op === Op.Conv2dQs8 || o.op === Op.DwConv2dQs8 || o.op === Op.DenseQs8)) count.set(Op[o.op], (count.get(Op[o.op]) ?? 0) + 1);
    const ops = [...count].map(([k, n]) => `${n} ${k}`).join(", ");
    const row = `| ${m} | ${c.name} | ${(100 * e.accuracy).toFixed(2)}% | ${qwm.length.toLocaleString("en-US")} | ${e.weight_bytes.toLocaleString("en-US")} | ${e.compression_ratio.toFixed(2)}x | ${(e.bops / 1e9).toFixed(2)} | ${ops} |`;
    console.error(row);
    rows.push(row);
  }
}
console.log(`\nCIFAR-10 test accuracy (${test.images.length} images), calibration on the first ${calib.images.length} images of data_batch_1.bin, naive post-training\n`);
console.log("| model | layers | top-1 | .qwm bytes | weight bytes | compression vs fp32 | G BOPs | weighted ops |");
console.log("|---|---|---|---|---|---|---|---|");
for (const r of rows) console.log(r);
