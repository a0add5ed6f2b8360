// Cases for the low-bit depthwise kernels: 2-bit / ternary, BWN and codebook weights x int8 activations
// (qs2_dwconv2d, qbw_dwconv2d, qlut_dwconv2d) against the int8 depthwise reference (the packed weights are plain
// small integers to it, a codebook's the table entries its indices select), and
// binary XNOR depthwise (qb1_sign + qb1_dwconv2d) against a +-1 reference with exact zero padding.
import { packQb1Depthwise, packQbwDepthwise, packQlutDepthwise, packQs2Depthwise, type Codebook } from "../../src/pack/lowbit.ts";
import { randomQs8Params, requantRef, rng, type Rng } from "../helpers/ref.ts";
import { poolOut, qs8DwConv2dRef, type PoolGeom } from "../helpers/ref_qs8.ts";
import type { KernelCase } from "./types.ts";

const pgeom = (H: number, W: number, C: number, KH: number, KW: number, S = 1, P = 0, D = 1): PoolGeom =>
  ({ H, W, C, KH, KW, SH: S, SW: S, PT: P, PL: P, PB: P, PR: P, DH: D, DW: D });

function randomDwGeom(r: Rng): PoolGeom {
  const KH = r.int(1, 5), KW = r.int(1, 5);
  const DH = r.pick([1, 1, 2]), DW = r.pick([1, 1, 2]);
  return {
    H: r.int(DH * (KH - 1) + 1, 13), W: r.int(DW * (KW - 1) + 1, 13), C: r.pick([1, 3, 8, 9, 16, 17, 24, 33, r.int(1, 70)]),
    KH, KW, SH: r.int(1, 3), SW: r.int(1, 3),
    PT: r.int(0, KH - 1), PL: r.int(0, KW - 1), PB: r.int(0, KH - 1), PR: r.int(0, KW - 1), DH, DW,
  };
}

type Kind = "qs2" | "tern" | "qbw";
const weight = (r: Rng, kind: Kind, extreme: boolean) =>
  kind === "qbw" ? (r.next() < 0.5 ? -1 : 1) : kind === "qs2" ? (extreme ? r.pick([-2, 1]) : r.int(-2, 1)) : r.int(-1, 1);

function subDwCase(kind: Kind, name: string, seed: number, g: PoolGeom | ((r: Rng) => PoolGeom), extreme = false): KernelCase {
  const fn = kind === "qbw" ? "qbw_dwconv2d" : "qs2_dwconv2d";
  return {
    name: `${kind === "tern" ? "qs2_dwconv2d (ternary)" : fn} ${name}`,
    run(h) {
      const r = rng(seed);
      const G = typeof g === "function" ? g(r) : g;
      const T = G.KH * G.KW;
      const x = extreme ? Int8Array.from({ length: G.H * G.W * G.C }, () => r.pick([-128, 127])) : r.i8(G.H * G.W * G.C);
      const w = Int8Array.from({ length: T * G.C }, () => weight(r, kind, extreme));
      const q = randomQs8Params(r, G.C, T, extreme);
      q.mult = q.mult.map((m) => Math.min(2 ** 31 - 1, m * 40));
      const { OH, OW } = poolOut(G);
      h.reset();
      const packed = kind === "qbw" ? packQbwDepthwise(w, G.C, G.KH, G.KW, q.bias, q.mult) : packQs2Depthwise(w, G.C, G.KH, G.KW, q.bias, q.mult);
      if (h.fn(`${fn}_packed_bytes`)(G.C, G.KH, G.KW) !== packed.length) throw new Error("packed size differs");
      const px = h.put(x), pw = h.put(packed);
      const po = h.alloc(OH * OW * G.C);
      h.fn(fn)(px, G.H, G.W, G.C, q.zx, po, OH, OW, G.KH, G.KW, G.SH, G.SW, G.PT, G.PL, G.DH, G.DW, pw, q.shift, q.zy, q.lo, q.hi);
      return { got: h.read(Int8Array, po, OH * OW * G.C), want: qs8DwConv2dRef(x, w, G, q.zx, q.bias, q.mult, q.shift, q.zy, q.lo, q.hi) };
    },
  };
}

/**
 * A codebook depthwise layer: b-bit indices into one table per channel (perChannel) or one per layer, random
 * entries in [-127, 127] (extreme: +-127 and x at -128 / 127, the int16 pair-sum bound of the interior runs).
 */
