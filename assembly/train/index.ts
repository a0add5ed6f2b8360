// The training kernels (issue #12): a separate wasm build for the toolkit only (build/qwasm.train.wasm), so the
// deployable runtime does not grow. fp32, NHWC, one mini-batch at a time; the TypeScript engine (src/train/)
// lays tensors out in this module's memory and passes byte offsets. SIMD only (the toolkit runs in Node 20+ and
// browsers, which all have WASM SIMD).
//
//   gemm_f32      C[M][N] = beta*C + A * B, A element (i, k) at a + 4*(i*aRs + k*aKs) (so A or A^T),
//                 B row-major [K][N] (row stride ldb), C row stride ldc. Micro-kernel 4 rows x 8 columns
//                 (8 f32x4 accumulators, A by load32 splat), K blocked by 256 so B's block stays in cache.
//   im2col_f32    NHWC batch -> rows of [KH][KW][C] patches (zero padding), one row per output pixel
//   col2im_f32    the adjoint: adds the patch rows back into an NHWC gradient
//   add_f32 / bias_rows_f32 / colsum_f32: small helpers the engine calls on whole tensors

/** First free byte after the module's static data. */
export function heap_base(): usize {
  return (__heap_base + 15) & ~15;
}

const KB: i32 = 256;

export function gemm_f32(M: i32, N: i32, K: i32, a: usize, aRs: i32, aKs: i32, b: usize, ldb: i32, c: usize, ldc: i32, beta: i32): void {
  const aRsB = <usize>aRs << 2, aKsB = <usize>aKs << 2, ldbB = <usize>ldb << 2, ldcB = <usize>ldc << 2;
  if (beta == 0) {
    for (let i = 0; i < M; i++) memory.fill(c + <usize>i * ldcB, 0, <usize>N << 2);
  }
  for (let k0 = 0; k0 < K; k0 += KB) {
    const kn = min(KB, K - k0);
    const ak0 = a + <usize>k0 * aKsB, bk0 = b + <usize>k0 * ldbB;
    let i = 0;
    for (; i + 4 <= M; i += 4) {
      const a0 = ak0 + <usize>i * aRsB, a1 = a0 + aRsB, a2 = a1 + aRsB, a3 = a2 + aRsB;
      const c0 = c + <usize>i * ldcB, c1 = c0 + ldcB, c2 = c1 + ldcB, c3 = c2 + ldcB;
      let j = 0;
      for (; j + 8 <= N; j += 8) {
        const jo = <usize>j << 2;
        let s00 = v128.load(c0 + jo), s01 = v128.load(c0 + jo, 16);
        let s10 = v128.load(c1 + jo), s11 = v128.load(c1 + jo, 16);
        let s20 = v128.load(c2 + jo), s21 = v128.load(c2 + jo, 16);
        let s30 = v128.load(c3 + jo), s31 = v128.load(c3 + jo, 16);
        let bp = bk0 + jo;
        let ao: usize = 0;
        for (let k = 0; k < kn; k++) {
          const b0 = v128.load(bp), b1 = v128.load(bp, 16);
          const x0 = v128.load32_splat(a0 + ao), x1 = v128.load32_splat(a1 + ao);
          const x2 = v128.load32_splat(a2 + ao), x3 = v128.load32_splat(a3 + ao);
          s00 = f32x4.add(s00, f32x4.mul(x0, b0)); s01 = f32x4.add(s01, f32x4.mul(x0, b1));
          s10 = f32x4.add(s10, f32x4.mul(x1, b0)); s11 = f32x4.add(s11, f32x4.mul(x1, b1));
          s20 = f32x4.add(s20, f32x4.mul(x2, b0)); s21 = f32x4.add(s21, f32x4.mul(x2, b1));
          s30 = f32x4.add(s30, f32x4.mul(x3, b0)); s31 = f32x4.add(s31, f32x4.mul(x3, b1));
          bp += ldbB;
          ao += aKsB;
        }
        v128.store(c0 + jo, s00); v128.store(c0 + jo, s01, 16);
        v128.store(c1 + jo, s10); v128.store(c1 + jo, s11, 16);
        v128.store(c2 + jo, s20); v128.store(c2 + jo, s21, 16);
        v128.store(c3 + jo, s30); v128.store(c3 + jo, s31, 16);
      }
      for (; j + 4 <= N; j += 4) {
        const jo = <usize>j << 2;
        let s0 = v128.load(c0 + jo), s1 = v128.load(c1 + jo), s2 = v128.load(c2 + jo), s3 = v128.load(c3 + jo);
        let bp = bk0 + jo;
        let ao: usize = 0;
        for (let k = 0; k < kn; k++) {
          const b0 = v128.load(bp);
          s0 = f32x4.add(s0, f32x4.mul(v128.load32_splat(a0 + ao), b0));
          s1 = f32x4.add(s1, f32x4.mul(v128.load32_splat(a1 + ao), b0));
          s2 = f32x4.add(s2, f32x4.mul(v128.load32_splat(a2 + ao), b0));
          s3 = f32x4.add(s3, f32x4.mul(v128.load32_splat(a3 + ao), b0));
          bp += ldbB;
          ao += aKsB;
        }
        v128.store(c0 + jo, s0); v128.store(c1 + jo, s1); v128.store(c2 + jo, s2); v128.store(c3 + jo, s3);
      }
      for (; j < N; j++) {
        const jo = <usize>j << 2;
        let s0 = load<f32>(c0 + jo), s1 = load<f32>(c1 + jo), s2 = load<f32>(c2 + jo), s3 = load<f32>(c3 + jo);
        let bp = bk0 + jo;
        let ao: usize = 0;
        for (let k = 0; k < kn; k++) {
          const bv = load<f32>(bp);
          s0 += load<f32>(a0 + ao) * bv; s1 += load<f32>(a1 + ao) * bv;
          s2 += load<f32>(a2 + ao) * bv; s3 += load<f32>(a3 + ao) * bv;
          bp += ldbB;
          ao += aKsB;
        }
        store<f32>(c0 + jo, s0); store<f32>(c1 + jo, s1); store<f32>(c2 + jo, s2); store<f32>(c3 + jo, s3);
      }
    }
    for (; i < M; i++) {
      const a0 = ak0 + <usize>i * aRsB, c0 = c + <usize>i * ldcB;
      let j = 0;
      for (; j + 4 <= N; j += 4) {
        const jo = <usize>j << 2;
        let s0 = v128.load(c0 + jo);
        let bp = bk0 + jo;
        let ao: usize = 0;
        for (let k = 0; k < kn; k++) {
          s0 = f32x4.add(s0, f32x4.mul(v128.load32_splat(a0 + ao), v128.load(bp)));
          bp += ldbB;
          ao += aKsB;
        }
        v128.store(c0 + jo, s0);
      }
      for (; j < N; j++) {
        const jo = <usize>j << 2;
        let s0 = load<f32>(c0 + jo);
        let bp = bk0 + jo;
        let ao: usize = 0;
        for (let k = 0; k < kn; k++) {
          s0 += load<f32>(a0 + ao) * load<f32>(bp);
          bp += ldbB;
          ao += aKsB;
        }
        store<f32>(c0 + jo, s0);
      }
    }
  }
}

