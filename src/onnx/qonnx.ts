// QONNX import (issue 7): the Quant (IntQuant), BipolarQuant and Trunc custom ops of the QONNX specification
// (github.com/fastmachinelearning/qonnx, docs/qonnx-custom-ops/*.md), domain qonnx.custom_op.general,
// finn.custom_op.general or onnx.brevitas, as Brevitas exports them, so low-bit models trained elsewhere keep their learned
// scales and need no calibration. Semantics (the spec's sample implementations):
//   Quant(x, scale, zeropt, bitwidth; signed, narrow, rounding_mode)
//       y = (clamp(round_mode(x / scale + zeropt), min_int, max_int) - zeropt) * scale
//       min_int = signed ? -2^(b-1) + narrow : 0;  max_int = signed ? 2^(b-1) - 1 : 2^b - 1 - narrow
//   BipolarQuant(x, scale)        y = (x >= 0 ? 1 : -1) * scale
//   Trunc(x, scale, zeropt, in_bitwidth, [out_scale,] out_bitwidth; rounding_mode = FLOOR, signed, narrow)
//       t = 2^round(log2(out_scale / scale));  y = (clamp(round_mode(round(x / scale + zeropt) / t)) - zeropt / t) * out_scale
//       (version 1 has no out_scale input: out_scale = scale * 2^(in_bitwidth - out_bitwidth))
// How each becomes the IR (src/onnx/import.ts does the wiring):
//   - on a constant (weights): the values above as floats (the float program) plus their integers and scales as
//     the layer's given weights, on the narrowest kernel whose integer grid holds the quantizer's grid: 2-bit
//     [-2, 1], int4 [-8, 7], int8 [-127, 127] (BipolarQuant: the binary BWN kernel; depthwise layers: int4 at
//     least). Zero points must be 0 (the kernels are symmetric) and scales per tensor or per output channel.
//   - on an activation: the value's int8 scale and zero point (unsigned grids shifted by -128, as uint8), plus a
//     Clip to the quantizer's range when its grid is narrower than int8's. The float program keeps the Clip
//     but not the rounding; the integer program rounds half away from zero (a ROUND = half-even quantizer
//     differs only at exact ties; FLOOR / CEIL / UP / DOWN by at most one step).
//   - Trunc on an activation: the output's parameters (out_scale, zeropt / t) and the Clip to the output grid;
//     the integer program requantizes the value straight to that grid, rounding to nearest where the spec
//     truncates (FLOOR by default): at most one output step apart. in_bitwidth may exceed 8 (the value before
//     the Trunc is never stored at its own scale).
import type { QParams } from "../quantize/params.ts";

/** QONNX's domain, FINN's older name for it, and Brevitas's own export domain (same ops, same semantics). */
export const QONNX_DOMAINS = ["qonnx.custom_op.general", "finn.custom_op.general", "onnx.brevitas"] as const;
export const QONNX_OPS = ["Quant", "IntQuant", "BipolarQuant", "Trunc"] as const;

export const isQonnxOp = (domain: string, opType: string) =>
  (QONNX_DOMAINS as readonly string[]).includes(domain) && (QONNX_OPS as readonly string[]).includes(opType);

/** The spec's rounding modes (case-insensitive); ROUND is half to even. */
export function roundingFn(mode: string): (v: number) => number {
  switch (mode.toUpperCase()) {
    case "ROUND": return (v) => { const f = Math.floor(v), d = v - f; return d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 === 0 ? f : f + 1; };
    case "CEIL": return Math.ceil;
    case "FLOOR": return Math.floor;
    case "UP": return (v) => Math.sign(v) * Math.ceil(Math.abs(v));
    case "DOWN": return (v) => Math.sign(v) * Math.floor(Math.abs(v));
    case "HALF_UP": return (v) => Math.sign(v) * Math.round(Math.abs(v)); // half away from zero
    case "HALF_DOWN": return (v) => Math.sign(v) * Math.ceil(Math.abs(v) - 0.5); // half toward zero
    default: throw new Error(`rounding_mode '${mode}' is not one of ROUND, CEIL, FLOOR, UP, DOWN, HALF_UP, HALF_DOWN`);
  }
}

