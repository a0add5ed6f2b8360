// `qwasm finetune MODEL.onnx ...` and `qwasm train --arch NAME ...` (issue #12): quantization-aware training on
// our own wasm kernels, a progress bar on stderr (a TTY bar, plain lines otherwise), the exported .qwm written
// after every epoch and, with --test, its accuracy on the integer kernels.
import { readDataset } from "../data/index.ts";
import { QwmUsageError } from "../api.ts";
import type { Preprocess } from "../ir/graph.ts";
import { ARCHS } from "../train/archs.ts";
import { checkMethod, METHODS } from "../train/quantizers/index.ts";
import { SCHEDULES } from "../train/optim.ts";
import { trainRun, type EpochResult } from "../train/run.ts";
import { writeFileAtomic, overwrittenInput } from "./atomic.ts";

export const TRAIN_FLAGS = ["data", "test", "limit", "test-limit", "labels-file", "weights", "acts", "method", "epochs", "out", "lr", "batch",
  "optimizer", "schedule", "seed", "weight-decay", "momentum", "no-augment", "calib-size", "json", "mean", "std", "labels", "arch", "bn"];

export interface CliHelpers {
  str(name: string): string | undefined;
  int(name: string, min: number, max?: number): number | undefined;
  has(name: string): boolean;
  preprocess(): Partial<Preprocess> | undefined;
  labels?: string[];
}

const num = (h: CliHelpers, name: string, dflt: number, ok: (x: number) => boolean, what: string) => {
  const v = h.str(name);
  if (v === undefined) return dflt;
  const x = Number(v);
  if (!ok(x)) throw new QwmUsageError(`--${name} must be ${what}, got '${v}'`);
  return x;
};

