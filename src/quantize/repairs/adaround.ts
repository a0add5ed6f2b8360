// AdaRound (Nagel, Amjad, van Baalen, Louizos, Blankevoort, "Up or Down? Adaptive Rounding for Post-Training
// Quantization", ICML 2020): instead of rounding every weight to its nearest grid value, learn per weight
// whether it goes to the grid value below or above it, minimizing the error of the layer's output on
// calibration inputs.
//
// What this implementation does exactly, per conv / dense layer and per output channel n (rows are independent):
//   - Every weight w_i lies between grid values lo_i <= w_i <= hi_i of its channel's grid (grid.ts; clamped
//     weights outside the grid stay at its end). The soft weight is w~_i = lo_i + h(V_i) (hi_i - lo_i), with
//     the rectified sigmoid h(V) = clip(sigmoid(V) (zeta - gamma) + gamma, 0, 1), zeta = 1.1, gamma = -0.1;
//     V starts where h(V) equals w's fractional position, so w~ = w at the start.
//   - Loss = r(w~ - w) + lambda * sum_i (1 - |2 h(V_i) - 1|^beta). The reconstruction error of the layer's
//     linear output on the calibration inputs X (from the FLOAT network, inputs.ts) is
//     ||(w~ - w) X||^2 / P = d^T G d with G = E[x x^T] (K x K, computed once per layer): one iteration costs
//     K^2 per channel instead of a pass over the data. It is measured in grid steps and divided by the mean
//     input energy tr(G) / K, r = d^T G d / (step^2 tr(G) / K), so lambda means the same in every layer
//     (for white inputs r is the squared rounding error in steps). Layers whose output passes through a
//     ReLU are still matched before the activation (the paper's linear variant; the Gram trick needs it).
//   - The regularizer's beta anneals linearly from 20 to 2 after a warm-up of 20% of the iterations without
//     it (the paper's schedule). lambda = 0.3 and Adam (lr 0.03, betas 0.9 / 0.999) on V: with the error
//     normalized as above, lambda from 0.001 to 3 and lr 0.01 to 0.1 were tried on random layers with
//     correlated inputs (16 x 64 weights, 4 bits, 200 / 500 iterations); lambda 0.3, lr 0.03 gave the lowest
//     final error (0.43 of nearest rounding's at 500 iterations, 0.47 at 200; the paper's lambda 0.01 here:
//     0.79, the soft h(V) then never settles on 0 / 1 and the final hard rounding loses what it learned).
//   - At the end each weight rounds up when h(V) >= 0.5: it always lands on lo_i or hi_i, one grid step at most
//     from its nearest rounding. A channel whose learned rounding has a larger d^T G d than nearest rounding
//     (an optimization that did not converge in the budget) keeps nearest rounding.
// Budget: `iterations` (default 500) per channel; the cost is iterations x N x K^2 multiply-adds per layer
// (ResNet-20's 64-channel 3x3 layers: 21 M per iteration). A layer over `maxMacs` (default 2e10) gets fewer
// iterations (at least 20), said in the result. When the layer's inputs are kept as samples (fewer than K / 2,
// inputs.ts), d^T G d is computed as ||X^T d||^2 / P instead, 2 K P per channel and iteration.
import type { ChannelGrid } from "./grid.ts";
import { floorIndex, nearestIndex } from "./grid.ts";
import type { LayerInputs } from "./inputs.ts";

export interface AdaRoundOptions {
  /** Adam iterations per output channel (default 500). */
  iterations?: number;
  lambda?: number;
  learningRate?: number;
  /** Multiply-adds one layer may spend; more iterations than fit are cut (default 2e10). */
  maxMacs?: number;
}

export interface AdaRoundResult {
  /** The learned codes, [N][K]. */
  q: Int8Array;
  /** Reconstruction error d^T G d summed over channels: nearest rounding, and the learned rounding. */
  nearestError: number;
  error: number;
  iterations: number;
  /** Weights rounded differently from nearest. */
  flipped: number;
}

const ZETA = 1.1, GAMMA = -0.1;
export const ADAROUND_DEFAULT_ITERATIONS = 500;

