// Weight layouts of the sub-8-bit kernels (assembly/kernels/qs4_*.ts, qb1_*.ts, q2_*.ts): the one place
// where their byte order is written. Sub-byte elements: element i of a byte in bits [i*b, (i+1)*b), LSB first.
import { QwmPackError } from "./layout.ts";

const ceil4 = (n: number) => (n + 3) & ~3;
const ceil8 = (n: number) => (n + 7) & ~7;

/** Bytes of a packed qs4 GEMM layer (assembly/kernels/qs4_conv2d.ts). */
export function qs4PackedBytes(N: number, taps: number, C: number): number {
  const Np = ceil4(N);
  return (Np * taps * ceil8(C)) / 2 + 16 * Np;
}

function checkTail(N: number, bias: Int32Array, mult: Int32Array) {
  if (bias.length !== N || mult.length !== N) throw new QwmPackError(`bias/mult: expected ${N} values each`);
  for (let n = 0; n < N; n++) if (!(mult[n] >= 0)) throw new QwmPackError(`mult: negative multiplier at channel ${n}`);
}

/**
 * Packs an int4 conv / dense layer for qs4_conv2d / qs4_fully_connected. `w` is [N][taps][C] with values in
 * [-8, 7]. Layout (assembly/kernels/qs4_conv2d.ts): u8 w[Np/4][K/4][8] (K = taps*ceil8(C)); within an 8-byte
 * group (4 channels x 4 k), channel c (0..3) and k (0..3) sit at byte 4*(c & 1) + k: channels 0, 1 in the low
 * nibble as w + 8 (offset binary), channels 2, 3 in the high nibble in two's complement, so weight 0 is the
 * byte 0x08 (all padding); then int32 bias[Np], mult[Np], sumw[Np], sumwn[Np].
 */
export function packQs4Gemm(w: Int8Array, N: number, taps: number, C: number, bias: Int32Array, mult: Int32Array): Uint8Array {
  if (w.length !== N * taps * C) throw new QwmPackError(`weights: expected ${N * taps * C} values (N=${N}, taps=${taps}, C=${C}), got ${w.length}`);
  checkTail(N, bias, mult);
  const Np = ceil4(N), Cp = ceil8(C), K = taps * Cp;
  const wBytes = (Np * K) / 2;
  const buf = new ArrayBuffer(qs4PackedBytes(N, taps, C));
  const wq = new Uint8Array(buf, 0, wBytes).fill(0x08); // weight 0 in both nibbles (all padding)
  const tail = new Int32Array(buf, wBytes, 4 * Np);
  for (let n = 0; n < N; n++) {
    let sum = 0, sumNeg = 0;
    for (let t = 0; t < taps; t++) for (let c = 0; c < C; c++) {
      const v = w[(n * taps + t) * C + c];
      if (v < -8 || v > 7) throw new QwmPackError(`weights: value ${v} at [${n}][${t}][${c}]; int4 weights must be in [-8, 7]`);
      const k = t * Cp + c;
      const c4 = n & 3;
      const byte = (n >> 2) * K * 2 + (k >> 2) * 8 + 4 * (c4 & 1) + (k & 3);
      if (c4 < 2) wq[byte] = (wq[byte] & 0xf0) | (v + 8);
      else wq[byte] = (wq[byte] & 0x0f) | ((v & 15) << 4);
      sum += v;
      if (v < 0) sumNeg -= v;
    }
    tail[n] = bias[n];
    tail[Np + n] = mult[n];
    tail[2 * Np + n] = sum;
    tail[3 * Np + n] = sumNeg;
  }
  return new Uint8Array(buf);
}

/** Bytes of a packed qs4 depthwise layer: KH*KW*ceil(C/2) + 8*C. */
export function qs4DepthwisePackedBytes(C: number, KH: number, KW: number): number {
  return KH * KW * ((C + 1) >> 1) + 8 * C;
}

