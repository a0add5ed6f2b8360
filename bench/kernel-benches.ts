// The shapes of npm run bench:kernels: each entry prepares its buffers in a KernelHost and returns the call.
import type { KernelHost } from "../src/wasm/kernels.ts";
import { f32ConvScratchBytes, packF32Depthwise, packF32Gemm, packQs8Depthwise, packQs8Gemm } from "../src/pack/layout.ts";
import { rng } from "../test/helpers/ref.ts";
import { lowDw, qb1Conv, qb1Sign, qlutConv, qlutDw, qs4Conv, qs4Dense, qs4Dw, subConv } from "./lowbit-benches.ts";

export interface Bench { name: string; macs: number; setup(h: KernelHost): () => void }

interface Conv { H: number; C: number; N: number; K: number; S: number }
const outSize = (c: Conv) => Math.floor((c.H + 2 * (c.K >> 1) - c.K) / c.S) + 1;

function qs8Conv(c: Conv): Bench {
  const O = outSize(c), P = c.K >> 1;
  return {
    name: `qs8 conv2d ${c.K}x${c.K} ${c.C}->${c.N} @${c.H}x${c.H}${c.S > 1 ? ` s${c.S}` : ""}`,
    macs: O * O * c.N * c.K * c.K * c.C,
    setup(h) {
      const r = rng(1);
      const taps = c.K * c.K;
      const px = h.put(r.i8(c.H * c.H * c.C));
      const pw = h.put(packQs8Gemm(r.i8(c.N * taps * c.C, -127, 127), c.N, taps, c.C, new Int32Array(c.N), new Int32Array(c.N).fill(1 << 20)));
      const po = h.alloc(O * O * c.N);
      const ps = h.alloc(h.fn("qs8_conv2d_scratch_bytes")(O, O, c.C, c.K, c.K, c.S, c.S, 1, 1));
      const f = h.fn("qs8_conv2d");
      return () => f(px, c.H, c.H, c.C, 3, po, O, O, c.N, c.K, c.K, c.S, c.S, P, P, 1, 1, pw, 36, 0, -128, 127, ps);
    },
  };
}

function qs8Dense(M: number, K: number, N: number): Bench {
  return {
    name: `qs8 dense ${K}->${N} batch ${M}`,
    macs: M * K * N,
    setup(h) {
      const r = rng(2);
      const px = h.put(r.i8(M * K));
      const pw = h.put(packQs8Gemm(r.i8(N * K, -127, 127), N, 1, K, new Int32Array(N), new Int32Array(N).fill(1 << 20)));
      const po = h.alloc(M * N), ps = h.alloc(h.fn("qs8_fully_connected_scratch_bytes")(M, K));
      const f = h.fn("qs8_fully_connected");
      return () => f(M, N, K, px, 3, pw, 36, 0, -128, 127, po, ps);
    },
  };
}

function f32Conv(c: Conv): Bench {
  const O = outSize(c), P = c.K >> 1, K = c.K * c.K * c.C;
  return {
    name: `f32 conv2d ${c.K}x${c.K} ${c.C}->${c.N} @${c.H}x${c.H}${c.S > 1 ? ` s${c.S}` : ""}`,
    macs: O * O * c.N * K,
    setup(h) {
      const r = rng(3);
      const px = h.put(r.f32(c.H * c.H * c.C));
      const pw = h.put(packF32Gemm(r.f32(c.N * K, 0.1), c.N, K, r.f32(c.N)));
      const po = h.alloc(O * O * c.N * 4), ps = h.alloc(f32ConvScratchBytes(K));
      const f = h.fn("f32_conv2d");
      return () => f(px, c.H, c.H, c.C, po, O, O, c.N, c.K, c.K, c.S, c.S, P, P, 1, 1, pw, 0, Infinity, ps);
    },
  };
}