function lutDwCase(name: string, seed: number, bits: number, perChannel: boolean, g: PoolGeom | ((r: Rng) => PoolGeom), extreme = false): KernelCase {
  return {
    name: `qlut_dwconv2d ${bits}-bit ${perChannel ? "per-channel" : "per-layer"} ${name}`,
    run(h) {
      const r = rng(seed);
      const G = typeof g === "function" ? g(r) : g;
      const T = G.KH * G.KW, entries = r.int(1, 2 ** bits), Gt = perChannel ? G.C : 1;
      const tables = Int8Array.from({ length: Gt * entries }, () => (extreme ? r.pick([-127, 127]) : r.int(-127, 127)));
      const idx = Uint8Array.from({ length: G.C * T }, () => r.int(0, entries - 1));
      const cb: Codebook = { bits, entries, perChannel, idx, tables };
      const w = new Int8Array(T * G.C); // tap-major, as the reference reads it
      for (let c = 0; c < G.C; c++) for (let t = 0; t < T; t++) w[t * G.C + c] = tables[(perChannel ? c * entries : 0) + idx[c * T + t]];
      const x = extreme ? Int8Array.from({ length: G.H * G.W * G.C }, () => r.pick([-128, 127])) : r.i8(G.H * G.W * G.C);
      const q = randomQs8Params(r, G.C, T, extreme);
      const { OH, OW } = poolOut(G);
      h.reset();
      const packed = packQlutDepthwise(cb, G.C, G.KH, G.KW, q.bias, q.mult);
      if (h.fn("qlut_dwconv2d_packed_bytes")(G.C, G.KH, G.KW, bits, perChannel ? 1 : 0) !== packed.length) throw new Error("packed size differs");
      const px = h.put(x), pw = h.put(packed);
      const po = h.alloc(OH * OW * G.C);
      h.fn("qlut_dwconv2d")(px, G.H, G.W, G.C, q.zx, po, OH, OW, G.KH, G.KW, G.SH, G.SW, G.PT, G.PL, G.DH, G.DW, pw, q.shift, q.zy, q.lo, q.hi, bits, perChannel ? 1 : 0);
      return { got: h.read(Int8Array, po, OH * OW * G.C), want: qs8DwConv2dRef(x, w, G, q.zx, q.bias, q.mult, q.shift, q.zy, q.lo, q.hi) };
    },
  };
}

/** Reference: a = +1 where x >= t else -1; per channel, sum over the valid taps of a*w (padding skipped). */
export function qb1DwConv2dRef(x: Int8Array, t: number, w: Int8Array, g: PoolGeom, bias: Int32Array, mult: Int32Array, shift: number, zy: number, lo: number, hi: number): Int8Array {
  const { OH, OW } = poolOut(g);
  const out = new Int8Array(OH * OW * g.C);
  for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) for (let c = 0; c < g.C; c++) {
    let acc = 0;
    for (let ky = 0; ky < g.KH; ky++) for (let kx = 0; kx < g.KW; kx++) {
      const iy = oy * g.SH - g.PT + ky * g.DH, ix = ox * g.SW - g.PL + kx * g.DW;
      if (iy < 0 || iy >= g.H || ix < 0 || ix >= g.W) continue;
      acc += (x[(iy * g.W + ix) * g.C + c] >= t ? 1 : -1) * w[(ky * g.KW + kx) * g.C + c];
    }
    out[(oy * OW + ox) * g.C + c] = requantRef(acc + bias[c], mult[c], shift, zy, lo, hi);
  }
  return out;
}

