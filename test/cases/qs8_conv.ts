// Cases for qs8_conv2d and qs8_fully_connected against the TypeScript references.
import { packQs8Gemm } from "../../src/pack/layout.ts";
import type { KernelHost } from "../../src/wasm/kernels.ts";
import { convOut, qs8Conv2dRef, randomQs8Params, rng, type ConvGeom, type Qs8Params } from "../helpers/ref.ts";
import type { KernelCase } from "./types.ts";

export function runQs8Conv(h: KernelHost, x: Int8Array, w: Int8Array, g: ConvGeom, q: Qs8Params): Int8Array {
  h.reset();
  const { OH, OW } = convOut(g);
  const K = g.KH * g.KW * g.C;
  const px = h.put(x);
  const pw = h.put(packQs8Gemm(w, g.N, g.KH * g.KW, g.C, q.bias, q.mult));
  const po = h.alloc(OH * OW * g.N);
  const ps = h.alloc(h.fn("qs8_conv2d_scratch_bytes")(OH, OW, g.C, g.KH, g.KW, g.SH, g.SW, g.DH, g.DW));
  h.fn("qs8_conv2d")(px, g.H, g.W, g.C, q.zx, po, OH, OW, g.N, g.KH, g.KW, g.SH, g.SW, g.PT, g.PL, g.DH, g.DW,
    pw, q.shift, q.zy, q.lo, q.hi, ps);
  return h.read(Int8Array, po, OH * OW * g.N);
}

function convCase(name: string, seed: number, g: ConvGeom, extreme = false): KernelCase {
  return {
    name,
    run(h) {
      const r = rng(seed);
      const K = g.KH * g.KW * g.C;
      const x = extreme ? r.i8(g.H * g.W * g.C, -128, -128).map(() => r.pick([-128, 127])) : r.i8(g.H * g.W * g.C);
      const w = extreme ? Int8Array.from({ length: g.N * K }, () => r.pick([-127, 127])) : r.i8(g.N * K, -127, 127);
      const q = randomQs8Params(r, g.N, K, extreme);
      return { got: runQs8Conv(h, x, w, g, q), want: qs8Conv2dRef(x, w, g, q) };
    },
  };
}

const geom = (H: number, W: number, C: number, N: number, KH: number, KW: number, S = 1, P = 0, D = 1): ConvGeom =>
  ({ H, W, C, N, KH, KW, SH: S, SW: S, PT: P, PL: P, PB: P, PR: P, DH: D, DW: D });

function randomGeom(seed: number): ConvGeom {
  const r = rng(seed);
  const KH = r.int(1, 5), KW = r.int(1, 5);
  const DH = r.pick([1, 1, 2]), DW = r.pick([1, 1, 2]);
  const g: ConvGeom = {
    H: r.int(DH * (KH - 1) + 1, 13), W: r.int(DW * (KW - 1) + 1, 13), C: r.int(1, 19), N: r.int(1, 21),
    KH, KW, SH: r.int(1, 3), SW: r.int(1, 3),
    PT: r.int(0, KH - 1), PL: r.int(0, KW - 1), PB: r.int(0, KH - 1), PR: r.int(0, KW - 1), DH, DW,
  };
  return g;
}

export const qs8ConvCases: KernelCase[] = [
  convCase("qs8_conv2d 3x3 16->16 8x8 pad 1", 1, geom(8, 8, 16, 16, 3, 3, 1, 1)),
  convCase("qs8_conv2d 3x3 3->8 stride 2 pad 1 (odd C)", 2, geom(9, 7, 3, 8, 3, 3, 2, 1)),
  convCase("qs8_conv2d 1x1 5->7 (N, K not multiples of 4)", 3, geom(5, 3, 5, 7, 1, 1)),
  convCase("qs8_conv2d 5x5 dilation 2", 4, geom(12, 12, 4, 6, 5, 5, 1, 4, 2)),
  convCase("qs8_conv2d extremes -128/127, weights +-127", 5, geom(6, 6, 33, 9, 3, 3, 1, 1), true),
  convCase("qs8_conv2d large K = 3*3*64", 6, geom(4, 4, 64, 12, 3, 3, 1, 1)),
  convCase("qs8_conv2d 143 pixels: several runs of 64, lines not a multiple of 4", 7, geom(13, 11, 16, 20, 3, 3, 1, 1)),
  ...Array.from({ length: 24 }, (_, i) => convCase(`qs8_conv2d random shape #${i}`, 100 + i, randomGeom(1000 + i), i % 6 === 5)),
  ...[1, 3, 4, 7, 17].map((M, i): KernelCase => ({
    name: `qs8_fully_connected M=${M}`,
    run(h) {
      const r = rng(200 + i);
      const N = r.int(1, 23), K = r.int(1, 150);
      const x = r.i8(M * K), w = r.i8(N * K, -127, 127);
      const q = randomQs8Params(r, N, K);
      h.reset();
      const px = h.put(x), pw = h.put(packQs8Gemm(w, N, 1, K, q.bias, q.mult));
      const po = h.alloc(M * N), ps = h.alloc(h.fn("qs8_fully_connected_scratch_bytes")(M, K));
      h.fn("qs8_fully_connected")(M, N, K, px, q.zx, pw, q.shift, q.zy, q.lo, q.hi, po, ps);
      // dense == 1x1 conv over an M x 1 image
      const want = qs8Conv2dRef(x, w, geom(M, 1, K, N, 1, 1), q);
      return { got: h.read(Int8Array, po, M * N), want };
    },
  })),
];
