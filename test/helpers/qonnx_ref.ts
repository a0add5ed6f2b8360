// A float reference of the QONNX quantizers (github.com/fastmachinelearning/qonnx, docs/qonnx-custom-ops:
// intquant_v1.md / Quant, bipolarquant_v1.md, trunc_v2.md), written from the spec independently of
// src/onnx/qonnx.ts, a small NCHW float evaluator for the test models (float64), and an ONNX builder for
// models with QONNX nodes (onnx-proto, as the importer uses).
import onnxProto from "onnx-proto";

const { onnx } = onnxProto as any;

/** The spec's rounding-mode table ("Rounding modes" in intquant_v1.md), written as in the spec. */
export function refRound(v: number, mode: string): number {
  const m = mode.toUpperCase();
  const fl = Math.floor(v), frac = v - fl;
  if (m === "ROUND") { // numpy's np.round: half to even
    if (frac === 0.5) return fl % 2 === 0 ? fl : fl + 1;
    return frac < 0.5 ? fl : fl + 1;
  }
  if (m === "CEIL") return Math.ceil(v);
  if (m === "FLOOR") return fl;
  const a = Math.abs(v), s = v < 0 ? -1 : 1, af = Math.floor(a), afrac = a - af;
  if (m === "UP") return s * (afrac > 0 ? af + 1 : af);
  if (m === "DOWN") return s * af;
  if (m === "HALF_UP") return s * (afrac >= 0.5 ? af + 1 : af);
  if (m === "HALF_DOWN") return s * (afrac > 0.5 ? af + 1 : af);
  throw new Error(`mode ${mode}`);
}

export const refMinInt = (signed: boolean, narrow: boolean, b: number) => (signed && narrow ? -(2 ** (b - 1)) + 1 : signed ? -(2 ** (b - 1)) : 0);
export const refMaxInt = (signed: boolean, narrow: boolean, b: number) => (!signed && !narrow ? 2 ** b - 1 : !signed ? 2 ** b - 2 : 2 ** (b - 1) - 1);

/** Quant: scaling, clamping, rounding, re-scaling (the spec's order). `ch(i)` picks the scale / zero point of element i. */
export function refQuant(x: ArrayLike<number>, scale: ArrayLike<number>, zp: ArrayLike<number>, bits: number, signed: boolean, narrow: boolean, mode: string, ch: (i: number) => number = () => 0): number[] {
  const lo = refMinInt(signed, narrow, bits), hi = refMaxInt(signed, narrow, bits);
  return Array.from(x, (v, i) => {
    const s = scale[scale.length === 1 ? 0 : ch(i)], z = zp[zp.length === 1 ? 0 : ch(i)];
    let y = v / s + z;
    y = y > hi ? hi : y < lo ? lo : y;
    y = refRound(y, mode);
    return (y - z) * s;
  });
}

export function refBipolar(x: ArrayLike<number>, scale: ArrayLike<number>, ch: (i: number) => number = () => 0): number[] {
  return Array.from(x, (v, i) => (v >= 0 ? 1 : -1) * scale[scale.length === 1 ? 0 : ch(i)]);
}

/** Trunc (version 2): round at the input scale, divide by the power-of-two ratio, clamp, truncate, re-scale. */
export function refTrunc(x: ArrayLike<number>, scale: number, zp: number, outScale: number, outBits: number, signed: boolean, narrow: boolean, mode = "FLOOR"): number[] {
  const t = 2 ** Math.round(Math.log2(outScale / scale));
  const lo = refMinInt(signed, narrow, outBits), hi = refMaxInt(signed, narrow, outBits);
  return Array.from(x, (v) => {
    let y = refRound(v / scale + zp, "ROUND") / t;
    y = y > hi ? hi : y < lo ? lo : y;
    y = refRound(y, mode);
    return (y - zp / t) * outScale;
  });
}

// ------------------------------------------------------------------------------------------- float evaluator

