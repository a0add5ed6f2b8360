// Small hand-made .qwm models for the SDK tests, written with src/pack (writeQwm + layout packers), each with a
// plain TypeScript reference of its output so that tests can check what the runtime computed through the SDK.
import { ChannelOrder, DType, Op, Resize } from "../../assembly/runtime/schema.ts";
import { packF32Gemm, packQs8Gemm, qs8DenseScratchBytes } from "../../src/pack/layout.ts";
import { planArena } from "../../src/pack/plan.ts";
import { f32Bits, writeQwm, type OpDesc, type Program, type TensorDesc } from "../../src/pack/qwm.ts";
import { requantRef, rng } from "./ref.ts";

export interface DenseModelSpec {
  H: number; W: number; C: number; N: number;
  channelOrder?: ChannelOrder;
  resize?: Resize;
  crop?: number;
  labels?: string[];
  provenance?: Record<string, unknown>;
  /** [N][H*W*C] int8 weights; random when absent. */
  weights?: Int8Array;
  seed?: number;
}

export interface DenseModel {
  bytes: Uint8Array;
  spec: Required<Pick<DenseModelSpec, "H" | "W" | "C" | "N">>;
  outScale: number;
  outZp: number;
  /** Raw int8 outputs for u8 pixels [batch][H][W][C] (input quantization: v -> v - 128). */
  ref(px: Uint8Array, batch: number): Int8Array;
}

const IN_SCALE = 1 / 255, IN_ZP = -128;
const OUT_SCALE = 0.0625, OUT_ZP = -3;

/**
 * int8 classifier: input i8 [H][W][C] (scale 1/255, zero point -128: pixel v becomes v - 128, and the normalized
 * float v / 255 quantizes to the same value) -> DenseQs8 -> i8 [1][1][N] (scale 1/16, zero point -3).
 */
export function denseModel(s: DenseModelSpec): DenseModel {
  const { H, W, C, N } = s;
  const K = H * W * C;
  const r = rng(s.seed ?? 7);
  const w = s.weights ?? r.i8(N * K, -60, 60);
  const bias = Int32Array.from({ length: N }, () => r.int(-3000, 3000));
  const shift = 36;
  const mult = Int32Array.from({ length: N }, () => Math.min(2 ** 31 - 1, Math.floor(2 ** shift / (60 * K / 4) * (0.5 + r.next()))));
  const weights = packQs8Gemm(w, N, 1, K, bias, mult);
  const tensors: TensorDesc[] = [
    { dtype: DType.I8, shape: [H, W, C], offset: 0, scale: IN_SCALE, zeroPoint: IN_ZP },
    { dtype: DType.I8, shape: [1, 1, N], offset: 0, scale: OUT_SCALE, zeroPoint: OUT_ZP },
    { dtype: DType.U8, shape: [1, 1, qs8DenseScratchBytes(K)], offset: 0, scale: 0, zeroPoint: 0 },
  ];
  const ops: OpDesc[] = [{ op: Op.DenseQs8, inputs: [0], output: 1, scratch: 2, weights: { offset: 0, bytes: weights.length }, params: [shift, -128, 127] }];
  const plan = planArena(tensors, ops, 0, 1);
  plan.offsets.forEach((o, i) => (tensors[i].offset = o));
  const order = s.channelOrder ?? (C === 1 ? ChannelOrder.Gray : ChannelOrder.RGB);
  const prog: Program = {
    meta: {
      inputTensor: 0, outputTensor: 1, arenaBytes: plan.arenaBytes, channelOrder: order, resize: s.resize ?? Resize.Stretch,
      cropFraction: s.crop ?? 1, valueScale: 1 / 255, mean: [0, 0, 0], std: [1, 1, 1],
      pixelA: [65536, 65536, 65536], pixelB: [IN_ZP * 65536, IN_ZP * 65536, IN_ZP * 65536],
    },
    tensors, ops, weights, labels: s.labels, provenance: s.provenance,
  };
  const ref = (px: Uint8Array, batch: number) => {
    const out = new Int8Array(batch * N);
    for (let b = 0; b < batch; b++) for (let n = 0; n < N; n++) {
      let acc = bias[n];
      for (let k = 0; k < K; k++) acc += w[n * K + k] * (px[b * K + k] - 128 - IN_ZP);
      out[b * N + n] = requantRef(acc, mult[n], shift, OUT_ZP, -128, 127);
    }
    return out;
  };
  return { bytes: writeQwm(prog), spec: { H, W, C, N }, outScale: OUT_SCALE, outZp: OUT_ZP, ref };
}

/**
 * "Which color dominates": input [H][W][3], N = 3, class n sums channel n of every pixel. With channel order
 * BGR the model's channel 0 is blue, so its labels are [blue, green, red]; either way a red image is 'red'.
 */
export function colorModel(order: ChannelOrder.RGB | ChannelOrder.BGR, H = 4, W = 4, extra: Partial<DenseModelSpec> = {}): DenseModel {
  const K = H * W * 3;
  const w = new Int8Array(3 * K);
  for (let n = 0; n < 3; n++) for (let p = 0; p < H * W; p++) w[n * K + p * 3 + n] = 8;
  const labels = order === ChannelOrder.RGB ? ["red", "green", "blue"] : ["blue", "green", "red"];
  return denseModel({ H, W, C: 3, N: 3, channelOrder: order, weights: w, labels, ...extra });
}

export interface FloatModel {
  bytes: Uint8Array;
  /** Outputs for normalized floats [batch][H][W][C], in float64. */
  ref(x: Float32Array, batch: number): Float64Array;
  mean: number[];
  std: number[];
}

/** Float classifier: f32 [H][W][C] -> DenseF32 -> f32 [1][1][N]. */
export function floatModel(H: number, W: number, C: number, N: number, seed = 3): FloatModel {
  const K = H * W * C;
  const r = rng(seed);
  const w = r.f32(N * K, 0.5), bias = r.f32(N, 0.1);
  const weights = packF32Gemm(w, N, K, bias);
  const tensors: TensorDesc[] = [
    { dtype: DType.F32, shape: [H, W, C], offset: 0, scale: 0, zeroPoint: 0 },
    { dtype: DType.F32, shape: [1, 1, N], offset: 0, scale: 0, zeroPoint: 0 },
  ];
  const ops: OpDesc[] = [{ op: Op.DenseF32, inputs: [0], output: 1, weights: { offset: 0, bytes: weights.length }, params: [f32Bits(-Infinity), f32Bits(Infinity)] }];
  const plan = planArena(tensors, ops, 0, 1);
  plan.offsets.forEach((o, i) => (tensors[i].offset = o));
  const mean = [0.5, 0.25, 0.125].slice(0, C), std = [0.25, 0.5, 2].slice(0, C);
  const prog: Program = {
    meta: {
      inputTensor: 0, outputTensor: 1, arenaBytes: plan.arenaBytes, channelOrder: C === 1 ? ChannelOrder.Gray : ChannelOrder.RGB,
      resize: Resize.Stretch, cropFraction: 1, valueScale: 1 / 255, mean, std, pixelA: [0, 0, 0], pixelB: [0, 0, 0],
    },
    tensors, ops, weights,
  };
  const ref = (x: Float32Array, batch: number) => {
    const out = new Float64Array(batch * N);
    for (let b = 0; b < batch; b++) for (let n = 0; n < N; n++) {
      let acc = bias[n];
      for (let k = 0; k < K; k++) acc += w[n * K + k] * x[b * K + k];
      out[b * N + n] = acc;
    }
    return out;
  };
  return { bytes: writeQwm(prog), ref, mean, std };
}
