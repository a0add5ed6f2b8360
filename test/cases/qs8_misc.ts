// Cases for the int8 kernels beyond conv / dense: qs8_dwconv2d, qs8_maxpool2d, qs8_avgpool2d,
// qs8_global_avgpool(_requant), qs8_add, qs8_lut and concat_channels, against test/helpers/ref_qs8.ts.
// Channel counts that do not fill a vector (1, 3, 7, 9, 17, 33), odd sizes, strides, padding, dilation,
// rounding ties and extremes (inputs at -128 / 127, weights at +-127, zero points at the ends, saturation).
import { buildQs8Lut, packQs8Depthwise } from "../../src/pack/layout.ts";
import type { KernelHost } from "../../src/wasm/kernels.ts";
import { randomQs8Params, rng, type Rng } from "../helpers/ref.ts";
import {
  concatChannelsRef, poolOut, qs8AddRef, qs8AvgPool2dRef, qs8DwConv2dRef, qs8GlobalAvgPoolRef,
  qs8GlobalAvgPoolRequantRef, qs8LutRef, qs8MaxPool2dRef, type PoolGeom,
} from "../helpers/ref_qs8.ts";
import type { KernelCase } from "./types.ts";

const ODD_C = [1, 3, 7, 9, 17, 33];

const geom = (H: number, W: number, C: number, KH: number, KW: number, S = 1, P = 0, D = 1): PoolGeom =>
  ({ H, W, C, KH, KW, SH: S, SW: S, PT: P, PL: P, PB: P, PR: P, DH: D, DW: D });

function randomGeom(r: Rng, C?: number): PoolGeom {
  const KH = r.int(1, 5), KW = r.int(1, 5);
  const DH = r.pick([1, 1, 1, 2]), DW = r.pick([1, 1, 1, 2]);
  return {
    H: r.int(DH * (KH - 1) + 1, 13), W: r.int(DW * (KW - 1) + 1, 13), C: C ?? r.pick([...ODD_C, 8, 16, 24, r.int(1, 40)]),
    KH, KW, SH: r.int(1, 3), SW: r.int(1, 3),
    PT: r.int(0, KH - 1), PL: r.int(0, KW - 1), PB: r.int(0, KH - 1), PR: r.int(0, KW - 1), DH, DW,
  };
}

/** Inputs: uniform int8, or (extreme) only -128 and 127. */
const input = (r: Rng, n: number, extreme: boolean) =>
  extreme ? Int8Array.from({ length: n }, () => r.pick([-128, 127])) : r.i8(n);

// ---------------------------------------------------------------- depthwise conv

/** Forced requantization ends: shift 31 (mult doubled internally by the SIMD form) or shift 62 with huge biases. */
type ShiftEnd = 31 | 62 | "wrap" | undefined;

