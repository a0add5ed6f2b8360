// qs8 conv2d, groups = 1, NHWC, any kernel size, stride, padding and dilation, and the dense layer.
// Implicit GEMM: the input is widened once into a padded image in `scratch` (the A operand format of
// qs8_gemm.ts: int16 x - zx, or int8 x in the relaxed build), then qs8_igemm reads each output pixel's
// taps in place from it, TILE pixels at a time so that their rows stay in cache.
// Weights: the packed layer of qs8_gemm.ts with taps ordered (ky, kx), each of Cp = ceil4(C) channels.

import { qs8_igemm, a_elem_bytes, ceil4, AView } from "./qs8_gemm";

/** Output pixels per tile. */
const TILE: i32 = 64;

const view = changetype<AView>(memory.data(offsetof<AView>()));

// Rows and columns of the padded image that the output pixels reach.
@inline function spanOf(O: i32, S: i32, KS: i32, D: i32): i32 { return (O - 1) * S + (KS - 1) * D + 1; }

/** Scratch bytes qs8_conv2d needs for this geometry. */
export function qs8_conv2d_scratch_bytes(OH: i32, OW: i32, C: i32, KH: i32, KW: i32, SH: i32, SW: i32, DH: i32, DW: i32): i32 {
  return spanOf(OH, SH, KH, DH) * spanOf(OW, SW, KW, DW) * ceil4(C) * a_elem_bytes() + 4 * KH * KW;
}

/** Scratch bytes qs8_fully_connected needs. */
export function qs8_fully_connected_scratch_bytes(M: i32, K: i32): i32 {
  return M * ceil4(K) * a_elem_bytes() + 16;
}

// Short fills and copies inline: memory.fill / memory.copy are calls out of the compiled code in V8, which
// cost more than the few bytes of a pixel's channels that they move here.
export function fill_bytes(dst: usize, v: u8, n: usize): void {
  if (n > 256) {
    memory.fill(dst, v, n);
    return;
  }
  let i: usize = 0;
  const v8 = <u64>v * 0x0101010101010101;
  for (; i + 8 <= n; i += 8) store<u64>(dst + i, v8);
  for (; i < n; i++) store<u8>(dst + i, v);
}

export function copy_bytes(dst: usize, src: usize, n: usize): void {
  if (n > 256) {
    memory.copy(dst, src, n);
    return;
  }
  let i: usize = 0;
  for (; i + 8 <= n; i += 8) store<u64>(dst + i, load<u64>(src + i));
  for (; i < n; i++) store<u8>(dst + i, load<u8>(src + i));
}

// Writes `n` input values as A-operand elements: (x - zx) as int16, or x as int8 in the relaxed build.
@inline
function put_run(dst: usize, src: usize, n: i32, zx: i32): void {
  if (ASC_FEATURE_RELAXED_SIMD) {
    copy_bytes(dst, src, <usize>n);
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

// Writes `n` elements that stand for a real zero: int16 0, or zx as int8 in the relaxed build.
@inline
function put_zero(dst: usize, n: i32, zx: i32): void {
  if (ASC_FEATURE_RELAXED_SIMD) fill_bytes(dst, <u8>zx, <usize>n);
  else fill_bytes(dst, 0, <usize>(n << 1));
}

export function qs8_conv2d(
  x: usize, H: i32, W: i32, C: i32, zx: i32,
  out: usize, OH: i32, OW: i32, N: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32, DH: i32, DW: i32,
  pw: usize, shift: i32, zy: i32, lo: i32, hi: i32, scratch: usize,
): void {
  const eb = a_elem_bytes();
  const Cp = ceil4(C);
  const Hp = spanOf(OH, SH, KH, DH), Wp = spanOf(OW, SW, KW, DW);
  const pixBytes = Cp * eb;
  // 1. the padded image
  let dst = scratch;
  for (let yp = 0; yp < Hp; yp++) {
    const iy = yp - PT;
    if (<u32>iy >= <u32>H) {
      put_zero(dst, Wp * Cp, zx);
      dst += <usize>(Wp * pixBytes);
      continue;
    }
    for (let xp = 0; xp < Wp; xp++) {
      const ix = xp - PL;
      if (<u32>ix >= <u32>W) {
        put_zero(dst, Cp, zx);
      } else {
        put_run(dst, x + <usize>((iy * W + ix) * C), C, zx);
        if (Cp > C) fill_bytes(dst + <usize>(C * eb), 0, <usize>((Cp - C) * eb));
      }
      dst += <usize>pixBytes;
    }
  }
  // 2. the taps as segments: a whole kernel row is one contiguous segment when DW = 1
  const segTab = dst;
  let nseg = 0;
  for (let ky = 0; ky < KH; ky++) {
    for (let kx = 0; kx < (DW == 1 ? 1 : KW); kx++) {
      store<i32>(segTab + (<usize>nseg << 2), (ky * DH * Wp + kx * DW) * pixBytes);
      nseg++;
    }
  }
  const v = view;
  v.base = scratch;
  v.perLine = OW;
  v.lineStride = SH * Wp * pixBytes;
  v.pixStride = SW * pixBytes;
  v.nseg = nseg;
  v.segLen = DW == 1 ? KW * Cp : Cp;
  v.segTab = segTab;
  // 3. the GEMM, tile by tile
  const P = OH * OW;
  for (let p0 = 0; p0 < P; p0 += TILE) {
    qs8_igemm(v, p0, min(P, p0 + TILE), N, zx, pw, shift, zy, lo, hi, out);
  }
}

/** out[M][N] = requant(x[M][K] * w^T + bias): dense layers (the packed layer has taps = 1, C = K). */
export function qs8_fully_connected(
  M: i32, N: i32, K: i32, x: usize, zx: i32,
  pw: usize, shift: i32, zy: i32, lo: i32, hi: i32, out: usize, scratch: usize,
): void {
  const eb = a_elem_bytes();
  const Kp = ceil4(K);
  const segTab = scratch;
  store<i32>(segTab, 0);
  const base = scratch + 16;
  for (let r = 0; r < M; r++) {
    const dst = base + <usize>(r * Kp * eb);
    put_run(dst, x + <usize>(r * K), K, zx);
    if (Kp > K) fill_bytes(dst + <usize>(K * eb), 0, <usize>((Kp - K) * eb));
  }
  const v = view;
  v.base = base;
  v.perLine = M;
  v.lineStride = 0;
  v.pixStride = Kp * eb;
  v.nseg = 1;
  v.segLen = Kp;
  v.segTab = segTab;
  for (let p0 = 0; p0 < M; p0 += TILE) {
    qs8_igemm(v, p0, min(M, p0 + TILE), N, zx, pw, shift, zy, lo, hi, out);
  }
}
