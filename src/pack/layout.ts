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
