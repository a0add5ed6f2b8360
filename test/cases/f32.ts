// Cases for the f32 kernels (assembly/kernels/f32_*.ts) against the exact-float32 TypeScript references,
// compared bit for bit: conv2d, fully connected, depthwise conv2d, pools, add, activations.
import { packF32Depthwise, packF32Gemm } from "../../src/pack/layout.ts";
import type { KernelHost } from "../../src/wasm/kernels.ts";
import { convOut, rng, type ConvGeom, type Rng } from "../helpers/ref.ts";
import {
  ACT, f32ActivationRef, f32AddRef, f32Conv2dRef, f32DwConv2dRef, f32GlobalAvgPoolRef, f32PoolRef,
} from "../helpers/ref_f32.ts";
import type { KernelCase } from "./types.ts";

const f = Math.fround;

/** Random floats in [-scale, scale] with some exact zeros (+0 and -0) mixed in. */
function data(r: Rng, n: number, scale = 1): Float32Array {
  const v = r.f32(n, scale);
  for (let i = 0; i < n; i++) if (r.next() < 0.05) v[i] = r.next() < 0.5 ? 0 : -0;
  return v;
}

/** A fused activation range: none, ReLU, ReLU6 or an arbitrary window (as f32 values). */
function clampRange(r: Rng): [number, number] {
  switch (r.int(0, 3)) {
    case 0: return [-Infinity, Infinity];
    case 1: return [0, Infinity];
    case 2: return [0, 6];
    default: { const lo = f(-r.next()); return [lo, f(lo + r.next() * 1.5)]; }
  }
}

export function runF32Conv(h: KernelHost, x: Float32Array, w: Float32Array, bias: Float32Array, g: ConvGeom, lo: number, hi: number): Float32Array {
  h.reset();
  const { OH, OW } = convOut(g);
  const K = g.KH * g.KW * g.C;
  const px = h.put(x);
  const pw = h.put(packF32Gemm(w, g.N, K, bias));
  const po = h.alloc(OH * OW * g.N * 4);
  const ps = h.alloc(h.fn("f32_conv2d_scratch_bytes")(K));
  h.fn("f32_conv2d")(px, g.H, g.W, g.C, po, OH, OW, g.N, g.KH, g.KW, g.SH, g.SW, g.PT, g.PL, g.DH, g.DW, pw, lo, hi, ps);
  return h.read(Float32Array, po, OH * OW * g.N);
}

const geom = (H: number, W: number, C: number, N: number, KH: number, KW: number, S = 1, P = 0, D = 1): ConvGeom =>
  ({ H, W, C, N, KH, KW, SH: S, SW: S, PT: P, PL: P, PB: P, PR: P, DH: D, DW: D });

function randomGeom(seed: number, maxK = 5): ConvGeom {
  const r = rng(seed);
  const KH = r.int(1, maxK), KW = r.int(1, maxK);
  const DH = r.pick([1, 1, 2]), DW = r.pick([1, 1, 2]);
  return {
    H: r.int(DH * (KH - 1) + 1, 15), W: r.int(DW * (KW - 1) + 1, 15), C: r.int(1, 21), N: r.int(1, 27),
    KH, KW, SH: r.int(1, 3), SW: r.int(1, 3),
    PT: r.int(0, KH - 1), PL: r.int(0, KW - 1), PB: r.int(0, KH - 1), PR: r.int(0, KW - 1), DH, DW,
  };
}

function convCase(name: string, seed: number, g: ConvGeom): KernelCase {
  return {
    name,
    run(h) {
      const r = rng(seed);
      const K = g.KH * g.KW * g.C;
      const x = data(r, g.H * g.W * g.C), w = data(r, g.N * K, 1 / Math.sqrt(K)), bias = data(r, g.N, 0.5);
      const [lo, hi] = clampRange(r);
      return { got: runF32Conv(h, x, w, bias, g, lo, hi), want: f32Conv2dRef(x, w, bias, g, lo, hi) };
    },
  };
}