function dwCase(name: string, seed: number, g: PoolGeom | ((r: Rng) => PoolGeom), extreme = false, end?: ShiftEnd): KernelCase {
  return {
    name,
    run(h) {
      const r = rng(seed);
      const G = typeof g === "function" ? g(r) : g;
      const T = G.KH * G.KW;
      const x = input(r, G.H * G.W * G.C, extreme);
      const w = extreme ? Int8Array.from({ length: T * G.C }, () => r.pick([-127, 127])) : r.i8(T * G.C, -127, 127);
      const q = randomQs8Params(r, G.C, T, extreme);
      if (extreme) { q.zy = r.pick([-128, 127]); q.lo = -128; q.hi = 127; }
      if (end === 31) {
        q.shift = 31;
        q.mult = Int32Array.from(q.mult, () => r.int(1 << 20, 1 << 24));
      } else if (end === 62) {
        q.shift = 62;
        q.bias = Int32Array.from(q.bias, () => r.int(-(2 ** 31) + 2 ** 24, 2 ** 31 - 2 ** 24 - 1));
        q.mult = Int32Array.from(q.mult, (_, i) => (i % 3 === 0 ? 2 ** 31 - 1 : r.int(2 ** 30, 2 ** 31 - 1)));
        q.zy = 0; q.lo = -128; q.hi = 127;
      }
      else if (end === "wrap") {
        // x == zx everywhere, so acc == bias: accumulators at the int32 ends, mult / 2^shift just below 1, zero
        // points at the ends (zy + acc * mult / 2^shift must be clamped, not wrapped around)
        x.fill(q.zx);
        q.shift = 31;
        q.bias = Int32Array.from(q.bias, (_, i) => [-(2 ** 31), 2 ** 31 - 1, -(2 ** 31) + 1, 2 ** 31 - 2][i % 4]);
        q.mult = Int32Array.from(q.mult, () => 2 ** 31 - 1);
        q.zy = r.pick([-128, 127]); q.lo = -128; q.hi = 127;
      }
      const { OH, OW } = poolOut(G);
      if (!(OH >= 1 && OW >= 1)) throw new Error(`bad test geometry ${JSON.stringify(G)}`);
      h.reset();
      const px = h.put(x), pw = h.put(packQs8Depthwise(w, G.C, G.KH, G.KW, q.bias, q.mult));
      if (h.fn("qs8_dwconv2d_packed_bytes")(G.C, G.KH, G.KW) !== T * G.C + 8 * G.C) throw new Error("packed size differs");
      const po = h.alloc(OH * OW * G.C);
      h.fn("qs8_dwconv2d")(px, G.H, G.W, G.C, q.zx, po, OH, OW, G.KH, G.KW, G.SH, G.SW, G.PT, G.PL, G.DH, G.DW,
        pw, q.shift, q.zy, q.lo, q.hi);
      return { got: h.read(Int8Array, po, OH * OW * G.C), want: qs8DwConv2dRef(x, w, G, q.zx, q.bias, q.mult, q.shift, q.zy, q.lo, q.hi) };
    },
  };
}

const dwCases: KernelCase[] = [
  dwCase("qs8_dwconv2d 3x3 C=32 16x16 pad 1", 1, geom(16, 16, 32, 3, 3, 1, 1)),
  dwCase("qs8_dwconv2d 3x3 C=32 15x15 stride 2 pad 1", 2, geom(15, 15, 32, 3, 3, 2, 1)),
  dwCase("qs8_dwconv2d 5x5 C=24 dilation 2 pad 4", 3, geom(11, 9, 24, 5, 5, 1, 4, 2)),
  dwCase("qs8_dwconv2d 7x7 kernel larger than the image (pad 6)", 4, geom(4, 5, 19, 7, 7, 1, 6)),
  dwCase("qs8_dwconv2d 1x1 C=40", 5, geom(5, 6, 40, 1, 1)),
  ...ODD_C.map((C, i) => dwCase(`qs8_dwconv2d 3x3 C=${C} odd size pad 1`, 10 + i, geom(7, 9, C, 3, 3, 1, 1))),
  ...ODD_C.map((C, i) => dwCase(`qs8_dwconv2d extremes C=${C}`, 20 + i, geom(6, 5, C, 3, 3, 2, 1), true)),
  dwCase("qs8_dwconv2d 5x4 kernel extremes C=24", 30, geom(9, 8, 24, 5, 4, 1, 2), true),
  dwCase("qs8_dwconv2d 3x3 shift 31 C=17", 31, geom(8, 7, 17, 3, 3, 1, 1), false, 31),
  dwCase("qs8_dwconv2d 3x3 shift 62, accumulators near 2^31 C=16", 32, geom(6, 6, 16, 3, 3, 1, 1), false, 62),
  dwCase("qs8_dwconv2d 2x2 shift 31 extremes C=9", 33, geom(5, 5, 9, 2, 2, 1, 1), true, 31),
  dwCase("qs8_dwconv2d accumulators at +-2^31, zy -128 or 127: clamped, not wrapped C=17", 37, geom(5, 5, 17, 3, 3, 1, 1), true, "wrap"),
  dwCase("qs8_dwconv2d accumulators at +-2^31, 5x5 C=12", 38, geom(7, 6, 12, 5, 5, 1, 2), false, "wrap"),
  dwCase("qs8_dwconv2d 3x3 dilation 2 stride 2, asymmetric pads C=24", 34,
    { H: 13, W: 11, C: 24, KH: 3, KW: 3, SH: 2, SW: 2, PT: 2, PL: 1, PB: 1, PR: 2, DH: 2, DW: 2 }),
  dwCase("qs8_dwconv2d 3x3 on a 1x1 image C=16", 35, geom(1, 1, 16, 3, 3, 1, 1), true),
  dwCase("qs8_dwconv2d 3x3 on a 2x9 image stride 3 C=40", 36, geom(2, 9, 40, 3, 3, 3, 1)),
  ...Array.from({ length: 12 }, (_, i) => dwCase(`qs8_dwconv2d 3x3 random geometry #${i}`, 150 + i, (r) => {
    const D = r.pick([1, 1, 2]);
    return {
      H: r.int(2 * D + 1, 14), W: r.int(2 * D + 1, 14), C: r.pick([8, 16, 24, 9, 33, r.int(1, 48)]), KH: 3, KW: 3,
      SH: r.int(1, 3), SW: r.int(1, 3), PT: r.int(0, 2 * D), PL: r.int(0, 2 * D), PB: r.int(0, 2 * D), PR: r.int(0, 2 * D),
      DH: D, DW: r.pick([1, D]),
    };
  }, i % 3 === 2)),
  ...Array.from({ length: 20 }, (_, i) => dwCase(`qs8_dwconv2d random shape #${i}`, 100 + i, (r) => randomGeom(r), i % 5 === 4)),
];

