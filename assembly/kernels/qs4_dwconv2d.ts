// qs4 depthwise conv2d: int4 weights (two per byte, kept packed, unpacked in registers) x int8 activations.
// The algorithm, arithmetic and SIMD paths of qs8_dwconv2d.ts (see there), with another weight layout:
//   u8    w[T][Cb]    Cb = ceil(C/2); channel c of tap t in byte t*Cb + (c >> 1), bits [4*(c&1), 4*(c&1)+4)
//                     (element 0 in the low nibble), two's complement, values in [-8, 7]
//   int32 bias[C], mult[C]   from byte T*Cb
// Eight channels' weights (4 bytes) become int16 lanes with one widening load, three shifts and one 16-bit
// interleave (w4x8): the 3x3 path does it once per 8-channel block (weights held in registers across the
// block), the other paths per use. The no-SIMD build runs channel pairs, one weight byte for both (dw_portable).

import {
  requant, requant_sm_i32x4x2_i8, requant_sm_pre, requant_sm_rnd,
} from "./requant";
import { tap_lo, tap_hi, inner_lo, inner_hi } from "./window";

/** Size in bytes of a packed depthwise layer. */
export function qs4_dwconv2d_packed_bytes(C: i32, KH: i32, KW: i32): i32 {
  return KH * KW * ((C + 1) >> 1) + 8 * C;
}

// Eight int4 weights (channels 2j, 2j+1 in byte j) at p as int16 lanes: the four bytes sign-extended to int16
// (one widening load of 8 bytes; the 4 past them are the next tap's or the biases', inside the layer), high
// nibbles by shr_s 4, low by shl 12 + shr_s 12, interleaved: five instructions and no constants.
@inline
function w4x8(p: usize): v128 {
  const e = v128.load8x8_s(p);
  return v128.shuffle<i16>(i16x8.shr_s(i16x8.shl(e, 12), 12), i16x8.shr_s(e, 4), 0, 8, 1, 9, 2, 10, 3, 11);
}

@inline
function w4(p: usize, c: i32): i32 {
  const b = i32(load<u8>(p + <usize>(c >> 1)));
  return (b << (28 - ((c & 1) << 2))) >> 28;
}





export function qs4_dwconv2d(
  x: usize, H: i32, W: i32, C: i32, zx: i32,
  out: usize, OH: i32, OW: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32, DH: i32, DW: i32,
  pw: usize, shift: i32, zy: i32, lo: i32, hi: i32,
): void {
  let c0 = 0;
  if (ASC_FEATURE_SIMD) {
    c0 = C & ~7;
    if (c0 > 0) dw_simd(x, H, W, C, c0, zx, out, OH, OW, KH, KW, SH, SW, PT, PL, DH, DW, pw, shift, zy, lo, hi);
  }
  if (c0 < C) dw_portable(x, H, W, C, c0, zx, out, OH, OW, KH, KW, SH, SW, PT, PL, DH, DW, pw, shift, zy, lo, hi);
}

