// Small .qwm programs for the runtime tests (test/runtime.test.ts in Node, test/hosts/runtime-deno.ts in Deno),
// and two ways to run them on a qwasm build: through the runtime (qwm_load + qwm_run_*) and step by step through
// the kernel exports with a plain TypeScript walk over the op list (the reference: same kernels, same bytes).
// Host-agnostic: no Node APIs.
import { DType, Op, Section } from "../../assembly/runtime/schema.ts";
import { buildQs8Lut, packF32Depthwise, packF32Gemm, packQs8Depthwise, packQs8Gemm } from "../../src/pack/layout.ts";
import { planArena } from "../../src/pack/plan.ts";
import { f32Bits, tensorBytes, writeQwm, type OpDesc, type Program, type TensorDesc } from "../../src/pack/qwm.ts";
import type { KernelHost } from "../../src/wasm/kernels.ts";
import { rng, type Rng } from "./ref.ts";

const f = Math.fround;
const ceil4 = (n: number) => (n + 3) & ~3;
const align16 = (n: number) => (n + 15) & ~15;

export interface TestProgram {
  name: string;
  program: Program;
  bytes: Uint8Array;
}

/** Builder for a program: tensors, ops, weights (16-aligned), then a liveness-planned arena. */
class Prog {
  tensors: TensorDesc[] = [];
  ops: OpDesc[] = [];
  chunks: Uint8Array[] = [];
  wlen = 0;
  tensor(dtype: DType, shape: [number, number, number], scale = 0, zeroPoint = 0): number {
    this.tensors.push({ dtype, shape, offset: 0, scale: dtype === DType.I8 ? scale : 0, zeroPoint: dtype === DType.I8 ? zeroPoint : 0 });
    return this.tensors.length - 1;
  }
  scratch(bytes: number): number {
    return this.tensor(DType.U8, [1, 1, bytes]);
  }
  weights(data: Uint8Array): { offset: number; bytes: number } {
    const offset = align16(this.wlen);
    if (offset > this.wlen) this.chunks.push(new Uint8Array(offset - this.wlen));
    this.chunks.push(data);
    this.wlen = offset + data.length;
    return { offset, bytes: data.length };
  }
  op(op: Op, inputs: number[], output: number, params: number[] = [], extra: Partial<OpDesc> = {}): void {
    this.ops.push({ op, inputs, output, params, ...extra });
  }
  finish(input: number, output: number, meta: Partial<Program["meta"]>, reuse = true, extra: Partial<Program> = {}): Program {
    const plan = planArena(this.tensors, this.ops, input, output, reuse);
    plan.offsets.forEach((o, i) => { this.tensors[i].offset = o; });
    const weights = new Uint8Array(this.wlen);
    let at = 0;
    for (const c of this.chunks) { weights.set(c, at); at += c.length; }
    return {
      meta: {
        inputTensor: input, outputTensor: output, arenaBytes: plan.arenaBytes, channelOrder: 0, resize: 1,
        cropFraction: 0.875, valueScale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225],
        pixelA: [0, 0, 0], pixelB: [0, 0, 0], ...meta,
      },
      tensors: this.tensors, ops: this.ops, weights, ...extra,
    };
  }
}

/** Integer pixel quantization constants of docs/format.md for an int8 input of scale s, zero point z. */
function pixelQuant(valueScale: number, mean: number[], std: number[], s: number, z: number) {
  return {
    pixelA: mean.map((_, c) => Math.round(2 ** 16 * valueScale / (std[c] * s))),
    pixelB: mean.map((m, c) => Math.round(2 ** 16 * (z - m / (std[c] * s)))),
  };
}

/** Per-channel multipliers that keep a layer's outputs mostly in range (K = reduction length). */
function mults(r: Rng, N: number, K: number, shift: number): Int32Array {
  const target = 40 / (Math.sqrt(K) * 64 * 80);
  return Int32Array.from({ length: N }, () => Math.min(2 ** 31 - 1, Math.floor(target * (0.25 + r.next() * 2) * 2 ** shift)));
}
const bias = (r: Rng, N: number) => Int32Array.from({ length: N }, () => r.int(-3000, 3000));