// ---------------------------------------------------------------- pooling

function clampParams(r: Rng, z: number): { lo: number; hi: number } {
  const act = r.pick(["none", "none", "relu", "relu6"] as const);
  return { lo: act === "none" ? -128 : z, hi: act === "relu6" ? Math.min(127, z + r.int(10, 100)) : 127 };
}

function maxPoolCase(name: string, seed: number, g: PoolGeom | ((r: Rng) => PoolGeom), extreme = false): KernelCase {
  return {
    name,
    run(h) {
      const r = rng(seed);
      const G = typeof g === "function" ? g(r) : g;
      const x = input(r, G.H * G.W * G.C, extreme);
      const { lo, hi } = clampParams(r, r.int(-128, 20));
      const { OH, OW } = poolOut(G);
      h.reset();
      const px = h.put(x), po = h.alloc(OH * OW * G.C);
      h.fn("qs8_maxpool2d")(px, G.H, G.W, G.C, po, OH, OW, G.KH, G.KW, G.SH, G.SW, G.PT, G.PL, G.DH, G.DW, lo, hi);
      return { got: h.read(Int8Array, po, OH * OW * G.C), want: qs8MaxPool2dRef(x, G, lo, hi) };
    },
  };
}

function avgPoolCase(name: string, seed: number, g: PoolGeom | ((r: Rng) => PoolGeom), extreme = false): KernelCase {
  return {
    name,
    run(h) {
      const r = rng(seed);
      const G = typeof g === "function" ? g(r) : g;
      const x = input(r, G.H * G.W * G.C, extreme);
      const z = extreme ? r.pick([-128, 127]) : r.int(-128, 127);
      const { lo, hi } = extreme ? { lo: -128, hi: 127 } : clampParams(r, z);
      const { OH, OW } = poolOut(G);
      h.reset();
      const px = h.put(x), po = h.alloc(OH * OW * G.C);
      h.fn("qs8_avgpool2d")(px, G.H, G.W, G.C, z, po, OH, OW, G.KH, G.KW, G.SH, G.SW, G.PT, G.PL, G.DH, G.DW, lo, hi);
      return { got: h.read(Int8Array, po, OH * OW * G.C), want: qs8AvgPool2dRef(x, G, z, lo, hi) };
    },
  };
}

