// The runtimes of npm run bench behind one interface, all in this process: qwasm (the SDK, as applications
// run it), onnxruntime-web (wasm backend, 1 thread, no proxy, SIMD), onnxruntime-node (1 thread, sequential),
// TF.js with its wasm backend (1 thread, SIMD; the network rebuilt with tf ops by bench/tfjs-model.mjs).
// Every session takes the same images: uint8 pixels for qwasm (its input), normalized floats for the float
// runtimes, NCHW for ONNX Runtime and NHWC for TF.js (each runtime's own layout); outputs are logits.
import { createRequire } from "node:module";
import { loadModel } from "../sdk/hosts/node.ts";
import { readBuild } from "../src/wasm/module.ts";
// @ts-ignore plain JavaScript module
import { buildTfModel, tfWasm } from "./tfjs-model.mjs";

export const NODE_MODULES = new URL("../node_modules/", import.meta.url).pathname.replace(/\/$/, "");
const require = createRequire(import.meta.url);

export type Runtime = "qwasm" | "ort-web" | "ort-node" | "tfjs-wasm";

/** A batch of images in every layout a runtime wants. */
export interface Inputs {
  batch: number;
  shape: [h: number, w: number, c: number];
  pixels: Uint8Array; // [batch][H][W][C]
  nhwc: Float32Array; // normalized
  nchw: Float32Array; // normalized
}

export function makeInputs(images: Uint8Array[], shape: [number, number, number], mean: number[], std: number[], valueScale = 1 / 255): Inputs {
  const [H, W, C] = shape, per = H * W * C, B = images.length;
  const pixels = new Uint8Array(B * per), nhwc = new Float32Array(B * per), nchw = new Float32Array(B * per);
  images.forEach((img, b) => {
    pixels.set(img.subarray(0, per), b * per);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < C; c++) {
      const v = (Math.fround(img[(y * W + x) * C + c] * valueScale) - mean[c]) / std[c];
      nhwc[b * per + (y * W + x) * C + c] = v;
      nchw[b * per + (c * H + y) * W + x] = v;
    }
  });
  return { batch: B, shape, pixels, nhwc, nchw };
}

export interface Session {
  runtime: Runtime;
  /** Runs a prepared input; resolves to the logits [batch][classes]. */
  run(id: number): Promise<Float32Array>;
  /** Registers an input under `id` (converted to the runtime's tensors ahead of the timed runs). */
  prepare(id: number, x: Inputs): void;
  /** Wasm memory of the runtime, where it can be read (qwasm: the model's WebAssembly.Memory). */
  wasmMemoryBytes?(): number;
  dispose(): void;
}

// ---- qwasm ---------------------------------------------------------------------------------------------

export async function qwasmSession(qwm: Uint8Array, build: "simd" | "nosimd" = "simd"): Promise<Session> {
  const m = await loadModel(qwm, { wasm: { [build]: readBuild(build) }, build });
  const inputs = new Map<number, Inputs>();
  return {
    runtime: "qwasm",
    prepare: (id, x) => { inputs.set(id, x); },
    run: async (id) => { const x = inputs.get(id)!; return m.run(x.pixels, { batch: x.batch }).logits; },
    wasmMemoryBytes: () => m.info.wasmMemoryBytes,
    dispose: () => m.dispose(),
  };
}

// ---- ONNX Runtime --------------------------------------------------------------------------------------

let ortWebModule: any;
async function ortWeb(): Promise<any> {
  if (ortWebModule) return ortWebModule;
  const ort = await import("onnxruntime-web");
  const o: any = (ort as any).default ?? ort;
  o.env.wasm.numThreads = 1;
  o.env.wasm.proxy = false;
  o.env.wasm.simd = true;
  o.env.wasm.wasmPaths = `${NODE_MODULES}/onnxruntime-web/dist/`;
  o.env.logLevel = "error";
  ortWebModule = o;
  return o;
}

function ortSession(rt: Runtime, ort: any, s: any): Session {
  const tensors = new Map<number, any>();
  const inName = s.inputNames[0], outName = s.outputNames[0];
  return {
    runtime: rt,
    prepare: (id, x) => { tensors.set(id, new ort.Tensor("float32", x.nchw, [x.batch, x.shape[2], x.shape[0], x.shape[1]])); },
    run: async (id) => {
      const r = await s.run({ [inName]: tensors.get(id) });
      return r[outName].data as Float32Array;
    },
    dispose: () => { void s.release?.(); },
  };
}

export async function ortWebSession(onnx: Uint8Array): Promise<Session> {
  const ort = await ortWeb();
  const s = await ort.InferenceSession.create(onnx, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
  return ortSession("ort-web", ort, s);
}

export async function ortNodeSession(onnx: Uint8Array, threads = 1): Promise<Session> {
  const ort = require("onnxruntime-node");
  const s = await ort.InferenceSession.create(onnx, {
    executionProviders: ["cpu"], intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: "sequential", graphOptimizationLevel: "all",
  });
  return ortSession("ort-node", ort, s);
}

// ---- TF.js ---------------------------------------------------------------------------------------------

let tfModule: any;
export async function tfjsSession(tfw: Uint8Array): Promise<Session> {
  tfModule ??= await tfWasm(NODE_MODULES);
  const model = buildTfModel(tfModule, tfw);
  const inputs = new Map<number, Inputs>();
  return {
    runtime: "tfjs-wasm",
    prepare: (id, x) => { inputs.set(id, x); },
    run: async (id) => { const x = inputs.get(id)!; return model.run(x.nhwc, x.batch); },
    dispose: () => model.dispose(),
  };
}

// ---- comparisons ---------------------------------------------------------------------------------------

/** Top-1 class of each row. Ties: the lowest index. */
export function argmax(logits: ArrayLike<number>, classes: number): Int32Array {
  const n = logits.length / classes, out = new Int32Array(n);
  for (let b = 0; b < n; b++) {
    let best = 0;
    for (let k = 1; k < classes; k++) if (logits[b * classes + k] > logits[b * classes + best]) best = k;
    out[b] = best;
  }
  return out;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
