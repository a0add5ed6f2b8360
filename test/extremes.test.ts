// Numerical extremes: every input and weight at -128 / +-127 (the int8 and qs8 weight bounds) and the largest
// layers the format and the runtime's accumulator bound allow, on every build (SIMD and no-SIMD in Node, the
// relaxed build in Deno), each output equal to an exact BigInt reference: no intermediate overflow anywhere,
// and requantization saturating at the int8 bounds. One step past each bound is refused at load. Also: a dead
// output channel (weights all zero, a bias) is packed without its bias wrapping around.
//
// The layers (x = -128 with zero point 127, i.e. x - zx = -255, unless said):
//   dense, K = 66,308: the largest K with |w| = 127 everywhere (255 * 127 * K + |bias| <= 2^31 - 1), max bias
//   conv 3x3 over 7,364 channels (K = 66,276), random +-127 weights
//   depthwise 255x255 (65,025 taps), weights -127 / +127, and x = +127 with zero point -128
//   global average pool over 2901 x 2901 pixels (255 * P <= 2^31 - 1)
//   residual add at gain 128 (shift 24) and at shift 62; max / average pools 255x255
//   dense to 65,535 outputs (the widest tensor), an average pool over a 65,535-pixel row
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DType, ErrorKind, Field, Op, Section } from "../assembly/runtime/schema.ts";
import { packQs8Depthwise, packQs8Gemm } from "../src/pack/layout.ts";
import { planArena } from "../src/pack/plan.ts";
import { writeQwm, type OpDesc, type Program, type TensorDesc } from "../src/pack/qwm.ts";
import { lowerFloat, lowerQuantized } from "../src/pack/lower.ts";
import { quantizeGraph } from "../src/quantize/graph.ts";
import { minMaxRanges } from "../src/calibrate/minmax.ts";
import { Runner } from "../src/engine/runner.ts";
import { KernelHost } from "../src/wasm/kernels.ts";
import { nodeBuilds, readBuild } from "../src/wasm/module.ts";
import type { Graph } from "../src/ir/graph.ts";
import { quantizeRef } from "./helpers/runtime_programs.ts";
import { rng } from "./helpers/ref.ts";
import { findTool, ROOT, testIf } from "./helpers/tools.ts";

const I32_MAX = 2 ** 31 - 1;
const ceil4 = (n: number) => (n + 3) & ~3;

/** rshift_round(p, s) with p, s BigInt-exact; then + zp and the clamp (docs/kernels.md). */
function requant(acc: bigint, mult: number, shift: number, zp: number, lo = -128, hi = 127): number {
  const p = acc * BigInt(mult);
  const r = Number((p + (1n << BigInt(shift - 1)) + (p < 0n ? -1n : 0n)) >> BigInt(shift)) + zp;
  return r < lo ? lo : r > hi ? hi : r;
}
const rdiv = (s: number, n: number) => Math.sign(s) * Math.floor((2 * Math.abs(s) + n) / (2 * n));

class Builder {
  tensors: TensorDesc[] = [];
  ops: OpDesc[] = [];
  chunks: Uint8Array[] = [];
  w = 0;
  t(shape: [number, number, number], zp = 0, scale = 0.05, dtype = DType.I8): number {
    this.tensors.push({ dtype, shape, offset: 0, scale: dtype === DType.I8 ? scale : 0, zeroPoint: dtype === DType.I8 ? zp : 0 });
    return this.tensors.length - 1;
  }
  scratch(bytes: number): number {
    const b = Math.max(16, bytes);
    return this.t(b <= 4096 ? [1, 1, b] : [1, Math.ceil(b / 4096), 4096], 0, 0, DType.U8);
  }
  weights(b: Uint8Array) {
    const offset = this.w;
    this.chunks.push(b);
    const pad = (16 - (b.length & 15)) & 15;
    if (pad) this.chunks.push(new Uint8Array(pad));
    this.w += b.length + pad;
    return { offset, bytes: b.length };
  }
  op(op: Op, inputs: number[], output: number, params: number[] = [], extra: Partial<OpDesc> = {}) {
    this.ops.push({ op, inputs, output, params, ...extra });
  }
  /** Pixels map to the int8 input as x = (v * A + B) >> 16: A = 0, B = c << 16 gives the constant c. */
  bytes(input: number, output: number, A: number, B: number): Uint8Array {
    const plan = planArena(this.tensors, this.ops, input, output, false);
    plan.offsets.forEach((o, i) => { this.tensors[i].offset = o; });
    const weights = new Uint8Array(this.w);
    let at = 0;
    for (const c of this.chunks) { weights.set(c, at); at += c.length; }
    const p: Program = {
      meta: { inputTensor: input, outputTensor: output, arenaBytes: plan.arenaBytes, channelOrder: this.tensors[input].shape[2] === 1 ? 2 : 0, resize: 0,
        cropFraction: 1, valueScale: 1 / 255, mean: [0, 0, 0], std: [1, 1, 1], pixelA: [A, A, A], pixelB: [B, B, B] },
      tensors: this.tensors, ops: this.ops, weights,
    };
    return writeQwm(p);
  }
}

