// f32 depthwise conv2d (groups = channels = C, channel multiplier 1), NHWC, any kernel size, stride,
// padding and dilation.
//
// Packed layer (src/pack/layout.ts packF32Depthwise), read in place:
//   f32 w[KH][KW][C]   then   f32 bias[C]            ((KH*KW + 1) * C * 4 bytes)
//
// Each output channel, in every build:
//   acc = 0; for each tap (ky, kx) inside the image, in order: acc = acc + x * w   (padding taps are skipped)
//   out = min(max(acc + bias, lo), hi)
// The SIMD form runs 4 channels in the lanes of an f32x4 (16 at a time where it can), the rest scalar.

/** Size in bytes of a packed f32 depthwise layer. */
export function f32_dwconv2d_packed_bytes(C: i32, KH: i32, KW: i32): i32 {
  return (KH * KW + 1) * C * 4;
}

export function f32_dwconv2d(
  x: usize, H: i32, W: i32, C: i32,
  out: usize, OH: i32, OW: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32, DH: i32, DW: i32,
  pw: usize, lo: f32, hi: f32,
): void {
  const pixBytes = <usize>C << 2;
  const bias = pw + <usize>(KH * KW) * pixBytes;
  for (let oy = 0; oy < OH; oy++) {
    // taps kya <= ky < kyb fall inside the image
    const iy0 = oy * SH - PT;
    let kya = 0, kyb = KH;
    while (kya < KH && iy0 + kya * DH < 0) kya++;
    while (kyb > kya && iy0 + (kyb - 1) * DH >= H) kyb--;
    for (let ox = 0; ox < OW; ox++) {
      const ix0 = ox * SW - PL;
      let kxa = 0, kxb = KW;
      while (kxa < KW && ix0 + kxa * DW < 0) kxa++;
      while (kxb > kxa && ix0 + (kxb - 1) * DW >= W) kxb--;
      const o = out + <usize>(oy * OW + ox) * pixBytes;
      // x and w of tap (kya, kxa), channel 0; steps between taps
      const xs = x + <usize>((iy0 + kya * DH) * W + ix0 + kxa * DW) * pixBytes;
      const ws = pw + <usize>(kya * KW + kxa) * pixBytes;
      const xdy = <usize>(DH * W) * pixBytes, xdx = <usize>DW * pixBytes;
      const wdy = <usize>KW * pixBytes;
      let c = 0;
      if (ASC_FEATURE_SIMD) {
        const lov = f32x4.splat(lo), hiv = f32x4.splat(hi);
        for (; c + 16 <= C; c += 16) {
          const cb = <usize>c << 2;
          let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
          let xr = xs + cb, wr = ws + cb;
          for (let ky = kya; ky < kyb; ky++) {
            let xp = xr, wp = wr;
            for (let kx = kxa; kx < kxb; kx++) {
              a0 = f32x4.add(a0, f32x4.mul(v128.load(xp), v128.load(wp)));
              a1 = f32x4.add(a1, f32x4.mul(v128.load(xp, 16), v128.load(wp, 16)));
              a2 = f32x4.add(a2, f32x4.mul(v128.load(xp, 32), v128.load(wp, 32)));
              a3 = f32x4.add(a3, f32x4.mul(v128.load(xp, 48), v128.load(wp, 48)));
              xp += xdx; wp += pixBytes;
            }
            xr += xdy; wr += wdy;
          }
          const bp = bias + cb, op = o + cb;
          v128.store(op, f32x4.min(f32x4.max(f32x4.add(a0, v128.load(bp)), lov), hiv));
          v128.store(op, f32x4.min(f32x4.max(f32x4.add(a1, v128.load(bp, 16)), lov), hiv), 16);
          v128.store(op, f32x4.min(f32x4.max(f32x4.add(a2, v128.load(bp, 32)), lov), hiv), 32);
          v128.store(op, f32x4.min(f32x4.max(f32x4.add(a3, v128.load(bp, 48)), lov), hiv), 48);
        }
        for (; c + 4 <= C; c += 4) {
          const cb = <usize>c << 2;
          let a0 = f32x4.splat(0);
          let xr = xs + cb, wr = ws + cb;
          for (let ky = kya; ky < kyb; ky++) {
            let xp = xr, wp = wr;
            for (let kx = kxa; kx < kxb; kx++) {
              a0 = f32x4.add(a0, f32x4.mul(v128.load(xp), v128.load(wp)));
              xp += xdx; wp += pixBytes;
            }
            xr += xdy; wr += wdy;
          }
          v128.store(o + cb, f32x4.min(f32x4.max(f32x4.add(a0, v128.load(bias + cb)), lov), hiv));
        }
      }
      for (; c < C; c++) {
        const cb = <usize>c << 2;
        let acc: f32 = 0;
        let xr = xs + cb, wr = ws + cb;
        for (let ky = kya; ky < kyb; ky++) {
          let xp = xr, wp = wr;
          for (let kx = kxa; kx < kxb; kx++) {
            acc += load<f32>(xp) * load<f32>(wp);
            xp += xdx; wp += pixBytes;
          }
          xr += xdy; wr += wdy;
        }
        store<f32>(o + cb, Mathf.min(Mathf.max(acc + load<f32>(bias + cb), lo), hi));
      }
    }
  }
}