/** Packs an int4 depthwise layer for qs4_dwconv2d. `w` is [KH][KW][C] (as packQs8Depthwise), values in [-8, 7]. */
export function packQs4Depthwise(w: Int8Array, C: number, KH: number, KW: number, bias: Int32Array, mult: Int32Array): Uint8Array {
  const T = KH * KW, Cb = (C + 1) >> 1;
  if (w.length !== T * C) throw new QwmPackError(`weights: expected ${T * C} values (KH=${KH}, KW=${KW}, C=${C}), got ${w.length}`);
  checkTail(C, bias, mult);
  const out = new Uint8Array(qs4DepthwisePackedBytes(C, KH, KW));
  const view = new DataView(out.buffer);
  for (let t = 0; t < T; t++) for (let c = 0; c < C; c++) {
    const v = w[t * C + c];
    if (v < -8 || v > 7) throw new QwmPackError(`weights: value ${v} at tap ${t}, channel ${c}; int4 weights must be in [-8, 7]`);
    out[t * Cb + (c >> 1)] |= (v & 15) << ((c & 1) * 4);
  }
  for (let c = 0; c < C; c++) {
    view.setInt32(T * Cb + 4 * c, bias[c], true);
    view.setInt32(T * Cb + 4 * (C + c), mult[c], true);
  }
  return out;
}

const ceil64 = (n: number) => Math.ceil(n / 64) * 64;

/** Bytes of a packed binary (XNOR) conv layer (assembly/kernels/qb1_conv2d.ts): 8*Np*Kw + 8*Np + 2*T*Np. */
export function qb1PackedBytes(N: number, T: number, C: number): number {
  const Np = ceil4(N);
  return Np * (ceil64(T * C) / 8) + 8 * Np + 2 * T * Np;
}

/**
 * Packs a binary conv layer for qb1_conv2d. `w` is [N][T][C] with values +1 or -1 (T = KH*KW taps ordered ky, kx);
 * `bias` int32 [N] in accumulator units (of the +-1 dot product), `mult` int32 [N] (the per-channel scale alpha
 * folded into the requantization multiplier). Layout: u64 words w[Np/4][Kw][4] (Kw = ceil(K/64)), word i of
 * channel n at index ((n >> 2)*Kw + i)*4 + (n & 3), bit k of the channel in word k >> 6, bit k & 63 (set = +1);
 * then int32 bias[Np], mult[Np], u16 popw[T][Np]. Checks the kernel's widths: T <= 64 taps (padding masks),
 * K below 2^31 bits (int32 accumulators).
 */
export function packQb1Conv(w: Int8Array, N: number, T: number, C: number, bias: Int32Array, mult: Int32Array): Uint8Array {
  if (w.length !== N * T * C) throw new QwmPackError(`weights: expected ${N * T * C} values (N=${N}, taps=${T}, C=${C}), got ${w.length}`);
  checkTail(N, bias, mult);
  if (T > 64) throw new QwmPackError(`binary conv: ${T} taps; at most 64 (padding masks are 64-bit)`);
  const Kp = ceil64(T * C), Kb = Kp / 8, Kw = Kp / 64, Np = ceil4(N);
  if (Kp >= 2 ** 31) throw new QwmPackError(`binary conv: K = ${T * C} bits; below 2^31 (int32 accumulators)`);
  if (C > 65535) throw new QwmPackError(`binary conv: C = ${C}; at most 65535 (u16 per-tap weight popcounts)`);
  for (let n = 0; n < N; n++) if (Math.abs(bias[n]) + T * C > 2 ** 31 - 1) throw new QwmPackError(`bias ${bias[n]} at channel ${n}: |bias| + K exceeds the int32 accumulator`);
  const out = new Uint8Array(qb1PackedBytes(N, T, C));
  const view = new DataView(out.buffer);
  const popw = Np * Kb + 8 * Np;
  for (let n = 0; n < N; n++) {
    for (let t = 0; t < T; t++) {
      let pop = 0;
      for (let c = 0; c < C; c++) {
        const v = w[(n * T + t) * C + c];
        if (v !== 1 && v !== -1) throw new QwmPackError(`weights: value ${v} at [${n}][${t}][${c}]; binary weights must be +1 or -1`);
        if (v === 1) {
          const k = t * C + c;
          const word = ((n >> 2) * Kw + (k >> 6)) * 4 + (n & 3);
          out[word * 8 + ((k & 63) >> 3)] |= 1 << (k & 7);
          pop++;
        }
      }
      view.setUint16(popw + 2 * (t * Np + n), pop, true);
    }
    view.setInt32(Np * Kb + 4 * n, bias[n], true);
    view.setInt32(Np * Kb + 4 * (Np + n), mult[n], true);
  }
  return out;
}