/**
 * The int8 program: conv 3x3 (scratch) -> depthwise 3x3 stride 2 -> max pool | avg pool -> add -> LUT ->
 * concat with the depthwise output -> global average pool -> reshape -> dense (scratch) -> dequantize.
 */
export function qs8Program(seed = 1, reuse = true, withOptional = true): TestProgram {
  const r = rng(seed);
  const p = new Prog();
  const vs = 1 / 255, mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225];
  const sIn = 0.019, zIn = 3;
  const x = p.tensor(DType.I8, [8, 8, 3], sIn, zIn);
  // conv 3x3, stride 1, pad 1 -> 8x8x8, ReLU clamp
  const c1 = p.tensor(DType.I8, [8, 8, 8], 0.05, -20);
  const w1 = r.i8(8 * 9 * 3, -127, 127);
  const conv = packQs8Gemm(w1, 8, 9, 3, bias(r, 8), mults(r, 8, 27, 36));
  const Hp = 7 + 2 + 1, Wp = 7 + 2 + 1;
  p.op(Op.Conv2dQs8, [x], c1, [3, 3, 1, 1, 1, 1, 1, 1, 36, -20, 127],
    { weights: p.weights(conv), scratch: p.scratch(Hp * Wp * ceil4(3) * 2 + 4 * 9) });
  // depthwise 3x3, stride 2, pad 1 -> 4x4x8
  const s2 = 0.04, z2 = 7;
  const d2 = p.tensor(DType.I8, [4, 4, 8], s2, z2);
  const wd = r.i8(9 * 8, -127, 127);
  p.op(Op.DwConv2dQs8, [c1], d2, [3, 3, 2, 2, 1, 1, 1, 1, 33, -128, 127],
    { weights: p.weights(packQs8Depthwise(wd, 8, 3, 3, bias(r, 8), mults(r, 8, 9, 33))) });
  // max pool and average pool 3x3 stride 1 pad 1 keep the quantization
  const mp = p.tensor(DType.I8, [4, 4, 8], s2, z2);
  p.op(Op.MaxPoolQs8, [d2], mp, [3, 3, 1, 1, 1, 1]);
  const ap = p.tensor(DType.I8, [4, 4, 8], s2, z2);
  p.op(Op.AvgPoolQs8, [d2], ap, [2, 2, 1, 1, 1, 1]);
  // add: y = a + b at scale 0.75 s2 (a gain of 4/3 > 1: shift below 31)
  const ad = p.tensor(DType.I8, [4, 4, 8], 0.75 * s2, -3);
  const m = Math.round(2 ** 27 / 0.75);
  p.op(Op.AddQs8, [mp, ap], ad, [m, m, 27, -128, 127]);
  // LUT (sigmoid-like) into the depthwise output's quantization, so that concat is a pure copy
  const lt = p.tensor(DType.I8, [4, 4, 8], s2, z2);
  const table = buildQs8Lut((v) => Math.tanh(v) * 3, 1.5 * s2, -3, s2, z2);
  p.op(Op.LutQs8, [ad], lt, [], { weights: p.weights(new Uint8Array(table.buffer)) });
  const cat = p.tensor(DType.I8, [4, 4, 16], s2, z2);
  p.op(Op.Concat, [lt, d2], cat);
  // global average pool: mult / 2^shift = 1 / 16 (same scale)
  const gp = p.tensor(DType.I8, [1, 1, 16], 0.8 * s2, 1);
  p.op(Op.GlobalAvgPoolQs8, [cat], gp, [Math.round(2 ** 34 / 16 / 0.8), 34]);
  const rs = p.tensor(DType.I8, [2, 2, 4], 0.8 * s2, 1);
  p.op(Op.Reshape, [gp], rs);
  const dn = p.tensor(DType.I8, [1, 1, 10], 0.1, -5);
  const wdn = r.i8(10 * 16, -127, 127);
  p.op(Op.DenseQs8, [rs], dn, [37, -128, 127],
    { weights: p.weights(packQs8Gemm(wdn, 10, 1, 16, bias(r, 10), mults(r, 10, 16, 37))), scratch: p.scratch(ceil4(16) * 2 + 16) });
  const out = p.tensor(DType.F32, [1, 1, 10]);
  p.op(Op.Dequantize, [dn], out);
  const program = p.finish(x, out, { valueScale: vs, mean, std, ...pixelQuant(vs, mean, std, sIn, zIn) }, reuse,
    withOptional ? { labels: Array.from({ length: 10 }, (_, i) => `class ${i}`), provenance: { tool: "runtime.test", seed } } : {});
  return { name: `qs8 program (seed ${seed}${reuse ? "" : ", no arena reuse"})`, program, bytes: writeQwm(program) };
}

