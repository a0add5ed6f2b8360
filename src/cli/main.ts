// The `qwasm` command line: quantize, sensitivity, eval, inspect, classify, bench, export-c, report, finetune, train. A user mistake prints one line
// ("qwasm: ...") and exits non-zero; --json prints exactly one JSON object on stdout.
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, extname, join } from "node:path";
import { describe, evaluate, floatQwm, quantize, QwmUsageError, VERSION, type Progress } from "../api.ts";
import { CALIBRATION_METHODS } from "../calibrate/index.ts";
import { decodeImage, readDataset, readLabels } from "../data/index.ts";
import { loadModel } from "../../sdk/hosts/node.ts";
import type { Preprocess } from "../ir/graph.ts";
import { readBuild } from "../wasm/module.ts";
import { overwrittenInput, writeFileAtomic } from "./atomic.ts";
import { isCIdentifier, qwmToCHeader } from "../pack/c_header.ts";
import { collectReport, paretoFront, renderReport, selectConfigs, CONFIGS } from "../report/index.ts";
import { sensitivity } from "../quantize/sensitivity.ts";
import { trainCommand, TRAIN_FLAGS } from "./train.ts";

/** The SDK's model over the builds Node runs, read from this package's build/ (the CLI may be bundled). */
const sdkModel = (bytes: Uint8Array) => loadModel(bytes, { wasm: { simd: readBuild("simd"), nosimd: readBuild("nosimd") } });

const HELP = `qwasm ${VERSION}: quantize image classifiers and run them integer-only on WebAssembly

Usage:
  qwasm quantize MODEL.onnx --calib DATA --out M.qwm [--calibration auto|minmax|percentile|mse|kl]
                 [--calib-size N] [--percentile P] [--per-tensor] [--mean a,b,c --std a,b,c] [--labels FILE]
                 [--weights 8|4|3|2|1 [--weight-format uniform|ternary|kmeans|pow2] [--codebook per-channel|per-layer]
                  [--low-bit-ends]] [--acts 8|1]   (3 bits: kmeans or pow2 only; kmeans 1..8 bits, pow2 3 or 4;
                  --codebook: k-means tables per output channel, the default, or one per layer (a scale per
                  channel either way); depthwise layers always share one table;
                  --weights 1 --acts 1: binary XNOR layers, sign + XNOR-popcount; first conv and last layer 8-bit)
                 [--cle] [--bias-correction] [--adaround [--adaround-iters N]] [--weight-clip mse|aciq]
                 [--size-budget KiB | --avg-bits B] [--bits-per-layer name=b,...]
                 (a QDQ or QONNX model needs no --calib: its own scales are used)
                 --size-budget KiB: mixed precision, bits per layer (8, 4, 2, 1) chosen so that the packed weights
                 (the .qwm weights section, 1 KiB = 1024 bytes) fit, with the least predicted loss; --avg-bits B:
                 the same under a parameter-weighted average of weight bits. Sensitivity is measured on 256
                 calibration images after the first --calib-size. First and last layers stay at 8 bits unless
                 --low-bit-ends.
  qwasm sensitivity MODEL.onnx --calib DATA [--bits 8,4,2] [--calib-size N] [--held-out N] [--json]
                 (per layer: KL of the logits and top-1 agreement with fp32 when that layer alone is at b bits,
                 every other layer int8, on held-out calibration images)
  qwasm eval (M.qwm | MODEL.onnx) --data DATA [--limit N] [--json] [--labels-file FILE]
                 (an .onnx takes the preprocessing flags of quantize and runs in fp32)
  qwasm inspect M.qwm [--json]
  qwasm classify M.qwm IMAGE... [--top K] [--json]
  qwasm bench M.qwm [--batch N] [--data DATA [--limit N]] [--json]
  qwasm export-c M.qwm --out model.h [--name qwm_model]   (the model as a 16-byte aligned C array, for wasm2c hosts)
  qwasm report MODEL.onnx --calib DATA --data DATA --out report.html [--configs ID,ID,...] [--limit N]
                 [--detail ID] [--save-models DIR] [--sensitivity-bits 8,4,2,1] [--held-out N] [--calibration ...] [--calib-size N]
                 [--mean a,b,c --std a,b,c] [--labels FILE] [--labels-file FILE] [--json]
                 (one self-contained HTML file: accuracy vs size with the Pareto front, metrics, layer
                 sensitivity, weight histograms on their quantization grid, per-layer table; docs/report.md;
                 the --held-out N (default 256) calibration images after --calib-size score the sensitivity
                 and the mixed-precision search)
                 configurations: ${CONFIGS.map((c) => c.id).join(", ")}
  qwasm finetune MODEL.onnx --data DATA --out M.qwm [--test DATA] [--weights 4|2|1|8|32] [--acts 4|3|2|1|8|32]
                 [--method lsq|pact|dorefa|ste|ste-clip|xnor|twn|ttq|reg|inq] [--bn] [--epochs N] [--batch N] [--lr X] [--optimizer sgd|adam]
                 [--schedule cosine|onecycle|constant] [--weight-decay X] [--seed N] [--no-augment] [--limit N]
                 [--test-limit N] [--mean a,b,c --std a,b,c] [--json]
                 (quantization-aware fine-tuning on our wasm kernels; first conv and last layer stay 8-bit;
                 the .qwm is written after every epoch and, with --test, evaluated on the integer kernels;
                 xnor: binary W1A1 XNOR layers; twn / ttq: ternary 2-bit; reg: quantization regularizer; inq:
                 incremental quantization; --bn: batch norms re-inserted into the BN-folded model, folded at export)
  qwasm train --arch fmnist-cnn|fmnist-bireal|cifar-resnet20 --data DATA --out M.qwm [the options of finetune]
                 (a built-in architecture from scratch, batch norm folded at export; --weights 32 --acts 32: fp32)
  qwasm --help | --version

DATA: a CIFAR-10 batch (*.bin), an IDX images file (MNIST / Fashion-MNIST, .gz or not; the labels file is
found by the standard naming or given with --labels-file), or a folder of PNG / JPEG images with one
sub-folder per class. --labels FILE: class names, one per line.

Post-training repairs of quantize (composable, any --weights, with --per-tensor too; they use the --calib
images and are recorded in the .qwm's provenance; docs/repairs.md):
  --cle                cross-layer equalization of consecutive conv / depthwise / dense layers (through ReLU,
                       max pool, flatten; a ReLU6 in a pair becomes ReLU) + high-bias absorption, on the float model
  --bias-correction    empirical bias correction: E[W x] - E[W_q x] per output channel, folded into the bias
  --adaround           learned rounding (AdaRound) by layer-wise reconstruction, --adaround-iters N Adam
                       iterations per channel (default 500; cost N x channels x K^2 per layer, progress shown)
  --weight-clip M      clipping range of sub-8-bit uniform weights: mse (search) or aciq (analytical)`;

