// Cases for the sub-8-bit kernels (int4 conv / dense / depthwise, binary, 2-bit, ternary) against the same
// TypeScript references as the int8 ones: the packed low-bit weights are plain small integers to the reference.
import { codebookWeights, packQb1Conv, packQbwGemm, packQlutGemm, packQs2Gemm, packQs4Depthwise, packQs4Gemm, type Codebook } from "../../src/pack/lowbit.ts";
import type { KernelHost } from "../../src/wasm/kernels.ts";
import { convOut, qs8Conv2dRef, randomQs8Params, requantRef, rng, type ConvGeom, type Rng } from "../helpers/ref.ts";
import { poolOut, qs8DwConv2dRef, type PoolGeom } from "../helpers/ref_qs8.ts";
import type { KernelCase } from "./types.ts";

const geom = (H: number, W: number, C: number, N: number, KH: number, KW: number, S = 1, P = 0, D = 1): ConvGeom =>
  ({ H, W, C, N, KH, KW, SH: S, SW: S, PT: P, PL: P, PB: P, PR: P, DH: D, DW: D });

function randomGeom(r: Rng): ConvGeom {
  const KH = r.int(1, 5), KW = r.int(1, 5);
  const DH = r.pick([1, 1, 2]), DW = r.pick([1, 1, 2]);
  return {
    H: r.int(DH * (KH - 1) + 1, 13), W: r.int(DW * (KW - 1) + 1, 13), C: r.int(1, 37), N: r.int(1, 21),
    KH, KW, SH: r.int(1, 3), SW: r.int(1, 3),
    PT: r.int(0, KH - 1), PL: r.int(0, KW - 1), PB: r.int(0, KH - 1), PR: r.int(0, KW - 1), DH, DW,
  };
}

const i4 = (r: Rng, n: number, extreme: boolean) =>
  extreme ? Int8Array.from({ length: n }, () => r.pick([-8, 7])) : r.i8(n, -8, 7);

function qs4ConvCase(name: string, seed: number, g: ConvGeom | ((r: Rng) => ConvGeom), extreme = false): KernelCase {
  return {
    name,
    run(h) {
      const r = rng(seed);
      const G = typeof g === "function" ? g(r) : g;
      const T = G.KH * G.KW, K = T * G.C;
      const x = extreme ? Int8Array.from({ length: G.H * G.W * G.C }, () => r.pick([-128, 127])) : r.i8(G.H * G.W * G.C);
      const w = i4(r, G.N * K, extreme);
      const q = randomQs8Params(r, G.N, K, extreme);
      q.mult = q.mult.map((m) => Math.min(2 ** 31 - 1, m * 12));
      const { OH, OW } = convOut(G);
      h.reset();
      const px = h.put(x);
      const packed = packQs4Gemm(w, G.N, T, G.C, q.bias, q.mult);
      if (h.fn("qs4_packed_bytes")(G.N, T, G.C) !== packed.length) throw new Error("packed size differs");
      const pw = h.put(packed);
      const po = h.alloc(OH * OW * G.N);
      const ps = h.alloc(h.fn("qs4_conv2d_scratch_bytes")(OH, OW, G.C, G.KH, G.KW, G.SH, G.SW, G.DH, G.DW));
      h.fn("qs4_conv2d")(px, G.H, G.W, G.C, q.zx, po, OH, OW, G.N, G.KH, G.KW, G.SH, G.SW, G.PT, G.PL, G.DH, G.DW,
        pw, q.shift, q.zy, q.lo, q.hi, ps);
      return { got: h.read(Int8Array, po, OH * OW * G.N), want: qs8Conv2dRef(x, w, G, q) };
    },
  };
}