/**
 * The f32 program: conv 3x3 (scratch) -> depthwise 3x3 stride 2 -> max pool | avg pool -> add -> sigmoid ->
 * concat -> global average pool -> reshape -> dense -> quantize -> dequantize.
 */
export function f32Program(seed = 2, reuse = true): TestProgram {
  const r = rng(seed);
  const p = new Prog();
  const x = p.tensor(DType.F32, [8, 8, 3]);
  const c1 = p.tensor(DType.F32, [8, 8, 8]);
  const K = 27;
  p.op(Op.Conv2dF32, [x], c1, [3, 3, 1, 1, 1, 1, 1, 1, f32Bits(0), f32Bits(6)],
    { weights: p.weights(packF32Gemm(r.f32(8 * K, 0.5), 8, K, r.f32(8, 0.2))), scratch: p.scratch(16 * K * 4) });
  const d2 = p.tensor(DType.F32, [4, 4, 8]);
  p.op(Op.DwConv2dF32, [c1], d2, [3, 3, 2, 2, 1, 1, 1, 1, f32Bits(-Infinity), f32Bits(Infinity)],
    { weights: p.weights(packF32Depthwise(r.f32(8 * 9, 0.5), 8, 3, 3, r.f32(8, 0.1))) });
  const mp = p.tensor(DType.F32, [4, 4, 8]);
  p.op(Op.MaxPoolF32, [d2], mp, [3, 3, 1, 1, 1, 1]);
  const ap = p.tensor(DType.F32, [4, 4, 8]);
  p.op(Op.AvgPoolF32, [d2], ap, [2, 2, 1, 1, 1, 1]);
  const ad = p.tensor(DType.F32, [4, 4, 8]);
  p.op(Op.AddF32, [mp, ap], ad, [f32Bits(-Infinity), f32Bits(Infinity)]);
  const sg = p.tensor(DType.F32, [4, 4, 8]);
  p.op(Op.ActF32, [ad], sg, [2, f32Bits(0), f32Bits(0)]);
  const cat = p.tensor(DType.F32, [4, 4, 16]);
  p.op(Op.Concat, [sg, d2], cat);
  const gp = p.tensor(DType.F32, [1, 1, 16]);
  p.op(Op.GlobalAvgPoolF32, [cat], gp);
  const rs = p.tensor(DType.F32, [4, 1, 4]);
  p.op(Op.Reshape, [gp], rs);
  const dn = p.tensor(DType.F32, [1, 1, 10]);
  p.op(Op.DenseF32, [rs], dn, [f32Bits(-Infinity), f32Bits(Infinity)],
    { weights: p.weights(packF32Gemm(r.f32(10 * 16, 0.7), 10, 16, r.f32(10, 0.1))) });
  const q = p.tensor(DType.I8, [1, 1, 10], 0.01, 4);
  p.op(Op.Quantize, [dn], q);
  const out = p.tensor(DType.F32, [1, 1, 10]);
  p.op(Op.Dequantize, [q], out);
  const program = p.finish(x, out, {}, reuse);
  return { name: `f32 program (seed ${seed}${reuse ? "" : ", no arena reuse"})`, program, bytes: writeQwm(program) };
}

// ---- inputs ----------------------------------------------------------------------------------------------

export function randomPixels(seed: number, n: number): Uint8Array {
  const r = rng(seed);
  return Uint8Array.from({ length: n }, (_, i) => (i % 17 === 0 ? r.pick([0, 255]) : r.int(0, 255)));
}

