// `qwasm finetune` / `qwasm train` as a function: a model (an ONNX file or a built-in architecture), training data,
// fake quantization per --method, per-epoch export to .qwm and its accuracy on the integer kernels.
import { readFileSync } from "node:fs";
import type { Preprocess } from "../ir/graph.ts";
import { importOnnx } from "../onnx/import.ts";
import type { Dataset } from "../data/index.ts";
import { evaluate, type EvalReport } from "../api.ts";
import { ImageSet } from "./data.ts";
import { fit, type EpochReport, type FitOptions } from "./node.ts"; // Node: the training wasm from build/
import { buildArch } from "./archs.ts";
import { QwmTrainError } from "./kernels.ts";
import { Net, type TrainGraph } from "./net.ts";
import { METHODS } from "./quantizers/index.ts";
import { initBatchNorms, insertBatchNorms } from "./rebn.ts";

export interface TrainRunOptions extends Omit<FitOptions, "onEpoch" | "augment"> {
  /** An ONNX model to fine-tune (path or bytes), or a built-in architecture to train from scratch. */
  onnx?: string | Uint8Array;
  arch?: string;
  preprocess?: Partial<Preprocess>;
  labels?: string[];
  data: Dataset;
  test?: Dataset;
  limit?: number;
  testLimit?: number;
  batch: number;
  weightBits: number;
  actBits: number;
  method: string;
  /** Random crop with this zero padding and horizontal flips (default: 4 and flips for 3-channel inputs, none otherwise). */
  augment?: { pad: number; flip: boolean } | false;
  /** Fine-tuning: a batch norm after every conv again, set to the float net's statistics, folded at export (rebn.ts). */
  bn?: boolean;
  onEpoch?: (e: EpochResult, qwm: Uint8Array) => void | Promise<void>;
  onEval?: (done: number, total: number) => void;
}

export interface EpochResult extends EpochReport {
  /** Accuracy of the exported .qwm on the integer kernels over the test set (when one is given). */
  test?: { accuracy: number; top5: number; n: number; eval_seconds: number; ms_per_image: number };
}

export interface TrainRunResult {
  epochs: EpochResult[];
  qwm: Uint8Array;
  layers: { name: string; weightBits: number }[];
  provenance: Record<string, unknown>;
}

export async function trainRun(o: TrainRunOptions): Promise<TrainRunResult> {
  if ((o.onnx === undefined) === (o.arch === undefined)) throw new QwmTrainError("give a model to fine-tune or an architecture to train, not both");
  if (!METHODS[o.method]) throw new QwmTrainError(`unknown --method '${o.method}' (use ${Object.keys(METHODS).join(", ")})`);
  if (!(Number.isInteger(o.batch) && o.batch >= 1 && o.batch <= 4096)) throw new QwmTrainError(`--batch ${o.batch}: 1..4096`);
  const classes = Math.max(...o.data.labels) + 1;
  let g: TrainGraph;
  if (o.onnx !== undefined) {
    const bytes = typeof o.onnx === "string" ? readFileSync(o.onnx) : o.onnx;
    g = importOnnx(bytes, { preprocess: o.preprocess, labels: o.labels }).graph;
  } else {
    g = buildArch(o.arch!, o.seed, Math.max(classes, o.labels?.length ?? 0, o.data.classNames?.length ?? 0));
    if (o.preprocess) g.preprocess = { ...g.preprocess, ...o.preprocess };
    g.labels = o.labels ?? o.data.classNames;
  }
  const quant = { weightBits: o.weightBits, actBits: o.actBits, method: o.method };
  const folded = g;
  if (o.bn) {
    if (o.onnx === undefined) throw new QwmTrainError("bn: re-inserting batch norms is for fine-tuning a BN-folded model");
    g = insertBatchNorms(g);
  }
  const net = new Net(g, o.batch, quant);
  if (classes > net.classes) throw new QwmTrainError(`the data has labels up to ${classes - 1}, the model ${net.classes} outputs`);
  const train = new ImageSet(o.data, g.input.shape, g.preprocess, o.limit);
  if (o.bn) initBatchNorms(net, folded, train);
  const aug = o.augment === false ? undefined : o.augment ?? (g.input.shape[2] === 3 ? { pad: 4, flip: true } : undefined);
  const low = net.weightLayers.filter((l) => l.wq);
  const layers = net.weightLayers.map((l) => ({ name: l.name, weightBits: l.wq ? l.wq.bits : o.weightBits === 32 && o.actBits === 32 ? 32 : 8 }));
  const float = o.weightBits === 32 && o.actBits === 32;
  const provenance: Record<string, unknown> = {
    training: o.onnx !== undefined ? "qwasm finetune (quantization-aware)" : `qwasm train --arch ${o.arch}`,
    method: float ? "fp32" : o.method,
    weights: float ? "fp32" : low.length
      ? `${o.weightBits}-bit (${o.method}) on ${low.length} of ${layers.length} conv/dense layers; first conv and last layer 8-bit`
      : "8-bit per channel (max-abs at export)",
    activations: float ? "fp32" : o.actBits === 1 ? `binary: sign(x) on the inputs of the ${low.length} XNOR layers (SignQb1, ApproxSign gradient in training); every other value 8-bit (ranges observed at export)` : o.actBits < 8 ? `${o.actBits}-bit after ReLU (int8 tensors on ${2 ** o.actBits} levels, ${o.method} steps); input, residual branches, pooled and logits 8-bit` : "8-bit (ranges observed at export)",
    optimizer: `${o.optimizer} lr ${o.lr} ${o.schedule}, weight decay ${o.weightDecay}, batch ${o.batch}, seed ${o.seed}`,
    ...(o.bn ? { batch_norm: "re-inserted after every conv for the fine-tune (set to the float net's statistics on 64 training images), folded at export" } : {}),
    data: `${o.data.source} (${train.n} images)${aug ? `, random crop (pad ${aug.pad})${aug.flip ? " + horizontal flip" : ""}` : ""}`,
  };
  const epochs: EpochResult[] = [];
  let last!: Uint8Array;
  await fit(net, train, {
    ...o, augment: aug,
    onEpoch: async (e, qwm) => {
      const r: EpochResult = { ...e };
      if (o.test) {
        const t0 = performance.now();
        const ev: EvalReport = await evaluate(qwm, o.test, { limit: o.testLimit, onProgress: o.onEval });
        r.test = { accuracy: ev.accuracy, top5: ev.top5, n: ev.n, eval_seconds: (performance.now() - t0) / 1000, ms_per_image: ev.ms_per_image };
      }
      epochs.push(r);
      last = qwm;
      await o.onEpoch?.(r, qwm);
    },
  }, provenance);
  net.k.dispose();
  return { epochs, qwm: last, layers, provenance };
}