function qs4DenseCase(M: number, seed: number, shape?: { N: number; K: number; extreme?: boolean }): KernelCase {
  return {
    name: `qs4_fully_connected M=${M}${shape ? ` ${shape.K}->${shape.N}${shape.extreme ? " extremes" : ""}` : ""}`,
    run(h) {
      const r = rng(seed);
      const N = shape?.N ?? r.int(1, 23), K = shape?.K ?? r.int(1, 150);
      const ext = shape?.extreme ?? false;
      const x = ext ? Int8Array.from({ length: M * K }, () => r.pick([-128, 127])) : r.i8(M * K), w = i4(r, N * K, ext);
      const q = randomQs8Params(r, N, K, ext);
      h.reset();
      const px = h.put(x), pw = h.put(packQs4Gemm(w, N, 1, K, q.bias, q.mult));
      const po = h.alloc(M * N), ps = h.alloc(h.fn("qs4_fully_connected_scratch_bytes")(M, K));
      h.fn("qs4_fully_connected")(M, N, K, px, q.zx, pw, q.shift, q.zy, q.lo, q.hi, po, ps);
      return { got: h.read(Int8Array, po, M * N), want: qs8Conv2dRef(x, w, geom(M, 1, K, N, 1, 1), q) };
    },
  };
}

const pgeom = (H: number, W: number, C: number, KH: number, KW: number, S = 1, P = 0, D = 1): PoolGeom =>
  ({ H, W, C, KH, KW, SH: S, SW: S, PT: P, PL: P, PB: P, PR: P, DH: D, DW: D });

function qs4DwCase(name: string, seed: number, g: PoolGeom | ((r: Rng) => PoolGeom), extreme = false): KernelCase {
  return {
    name,
    run(h) {
      const r = rng(seed);
      const G = typeof g === "function" ? g(r) : g;
      const T = G.KH * G.KW;
      const x = extreme ? Int8Array.from({ length: G.H * G.W * G.C }, () => r.pick([-128, 127])) : r.i8(G.H * G.W * G.C);
      const w = i4(r, T * G.C, extreme);
      const q = randomQs8Params(r, G.C, T, extreme);
      q.mult = q.mult.map((m) => Math.min(2 ** 31 - 1, m * 12));
      const { OH, OW } = poolOut(G);
      h.reset();
      const packed = packQs4Depthwise(w, G.C, G.KH, G.KW, q.bias, q.mult);
      if (h.fn("qs4_dwconv2d_packed_bytes")(G.C, G.KH, G.KW) !== packed.length) throw new Error("packed size differs");
      const px = h.put(x), pw = h.put(packed);
      const po = h.alloc(OH * OW * G.C);
      h.fn("qs4_dwconv2d")(px, G.H, G.W, G.C, q.zx, po, OH, OW, G.KH, G.KW, G.SH, G.SW, G.PT, G.PL, G.DH, G.DW,
        pw, q.shift, q.zy, q.lo, q.hi);
      return { got: h.read(Int8Array, po, OH * OW * G.C), want: qs8DwConv2dRef(x, w, G, q.zx, q.bias, q.mult, q.shift, q.zy, q.lo, q.hi) };
    },
  };
}

function randomDwGeom(r: Rng): PoolGeom {
  const KH = r.int(1, 5), KW = r.int(1, 5);
  const DH = r.pick([1, 1, 2]), DW = r.pick([1, 1, 2]);
  return {
    H: r.int(DH * (KH - 1) + 1, 13), W: r.int(DW * (KW - 1) + 1, 13), C: r.pick([1, 3, 8, 9, 16, 17, 24, r.int(1, 40)]),
    KH, KW, SH: r.int(1, 3), SW: r.int(1, 3),
    PT: r.int(0, KH - 1), PL: r.int(0, KW - 1), PB: r.int(0, KH - 1), PR: r.int(0, KW - 1), DH, DW,
  };
}

