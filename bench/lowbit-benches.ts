// The sub-8-bit kernels in npm run bench:kernels, on the int8 benches' shapes (bench/kernel-benches.ts).
import type { KernelHost } from "../src/wasm/kernels.ts";
import {
  packQb1Conv, packQb1Depthwise, packQbwDepthwise, packQbwGemm, packQlutDepthwise, packQlutGemm, packQs2Depthwise, packQs2Gemm, packQs4Depthwise,
  packQs4Gemm,
} from "../src/pack/lowbit.ts";
import { pow2Table } from "../src/quantize/lowbit.ts";
import { rng } from "../test/helpers/ref.ts";
import type { Bench } from "./kernel-benches.ts";

export interface Conv { H: number; C: number; N: number; K: number; S: number }
const outSize = (c: Conv) => Math.floor((c.H + 2 * (c.K >> 1) - c.K) / c.S) + 1;
const shapeName = (c: Conv) => `${c.K}x${c.K} ${c.C}->${c.N} @${c.H}x${c.H}${c.S > 1 ? ` s${c.S}` : ""}`;

export function qs4Conv(c: Conv): Bench {
  const O = outSize(c), P = c.K >> 1;
  return {
    name: `qs4 conv2d ${shapeName(c)}`,
    macs: O * O * c.N * c.K * c.K * c.C,
    setup(h: KernelHost) {
      const r = rng(1);
      const taps = c.K * c.K;
      const px = h.put(r.i8(c.H * c.H * c.C));
      const pw = h.put(packQs4Gemm(r.i8(c.N * taps * c.C, -8, 7), c.N, taps, c.C, new Int32Array(c.N), new Int32Array(c.N).fill(1 << 20)));
      const po = h.alloc(O * O * c.N);
      const ps = h.alloc(h.fn("qs4_conv2d_scratch_bytes")(O, O, c.C, c.K, c.K, c.S, c.S, 1, 1));
      const f = h.fn("qs4_conv2d");
      return () => f(px, c.H, c.H, c.C, 3, po, O, O, c.N, c.K, c.K, c.S, c.S, P, P, 1, 1, pw, 36, 0, -128, 127, ps);
    },
  };
}

export function qs4Dense(M: number, K: number, N: number): Bench {
  return {
    name: `qs4 dense ${K}->${N} batch ${M}`,
    macs: M * K * N,
    setup(h: KernelHost) {
      const r = rng(2);
      const px = h.put(r.i8(M * K));
      const pw = h.put(packQs4Gemm(r.i8(N * K, -8, 7), N, 1, K, new Int32Array(N), new Int32Array(N).fill(1 << 20)));
      const po = h.alloc(M * N), ps = h.alloc(h.fn("qs4_fully_connected_scratch_bytes")(M, K));
      const f = h.fn("qs4_fully_connected");
      return () => f(M, N, K, px, 3, pw, 36, 0, -128, 127, po, ps);
    },
  };
}

export function qs4Dw(c: Conv): Bench {
  const O = outSize(c), P = c.K >> 1, T = c.K * c.K;
  return {
    name: `qs4 dwconv2d ${c.K}x${c.K} ${c.C}ch @${c.H}x${c.H}${c.S > 1 ? ` s${c.S}` : ""}`,
    macs: O * O * c.C * T,
    setup(h: KernelHost) {
      const r = rng(4);
      const px = h.put(r.i8(c.H * c.H * c.C)), po = h.alloc(O * O * c.C);
      const pw = h.put(packQs4Depthwise(r.i8(c.C * T, -8, 7), c.C, c.K, c.K, new Int32Array(c.C), new Int32Array(c.C).fill(1 << 24)));
      const f = h.fn("qs4_dwconv2d");
      return () => f(px, c.H, c.H, c.C, 3, po, O, O, c.K, c.K, c.S, c.S, P, P, 1, 1, pw, 36, -128, -128, 127);
    },
  };
}