// Channels [c0, C), one at a time.
function dw_portable(
  x: usize, H: i32, W: i32, C: i32, c0: i32, zx: i32,
  out: usize, OH: i32, OW: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32, DH: i32, DW: i32,
  pw: usize, shift: i32, zy: i32, lo: i32, hi: i32,
): void {
  const Cb = (C + 1) >> 1;
  const bias = pw + <usize>(KH * KW * Cb);
  const mult = bias + (<usize>C << 2);
  const xRowStep = <usize>(DH * W * C), xColStep = <usize>(DW * C);
  const wRowStep = <usize>(KW * Cb), wColStep = <usize>Cb;
  for (let oy = 0; oy < OH; oy++) {
    const y0 = oy * SH - PT;
    const ky0 = tap_lo(y0, DH), ky1 = tap_hi(y0, DH, H, KH);
    for (let ox = 0; ox < OW; ox++) {
      const x0 = ox * SW - PL;
      const kx0 = tap_lo(x0, DW), kx1 = tap_hi(x0, DW, W, KW);
      const o = out + <usize>((oy * OW + ox) * C);
      // the first valid tap's input pixel and weight row (read only when the tap ranges are not empty)
      const xb = x + <usize>(((y0 + ky0 * DH) * W + x0 + kx0 * DW) * C);
      const wb = pw + <usize>((ky0 * KW + kx0) * Cb);
      let c = c0;
      // No-SIMD build: channel pairs (c even), one weight byte for both, the low nibble by shl + shr_s, the high
      // one by shr_s (1.7-1.8x of the portable int8 kernel, which runs one channel per loop; the SIMD builds
      // send only the last C % 8 channels here and keep their bytes).
      if (!ASC_FEATURE_SIMD) for (; c + 1 < C; c += 2) {
        let acc0 = load<i32>(bias + (<usize>c << 2)), acc1 = load<i32>(bias + (<usize>c << 2), 4);
        let xr = xb + <usize>c, wr = wb + <usize>(c >> 1);
        for (let ky = ky0; ky < ky1; ky++) {
          let xp = xr, wp = wr;
          for (let kx = kx0; kx < kx1; kx++) {
            const e = i32(load<i8>(wp));
            acc0 += (i32(load<i8>(xp)) - zx) * ((e << 28) >> 28);
            acc1 += (i32(load<i8>(xp, 1)) - zx) * (e >> 4);
            xp += xColStep;
            wp += wColStep;
          }
          xr += xRowStep;
          wr += wRowStep;
        }
        store<i8>(o + <usize>c, <i8>requant(acc0, load<i32>(mult + (<usize>c << 2)), shift, zy, lo, hi));
        store<i8>(o + <usize>c, <i8>requant(acc1, load<i32>(mult + (<usize>c << 2), 4), shift, zy, lo, hi), 1);
      }
      // the rest one at a time (no-SIMD: an odd last channel)
      for (; c < C; c++) {
        let acc = load<i32>(bias + (<usize>c << 2));
        let xr = xb + <usize>c, wr = wb;
        for (let ky = ky0; ky < ky1; ky++) {
          let xp = xr, wp = wr;
          for (let kx = kx0; kx < kx1; kx++) {
            acc += (i32(load<i8>(xp)) - zx) * w4(wp, c);
            xp += xColStep;
            wp += wColStep;
          }
          xr += xRowStep;
          wr += wRowStep;
        }
        store<i8>(o + <usize>c, <i8>requant(acc, load<i32>(mult + (<usize>c << 2)), shift, zy, lo, hi));
      }
    }
  }
}