export const lowbitCases: KernelCase[] = [
  qs4ConvCase("qs4_conv2d 3x3 16->16 8x8 pad 1", 1, geom(8, 8, 16, 16, 3, 3, 1, 1)),
  qs4ConvCase("qs4_conv2d 3x3 3->8 stride 2 pad 1 (odd C)", 2, geom(9, 7, 3, 8, 3, 3, 2, 1)),
  qs4ConvCase("qs4_conv2d 1x1 5->7", 3, geom(5, 3, 5, 7, 1, 1)),
  qs4ConvCase("qs4_conv2d 5x5 dilation 2 C=12", 4, geom(12, 12, 12, 6, 5, 5, 1, 4, 2)),
  qs4ConvCase("qs4_conv2d extremes -128/127, weights -8/7", 5, geom(6, 6, 33, 9, 3, 3, 1, 1), true),
  qs4ConvCase("qs4_conv2d large K = 3*3*64", 6, geom(4, 4, 64, 12, 3, 3, 1, 1)),
  // fill_sumx sums four pixels at a time: 81 pixels are a full 64-pixel tile and one of 17 (a group of one
  // pixel at its end, whose padding rows repeat the last pixel); K = 9*64 = 576 takes the int16 path's flush
  qs4ConvCase("qs4_conv2d 3x3 32->24 9x9 (tiles of 64 + 17 pixels)", 7, geom(9, 9, 32, 24, 3, 3, 1, 1)),
  qs4ConvCase("qs4_conv2d 3x3 64->16 9x9 extremes (K = 576)", 8, geom(9, 9, 64, 16, 3, 3, 1, 1), true),
  qs4ConvCase("qs4_conv2d 1x1 64->32 7x5 (35 pixels)", 9, geom(7, 5, 64, 32, 1, 1)),
  // 1x1, stride 1, no padding: the relaxed build puts the rows tile by tile with their sums (rows_seeded); 81
  // pixels of 13 channels (two tiles, channel padding), and a strided / padded 1x1 that does not take it
  qs4ConvCase("qs4_conv2d 1x1 13->9 9x9 (two tiles)", 10, geom(9, 9, 13, 9, 1, 1), true),
  qs4ConvCase("qs4_conv2d 1x1 16->8 9x9 stride 2 pad 0", 11, geom(9, 9, 16, 8, 1, 1, 2)),
  qs4ConvCase("qs4_conv2d 3x3 8->10 5x5 pad 1 (last block of 2 channels)", 12, geom(5, 5, 8, 10, 3, 3, 1, 1), true),
  ...Array.from({ length: 16 }, (_, i) => qs4ConvCase(`qs4_conv2d random shape #${i}`, 300 + i, randomGeom, i % 5 === 4)),
  ...[1, 3, 4, 7, 17].map((M, i) => qs4DenseCase(M, 400 + i)),
  // one image: the SIMD builds take the row's sum while putting it in place (put_row_seed), odd K with a scalar
  // tail; two rows with K > 512 take fill_sumx's long path (int16 sums flushed every 64 vectors)
  qs4DenseCase(1, 410, { N: 10, K: 64 }),
  qs4DenseCase(1, 411, { N: 16, K: 1000, extreme: true }),
  qs4DenseCase(1, 412, { N: 17, K: 40 }),
  qs4DenseCase(1, 417, { N: 5, K: 37 }),
  qs4DenseCase(2, 413, { N: 9, K: 1100, extreme: true }),
  qs4DenseCase(5, 414, { N: 10, K: 64 }),
  // a full tile of 64 rows, 33 rows (a group of one in fill_sumx), 70 rows (two tiles)
  qs4DenseCase(64, 415, { N: 10, K: 64 }),
  qs4DenseCase(33, 416, { N: 23, K: 150, extreme: true }),
  qs4DenseCase(70, 418, { N: 6, K: 21 }),
  // N % 4 = 1 or 2: the last channel block has no high nibbles (igemm4_simd_lo), with 3 pixels in its last group
  qs4DenseCase(7, 419, { N: 13, K: 24, extreme: true }),
  qs4DenseCase(11, 420, { N: 10, K: 200 }),
  qs4DwCase("qs4_dwconv2d 3x3 C=32 16x16 pad 1", 1, pgeom(16, 16, 32, 3, 3, 1, 1)),
  qs4DwCase("qs4_dwconv2d 3x3 C=32 15x15 stride 2 pad 1", 2, pgeom(15, 15, 32, 3, 3, 2, 1)),
  qs4DwCase("qs4_dwconv2d 5x5 C=24 dilation 2 pad 4", 3, pgeom(11, 9, 24, 5, 5, 1, 4, 2)),
  qs4DwCase("qs4_dwconv2d 3x3 C=17 extremes", 4, pgeom(6, 5, 17, 3, 3, 2, 1), true),
  qs4DwCase("qs4_dwconv2d 1x1 C=40", 5, pgeom(5, 6, 40, 1, 1)),
  ...Array.from({ length: 12 }, (_, i) => qs4DwCase(`qs4_dwconv2d random geometry #${i}`, 500 + i, randomDwGeom, i % 4 === 3)),
];