function dwConv(type: "qs8" | "f32", c: Conv): Bench {
  const O = outSize(c), P = c.K >> 1, T = c.K * c.K;
  return {
    name: `${type} dwconv2d ${c.K}x${c.K} ${c.C}ch @${c.H}x${c.H}${c.S > 1 ? ` s${c.S}` : ""}`,
    macs: O * O * c.C * T,
    setup(h) {
      const r = rng(4);
      if (type === "f32") {
        const px = h.put(r.f32(c.H * c.H * c.C)), po = h.alloc(O * O * c.C * 4);
        const pw = h.put(packF32Depthwise(r.f32(c.C * T, 0.3), c.C, c.K, c.K, r.f32(c.C)));
        const f = h.fn("f32_dwconv2d");
        return () => f(px, c.H, c.H, c.C, po, O, O, c.K, c.K, c.S, c.S, P, P, 1, 1, pw, 0, 6);
      }
      const px = h.put(r.i8(c.H * c.H * c.C)), po = h.alloc(O * O * c.C);
      const pw = h.put(packQs8Depthwise(r.i8(c.C * T, -127, 127), c.C, c.K, c.K, new Int32Array(c.C), new Int32Array(c.C).fill(1 << 24)));
      const f = h.fn("qs8_dwconv2d");
      return () => f(px, c.H, c.H, c.C, 3, po, O, O, c.K, c.K, c.S, c.S, P, P, 1, 1, pw, 36, -128, -128, 127);
    },
  };
}

function f32Dense(M: number, K: number, N: number): Bench {
  return {
    name: `f32 dense ${K}->${N} batch ${M}`,
    macs: M * K * N,
    setup(h) {
      const r = rng(5);
      const px = h.put(r.f32(M * K)), pw = h.put(packF32Gemm(r.f32(N * K, 0.1), N, K, r.f32(N))), po = h.alloc(M * N * 4);
      const f = h.fn("f32_fully_connected");
      return () => f(M, N, K, px, pw, -Infinity, Infinity, po);
    },
  };
}

const RESNET: Conv[] = [
  { H: 32, C: 16, N: 16, K: 3, S: 1 },
  { H: 16, C: 32, N: 32, K: 3, S: 1 },
  { H: 8, C: 64, N: 64, K: 3, S: 1 },
];
const POINTWISE: Conv[] = [
  { H: 32, C: 16, N: 32, K: 1, S: 1 },
  { H: 16, C: 32, N: 64, K: 1, S: 1 },
  { H: 8, C: 64, N: 128, K: 1, S: 1 },
];

const DEPTHWISE: Conv[] = [
  { H: 16, C: 32, N: 32, K: 3, S: 1 },
  { H: 16, C: 32, N: 32, K: 3, S: 2 },
  { H: 8, C: 64, N: 64, K: 3, S: 1 },
];

export const benches: Bench[] = [
  ...RESNET.map(qs8Conv),
  ...RESNET.map(f32Conv),
  ...POINTWISE.map(qs8Conv),
  ...POINTWISE.map(f32Conv),
  ...DEPTHWISE.map((c) => dwConv("qs8", c)),
  ...DEPTHWISE.map((c) => dwConv("f32", c)),
  qs8Dense(1, 64, 10),
  f32Dense(1, 64, 10),
  qs8Dense(64, 64, 10),
  f32Dense(64, 64, 10),
  // sub-8-bit weights on the same shapes (bench/lowbit-benches.ts)
  ...RESNET.map(qs4Conv),
  ...POINTWISE.map(qs4Conv),
  ...DEPTHWISE.map(qs4Dw),
  ...(["qs2", "ternary", "qbw", "qb1"] as const).flatMap((k) => DEPTHWISE.map((c) => lowDw(k, c))),
  qb1Sign(8, 64),
  qs4Dense(1, 64, 10),
  qs4Dense(64, 64, 10),
  ...RESNET.map((c) => subConv("qs2", c)),
  ...RESNET.map((c) => subConv("ternary", c)),
  ...RESNET.map((c) => subConv("qbw", c)),
  ...RESNET.map(qb1Conv),
  ...POINTWISE.map(qb1Conv),
  qb1Sign(16, 32),
  // codebook (LUT) weights: k-means 3- and 4-bit (per-channel tables), power-of-two 3- and 4-bit
  ...RESNET.map((c) => qlutConv("kmeans", 4, c)),
  ...RESNET.map((c) => qlutConv("kmeans", 3, c)),
  ...RESNET.map((c) => qlutConv("pow2", 4, c)),
  ...RESNET.map((c) => qlutConv("pow2", 3, c)),
  qlutConv("kmeans", 8, { H: 8, C: 64, N: 64, K: 3, S: 1 }),
  ...DEPTHWISE.map((c) => qlutDw("kmeans", 3, c)),
  ...DEPTHWISE.map((c) => qlutDw("pow2", 4, c)),
];
