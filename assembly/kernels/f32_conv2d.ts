// f32 conv2d, groups = 1, NHWC, any kernel size, stride, padding and dilation:
// im2col of F32_TILE output pixels at a time into `scratch` (0.0 in the padding), then the f32 GEMM
// (f32_gemm.ts) on the tile. A 1x1, stride 1, unpadded conv runs the GEMM on the input rows directly.
// Also the dense / fully-connected layer (f32_fully_connected): the same GEMM on the input rows in place.
// Weights: the packed layer of f32_gemm.ts with K = KH*KW*C ordered (ky, kx, c).
//
// A padding tap adds 0.0 * w to an accumulator that started at +0.0 and so can never be -0.0: with finite
// weights that add changes nothing, so the result equals the sum over the valid taps only.

import { f32_gemm_rows } from "./f32_gemm";

/** Output pixels per im2col tile. */
export const F32_TILE: i32 = 16;
// Rows per GEMM call when the GEMM reads input rows in place (keeps a block of rows in cache).
const DIRECT_ROWS: i32 = 64;

/** Scratch bytes needed by f32_conv2d for reduction length K = KH*KW*C (f32_fully_connected needs none). */
export function f32_conv2d_scratch_bytes(K: i32): i32 {
  return F32_TILE * K * 4;
}

export function f32_conv2d(
  x: usize, H: i32, W: i32, C: i32,
  out: usize, OH: i32, OW: i32, N: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32, DH: i32, DW: i32,
  pw: usize, lo: f32, hi: f32, scratch: usize,
): void {
  const K = KH * KW * C;
  const P = OH * OW;
  if (KH == 1 && KW == 1 && SH == 1 && SW == 1 && PT == 0 && PL == 0 && OH == H && OW == W) {
    for (let r0 = 0; r0 < P; r0 += DIRECT_ROWS) {
      f32_gemm_rows(min(DIRECT_ROWS, P - r0), N, K, x + (<usize>(r0 * C) << 2), C, pw, lo, hi,
        out + (<usize>(r0 * N) << 2), N);
    }
    return;
  }
  const rowBytes = <usize>(K << 2);
  const runBytes = <usize>(KW * C) << 2;
  const pixBytes = <usize>C << 2;
  for (let p0 = 0; p0 < P; p0 += F32_TILE) {
    const rows = min(F32_TILE, P - p0);
    for (let t = 0; t < rows; t++) {
      const p = p0 + t;
      const oy = p / OW, ox = p - oy * OW;
      const ix0 = ox * SW - PL;
      let dst = scratch + <usize>t * rowBytes;
      for (let ky = 0; ky < KH; ky++) {
        const iy = oy * SH - PT + ky * DH;
        if (<u32>iy >= <u32>H) {
          memory.fill(dst, 0, runBytes);
        } else {
          const rowp = x + (<usize>(iy * W * C) << 2);
          if (DW == 1) {
            // taps kxa <= kx < kxb are inside the image and contiguous in memory
            const kxa = max(0, -ix0), kxb = min(KW, W - ix0);
            if (kxb <= kxa) {
              memory.fill(dst, 0, runBytes);
            } else {
              if (kxa > 0) memory.fill(dst, 0, <usize>kxa * pixBytes);
              memory.copy(dst + <usize>kxa * pixBytes, rowp + <usize>(ix0 + kxa) * pixBytes, <usize>(kxb - kxa) * pixBytes);
              if (kxb < KW) memory.fill(dst + <usize>kxb * pixBytes, 0, <usize>(KW - kxb) * pixBytes);
            }
          } else {
            for (let kx = 0; kx < KW; kx++) {
              const ix = ix0 + kx * DW;
              const d = dst + <usize>kx * pixBytes;
              if (<u32>ix >= <u32>W) memory.fill(d, 0, pixBytes);
              else memory.copy(d, rowp + <usize>ix * pixBytes, pixBytes);
            }
          }
        }
        dst += runBytes;
      }
    }
    f32_gemm_rows(rows, N, K, scratch, K, pw, lo, hi, out + (<usize>(p0 * N) << 2), N);
  }
}

/** out[M][N] = min(max(x[M][K] * w^T + bias, lo), hi): dense layers and pointwise convs; reads x in place. */
export function f32_fully_connected(
  M: i32, N: i32, K: i32, x: usize, pw: usize, lo: f32, hi: f32, out: usize,
): void {
  for (let r0 = 0; r0 < M; r0 += DIRECT_ROWS) {
    f32_gemm_rows(min(DIRECT_ROWS, M - r0), N, K, x + (<usize>(r0 * K) << 2), K, pw, lo, hi,
      out + (<usize>(r0 * N) << 2), N);
  }
}