/** d^T G d of one channel (G: the channel's K x K block, or the samples [P][K]); its gradient 2 G d into grad. */
function quadForm(d: Float64Array, K: number, inp: LayerInputs, G: Float32Array | undefined, grad?: Float64Array): number {
  if (G) {
    let r = 0;
    for (let i = 0; i < K; i++) {
      let s = 0;
      const row = i * K;
      for (let j = 0; j < K; j++) s += G[row + j] * d[j];
      r += s * d[i];
      if (grad) grad[i] = 2 * s;
    }
    return r;
  }
  const X = inp.samples!, P = inp.P;
  if (grad) grad.fill(0);
  let r = 0;
  for (let p = 0; p < P; p++) {
    let y = 0;
    const row = p * K;
    for (let i = 0; i < K; i++) y += X[row + i] * d[i];
    r += y * y;
    if (grad) { const c = (2 * y) / P; for (let i = 0; i < K; i++) grad[i] += c * X[row + i]; }
  }
  return r / P;
}

/** Gradients 2 G d of four channels sharing G at once (each G element read once for all four). */
function gramGrad4(G: Float32Array, K: number, d: Float64Array[], grad: Float64Array[]) {
  const [d0, d1, d2, d3] = d, [g0, g1, g2, g3] = grad;
  for (let i = 0; i < K; i++) {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    const row = i * K;
    for (let j = 0; j < K; j++) {
      const gv = G[row + j];
      s0 += gv * d0[j]; s1 += gv * d1[j]; s2 += gv * d2[j]; s3 += gv * d3[j];
    }
    g0[i] = 2 * s0; g1[i] = 2 * s1; g2[i] = 2 * s2; g3[i] = 2 * s3;
  }
}