function fcCase(M: number, seed: number): KernelCase {
  return {
    name: `f32_fully_connected M=${M}`,
    run(h) {
      const r = rng(seed);
      const N = r.int(1, 37), K = r.int(1, 160);
      const x = data(r, M * K), w = data(r, N * K, 1 / Math.sqrt(K)), bias = data(r, N, 0.5);
      const [lo, hi] = clampRange(r);
      h.reset();
      const px = h.put(x), pw = h.put(packF32Gemm(w, N, K, bias)), po = h.alloc(M * N * 4);
      h.fn("f32_fully_connected")(M, N, K, px, pw, lo, hi, po);
      // dense == 1x1 conv over an M x 1 image
      return { got: h.read(Float32Array, po, M * N), want: f32Conv2dRef(x, w, bias, geom(M, 1, K, N, 1, 1), lo, hi) };
    },
  };
}

function dwCase(name: string, seed: number, g: ConvGeom): KernelCase {
  return {
    name,
    run(h) {
      const r = rng(seed);
      const C = g.C, T = g.KH * g.KW;
      const x = data(r, g.H * g.W * C), w = data(r, C * T, 1 / Math.sqrt(T)), bias = data(r, C, 0.5);
      const [lo, hi] = clampRange(r);
      const { OH, OW } = convOut(g);
      h.reset();
      const px = h.put(x), pw = h.put(packF32Depthwise(w, C, g.KH, g.KW, bias)), po = h.alloc(OH * OW * C * 4);
      h.fn("f32_dwconv2d")(px, g.H, g.W, C, po, OH, OW, g.KH, g.KW, g.SH, g.SW, g.PT, g.PL, g.DH, g.DW, pw, lo, hi);
      return { got: h.read(Float32Array, po, OH * OW * C), want: f32DwConv2dRef(x, w, bias, g, lo, hi) };
    },
  };
}

function poolCase(kind: "max" | "avg", name: string, seed: number, g: ConvGeom): KernelCase {
  return {
    name,
    run(h) {
      const r = rng(seed);
      const x = data(r, g.H * g.W * g.C, 4);
      const { OH, OW } = convOut(g);
      h.reset();
      const px = h.put(x), po = h.alloc(OH * OW * g.C * 4);
      h.fn(kind === "max" ? "f32_maxpool2d" : "f32_avgpool2d")(px, g.H, g.W, g.C, po, OH, OW,
        g.KH, g.KW, g.SH, g.SW, g.PT, g.PL, g.DH, g.DW);
      return { got: h.read(Float32Array, po, OH * OW * g.C), want: f32PoolRef(x, g, kind) };
    },
  };
}

/** Activation inputs: ordinary values, zeros of both signs, and values out in exp's clamped range. */
function actData(r: Rng, n: number): Float32Array {
  const special = [0, -0, 1e-30, -1e-30, 3, -3, 6, -6, 87, -87, 87.5, -87.5, 88, -88, 88.5, -88.5, 100, -100, 1e30, -1e30]; // no inf: hardswish(-inf) is NaN
  const v = r.f32(n, 10);
  for (let i = 0; i < n; i++) if (r.next() < 0.2) v[i] = r.pick(special);
  return v;
}

const ACT_PARAMS: Record<keyof typeof ACT, [number, number]> = {
  relu: [0, 0], clamp: [0, 6], sigmoid: [0, 0], hardswish: [0, 0], leakyrelu: [0.1, 0], hardsigmoid: [0.2, 0.5],
};

