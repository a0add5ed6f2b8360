// Plain TypeScript references for the int8 kernels beyond conv / dense: depthwise conv, pooling, residual add,
// channel concat and table lookup. Direct loops and exact integer arithmetic (BigInt where an int64 is needed),
// written from the definitions in the kernels' files, not from their code. Host-agnostic.
import { requantRef } from "./ref.ts";

export interface PoolGeom {
  H: number; W: number; C: number;
  KH: number; KW: number; SH: number; SW: number;
  PT: number; PL: number; PB: number; PR: number; DH: number; DW: number;
}

export function poolOut(g: PoolGeom): { OH: number; OW: number } {
  return {
    OH: Math.floor((g.H + g.PT + g.PB - g.DH * (g.KH - 1) - 1) / g.SH) + 1,
    OW: Math.floor((g.W + g.PL + g.PR - g.DW * (g.KW - 1) - 1) / g.SW) + 1,
  };
}

const clamp = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);

/** The input values of the valid taps of the window at (oy, ox), channel c. */
function windowTaps(x: Int8Array, g: PoolGeom, oy: number, ox: number, c: number): number[] {
  const taps: number[] = [];
  for (let ky = 0; ky < g.KH; ky++) for (let kx = 0; kx < g.KW; kx++) {
    const iy = oy * g.SH - g.PT + ky * g.DH, ix = ox * g.SW - g.PL + kx * g.DW;
    if (iy < 0 || iy >= g.H || ix < 0 || ix >= g.W) continue;
    taps.push(x[(iy * g.W + ix) * g.C + c]);
  }
  return taps;
}

/** Depthwise conv, weights [KH][KW][C]; padding taps skipped. */
export function qs8DwConv2dRef(
  x: Int8Array, w: Int8Array, g: PoolGeom, zx: number, bias: Int32Array, mult: Int32Array,
  shift: number, zy: number, lo: number, hi: number,
): Int8Array {
  const { OH, OW } = poolOut(g);
  const out = new Int8Array(OH * OW * g.C);
  for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) for (let c = 0; c < g.C; c++) {
    let acc = bias[c];
    for (let ky = 0; ky < g.KH; ky++) for (let kx = 0; kx < g.KW; kx++) {
      const iy = oy * g.SH - g.PT + ky * g.DH, ix = ox * g.SW - g.PL + kx * g.DW;
      if (iy < 0 || iy >= g.H || ix < 0 || ix >= g.W) continue;
      acc += (x[(iy * g.W + ix) * g.C + c] - zx) * w[(ky * g.KW + kx) * g.C + c];
    }
    out[(oy * OW + ox) * g.C + c] = requantRef(acc, mult[c], shift, zy, lo, hi);
  }
  return out;
}

/** s / n rounded half away from zero, exactly: quotient and remainder of |s| by n, ties decided by 2r >= n. */
export function roundDivRef(s: number, n: number): number {
  const a = Math.abs(s), r = a % n, f = (a - r) / n;
  const m = 2 * r >= n ? f + 1 : f;
  return s < 0 ? -m : m;
}

export function qs8MaxPool2dRef(x: Int8Array, g: PoolGeom, lo: number, hi: number): Int8Array {
  const { OH, OW } = poolOut(g);
  const out = new Int8Array(OH * OW * g.C);
  for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) for (let c = 0; c < g.C; c++) {
    out[(oy * OW + ox) * g.C + c] = clamp(Math.max(-128, ...windowTaps(x, g, oy, ox, c)), lo, hi);
  }
  return out;
}

export function qs8AvgPool2dRef(x: Int8Array, g: PoolGeom, z: number, lo: number, hi: number): Int8Array {
  const { OH, OW } = poolOut(g);
  const out = new Int8Array(OH * OW * g.C);
  for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) for (let c = 0; c < g.C; c++) {
    const taps = windowTaps(x, g, oy, ox, c);
    const s = taps.reduce((acc, v) => acc + (v - z), 0);
    out[(oy * OW + ox) * g.C + c] = clamp(z + (taps.length ? roundDivRef(s, taps.length) : 0), lo, hi);
  }
  return out;
}

export function qs8GlobalAvgPoolRef(x: Int8Array, P: number, C: number, z: number, lo: number, hi: number): Int8Array {
  const out = new Int8Array(C);
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let p = 0; p < P; p++) s += x[p * C + c] - z;
    out[c] = clamp(z + (P ? roundDivRef(s, P) : 0), lo, hi);
  }
  return out;
}

export function qs8GlobalAvgPoolRequantRef(
  x: Int8Array, P: number, C: number, zx: number, mult: number, shift: number, zy: number, lo: number, hi: number,
): Int8Array {
  const out = new Int8Array(C);
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let p = 0; p < P; p++) s += x[p * C + c] - zx;
    out[c] = requantRef(s, mult, shift, zy, lo, hi);
  }
  return out;
}

/** Residual add: clamp(zy + rshift_round((a - za)*ma + (b - zb)*mb, shift), lo, hi) in BigInt. */
export function qs8AddRef(
  a: Int8Array, za: number, ma: number, b: Int8Array, zb: number, mb: number,
  shift: number, zy: number, lo: number, hi: number,
): Int8Array {
  const out = new Int8Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const p = BigInt(a[i] - za) * BigInt(ma) + BigInt(b[i] - zb) * BigInt(mb);
    const r = (p + (1n << BigInt(shift - 1)) + (p < 0n ? -1n : 0n)) >> BigInt(shift);
    out[i] = clamp(Number(r) + zy, lo, hi);
  }
  return out;
}

/** NHWC channel concat of inputs [P][chans[i]] (any typed array of one element type). */
export function concatChannelsRef<T extends Int8Array | Float32Array>(inputs: T[], chans: number[], P: number): T {
  const total = chans.reduce((s, c) => s + c, 0);
  const out = new (inputs[0].constructor as any)(P * total) as T;
  for (let p = 0; p < P; p++) {
    let off = 0;
    inputs.forEach((inp, i) => {
      for (let k = 0; k < chans[i]; k++) out[p * total + off + k] = inp[p * chans[i] + k];
      off += chans[i];
    });
  }
  return out;
}

export function qs8LutRef(x: Int8Array, table: Int8Array): Int8Array {
  return x.map((v) => table[v + 128]);
}
