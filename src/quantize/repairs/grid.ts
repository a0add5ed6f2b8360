// The weight grids the repairs work on: for every output channel of a conv / dense layer, the real values its
// weights may take and the integer code stored for each (docs/kernels.md, "Sub-8-bit weights"):
//   int8            codes -127..127 times the channel's scale
//   uniform 4-bit   codes -7..7 times the scale            uniform 2-bit  codes -2..1 times the scale
//   ternary         codes -1, 0, 1 times the scale          binary (BWN)   codes -1, 1 times the scale
// A grid is a list of allowed values, not a scale and a range, so non-uniform grids (k-means codebooks, powers
// of two: --weight-format kmeans / pow2) plug in by giving their levels (layerGrids): AdaRound and
// bias correction only ever ask "which grid values lie below and above this weight".
import type { LayerWeights } from "../lowbit.ts";
import { QwmQuantizeError } from "../params.ts";

export interface ChannelGrid {
  /** Allowed real values, ascending. */
  values: Float64Array;
  /** The stored code of each value. */
  codes: Int8Array;
}

/** The code range of a uniform grid of `bits` (the kernels' ranges). */
export function uniformCodes(bits: number): [lo: number, hi: number] {
  if (bits === 8) return [-127, 127];
  if (bits === 4) return [-7, 7];
  if (bits === 2) return [-2, 1];
  throw new QwmQuantizeError(`no uniform ${bits}-bit weight grid (8, 4 or 2 bits)`);
}

/** Codes of a layer's representation: uniform int8 / 4-bit / 2-bit, ternary or binary. */
export function codesOf(lw: Pick<LayerWeights, "bits" | "format">): number[] {
  const bits = lw.bits ?? 8;
  if (lw.format === "binary" || bits === 1) return [-1, 1];
  if (lw.format === "ternary") return [-1, 0, 1];
  if (lw.format && lw.format !== "uniform") throw new QwmQuantizeError(`weight format '${lw.format}' has no grid for the repairs yet`);
  const [lo, hi] = uniformCodes(bits);
  return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
}

/** One grid per output channel: `codes` times the channel's scale. Channels with equal scales share one object. */
export function gridsOf(codes: number[], scales: Float32Array): ChannelGrid[] {
  const cache = new Map<number, ChannelGrid>();
  return Array.from(scales, (s) => {
    let g = cache.get(s);
    if (!g) {
      g = { values: Float64Array.from(codes, (c) => c * s), codes: Int8Array.from(codes) };
      cache.set(s, g);
    }
    return g;
  });
}

/**
 * One grid per output channel of any representation: the uniform / ternary / binary codes times the channel's
 * scale, or, for a codebook layer (k-means, power-of-two), its table's entries times the channel's scale (the
 * codes are then the table values; `withCodes` turns them back into indices).
 */
export function layerGrids(lw: LayerWeights): ChannelGrid[] {
  const cb = lw.codebook;
  if (!cb) return gridsOf(codesOf(lw), lw.scales);
  return Array.from(lw.scales, (s, n) => {
    const g = cb.perChannel ? n : 0;
    const codes = Int8Array.from(new Set(cb.tables.subarray(g * cb.entries, (g + 1) * cb.entries))).sort();
    return { values: Float64Array.from(codes, (c) => c * s), codes };
  });
}

/** `lw` with its codes replaced by `q`; a codebook layer's indices follow (each value's first table entry). */
export function withCodes(lw: LayerWeights, q: Int8Array): LayerWeights {
  const cb = lw.codebook;
  if (!cb) return { ...lw, q };
  const N = lw.scales.length, per = q.length / N, idx = new Uint8Array(q.length);
  for (let n = 0; n < N; n++) {
    const g = cb.perChannel ? n : 0;
    const table = cb.tables.subarray(g * cb.entries, (g + 1) * cb.entries);
    for (let i = n * per; i < (n + 1) * per; i++) {
      const j = table.indexOf(q[i]);
      if (j < 0) throw new QwmQuantizeError(`codebook: value ${q[i]} of channel ${n} is not in its table`);
      idx[i] = j;
    }
  }
  return { ...lw, q, codebook: { ...cb, idx } };
}

/** Index of the largest grid value <= x (-1 when x is below all of them). */
export function floorIndex(g: ChannelGrid, x: number): number {
  const v = g.values;
  if (x < v[0]) return -1;
  let lo = 0, hi = v.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (v[mid] <= x) lo = mid; else hi = mid - 1;
  }
  return lo;
}

/** Index of the grid value nearest to x (ties away from zero, like roundHalfAway on a uniform grid). */
export function nearestIndex(g: ChannelGrid, x: number): number {
  const f = floorIndex(g, x);
  if (f < 0) return 0;
  if (f === g.values.length - 1) return f;
  const dl = x - g.values[f], du = g.values[f + 1] - x;
  if (dl < du) return f;
  if (du < dl) return f + 1;
  return x >= 0 ? f + 1 : f;
}

/** Codes of `w` ([N][per]) by nearest rounding on the channels' grids. */
export function roundToGrids(w: Float32Array, grids: ChannelGrid[]): Int8Array {
  const N = grids.length, per = w.length / N, q = new Int8Array(w.length);
  for (let n = 0; n < N; n++) {
    const g = grids[n];
    for (let i = n * per; i < (n + 1) * per; i++) q[i] = g.codes[nearestIndex(g, w[i])];
  }
  return q;
}

/** The real weights that codes `q` stand for ([N][per]): code times the channel's scale. */
export function dequantize(q: Int8Array, scales: Float32Array): Float64Array {
  const N = scales.length, per = q.length / N, out = new Float64Array(q.length);
  for (let i = 0; i < q.length; i++) out[i] = q[i] * scales[Math.floor(i / per)];
  return out;
}