// Channels [0, C8), C8 a multiple of 8: 8 channels per block, the block outermost.
function dw_simd(
  x: usize, H: i32, W: i32, C: i32, C8: i32, zx: i32,
  out: usize, OH: i32, OW: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32, DH: i32, DW: i32,
  pw: usize, shift: i32, zy: i32, lo: i32, hi: i32,
): void {
  const T = KH * KW;
  const Cb = (C + 1) >> 1;
  const bias = pw + <usize>(T * Cb);
  const mult = bias + (<usize>C << 2);
  const cs = <usize>C, ws = <usize>Cb;
  const xRowStep = <usize>(DH * W * C), xColStep = <usize>(DW * C);
  const wRowStep = <usize>KW * ws;
  const pre = requant_sm_pre(shift), k = shift + pre - 32;
  const rnd = requant_sm_rnd(shift);
  const zx16 = i16x8.splat(<i16>zx), zx32 = i32x4.splat(zx);
  // zero point as int16, clamp bounds as int8 (see requant_sm_i32x4x2_i8)
  const zyv = i16x8.splat(<i16>zy), lov = i8x16.splat(<i8>lo), hiv = i8x16.splat(<i8>hi);
  // output pixels whose every tap is inside the image: rows [oyA, oyB), columns [oxA, oxB)
  const oyA = inner_lo(SH, PT, OH), oyB = inner_hi(SH, PT, KH, DH, H, OH, oyA);
  const oxA = inner_lo(SW, PL, OW), oxB = inner_hi(SW, PL, KW, DW, W, OW, oxA);
  const is3x3 = KH == 3 && KW == 3;
  // eight bytes of zx: the 3x3 path reads padding taps from here (x == zx is the real 0)
  const zpad = memory.data(16);
  v128.store(zpad, i8x16.splat(<i8>zx));
  for (let c = 0; c < C8; c += 8) {
    const cb = <usize>c;
    const b0 = v128.load(bias + (cb << 2)), b1 = v128.load(bias + (cb << 2), 16);
    const m0 = i32x4.shl(v128.load(mult + (cb << 2)), pre), m1 = i32x4.shl(v128.load(mult + (cb << 2), 16), pre);
    // interior bias: bias - zx * sum_t w[t][c]
    let s0 = i32x4.splat(0), s1 = i32x4.splat(0);
    for (let t = 0; t < T; t++) {
      const wv = w4x8(pw + <usize>t * ws + (cb >> 1));
      s0 = i32x4.add(s0, i32x4.extend_low_i16x8_s(wv));
      s1 = i32x4.add(s1, i32x4.extend_high_i16x8_s(wv));
    }
    const f0 = i32x4.sub(b0, i32x4.mul(zx32, s0)), f1 = i32x4.sub(b1, i32x4.mul(zx32, s1));
    const wb = pw + (cb >> 1), xb = x + cb, ob = out + cb;
    if (is3x3) {
      dw_block_3x3(xb, H, W, C, ob, OH, OW, SH, SW, PT, PL, DH, DW, wb, ws, oxA, oxB, zpad, f0, f1, m0, m1, rnd, k, zyv, lov, hiv);
      continue;
    }
    for (let oy = 0; oy < OH; oy++) {
      const y0 = oy * SH - PT;
      const ky0 = tap_lo(y0, DH), ky1 = tap_hi(y0, DH, H, KH);
      const inner = oy >= oyA && oy < oyB;
      for (let ox = 0; ox < OW; ox++) {
        if (inner && ox == oxA && oxB > oxA) {
          const xp = xb + <usize>((y0 * W + oxA * SW - PL) * C);
          const op = ob + <usize>((oy * OW + oxA) * C);
          const n = oxB - oxA, xStep = <usize>(SW * C);
          dw_run(xp, op, n, xStep, cs, ws, wb, KH, KW, xRowStep, xColStep, f0, f1, m0, m1, rnd, k, zyv, lov, hiv);
          ox = oxB - 1;
          continue;
        }
        const x0 = ox * SW - PL;
        const kx0 = tap_lo(x0, DW), kx1 = tap_hi(x0, DW, W, KW);
        let acc0 = b0, acc1 = b1;
        let xr = xb + <usize>(((y0 + ky0 * DH) * W + x0 + kx0 * DW) * C);
        let wr = wb + <usize>(ky0 * KW + kx0) * ws;
        for (let ky = ky0; ky < ky1; ky++) {
          let xp = xr, wp = wr;
          for (let kx = kx0; kx < kx1; kx++) {
            const xv = i16x8.sub(v128.load8x8_s(xp), zx16);
            const wv = w4x8(wp);
            acc0 = i32x4.add(acc0, i32x4.extmul_low_i16x8_s(xv, wv));
            acc1 = i32x4.add(acc1, i32x4.extmul_high_i16x8_s(xv, wv));
            xp += xColStep;
            wp += ws;
          }
          xr += xRowStep;
          wr += wRowStep;
        }
        v128.store64_lane(ob + <usize>((oy * OW + ox) * C), requant_sm_i32x4x2_i8(acc0, acc1, m0, m1, rnd, k, zyv, lov, hiv), 0);
      }
    }
  }
}

