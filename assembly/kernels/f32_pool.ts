// f32 pooling, NHWC, one image: max pool, average pool (count_include_pad = false), global average pool.
// Window geometry as in conv2d: kernel KH x KW, stride SH/SW, top/left padding PT/PL (the output size
// OH x OW given by the caller fixes the bottom/right padding), dilation DH/DW. Padding taps are ignored.
//
// Each output channel, in every build (the SIMD form runs 4 channels in the lanes of an f32x4):
//   max pool:        m = -inf; for each valid tap (ky, kx) in order: m = max(m, x)
//   average pool:    s = 0;    for each valid tap in order: s = s + x;   out = s / f32(number of valid taps)
//   global average:  s = 0;    for each pixel in order:     s = s + x;   out = s / f32(H*W)

// Valid window of one output coordinate: taps a <= k < b stay inside [0, size).
@inline function tap_lo(i0: i32, K: i32, D: i32): i32 {
  let a = 0;
  while (a < K && i0 + a * D < 0) a++;
  return a;
}
@inline function tap_hi(i0: i32, K: i32, D: i32, size: i32, a: i32): i32 {
  let b = K;
  while (b > a && i0 + (b - 1) * D >= size) b--;
  return b;
}

/** Max pooling; an output whose window holds no valid tap is -inf. */
export function f32_maxpool2d(
  x: usize, H: i32, W: i32, C: i32, out: usize, OH: i32, OW: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32, DH: i32, DW: i32,
): void {
  pool(x, H, W, C, out, OH, OW, KH, KW, SH, SW, PT, PL, DH, DW, true);
}

/** Average pooling over the valid taps only (count_include_pad = false); no valid tap gives NaN (0/0). */
export function f32_avgpool2d(
  x: usize, H: i32, W: i32, C: i32, out: usize, OH: i32, OW: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32, DH: i32, DW: i32,
): void {
  pool(x, H, W, C, out, OH, OW, KH, KW, SH, SW, PT, PL, DH, DW, false);
}

@inline
function pool(
  x: usize, H: i32, W: i32, C: i32, out: usize, OH: i32, OW: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32, DH: i32, DW: i32, isMax: bool,
): void {
  const pixBytes = <usize>C << 2;
  const xdy = <usize>(DH * W) * pixBytes, xdx = <usize>DW * pixBytes;
  const init: f32 = isMax ? -Infinity : 0;
  for (let oy = 0; oy < OH; oy++) {
    const iy0 = oy * SH - PT;
    const kya = tap_lo(iy0, KH, DH), kyb = tap_hi(iy0, KH, DH, H, kya);
    for (let ox = 0; ox < OW; ox++) {
      const ix0 = ox * SW - PL;
      const kxa = tap_lo(ix0, KW, DW), kxb = tap_hi(ix0, KW, DW, W, kxa);
      const count = <f32>((kyb - kya) * (kxb - kxa));
      const o = out + <usize>(oy * OW + ox) * pixBytes;
      const xs = x + <usize>((iy0 + kya * DH) * W + ix0 + kxa * DW) * pixBytes;
      let c = 0;
      if (ASC_FEATURE_SIMD) {
        const initv = f32x4.splat(init), countv = f32x4.splat(count);
        for (; c + 4 <= C; c += 4) {
          let acc = initv;
          let xr = xs + (<usize>c << 2);
          for (let ky = kya; ky < kyb; ky++) {
            let xp = xr;
            for (let kx = kxa; kx < kxb; kx++) {
              acc = isMax ? f32x4.max(acc, v128.load(xp)) : f32x4.add(acc, v128.load(xp));
              xp += xdx;
            }
            xr += xdy;
          }
          v128.store(o + (<usize>c << 2), isMax ? acc : f32x4.div(acc, countv));
        }
      }
      for (; c < C; c++) {
        let acc = init;
        let xr = xs + (<usize>c << 2);
        for (let ky = kya; ky < kyb; ky++) {
          let xp = xr;
          for (let kx = kxa; kx < kxb; kx++) {
            acc = isMax ? Mathf.max(acc, load<f32>(xp)) : acc + load<f32>(xp);
            xp += xdx;
          }
          xr += xdy;
        }
        store<f32>(o + (<usize>c << 2), isMax ? acc : acc / count);
      }
    }
  }
}

/** out[c] = (sum over the H*W pixels in order of x[p][c]) / f32(H*W). Accumulates in `out` (must not overlap x). */
export function f32_global_avgpool(x: usize, H: i32, W: i32, C: i32, out: usize): void {
  const P = H * W;
  const pixBytes = <usize>C << 2;
  memory.fill(out, 0, pixBytes);
  for (let p = 0; p < P; p++) {
    const xp = x + <usize>p * pixBytes;
    let c = 0;
    if (ASC_FEATURE_SIMD) {
      for (; c + 4 <= C; c += 4) {
        const cb = <usize>c << 2;
        v128.store(out + cb, f32x4.add(v128.load(out + cb), v128.load(xp + cb)));
      }
    }
    for (; c < C; c++) {
      const cb = <usize>c << 2;
      store<f32>(out + cb, load<f32>(out + cb) + load<f32>(xp + cb));
    }
  }
  const n = <f32>P;
  let c = 0;
  if (ASC_FEATURE_SIMD) {
    const nv = f32x4.splat(n);
    for (; c + 4 <= C; c += 4) {
      const cb = <usize>c << 2;
      v128.store(out + cb, f32x4.div(v128.load(out + cb), nv));
    }
  }
  for (; c < C; c++) {
    const cb = <usize>c << 2;
    store<f32>(out + cb, load<f32>(out + cb) / n);
  }
}