/** NHWC x [B][H][W][C] -> col [B*OH*OW][KH*KW*C]. */
export function im2col_f32(x: usize, B: i32, H: i32, W: i32, C: i32, KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32, DH: i32, DW: i32, OH: i32, OW: i32, col: usize): void {
  const cb = <usize>C << 2;
  let o = col;
  for (let n = 0; n < B; n++) {
    const xn = x + <usize>n * H * W * cb;
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh * SH - PT + kh * DH;
          for (let kw = 0; kw < KW; kw++) {
            const iw = ow * SW - PL + kw * DW;
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) memory.fill(o, 0, cb);
            else memory.copy(o, xn + (<usize>(ih * W + iw)) * cb, cb);
            o += cb;
          }
        }
      }
    }
  }
}

/** dx [B][H][W][C] += the adjoint of im2col applied to dcol. */
export function col2im_f32(dcol: usize, B: i32, H: i32, W: i32, C: i32, KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32, DH: i32, DW: i32, OH: i32, OW: i32, dx: usize): void {
  const cb = <usize>C << 2;
  let o = dcol;
  for (let n = 0; n < B; n++) {
    const xn = dx + <usize>n * H * W * cb;
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh * SH - PT + kh * DH;
          for (let kw = 0; kw < KW; kw++) {
            const iw = ow * SW - PL + kw * DW;
            if (ih >= 0 && ih < H && iw >= 0 && iw < W) add_f32(xn + (<usize>(ih * W + iw)) * cb, o, C);
            o += cb;
          }
        }
      }
    }
  }
}

/** y[i] += x[i], i < n. */
export function add_f32(y: usize, x: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, f32x4.add(v128.load(y + o), v128.load(x + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, load<f32>(y + o) + load<f32>(x + o));
  }
}

// ---- elementwise helpers (act: 0 none, 1 relu, 2 relu6) ------------------------------------------------

@inline function actv(v: v128, act: i32): v128 {
  if (act == 1) return f32x4.max(v, f32x4.splat(0));
  if (act == 2) return f32x4.min(f32x4.max(v, f32x4.splat(0)), f32x4.splat(6));
  return v;
}
@inline function acts(v: f32, act: i32): f32 {
  if (act == 1) return max(v, <f32>0);
  if (act == 2) return min(max(v, <f32>0), <f32>6);
  return v;
}

/** y[p][n] = act(y[p][n] + bias[n]) for p < P, n < N: each row is add_act_f32 of the row and the bias. */
export function bias_act_f32(y: usize, P: i32, N: i32, bias: usize, act: i32): void {
  for (let p = 0; p < P; p++) {
    const r = y + (<usize>(p * N) << 2);
    add_act_f32(r, r, bias, N, act);
  }
}

/** y = act(a + b), n values. */
export function add_act_f32(y: usize, a: usize, b: usize, n: i32, act: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, actv(f32x4.add(v128.load(a + o), v128.load(b + o)), act));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, acts(load<f32>(a + o) + load<f32>(b + o), act));
  }
}