/** Normalized floats; with `special`, some NaN, infinities, huge values and exact rounding ties. */
export function randomF32(seed: number, n: number, special: boolean, scale = 0): Float32Array {
  const r = rng(seed);
  const v = r.f32(n, 2.5);
  if (special) {
    for (let i = 0; i < n; i += 7) {
      v[i] = r.pick([NaN, Infinity, -Infinity, 1e30, -1e30, 0, -0]);
      if (scale > 0 && i + 3 < n) v[i + 3] = f((r.int(-100, 100) + 0.5) * scale);
    }
  }
  return v;
}

// ---- the reference: the kernels, step by step --------------------------------------------------------------

const elem = (t: TensorDesc) => (t.dtype === DType.F32 ? 4 : 1);

function roundHalfAway(y: number): number {
  return Math.sign(y) * Math.round(Math.abs(y));
}

/** clamp(round_half_away(x / scale) + zp) in f32, NaN -> zp (as the runtime does). */
export function quantizeRef(x: number, scale: number, zp: number): number {
  const y = f(x / f(scale));
  if (Number.isNaN(y)) return zp;
  const q = roundHalfAway(y) + zp;
  return q < -128 ? -128 : q > 127 ? 127 : q;
}

/** Input tensor bytes of one image from pixels, docs/format.md. */
function pixelsToInput(prog: Program, px: Uint8Array): Uint8Array {
  const t = prog.tensors[prog.meta.inputTensor];
  const C = t.shape[2], n = t.shape[0] * t.shape[1] * C;
  if (t.dtype === DType.I8) {
    const out = new Int8Array(n);
    for (let i = 0; i < n; i++) {
      const c = i % C;
      const p = px[i] * prog.meta.pixelA[c] + prog.meta.pixelB[c]; // < 2^53: exact
      const q = Math.floor((p + 32768 - (p < 0 ? 1 : 0)) / 65536);
      out[i] = q < -128 ? -128 : q > 127 ? 127 : q;
    }
    return new Uint8Array(out.buffer);
  }
  const out = new Float32Array(n);
  const vs = f(prog.meta.valueScale);
  for (let i = 0; i < n; i++) {
    const c = i % C;
    out[i] = f(f(f(px[i] * vs) - f(prog.meta.mean[c])) / f(prog.meta.std[c]));
  }
  return new Uint8Array(out.buffer);
}

function f32ToInput(prog: Program, x: Float32Array): Uint8Array {
  const t = prog.tensors[prog.meta.inputTensor];
  if (t.dtype === DType.F32) return new Uint8Array(x.slice().buffer);
  return new Uint8Array(Int8Array.from(x, (v) => quantizeRef(v, t.scale, t.zeroPoint)).buffer);
}

/**
 * Runs one image through the program by calling the kernel exports in op order, every tensor in its own block.
 * Returns every tensor's bytes (index = tensor id); the output is tensors[meta.outputTensor].
 */
