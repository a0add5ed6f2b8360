// qs8 conv2d, groups = 1, NHWC, any kernel size, stride, padding and dilation:
// im2col of TILE output pixels at a time into `scratch`, then the qs8 GEMM (qs8_gemm.ts) on the tile.
// Also the dense / fully-connected layer (qs8_fully_connected): the same GEMM on widened input rows.
// Weights: the packed layer of qs8_gemm.ts with K = KH*KW*C ordered (ky, kx, c).

import { qs8_gemm_rows, a_elem_bytes } from "./qs8_gemm";

/** Output pixels per im2col tile. */
export const QS8_TILE: i32 = 16;

/** Scratch bytes needed by qs8_conv2d / qs8_fully_connected for reduction length K. */
export function qs8_conv2d_scratch_bytes(K: i32): i32 {
  return QS8_TILE * ((K + 3) & ~3) * a_elem_bytes();
}

// Writes `n` input values as A-operand elements: (x - zx) as int16, or x as int8 in the relaxed build.
@inline
function put_run(dst: usize, src: usize, n: i32, zx: i32): void {
  if (ASC_FEATURE_RELAXED_SIMD) {
    memory.copy(dst, src, <usize>n);
  } else {
    let i = 0;
    if (ASC_FEATURE_SIMD) {
      const z = i16x8.splat(<i16>zx);
      for (; i + 8 <= n; i += 8) {
        v128.store(dst + (<usize>i << 1), i16x8.sub(v128.load8x8_s(src + <usize>i), z));
      }
    }
    for (; i < n; i++) store<i16>(dst + (<usize>i << 1), <i16>(i32(load<i8>(src + <usize>i)) - zx));
  }
}

// Writes `n` padding elements: real zero, i.e. int16 0, or zx as int8 in the relaxed build.
@inline
function put_pad(dst: usize, n: i32, zx: i32): void {
  if (ASC_FEATURE_RELAXED_SIMD) memory.fill(dst, <u8>zx, <usize>n);
  else memory.fill(dst, 0, <usize>(n << 1));
}

export function qs8_conv2d(
  x: usize, H: i32, W: i32, C: i32, zx: i32,
  out: usize, OH: i32, OW: i32, N: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32, DH: i32, DW: i32,
  pw: usize, shift: i32, zy: i32, lo: i32, hi: i32, scratch: usize,
): void {
  const K = KH * KW * C;
  const Kp = (K + 3) & ~3;
  const eb = a_elem_bytes();
  const P = OH * OW;
  for (let p0 = 0; p0 < P; p0 += QS8_TILE) {
    const rows = min(QS8_TILE, P - p0);
    for (let t = 0; t < rows; t++) {
      const p = p0 + t;
      const oy = p / OW, ox = p - oy * OW;
      let dst = scratch + <usize>(t * Kp * eb);
      for (let ky = 0; ky < KH; ky++) {
        const iy = oy * SH - PT + ky * DH;
        if (<u32>iy >= <u32>H) {
          put_pad(dst, KW * C, zx);
          dst += <usize>(KW * C * eb);
          continue;
        }
        const rowp = x + <usize>(iy * W * C);
        for (let kx = 0; kx < KW; kx++) {
          const ix = ox * SW - PL + kx * DW;
          if (<u32>ix >= <u32>W) put_pad(dst, C, zx);
          else put_run(dst, rowp + <usize>(ix * C), C, zx);
          dst += <usize>(C * eb);
        }
      }
      if (Kp > K) memory.fill(dst, 0, <usize>((Kp - K) * eb));
    }
    qs8_gemm_rows(rows, N, Kp, scratch, zx, pw, shift, zy, lo, hi, out + <usize>(p0 * N), N);
  }
}

/** out[M][N] = requant(x[M][K] * w^T + bias): dense layers and pointwise convs. */
export function qs8_fully_connected(
  M: i32, N: i32, K: i32, x: usize, zx: i32,
  pw: usize, shift: i32, zy: i32, lo: i32, hi: i32, out: usize, scratch: usize,
): void {
  const Kp = (K + 3) & ~3;
  const eb = a_elem_bytes();
  for (let r0 = 0; r0 < M; r0 += QS8_TILE) {
    const rows = min(QS8_TILE, M - r0);
    for (let t = 0; t < rows; t++) {
      const dst = scratch + <usize>(t * Kp * eb);
      put_run(dst, x + <usize>((r0 + t) * K), K, zx);
      if (Kp > K) memory.fill(dst + <usize>(K * eb), 0, <usize>((Kp - K) * eb));
    }
    qs8_gemm_rows(rows, N, Kp, scratch, zx, pw, shift, zy, lo, hi, out + <usize>(r0 * N), N);
  }
}