/** dz = dy where the activation passes its gradient (relu: y > 0; relu6: 0 < y < 6), else 0. */
export function act_grad_f32(dz: usize, dy: usize, y: usize, n: i32, act: i32): void {
  const zero = f32x4.splat(0), six = f32x4.splat(6);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const yv = v128.load(y + o);
    let m = f32x4.gt(yv, zero);
    if (act == 2) m = v128.and(m, f32x4.lt(yv, six));
    v128.store(dz + o, v128.and(v128.load(dy + o), m));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const yv = load<f32>(y + o);
    const pass = yv > 0 && (act != 2 || yv < 6);
    store<f32>(dz + o, pass ? load<f32>(dy + o) : 0);
  }
}

/** out[n] = sum_p x[p][n] (bias gradients). */
export function colsum_f32(x: usize, P: i32, N: i32, out: usize): void {
  memory.fill(out, 0, <usize>N << 2);
  for (let p = 0; p < P; p++) add_f32(out, x + (<usize>(p * N) << 2), N);
}

/** Round half away from zero. */
@inline function rnd(v: f32): f32 {
  return v < 0 ? -Mathf.floor(-v + 0.5) : Mathf.floor(v + 0.5);
}

@inline function rndv(v: v128): v128 {
  const r = f32x4.floor(f32x4.add(f32x4.abs(v), f32x4.splat(0.5)));
  return v128.bitselect(f32x4.neg(r), r, f32x4.lt(v, f32x4.splat(0)));
}

/**
 * Fake quantization: y = clamp(round(x / s), lo, hi) * s (round half away from zero), n values.
 */
export function fq_f32(x: usize, y: usize, n: i32, s: f32, lo: f32, hi: f32): void {
  const sv = f32x4.splat(s), lov = f32x4.splat(lo), hiv = f32x4.splat(hi);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const v = f32x4.div(v128.load(x + o), sv);
    v128.store(y + o, f32x4.mul(f32x4.min(f32x4.max(rndv(v), lov), hiv), sv));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, min(max(rnd(load<f32>(x + o) / s), lo), hi) * s);
  }
}

/**
 * The backward of fq_f32 for the straight-through family. With v = x / s: where lo < v < hi, gx += gy and
 * sums[0] += (round(v) - v) gy; where v <= lo, sums[1] += gy (and gx += gy if `all`); where v >= hi, sums[2] += gy
 * (gx += gy if `all`). LSQ's step gradient is sums[0] + lo sums[1] + hi sums[2]; PACT's alpha gradient sums[2].
 * (f32x4 partial sums, gathered in f64 every 1024 values.)
 */
export function fq_grad_f32(x: usize, gy: usize, gx: usize, n: i32, s: f32, lo: f32, hi: f32, all: i32, sums: usize): void {
  let a: f64 = 0, b: f64 = 0, c: f64 = 0;
  const sv = f32x4.splat(s), lov = f32x4.splat(lo), hiv = f32x4.splat(hi);
  const allm = all ? i32x4.splat(-1) : i32x4.splat(0);
  let i = 0;
  while (i + 4 <= n) {
    let av = f32x4.splat(0), bv = f32x4.splat(0), cv = f32x4.splat(0);
    const end = min(n & ~3, i + 1024);
    for (; i < end; i += 4) {
      const o = <usize>i << 2;
      const v = f32x4.div(v128.load(x + o), sv), g = v128.load(gy + o);
      const below = f32x4.le(v, lov), above = f32x4.ge(v, hiv);
      const inside = v128.not(v128.or(below, above));
      av = f32x4.add(av, v128.and(f32x4.mul(f32x4.sub(rndv(v), v), g), inside));
      bv = f32x4.add(bv, v128.and(g, below));
      cv = f32x4.add(cv, v128.and(g, above));
      v128.store(gx + o, f32x4.add(v128.load(gx + o), v128.and(g, v128.or(inside, allm))));
    }
    a += <f64>f32x4.extract_lane(av, 0) + <f64>f32x4.extract_lane(av, 1) + <f64>f32x4.extract_lane(av, 2) + <f64>f32x4.extract_lane(av, 3);
    b += <f64>f32x4.extract_lane(bv, 0) + <f64>f32x4.extract_lane(bv, 1) + <f64>f32x4.extract_lane(bv, 2) + <f64>f32x4.extract_lane(bv, 3);
    c += <f64>f32x4.extract_lane(cv, 0) + <f64>f32x4.extract_lane(cv, 1) + <f64>f32x4.extract_lane(cv, 2) + <f64>f32x4.extract_lane(cv, 3);
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o) / s, g = load<f32>(gy + o);
    if (v <= lo) { b += g; if (all) store<f32>(gx + o, load<f32>(gx + o) + g); }
    else if (v >= hi) { c += g; if (all) store<f32>(gx + o, load<f32>(gx + o) + g); }
    else { a += <f64>((rnd(v) - v) * g); store<f32>(gx + o, load<f32>(gx + o) + g); }
  }
  store<f64>(sums, a);
  store<f64>(sums, b, 8);
  store<f64>(sums, c, 16);
}