function globalPoolCase(name: string, seed: number, P: number, C: number, requant: boolean, extreme = false): KernelCase {
  return {
    name,
    run(h) {
      const r = rng(seed);
      const x = input(r, P * C, extreme);
      const zx = extreme ? r.pick([-128, 127]) : r.int(-128, 127);
      const zy = extreme ? r.pick([-128, 127]) : r.int(-30, 30);
      const { lo, hi } = extreme ? { lo: -128, hi: 127 } : clampParams(r, requant ? zy : zx);
      h.reset();
      const px = h.put(x), po = h.alloc(C);
      if (!requant) {
        h.fn("qs8_global_avgpool")(px, P, C, zx, po, lo, hi);
        return { got: h.read(Int8Array, po, C), want: qs8GlobalAvgPoolRef(x, P, C, zx, lo, hi) };
      }
      // mult / 2^shift = ratio / P with the scale ratio in [0.25, 2] (below 1 overall)
      const shift = r.int(31, 46);
      const ratio = extreme ? 1.999 : 0.25 + r.next() * 1.75;
      const mult = Math.min(2 ** 31 - 1, Math.floor((ratio / Math.max(P, 2)) * 2 ** shift));
      h.fn("qs8_global_avgpool_requant")(px, P, C, zx, po, mult, shift, zy, lo, hi);
      return { got: h.read(Int8Array, po, C), want: qs8GlobalAvgPoolRequantRef(x, P, C, zx, mult, shift, zy, lo, hi) };
    },
  };
}

const poolCases: KernelCase[] = [
  maxPoolCase("qs8_maxpool2d 2x2 stride 2 C=16", 1, geom(8, 8, 16, 2, 2, 2)),
  maxPoolCase("qs8_maxpool2d 3x3 stride 2 pad 1 C=64 odd size", 2, geom(15, 13, 64, 3, 3, 2, 1)),
  ...ODD_C.map((C, i) => maxPoolCase(`qs8_maxpool2d 3x3 pad 1 C=${C}`, 10 + i, geom(7, 6, C, 3, 3, 1, 1))),
  maxPoolCase("qs8_maxpool2d extremes C=33", 20, geom(6, 6, 33, 3, 3, 2, 1), true),
  ...Array.from({ length: 12 }, (_, i) => maxPoolCase(`qs8_maxpool2d random shape #${i}`, 100 + i, (r) => randomGeom(r), i % 4 === 3)),

  avgPoolCase("qs8_avgpool2d 3x3 stride 1 pad 1 C=16 (border ties: n = 4, 6)", 1, geom(8, 8, 16, 3, 3, 1, 1)),
  avgPoolCase("qs8_avgpool2d 2x2 stride 2 C=24", 2, geom(10, 10, 24, 2, 2, 2)),
  avgPoolCase("qs8_avgpool2d 7x7 whole image C=40", 3, geom(7, 7, 40, 7, 7)),
  avgPoolCase("qs8_avgpool2d 20x20 window n=400 C=9", 4, geom(20, 20, 9, 20, 20, 1, 3)),
  ...ODD_C.map((C, i) => avgPoolCase(`qs8_avgpool2d 3x3 pad 1 C=${C}`, 10 + i, geom(7, 6, C, 3, 3, 1, 1))),
  ...ODD_C.map((C, i) => avgPoolCase(`qs8_avgpool2d extremes C=${C}`, 20 + i, geom(5, 6, C, 3, 3, 2, 1), true)),
  ...Array.from({ length: 16 }, (_, i) => avgPoolCase(`qs8_avgpool2d random shape #${i}`, 100 + i, (r) => randomGeom(r), i % 4 === 3)),

  ...[[1, 8], [2, 3], [4, 16], [49, 64], [49, 33], [255, 17], [256, 8], [257, 9], [1000, 7], [3136, 24], [12544, 3]].flatMap(
    ([P, C], i) => [
      globalPoolCase(`qs8_global_avgpool P=${P} C=${C}`, 300 + i, P, C, false),
      globalPoolCase(`qs8_global_avgpool_requant P=${P} C=${C}`, 400 + i, P, C, true),
    ]),
  ...ODD_C.flatMap((C, i) => [
    globalPoolCase(`qs8_global_avgpool extremes P=${6 + i} C=${C}`, 500 + i, 6 + i, C, false, true),
    globalPoolCase(`qs8_global_avgpool_requant extremes P=${300 + i} C=${C}`, 600 + i, 300 + i, C, true, true),
  ]),
];