export const minInt = (signed: boolean, narrow: boolean, bits: number) => (signed ? -(2 ** (bits - 1)) + (narrow ? 1 : 0) : 0);
export const maxInt = (signed: boolean, narrow: boolean, bits: number) => (signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1 - (narrow ? 1 : 0));

export interface QuantAttrs { signed: boolean; narrow: boolean; rounding: string }

/** The integer grid's kernel: 2, 4 or 8 (weights), or undefined when no kernel holds [lo, hi]. */
export function kernelBitsFor(lo: number, hi: number): 2 | 4 | 8 | undefined {
  if (lo >= -2 && hi <= 1) return 2;
  if (lo >= -8 && hi <= 7) return 4;
  if (lo >= -127 && hi <= 127) return 8;
  return undefined;
}

/** Per-tensor (-1) or the one axis a scale of shape `sdims` varies along, for a tensor of shape `dims`. */
export function scaleAxis(dims: number[], sdims: number[], n: number): number | undefined {
  if (n === 1) return -1;
  const lead = dims.length - sdims.length;
  if (lead < 0) return undefined;
  let axis: number | undefined;
  for (let i = 0; i < sdims.length; i++) {
    if (sdims[i] === 1) continue;
    if (sdims[i] !== dims[lead + i] || axis !== undefined) return undefined;
    axis = lead + i;
  }
  return axis;
}

/** Index into a broadcast parameter (per tensor, or along `axis` of `dims`) for flat index i. */
function paramIndex(dims: number[], axis: number, i: number): number {
  if (axis < 0) return 0;
  let inner = 1;
  for (let k = axis + 1; k < dims.length; k++) inner *= dims[k];
  return Math.floor(i / inner) % dims[axis];
}

export interface WeightQuant {
  /** Dequantized values (the quantizer's float output). */
  values: Float32Array;
  /** Integer values on the kernel's grid, and one scale per axis entry (or one). */
  q: Int32Array;
  scales: number[];
  axis: number;
  /** Kernel bits: 8, 4, 2 or 1 (binary); absent with `error` when no kernel holds the grid. */
  bits?: number;
  error?: string;
}

/** Quant on a constant: its float values and integer weights. Throws (a message) on invalid parameters. */
export function quantWeights(x: { dims: number[]; data: ArrayLike<number> }, scale: { dims: number[]; data: ArrayLike<number> },
  zeropt: ArrayLike<number>, bitwidth: number, a: QuantAttrs, what: string): WeightQuant {
  checkBits(bitwidth, a.signed);
  const axis = scaleAxis(x.dims, scale.dims, scale.data.length);
  if (axis === undefined) throw new Error(`scale of shape [${scale.dims}] does not broadcast as per tensor or per channel over [${x.dims}]`);
  for (let i = 0; i < scale.data.length; i++) if (!(scale.data[i] > 0) || !Number.isFinite(scale.data[i])) throw new Error(`scale ${scale.data[i]} must be positive and finite`);
  const zAxis = scaleAxis(x.dims, [], zeropt.length) ?? axis;
  const round = roundingFn(a.rounding);
  const lo = minInt(a.signed, a.narrow, bitwidth), hi = maxInt(a.signed, a.narrow, bitwidth);
  const n = x.data.length;
  const values = new Float32Array(n), q = new Int32Array(n);
  let zeroZp = true;
  for (let i = 0; i < n; i++) {
    const s = scale.data[paramIndex(x.dims, axis, i)], z = zeropt[zeropt.length === 1 ? 0 : paramIndex(x.dims, zAxis, i)];
    if (z !== 0) zeroZp = false;
    const v = Math.min(hi, Math.max(lo, round(x.data[i] / s + z)));
    q[i] = v - z;
    values[i] = (v - z) * s;
  }
  const scales = Array.from(scale.data);
  if (!zeroZp) return { values, q, scales, axis, error: `${what}: a nonzero zero point; weights need symmetric quantization (zero point 0)` };
  const bits = kernelBitsFor(lo, hi) ?? kernelBitsFor(Math.min(...q), Math.max(...q));
  if (!bits) return { values, q, scales, axis, error: `${what}: ${bitwidth}-bit ${a.signed ? "signed" : "unsigned"}${a.narrow ? " narrow" : ""} weights (grid [${lo}, ${hi}]) fit no kernel (2-bit [-2, 1], int4 [-8, 7], int8 [-127, 127])` };
  return { values, q, scales, axis, bits };
}