function qb1DwCase(name: string, seed: number, g: PoolGeom | ((r: Rng) => PoolGeom)): KernelCase {
  return {
    name: `qb1_dwconv2d ${name}`,
    run(h) {
      const r = rng(seed);
      const G = typeof g === "function" ? g(r) : g;
      const T = G.KH * G.KW, Cb = (G.C + 7) >> 3;
      const x = r.i8(G.H * G.W * G.C);
      const thr = r.int(-20, 20);
      const w = Int8Array.from({ length: T * G.C }, () => (r.next() < 0.5 ? -1 : 1));
      const q = randomQs8Params(r, G.C, T);
      // real multipliers in [0.3, 1) and small biases: outputs spread over tens of levels
      q.shift = r.int(31, 32);
      q.mult = q.mult.map(() => Math.floor((0.6 + 0.39 * r.next()) * 2 ** 31));
      q.bias = q.bias.map(() => r.int(-T, T));
      q.lo = -128; q.hi = 127;
      const { OH, OW } = poolOut(G);
      h.reset();
      const packed = packQb1Depthwise(w, G.C, G.KH, G.KW, q.bias, q.mult);
      if (h.fn("qb1_dwconv2d_packed_bytes")(G.C, G.KH, G.KW) !== packed.length) throw new Error("packed size differs");
      const px = h.put(x), pb = h.alloc(G.H * G.W * Cb), pw = h.put(packed);
      const po = h.alloc(OH * OW * G.C);
      h.fn("qb1_sign")(px, G.H * G.W, G.C, thr, pb);
      h.fn("qb1_dwconv2d")(pb, G.H, G.W, G.C, po, OH, OW, G.KH, G.KW, G.SH, G.SW, G.PT, G.PL, G.DH, G.DW, pw, q.shift, q.zy, q.lo, q.hi);
      return { got: h.read(Int8Array, po, OH * OW * G.C), want: qb1DwConv2dRef(x, thr, w, G, q.bias, q.mult, q.shift, q.zy, q.lo, q.hi) };
    },
  };
}

export const lowbitDwCases: KernelCase[] = [];
for (const kind of ["qs2", "tern", "qbw"] as const) {
  lowbitDwCases.push(
    subDwCase(kind, "3x3 C=32 16x16 pad 1", 1, pgeom(16, 16, 32, 3, 3, 1, 1)),
    subDwCase(kind, "3x3 C=32 15x15 stride 2 pad 1", 2, pgeom(15, 15, 32, 3, 3, 2, 1)),
    subDwCase(kind, "5x5 C=24 dilation 2 pad 4", 3, pgeom(11, 9, 24, 5, 5, 1, 4, 2)),
    subDwCase(kind, "3x3 C=17 extremes", 4, pgeom(6, 5, 17, 3, 3, 2, 1), true),
    subDwCase(kind, "1x1 C=40", 5, pgeom(5, 6, 40, 1, 1)),
    ...Array.from({ length: 8 }, (_, i) => subDwCase(kind, `random geometry #${i}`, 1500 + i, randomDwGeom, i % 4 === 3)),
  );
}
for (const [bits, per] of [[1, true], [2, false], [3, true], [4, false], [5, true], [8, false], [8, true]] as const) {
  lowbitDwCases.push(
    lutDwCase("3x3 C=32 16x16 pad 1", 20 + bits, bits, per, pgeom(16, 16, 32, 3, 3, 1, 1)),
    lutDwCase("3x3 C=19 stride 2 extremes", 30 + bits, bits, per, pgeom(9, 8, 19, 3, 3, 2, 1), true),
    lutDwCase("5x5 C=24 dilation 2 pad 4", 40 + bits, bits, per, pgeom(11, 9, 24, 5, 5, 1, 4, 2)),
    lutDwCase("8x8 taps (64, the bound) C=9", 50 + bits, bits, per, pgeom(10, 10, 9, 8, 8, 1, 3)),
    ...Array.from({ length: 3 }, (_, i) => lutDwCase(`random geometry #${i}`, 1700 + 10 * bits + i, bits, per, randomDwGeom, i === 2)),
  );
}
lowbitDwCases.push(
  qb1DwCase("3x3 C=32 16x16 pad 1", 1, pgeom(16, 16, 32, 3, 3, 1, 1)),
  qb1DwCase("3x3 C=64 15x15 stride 2 pad 1", 2, pgeom(15, 15, 64, 3, 3, 2, 1)),
  qb1DwCase("5x5 C=24 dilation 2 pad 4", 3, pgeom(11, 9, 24, 5, 5, 1, 4, 2)),
  qb1DwCase("3x3 C=19 (not a multiple of 8)", 4, pgeom(6, 5, 19, 3, 3, 2, 1)),
  qb1DwCase("1x1 C=40", 5, pgeom(5, 6, 40, 1, 1)),
  qb1DwCase("15x15 taps (225 <= 255 u8 lanes) C=16", 6, pgeom(17, 17, 16, 15, 15, 1, 7)),
  ...Array.from({ length: 10 }, (_, i) => qb1DwCase(`random geometry #${i}`, 1600 + i, randomDwGeom)),
);
