// What the repairs measure about each conv / dense layer's input on calibration images, from the FLOAT network
// (the graph as it stands, run on our fp32 engine): the mean input patch (bias correction) and the second
// moment of input patches, G = E[x x^T] (AdaRound's reconstruction error is tr(dW G dW^T) per output channel).
// A patch is what one output value of the layer reads: KH x KW x C inputs in the weights' [KH][KW][C] order,
// zeros where it overlaps the padding (a depthwise layer: KH x KW taps of its own channel, one G per channel;
// a dense layer: the whole flattened input).
// The mean uses every output position of every image. G uses a deterministic random subset of positions
// (at most `maxSamples` patches over all images; default 4096): the cost is samples x K^2 / 2 per layer. When
// there are fewer than K / 2 samples (dense layers on small calibration sets) the samples themselves are kept
// instead of G (AdaRound then costs 2 x K x samples per channel and iteration instead of K^2).
import { mulberry32 } from "../../util/rng.ts";
import type { Graph, Node } from "../../ir/graph.ts";
import { inferShapes } from "../../ir/graph.ts";
import { floatRunner } from "../../calibrate/minmax.ts";

export type Layer = Extract<Node, { op: "conv" | "dense" }>;

export interface LayerInputs {
  /** Patch length: KH*KW*C (conv), KH*KW (depthwise, per channel), h*w*c (dense). */
  K: number;
  depthwise: boolean;
  /** Mean patch: K values, or (depthwise) K per channel, [N][K]. */
  mean: Float64Array;
  /** E[x x^T] over the sampled patches: K x K, or (depthwise) [N][K][K]; absent when `samples` is kept. */
  gram?: Float64Array;
  /** The sampled patches themselves, [P][K] (only when P < K / 2). */
  samples?: Float32Array;
  /** Number of sampled patches behind gram / samples. */
  P: number;
}

export interface InputOptions {
  /** Also the second moments (AdaRound). Default true. */
  gram?: boolean;
  /** Patches sampled for G, over all images (default 4096). */
  maxSamples?: number;
  onProgress?: (done: number, total: number) => void;
}


/** Input statistics of `layers` (nodes of `g`) over `images` (normalized NHWC floats). */
export async function layerInputs(g: Graph, wasm: BufferSource | WebAssembly.Module, images: Float32Array[], layers: Layer[],
  opts: InputOptions = {}): Promise<Map<string, LayerInputs>> {
  const shapes = inferShapes(g);
  const wantGram = opts.gram ?? true;
  const maxSamples = opts.maxSamples ?? 4096;
  const { runner, tensorOf } = await floatRunner(g, wasm);
  const rand = mulberry32(0x5eed);
  interface Acc { n: Layer; st: LayerInputs; positions: number; perImage: number; count: number; taken: number; oh: number; ow: number; H: number; W: number; C: number }
  const accs: Acc[] = layers.map((n) => {
    const [H, W, C] = shapes.get(n.input)!;
    const [oh, ow] = shapes.get(n.output)!;
    const dw = n.op === "conv" && n.groups !== 1;
    const K = n.op === "dense" ? H * W * C : n.kernel[0] * n.kernel[1] * (dw ? 1 : C);
    const positions = n.op === "dense" ? 1 : oh * ow;
    const perImage = Math.min(positions, Math.ceil(maxSamples / images.length));
    const P = perImage * images.length;
    const keepSamples = wantGram && !dw && 2 * P < K;
    const st: LayerInputs = {
      K, depthwise: dw, mean: new Float64Array(dw ? C * K : K), P: wantGram ? P : 0,
      gram: wantGram && !keepSamples ? new Float64Array(dw ? C * K * K : K * K) : undefined,
      samples: keepSamples ? new Float32Array(P * K) : undefined,
    };
    return { n, st, positions, perImage, count: 0, taken: 0, oh, ow, H, W, C };
  });
  const vec = new Float64Array(Math.max(1, ...accs.map((a) => a.st.K * (a.st.depthwise ? a.C : 1))));
  images.forEach((img, idx) => {
    runner.runF32(img, 1);
    for (const a of accs) {
      const x = runner.tensor(tensorOf.get(a.n.input)!) as Float32Array;
      const { st, n, H, W, C } = a;
      const K = st.K;
      // the positions whose patches go into G this image: a random subset of size perImage
      const pick = new Uint8Array(a.positions);
      if (wantGram) {
        if (a.perImage === a.positions) pick.fill(1);
        else for (let k = 0; k < a.perImage;) { const p = Math.floor(rand() * a.positions); if (!pick[p]) { pick[p] = 1; k++; } }
      }
      for (let p = 0; p < a.positions; p++) {
        // the patch of output position p into vec ([C][K] for depthwise, [K] otherwise)
        if (n.op === "dense") vec.set(x);
        else {
          const oy = Math.floor(p / a.ow), ox = p % a.ow;
          const [KH, KW] = n.kernel, [SH, SW] = n.stride, [DH, DW] = n.dilation;
          for (let kh = 0; kh < KH; kh++) {
            const iy = oy * SH - n.pads[0] + kh * DH;
            for (let kw = 0; kw < KW; kw++) {
              const ix = ox * SW - n.pads[1] + kw * DW;
              const inside = iy >= 0 && iy < H && ix >= 0 && ix < W;
              const t = kh * KW + kw, base = (iy * W + ix) * C;
              if (st.depthwise) for (let c = 0; c < C; c++) vec[c * K + t] = inside ? x[base + c] : 0;
              else for (let c = 0; c < C; c++) vec[t * C + c] = inside ? x[base + c] : 0;
            }
          }
        }
        const len = st.depthwise ? C * K : K;
        for (let i = 0; i < len; i++) st.mean[i] += vec[i];
        a.count++;
        if (!pick[p]) continue;
        if (st.samples) {
          for (let i = 0; i < K; i++) st.samples[a.taken * K + i] = vec[i];
        } else if (st.gram) {
          const G = st.gram;
          if (st.depthwise) {
            for (let c = 0; c < C; c++) {
              const o = c * K * K, v = c * K;
              for (let i = 0; i < K; i++) { const xi = vec[v + i]; if (xi === 0) continue; for (let j = i; j < K; j++) G[o + i * K + j] += xi * vec[v + j]; }
            }
          } else {
            for (let i = 0; i < K; i++) {
              const xi = vec[i];
              if (xi === 0) continue;
              const row = i * K;
              for (let j = i; j < K; j++) G[row + j] += xi * vec[j];
            }
          }
        }
        a.taken++;
      }
    }
    opts.onProgress?.(idx + 1, images.length);
  });
  const out = new Map<string, LayerInputs>();
  for (const a of accs) {
    const { st } = a;
    for (let i = 0; i < st.mean.length; i++) st.mean[i] /= a.count;
    if (st.gram) {
      const K = st.K, blocks = st.depthwise ? a.C : 1;
      for (let b = 0; b < blocks; b++) {
        const o = b * K * K;
        for (let i = 0; i < K; i++) for (let j = i; j < K; j++) {
          const v = st.gram[o + i * K + j] / a.taken;
          st.gram[o + i * K + j] = v;
          st.gram[o + j * K + i] = v;
        }
      }
    }
    st.P = a.taken;
    out.set(a.n.name, st);
  }
  return out;
}