const ceil16 = (n: number) => (n + 15) & ~15;

/** Bytes of a packed BWN layer (qbw_conv2d): ceil16(N)*K/8 + 16*ceil4(N) with K = taps*ceil8(C). */
export function qbwPackedBytes(N: number, taps: number, C: number): number {
  return (ceil16(N) * taps * ceil8(C)) / 8 + 16 * ceil4(N);
}

/** Bytes of a packed 2-bit layer (qs2_conv2d): ceil8(N)*K/4 + 16*ceil4(N) with K = taps*ceil16(C). */
export function qs2PackedBytes(N: number, taps: number, C: number): number {
  return (ceil8(N) * taps * ceil16(C)) / 4 + 16 * ceil4(N);
}

function packTail(buf: ArrayBuffer, off: number, N: number, bias: Int32Array, mult: Int32Array, sumw: number[]) {
  const Np = ceil4(N);
  const tail = new Int32Array(buf, off, 4 * Np);
  for (let n = 0; n < N; n++) { tail[n] = bias[n]; tail[Np + n] = mult[n]; tail[2 * Np + n] = sumw[n]; }
}

/**
 * Packs a BWN layer (binary +-1 weights x int8 activations) for qbw_conv2d / qbw_fully_connected. `w` is
 * [N][taps][C] of +1 / -1. Per 16 channels and 4 k (K = taps*ceil8(C), rows padded to ceil16(N)): 8 bytes;
 * channel c (0..15), k (0..3) at byte 4*(c & 1) + k, bit c >> 1; a set bit is -1, a clear bit +1 (padding too:
 * it multiplies a zero activation). Then int32 bias, mult, sumw, 0 for ceil4(N) channels.
 */
export function packQbwGemm(w: Int8Array, N: number, taps: number, C: number, bias: Int32Array, mult: Int32Array): Uint8Array {
  if (w.length !== N * taps * C) throw new QwmPackError(`weights: expected ${N * taps * C} values (N=${N}, taps=${taps}, C=${C}), got ${w.length}`);
  checkTail(N, bias, mult);
  const Cp = ceil8(C), K = taps * Cp, wBytes = (ceil16(N) * K) / 8;
  const buf = new ArrayBuffer(qbwPackedBytes(N, taps, C));
  const wq = new Uint8Array(buf, 0, wBytes);
  const sumw: number[] = [];
  for (let n = 0; n < N; n++) {
    let sum = 0;
    for (let t = 0; t < taps; t++) for (let c = 0; c < C; c++) {
      const v = w[(n * taps + t) * C + c];
      if (v !== 1 && v !== -1) throw new QwmPackError(`weights: value ${v} at [${n}][${t}][${c}]; binary weights must be +1 or -1`);
      sum += v;
      if (v === 1) continue;
      const k = t * Cp + c, c16 = n & 15;
      wq[(n >> 4) * K * 2 + (k >> 2) * 8 + 4 * (c16 & 1) + (k & 3)] |= 1 << (c16 >> 1);
    }
    sumw.push(sum);
  }
  packTail(buf, wBytes, N, bias, mult, sumw);
  return new Uint8Array(buf);
}

/**
 * Packs a 2-bit layer for qs2_conv2d / qs2_fully_connected: values in [-2, 1] (the uniform 4-level grid), or
 * {-1, 0, 1} for ternary (TWN) weights. Per 8 channels and 4 k (K = taps*ceil16(C), rows padded to ceil8(N)):
 * 8 bytes; channel c (0..7), k (0..3) at byte 4*(c & 1) + k, crumb m = c >> 1 (bits [2m, 2m+2)); crumbs 0..2
 * hold w + 2 (offset binary), crumb 3 w in two's complement, so weight 0 is the byte 0x2a (all padding).
 * Then int32 bias, mult, sumw, 0 for ceil4(N) channels.
 */