export const f32Cases: KernelCase[] = [
  convCase("f32_conv2d 3x3 16->16 8x8 pad 1", 1, geom(8, 8, 16, 16, 3, 3, 1, 1)),
  convCase("f32_conv2d 3x3 32->32 16x16 pad 1", 2, geom(16, 16, 32, 32, 3, 3, 1, 1)),
  convCase("f32_conv2d 3x3 3->8 stride 2 pad 1 (odd C)", 3, geom(9, 7, 3, 8, 3, 3, 2, 1)),
  convCase("f32_conv2d 1x1 5->7 (direct rows, N < 8)", 4, geom(5, 3, 5, 7, 1, 1)),
  convCase("f32_conv2d 1x1 13->19 11x13 (direct rows, > 64 rows, tails)", 5, geom(11, 13, 13, 19, 1, 1)),
  convCase("f32_conv2d 1x1 stride 2 (im2col path)", 6, geom(9, 9, 6, 9, 1, 1, 2)),
  convCase("f32_conv2d 5x5 dilation 2 pad 4", 7, geom(12, 12, 4, 6, 5, 5, 1, 4, 2)),
  convCase("f32_conv2d large K = 3*3*64, N = 12", 8, geom(5, 5, 64, 12, 3, 3, 1, 1)),
  convCase("f32_conv2d 7x7 stride 2 pad 3, 3->17", 9, geom(15, 13, 3, 17, 7, 7, 2, 3)),
  convCase("f32_conv2d asymmetric padding", 10, { ...geom(7, 8, 5, 9, 3, 2), PT: 0, PB: 2, PL: 1, PR: 0, SH: 1, SW: 2 }),
  ...Array.from({ length: 24 }, (_, i) => convCase(`f32_conv2d random shape #${i}`, 100 + i, randomGeom(1000 + i))),
  ...[1, 2, 3, 4, 5, 7, 17, 70].map((M, i) => fcCase(M, 200 + i)),

  dwCase("f32_dwconv2d 3x3 C=32 pad 1", 11, geom(10, 10, 32, 32, 3, 3, 1, 1)),
  dwCase("f32_dwconv2d 3x3 C=37 stride 2 pad 1 (16+16+4+1 channels)", 12, geom(9, 11, 37, 37, 3, 3, 2, 1)),
  dwCase("f32_dwconv2d 5x5 C=3 dilation 2 pad 4", 13, geom(12, 10, 3, 3, 5, 5, 1, 4, 2)),
  dwCase("f32_dwconv2d 3x3 C=6 pad 2 (windows mostly outside)", 14, geom(3, 3, 6, 6, 3, 3, 1, 2)),
  ...Array.from({ length: 16 }, (_, i) => {
    const g = randomGeom(2000 + i);
    return dwCase(`f32_dwconv2d random shape #${i}`, 300 + i, { ...g, N: g.C });
  }),

  poolCase("max", "f32_maxpool2d 3x3 stride 2 pad 1", 20, geom(9, 9, 13, 13, 3, 3, 2, 1)),
  poolCase("max", "f32_maxpool2d 2x2 stride 2 C=5", 21, geom(8, 6, 5, 5, 2, 2, 2)),
  poolCase("avg", "f32_avgpool2d 3x3 stride 1 pad 1 (count_include_pad = false)", 22, geom(7, 9, 11, 11, 3, 3, 1, 1)),
  poolCase("avg", "f32_avgpool2d 2x2 stride 2 C=8", 23, geom(8, 8, 8, 8, 2, 2, 2)),
  ...Array.from({ length: 12 }, (_, i) => {
    const g = randomGeom(3000 + i, 4);
    return poolCase(i % 2 ? "avg" : "max", `f32_${i % 2 ? "avg" : "max"}pool2d random shape #${i}`, 400 + i, { ...g, N: g.C });
  }),
  ...[[7, 7, 32], [1, 1, 5], [3, 5, 19], [14, 14, 3]].map(([H, W, C], i): KernelCase => ({
    name: `f32_global_avgpool ${H}x${W}x${C}`,
    run(h) {
      const r = rng(500 + i);
      const x = data(r, H * W * C, 3);
      h.reset();
      const px = h.put(x), po = h.alloc(C * 4);
      h.fn("f32_global_avgpool")(px, H, W, C, po);
      return { got: h.read(Float32Array, po, C), want: f32GlobalAvgPoolRef(x, H, W, C) };
    },
  })),

  ...[1, 3, 4, 17, 64, 103].map((n, i): KernelCase => ({
    name: `f32_add n=${n}${i % 2 ? " (in place)" : ""}`,
    run(h) {
      const r = rng(600 + i);
      const a = data(r, n, 2), b = data(r, n, 2);
      const [lo, hi] = clampRange(r);
      h.reset();
      const pa = h.put(a), pb = h.put(b), po = i % 2 ? pa : h.alloc(n * 4);
      h.fn("f32_add")(pa, pb, po, n, lo, hi);
      return { got: h.read(Float32Array, po, n), want: f32AddRef(a, b, lo, hi) };
    },
  })),

  ...(Object.keys(ACT) as (keyof typeof ACT)[]).flatMap((name, j) => [5, 131].map((n, i): KernelCase => ({
    name: `f32_activation ${name} n=${n}${i ? " (in place)" : ""}`,
    run(h) {
      const r = rng(700 + 10 * j + i);
      const x = actData(r, n);
      const [alpha, beta] = ACT_PARAMS[name];
      h.reset();
      const px = h.put(x), po = i ? px : h.alloc(n * 4);
      h.fn("f32_activation")(px, po, n, ACT[name], alpha, beta);
      return { got: h.read(Float32Array, po, n), want: f32ActivationRef(x, ACT[name], alpha, beta) };
    },
  }))),
];
