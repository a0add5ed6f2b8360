// Empirical bias correction (Nagel et al., "Data-Free Quantization Through Weight Equalization and Bias
// Correction", ICCV 2019, section 4.2, its empirical variant; also Banner et al. 2019): quantizing the weights
// shifts the mean of every output channel by E[(W_q - W) x]; that shift is measured on calibration data and
// taken out of the layer's bias, b_n += E[W x]_n - E[W_q x]_n = sum_k (W - W_q)[n][k] E[x_k].
// E[x] is the mean input patch of the layer (inputs.ts: every output position of every calibration image,
// zeros at the padding counted, as the kernels see them), measured on the FLOAT network, so the correction
// removes the bias that this layer's own weight rounding adds (not errors coming from earlier layers). It runs
// after the final weights are known (after clipping and AdaRound) on every conv / dense layer, int8 ones too.
import type { LayerInputs } from "./inputs.ts";

/** Per output channel: E[W x] - E[W_q x] for float weights `w` and dequantized weights `wq` ([N][K]). */
export function meanOutputShift(w: ArrayLike<number>, wq: ArrayLike<number>, N: number, inp: LayerInputs): Float64Array {
  const K = inp.K, shift = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    const mu = inp.depthwise ? n * K : 0;
    let s = 0;
    for (let k = 0; k < K; k++) s += (w[n * K + k] - wq[n * K + k]) * inp.mean[mu + k];
    shift[n] = s;
  }
  return shift;
}

/** Adds the measured shift to `bias` in place; returns the shift. */
export function correctBias(bias: Float32Array, w: ArrayLike<number>, wq: ArrayLike<number>, inp: LayerInputs): Float64Array {
  const shift = meanOutputShift(w, wq, bias.length, inp);
  for (let n = 0; n < bias.length; n++) bias[n] += shift[n];
  return shift;
}