// ---------------------------------------------------------------- residual add

interface AddParams { za: number; ma: number; zb: number; mb: number; shift: number; zy: number; lo: number; hi: number }

function addCase(name: string, seed: number, n: number, mode: "random" | "extreme" | "ties" | "inplace" | "gain" | "deep" | "near31"): KernelCase {
  return {
    name,
    run(h) {
      const r = rng(seed);
      const extreme = mode === "extreme";
      const a = input(r, n, extreme), b = input(r, n, extreme);
      const shift = mode === "ties" ? 31 : mode === "gain" ? r.int(24, 30) : mode === "deep" ? r.int(38, 62) : r.int(31, 40);
      const m = () => Math.min(2 ** 31 - 1, Math.floor((0.1 + r.next() * 0.9) * 2 ** Math.min(31, shift)));
      let q: AddParams = { za: r.int(-128, 127), ma: m(), zb: r.int(-128, 127), mb: m(), shift, zy: r.int(-20, 20), lo: -128, hi: 127 };
      if (extreme) q = { ...q, za: r.pick([-128, 127]), zb: r.pick([-128, 127]), ma: 2 ** 31 - 1, mb: r.pick([2 ** 31 - 1, 0]), zy: r.pick([-128, 127]) };
      if (mode === "ties") q = { ...q, ma: 2 ** 30, mb: 0 }; // (a - za) / 2: every odd difference is a tie
      if (mode === "inplace") q = { ...q, lo: q.zy, hi: Math.min(127, q.zy + 60) };
      // the SIMD form's limb split changes at 2^31 - 2^15: multipliers on both sides of it
      if (mode === "near31") q = { ...q, ma: 2 ** 31 - 2 ** 15 - r.int(0, 1), mb: 2 ** 31 - 2 ** 15 - 1 - r.int(0, 40000) };
      h.reset();
      const pa = h.put(a), pb = h.put(b), po = mode === "inplace" ? pa : h.alloc(n);
      h.fn("qs8_add")(pa, q.za, q.ma, pb, q.zb, q.mb, po, n, q.shift, q.zy, q.lo, q.hi);
      return { got: h.read(Int8Array, po, n), want: qs8AddRef(a, q.za, q.ma, b, q.zb, q.mb, q.shift, q.zy, q.lo, q.hi) };
    },
  };
}

const addCases: KernelCase[] = [
  ...[1, 7, 8, 9, 16, 17, 33, 100, 4096 + 5].map((n, i) => addCase(`qs8_add n=${n}`, 700 + i, n, "random")),
  ...[9, 64, 1001].map((n, i) => addCase(`qs8_add extremes (saturation) n=${n}`, 720 + i, n, "extreme")),
  addCase("qs8_add rounding ties n=257", 730, 257, "ties"),
  addCase("qs8_add in place (out = a) with relu6 clamp n=77", 731, 77, "inplace"),
  // shifts 24..30: real multipliers above 1 (output range narrower than an input's)
  ...[9, 33, 1001].map((n, i) => addCase(`qs8_add gain > 1 (shift 24..30) n=${n}`, 740 + i, n, "gain")),
  ...[17, 1001].map((n, i) => addCase(`qs8_add small multipliers (shift 38..62) n=${n}`, 750 + i, n, "deep")),
  ...[0, 1, 2, 3].map((i) => addCase(`qs8_add multipliers at 2^31 - 2^15 #${i}`, 760 + i, 203, "near31")),
];

// ---------------------------------------------------------------- table lookup