// ---------------------------------------------------------------- binary (XNOR-Net)

/** Reference: a = +1 where x >= t else -1; sum over valid taps of a*w; requantized. */
function qb1ConvRef(x: Int8Array, t: number, w: Int8Array, g: ConvGeom, bias: Int32Array, mult: Int32Array, shift: number, zy: number, lo: number, hi: number): Int8Array {
  const { OH, OW } = convOut(g);
  const out = new Int8Array(OH * OW * g.N);
  for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) for (let n = 0; n < g.N; n++) {
    let acc = 0;
    for (let ky = 0; ky < g.KH; ky++) for (let kx = 0; kx < g.KW; kx++) {
      const iy = oy * g.SH - g.PT + ky * g.DH, ix = ox * g.SW - g.PL + kx * g.DW;
      if (iy < 0 || iy >= g.H || ix < 0 || ix >= g.W) continue;
      for (let c = 0; c < g.C; c++) {
        const a = x[(iy * g.W + ix) * g.C + c] >= t ? 1 : -1;
        acc += a * w[((n * g.KH + ky) * g.KW + kx) * g.C + c];
      }
    }
    out[(oy * OW + ox) * g.N + n] = requantRef(acc + bias[n], mult[n], shift, zy, lo, hi);
  }
  return out;
}

function qb1ConvCase(name: string, seed: number, g: ConvGeom | ((r: Rng) => ConvGeom)): KernelCase {
  return {
    name,
    run(h) {
      const r = rng(seed);
      const G = typeof g === "function" ? g(r) : g;
      const T = G.KH * G.KW, K = T * G.C, Cb = (G.C + 7) >> 3;
      const x = r.i8(G.H * G.W * G.C);
      const thr = r.int(-20, 20);
      const w = Int8Array.from({ length: G.N * K }, () => (r.next() < 0.5 ? -1 : 1));
      const q = randomQs8Params(r, G.N, K);
      q.mult = q.mult.map((m) => Math.min(2 ** 31 - 1, m * 2000));
      q.bias = q.bias.map((b) => Math.round(b / 50));
      const { OH, OW } = convOut(G);
      h.reset();
      const packed = packQb1Conv(w, G.N, T, G.C, q.bias, q.mult);
      if (h.fn("qb1_packed_bytes")(G.N, T, G.C) !== packed.length) throw new Error("packed size differs");
      const px = h.put(x), pb = h.alloc(G.H * G.W * Cb), pw = h.put(packed);
      const po = h.alloc(OH * OW * G.N), ps = h.alloc(h.fn("qb1_conv2d_scratch_bytes")(G.KH, G.KW, G.C));
      h.fn("qb1_sign")(px, G.H * G.W, G.C, thr, pb);
      h.fn("qb1_conv2d")(pb, G.H, G.W, G.C, po, OH, OW, G.N, G.KH, G.KW, G.SH, G.SW, G.PT, G.PL, G.DH, G.DW,
        pw, q.shift, q.zy, q.lo, q.hi, ps);
      return { got: h.read(Int8Array, po, OH * OW * G.N), want: qb1ConvRef(x, thr, w, G, q.bias, q.mult, q.shift, q.zy, q.lo, q.hi) };
    },
  };
}

function qb1SignCase(P: number, C: number, seed: number): KernelCase {
  return {
    name: `qb1_sign P=${P} C=${C}`,
    run(h) {
      const r = rng(seed);
      const x = r.i8(P * C), t = r.int(-128, 127), Cb = (C + 7) >> 3;
      h.reset();
      const px = h.put(x), po = h.alloc(P * Cb);
      h.fn("qb1_sign")(px, P, C, t, po);
      const want = new Uint8Array(P * Cb);
      for (let p = 0; p < P; p++) for (let c = 0; c < C; c++) if (x[p * C + c] >= t) want[p * Cb + (c >> 3)] |= 1 << (c & 7);
      return { got: h.read(Uint8Array, po, P * Cb), want };
    },
  };
}