// n interior output pixels of one row, 8 channels, any kernel: x as is, the interior bias f0/f1, two taps'
// int16 products summed before widening.
@inline
function dw_run(
  xp: usize, op: usize, n: i32, xStep: usize, cs: usize, ws: usize, wb: usize, KH: i32, KW: i32,
  xRowStep: usize, xColStep: usize, f0: v128, f1: v128, m0: v128, m1: v128, rnd: v128, k: i32,
  zyv: v128, lov: v128, hiv: v128,
): void {
  const wRowStep = <usize>KW * ws;
  for (let i = 0; i < n; i++) {
    let acc0 = f0, acc1 = f1;
    let xr = xp, wr = wb;
    for (let ky = 0; ky < KH; ky++) {
      let xq = xr, wq = wr;
      let kx = 0;
      for (; kx + 2 <= KW; kx += 2) {
        const p = i16x8.add(
          i16x8.mul(v128.load8x8_s(xq), w4x8(wq)),
          i16x8.mul(v128.load8x8_s(xq + xColStep), w4x8(wq + ws)));
        acc0 = i32x4.add(acc0, i32x4.extend_low_i16x8_s(p));
        acc1 = i32x4.add(acc1, i32x4.extend_high_i16x8_s(p));
        xq += xColStep << 1;
        wq += ws << 1;
      }
      if (kx < KW) {
        const xv = v128.load8x8_s(xq), wv = w4x8(wq);
        acc0 = i32x4.add(acc0, i32x4.extmul_low_i16x8_s(xv, wv));
        acc1 = i32x4.add(acc1, i32x4.extmul_high_i16x8_s(xv, wv));
      }
      xr += xRowStep;
      wr += wRowStep;
    }
    v128.store64_lane(op, requant_sm_i32x4x2_i8(acc0, acc1, m0, m1, rnd, k, zyv, lov, hiv), 0);
    xp += xStep;
    op += cs;
  }
}

// 3x3 kernels: one 8-channel block over the whole image, the weights held across it. Taps are paired,
// (0,1) (2,3) (4,5) (6,7): x of the two taps interleaved per channel (int16), then i32x4.dot_i16x8_s against the
// weights interleaved the same way adds both taps' products per channel in int32; tap 8 goes through extmul.
// Every pixel uses the interior bias f (bias - zx * sum of all nine weights); a border pixel reads its padding
// taps from `zpad` (eight bytes of zx), which adds zx * w for them and so restores bias + sum (x - zx) * w.
@inline function zip_lo(a: v128, b: v128): v128 { return v128.shuffle<i16>(a, b, 0, 8, 1, 9, 2, 10, 3, 11); }
@inline function zip_hi(a: v128, b: v128): v128 { return v128.shuffle<i16>(a, b, 4, 12, 5, 13, 6, 14, 7, 15); }

// One output pixel of a 3x3 block from its nine tap addresses.
@inline
function px_3x3(
  p0: usize, p1: usize, p2: usize, p3: usize, p4: usize, p5: usize, p6: usize, p7: usize, p8: usize, op: usize,
  w01l: v128, w01h: v128, w23l: v128, w23h: v128, w45l: v128, w45h: v128, w67l: v128, w67h: v128, w8: v128,
  f0: v128, f1: v128, m0: v128, m1: v128, rnd: v128, k: i32, zyv: v128, lov: v128, hiv: v128,
): void {
  const x8 = v128.load8x8_s(p8);
  let acc0 = i32x4.add(f0, i32x4.extmul_low_i16x8_s(x8, w8));
  let acc1 = i32x4.add(f1, i32x4.extmul_high_i16x8_s(x8, w8));
  let xa = v128.load8x8_s(p0), xc = v128.load8x8_s(p1);
  acc0 = i32x4.add(acc0, i32x4.dot_i16x8_s(zip_lo(xa, xc), w01l));
  acc1 = i32x4.add(acc1, i32x4.dot_i16x8_s(zip_hi(xa, xc), w01h));
  xa = v128.load8x8_s(p2); xc = v128.load8x8_s(p3);
  acc0 = i32x4.add(acc0, i32x4.dot_i16x8_s(zip_lo(xa, xc), w23l));
  acc1 = i32x4.add(acc1, i32x4.dot_i16x8_s(zip_hi(xa, xc), w23h));
  xa = v128.load8x8_s(p4); xc = v128.load8x8_s(p5);
  acc0 = i32x4.add(acc0, i32x4.dot_i16x8_s(zip_lo(xa, xc), w45l));
  acc1 = i32x4.add(acc1, i32x4.dot_i16x8_s(zip_hi(xa, xc), w45h));
  xa = v128.load8x8_s(p6); xc = v128.load8x8_s(p7);
  acc0 = i32x4.add(acc0, i32x4.dot_i16x8_s(zip_lo(xa, xc), w67l));
  acc1 = i32x4.add(acc1, i32x4.dot_i16x8_s(zip_hi(xa, xc), w67h));
  v128.store64_lane(op, requant_sm_i32x4x2_i8(acc0, acc1, m0, m1, rnd, k, zyv, lov, hiv), 0);
}

