// npm run demo: the main job on the bundled default model. Quantizes models/fashion_mnist_dsres.onnx with 256
// unlabeled training images, evaluates fp32 and int8 on the Fashion-MNIST test images (all 10,000 when Debian's
// dataset-fashion-mnist is installed, else the bundled 1,000), classifies the bundled sample images with the
// SDK, and prints a table. Writes build/demo/fashion_mnist_dsres.qwm.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { evaluate, floatQwm, quantize, type EvalReport } from "../src/api.ts";
import { decodeImage, readDataset, readLabels } from "../src/data/index.ts";
import { loadModel } from "../sdk/hosts/node.ts";
import { readBuild } from "../src/wasm/module.ts";

const root = new URL("../", import.meta.url);
const path = (p: string) => new URL(p, root).pathname;
const MODEL = path("models/fashion_mnist_dsres.onnx");
const PRE = { mean: [0.286], std: [0.353] };
const labels = readLabels(path("models/fashion_mnist_labels.txt"));
const debian = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
const testSet = existsSync(debian) ? debian : path("models/data/fashion-t10k1000-images-idx3-ubyte.gz");

console.log(`qwasm demo: ${MODEL.replace(path(""), "")}\n`);
const calib = readDataset(path("models/data/fashion-train256-images-idx3-ubyte.gz"));
const q = await quantize(readFileSync(MODEL), { calib, preprocess: PRE, labels });
mkdirSync(path("build/demo"), { recursive: true });
const out = path("build/demo/fashion_mnist_dsres.qwm");
writeFileSync(out, q.qwm);
console.log(`quantized with ${q.method} calibration on ${q.calibrationImages} training images (chosen on held-out calibration images):`);
for (const s of q.scores ?? []) console.log(`  ${s.method.padEnd(10)} agreement with fp32 ${(100 * s.agreement).toFixed(1)}%  logits MSE ${s.mse.toExponential(2)}`);

const test = readDataset(testSet);
console.log(`\nevaluating on ${test.images.length} test images (${testSet.replace(path(""), "")})`);
const fp32 = await evaluate(floatQwm(readFileSync(MODEL), { preprocess: PRE, labels }), test, { modelBytes: readFileSync(MODEL).length });
const int8 = await evaluate(q.qwm, test);

// batch-1 latency through the SDK, the way an application runs it
const model = await loadModel(q.qwm, { wasm: { simd: readBuild("simd"), nosimd: readBuild("nosimd") } });
const fmodel = await loadModel(floatQwm(readFileSync(MODEL), { preprocess: PRE, labels }), { wasm: { simd: readBuild("simd"), nosimd: readBuild("nosimd") } });
const latency = (m: typeof model) => {
  const px = new Uint8Array(28 * 28);
  for (let i = 0; i < 20; i++) m.run(px);
  const ts: number[] = [];
  for (let i = 0; i < 200; i++) { const t = performance.now(); m.run(px); ts.push(performance.now() - t); }
  return ts.sort((a, b) => a - b)[100];
};
const row = (name: string, r: EvalReport, ms: number, bytes: number) =>
  `| ${name.padEnd(6)} | ${(100 * r.accuracy).toFixed(2).padStart(6)}% | ${(100 * r.top5).toFixed(2).padStart(6)}% | ${String(bytes).padStart(9)} | ${String(r.weight_bytes).padStart(9)} | ${(r.compression_ratio || 1).toFixed(2).padStart(5)}x | ${ms.toFixed(3).padStart(8)} |`;
console.log("\n| model  |  top-1  |  top-5  | file bytes | weight bytes | ratio | ms (b=1) |");
console.log("|--------|---------|---------|-----------|-----------|--------|----------|");
console.log(row("fp32", fp32, latency(fmodel), readFileSync(MODEL).length));
console.log(row("int8", int8, latency(model), q.qwm.length));
console.log(`\nint8 - fp32 accuracy: ${(100 * (int8.accuracy - fp32.accuracy)).toFixed(2)} points; wasm build: ${model.info.build}; written: build/demo/fashion_mnist_dsres.qwm`);

console.log("\nsample images (models/samples):");
const dir = path("models/samples");
let right = 0, total = 0;
for (const f of readdirSync(dir).filter((x) => x.endsWith(".png")).sort()) {
  const [top] = model.classify(decodeImage(readFileSync(`${dir}/${f}`), f), { topK: 1 });
  const truth = Number(f.slice(0, 2));
  total++;
  if (top.index === truth) right++;
  console.log(`  ${f.padEnd(30)} -> ${top.label.padEnd(12)} ${(100 * top.score).toFixed(1).padStart(5)}%${top.index === truth ? "" : `   (is ${labels[truth]})`}`);
}
console.log(`  ${right}/${total} correct`);
model.dispose();
fmodel.dispose();