lowbitCases.push(
  ...[[5, 16], [3, 7], [9, 33], [4, 130]].map(([P, C], i) => qb1SignCase(P, C, 600 + i)),
  qb1ConvCase("qb1_conv2d 3x3 16->16 8x8 pad 1", 1, geom(8, 8, 16, 16, 3, 3, 1, 1)),
  qb1ConvCase("qb1_conv2d 3x3 64->12 6x6 pad 1", 2, geom(6, 6, 64, 12, 3, 3, 1, 1)),
  qb1ConvCase("qb1_conv2d 3x3 5->7 stride 2 pad 1 (C not a multiple of 8)", 3, geom(9, 7, 5, 7, 3, 3, 2, 1)),
  qb1ConvCase("qb1_conv2d 1x1 200->9 (K > 128)", 4, geom(3, 5, 200, 9, 1, 1)),
  qb1ConvCase("qb1_conv2d 3x3 C=512 (more than 31 chunks)", 5, geom(3, 3, 512, 3, 3, 3, 1, 1)),
  ...Array.from({ length: 14 }, (_, i) => qb1ConvCase(`qb1_conv2d random shape #${i}`, 700 + i, randomGeom)),
);

// ---------------------------------------------------------------- BWN, 2-bit and ternary weights x int8

function subConvCase(kind: "qbw" | "qs2" | "tern", name: string, seed: number, g: ConvGeom | ((r: Rng) => ConvGeom), dense = false): KernelCase {
  return {
    name: `${kind === "tern" ? "qs2 (ternary)" : kind}${dense ? "_fully_connected" : "_conv2d"} ${name}`,
    run(h) {
      const r = rng(seed);
      const G = typeof g === "function" ? g(r) : g;
      const T = G.KH * G.KW, K = T * G.C;
      const x = r.i8(G.H * G.W * G.C);
      const w = Int8Array.from({ length: G.N * K }, () =>
        kind === "qbw" ? (r.next() < 0.5 ? -1 : 1) : kind === "qs2" ? r.int(-2, 1) : r.int(-1, 1));
      const q = randomQs8Params(r, G.N, K);
      q.mult = q.mult.map((m) => Math.min(2 ** 31 - 1, m * 60));
      const { OH, OW } = convOut(G);
      const k = kind === "qbw" ? "qbw" : "qs2";
      const packed = k === "qbw" ? packQbwGemm(w, G.N, T, G.C, q.bias, q.mult) : packQs2Gemm(w, G.N, T, G.C, q.bias, q.mult);
      if (h.fn(`${k}_packed_bytes`)(G.N, T, G.C) !== packed.length) throw new Error("packed size differs");
      h.reset();
      const px = h.put(x), pw = h.put(packed), po = h.alloc(OH * OW * G.N);
      if (dense) {
        const M = G.H, Kd = G.C;
        const ps = h.alloc(h.fn(`${k}_fully_connected_scratch_bytes`)(M, Kd));
        h.fn(`${k}_fully_connected`)(M, G.N, Kd, px, q.zx, pw, q.shift, q.zy, q.lo, q.hi, po, ps);
      } else {
        const ps = h.alloc(h.fn(`${k}_conv2d_scratch_bytes`)(OH, OW, G.C, G.KH, G.KW, G.SH, G.SW, G.DH, G.DW));
        h.fn(`${k}_conv2d`)(px, G.H, G.W, G.C, q.zx, po, OH, OW, G.N, G.KH, G.KW, G.SH, G.SW, G.PT, G.PL, G.DH, G.DW,
          pw, q.shift, q.zy, q.lo, q.hi, ps);
      }
      return { got: h.read(Int8Array, po, OH * OW * G.N), want: qs8Conv2dRef(x, w, G, q) };
    },
  };
}

for (const kind of ["qbw", "qs2", "tern"] as const) {
  lowbitCases.push(
    subConvCase(kind, "3x3 16->16 8x8 pad 1", 1, geom(8, 8, 16, 16, 3, 3, 1, 1)),
    subConvCase(kind, "3x3 3->8 stride 2 pad 1 (odd C)", 2, geom(9, 7, 3, 8, 3, 3, 2, 1)),
    subConvCase(kind, "5x5 dilation 2 C=20", 3, geom(12, 12, 20, 6, 5, 5, 1, 4, 2)),
    ...Array.from({ length: 10 }, (_, i) => subConvCase(kind, `random shape #${i}`, 800 + i, randomGeom)),
    ...[1, 3, 7].map((M, i) => subConvCase(kind, `M=${M}`, 900 + i, (r) => geom(M, 1, r.int(1, 150), r.int(1, 23), 1, 1), true)),
  );
}