/** Learned rounding of `w` ([N][K]) onto `grids` (one per output channel) given the layer's input statistics. */
export function adaround(w: Float32Array, grids: ChannelGrid[], inp: LayerInputs, opts: AdaRoundOptions = {}): AdaRoundResult {
  const N = grids.length, K = inp.K;
  if (w.length !== N * K) throw new Error(`adaround: ${w.length} weights for ${N} channels of ${K}`);
  const lambda = opts.lambda ?? 0.3, lr = opts.learningRate ?? 0.03;
  const want = opts.iterations ?? ADAROUND_DEFAULT_ITERATIONS;
  const perIter = inp.gram ? N * K * K : 2 * N * K * inp.P;
  const iterations = Math.max(Math.min(20, want), Math.min(want, Math.floor((opts.maxMacs ?? 2e10) / Math.max(1, perIter))));
  const warm = Math.floor(0.2 * iterations);
  const q = new Int8Array(N * K);
  const G32 = inp.gram ? Float32Array.from(inp.gram) : undefined;
  // channels go in blocks of four when they share G (one pass over G serves four), one at a time otherwise
  const B = G32 && !inp.depthwise ? 4 : 1;
  const mk = () => Array.from({ length: 4 }, () => new Float64Array(K));
  const d = mk(), grad = mk(), V = mk(), m = mk(), v2 = mk(), lo = mk(), gap = mk();
  const loIdx = Array.from({ length: 4 }, () => new Int32Array(K));
  const near = new Float64Array(4), norm = new Float64Array(4);
  let nearestError = 0, error = 0, flipped = 0;
  for (let n0 = 0; n0 < N; n0 += B) {
    const rows = Math.min(B, N - n0);
    const Gof = (n: number) => G32 && (inp.depthwise ? G32.subarray(n * K * K, (n + 1) * K * K) : G32);
    for (let r = 0; r < B; r++) {
      d[r].fill(0); gap[r].fill(0); m[r].fill(0); v2[r].fill(0);
      if (r >= rows) continue;
      const n = n0 + r, g = grids[n], Gn = Gof(n);
      let trace = 0;
      if (Gn) for (let i = 0; i < K; i++) trace += Gn[i * K + i];
      else for (let i = 0; i < inp.samples!.length; i++) trace += inp.samples![i] ** 2 / inp.P;
      const step = (g.values[g.values.length - 1] - g.values[0]) / Math.max(1, g.values.length - 1);
      norm[r] = step * step * Math.max(trace / K, 1e-30);
      // nearest rounding, its error, and the starting point h(V) = the weight's fractional position
      for (let i = 0; i < K; i++) {
        const x = w[n * K + i];
        d[r][i] = g.values[nearestIndex(g, x)] - x;
        let f = floorIndex(g, x);
        if (f < 0) f = 0;
        loIdx[r][i] = f;
        lo[r][i] = g.values[f];
        gap[r][i] = f < g.values.length - 1 && x >= g.values[0] ? g.values[f + 1] - g.values[f] : 0;
        const frac = gap[r][i] > 0 ? Math.min(1, Math.max(0, (x - lo[r][i]) / gap[r][i])) : 0;
        const s = (frac - GAMMA) / (ZETA - GAMMA);
        V[r][i] = Math.log(s / (1 - s));
      }
      near[r] = quadForm(d[r], K, inp, Gn);
      nearestError += near[r];
    }
    for (let t = 0; t < iterations; t++) {
      const beta = t < warm ? 0 : 2 + 18 * Math.max(0, 1 - (t - warm) / Math.max(1, iterations - warm));
      for (let r = 0; r < rows; r++) {
        const n = n0 + r, Vr = V[r], dr = d[r], lr_ = lo[r], gr = gap[r];
        for (let i = 0; i < K; i++) {
          const sg = 1 / (1 + Math.exp(-Vr[i]));
          const h = Math.min(1, Math.max(0, sg * (ZETA - GAMMA) + GAMMA));
          dr[i] = lr_[i] + h * gr[i] - w[n * K + i];
        }
      }
      if (B === 4) gramGrad4(G32!, K, d, grad);
      else quadForm(d[0], K, inp, Gof(n0), grad[0]);
      const b1t = 1 - 0.9 ** (t + 1), b2t = 1 - 0.999 ** (t + 1);
      for (let r = 0; r < rows; r++) {
        const Vr = V[r], gr = gap[r], gd = grad[r], mr = m[r], vr = v2[r], nr = norm[r];
        for (let i = 0; i < K; i++) {
          if (gr[i] === 0) continue;
          const sg = 1 / (1 + Math.exp(-Vr[i]));
          const hRaw = sg * (ZETA - GAMMA) + GAMMA;
          const dh = hRaw > 0 && hRaw < 1 ? (ZETA - GAMMA) * sg * (1 - sg) : 0;
          let gi = ((gd[i] * gr[i]) / nr) * dh;
          if (beta > 0 && dh > 0) {
            const u = 2 * hRaw - 1, au = Math.abs(u);
            // d/dh [1 - |2h - 1|^beta] = -2 beta |2h - 1|^(beta - 1) sign(2h - 1)
            gi += lambda * -2 * beta * au ** (beta - 1) * Math.sign(u) * dh;
          }
          mr[i] = 0.9 * mr[i] + 0.1 * gi;
          vr[i] = 0.999 * vr[i] + 0.001 * gi * gi;
          Vr[i] -= (lr * (mr[i] / b1t)) / (Math.sqrt(vr[i] / b2t) + 1e-8);
        }
      }
    }
    for (let r = 0; r < rows; r++) {
      const n = n0 + r, g = grids[n], Gn = Gof(n);
      const chosen = new Int32Array(K);
      for (let i = 0; i < K; i++) {
        const sg = 1 / (1 + Math.exp(-V[r][i]));
        const up = gap[r][i] > 0 && sg * (ZETA - GAMMA) + GAMMA >= 0.5;
        chosen[i] = loIdx[r][i] + (up ? 1 : 0);
        d[r][i] = g.values[chosen[i]] - w[n * K + i];
      }
      let learned = quadForm(d[r], K, inp, Gn);
      // a channel the optimization did not improve keeps its nearest rounding
      const keepNearest = learned > near[r];
      if (keepNearest) learned = near[r];
      error += learned;
      for (let i = 0; i < K; i++) {
        const ni = nearestIndex(g, w[n * K + i]);
        const idx = keepNearest ? ni : chosen[i];
        q[n * K + i] = g.codes[idx];
        if (idx !== ni) flipped++;
      }
    }
  }
  return { q, nearestError, error, iterations, flipped };
}
