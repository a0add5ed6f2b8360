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

/** Bytes of a packed qs8 GEMM layer (see assembly/kernels/qs8_gemm.ts). */
export function qs8PackedBytes(N: number, K: number): number {
  const Np = ceil4(N);
  return Np * ceil4(K) + 16 * Np;
}

/**
 * Packs an int8 GEMM / conv layer. `w` is [N][K] (for conv, K ordered ky, kx, c), values in [-127, 127];
 * `bias` int32 [N] in accumulator units; `mult` int32 [N] in [0, 2^31).
 */
export function packQs8Gemm(w: Int8Array, N: number, K: number, bias: Int32Array, mult: Int32Array): Uint8Array {
  if (w.length !== N * K) throw new QwmPackError(`weights: expected ${N * K} values (N=${N}, K=${K}), got ${w.length}`);
  if (bias.length !== N || mult.length !== N) throw new QwmPackError(`bias/mult: expected ${N} values each`);
  const Np = ceil4(N), Kp = ceil4(K);
  const buf = new ArrayBuffer(qs8PackedBytes(N, K));
  const wq = new Int8Array(buf, 0, Np * Kp);
  const tail = new Int32Array(buf, Np * Kp, 4 * Np);
  for (let c = 0; c < N; c++) {
    let sum = 0, sumNeg = 0;
    for (let k = 0; k < K; k++) {
      const v = w[c * K + k];
      if (v < -127) throw new QwmPackError(`weights: value -128 at [${c}][${k}]; qs8 weights must be in [-127, 127]`);
      wq[(c >> 2) * Kp * 4 + (k >> 2) * 16 + (c & 3) * 4 + (k & 3)] = v;
      sum += v;
      if (v < 0) sumNeg -= v;
    }
    if (mult[c] < 0) throw new QwmPackError(`mult: negative multiplier at channel ${c}`);
    tail[c] = bias[c];
    tail[Np + c] = mult[c];
    tail[2 * Np + c] = sum;
    tail[3 * Np + c] = sumNeg;
  }
  return new Uint8Array(buf);
}