export function packQs2Gemm(w: Int8Array, N: number, taps: number, C: number, bias: Int32Array, mult: Int32Array): Uint8Array {
  if (w.length !== N * taps * C) throw new QwmPackError(`weights: expected ${N * taps * C} values (N=${N}, taps=${taps}, C=${C}), got ${w.length}`);
  checkTail(N, bias, mult);
  const Cp = ceil16(C), K = taps * Cp, wBytes = (ceil8(N) * K) / 4;
  const buf = new ArrayBuffer(qs2PackedBytes(N, taps, C));
  const wq = new Uint8Array(buf, 0, wBytes).fill(0x2a);
  const sumw: number[] = [];
  for (let n = 0; n < N; n++) {
    let sum = 0;
    for (let t = 0; t < taps; t++) for (let c = 0; c < C; c++) {
      const v = w[(n * taps + t) * C + c];
      if (v < -2 || v > 1) throw new QwmPackError(`weights: value ${v} at [${n}][${t}][${c}]; 2-bit weights must be in [-2, 1]`);
      sum += v;
      const k = t * Cp + c, c8 = n & 7, m = c8 >> 1;
      const at = (n >> 3) * K * 2 + (k >> 2) * 8 + 4 * (c8 & 1) + (k & 3);
      wq[at] = (wq[at] & ~(3 << (2 * m))) | (((m < 3 ? v + 2 : v) & 3) << (2 * m));
    }
    sumw.push(sum);
  }
  packTail(buf, wBytes, N, bias, mult, sumw);
  return new Uint8Array(buf);
}

// ---------------------------------------------------------------- codebook (LUT) weights: qlut_conv2d.ts

/** Bytes of one codebook table in a packed layer: max(16, 2^bits). */
export const qlutTableBytes = (bits: number) => Math.max(16, 2 ** bits);

/** Bytes of a packed codebook layer: ceil16(N*K*bits/8) + tables + 8*N, K = taps*ceil16(C). */
export function qlutPackedBytes(N: number, taps: number, C: number, bits: number, perChannel: boolean): number {
  return ceil16((N * taps * ceil16(C) * bits) / 8) + (perChannel ? N : 1) * qlutTableBytes(bits) + 8 * N;
}

/** A codebook layer: `idx` [N][taps][C] indices into `tables` (per channel: [N][entries], else [entries]). */
export interface Codebook { bits: number; entries: number; perChannel: boolean; idx: Uint8Array; tables: Int8Array }

/**
 * Packs a codebook layer for qlut_conv2d / qlut_fully_connected. Layout (assembly/kernels/qlut_conv2d.ts): per
 * channel n and 16 k (K = taps*ceil16(C)), 2*bits bytes, index i at bits [i*bits, (i+1)*bits) LSB first, zero
 * for padding channels; zero bytes to a multiple of 16; tables int8 [G][max(16, 2^bits)] (entries >= `entries`
 * zero); int32 bias[N], mult[N]. Values: bits 1..8, entries 1..2^bits, indices < entries, table values in
 * [-127, 127] (so that |w| <= 127 in the accumulator bound).
 */