export function qb1Conv(c: Conv): Bench {
  const O = outSize(c), P = c.K >> 1, T = c.K * c.K, Cb = (c.C + 7) >> 3;
  return {
    name: `qb1 conv2d ${shapeName(c)}`,
    macs: O * O * c.N * T * c.C,
    setup(h: KernelHost) {
      const r = rng(1);
      const px = h.put(Uint8Array.from({ length: c.H * c.H * Cb }, () => r.int(0, 255)));
      const w = Int8Array.from({ length: c.N * T * c.C }, () => (r.next() < 0.5 ? -1 : 1));
      const pw = h.put(packQb1Conv(w, c.N, T, c.C, new Int32Array(c.N), new Int32Array(c.N).fill(1 << 28)));
      const po = h.alloc(O * O * c.N), ps = h.alloc(h.fn("qb1_conv2d_scratch_bytes")(c.K, c.K, c.C));
      const f = h.fn("qb1_conv2d");
      return () => f(px, c.H, c.H, c.C, po, O, O, c.N, c.K, c.K, c.S, c.S, P, P, 1, 1, pw, 36, 0, -128, 127, ps);
    },
  };
}

export function qb1Sign(H: number, C: number): Bench {
  return {
    name: `qb1 sign ${C}ch @${H}x${H} (elements)`,
    macs: H * H * C,
    setup(h: KernelHost) {
      const r = rng(7);
      const px = h.put(r.i8(H * H * C)), po = h.alloc(H * H * ((C + 7) >> 3));
      const f = h.fn("qb1_sign");
      return () => f(px, H * H, C, 0, po);
    },
  };
}

/** BWN (+-1 weights x int8) and 2-bit / ternary weights x int8 on a conv shape. */
export function subConv(kind: "qbw" | "qs2" | "ternary", c: Conv): Bench {
  const O = outSize(c), P = c.K >> 1, T = c.K * c.K;
  const k = kind === "qbw" ? "qbw" : "qs2";
  return {
    name: `${kind === "ternary" ? "qs2 ternary" : kind} conv2d ${shapeName(c)}`,
    macs: O * O * c.N * T * c.C,
    setup(h: KernelHost) {
      const r = rng(1);
      const px = h.put(r.i8(c.H * c.H * c.C));
      const w = Int8Array.from({ length: c.N * T * c.C }, () => (kind === "qbw" ? (r.next() < 0.5 ? -1 : 1) : kind === "qs2" ? r.int(-2, 1) : r.int(-1, 1)));
      const bias = new Int32Array(c.N), mult = new Int32Array(c.N).fill(1 << 24);
      const pw = h.put(k === "qbw" ? packQbwGemm(w, c.N, T, c.C, bias, mult) : packQs2Gemm(w, c.N, T, c.C, bias, mult));
      const po = h.alloc(O * O * c.N), ps = h.alloc(h.fn(`${k}_conv2d_scratch_bytes`)(O, O, c.C, c.K, c.K, c.S, c.S, 1, 1));
      const f = h.fn(`${k}_conv2d`);
      return () => f(px, c.H, c.H, c.C, 3, po, O, O, c.N, c.K, c.K, c.S, c.S, P, P, 1, 1, pw, 36, 0, -128, 127, ps);
    },
  };
}

/**
 * Codebook (LUT) weights x int8 on a conv shape: k-means-style random tables of 2^bits int8 levels per output
 * channel, or the fixed power-of-two table (one per layer) of pow2 3 / 4-bit codes.
 */
export function qlutConv(kind: "kmeans" | "pow2", bits: number, c: Conv): Bench {
  const O = outSize(c), P = c.K >> 1, T = c.K * c.K;
  return {
    name: `qlut ${kind} b=${bits} conv2d ${shapeName(c)}`,
    macs: O * O * c.N * T * c.C,
    setup(h: KernelHost) {
      const r = rng(1);
      const px = h.put(r.i8(c.H * c.H * c.C));
      const perChannel = kind === "kmeans", E = 2 ** bits;
      const tables = kind === "pow2" ? pow2Table(bits) : r.i8(c.N * E, -127, 127);
      const idx = Uint8Array.from({ length: c.N * T * c.C }, () => r.int(0, E - 1));
      const bias = new Int32Array(c.N), mult = new Int32Array(c.N).fill(1 << 20);
      const pw = h.put(packQlutGemm({ bits, entries: E, perChannel, idx, tables }, c.N, T, c.C, bias, mult));
      const po = h.alloc(O * O * c.N), ps = h.alloc(h.fn("qlut_conv2d_scratch_bytes")(O, O, c.C, c.K, c.K, c.S, c.S, 1, 1));
      const f = h.fn("qlut_conv2d");
      return () => f(px, c.H, c.H, c.C, 3, po, O, O, c.N, c.K, c.K, c.S, c.S, P, P, 1, 1, pw, bits, perChannel ? 1 : 0, 36, 0, -128, 127, ps);
    },
  };
}