interface Case { name: string; bytes: Uint8Array; pixels: Uint8Array; want: number[] | null /* null: refused at load */; refusal?: [ErrorKind, Section, Field] }
const K16 = 1 << 16;

function denseCase(K: number, x: number, zx: number, name: string, N = 8): Case {
  const b = new Builder();
  const inp = b.t([2, K / 2, 1], zx);
  const out = b.t([1, 1, N], 0);
  const sign = (n: number) => (n % 2 ? -1 : 1);
  const w = Int8Array.from({ length: N * K }, (_, i) => 127 * sign(Math.floor(i / K)));
  const room = Math.max(0, I32_MAX - 255 * 127 * K);
  const bias = Int32Array.from({ length: N }, (_, n) => [room, -room, 0, room][n % 4]);
  const mult = Int32Array.from({ length: N }, (_, n) => [I32_MAX, 1 << 30, 12345, 1, 0, I32_MAX, 7, 1 << 20][n % 8]);
  const shift = 31;
  b.op(Op.DenseQs8, [inp], out, [shift, -128, 127], { weights: b.weights(packQs8Gemm(w, N, 1, K, bias, mult)), scratch: b.scratch(ceil4(K) * 2 + 16) });
  const want = Array.from({ length: N }, (_, n) => requant(BigInt(bias[n]) + BigInt((x - zx) * 127 * sign(n)) * BigInt(K), mult[n], shift, 0));
  const fits = 255 * 127 * K <= I32_MAX;
  return { name, bytes: b.bytes(inp, out, 0, x * K16), pixels: new Uint8Array(K), want: fits ? want : null, refusal: [ErrorKind.Range, Section.Ops, Field.WeightValues] };
}

function convCase(): Case {
  const r = rng(5);
  const C = 7364, N = 4, K = 9 * C, zx = 127;
  const b = new Builder();
  const inp = b.t([2, K / 2, 1], zx);
  const x3 = b.t([3, 3, C], zx);
  b.op(Op.Reshape, [inp], x3);
  const out = b.t([1, 1, N], 3);
  const w = Int8Array.from({ length: N * K }, (_, i) => (Math.floor(i / K) === 0 ? -127 : r.next() < 0.5 ? -127 : 127));
  const bias = Int32Array.from([0, 1000, -1000, 0]);
  const mult = Int32Array.from([I32_MAX, 1 << 24, 1 << 16, 99]);
  const shift = 40;
  b.op(Op.Conv2dQs8, [x3], out, [3, 3, 1, 1, 0, 0, 1, 1, shift, -128, 127], { weights: b.weights(packQs8Gemm(w, N, 9, C, bias, mult)), scratch: b.scratch(3 * 3 * ceil4(C) * 2 + 4 * 9) });
  // w is [N][taps][C]; x - zx = -255 everywhere
  const want = Array.from({ length: N }, (_, n) => {
    let s = 0;
    for (let k = 0; k < K; k++) s += -255 * w[n * K + k];
    return requant(BigInt(bias[n] + s), mult[n], shift, 3);
  });
  return { name: "conv 3x3 over 7,364 channels (K = 66,276), x = -128, zero point 127, +-127 weights", bytes: b.bytes(inp, out, 0, -128 * K16), pixels: new Uint8Array(K), want };
}