export function packQlutGemm(cb: Codebook, N: number, taps: number, C: number, bias: Int32Array, mult: Int32Array): Uint8Array {
  const { bits, entries, perChannel, idx, tables } = cb;
  if (!Number.isInteger(bits) || bits < 1 || bits > 8) throw new QwmPackError(`codebook: ${bits}-bit indices; 1 to 8 bits`);
  if (!Number.isInteger(entries) || entries < 1 || entries > 2 ** bits) throw new QwmPackError(`codebook: ${entries} entries for ${bits}-bit indices; 1 to ${2 ** bits}`);
  if (idx.length !== N * taps * C) throw new QwmPackError(`codebook: expected ${N * taps * C} indices (N=${N}, taps=${taps}, C=${C}), got ${idx.length}`);
  const G = perChannel ? N : 1;
  if (tables.length !== G * entries) throw new QwmPackError(`codebook: expected ${G} table(s) of ${entries} entries, got ${tables.length} values`);
  for (let i = 0; i < tables.length; i++) if (tables[i] < -127) throw new QwmPackError(`codebook: table value ${tables[i]} at ${i}; in [-127, 127]`);
  checkTail(N, bias, mult);
  const Cp = ceil16(C), K = taps * Cp, rowBytes = (K * bits) / 8, S = qlutTableBytes(bits);
  const idxBytes = ceil16(N * rowBytes);
  const out = new Uint8Array(qlutPackedBytes(N, taps, C, bits, perChannel));
  for (let n = 0; n < N; n++) {
    for (let t = 0; t < taps; t++) for (let c = 0; c < C; c++) {
      const v = idx[(n * taps + t) * C + c];
      if (v >= entries) throw new QwmPackError(`codebook: index ${v} at [${n}][${t}][${c}]; the table has ${entries} entries`);
      const k = t * Cp + c;
      const bit = n * rowBytes * 8 + k * bits; // rows are whole bytes; 16 k take 2*bits bytes
      const word = v << (bit & 7);
      out[bit >> 3] |= word & 255;
      if (word > 255) out[(bit >> 3) + 1] |= word >> 8;
    }
  }
  for (let g = 0; g < G; g++) for (let j = 0; j < entries; j++) out[idxBytes + g * S + j] = tables[g * entries + j] & 255;
  const tail = new DataView(out.buffer, idxBytes + G * S);
  for (let n = 0; n < N; n++) { tail.setInt32(4 * n, bias[n], true); tail.setInt32(4 * (N + n), mult[n], true); }
  return out;
}

/** Bytes of a packed codebook depthwise layer: KH*KW*ceil(C*bits/8) + tables + 8*C. */
export function qlutDepthwisePackedBytes(C: number, KH: number, KW: number, bits: number, perChannel: boolean): number {
  return KH * KW * Math.ceil((C * bits) / 8) + (perChannel ? C : 1) * qlutTableBytes(bits) + 8 * C;
}

/**
 * Packs a codebook depthwise layer for qlut_dwconv2d (assembly/kernels/qs2_dwconv2d.ts). `cb.idx` is the
 * codebook's own order, [C][KH*KW] (a depthwise conv's output channel c has one input channel). Layout: per tap t,
 * ceil(C*bits/8) bytes, channel c's index at bits [c*bits, (c+1)*bits) LSB first; tables int8
 * [G][max(16, 2^bits)] (entries >= `entries` zero); int32 bias[C], mult[C]. At most 64 taps (the kernel decodes
 * an 8-channel block's taps into a 64-tap buffer); the int32 accumulator bound is checked.
 */
export function packQlutDepthwise(cb: Codebook, C: number, KH: number, KW: number, bias: Int32Array, mult: Int32Array): Uint8Array {
  const { bits, entries, perChannel, idx, tables } = cb;
  const T = KH * KW;
  if (T > 64) throw new QwmPackError(`codebook depthwise: ${KH}x${KW} = ${T} taps; at most 64`);
  if (!Number.isInteger(bits) || bits < 1 || bits > 8) throw new QwmPackError(`codebook: ${bits}-bit indices; 1 to 8 bits`);
  if (!Number.isInteger(entries) || entries < 1 || entries > 2 ** bits) throw new QwmPackError(`codebook: ${entries} entries for ${bits}-bit indices; 1 to ${2 ** bits}`);
  if (idx.length !== C * T) throw new QwmPackError(`codebook: expected ${C * T} indices (C=${C}, taps=${T}), got ${idx.length}`);
  const G = perChannel ? C : 1;
  if (tables.length !== G * entries) throw new QwmPackError(`codebook: expected ${G} table(s) of ${entries} entries, got ${tables.length} values`);
  for (let i = 0; i < tables.length; i++) if (tables[i] < -127) throw new QwmPackError(`codebook: table value ${tables[i]} at ${i}; in [-127, 127]`);
  checkTail(C, bias, mult);
  const w = new Int8Array(T * C); // tap-major decoded weights, for the accumulator bound
  const Rb = Math.ceil((C * bits) / 8), S = qlutTableBytes(bits);
  const out = new Uint8Array(qlutDepthwisePackedBytes(C, KH, KW, bits, perChannel));
  for (let c = 0; c < C; c++) {
    for (let t = 0; t < T; t++) {
      const v = idx[c * T + t];
      if (v >= entries) throw new QwmPackError(`codebook: index ${v} at [${c}][${t}]; the table has ${entries} entries`);
      const bit = t * Rb * 8 + c * bits;
      const word = v << (bit & 7);
      out[bit >> 3] |= word & 255;
      if (word > 255) out[(bit >> 3) + 1] |= word >> 8;
      w[t * C + c] = tables[(perChannel ? c * entries : 0) + v];
    }
  }
  checkDwAccumulator(w, C, T, bias);
  const tbl = T * Rb;
  for (let g = 0; g < G; g++) for (let j = 0; j < entries; j++) out[tbl + g * S + j] = tables[g * entries + j] & 255;
  packDwTail(out, tbl + G * S, C, bias, mult);
  return out;
}

