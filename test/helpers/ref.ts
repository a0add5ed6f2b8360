// Plain TypeScript references for the kernels: direct loops, exact integer arithmetic (BigInt where an
// int64 is needed), written for clarity, not speed. Host-agnostic: Node and Deno import this file.

/** Deterministic PRNG (mulberry32). */
export function rng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)), // inclusive
    i8: (n: number, lo = -128, hi = 127) => Int8Array.from({ length: n }, () => lo + Math.floor(next() * (hi - lo + 1))),
    f32: (n: number, scale = 1) => Float32Array.from({ length: n }, () => (next() * 2 - 1) * scale),
    pick: <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)],
  };
}
export type Rng = ReturnType<typeof rng>;

/** The requantization rule of assembly/kernels/requant.ts, exactly. */
export function requantRef(acc: number, mult: number, shift: number, zp: number, lo: number, hi: number): number {
  const p = BigInt(acc) * BigInt(mult);
  const r = (p + (1n << BigInt(shift - 1)) + (p < 0n ? -1n : 0n)) >> BigInt(shift);
  const v = Number(r) + zp;
  return v < lo ? lo : v > hi ? hi : v;
}

export interface ConvGeom {
  H: number; W: number; C: number; N: number;
  KH: number; KW: number; SH: number; SW: number;
  PT: number; PL: number; PB: number; PR: number; DH: number; DW: number;
}

export function convOut(g: ConvGeom): { OH: number; OW: number } {
  return {
    OH: Math.floor((g.H + g.PT + g.PB - g.DH * (g.KH - 1) - 1) / g.SH) + 1,
    OW: Math.floor((g.W + g.PL + g.PR - g.DW * (g.KW - 1) - 1) / g.SW) + 1,
  };
}

export interface Qs8Params { zx: number; zy: number; lo: number; hi: number; shift: number; bias: Int32Array; mult: Int32Array }

/** int8 conv2d, NHWC, weights [N][KH][KW][C]. Padding taps contribute (zx - zx) = 0. */
export function qs8Conv2dRef(x: Int8Array, w: Int8Array, g: ConvGeom, q: Qs8Params): Int8Array {
  const { OH, OW } = convOut(g);
  const out = new Int8Array(OH * OW * g.N);
  for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) for (let n = 0; n < g.N; n++) {
    let acc = 0;
    for (let ky = 0; ky < g.KH; ky++) for (let kx = 0; kx < g.KW; kx++) {
      const iy = oy * g.SH - g.PT + ky * g.DH, ix = ox * g.SW - g.PL + kx * g.DW;
      if (iy < 0 || iy >= g.H || ix < 0 || ix >= g.W) continue;
      for (let c = 0; c < g.C; c++) {
        acc += (x[(iy * g.W + ix) * g.C + c] - q.zx) * w[((n * g.KH + ky) * g.KW + kx) * g.C + c];
      }
    }
    out[(oy * OW + ox) * g.N + n] = requantRef(acc + q.bias[n], q.mult[n], q.shift, q.zy, q.lo, q.hi);
  }
  return out;
}

/** Random requantization parameters that keep most outputs in range and saturate some. */
export function randomQs8Params(r: Rng, N: number, K: number, extreme = false): Qs8Params {
  const zx = extreme ? r.pick([-128, 127]) : r.int(-128, 127);
  const zy = r.int(-20, 20);
  const act = r.pick(["none", "relu", "relu6"] as const);
  const lo = act === "none" ? -128 : zy;
  const hi = act === "relu6" ? Math.min(127, zy + r.int(20, 100)) : 127;
  // accumulators reach about sqrt(K) * 64 * 128; aim the output at a few tens of units
  const target = 40 / (Math.sqrt(K) * 64 * 80);
  const shift = r.int(31, 40);
  const bias = Int32Array.from({ length: N }, () => r.int(-2000, 2000) * (extreme ? 1000 : 1));
  const mult = Int32Array.from({ length: N }, () => Math.min(2 ** 31 - 1, Math.floor(target * (0.25 + r.next() * 2) * 2 ** shift)));
  return { zx, zy, lo, hi, shift, bias, mult };
}