function dwCase(x: number, zx: number): Case {
  const C = 8, T = 255 * 255;
  const b = new Builder();
  const inp = b.t([8, T, 1], zx);
  const x3 = b.t([255, 255, C], zx);
  b.op(Op.Reshape, [inp], x3);
  const out = b.t([1, 1, C], 0);
  const w = Int8Array.from({ length: T * C }, (_, i) => ((i % C) < 4 ? -127 : 127)); // [T][C]
  const room = I32_MAX - 255 * 127 * T;
  const bias = Int32Array.from({ length: C }, (_, c) => [room, -room, 0, 17][c % 4]);
  const mult = Int32Array.from({ length: C }, (_, c) => [I32_MAX, 1 << 30, 1 << 8, 3][c % 4]);
  const shift = 31;
  b.op(Op.DwConv2dQs8, [x3], out, [255, 255, 1, 1, 0, 0, 1, 1, shift, -128, 127], { weights: b.weights(packQs8Depthwise(w, C, 255, 255, bias, mult)) });
  const want = Array.from({ length: C }, (_, c) => requant(BigInt(bias[c]) + BigInt((x - zx) * (c < 4 ? -127 : 127)) * BigInt(T), mult[c], shift, 0));
  return { name: `depthwise 255x255 (65,025 taps), x = ${x}, zero point ${zx}, weights -127 / 127, max biases`, bytes: b.bytes(inp, out, 0, x * K16), pixels: new Uint8Array(8 * T), want };
}

function gapCase(H: number, W: number, mult: number, shift: number): Case {
  const b = new Builder();
  const inp = b.t([H, W, 1], 127);
  const out = b.t([1, 1, 1], -5);
  b.op(Op.GlobalAvgPoolQs8, [inp], out, [mult, shift]);
  const P = H * W;
  const fits = 255 * P <= I32_MAX;
  return {
    name: `global average pool over ${H} x ${W} = ${P} pixels of -128 (zero point 127), mult ${mult} / 2^${shift}`,
    bytes: b.bytes(inp, out, 0, -128 * K16), pixels: new Uint8Array(P), want: fits ? [requant(BigInt(-255 * P), mult, shift, -5)] : null,
    refusal: [ErrorKind.Range, Section.Ops, Field.InputId],
  };
}

function addCase(x: number, za: number, shift: number): Case {
  const b = new Builder();
  const inp = b.t([4, 4, 3], za);
  const out = b.t([4, 4, 3], 1);
  const m = I32_MAX;
  b.op(Op.AddQs8, [inp, inp], out, [m, m, shift, -128, 127]);
  const one = requant(BigInt(x - za) * BigInt(m) * 2n, 1, shift, 1);
  return { name: `residual add of ${x} (zero point ${za}) to itself, multipliers 2^31 - 1, shift ${shift}`, bytes: b.bytes(inp, out, 0, x * K16), pixels: new Uint8Array(48), want: Array(48).fill(one) };
}

function poolCase(): Case {
  const r = rng(9);
  const b = new Builder();
  const z = -3;
  const inp = b.t([255, 255, 3], z);
  const mx = b.t([1, 1, 3], z), av = b.t([1, 1, 3], z), cat = b.t([1, 1, 6], z);
  b.op(Op.MaxPoolQs8, [inp], mx, [255, 255, 1, 1, 0, 0]);
  b.op(Op.AvgPoolQs8, [inp], av, [255, 255, 1, 1, 0, 0]);
  b.op(Op.Concat, [mx, av], cat);
  // x = v - 128 from pixels 0 / 255 (A = 1 << 16, B = -128 << 16): -128 or 127
  const px = Uint8Array.from({ length: 255 * 255 * 3 }, () => (r.next() < 0.6 ? 0 : 255));
  const want: number[] = [];
  for (const kind of ["max", "avg"]) for (let c = 0; c < 3; c++) {
    let m = -128, s = 0;
    for (let i = c; i < px.length; i += 3) { const x = px[i] - 128; m = Math.max(m, x); s += x - z; }
    want.push(kind === "max" ? m : Math.max(-128, Math.min(127, z + rdiv(s, 255 * 255))));
  }
  return { name: "max and average pools 255x255 over -128 / 127", bytes: b.bytes(inp, cat, K16, -128 * K16), pixels: px, want };
}