// ---------------------------------------------------------------- codebook (LUT) weights x int8

/** A random codebook: b-bit indices, `entries` values per table in [-127, 127] (extreme: +-127 only). */
export function randomCodebook(r: Rng, N: number, per: number, bits: number, perChannel: boolean, extreme = false, entries = 2 ** bits): Codebook {
  const G = perChannel ? N : 1;
  const tables = Int8Array.from({ length: G * entries }, () => (extreme ? r.pick([-127, 127]) : r.int(-127, 127)));
  const idx = Uint8Array.from({ length: N * per }, () => r.int(0, entries - 1));
  return { bits, entries, perChannel, idx, tables };
}

function qlutCase(name: string, seed: number, bits: number, perChannel: boolean, g: ConvGeom | ((r: Rng) => ConvGeom), dense = false, extreme = false): KernelCase {
  return {
    name: `qlut${dense ? "_fully_connected" : "_conv2d"} b=${bits} ${perChannel ? "per-channel" : "per-layer"} ${name}`,
    run(h) {
      const r = rng(seed);
      const G = typeof g === "function" ? g(r) : g;
      const T = G.KH * G.KW, K = T * G.C;
      const x = extreme ? Int8Array.from({ length: G.H * G.W * G.C }, () => r.pick([-128, 127])) : r.i8(G.H * G.W * G.C);
      const cb = randomCodebook(r, G.N, K, bits, perChannel, extreme, bits > 2 && r.next() < 0.3 ? r.int(1, 2 ** bits) : 2 ** bits);
      const w = codebookWeights(cb, G.N);
      const q = randomQs8Params(r, G.N, K, extreme);
      const { OH, OW } = convOut(G);
      const packed = packQlutGemm(cb, G.N, T, G.C, q.bias, q.mult);
      if (h.fn("qlut_packed_bytes")(G.N, T, G.C, bits, perChannel ? 1 : 0) !== packed.length) throw new Error("packed size differs");
      h.reset();
      const px = h.put(x), pw = h.put(packed), po = h.alloc(OH * OW * G.N);
      if (dense) {
        const M = G.H, Kd = G.C;
        const ps = h.alloc(h.fn("qlut_fully_connected_scratch_bytes")(M, Kd));
        h.fn("qlut_fully_connected")(M, G.N, Kd, px, q.zx, pw, bits, perChannel ? 1 : 0, q.shift, q.zy, q.lo, q.hi, po, ps);
      } else {
        const ps = h.alloc(h.fn("qlut_conv2d_scratch_bytes")(OH, OW, G.C, G.KH, G.KW, G.SH, G.SW, G.DH, G.DW));
        h.fn("qlut_conv2d")(px, G.H, G.W, G.C, q.zx, po, OH, OW, G.N, G.KH, G.KW, G.SH, G.SW, G.PT, G.PL, G.DH, G.DW,
          pw, bits, perChannel ? 1 : 0, q.shift, q.zy, q.lo, q.hi, ps);
      }
      return { got: h.read(Int8Array, po, OH * OW * G.N), want: qs8Conv2dRef(x, w, G, q) };
    },
  };
}

for (let bits = 1; bits <= 8; bits++) {
  const s = 1000 + 100 * bits;
  lowbitCases.push(
    qlutCase("3x3 16->16 8x8 pad 1", s, bits, true, geom(8, 8, 16, 16, 3, 3, 1, 1)),
    qlutCase("3x3 3->7 stride 2 pad 1 (odd C, odd N)", s + 1, bits, false, geom(9, 7, 3, 7, 3, 3, 2, 1)),
    qlutCase("5x5 dilation 2 C=20 extremes", s + 2, bits, true, geom(12, 12, 20, 6, 5, 5, 1, 4, 2), false, true),
    ...Array.from({ length: 4 }, (_, i) => qlutCase(`random shape #${i}`, s + 10 + i, bits, i % 2 === 0, randomGeom)),
    ...[1, 5].map((M, i) => qlutCase(`M=${M}`, s + 20 + i, bits, i === 0, (r) => geom(M, 1, r.int(1, 150), r.int(1, 23), 1, 1), true)),
  );
}