function dw_block_3x3(
  xb: usize, H: i32, W: i32, C: i32, ob: usize, OH: i32, OW: i32,
  SH: i32, SW: i32, PT: i32, PL: i32, DH: i32, DW: i32, wb: usize, ws: usize, oxA: i32, oxB: i32, zpad: usize,
  f0: v128, f1: v128, m0: v128, m1: v128, rnd: v128, k: i32, zyv: v128, lov: v128, hiv: v128,
): void {
  const cs = <usize>C;
  let wa = w4x8(wb), wc = w4x8(wb + ws);
  const w01l = zip_lo(wa, wc), w01h = zip_hi(wa, wc);
  wa = w4x8(wb + 2 * ws); wc = w4x8(wb + 3 * ws);
  const w23l = zip_lo(wa, wc), w23h = zip_hi(wa, wc);
  wa = w4x8(wb + 4 * ws); wc = w4x8(wb + 5 * ws);
  const w45l = zip_lo(wa, wc), w45h = zip_hi(wa, wc);
  wa = w4x8(wb + 6 * ws); wc = w4x8(wb + 7 * ws);
  const w67l = zip_lo(wa, wc), w67h = zip_hi(wa, wc);
  const w8 = w4x8(wb + 8 * ws);
  const rowBytes = <usize>(W * C), c1 = <usize>(DW * C), c2 = c1 << 1, xStep = <usize>(SW * C);
  for (let oy = 0; oy < OH; oy++) {
    const iy0 = oy * SH - PT, iy1 = iy0 + DH, iy2 = iy1 + DH;
    const v0 = <u32>iy0 < <u32>H, v1 = <u32>iy1 < <u32>H, v2 = <u32>iy2 < <u32>H;
    const rp0 = xb + <usize>iy0 * rowBytes, rp1 = xb + <usize>iy1 * rowBytes, rp2 = xb + <usize>iy2 * rowBytes;
    const op0 = ob + <usize>(oy * OW) * cs;
    let ox = 0;
    while (ox < OW) {
      if (v0 && v1 && v2 && ox == oxA && oxB > oxA) {
        // interior run: every tap inside the image
        let p = rp0 + <usize>(ox * SW - PL) * cs, op = op0 + <usize>ox * cs;
        const d1 = rp1 - rp0, d2 = rp2 - rp0;
        for (; ox < oxB; ox++) {
          px_3x3(p, p + c1, p + c2, p + d1, p + d1 + c1, p + d1 + c2, p + d2, p + d2 + c1, p + d2 + c2, op,
            w01l, w01h, w23l, w23h, w45l, w45h, w67l, w67h, w8, f0, f1, m0, m1, rnd, k, zyv, lov, hiv);
          p += xStep;
          op += cs;
        }
        continue;
      }
      const ix0 = ox * SW - PL, ix1 = ix0 + DW, ix2 = ix1 + DW;
      const h0 = <u32>ix0 < <u32>W, h1 = <u32>ix1 < <u32>W, h2 = <u32>ix2 < <u32>W;
      const co0 = <usize>ix0 * cs, co1 = co0 + c1, co2 = co0 + c2;
      px_3x3(
        v0 && h0 ? rp0 + co0 : zpad, v0 && h1 ? rp0 + co1 : zpad, v0 && h2 ? rp0 + co2 : zpad,
        v1 && h0 ? rp1 + co0 : zpad, v1 && h1 ? rp1 + co1 : zpad, v1 && h2 ? rp1 + co2 : zpad,
        v2 && h0 ? rp2 + co0 : zpad, v2 && h1 ? rp2 + co1 : zpad, v2 && h2 ? rp2 + co2 : zpad,
        op0 + <usize>ox * cs,
        w01l, w01h, w23l, w23h, w45l, w45h, w67l, w67h, w8, f0, f1, m0, m1, rnd, k, zyv, lov, hiv);
      ox++;
    }
  }
}