function widestCase(): Case {
  const r = rng(11);
  const N = 65535, K = 4;
  const b = new Builder();
  const inp = b.t([1, 4, 1], 0);
  const out = b.t([1, 1, N], 0);
  const w = Int8Array.from({ length: N * K }, () => (r.next() < 0.5 ? -127 : 127));
  const bias = Int32Array.from({ length: N }, () => r.int(-1000, 1000));
  const mult = Int32Array.from({ length: N }, () => r.int(0, I32_MAX));
  b.op(Op.DenseQs8, [inp], out, [31, -128, 127], { weights: b.weights(packQs8Gemm(w, N, 1, K, bias, mult)), scratch: b.scratch(ceil4(K) * 2 + 16) });
  const px = Uint8Array.of(0, 255, 255, 0);
  const xs = Array.from(px, (v) => v - 128);
  const want = Array.from({ length: N }, (_, n) => requant(BigInt(bias[n] + xs.reduce((a, x, k) => a + x * w[n * K + k], 0)), mult[n], 31, 0));
  return { name: "dense to 65,535 outputs (the widest tensor), +-127 weights, random multipliers", bytes: b.bytes(inp, out, K16, -128 * K16), pixels: px, want };
}

function rowCase(): Case {
  const r = rng(13);
  const b = new Builder();
  const inp = b.t([1, 65535, 1], 0);
  const out = b.t([1, 257, 1], 0);
  b.op(Op.AvgPoolQs8, [inp], out, [1, 255, 1, 255, 0, 0]);
  const px = Uint8Array.from({ length: 65535 }, () => (r.next() < 0.5 ? 0 : 255));
  const want = Array.from({ length: 257 }, (_, o) => {
    let s = 0;
    for (let k = 0; k < 255; k++) s += px[o * 255 + k] - 128;
    return Math.max(-128, Math.min(127, rdiv(s, 255)));
  });
  return { name: "average pool 1x255 over a 65,535-pixel row", bytes: b.bytes(inp, out, K16, -128 * K16), pixels: px, want };
}

const cases: Case[] = [
  denseCase(66308, -128, 127, "dense K = 66,308 (largest with |w| = 127), x = -128, zero point 127, max biases"),
  denseCase(66308, 127, -128, "dense K = 66,308, x = 127, zero point -128"),
  denseCase(66312, -128, 127, "dense K = 66,312: one step past the accumulator bound"),
  convCase(),
  dwCase(-128, 127),
  dwCase(127, -128),
  gapCase(2901, 2901, Math.round(2 ** 54 / (2901 * 2901)), 54),
  gapCase(2901, 2901, Math.round(2 ** 54 / (2901 * 2901) / 4), 54),
  gapCase(2903, 2901, 1 << 20, 54),
  addCase(-128, 127, 24),
  addCase(127, -128, 24),
  addCase(127, -128, 62),
  poolCase(),
  widestCase(),
  rowCase(),
];

const results = new Map<string, number[]>(); // SIMD outputs, for the relaxed build

for (const build of nodeBuilds()) {
  test(`${build}: extreme layers equal the exact reference; one step past each bound is refused`, async () => {
    const h = await KernelHost.create(readBuild(build));
    for (const c of cases) {
      h.reset();
      const p = h.put(c.bytes);
      const st = h.fn("qwm_load")(p, c.bytes.length, 0) >>> 0;
      if (c.want === null) {
        const [k, s, f] = c.refusal!;
        assert.is(st, ((k << 24) | (s << 16) | f) >>> 0, `${c.name}: status 0x${st.toString(16)}`);
        continue;
      }
      assert.is(st, 0, `${c.name}: refused with 0x${st.toString(16)}`);
      const src = h.put(c.pixels), out = h.alloc(Math.max(16, h.fn("qwm_output_bytes")()));
      assert.is(h.fn("qwm_run_pixels")(src, 1, out), 0);
      const got = Array.from(new Int8Array(h.exports.memory.buffer, out, c.want.length));
      const bad = got.findIndex((v, i) => v !== c.want![i]);
      assert.is(bad, -1, `${c.name}: output ${bad} is ${got[bad]}, the reference ${c.want[bad]}`);
      if (build === "simd") results.set(c.name, got);
    }
    // saturated outputs were reached (the requantization clamps), and unsaturated ones too
    const all = cases.filter((c) => c.want).flatMap((c) => c.want!);
    assert.ok(all.includes(-128) && all.includes(127) && all.some((v) => v > -128 && v < 127));
  });
}