interface Args { cmd: string; pos: string[]; flags: Map<string, string | true> }

const BOOLEAN = new Set(["json", "per-tensor", "help", "version", "low-bit-ends", "cle", "bias-correction", "adaround", "no-augment", "bn"]);
const CALIB_FLAGS = ["calib", "calibration", "calib-size", "percentile", "per-tensor", "mean", "std", "labels-file"];

function parse(argv: string[]): Args {
  const pos: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "-h") { flags.set("help", true); continue; }
    if (!a.startsWith("--")) { pos.push(a); continue; }
    const eq = a.indexOf("=");
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    if (eq > 0) flags.set(name, a.slice(eq + 1));
    else if (BOOLEAN.has(name)) flags.set(name, true);
    else {
      const v = argv[i + 1];
      if (v === undefined || v.startsWith("--")) throw new QwmUsageError(`--${name} needs a value`);
      flags.set(name, v);
      i++;
    }
  }
  return { cmd: pos.shift() ?? "", pos, flags };
}

const ALLOWED: Record<string, string[]> = {
  quantize: ["calib", "out", "calibration", "calib-size", "percentile", "per-tensor", "mean", "std", "labels", "json", "labels-file", "weights", "acts", "weight-format", "codebook", "low-bit-ends",
    "cle", "bias-correction", "adaround", "adaround-iters", "weight-clip", "size-budget", "avg-bits", "bits-per-layer"],
  sensitivity: [...CALIB_FLAGS, "bits", "held-out", "json"],
  eval: ["data", "limit", "json", "mean", "std", "labels", "labels-file", "batch"],
  inspect: ["json"],
  classify: ["top", "json"],
  bench: ["batch", "json", "iterations", "data", "limit", "labels-file"],
  "export-c": ["out", "name", "json"],
  report: ["calib", "data", "out", "configs", "limit", "detail", "save-models", "sensitivity-bits", "held-out", "calibration", "calib-size",
    "mean", "std", "labels", "labels-file", "json"],
  finetune: TRAIN_FLAGS,
  train: TRAIN_FLAGS,
};