/** The int8 weights a codebook layer stands for, [N][taps][C]. */
export function codebookWeights(cb: Codebook, N: number): Int8Array {
  const per = cb.idx.length / N;
  return Int8Array.from(cb.idx, (v, i) => cb.tables[(cb.perChannel ? Math.floor(i / per) * cb.entries : 0) + v]);
}

// ---------------------------------------------------------------- depthwise: 2-bit / ternary, BWN, XNOR (1.1)

/** Bytes of a packed 2-bit / ternary depthwise layer (qs2_dwconv2d): KH*KW*ceil(C/4) + 8*C. */
export function qs2DepthwisePackedBytes(C: number, KH: number, KW: number): number {
  return KH * KW * ((C + 3) >> 2) + 8 * C;
}

/** Bytes of a packed BWN depthwise layer (qbw_dwconv2d): KH*KW*ceil(C/8) + 8*C. */
export function qbwDepthwisePackedBytes(C: number, KH: number, KW: number): number {
  return KH * KW * ((C + 7) >> 3) + 8 * C;
}

/** Bytes of a packed binary (XNOR) depthwise layer (qb1_dwconv2d): KH*KW*ceil(C/8) + 8*C. */
export function qb1DepthwisePackedBytes(C: number, KH: number, KW: number): number {
  return KH * KW * ((C + 7) >> 3) + 8 * C;
}

/**
 * The int32 accumulator of a depthwise layer with int8 activations: |bias| + 255 * sum_t |w[t][c]| <= 2^31 - 1
 * per channel (the runtime's bound, |x - zx| <= 255).
 */
function checkDwAccumulator(w: Int8Array, C: number, T: number, bias: Int32Array) {
  for (let c = 0; c < C; c++) {
    let abs = 0;
    for (let t = 0; t < T; t++) abs += Math.abs(w[t * C + c]);
    if (Math.abs(bias[c]) + 255 * abs > 2 ** 31 - 1) throw new QwmPackError(`bias ${bias[c]} at channel ${c}: |bias| + 255 * sum |w| exceeds the int32 accumulator`);
  }
}

function packDwTail(out: Uint8Array, at: number, C: number, bias: Int32Array, mult: Int32Array) {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (let c = 0; c < C; c++) {
    view.setInt32(at + 4 * c, bias[c], true);
    view.setInt32(at + 4 * (C + c), mult[c], true);
  }
}

/**
 * Packs a 2-bit depthwise layer for qs2_dwconv2d. `w` is tap-major [KH*KW][C] (as packQs4Depthwise) with values
 * in [-2, 1] (uniform 4-level grid), or {-1, 0, 1} (ternary: bit 0 of each crumb the nonzero plane, bit 1 the
 * sign plane, which is the same two's complement code). Channel c of tap t: byte t*ceil(C/4) + (c >> 2), bits
 * [2*(c&3), 2*(c&3)+2). Then int32 bias[C], mult[C].
 */