export function referenceRun(h: KernelHost, prog: Program, input: Uint8Array): Uint8Array[] {
  const T = prog.tensors;
  h.reset();
  const ptr = T.map((t) => h.alloc(Math.max(16, tensorBytes(t))));
  const pw0 = h.put(prog.weights.length ? prog.weights : new Uint8Array(16));
  new Uint8Array(h.exports.memory.buffer, ptr[prog.meta.inputTensor], input.length).set(input);
  const mem = () => h.exports.memory.buffer;
  const i32 = (v: number) => v | 0;
  const fl = (bits: number) => new Float32Array(new Int32Array([bits]).buffer)[0];
  for (const op of prog.ops) {
    const x = T[op.inputs[0]], y = T[op.output];
    const X = ptr[op.inputs[0]], Y = ptr[op.output];
    const S = op.scratch !== undefined ? ptr[op.scratch] : 0;
    const pw = pw0 + (op.weights?.offset ?? 0);
    const [H, W, C] = x.shape, [OH, OW, N] = y.shape;
    const P = op.params.map(i32);
    const n = tensorBytes(y) / elem(y);
    switch (op.op) {
      case Op.Conv2dQs8:
        h.fn("qs8_conv2d")(X, H, W, C, x.zeroPoint, Y, OH, OW, N, ...P.slice(0, 8), pw, P[8], y.zeroPoint, P[9], P[10], S);
        break;
      case Op.DwConv2dQs8:
        h.fn("qs8_dwconv2d")(X, H, W, C, x.zeroPoint, Y, OH, OW, ...P.slice(0, 8), pw, P[8], y.zeroPoint, P[9], P[10]);
        break;
      case Op.DenseQs8:
        h.fn("qs8_fully_connected")(1, N, H * W * C, X, x.zeroPoint, pw, P[0], y.zeroPoint, P[1], P[2], Y, S);
        break;
      case Op.MaxPoolQs8:
        h.fn("qs8_maxpool2d")(X, H, W, C, Y, OH, OW, ...P, 1, 1, -128, 127);
        break;
      case Op.AvgPoolQs8:
        h.fn("qs8_avgpool2d")(X, H, W, C, x.zeroPoint, Y, OH, OW, ...P, 1, 1, -128, 127);
        break;
      case Op.GlobalAvgPoolQs8:
        h.fn("qs8_global_avgpool_requant")(X, H * W, C, x.zeroPoint, Y, P[0], P[1], y.zeroPoint, -128, 127);
        break;
      case Op.AddQs8: {
        const b = T[op.inputs[1]];
        h.fn("qs8_add")(X, x.zeroPoint, P[0], ptr[op.inputs[1]], b.zeroPoint, P[1], Y, n, P[2], y.zeroPoint, P[3], P[4]);
        break;
      }
      case Op.Concat: {
        const pp = h.put(Uint32Array.from(op.inputs, (t) => ptr[t]));
        const cc = h.put(Int32Array.from(op.inputs, (t) => T[t].shape[2]));
        h.fn("concat_channels")(elem(y), OH * OW, op.inputs.length, pp, cc, Y);
        break;
      }
      case Op.LutQs8:
        h.fn("qs8_lut")(X, Y, n, pw);
        break;
      case Op.Quantize: {
        const xs = new Float32Array(mem(), X, n);
        const ys = new Int8Array(mem(), Y, n);
        for (let i = 0; i < n; i++) ys[i] = quantizeRef(xs[i], y.scale, y.zeroPoint);
        break;
      }
      case Op.Dequantize: {
        const xs = new Int8Array(mem(), X, n);
        const ys = new Float32Array(mem(), Y, n);
        for (let i = 0; i < n; i++) ys[i] = f((xs[i] - x.zeroPoint) * f(x.scale));
        break;
      }
      case Op.Reshape:
        new Uint8Array(mem(), Y, tensorBytes(y)).set(new Uint8Array(mem(), X, tensorBytes(y)));
        break;
      case Op.Conv2dF32:
        h.fn("f32_conv2d")(X, H, W, C, Y, OH, OW, N, ...P.slice(0, 8), pw, fl(P[8]), fl(P[9]), S);
        break;
      case Op.DwConv2dF32:
        h.fn("f32_dwconv2d")(X, H, W, C, Y, OH, OW, ...P.slice(0, 8), pw, fl(P[8]), fl(P[9]));
        break;
      case Op.DenseF32:
        h.fn("f32_fully_connected")(1, N, H * W * C, X, pw, fl(P[0]), fl(P[1]), Y);
        break;
      case Op.MaxPoolF32:
        h.fn("f32_maxpool2d")(X, H, W, C, Y, OH, OW, ...P, 1, 1);
        break;
      case Op.AvgPoolF32:
        h.fn("f32_avgpool2d")(X, H, W, C, Y, OH, OW, ...P, 1, 1);
        break;
      case Op.GlobalAvgPoolF32:
        h.fn("f32_global_avgpool")(X, H, W, C, Y);
        break;
      case Op.AddF32:
        h.fn("f32_add")(X, ptr[op.inputs[1]], Y, n, fl(P[0]), fl(P[1]));
        break;
      case Op.ActF32:
        h.fn("f32_activation")(X, Y, n, P[0], fl(P[1]), fl(P[2]));
        break;
      default:
        throw new Error(`reference: op ${op.op} not handled`);
    }
  }
  return T.map((t, i) => new Uint8Array(mem(), ptr[i], tensorBytes(t)).slice());
}

