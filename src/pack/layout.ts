// Weight layouts: how each kernel family of assembly/kernels reads its packed weights.
// The one place where the byte order of a packed layer is written; the kernels' files describe the same order.

export class QwmPackError extends Error {
  readonly code = "QWM_PACK";
  constructor(message: string) {
    super(message);
    this.name = "QwmPackError";
  }
}

const ceil4 = (n: number) => (n + 3) & ~3;

/** Bytes of a packed qs8 GEMM layer with N outputs and `taps` taps of C channels (assembly/kernels/qs8_gemm.ts). */
export function qs8PackedBytes(N: number, taps: number, C: number): number {
  const Np = ceil4(N);
  return Np * taps * ceil4(C) + 16 * Np;
}

/**
 * Packs an int8 conv / dense layer for qs8_conv2d and qs8_fully_connected. `w` is [N][taps][C]: for a conv,
 * taps = KH*KW ordered (ky, kx); for a dense layer, taps = 1 and C = K. Values in [-127, 127].
 * `bias` int32 [N] in accumulator units; `mult` int32 [N] in [0, 2^31).
 */
export function packQs8Gemm(w: Int8Array, N: number, taps: number, C: number, bias: Int32Array, mult: Int32Array): Uint8Array {
  if (w.length !== N * taps * C) throw new QwmPackError(`weights: expected ${N * taps * C} values (N=${N}, taps=${taps}, C=${C}), got ${w.length}`);
  if (bias.length !== N || mult.length !== N) throw new QwmPackError(`bias/mult: expected ${N} values each`);
  const Np = ceil4(N), Cp = ceil4(C), K = taps * Cp;
  const buf = new ArrayBuffer(qs8PackedBytes(N, taps, C));
  const wq = new Int8Array(buf, 0, Np * K);
  const tail = new Int32Array(buf, Np * K, 4 * Np);
  for (let n = 0; n < N; n++) {
    let sum = 0, sumNeg = 0;
    for (let t = 0; t < taps; t++) for (let c = 0; c < C; c++) {
      const v = w[(n * taps + t) * C + c];
      if (v < -127 || v > 127) throw new QwmPackError(`weights: value ${v} at [${n}][${t}][${c}]; qs8 weights must be in [-127, 127]`);
      const k = t * Cp + c;
      wq[(n >> 2) * K * 4 + (k >> 2) * 16 + (n & 3) * 4 + (k & 3)] = v;
      sum += v;
      if (v < 0) sumNeg -= v;
    }
    if (!(mult[n] >= 0)) throw new QwmPackError(`mult: negative multiplier at channel ${n}`);
    tail[n] = bias[n];
    tail[Np + n] = mult[n];
    tail[2 * Np + n] = sum;
    tail[3 * Np + n] = sumNeg;
  }
  return new Uint8Array(buf);
}

const ceil8 = (n: number) => (n + 7) & ~7;

function checkFinite(what: string, v: ArrayLike<number>): void {
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i])) throw new QwmPackError(`${what}: non-finite value ${v[i]} at ${i}`);
  }
}

/** Bytes of a packed f32 GEMM layer (see assembly/kernels/f32_gemm.ts). */
export function f32PackedBytes(N: number, K: number): number {
  return ceil8(N) * (K + 1) * 4;
}

/**
 * Packs an f32 GEMM / conv layer: f32 w[ceil(N/8)][K][8] (zero in the channel padding), then f32 bias[ceil8(N)].
 * `w` is [N][K] (for conv, K ordered ky, kx, c), `bias` [N]; every value must be finite.
 */
export function packF32Gemm(w: Float32Array, N: number, K: number, bias: Float32Array): Uint8Array {
  if (w.length !== N * K) throw new QwmPackError(`weights: expected ${N * K} values (N=${N}, K=${K}), got ${w.length}`);
  if (bias.length !== N) throw new QwmPackError(`bias: expected ${N} values, got ${bias.length}`);
  checkFinite("weights", w);
  checkFinite("bias", bias);
  const Np = ceil8(N);
  const out = new Float32Array(f32PackedBytes(N, K) / 4);
  for (let c = 0; c < N; c++) {
    const base = (c >> 3) * K * 8 + (c & 7);
    for (let k = 0; k < K; k++) out[base + k * 8] = w[c * K + k];
    out[Np * K + c] = bias[c];
  }
  return new Uint8Array(out.buffer);
}

/** Bytes of a packed f32 depthwise layer (see assembly/kernels/f32_dwconv2d.ts). */
export function f32DepthwisePackedBytes(C: number, KH: number, KW: number): number {
  return (KH * KW + 1) * C * 4;
}

/**
 * Packs an f32 depthwise conv layer (channel multiplier 1): f32 w[KH][KW][C], then f32 bias[C].
 * `w` is [C][KH][KW] (ONNX order with the size-1 input-channel axis dropped), `bias` [C]; values finite.
 */