export async function trainCommand(cmd: "finetune" | "train", pos: string[], h: CliHelpers): Promise<void> {
  const json = h.has("json");
  let onnx: string | undefined, arch: string | undefined;
  if (cmd === "finetune") {
    onnx = pos[0];
    if (!onnx || !/\.onnx$/i.test(onnx)) throw new QwmUsageError("finetune needs a MODEL.onnx");
    if (h.str("arch")) throw new QwmUsageError("finetune takes a model, not --arch (use qwasm train --arch)");
  } else if (h.has("bn")) {
    throw new QwmUsageError("--bn re-inserts batch norms into a BN-folded model for finetune; the built-in architectures have theirs");
  } else {
    arch = h.str("arch");
    if (!arch) throw new QwmUsageError(`train needs --arch (${Object.keys(ARCHS).join(", ")})`);
    if (!ARCHS[arch]) throw new QwmUsageError(`--arch '${arch}': built in are ${Object.keys(ARCHS).join(", ")}`);
    if (pos.length) throw new QwmUsageError(`train takes no model file ('${pos[0]}'): it trains --arch from scratch`);
  }
  const dataPath = h.str("data"), dest = h.str("out");
  if (!dataPath) throw new QwmUsageError(`${cmd} needs --data DATA (labeled images)`);
  if (!dest) throw new QwmUsageError(`${cmd} needs --out M.qwm`);
  if (!/\.qwm$/i.test(dest)) throw new QwmUsageError(`--out '${dest}' should be a .qwm file`);
  const clash = overwrittenInput(dest, [onnx, dataPath, h.str("test"), h.str("labels"), h.str("labels-file")]);
  if (clash !== undefined) throw new QwmUsageError(`--out '${dest}' is the input '${clash}': ${cmd} never writes over its inputs`);
  const bits = (name: string, dflt: number) => {
    const b = num(h, name, dflt, (x) => [32, 8, 4, 2, 1].includes(x) || (name === "acts" && x === 3), name === "weights" ? "32 (float), 8, 4, 2 or 1" : "32 (float), 8, 4, 3, 2 or 1");
    return b;
  };
  const method = h.str("method") ?? "lsq";
  if (!METHODS[method]) throw new QwmUsageError(`--method must be ${Object.keys(METHODS).join(", ")}; got '${method}'`);
  // defaults: the method's own bits (xnor: 1 and 1, twn / ttq: 2-bit weights), else 4 and 4
  const weightBits = bits("weights", METHODS[method].weightBits?.[0] ?? 4), actBits = bits("acts", METHODS[method].actBits?.[0] ?? 4);
  if ((weightBits === 32) !== (actBits === 32)) throw new QwmUsageError("--weights 32 (float training) goes with --acts 32");
  if (weightBits < 8 || actBits < 8 || (h.str("method") !== undefined && weightBits !== 32)) {
    try { checkMethod(method, weightBits, actBits); } catch (e) { throw new QwmUsageError((e as Error).message); }
  }
  const optimizer = h.str("optimizer") ?? (cmd === "finetune" ? "adam" : "sgd");
  if (optimizer !== "sgd" && optimizer !== "adam") throw new QwmUsageError(`--optimizer must be sgd or adam, got '${optimizer}'`);
  const schedule = h.str("schedule") ?? "cosine";
  if (!(SCHEDULES as string[]).includes(schedule)) throw new QwmUsageError(`--schedule must be ${SCHEDULES.join(", ")}, got '${schedule}'`);
  const epochs = h.int("epochs", 1, 10000) ?? (cmd === "finetune" ? 3 : 10);
  const batch = h.int("batch", 1, 4096) ?? 64;
  const seed = h.int("seed", 0, 2 ** 32 - 1) ?? 1;
  const lrDefault = cmd === "finetune" ? (optimizer === "adam" ? 1e-4 : 1e-3) : optimizer === "adam" ? 2e-3 : 0.1;
  const lr = num(h, "lr", lrDefault, (x) => x > 0 && x < 100, "a positive number");
  const weightDecay = num(h, "weight-decay", cmd === "finetune" ? 1e-4 : 5e-4, (x) => x >= 0 && x < 1, "a number in [0, 1)");
  const momentum = num(h, "momentum", 0.9, (x) => x >= 0 && x < 1, "a number in [0, 1)");
  const limit = h.int("limit", 1), testLimit = h.int("test-limit", 1);
  const data = readDataset(dataPath, { limit, labelsFile: h.str("labels-file") });
  const testPath = h.str("test");
  const test = testPath ? readDataset(testPath, { limit: testLimit, labelsFile: h.str("labels-file") }) : undefined;

  const tty = !json && process.stderr.isTTY;
  let lastLine = 0;
  const bar = (done: number, total: number) => { const w = 24, f = Math.round((done / total) * w); return `[${"#".repeat(f)}${".".repeat(w - f)}]`; };
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  const lines: string[] = [];
  const say = (s: string) => { if (!json) { console.log(s); } lines.push(s); };
  const head = cmd === "finetune"
    ? `fine-tuning ${onnx} on ${data.source}`
    : `training ${arch} from scratch on ${data.source}`;
  if (!json) console.error(`${head}: ${weightBits === 32 ? "fp32" : `W${weightBits}A${actBits} ${method}`} (first conv and last layer 8-bit), ${optimizer} lr ${lr} ${schedule}, ${epochs} epochs, batch ${batch}`);
  const r = await trainRun({
    onnx, arch, preprocess: h.preprocess(), labels: h.labels, data, test, limit, testLimit, batch, weightBits, actBits, method,
    bn: h.has("bn"), epochs, lr, optimizer, momentum, weightDecay, schedule: schedule as any, seed, augment: h.has("no-augment") ? false : undefined,
    calibImages: h.int("calib-size", 1) ?? 512,
    onStep: (s) => {
      if (json) return;
      const msg = `epoch ${s.epoch}/${epochs} ${bar(s.step, s.steps)} ${s.step}/${s.steps} loss ${s.loss.toFixed(4)} acc ${pct(s.acc)} lr ${s.lr.toExponential(2)} ${(1000 / s.imagesPerSecond).toFixed(1)} ms/img`;
      if (tty) process.stderr.write(`\r${msg}`);
      else if (s.step === s.steps || Date.now() - lastLine > 30000) { console.error(msg); lastLine = Date.now(); }
      if (tty && s.step === s.steps) process.stderr.write("\n");
    },
    onEval: tty ? (d, t) => process.stderr.write(`\r  evaluating the exported .qwm ${bar(d, t)} ${d}/${t}${d >= t ? "\r" + " ".repeat(70) + "\r" : ""}`) : undefined,
    onEpoch: (e: EpochResult, qwm) => {
      writeFileAtomic(dest, qwm);
      say(`epoch ${e.epoch}/${epochs}: train loss ${e.loss.toFixed(4)}, train acc ${pct(e.train_accuracy)}, ${e.seconds.toFixed(1)} s (${e.ms_per_image.toFixed(2)} ms per training image)` +
        (e.test ? `; exported .qwm on the integer kernels: ${pct(e.test.accuracy)} top-1 on ${e.test.n} test images (eval ${e.test.eval_seconds.toFixed(1)} s)` : "") + `; wrote ${dest} (${qwm.length} bytes)`);
    },
  });
  const firstLast = `first conv (${r.layers[0].name}) and last layer (${r.layers[r.layers.length - 1].name}) at ${weightBits === 32 ? 32 : 8} bits`;
  if (json) console.log(JSON.stringify({ out: dest, bytes: r.qwm.length, weights: weightBits, acts: actBits, method, first_last_bits: weightBits === 32 ? 32 : 8, layers: r.layers, provenance: r.provenance, epochs: r.epochs }));
  else say(`wrote ${dest}: ${r.qwm.length} bytes; ${firstLast}; ${r.layers.filter((l) => l.weightBits < 8).length} layers at ${weightBits} bits`);
}