function str(a: Args, name: string): string | undefined {
  const v = a.flags.get(name);
  return v === true ? undefined : v;
}

function int(a: Args, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const v = str(a, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new QwmUsageError(`--${name} must be an integer in ${min}..${max}, got '${v}'`);
  return n;
}

function list(a: Args, name: string): number[] | undefined {
  const v = str(a, name);
  if (v === undefined) return undefined;
  const xs = v.split(",").map(Number);
  if (xs.some((x) => !Number.isFinite(x))) throw new QwmUsageError(`--${name} must be numbers separated by commas, got '${v}'`);
  return xs;
}

function num(a: Args, name: string): number | undefined {
  const v = str(a, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new QwmUsageError(`--${name} must be a positive number, got '${v}'`);
  return n;
}

/** --bits-per-layer name=b,name=b (layer names as inspect --json and sensitivity print them). */
function bitsPerLayer(a: Args): Record<string, number> | undefined {
  const v = str(a, "bits-per-layer");
  if (v === undefined) return undefined;
  const out: Record<string, number> = {};
  for (const item of v.split(",")) {
    const eq = item.lastIndexOf("=");
    const b = Number(item.slice(eq + 1));
    if (eq <= 0 || ![8, 4, 2, 1].includes(b)) throw new QwmUsageError(`--bits-per-layer takes name=bits items (bits 8, 4, 2 or 1) separated by commas, got '${item}'`);
    out[item.slice(0, eq)] = b;
  }
  return out;
}

function preprocessFlags(a: Args): Partial<Preprocess> | undefined {
  const mean = list(a, "mean"), std = list(a, "std");
  if (!mean && !std) return undefined;
  if (!mean || !std) throw new QwmUsageError("--mean and --std go together");
  if (mean.length !== std.length) throw new QwmUsageError("--mean and --std need the same number of values");
  if (std.some((s) => !(s > 0))) throw new QwmUsageError("--std values must be positive");
  return { mean, std };
}

function readFile(path: string, what: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch {
    throw new QwmUsageError(`cannot read ${what} '${path}'`);
  }
}

function modelArg(a: Args, ext: string[]): string {
  const m = a.pos[0];
  if (!m) throw new QwmUsageError(`${a.cmd} needs a model file`);
  if (!ext.includes(extname(m).toLowerCase())) throw new QwmUsageError(`${a.cmd}: '${m}' should be a ${ext.join(" or ")} file`);
  return m;
}

function progress(json: boolean): Progress | undefined {
  if (json || !process.stderr.isTTY) return undefined;
  return (done, total, what) => {
    const w = 30, f = total ? Math.round((done / total) * w) : w;
    process.stderr.write(`\r${what} [${"#".repeat(f)}${".".repeat(w - f)}] ${done}/${total}${done >= total ? "\n" : ""}`);
  };
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
const kib = (b: number) => `${(b / 1024).toFixed(1)} KiB`;

async function run(a: Args): Promise<void> {
  const json = a.flags.has("json");
  const out = (obj: unknown, text: () => string) => console.log(json ? JSON.stringify(obj) : text());
  const allowed = ALLOWED[a.cmd];
  for (const f of a.flags.keys()) if (!allowed.includes(f)) throw new QwmUsageError(`${a.cmd}: unknown option --${f} (see qwasm --help)`);
  const labels = str(a, "labels") ? readLabels(str(a, "labels")!) : undefined;

  switch (a.cmd) {
    case "finetune":
    case "train":
      return trainCommand(a.cmd, a.pos, { str: (n) => str(a, n), int: (n, lo, hi) => int(a, n, lo, hi), has: (n) => a.flags.has(n), preprocess: () => preprocessFlags(a), labels });
    case "quantize": {
      const model = modelArg(a, [".onnx"]);
      const dest = str(a, "out");
      if (!dest) throw new QwmUsageError("quantize needs --out M.qwm");
      const clash = overwrittenInput(dest, [model, str(a, "calib"), str(a, "labels"), str(a, "labels-file")]);
      if (clash !== undefined) throw new QwmUsageError(`--out '${dest}' is the input '${clash}': quantize never writes over its inputs`);
      const calibration = str(a, "calibration") ?? "auto";
      if (calibration !== "auto" && !(CALIBRATION_METHODS as readonly string[]).includes(calibration)) {
        throw new QwmUsageError(`--calibration must be auto, ${CALIBRATION_METHODS.join(", ")}; got '${calibration}'`);
      }
      const calibPath = str(a, "calib");
      const calibSize = int(a, "calib-size", 1) ?? 256;
      const sizeBudgetKiB = num(a, "size-budget"), avgBits = num(a, "avg-bits");
      if (sizeBudgetKiB !== undefined && avgBits !== undefined) throw new QwmUsageError("give --size-budget or --avg-bits, not both");
      const mixed = sizeBudgetKiB !== undefined || avgBits !== undefined;
      if (mixed && str(a, "weights") !== undefined) throw new QwmUsageError("--size-budget / --avg-bits choose the bits per layer: leave out --weights");
      // mixed precision also reads the held-out images (the 256 after the calibration images)
      const calib = calibPath ? readDataset(calibPath, { limit: calibSize + (mixed ? 256 : 0), labelsFile: str(a, "labels-file") }) : undefined;
      const pctl = str(a, "percentile");
      const wbits = str(a, "weights") === undefined ? 8 : Number(str(a, "weights"));
      const wfmt0 = str(a, "weight-format") ?? "uniform";
      const okBits = wfmt0 === "kmeans" ? [8, 7, 6, 5, 4, 3, 2, 1] : wfmt0 === "pow2" ? [4, 3] : [8, 4, 3, 2, 1];
      if (!okBits.includes(wbits)) throw new QwmUsageError(`--weights must be ${okBits.join(", ")}${wfmt0 === "uniform" ? "" : ` with --weight-format ${wfmt0}`}; got '${str(a, "weights")}'`);
      const cbScope = str(a, "codebook") ?? "per-channel";
      if (cbScope !== "per-channel" && cbScope !== "per-layer") throw new QwmUsageError(`--codebook must be per-channel or per-layer; got '${cbScope}'`);
      if (str(a, "codebook") !== undefined && wfmt0 !== "kmeans") throw new QwmUsageError("--codebook goes with --weight-format kmeans");
      const abits = str(a, "acts") ?? "8";
      if (abits !== "8" && abits !== "1") throw new QwmUsageError(`--acts must be 8 or 1; got '${abits}'`);
      if (abits === "1" && wbits !== 1) throw new QwmUsageError("--acts 1 (binary XNOR layers) needs --weights 1");
      const wfmt = str(a, "weight-format") ?? "uniform";
      if (!["uniform", "kmeans", "pow2", "ternary"].includes(wfmt)) throw new QwmUsageError(`--weight-format must be uniform, kmeans, pow2 or ternary; got '${wfmt}'`);
      if (wbits === 3 && wfmt !== "kmeans" && wfmt !== "pow2") throw new QwmUsageError("--weights 3 needs --weight-format kmeans or pow2");
      const clip = str(a, "weight-clip");
      if (clip !== undefined && clip !== "mse" && clip !== "aciq") throw new QwmUsageError(`--weight-clip must be mse or aciq; got '${clip}'`);
      const adaIters = int(a, "adaround-iters", 1);
      if (adaIters !== undefined && !a.flags.has("adaround")) throw new QwmUsageError("--adaround-iters goes with --adaround");
      const r = await quantize(readFile(model, "model"), {
        cle: a.flags.has("cle"), biasCorrection: a.flags.has("bias-correction"), weightClip: clip as "mse" | "aciq" | undefined,
        adaround: a.flags.has("adaround") ? (adaIters !== undefined ? { iterations: adaIters } : true) : false,
        weightBits: wbits, weightFormat: wfmt as any, codebook: cbScope, keepEnds: !a.flags.has("low-bit-ends"), actBits: Number(abits),
        sizeBudgetKiB, avgBits, bitsPerLayer: bitsPerLayer(a),
        calib, calibration: calibration as any, calibSize, perTensor: a.flags.has("per-tensor"),
        percentile: pctl === undefined ? undefined : Number(pctl), preprocess: preprocessFlags(a), labels,
        onProgress: progress(json),
      });
      writeFileAtomic(dest, r.qwm); // a temporary file renamed over dest: an interrupted run leaves the old one
      const d = describe(r.qwm);
      const repairs = d.contents.provenance?.repairs as Record<string, string> | undefined;
      const mc = r.mixed?.choice;
      out({ out: dest, bytes: r.qwm.length, weight_bytes: d.contents.weightsBytes, method: r.method, calibration_images: r.calibrationImages, scores: r.scores, layers: d.layers.length, repairs,
        ...(mc ? { mixed: { bits_per_layer: mc.bitsPerLayer, avg_bits: mc.avgBits, weight_bytes: mc.weightBytes, predicted_loss: mc.predictedLoss, budget: mc.budget } } : {}) },
        () => [
          ...(mc ? [`mixed precision (${mc.budget}): ${mc.avgBits.toFixed(3)} average weight bits, weights ${mc.weightBytes} bytes, predicted KL ${mc.predictedLoss.toExponential(2)}`,
            `  ${Object.entries(mc.bitsPerLayer).map(([k, b]) => `${k}=${b}`).join(" ")}`] : []),
          `wrote ${dest}: ${r.qwm.length} bytes (${kib(r.qwm.length)}), ${d.layers.length} ops, weights ${kib(d.contents.weightsBytes)} (fp32 ${kib(d.params * 4)})`,
          r.method === "model" ? "quantization: the model's own (QDQ) scales" : `calibration: ${r.method} on ${r.calibrationImages} images`,
          ...(r.scores ?? []).map((s) => `  ${s.method.padEnd(10)} held-out agreement with fp32 ${pct(s.agreement)}, logits MSE ${s.mse.toExponential(2)}`),
          ...Object.entries(repairs ?? {}).map(([k, v]) => `repair ${k}: ${v}`),
        ].join("\n"));
      return;
    }
    case "sensitivity": {
      const model = modelArg(a, [".onnx"]);
      const calibPath = str(a, "calib");
      if (!calibPath) throw new QwmUsageError("sensitivity needs --calib DATA");
      const calibSize = int(a, "calib-size", 1) ?? 256, heldOut = int(a, "held-out", 8) ?? 256;
      const bits = list(a, "bits") ?? [8, 4, 2];
      if (bits.some((b) => ![8, 4, 2, 1].includes(b))) throw new QwmUsageError(`--bits takes 8, 4, 2 and 1, got '${str(a, "bits")}'`);
      const calibration = str(a, "calibration") ?? "auto";
      if (calibration !== "auto" && !(CALIBRATION_METHODS as readonly string[]).includes(calibration)) throw new QwmUsageError(`--calibration must be auto, ${CALIBRATION_METHODS.join(", ")}; got '${calibration}'`);
      const calib = readDataset(calibPath, { limit: calibSize + heldOut, labelsFile: str(a, "labels-file") });
      const pctl = str(a, "percentile");
      const t = await sensitivity(readFile(model, "model"), {
        calib, calibSize, heldOutSize: heldOut, bits, calibration: calibration as any, perTensor: a.flags.has("per-tensor"),
        percentile: pctl === undefined ? undefined : Number(pctl), preprocess: preprocessFlags(a), onProgress: progress(json),
      });
      out(t, () => {
        const bs = t.bits;
        const head = ["layer", "op", "params", ...bs.map((b) => `W${b} bytes`), ...bs.flatMap((b) => [`W${b} KL`, `W${b} top-1`])];
        const rows = t.layers.map((l) => [l.name, l.op, String(l.params), ...bs.map((b) => (l.bytesAtBits[b] === undefined ? "-" : String(l.bytesAtBits[b]) + (l.storedBitsAtBits[b] !== b ? `(W${l.storedBitsAtBits[b]})` : ""))),
          ...bs.flatMap((b) => (l.perBits[b] ? [l.perBits[b].kl.toExponential(2), pct(l.perBits[b].top1Agreement)] : ["-", "-"]))]);
        const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
        const line = (r: string[]) => r.map((x, i) => x.padEnd(w[i])).join("  ");
        return [
          `${model}: layer sensitivity, each layer alone at b bits, every other layer int8 (W8A8); KL(fp32 || quantized) of the softmax of the logits and top-1 agreement with fp32`,
          `calibration: ${t.calibration} on ${t.calibrationImages} images; scored on ${t.heldOutImages} held-out images; all-int8: KL ${t.int8.kl.toExponential(2)}, top-1 agreement ${pct(t.int8.top1Agreement)}; ${t.seconds.toFixed(1)} s`,
          line(head), ...rows.map(line),
          "(bytes: packed weights in the .qwm; (W4): a coarse layer stored widened on the int4 kernel)",
        ].join("\n");
      });
      return;
    }
    case "eval": {
      const model = modelArg(a, [".qwm", ".onnx"]);
      const dataPath = str(a, "data");
      if (!dataPath) throw new QwmUsageError("eval needs --data DATA");
      const limit = int(a, "limit", 1);
      const bytes = readFile(model, "model");
      const onnx = extname(model).toLowerCase() === ".onnx";
      if (!onnx && (a.flags.has("mean") || a.flags.has("std"))) throw new QwmUsageError("a .qwm carries its own preprocessing: --mean/--std apply to .onnx models");
      const qwm = onnx ? floatQwm(bytes, { preprocess: preprocessFlags(a), labels }) : bytes;
      const data = readDataset(dataPath, { limit, labelsFile: str(a, "labels-file") });
      const r = await evaluate(qwm, data, { limit, batch: int(a, "batch", 1, 4096), modelBytes: bytes.length, onProgress: progress(json) });
      out(r, () => [
        `${model} on ${data.source}: ${r.n} images`,
        `  top-1 ${pct(r.accuracy)}  top-5 ${pct(r.top5)}`,
        `  model ${kib(r.model_bytes)}, weights ${kib(r.weight_bytes)} (compression ${r.compression_ratio.toFixed(2)}x vs fp32), peak arena ${kib(r.peak_arena_bytes)}`,
        `  ${(r.macs / 1e6).toFixed(2)} M MACs, ${(r.bops / 1e9).toFixed(2)} G BOPs, ${r.ms_per_image.toFixed(3)} ms per image`,
      ].join("\n"));
      return;
    }
    case "inspect": {
      const model = modelArg(a, [".qwm"]);
      const bytes = readFile(model, "model");
      await sdkModel(bytes); // validates the file (a clear error if it is not a valid .qwm)
      const d = describe(bytes);
      const c = d.contents;
      out({
        version: c.version, bytes: c.bytes, weight_bytes: c.weightsBytes, peak_arena_bytes: c.arenaBytes, params: d.params, macs: d.macs,
        avg_weight_bits: d.avgWeightBits, weight_count: d.weightCount,
        input: c.tensors[c.inputTensor].shape, output: c.tensors[c.outputTensor].shape, preprocess: c.preprocess,
        labels: c.labels, provenance: c.provenance, sections: c.sections, layers: d.layers,
      }, () => {
        const rows = d.layers.map((l) => [
          String(l.index), l.op, l.input.join("x"), l.output.join("x"), l.weightBits ? `W${l.weightBits}A${l.actBits}` : `A${l.actBits}`,
          l.scheme, String(l.weightBytes), String(l.macs),
          l.weightScaleRange ? `${l.weightScaleRange[0].toExponential(2)}..${l.weightScaleRange[1].toExponential(2)}` : "",
          l.outScale !== undefined ? `${l.outScale.toExponential(3)} / ${l.outZeroPoint}` : "",
        ]);
        const head = ["#", "op", "in", "out", "bits", "scheme", "bytes", "MACs", "weight scales", "out scale / zp"];
        const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
        const line = (r: string[]) => r.map((x, i) => x.padEnd(w[i])).join("  ");
        return [
          `${model}: .qwm ${c.version}, ${c.bytes} bytes, weights ${c.weightsBytes} bytes, peak arena ${c.arenaBytes} bytes, ${d.params} parameters, ${(d.macs / 1e6).toFixed(2)} M MACs`,
          `weight bits: ${d.avgWeightBits.toFixed(3)} on average over ${d.weightCount} conv / dense weights (parameter-weighted)`,
          `input ${c.tensors[c.inputTensor].shape.join("x")} (mean ${c.preprocess.mean.map((x) => x.toFixed(4)).join(",")}, std ${c.preprocess.std.map((x) => x.toFixed(4)).join(",")}), output ${c.tensors[c.outputTensor].shape.join("x")}${c.labels ? `: ${c.labels.join(", ")}` : ""}`,
          line(head), ...rows.map(line),
          ...(c.provenance?.bitsPerLayer ? [`bits per layer: ${Object.entries(c.provenance.bitsPerLayer as Record<string, number>).map(([k, b]) => `${k}=${b}`).join(" ")}`] : []),
          c.provenance ? `provenance: ${JSON.stringify(c.provenance)}` : "",
        ].join("\n");
      });
      return;
    }
    case "classify": {
      const model = modelArg(a, [".qwm"]);
      const images = a.pos.slice(1);
      if (!images.length) throw new QwmUsageError("classify needs at least one image");
      const m = await sdkModel(readFile(model, "model"));
      const top = int(a, "top", 1, m.info.output.classes) ?? Math.min(5, m.info.output.classes);
      const results = images.map((p) => ({ image: p, top: m.classify(decodeImage(readFile(p, "image"), `'${p}'`), { topK: top }) }));
      out({ build: m.info.build, results }, () => results.map((r) =>
        `${r.image}: ${r.top.map((t) => `${t.label} ${(100 * t.score).toFixed(1)}%`).join(", ")}`).join("\n"));
      m.dispose();
      return;
    }
    case "export-c": {
      const model = modelArg(a, [".qwm"]);
      const dest = str(a, "out");
      if (!dest) throw new QwmUsageError("export-c needs --out FILE.h");
      const name = str(a, "name") ?? "qwm_model";
      if (!isCIdentifier(name)) throw new QwmUsageError(`--name must be a C identifier, got '${name}'`);
      const bytes = readFile(model, "model");
      (await sdkModel(bytes)).dispose(); // validates the file (a clear error if it is not a valid .qwm)
      writeFileSync(dest, qwmToCHeader(bytes, { name, source: model }));
      out({ out: dest, name, bytes: bytes.length, align: 16 }, () => `wrote ${dest}: ${name}[${bytes.length}] (16-byte aligned)`);
      return;
    }
    case "report": {
      const model = modelArg(a, [".onnx"]);
      const dest = str(a, "out");
      if (!dest) throw new QwmUsageError("report needs --out report.html");
      const calibPath = str(a, "calib"), dataPath = str(a, "data");
      if (!calibPath) throw new QwmUsageError("report needs --calib DATA (calibration images)");
      if (!dataPath) throw new QwmUsageError("report needs --data DATA (labeled evaluation images)");
      const clash = overwrittenInput(dest, [model, calibPath, dataPath, str(a, "labels"), str(a, "labels-file")]);
      if (clash !== undefined) throw new QwmUsageError(`--out '${dest}' is the input '${clash}': report never writes over its inputs`);
      const calibration = str(a, "calibration") ?? "auto";
      if (calibration !== "auto" && !(CALIBRATION_METHODS as readonly string[]).includes(calibration)) {
        throw new QwmUsageError(`--calibration must be auto, ${CALIBRATION_METHODS.join(", ")}; got '${calibration}'`);
      }
      const ids = str(a, "configs")?.split(",").map((x) => x.trim()).filter(Boolean);
      if (a.flags.has("configs") && !ids?.length) throw new QwmUsageError("--configs needs configuration ids separated by commas");
      const specs = selectConfigs(ids);
      const detail = str(a, "detail");
      if (detail !== undefined && !specs.some((c) => c.id === detail)) throw new QwmUsageError(`--detail '${detail}' is not among the configurations (${specs.map((c) => c.id).join(", ")})`);
      const sensBits = list(a, "sensitivity-bits");
      if (sensBits && sensBits.some((b) => ![8, 4, 2, 1].includes(b))) throw new QwmUsageError(`--sensitivity-bits: use 8, 4, 2 or 1; got '${str(a, "sensitivity-bits")}'`);
      const limit = int(a, "limit", 1);
      const calibSize = int(a, "calib-size", 1) ?? 256;
      const saveDir = str(a, "save-models");
      const bytes = readFile(model, "model");
      // the images after the first calibSize are the held-out ones of the sensitivity analysis and the mixed search
      const heldOut = int(a, "held-out", 8) ?? 256;
      const calib = readDataset(calibPath, { limit: calibSize + heldOut });
      const data = readDataset(dataPath, { limit, labelsFile: str(a, "labels-file") });
      if (saveDir) mkdirSync(saveDir, { recursive: true });
      const saved: Record<string, string> = {};
      const r = await collectReport(bytes, {
        calib, data, configs: specs, limit, detail, sensitivityBits: sensBits, sensitivityHeldOut: heldOut,
        base: { calibration: calibration as any, calibSize, preprocess: preprocessFlags(a), labels },
        modelName: basename(model),
        onModel: saveDir ? (id, qwm) => { const p = join(saveDir, `${id}.qwm`); writeFileAtomic(p, qwm); saved[id] = p; } : undefined,
        onProgress: (done, total, what) => process.stderr.write(`report [${Math.min(done + 1, total)}/${total}] ${what}\n`),
      });
      const html = renderReport(r);
      writeFileAtomic(dest, html);
      const ok = r.configs.filter((c) => c.status === "ok" && c.eval);
      const front = paretoFront(ok.map((c) => ({ size: c.eval!.model_bytes, accuracy: c.eval!.accuracy }))).map((i) => ok[i].id);
      out({
        out: dest, bytes: Buffer.byteLength(html), images: r.data.n, pareto: front,
        sensitivity: r.sensitivity.available ? "available" : r.sensitivity.why,
        configs: r.configs.map((c) => ({ id: c.id, label: c.label, status: c.status, why: c.why, model: saved[c.id], ...c.eval })),
      }, () => [
        `wrote ${dest}: ${Buffer.byteLength(html)} bytes, ${ok.length} of ${r.configs.length} configurations on ${r.data.n} images`,
        ...r.configs.map((c) => c.eval
          ? `  ${c.label.padEnd(20)} top-1 ${pct(c.eval.accuracy)}  ${kib(c.eval.model_bytes).padStart(10)}${front.includes(c.id) ? "  (Pareto front)" : ""}`
          : `  ${c.label.padEnd(20)} failed: ${c.why}`),
        r.sensitivity.available ? "" : `  sensitivity: ${r.sensitivity.why}`,
      ].filter(Boolean).join("\n"));
      return;
    }
    case "bench": {
      const model = modelArg(a, [".qwm"]);
      const batch = int(a, "batch", 1, 4096) ?? 32;
      const m = await sdkModel(readFile(model, "model"));
      const [H, W, C] = m.info.input.shape;
      const px = new Uint8Array(batch * H * W * C).map((_, i) => (i * 2654435761) >>> 24);
      const one = px.subarray(0, H * W * C);
      const time = (f: () => void, reps: number) => {
        const ts: number[] = [];
        for (let i = 0; i < reps; i++) { const t = performance.now(); f(); ts.push(performance.now() - t); }
        return ts.sort((x, y) => x - y)[ts.length >> 1];
      };
      for (let i = 0; i < 5; i++) m.run(one);
      const reps = int(a, "iterations", 3) ?? 50;
      const b1 = time(() => m.run(one), reps);
      const bN = time(() => m.run(px, { batch }), Math.max(3, Math.round(reps / 5)));
      const r: Record<string, unknown> = { b1_ms_median: b1, img_s: (batch * 1000) / bN, batch, build: m.info.build };
      m.dispose();
      // with --data: the accuracy beside the speed (low-bit models trade one for the other)
      const dataPath = str(a, "data");
      let acc = "";
      if (dataPath) {
        const limit = int(a, "limit", 1);
        const data = readDataset(dataPath, { limit, labelsFile: str(a, "labels-file") });
        const e = await evaluate(readFile(model, "model"), data, { limit, modelBytes: statSync(model).size });
        Object.assign(r, { accuracy: e.accuracy, top5: e.top5, images: e.n, model_bytes: e.model_bytes, compression_ratio: e.compression_ratio });
        acc = `; top-1 ${pct(e.accuracy)} on ${e.n} images, ${kib(e.model_bytes)} (${e.compression_ratio.toFixed(2)}x vs fp32 weights)`;
      }
      out(r, () => `${model} (${m.info.build} build): batch 1 median ${b1.toFixed(3)} ms; batch ${batch}: ${(r.img_s as number).toFixed(0)} images/s${acc}`);
      return;
    }
  }
}

export async function main(argv: string[]): Promise<number> {
  let a: Args;
  try {
    a = parse(argv);
  } catch (e) {
    console.error(`qwasm: ${(e as Error).message}`);
    return 2;
  }
  if (a.flags.has("version")) { console.log(VERSION); return 0; }
  if (a.flags.has("help") || a.cmd === "" || a.cmd === "help") { console.log(HELP); return a.cmd === "" && !a.flags.has("help") ? 2 : 0; }
  if (!ALLOWED[a.cmd]) { console.error(`qwasm: unknown command '${a.cmd}' (quantize, sensitivity, eval, inspect, classify, bench, export-c, report, finetune, train; see qwasm --help)`); return 2; }
  try {
    await run(a);
    return 0;
  } catch (e) {
    const err = e as Error & { code?: string };
    if (process.env.QWASM_DEBUG) console.error(err.stack);
    console.error(`qwasm: ${err.message}`);
    return err instanceof QwmUsageError ? 2 : 1;
  }
}