/** Codebook depthwise (qlut_dwconv2d): k-means per-channel tables or the pow2 table, on the int8 depthwise shapes. */
export function qlutDw(kind: "kmeans" | "pow2", bits: number, c: Conv): Bench {
  const O = outSize(c), P = c.K >> 1, T = c.K * c.K;
  return {
    name: `qlut ${kind} b=${bits} dwconv2d ${c.K}x${c.K} ${c.C}ch @${c.H}x${c.H}${c.S > 1 ? ` s${c.S}` : ""}`,
    macs: O * O * c.C * T,
    setup(h: KernelHost) {
      const r = rng(6);
      const perChannel = kind === "kmeans", E = 2 ** bits;
      const tables = kind === "pow2" ? pow2Table(bits) : r.i8(c.C * E, -127, 127);
      const idx = Uint8Array.from({ length: c.C * T }, () => r.int(0, E - 1));
      const bias = new Int32Array(c.C), mult = new Int32Array(c.C).fill(1 << 20);
      const px = h.put(r.i8(c.H * c.H * c.C));
      const pw = h.put(packQlutDepthwise({ bits, entries: E, perChannel, idx, tables }, c.C, c.K, c.K, bias, mult));
      const po = h.alloc(O * O * c.C);
      const f = h.fn("qlut_dwconv2d");
      return () => f(px, c.H, c.H, c.C, 3, po, O, O, c.K, c.K, c.S, c.S, P, P, 1, 1, pw, 36, -128, -128, 127, bits, perChannel ? 1 : 0);
    },
  };
}

/**
 * Low-bit depthwise on the int8 depthwise shapes: 2-bit / ternary and BWN weights x int8 (qs2_dwconv2d,
 * qbw_dwconv2d), and binary XNOR (qb1_dwconv2d on a bit tensor; the sign that makes the bits is its own row).
 */
export function lowDw(kind: "qs2" | "ternary" | "qbw" | "qb1", c: Conv): Bench {
  const O = outSize(c), P = c.K >> 1, T = c.K * c.K;
  const fn = kind === "qbw" ? "qbw_dwconv2d" : kind === "qb1" ? "qb1_dwconv2d" : "qs2_dwconv2d";
  return {
    name: `${kind === "ternary" ? "qs2 ternary" : kind} dwconv2d ${c.K}x${c.K} ${c.C}ch @${c.H}x${c.H}${c.S > 1 ? ` s${c.S}` : ""}`,
    macs: O * O * c.C * T,
    setup(h: KernelHost) {
      const r = rng(4);
      const w = Int8Array.from({ length: c.C * T }, () => (kind === "qbw" || kind === "qb1" ? (r.next() < 0.5 ? -1 : 1) : kind === "qs2" ? r.int(-2, 1) : r.int(-1, 1)));
      const bias = new Int32Array(c.C), mult = new Int32Array(c.C).fill(1 << 24);
      const po = h.alloc(O * O * c.C);
      const f = h.fn(fn);
      if (kind === "qb1") {
        const px = h.put(Uint8Array.from({ length: c.H * c.H * ((c.C + 7) >> 3) }, () => r.int(0, 255)));
        const pw = h.put(packQb1Depthwise(w, c.C, c.K, c.K, bias, mult));
        return () => f(px, c.H, c.H, c.C, po, O, O, c.K, c.K, c.S, c.S, P, P, 1, 1, pw, 36, -128, -128, 127);
      }
      const px = h.put(r.i8(c.H * c.H * c.C));
      const pw = h.put(kind === "qbw" ? packQbwDepthwise(w, c.C, c.K, c.K, bias, mult) : packQs2Depthwise(w, c.C, c.K, c.K, bias, mult));
      return () => f(px, c.H, c.H, c.C, 3, po, O, O, c.K, c.K, c.S, c.S, P, P, 1, 1, pw, 36, -128, -128, 127);
    },
  };
}