export interface T4 { c: number; h: number; w: number; d: Float64Array } // one image, CHW

export function conv2d(x: T4, w: ArrayLike<number>, b: ArrayLike<number> | undefined, N: number, k: number, stride: number, pad: number): T4 {
  const oh = Math.floor((x.h + 2 * pad - k) / stride) + 1, ow = Math.floor((x.w + 2 * pad - k) / stride) + 1;
  const d = new Float64Array(N * oh * ow);
  for (let n = 0; n < N; n++) for (let oy = 0; oy < oh; oy++) for (let ox = 0; ox < ow; ox++) {
    let acc = b ? b[n] : 0;
    for (let c = 0; c < x.c; c++) for (let ky = 0; ky < k; ky++) for (let kx = 0; kx < k; kx++) {
      const iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
      if (iy < 0 || ix < 0 || iy >= x.h || ix >= x.w) continue;
      acc += x.d[(c * x.h + iy) * x.w + ix] * w[((n * x.c + c) * k + ky) * k + kx];
    }
    d[(n * oh + oy) * ow + ox] = acc;
  }
  return { c: N, h: oh, w: ow, d };
}

export const relu = (x: T4): T4 => ({ ...x, d: x.d.map((v) => Math.max(0, v)) });
export const mapT = (x: T4, f: (d: Float64Array) => ArrayLike<number>): T4 => ({ ...x, d: Float64Array.from(f(x.d)) });
export function gap(x: T4): Float64Array {
  return Float64Array.from({ length: x.c }, (_, c) => { let s = 0; for (let i = 0; i < x.h * x.w; i++) s += x.d[c * x.h * x.w + i]; return s / (x.h * x.w); });
}
/** Gemm with transB: y[n] = sum_k x[k] w[n][k] + b[n]. */
export function gemm(x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number>, N: number): Float64Array {
  const K = x.length;
  return Float64Array.from({ length: N }, (_, n) => { let s = b[n]; for (let k = 0; k < K; k++) s += x[k] * w[n * K + k]; return s; });
}

// --------------------------------------------------------------------------------------------- ONNX builder

export const FLOAT = 1;
export const QONNX = "qonnx.custom_op.general";
export const vi = (name: string, dims: number[]) => ({ name, type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
export const tensor = (name: string, dims: number[], data: ArrayLike<number>) => ({ name, dims, dataType: FLOAT, rawData: new Uint8Array(Float32Array.from(data).buffer) });
export const attrInt = (name: string, i: number) => ({ name, type: 2, i });
export const attrInts = (name: string, ints: number[]) => ({ name, type: 7, ints });
export const attrStr = (name: string, s: string) => ({ name, type: 3, s: new TextEncoder().encode(s) });
export const node = (opType: string, input: string[], output: string[], attribute: object[] = [], name = "", domain = "") => ({ opType, input, output, attribute, name, domain });
/** A QONNX Quant node with its signed / narrow / rounding_mode attributes. */
export const quantNode = (x: string, p: string, y: string, signed: boolean, narrow: boolean, mode = "ROUND", name = y) =>
  node("Quant", [x, `${p}_s`, `${p}_z`, `${p}_b`], [y], [attrInt("signed", signed ? 1 : 0), attrInt("narrow", narrow ? 1 : 0), attrStr("rounding_mode", mode)], name, QONNX);
/** The three parameter initializers of a Quant (scale with its dims, zero point, bit width). */
export const quantParams = (p: string, scale: number[], scaleDims: number[], zp: number, bits: number) =>
  [tensor(`${p}_s`, scaleDims, scale), tensor(`${p}_z`, [], [zp]), tensor(`${p}_b`, [], [bits])];

export function model(graph: object): Uint8Array {
  return new Uint8Array(onnx.ModelProto.encode({
    irVersion: 7, producerName: "qwasm-test (QONNX spec)", opsetImport: [{ domain: "", version: 13 }, { domain: QONNX, version: 1 }], graph,
  }).finish());
}