export function packQs2Depthwise(w: Int8Array, C: number, KH: number, KW: number, bias: Int32Array, mult: Int32Array): Uint8Array {
  const T = KH * KW, Cb = (C + 3) >> 2;
  if (w.length !== T * C) throw new QwmPackError(`weights: expected ${T * C} values (KH=${KH}, KW=${KW}, C=${C}), got ${w.length}`);
  checkTail(C, bias, mult);
  const out = new Uint8Array(qs2DepthwisePackedBytes(C, KH, KW));
  for (let t = 0; t < T; t++) for (let c = 0; c < C; c++) {
    const v = w[t * C + c];
    if (!(v >= -2 && v <= 1)) throw new QwmPackError(`weights: value ${v} at tap ${t}, channel ${c}; 2-bit weights must be in [-2, 1]`);
    out[t * Cb + (c >> 2)] |= (v & 3) << ((c & 3) * 2);
  }
  checkDwAccumulator(w, C, T, bias);
  packDwTail(out, T * Cb, C, bias, mult);
  return out;
}

/**
 * Packs a BWN depthwise layer (+-1 weights x int8 activations) for qbw_dwconv2d. `w` is tap-major [KH*KW][C] of
 * +1 / -1. Channel c of tap t: byte t*ceil(C/8) + (c >> 3), bit c & 7, set = -1 (the sign bit), clear = +1 (and
 * zero past C). Then int32 bias[C], mult[C].
 */
export function packQbwDepthwise(w: Int8Array, C: number, KH: number, KW: number, bias: Int32Array, mult: Int32Array): Uint8Array {
  const T = KH * KW, Cb = (C + 7) >> 3;
  if (w.length !== T * C) throw new QwmPackError(`weights: expected ${T * C} values (KH=${KH}, KW=${KW}, C=${C}), got ${w.length}`);
  checkTail(C, bias, mult);
  const out = new Uint8Array(qbwDepthwisePackedBytes(C, KH, KW));
  for (let t = 0; t < T; t++) for (let c = 0; c < C; c++) {
    const v = w[t * C + c];
    if (v !== 1 && v !== -1) throw new QwmPackError(`weights: value ${v} at tap ${t}, channel ${c}; binary weights must be +1 or -1`);
    if (v === -1) out[t * Cb + (c >> 3)] |= 1 << (c & 7);
  }
  checkDwAccumulator(w, C, T, bias);
  packDwTail(out, T * Cb, C, bias, mult);
  return out;
}

/** Largest number of taps of a binary depthwise layer: mismatches are counted in u8 lanes (qb1_dwconv2d.ts). */
export const QB1_DW_MAX_TAPS = 255;

/**
 * Packs a binary (XNOR) depthwise layer for qb1_dwconv2d. `w` is tap-major [KH*KW][C] of +1 / -1; `bias` int32
 * [C] in units of the +-1 dot product, `mult` [C] the per-channel scale folded into the requantization. Channel c
 * of tap t: byte t*ceil(C/8) + (c >> 3), bit c & 7, set = +1 (as the bit tensors of qb1_sign), zero past C.
 * Widths: at most 255 taps (u8 mismatch lanes); |bias| + T <= 2^31 - 1.
 */
export function packQb1Depthwise(w: Int8Array, C: number, KH: number, KW: number, bias: Int32Array, mult: Int32Array): Uint8Array {
  const T = KH * KW, Cb = (C + 7) >> 3;
  if (w.length !== T * C) throw new QwmPackError(`weights: expected ${T * C} values (KH=${KH}, KW=${KW}, C=${C}), got ${w.length}`);
  checkTail(C, bias, mult);
  if (T > QB1_DW_MAX_TAPS) throw new QwmPackError(`binary depthwise: ${T} taps; at most ${QB1_DW_MAX_TAPS} (mismatches are counted in 8-bit lanes)`);
  const out = new Uint8Array(qb1DepthwisePackedBytes(C, KH, KW));
  for (let t = 0; t < T; t++) for (let c = 0; c < C; c++) {
    const v = w[t * C + c];
    if (v !== 1 && v !== -1) throw new QwmPackError(`weights: value ${v} at tap ${t}, channel ${c}; binary weights must be +1 or -1`);
    if (v === 1) out[t * Cb + (c >> 3)] |= 1 << (c & 7);
  }
  for (let c = 0; c < C; c++) if (Math.abs(bias[c]) + T > 2 ** 31 - 1) throw new QwmPackError(`bias ${bias[c]} at channel ${c}: |bias| + taps exceeds the int32 accumulator`);
  packDwTail(out, T * Cb, C, bias, mult);
  return out;
}