export function packF32Depthwise(w: Float32Array, C: number, KH: number, KW: number, bias: Float32Array): Uint8Array {
  if (w.length !== C * KH * KW) throw new QwmPackError(`weights: expected ${C * KH * KW} values (C=${C}, ${KH}x${KW}), got ${w.length}`);
  if (bias.length !== C) throw new QwmPackError(`bias: expected ${C} values, got ${bias.length}`);
  checkFinite("weights", w);
  checkFinite("bias", bias);
  const T = KH * KW;
  const out = new Float32Array(f32DepthwisePackedBytes(C, KH, KW) / 4);
  for (let c = 0; c < C; c++) {
    for (let t = 0; t < T; t++) out[t * C + c] = w[c * T + t];
    out[T * C + c] = bias[c];
  }
  return new Uint8Array(out.buffer);
}

/** Bytes of a packed qs8 depthwise layer (see assembly/kernels/qs8_dwconv2d.ts): KH*KW*C + 8*C. */
export function qs8DepthwisePackedBytes(C: number, KH: number, KW: number): number {
  return KH * KW * C + 8 * C;
}

/**
 * Packs an int8 depthwise conv layer (groups = C, multiplier 1) for qs8_dwconv2d. `w` is [KH][KW][C]
 * (tap-major, channels contiguous: the ONNX [C][1][KH][KW] weight transposed), values in [-127, 127];
 * `bias` int32 [C] in accumulator units; `mult` int32 [C] in [0, 2^31).
 * Layout: int8 w[KH*KW][C], then int32 bias[C], then int32 mult[C] (little-endian, no padding).
 */
export function packQs8Depthwise(w: Int8Array, C: number, KH: number, KW: number, bias: Int32Array, mult: Int32Array): Uint8Array {
  const T = KH * KW;
  if (w.length !== T * C) throw new QwmPackError(`weights: expected ${T * C} values (KH=${KH}, KW=${KW}, C=${C}), got ${w.length}`);
  if (bias.length !== C || mult.length !== C) throw new QwmPackError(`bias/mult: expected ${C} values each`);
  const out = new Uint8Array(qs8DepthwisePackedBytes(C, KH, KW));
  const view = new DataView(out.buffer);
  for (let i = 0; i < T * C; i++) {
    const v = w[i];
    if (v < -127 || v > 127) throw new QwmPackError(`weights: value ${v} at tap ${Math.floor(i / C)}, channel ${i % C}; qs8 weights must be in [-127, 127]`);
    out[i] = v & 0xff;
  }
  for (let c = 0; c < C; c++) {
    if (!(mult[c] >= 0)) throw new QwmPackError(`mult: negative multiplier at channel ${c}`);
    view.setInt32(T * C + 4 * c, bias[c], true);
    view.setInt32(T * C + 4 * (C + c), mult[c], true);
  }
  return out;
}

/**
 * The 256-entry table of qs8_lut for an elementwise function `fn` (sigmoid, tanh, hard-swish, ...):
 * entry k (input q = k - 128) = clamp(round_half_away_from_zero(fn(inScale * (q - inZp)) / outScale) + outZp,
 * -128, 127), computed in float64. Throws if `fn` gives NaN.
 */
export function buildQs8Lut(fn: (x: number) => number, inScale: number, inZp: number, outScale: number, outZp: number): Int8Array {
  if (!(inScale > 0) || !(outScale > 0)) throw new QwmPackError(`lut: scales must be positive (got ${inScale}, ${outScale})`);
  const table = new Int8Array(256);
  for (let k = 0; k < 256; k++) {
    const y = fn(inScale * (k - 128 - inZp)) / outScale;
    if (Number.isNaN(y)) throw new QwmPackError(`lut: fn gives NaN at input ${k - 128}`);
    const r = Math.sign(y) * Math.round(Math.abs(y)) + outZp;
    table[k] = r < -128 ? -128 : r > 127 ? 127 : r;
  }
  return table;
}

/** Scratch bytes of qs8_conv2d (the padded image with 2-byte elements, as docs/format.md specifies). */
export function qs8ConvScratchBytes(OH: number, OW: number, C: number, KH: number, KW: number, SH: number, SW: number, DH: number, DW: number): number {
  const Hp = (OH - 1) * SH + (KH - 1) * DH + 1, Wp = (OW - 1) * SW + (KW - 1) * DW + 1;
  return Hp * Wp * ceil4(C) * 2 + 4 * KH * KW;
}

/** Scratch bytes of qs8_fully_connected for one row of length K. */
export const qs8DenseScratchBytes = (K: number) => ceil4(K) * 2 + 16;

/** Scratch bytes of f32_conv2d (an im2col tile of 16 pixels). */
export const f32ConvScratchBytes = (K: number) => 16 * K * 4;