/** Reference outputs of a batch, concatenated. */
export function referenceBatch(h: KernelHost, prog: Program, kind: "pixels" | "f32", data: Uint8Array | Float32Array, batch: number): Uint8Array {
  const inT = prog.tensors[prog.meta.inputTensor];
  const per = inT.shape[0] * inT.shape[1] * inT.shape[2];
  const outs: Uint8Array[] = [];
  for (let b = 0; b < batch; b++) {
    const input = kind === "pixels"
      ? pixelsToInput(prog, (data as Uint8Array).subarray(b * per, (b + 1) * per))
      : f32ToInput(prog, (data as Float32Array).subarray(b * per, (b + 1) * per));
    outs.push(referenceRun(h, prog, input)[prog.meta.outputTensor]);
  }
  const all = new Uint8Array(outs.reduce((a, o) => a + o.length, 0));
  let at = 0;
  for (const o of outs) { all.set(o, at); at += o.length; }
  return all;
}

// ---- the runtime -----------------------------------------------------------------------------------------

export interface Loaded { ptr: number; code: number }

/** Copies a .qwm into wasm memory and loads it; returns the status code (0: ok). */
export function loadModel(h: KernelHost, bytes: Uint8Array, memLimit = 0): Loaded {
  h.reset();
  const ptr = h.put(bytes.length ? bytes : new Uint8Array(1));
  return { ptr, code: h.fn("qwm_load")(ptr, bytes.length, memLimit) | 0 };
}

/** Runs a batch through the loaded model; returns the status code and the output bytes. */
export function runtimeBatch(h: KernelHost, kind: "pixels" | "f32", data: Uint8Array | Float32Array, batch: number): { code: number; out: Uint8Array } {
  const src = h.put(data);
  const ob = h.fn("qwm_output_bytes")();
  const out = h.alloc(Math.max(16, ob * batch));
  const code = h.fn(kind === "pixels" ? "qwm_run_pixels" : "qwm_run_f32")(src, batch, out) | 0;
  return { code, out: new Uint8Array(h.exports.memory.buffer, out, ob * batch).slice() };
}

/** Error code fields. */
export const errKind = (code: number) => code >>> 24;
export const errSection = (code: number) => (code >>> 16) & 0xff;
export const errField = (code: number) => code & 0xffff;

/** One comparison of test (1): the runtime against the step-by-step reference on one build. */
export interface RunCheck { name: string; ok: boolean; detail: string; out: string }

const hex = (b: Uint8Array) => Array.from(b, (v) => v.toString(16).padStart(2, "0")).join("");

/** Runs every program x entry point on `h` through the runtime and the reference; compares bytes. */
export function runtimeChecks(h: KernelHost): RunCheck[] {
  const results: RunCheck[] = [];
  const batch = 3;
  for (const tp of [qs8Program(1), f32Program(2), qs8Program(3, false), f32Program(4, false)]) {
    const inT = tp.program.tensors[tp.program.meta.inputTensor];
    const per = inT.shape[0] * inT.shape[1] * inT.shape[2];
    for (const kind of ["pixels", "f32"] as const) {
      const data = kind === "pixels"
        ? randomPixels(11, per * batch)
        : randomF32(12, per * batch, inT.dtype === DType.I8, inT.scale);
      const name = `${tp.name} via qwm_run_${kind}`;
      try {
        const want = referenceBatch(h, tp.program, kind, data, batch);
        const { ptr, code } = loadModel(h, tp.bytes);
        if (code !== 0) { results.push({ name, ok: false, detail: `qwm_load returned 0x${(code >>> 0).toString(16)}`, out: "" }); continue; }
        void ptr;
        const got = runtimeBatch(h, kind, data, batch);
        let i = 0;
        while (i < want.length && got.out[i] === want[i]) i++;
        const ok = got.code === 0 && got.out.length === want.length && i === want.length;
        results.push({ name, ok, detail: ok ? "" : `code ${got.code}, first difference at byte ${i}`, out: hex(got.out) });
      } catch (e) {
        results.push({ name, ok: false, detail: String(e), out: "" });
      }
    }
  }
  return results;
}

export { Section };
