// Plain TypeScript references for the f32 kernels: exact float32 arithmetic (Math.fround after every
// operation), in the very order the kernels compute (see the comments in assembly/kernels/f32_*.ts), so
// kernel and reference agree bit for bit. Host-agnostic: Node and Deno import this file.
import { convOut, type ConvGeom } from "./ref.ts";

const f = Math.fround;

/** min(max(v, lo), hi) like wasm f32.min / f32.max (no NaN in the data, so JS Math.min/max agree). */
const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);

/** f32 conv2d, NHWC, weights [N][KH][KW][C]; padding taps skipped; acc from 0, bias after, then clamp. */
export function f32Conv2dRef(x: Float32Array, w: Float32Array, bias: Float32Array, g: ConvGeom, lo: number, hi: number): Float32Array {
  const { OH, OW } = convOut(g);
  const out = new Float32Array(OH * OW * g.N);
  for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) for (let n = 0; n < g.N; n++) {
    let acc = 0;
    for (let ky = 0; ky < g.KH; ky++) for (let kx = 0; kx < g.KW; kx++) {
      const iy = oy * g.SH - g.PT + ky * g.DH, ix = ox * g.SW - g.PL + kx * g.DW;
      if (iy < 0 || iy >= g.H || ix < 0 || ix >= g.W) continue;
      for (let c = 0; c < g.C; c++) {
        acc = f(acc + f(x[(iy * g.W + ix) * g.C + c] * w[((n * g.KH + ky) * g.KW + kx) * g.C + c]));
      }
    }
    out[(oy * OW + ox) * g.N + n] = clamp(f(acc + bias[n]), lo, hi);
  }
  return out;
}

/** f32 depthwise conv2d (g.N == g.C), weights [C][KH][KW]; padding taps skipped. */
export function f32DwConv2dRef(x: Float32Array, w: Float32Array, bias: Float32Array, g: ConvGeom, lo: number, hi: number): Float32Array {
  const { OH, OW } = convOut(g);
  const C = g.C;
  const out = new Float32Array(OH * OW * C);
  for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) for (let c = 0; c < C; c++) {
    let acc = 0;
    for (let ky = 0; ky < g.KH; ky++) for (let kx = 0; kx < g.KW; kx++) {
      const iy = oy * g.SH - g.PT + ky * g.DH, ix = ox * g.SW - g.PL + kx * g.DW;
      if (iy < 0 || iy >= g.H || ix < 0 || ix >= g.W) continue;
      acc = f(acc + f(x[(iy * g.W + ix) * C + c] * w[(c * g.KH + ky) * g.KW + kx]));
    }
    out[(oy * OW + ox) * C + c] = clamp(f(acc + bias[c]), lo, hi);
  }
  return out;
}

/** Max pool (init -inf) or average pool over the valid taps (count_include_pad = false). */
export function f32PoolRef(x: Float32Array, g: ConvGeom, kind: "max" | "avg"): Float32Array {
  const { OH, OW } = convOut(g);
  const C = g.C;
  const out = new Float32Array(OH * OW * C);
  for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) for (let c = 0; c < C; c++) {
    let acc = kind === "max" ? -Infinity : 0, count = 0;
    for (let ky = 0; ky < g.KH; ky++) for (let kx = 0; kx < g.KW; kx++) {
      const iy = oy * g.SH - g.PT + ky * g.DH, ix = ox * g.SW - g.PL + kx * g.DW;
      if (iy < 0 || iy >= g.H || ix < 0 || ix >= g.W) continue;
      const v = x[(iy * g.W + ix) * C + c];
      acc = kind === "max" ? Math.max(acc, v) : f(acc + v);
      count++;
    }
    out[(oy * OW + ox) * C + c] = kind === "max" ? acc : f(acc / count);
  }
  return out;
}

/** Global average pool: per channel, the sum over pixels in order, divided by H*W. */
export function f32GlobalAvgPoolRef(x: Float32Array, H: number, W: number, C: number): Float32Array {
  const out = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    let acc = 0;
    for (let p = 0; p < H * W; p++) acc = f(acc + x[p * C + c]);
    out[c] = f(acc / (H * W));
  }
  return out;
}

export function f32AddRef(a: Float32Array, b: Float32Array, lo: number, hi: number): Float32Array {
  return Float32Array.from(a, (v, i) => clamp(f(v + b[i]), lo, hi));
}

// qw_expf of assembly/kernels/f32_eltwise.ts, step by step.
const EXP_LO = f(-87.0), EXP_HI = f(88.0), LOG2E = f(1.44269504088896341);
const EXP_C1 = f(0.693359375), EXP_C2 = f(-2.12194440e-4);
const EXP_P = [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1].map(f);

export function qwExpfRef(x: number): number {
  x = clamp(x, EXP_LO, EXP_HI);
  const n = Math.floor(f(f(x * LOG2E) + 0.5));
  let r = f(x - f(n * EXP_C1));
  r = f(r - f(n * EXP_C2));
  const z = f(r * r);
  let p = f(f(EXP_P[0] * r) + EXP_P[1]);
  for (let i = 2; i < 6; i++) p = f(f(p * r) + EXP_P[i]);
  const y = f(f(f(p * z) + r) + 1);
  return f(y * 2 ** n);
}

export const ACT = { relu: 0, clamp: 1, sigmoid: 2, hardswish: 3, leakyrelu: 4, hardsigmoid: 5 } as const;

/** f32_activation's element function for `kind` (see assembly/kernels/f32_eltwise.ts). */
export function f32ActRef(kind: number, x: number, alpha: number, beta: number): number {
  alpha = f(alpha); beta = f(beta);
  switch (kind) {
    case ACT.relu: return Math.max(x, 0);
    case ACT.clamp: return clamp(x, alpha, beta);
    case ACT.sigmoid: return f(1 / f(1 + qwExpfRef(-x)));
    case ACT.hardswish: return f(f(x * clamp(f(x + 3), 0, 6)) / 6);
    case ACT.leakyrelu: return x < 0 ? f(x * alpha) : x;
    case ACT.hardsigmoid: return Math.max(Math.min(f(f(alpha * x) + beta), 1), 0);
    default: return x;
  }
}

export function f32ActivationRef(x: Float32Array, kind: number, alpha: number, beta: number): Float32Array {
  return Float32Array.from(x, (v) => f32ActRef(kind, v, alpha, beta));
}