/** BipolarQuant on a constant: +-1 times the scale; binary weights. */
export function bipolarWeights(x: { dims: number[]; data: ArrayLike<number> }, scale: { dims: number[]; data: ArrayLike<number> }): WeightQuant {
  const axis = scaleAxis(x.dims, scale.dims, scale.data.length);
  if (axis === undefined) throw new Error(`scale of shape [${scale.dims}] does not broadcast as per tensor or per channel over [${x.dims}]`);
  for (let i = 0; i < scale.data.length; i++) if (!(scale.data[i] > 0) || !Number.isFinite(scale.data[i])) throw new Error(`scale ${scale.data[i]} must be positive and finite`);
  const n = x.data.length;
  const q = Int32Array.from({ length: n }, (_, i) => (x.data[i] >= 0 ? 1 : -1));
  const values = Float32Array.from(q, (v, i) => v * scale.data[paramIndex(x.dims, axis, i)]);
  return { values, q, scales: Array.from(scale.data), axis, bits: 1 };
}

function checkBits(b: number, signed: boolean) {
  if (!Number.isInteger(b) || b < (signed ? 2 : 1) || b > 32) throw new Error(`bitwidth ${b} must be an integer in ${signed ? 2 : 1}..32`);
}

/**
 * An activation quantizer's int8 parameters and float range: scale and zero point per tensor; the grid as int8
 * (unsigned shifted by -128); `clip` when the grid is narrower than int8 (its float bounds).
 */
export function activationQuant(scale: number, zeropt: number, bitwidth: number, a: { signed: boolean; narrow: boolean }): { q: QParams; clip?: [number, number] } {
  checkBits(bitwidth, a.signed);
  if (bitwidth > 8) throw new Error(`${bitwidth}-bit activations: activations are int8 here (at most 8 bits)`);
  if (!(scale > 0) || !Number.isFinite(scale)) throw new Error(`scale ${scale} must be positive and finite`);
  if (!Number.isInteger(zeropt)) throw new Error(`zero point ${zeropt} must be an integer`);
  const lo = minInt(a.signed, a.narrow, bitwidth), hi = maxInt(a.signed, a.narrow, bitwidth);
  const shift = a.signed ? 0 : -128;
  const zp = zeropt + shift;
  if (zp < -128 || zp > 127) throw new Error(`zero point ${zeropt} is outside the ${a.signed ? "signed" : "unsigned"} 8-bit range`);
  const q = { scale: Math.fround(scale), zeroPoint: zp };
  const full = lo + shift === -128 && hi + shift === 127;
  return { q, clip: full ? undefined : [(lo - zeropt) * scale, (hi - zeropt) * scale] };
}

/** Trunc's output quantizer: its scale, zero point and grid, as activationQuant gives them. */
export function truncQuant(scale: number, zeropt: number, inBits: number, outScale: number | undefined, outBits: number, a: { signed: boolean; narrow: boolean }): { q: QParams; clip?: [number, number]; outScale: number } {
  checkBits(inBits, a.signed);
  const os = outScale ?? scale * 2 ** (inBits - outBits);
  if (!(os > 0) || !Number.isFinite(os)) throw new Error(`output scale ${os} must be positive and finite`);
  const t = 2 ** Math.round(Math.log2(os / scale));
  const r = activationQuant(os, zeropt / t, outBits, a);
  return { ...r, outScale: os };
}