function lutCase(name: string, seed: number, n: number, table: (r: Rng) => Int8Array, inplace = false): KernelCase {
  return {
    name,
    run(h) {
      const r = rng(seed);
      const t = table(r);
      // every input value at least once when n >= 256, then random
      const x = Int8Array.from({ length: n }, (_, i) => (i < 256 && n >= 256 ? i - 128 : r.int(-128, 127)));
      h.reset();
      const px = h.put(x), pt = h.put(t), po = inplace ? px : h.alloc(n);
      h.fn("qs8_lut")(px, po, n, pt);
      return { got: h.read(Int8Array, po, n), want: qs8LutRef(x, t) };
    },
  };
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
const hardSwish = (v: number) => (v * Math.min(Math.max(v + 3, 0), 6)) / 6;

const lutCases: KernelCase[] = [
  ...[1, 15, 16, 17, 255, 256, 1000].map((n, i) => lutCase(`qs8_lut random table n=${n}`, 800 + i, n, (r) => r.i8(256))),
  lutCase("qs8_lut sigmoid table n=300", 810, 300, () => buildQs8Lut(sigmoid, 0.05, 3, 1 / 256, -128)),
  lutCase("qs8_lut hard-swish table in place n=517", 811, 517, () => buildQs8Lut(hardSwish, 0.04, -10, 0.03, -20), true),
  {
    name: "buildQs8Lut: round half away from zero, clamping",
    run(h) {
      // y = q / 2 exactly (identity, inScale 1, outScale 2): odd q are ties; zero point 100 saturates at 127
      const t = buildQs8Lut((v) => v, 1, 0, 2, 100);
      const want = Int8Array.from({ length: 256 }, (_, k) => {
        const q = k - 128, m = Math.floor(Math.abs(q) / 2) + (Math.abs(q) % 2);
        return Math.min(127, 100 + (q < 0 ? -m : m));
      });
      const x = Int8Array.from({ length: 256 }, (_, k) => k - 128);
      h.reset();
      const px = h.put(x), pt = h.put(t), po = h.alloc(256);
      h.fn("qs8_lut")(px, po, 256, pt);
      const got = h.read(Int8Array, po, 256);
      // the table itself must match too: compare [table, kernel output] with [want, want]
      return { got: Int8Array.from([...t, ...got]), want: Int8Array.from([...want, ...want]) };
    },
  },
];

// ---------------------------------------------------------------- concat

function concatCase(name: string, seed: number, P: number, chans: number[], f32: boolean): KernelCase {
  return {
    name,
    run(h) {
      const r = rng(seed);
      const inputs = chans.map((c) => (f32 ? r.f32(P * c, 100) : r.i8(P * c)));
      const total = chans.reduce((s, c) => s + c, 0);
      const eb = f32 ? 4 : 1;
      h.reset();
      const ptrs = Int32Array.from(inputs.map((x) => h.put(x))); // u32 addresses (below 2^31 here)
      const pp = h.put(ptrs), pc = h.put(Int32Array.from(chans)), po = h.alloc(P * total * eb);
      h.fn("concat_channels")(eb, P, chans.length, pp, pc, po);
      const want = concatChannelsRef(inputs as (Int8Array | Float32Array)[], chans, P);
      return { got: f32 ? h.read(Float32Array, po, P * total) : h.read(Int8Array, po, P * total), want };
    },
  };
}

const concatCases: KernelCase[] = [
  concatCase("concat_channels int8 3+5+1 channels, 7 pixels", 900, 7, [3, 5, 1], false),
  concatCase("concat_channels int8 16+16 channels, 64 pixels", 901, 64, [16, 16], false),
  concatCase("concat_channels int8 one pixel 9+33+0+7", 902, 1, [9, 33, 0, 7], false),
  concatCase("concat_channels int8 single input", 903, 13, [17], false),
  concatCase("concat_channels f32 4+17+1 channels, 9 pixels", 904, 9, [4, 17, 1], true),
];

export const qs8MiscCases: KernelCase[] = [...dwCases, ...poolCases, ...addCases, ...lutCases, ...concatCases];