test("int8 inputs from extreme floats (qwm_run_f32): +-Inf, +-3.4e38, NaN, -0 quantize to the bounds and the zero point", async () => {
  const b = new Builder();
  const zx = 5, s = 0.03;
  const inp = b.t([1, 8, 1], zx, s), out = b.t([1, 8, 1], zx, s);
  b.op(Op.MaxPoolQs8, [inp], out, [1, 1, 1, 1, 0, 0]);
  const bytes = b.bytes(inp, out, 0, 0);
  const xs = Float32Array.of(Infinity, -Infinity, 3.4e38, -3.4e38, NaN, -0, 0.045, -0.045);
  for (const build of nodeBuilds()) {
    const r = await Runner.create(readBuild(build), bytes);
    assert.equal(Array.from(r.runF32(xs) as Int8Array), Array.from(xs, (x) => quantizeRef(x, s, zx)), build);
  }
  assert.equal(Array.from(xs, (x) => quantizeRef(x, s, zx)).slice(0, 6), [127, -128, 127, -128, zx, zx]);
});

const deno = findTool("deno");
testIf(!!deno, "relaxed build (Deno): the same bytes as the SIMD build on every extreme layer", "npm package deno is not installed", () => {
  const dir = mkdtempSync(join(tmpdir(), "qwasm-extremes-"));
  try {
    for (const c of cases) {
      if (!c.want) continue;
      writeFileSync(join(dir, "m.qwm"), c.bytes);
      writeFileSync(join(dir, "px.bin"), c.pixels);
      const out = execFileSync(deno!, ["run", "--quiet", "--no-lock", "--allow-read", "test/hosts/run-qwm-deno.ts", "relaxed", join(dir, "m.qwm"), join(dir, "px.bin"), "1"],
        { cwd: ROOT, encoding: "utf8", maxBuffer: 64 << 20 });
      assert.equal(JSON.parse(out), c.want, `${c.name}: relaxed build`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a dead output channel (weights all zero, bias 0.5) keeps its bias through packing: int8 tracks float", async () => {
  const r = rng(3);
  const C = 3, N = 4;
  const weight = Float32Array.from({ length: N * C }, (_, i) => (Math.floor(i / C) === 2 ? 0 : (r.next() - 0.5)));
  const g: Graph = {
    input: { name: "x", shape: [4, 4, C] }, output: "y",
    nodes: [{ op: "conv", name: "c", input: "x", output: "y", weight, bias: Float32Array.of(0.1, -0.2, 0.5, 0.05), outChannels: N, groups: 1, act: "none",
      kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0], dilation: [1, 1] }],
    preprocess: { channelOrder: "rgb", resize: "stretch", cropFraction: 1, valueScale: 1 / 255, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
  };
  const images = Array.from({ length: 16 }, () => Float32Array.from({ length: 16 * C }, () => r.next() * 2 - 1));
  const wasm = readBuild("simd");
  const qg = quantizeGraph(g, await minMaxRanges(g, wasm, images));
  const q = await Runner.create(wasm, writeQwm(lowerQuantized(g, qg).program));
  const f = await Runner.create(wasm, writeQwm(lowerFloat(g).program));
  const { scale, zeroPoint } = qg.act.get("y")!;
  for (const x of images.slice(0, 4)) {
    const got = Array.from(q.runF32(x) as Int8Array), ref = Array.from(f.runF32(x) as Float32Array);
    for (let i = 2; i < got.length; i += N) {
      assert.ok(Math.abs((got[i] - zeroPoint) * scale - ref[i]) <= scale, `dead channel: int8 ${(got[i] - zeroPoint) * scale}, float ${ref[i]}`);
    }
  }
});

test.run();
