// The deployable SDK (sdk/): loading from every kind of source, build selection, run / classify / classifyBatch
// against plain references, preprocessing against a straightforward reference, every error class and code,
// corrupted models, dispose; the bundles in dist/ and the Deno and workerd entries.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ChannelOrder, ErrorKind, Field, Op, Resize, Section } from "../assembly/runtime/schema.ts";
import { refreshCrcs, sectionTable } from "../src/pack/qwm.ts";
import {
  loadModel, QwmError, QwmFormatError, QwmHostError, QwmInputError, QwmLimitError,
} from "../sdk/hosts/node.ts";
import { loadModel as loadModelCore } from "../sdk/core/model.ts";
import { loadModel as loadModelWorkerd } from "../sdk/hosts/workerd.ts";
import { axisTable, imageChannels, preprocess, resizeGeometry, type ImageLike, type PixelSpec } from "../sdk/core/preprocess.ts";
import { candidates, firstLowBitOp, hostSupport, isNode, LOWBIT_NAMES, LOWBIT_OP } from "../sdk/core/wasm.ts";
import { loadModelWith } from "../sdk/core/model.ts";
import { errorFromStatus } from "../sdk/core/errors.ts";
import { colorModel, denseModel, floatModel } from "./helpers/sdk_models.ts";
import { tinyNet } from "./helpers/graphs.ts";
import { lowerFloat, lowerQuantized, type QuantizedGraph } from "../src/pack/lower.ts";
import { minMaxRanges } from "../src/calibrate/minmax.ts";
import { quantizeGraph } from "../src/quantize/graph.ts";
import { applyLowBit } from "../src/quantize/lowbit.ts";
import { randomImages } from "./helpers/graphs.ts";
import { writeQwm } from "../src/pack/qwm.ts";
import { rng } from "./helpers/ref.ts";
import { findTool, testIf, ROOT } from "./helpers/tools.ts";

const wasmBytes = (b: string) => readFileSync(`${ROOT}build/qwasm.${b}.wasm`);
const randomImage = (seed: number, width: number, height: number, k: 1 | 3 | 4): ImageLike => {
  const r = rng(seed);
  return { width, height, data: Uint8Array.from({ length: width * height * k }, () => r.int(0, 255)) };
};
const solid = (rgb: [number, number, number], width = 4, height = 4): ImageLike => ({
  width, height, data: Uint8Array.from({ length: width * height * 4 }, (_, i) => (i % 4 === 3 ? 255 : rgb[i % 4])),
});

/** Expects `p` to reject (or `fn` to throw) with `cls` and `code`; returns the error. */
async function rejects<T extends QwmError>(p: Promise<unknown> | (() => unknown), cls: new (...a: any[]) => T, code: string): Promise<T> {
  let threw = false, err: unknown;
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    threw = true;
    err = e;
  }
  if (!threw) assert.unreachable(`expected ${cls.name} ${code}, nothing was thrown`);
  assert.instance(err, cls, `expected ${cls.name}, got ${(err as Error)?.name}: ${(err as Error)?.message}`);
  assert.instance(err, QwmError);
  assert.is((err as QwmError).code, code, `code of: ${(err as Error).message}`);
  return err as T;
}

const jsSoftmax = (l: ArrayLike<number>) => {
  const m = Math.max(...Array.from(l));
  const e = Array.from(l, (v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};

// ---------------------------------------------------------------------------------------------------------
// Preprocessing

/** Straightforward reference: convert every pixel, resize the whole image to RW x RH, then crop. */
function refPreprocess(img: ImageLike, spec: PixelSpec): Uint8Array {
  const { width: sw, height: sh, data } = img;
  const k = data.length / (sw * sh);
  const C = spec.channels;
  // 1. channels, whole image
  const conv = new Array<number>(sw * sh * C);
  for (let p = 0; p < sw * sh; p++) {
    const R = data[p * k], G = data[p * k + (k === 1 ? 0 : 1)], B = data[p * k + (k === 1 ? 0 : 2)];
    if (C === 1) conv[p] = k === 1 ? R : Math.floor((299 * R + 587 * G + 114 * B + 500) / 1000);
    else if (spec.channelOrder === ChannelOrder.BGR) [conv[p * 3], conv[p * 3 + 1], conv[p * 3 + 2]] = [B, G, R];
    else [conv[p * 3], conv[p * 3 + 1], conv[p * 3 + 2]] = [R, G, B];
  }
  // 2. geometry
  let RW = spec.width, RH = spec.height;
  if (spec.resize === Resize.ShorterSideCrop) {
    if (spec.height * sw >= spec.width * sh) {
      RH = Math.round(spec.height / spec.crop);
      RW = Math.max(spec.width, Math.floor((2 * sw * RH + sh) / (2 * sh)));
    } else {
      RW = Math.round(spec.width / spec.crop);
      RH = Math.max(spec.height, Math.floor((2 * sh * RW + sw) / (2 * sw)));
    }
  }
  const left = Math.floor((RW - spec.width) / 2), top = Math.floor((RH - spec.height) / 2);
  // 3. bilinear resize of the whole image, exact rationals for the positions (small sizes: plain numbers)
  const axis = (i: number, src: number, R: number) => {
    let num = (2 * i + 1) * src - R; // position = num / (2R)
    const den = 2 * R;
    if (num < 0) num = 0;
    let i0 = Math.floor(num / den), rem = num - i0 * den;
    if (i0 >= src - 1) { i0 = src - 1; rem = 0; }
    return [i0, Math.min(i0 + 1, src - 1), Math.floor((4096 * rem + den) / (2 * den))];
  };
  const resized = new Uint8Array(RW * RH * C);
  for (let y = 0; y < RH; y++) for (let x = 0; x < RW; x++) {
    const [y0, y1, fy] = axis(y, sh, RH), [x0, x1, fx] = axis(x, sw, RW);
    for (let c = 0; c < C; c++) {
      const p = (yy: number, xx: number) => conv[(yy * sw + xx) * C + c];
      const v = (2048 - fy) * ((2048 - fx) * p(y0, x0) + fx * p(y0, x1)) + fy * ((2048 - fx) * p(y1, x0) + fx * p(y1, x1));
      resized[(y * RW + x) * C + c] = Math.floor((v + 2 ** 21) / 2 ** 22);
    }
  }
  // 4. crop
  const out = new Uint8Array(spec.height * spec.width * C);
  for (let y = 0; y < spec.height; y++) for (let x = 0; x < spec.width; x++) for (let c = 0; c < C; c++) {
    out[(y * spec.width + x) * C + c] = resized[((y + top) * RW + x + left) * C + c];
  }
  return out;
}

/** True bilinear in float64 (no 1/2048 rounding of the fractions), stretch mode. */
function floatBilinear(img: ImageLike, W: number, H: number): Float64Array {
  const { width: sw, height: sh, data } = img;
  const k = data.length / (sw * sh);
  const out = new Float64Array(W * H * 3);
  const pos = (i: number, src: number, n: number) => Math.min(Math.max((i + 0.5) * src / n - 0.5, 0), src - 1);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const sy = pos(y, sh, H), sx = pos(x, sw, W);
    const y0 = Math.floor(sy), x0 = Math.floor(sx), y1 = Math.min(y0 + 1, sh - 1), x1 = Math.min(x0 + 1, sw - 1);
    const fy = sy - y0, fx = sx - x0;
    for (let c = 0; c < 3; c++) {
      const p = (yy: number, xx: number) => data[(yy * sw + xx) * k + c];
      out[(y * W + x) * 3 + c] = (1 - fy) * ((1 - fx) * p(y0, x0) + fx * p(y0, x1)) + fy * ((1 - fx) * p(y1, x0) + fx * p(y1, x1));
    }
  }
  return out;
}

const spec = (o: Partial<PixelSpec>): PixelSpec => ({ height: 8, width: 8, channels: 3, channelOrder: 0, resize: 0, crop: 1, ...o });

test("preprocess: channels inferred from data length; anything else is BAD_IMAGE", async () => {
  assert.is(imageChannels({ width: 2, height: 3, data: new Uint8Array(6) }), 1);
  assert.is(imageChannels({ width: 2, height: 3, data: new Uint8Array(18) }), 3);
  assert.is(imageChannels({ width: 2, height: 3, data: new Uint8ClampedArray(24) }), 4);
  for (const bad of [
    { width: 2, height: 3, data: new Uint8Array(12) }, // 2 channels
    { width: 2, height: 3, data: new Uint8Array(7) },
    { width: 0, height: 3, data: new Uint8Array(0) },
    { width: 2.5, height: 2, data: new Uint8Array(5) },
    { width: NaN, height: 2, data: new Uint8Array(4) },
    { width: Infinity, height: 1, data: new Uint8Array(4) },
    { width: -1, height: -4, data: new Uint8Array(4) },
    { width: 1, height: 1, data: [1, 2, 3] },
    { width: 1, height: 1, data: new Float32Array(3) },
    { width: "2", height: 1, data: new Uint8Array(2) },
    null, 42, "img",
  ]) await rejects(() => imageChannels(bad), QwmInputError, "BAD_IMAGE");
});

test("preprocess: crop geometry (shorter side to size / crop, centered)", () => {
  const sq = spec({ height: 224, width: 224, resize: 1, crop: 0.875 });
  assert.equal(resizeGeometry(640, 480, sq), { rw: 341, rh: 256, left: 58, top: 16 });
  assert.equal(resizeGeometry(480, 640, sq), { rw: 256, rh: 341, left: 16, top: 58 });
  assert.equal(resizeGeometry(300, 300, sq), { rw: 256, rh: 256, left: 16, top: 16 });
  assert.equal(resizeGeometry(640, 480, { ...sq, crop: 1 }), { rw: 299, rh: 224, left: 37, top: 0 });
  // a non-square model: the box H/crop x W/crop is covered
  assert.equal(resizeGeometry(100, 100, spec({ height: 10, width: 20, resize: 1, crop: 0.5 })), { rw: 40, rh: 40, left: 10, top: 15 });
  // stretch ignores the aspect ratio
  assert.equal(resizeGeometry(640, 480, { ...sq, resize: 0 }), { rw: 224, rh: 224, left: 0, top: 0 });
});

test("preprocess: axis table: half-pixel centers, clamp to edge, fractions in 1/2048", () => {
  assert.equal(Array.from(axisTable(2, 4, 2, 0)), [0, 1, 1024, 2, 3, 1024]); // 2x down: between pixel pairs
  assert.equal(Array.from(axisTable(4, 2, 4, 0)), [0, 1, 0, 0, 1, 512, 0, 1, 1536, 1, 1, 0]); // 2x up, edges clamped
  assert.equal(Array.from(axisTable(3, 3, 3, 0)), [0, 1, 0, 1, 2, 0, 2, 2, 0]); // identity
});

test("preprocess: equals the straightforward reference (resize whole image, then crop)", () => {
  let n = 0;
  for (const [sw, sh] of [[13, 9], [9, 13], [8, 8], [3, 2], [1, 1], [40, 7], [5, 31], [16, 12]]) {
    for (const k of [1, 3, 4] as const) {
      for (const s of [
        spec({ height: 8, width: 8 }),
        spec({ height: 5, width: 7, channelOrder: 1 }),
        spec({ height: 8, width: 8, channels: 1, channelOrder: 2 }),
        spec({ height: 6, width: 6, resize: 1, crop: 0.875 }),
        spec({ height: 4, width: 6, resize: 1, crop: 0.6, channelOrder: 1 }),
        spec({ height: 7, width: 7, resize: 1, crop: 1, channels: 1, channelOrder: 2 }),
      ]) {
        const img = randomImage(sw * 131 + sh * 7 + k, sw, sh, k);
        assert.equal(Array.from(preprocess(img, s)), Array.from(refPreprocess(img, s)), `${sw}x${sh}x${k} -> ${JSON.stringify(s)}`);
        n++;
      }
    }
  }
  assert.is(n, 144);
});

test("preprocess: within 1 of float64 bilinear; identity at the model size; 2x down = rounded 2x2 mean", () => {
  const img = randomImage(5, 37, 23, 3);
  const got = preprocess(img, spec({ height: 16, width: 20 }));
  const want = floatBilinear(img, 20, 16);
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  assert.ok(worst <= 1, `max difference ${worst}`);

  const same = randomImage(6, 8, 8, 3);
  assert.equal(preprocess(same, spec({})), same.data);

  const big = randomImage(7, 8, 8, 3), half = preprocess(big, spec({ height: 4, width: 4 }));
  for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) for (let c = 0; c < 3; c++) {
    const p = (yy: number, xx: number) => big.data[(yy * 8 + xx) * 3 + c];
    const sum = p(2 * y, 2 * x) + p(2 * y, 2 * x + 1) + p(2 * y + 1, 2 * x) + p(2 * y + 1, 2 * x + 1);
    assert.is(half[(y * 4 + x) * 3 + c], Math.floor(sum / 4 + 0.5));
  }
});

test("preprocess: channel conversions: BGR, gray (rounded, ties up), gray to RGB, alpha ignored", () => {
  const px = (rgba: number[]) => ({ width: 1, height: 1, data: Uint8Array.from(rgba) });
  const one = (o: Partial<PixelSpec>) => spec({ height: 1, width: 1, ...o });
  assert.equal(Array.from(preprocess(px([10, 20, 30, 0]), one({}))), [10, 20, 30]);
  assert.equal(Array.from(preprocess(px([10, 20, 30, 99]), one({ channelOrder: 1 }))), [30, 20, 10]);
  const gray = one({ channels: 1, channelOrder: 2 });
  assert.equal(Array.from(preprocess(px([255, 0, 0]), gray)), [76]); // 76.245
  assert.equal(Array.from(preprocess(px([0, 255, 0]), gray)), [150]); // 149.685
  assert.equal(Array.from(preprocess(px([0, 0, 255, 7]), gray)), [29]); // 29.07
  assert.equal(Array.from(preprocess(px([0, 0, 250]), gray)), [29]); // 28.5: half up
  assert.equal(Array.from(preprocess(px([255, 255, 255, 0]), gray)), [255]);
  assert.equal(Array.from(preprocess(px([77]), one({}))), [77, 77, 77]);
  assert.equal(Array.from(preprocess(px([77]), one({ channelOrder: 1 }))), [77, 77, 77]);
  assert.equal(Array.from(preprocess(px([77]), gray)), [77]);
  // alpha never matters
  const a = randomImage(9, 6, 5, 4), b = { ...a, data: a.data.map((v, i) => (i % 4 === 3 ? 255 - v : v)) };
  assert.equal(preprocess(a, spec({ height: 3, width: 4 })), preprocess(b, spec({ height: 3, width: 4 })));
});

// ---------------------------------------------------------------------------------------------------------
// Loading and build selection

const color = colorModel(ChannelOrder.RGB, 4, 4, { provenance: { source: "test", method: "hand-made" } });
const dense = denseModel({ H: 3, W: 5, C: 3, N: 7, seed: 11 }); // no labels
const flt = floatModel(2, 3, 3, 4);
const pixels = (seed: number, n: number) => { const r = rng(seed); return Uint8Array.from({ length: n }, () => r.int(0, 255)); };

test("build selection: Node never picks relaxed automatically; forced builds are honored", async () => {
  assert.ok(isNode());
  assert.equal(candidates({}, undefined).includes("relaxed"), false);
  assert.equal(candidates({}, undefined), ["simd", "nosimd"]);
  assert.equal(candidates({ relaxed: 1, simd: 1, nosimd: 1 }, undefined), ["simd", "nosimd"]);
  assert.equal(candidates({ nosimd: 1 }, undefined), ["nosimd"]);
  assert.equal(candidates({}, "relaxed"), ["relaxed"]);
  // the rules, whatever this engine validates
  const all = { relaxed: true, simd: true, nosimd: true }, noRelaxed = { relaxed: false, simd: true, nosimd: true };
  assert.equal(candidates({}, undefined, all, true), ["simd", "nosimd"]);
  assert.equal(candidates({}, undefined, all, false), ["relaxed", "simd", "nosimd"]);
  assert.equal(candidates({ relaxed: 1, nosimd: 1 }, undefined, all, false), ["relaxed", "nosimd"]);
  assert.equal(candidates({}, undefined, noRelaxed, false), ["simd", "nosimd"]);
  assert.equal(candidates({}, undefined, { relaxed: false, simd: false, nosimd: true }, false), ["nosimd"]);
  assert.equal(candidates({}, "relaxed", noRelaxed, true), ["relaxed"]);

  assert.is((await loadModel(color.bytes)).info.build, "simd");
  assert.is((await loadModel(color.bytes, { build: "nosimd" })).info.build, "nosimd");
  assert.is((await loadModel(color.bytes, { wasm: { relaxed: wasmBytes("relaxed"), simd: wasmBytes("simd") } })).info.build, "simd");
  assert.is((await loadModel(color.bytes, { wasm: { nosimd: wasmBytes("nosimd") } })).info.build, "nosimd");
  await rejects(loadModel(color.bytes, { wasm: { relaxed: wasmBytes("relaxed") } }), QwmHostError, "NO_BUILD");
  // Forced relaxed: compiled if this engine validates relaxed SIMD (not Node 20 without a flag), else a host error.
  if (hostSupport().relaxed) assert.is((await loadModel(color.bytes, { build: "relaxed" })).info.build, "relaxed");
  else await rejects(loadModel(color.bytes, { build: "relaxed" }), QwmHostError, "COMPILE_FAILED");
  // A broken build: forced fails; automatic falls back to the next candidate.
  const junk = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 99]);
  await rejects(loadModel(color.bytes, { build: "simd", wasm: { simd: junk } }), QwmHostError, "COMPILE_FAILED");
  assert.is((await loadModel(color.bytes, { wasm: { simd: junk, nosimd: wasmBytes("nosimd") } })).info.build, "nosimd");
  await rejects(loadModel(color.bytes, { wasm: { simd: junk } }), QwmHostError, "NO_BUILD");
  // Not a qwasm runtime at all
  const empty = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]);
  await rejects(loadModel(color.bytes, { wasm: { simd: empty } }), QwmHostError, "BAD_BUILD");
});

test("build selection: a Node whose engine validates relaxed SIMD still picks SIMD; forcing relaxed works there", () => {
  const dir = mkdtempSync(join(tmpdir(), "qwasm-sdk-relaxed-"));
  try {
    writeFileSync(join(dir, "color.qwm"), color.bytes);
    writeFileSync(join(dir, "run.mjs"), `
      import { readFileSync } from "node:fs";
      const { loadModel } = await import(${JSON.stringify(pathToFileURL(`${ROOT}dist/sdk/node.js`).href)});
      const bytes = readFileSync(${JSON.stringify(join(dir, "color.qwm"))});
      const px = new Uint8Array(48).map((_, i) => (i * 37) & 255);
      const out = {};
      for (const build of [undefined, "relaxed"]) {
        const m = await loadModel(bytes, { build });
        out[build ?? "auto"] = { build: m.info.build, raw: Array.from(m.run(px).raw) };
      }
      console.log(JSON.stringify(out));`);
    const out = JSON.parse(execFileSync(process.execPath, ["--experimental-wasm-relaxed-simd", join(dir, "run.mjs")], { encoding: "utf8" }));
    const want = Array.from(color.ref(new Uint8Array(48).map((_, i) => (i * 37) & 255), 1));
    assert.equal(out.auto, { build: "simd", raw: want });
    assert.is(out.relaxed.build, "relaxed"); // its numbers are not checked: that is the Node bug this rule avoids
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("load: Uint8Array, ArrayBuffer, a Uint8Array view at an offset, compiled modules, every build the same", async () => {
  const want = color.ref(pixels(1, 48), 1);
  const sources = [
    color.bytes,
    color.bytes.slice().buffer,
    (() => { const b = new Uint8Array(color.bytes.length + 5); b.set(color.bytes, 5); return b.subarray(5); })(),
  ];
  for (const s of sources) assert.equal((await loadModel(s)).run(pixels(1, 48)).raw, want);
  const modules = { simd: await WebAssembly.compile(wasmBytes("simd")), nosimd: await WebAssembly.compile(wasmBytes("nosimd")) };
  for (const build of ["simd", "nosimd"] as const) {
    const m = await loadModelCore(color.bytes, { wasm: modules, build });
    assert.is(m.info.build, build);
    assert.equal(m.run(pixels(1, 48)).raw, want);
  }
  assert.is((await loadModelCore(color.bytes, { wasm: modules })).info.build, "simd");
  await rejects(loadModelCore(color.bytes), QwmHostError, "NO_BUILD");
});

test("load: file URL, file path string (Node host)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "qwasm-sdk-"));
  try {
    const file = join(dir, "color model.qwm");
    writeFileSync(file, color.bytes);
    assert.equal((await loadModel(pathToFileURL(file))).info.labels, ["red", "green", "blue"]);
    assert.equal((await loadModel(file)).info.labels, ["red", "green", "blue"]);
    assert.equal((await loadModel(pathToFileURL(file).href)).info.labels, ["red", "green", "blue"]);
    await rejects(loadModel(join(dir, "missing.qwm")), QwmInputError, "FETCH_FAILED");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

async function serve(files: Record<string, [Uint8Array, string]>): Promise<{ server: Server; base: string }> {
  const server = createServer((req, res) => {
    const f = files[req.url ?? ""];
    if (!f) { res.writeHead(404).end(); return; }
    res.writeHead(200, { "content-type": f[1], "content-length": f[0].length }).end(Buffer.from(f[0]));
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address() as { port: number };
  return { server, base: `http://127.0.0.1:${port}` };
}

test("load: over http from 127.0.0.1: URL, string, Response, Promise<Response>; wasm compiled while streaming", async () => {
  const { server, base } = await serve({
    "/color.qwm": [color.bytes, "application/octet-stream"],
    "/qwasm.simd.wasm": [wasmBytes("simd"), "application/wasm"],
    "/octet.simd.wasm": [wasmBytes("simd"), "application/octet-stream"],
  });
  const real = WebAssembly.compileStreaming;
  let streamed = 0;
  WebAssembly.compileStreaming = (s) => { streamed++; return real(s); };
  try {
    const want = color.ref(pixels(2, 48), 1);
    const simd = new URL(`${base}/qwasm.simd.wasm`);
    for (const src of [new URL(`${base}/color.qwm`), `${base}/color.qwm`, await fetch(`${base}/color.qwm`), fetch(`${base}/color.qwm`)]) {
      const m = await loadModel(src, { wasm: { simd } });
      assert.is(m.info.build, "simd");
      assert.equal(m.run(pixels(2, 48)).raw, want);
    }
    assert.is(streamed, 4, "compileStreaming used for application/wasm");
    // wasm as a Response, a Promise<Response>, and a non-wasm content type (compiled from bytes)
    for (const w of [await fetch(simd), fetch(simd), new URL(`${base}/octet.simd.wasm`)]) {
      assert.equal((await loadModel(color.bytes, { wasm: { simd: w } })).run(pixels(2, 48)).raw, want);
    }
    assert.is(streamed, 6);
    await rejects(loadModel(`${base}/missing.qwm`, { wasm: { simd } }), QwmInputError, "FETCH_FAILED");
    await rejects(loadModel(color.bytes, { wasm: { simd: new URL(`${base}/missing.wasm`) } }), QwmHostError, "FETCH_FAILED");
    await rejects(loadModel("http://127.0.0.1:1/nothing.qwm", { wasm: { simd } }), QwmInputError, "FETCH_FAILED");
  } finally {
    WebAssembly.compileStreaming = real;
    server.close();
  }
});

// ---------------------------------------------------------------------------------------------------------
// Running

test("run: pixels and normalized floats, batches, raw = reference, logits = (raw - zp) * scale", async () => {
  const m = await loadModel(dense.bytes);
  const per = 3 * 5 * 3;
  for (const batch of [1, 2, 5]) {
    const px = pixels(batch, batch * per);
    const { raw, logits } = m.run(px, { batch });
    assert.instance(raw, Int8Array);
    assert.instance(logits, Float32Array);
    assert.is(raw.length, batch * 7);
    assert.equal(raw, dense.ref(px, batch));
    assert.equal(logits, Float32Array.from(raw, (q) => (q - dense.outZp) * dense.outScale));
    // the same images as normalized floats (v / 255 quantizes to v - 128 exactly)
    const f = m.run(Float32Array.from(px, (v) => v / 255), { batch });
    assert.equal(f.raw, raw);
  }
  assert.equal(m.run(new Uint8ClampedArray(pixels(9, per))).raw, dense.ref(pixels(9, per), 1));
});

test("run: float model: raw is empty, logits are the model's floats", async () => {
  const m = await loadModel(flt.bytes);
  assert.is(m.info.input.dtype, "float32");
  assert.is(m.info.output.dtype, "float32");
  const x = rng(4).f32(3 * 18, 2);
  const { raw, logits } = m.run(x, { batch: 3 });
  assert.is(raw.length, 0);
  const want = flt.ref(x, 3);
  assert.is(logits.length, 12);
  for (let i = 0; i < 12; i++) assert.ok(Math.abs(logits[i] - want[i]) < 1e-4, `${logits[i]} vs ${want[i]}`);
  // pixels are normalized inside the runtime: (v / 255 - mean) / std
  const px = pixels(3, 18);
  const norm = Float32Array.from(px, (v, i) => (v / 255 - flt.mean[i % 3]) / flt.std[i % 3]);
  const a = m.run(px).logits, b = m.run(norm).logits;
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-4, `${a[i]} vs ${b[i]}`);
});

test("info: shapes, dtypes, labels, provenance, build, ops, bytes", async () => {
  const m = await loadModel(color.bytes);
  const i = m.info;
  assert.equal(i.input, { shape: [4, 4, 3], dtype: "int8", scale: Math.fround(1 / 255), zeroPoint: -128 });
  assert.equal(i.output, { shape: [1, 1, 3], classes: 3, dtype: "int8", scale: 0.0625, zeroPoint: -3 });
  assert.equal(i.preprocessing, { channelOrder: "rgb", resize: "stretch", crop: 1, valueScale: Math.fround(1 / 255), mean: [0, 0, 0], std: [1, 1, 1] });
  assert.equal(i.labels, ["red", "green", "blue"]);
  assert.equal(i.provenance, { method: "hand-made", source: "test" });
  assert.is(i.build, "simd");
  assert.is(i.opCount, 1);
  assert.equal(i.opCodes, [3]);
  assert.is(i.tensorCount, 3);
  assert.ok(i.arenaBytes >= 48 + 16);
  assert.is(i.modelBytes, color.bytes.length);
  assert.ok(i.wasmMemoryBytes >= 65536 && i.wasmMemoryBytes % 65536 === 0);
  assert.ok(Object.isFrozen(i));
  const d = (await loadModel(dense.bytes)).info;
  assert.equal(d.labels, ["0", "1", "2", "3", "4", "5", "6"]);
  assert.is(d.provenance, null);
});

test("classify: labels, top-K order, softmax of the dequantized logits (computed once)", async () => {
  const m = await loadModel(color.bytes);
  const top = m.classify(solid([250, 10, 20]));
  assert.is(top.length, 3); // default min(5, classes)
  assert.is(top[0].label, "red");
  assert.is(top[0].index, 0);
  assert.equal(m.classify(solid([0, 200, 30]), { topK: 1 }).map((p) => p.label), ["green"]);
  assert.equal(m.classify(solid([0, 20, 230]), { topK: 2 })[0].label, "blue");
  // scores = softmax(logits of the preprocessed pixels): sum to 1, match a JS softmax, sorted
  const img = randomImage(12, 9, 7, 4);
  const px = preprocess(img, spec({ height: 4, width: 4 }));
  const logits = m.run(px).logits;
  const want = jsSoftmax(logits);
  const got = m.classify(img, { topK: 3 });
  assert.equal(got.map((p) => p.index), [0, 1, 2].sort((a, b) => want[b] - want[a] || a - b));
  let sum = 0;
  for (const p of got) {
    assert.ok(Math.abs(p.score - want[p.index]) < 1e-12, `${p.score} vs ${want[p.index]}`);
    assert.is(p.label, ["red", "green", "blue"][p.index]);
    sum += p.score;
  }
  assert.ok(Math.abs(sum - 1) < 1e-12);
  for (let k = 1; k < got.length; k++) assert.ok(got[k - 1].score >= got[k].score);
});

test("classify: BGR and gray models convert the image's channels; crop models crop", async () => {
  const bgr = await loadModel(colorModel(ChannelOrder.BGR).bytes);
  assert.is(bgr.info.preprocessing.channelOrder, "bgr");
  assert.is(bgr.classify(solid([250, 10, 20]), { topK: 1 })[0].label, "red");
  assert.is(bgr.classify(solid([5, 10, 240]), { topK: 1 })[0].label, "blue");
  // gray model on an RGBA image: the pixels given to the runtime are the gray conversion
  const gm = denseModel({ H: 2, W: 2, C: 1, N: 3 });
  const g = await loadModel(gm.bytes);
  assert.is(g.info.preprocessing.channelOrder, "gray");
  const img = randomImage(13, 2, 2, 4);
  const gpx = preprocess(img, spec({ height: 2, width: 2, channels: 1, channelOrder: 2 }));
  assert.equal(g.classify(img, { topK: 3 }).map((p) => p.index), argsortDesc(jsSoftmax(g.run(gpx).logits)));
  // crop model: a wide image whose sides differ from its center is classified by its center
  const crop = await loadModel(colorModel(ChannelOrder.RGB, 4, 4, { resize: Resize.ShorterSideCrop, crop: 0.5 }).bytes);
  assert.equal(crop.info.preprocessing, { channelOrder: "rgb", resize: "crop", crop: 0.5, valueScale: Math.fround(1 / 255), mean: [0, 0, 0], std: [1, 1, 1] });
  const wide: ImageLike = { width: 30, height: 10, data: new Uint8Array(30 * 10 * 3) };
  for (let y = 0; y < 10; y++) for (let x = 0; x < 30; x++) {
    const c = x >= 12 && x < 18 && y >= 3 && y < 7 ? 1 : 0; // green center, red elsewhere
    wide.data[(y * 30 + x) * 3 + c] = 255;
  }
  assert.is(crop.classify(wide, { topK: 1 })[0].label, "green");
  const stretch = await loadModel(color.bytes);
  assert.is(stretch.classify(wide, { topK: 1 })[0].label, "red");
});

test("a lowered multi-op network (tinyNet, float): metadata, labels, provenance; SIMD and no-SIMD agree bit for bit", async () => {
  const g = tinyNet(5);
  const bytes = writeQwm(lowerFloat(g).program);
  const [a, b] = await Promise.all([loadModel(bytes), loadModel(bytes, { build: "nosimd" })]);
  assert.equal(a.info.labels, g.labels);
  assert.equal(a.info.provenance, g.provenance);
  assert.is(a.info.opCount, g.nodes.length);
  assert.equal(a.info.input.shape, [16, 16, 3]);
  assert.equal(a.info.output.shape, [1, 1, 10]);
  assert.is(a.info.preprocessing.channelOrder, "rgb");
  const imgs = [randomImage(30, 40, 30, 4), randomImage(31, 12, 20, 3), randomImage(32, 16, 16, 1)];
  const ta = a.classifyBatch(imgs, { topK: 10 }), tb = b.classifyBatch(imgs, { topK: 10 });
  assert.equal(ta, tb);
  for (const top of ta) assert.ok(g.labels!.includes(top[0].label));
  // pixels normalized in the runtime = floats normalized here (f32 arithmetic: close, not equal)
  const px = pixels(33, 16 * 16 * 3);
  const m = g.preprocess!;
  const x = Float32Array.from(px, (v, i) => (v * Math.fround(m.valueScale) - Math.fround(m.mean[i % 3])) / Math.fround(m.std[i % 3]));
  const la = a.run(px).logits, lb = a.run(x).logits;
  for (let i = 0; i < 10; i++) assert.ok(Math.abs(la[i] - lb[i]) < 1e-3, `${la[i]} vs ${lb[i]}`);
  assert.equal(b.run(px).logits, la);
});

const argsortDesc = (s: number[]) => s.map((_, i) => i).sort((a, b) => s[b] - s[a] || a - b);

test("classifyBatch: one batched run, same answers as classify one by one", async () => {
  const m = await loadModel(dense.bytes);
  const imgs = [randomImage(20, 5, 3, 3), randomImage(21, 17, 11, 4), randomImage(22, 2, 9, 1), solid([1, 2, 3], 3, 5)];
  const batch = m.classifyBatch(imgs, { topK: 7 });
  assert.is(batch.length, 4);
  imgs.forEach((img, i) => assert.equal(batch[i], m.classify(img, { topK: 7 })));
  assert.equal(batch[0].map((p) => p.label), batch[0].map((p) => String(p.index)));
  assert.is(m.classifyBatch([imgs[0]])[0].length, 5);
});

// ---------------------------------------------------------------------------------------------------------
// Errors

test("bad arguments: QwmInputError with its code, before the wasm runs", async () => {
  const m = await loadModel(dense.bytes);
  const per = 45;
  await rejects(() => m.run(new Float32Array(per), { batch: 0 }), QwmInputError, "BAD_BATCH");
  await rejects(() => m.run(new Float32Array(per), { batch: 1.5 }), QwmInputError, "BAD_BATCH");
  await rejects(() => m.run(new Float32Array(per), { batch: NaN }), QwmInputError, "BAD_BATCH");
  await rejects(() => m.run(new Float32Array(per), { batch: "1" as any }), QwmInputError, "BAD_BATCH");
  await rejects(() => m.run(new Float32Array(per), { batch: -2 }), QwmInputError, "BAD_BATCH");
  const e = await rejects(() => m.run(new Uint8Array(2 * per)), QwmInputError, "INPUT_LENGTH");
  assert.match(e.message, "batch: 2");
  await rejects(() => m.run(new Uint8Array(per + 1)), QwmInputError, "INPUT_LENGTH");
  await rejects(() => m.run(new Uint8Array(0)), QwmInputError, "INPUT_LENGTH");
  await rejects(() => m.run(new Float32Array(per), { batch: 2 }), QwmInputError, "INPUT_LENGTH");
  await rejects(() => m.run(new Int8Array(per) as any), QwmInputError, "BAD_INPUT");
  await rejects(() => m.run(Array(per).fill(0) as any), QwmInputError, "BAD_INPUT");
  await rejects(() => m.run(Float32Array.from({ length: per }, (_, i) => (i === 7 ? NaN : 0))), QwmInputError, "BAD_INPUT");
  await rejects(() => m.run(new Float32Array(per).fill(Infinity)), QwmInputError, "BAD_INPUT");
  await rejects(() => m.run(new Float32Array(per), null as any), QwmInputError, "BAD_OPTION");
  const img = randomImage(1, 4, 4, 3);
  for (const k of [0, 8, 2.5, -1, NaN, "3"]) await rejects(() => m.classify(img, { topK: k as any }), QwmInputError, "BAD_TOP_K");
  await rejects(() => m.classify({ width: 4, height: 4, data: new Uint8Array(5) }), QwmInputError, "BAD_IMAGE");
  await rejects(() => m.classify({ width: 0, height: 4, data: new Uint8Array(0) }), QwmInputError, "BAD_IMAGE");
  await rejects(() => m.classify({ width: Infinity, height: 1, data: new Uint8Array(3) }), QwmInputError, "BAD_IMAGE");
  await rejects(() => m.classify(undefined as any), QwmInputError, "BAD_IMAGE");
  const be = await rejects(() => m.classifyBatch([img, { width: 2, height: 2, data: new Uint8Array(5) }]), QwmInputError, "BAD_IMAGE");
  assert.match(be.message, "images[1]");
  await rejects(() => m.classifyBatch([]), QwmInputError, "BAD_ARGUMENT");
  await rejects(() => m.classifyBatch(img as any), QwmInputError, "BAD_ARGUMENT");
  await rejects(() => m.classify(img, 5 as any), QwmInputError, "BAD_OPTION");
  // the model still works after all that
  assert.equal(m.run(pixels(1, per)).raw, dense.ref(pixels(1, per), 1));

  // loadModel arguments
  for (const src of [null, undefined, 42, {}, [1, 2, 3], new Blob([])]) {
    await rejects(loadModel(src as any), QwmInputError, "BAD_SOURCE");
  }
  await rejects(loadModel(dense.bytes, { build: "fast" as any }), QwmInputError, "BAD_OPTION");
  await rejects(loadModel(dense.bytes, { memoryLimit: -1 }), QwmInputError, "BAD_OPTION");
  await rejects(loadModel(dense.bytes, { memoryLimit: 1.5 }), QwmInputError, "BAD_OPTION");
  await rejects(loadModel(dense.bytes, { wasm: { turbo: new Uint8Array(8) } as any }), QwmInputError, "BAD_OPTION");
  await rejects(loadModel(dense.bytes, { wasm: 5 as any }), QwmInputError, "BAD_OPTION");
  await rejects(loadModel(dense.bytes, { wasm: { simd: 5 as any } }), QwmInputError, "BAD_OPTION");
  await rejects(loadModel(dense.bytes, { bild: "simd" } as any), QwmInputError, "BAD_OPTION");
  await rejects(loadModel(dense.bytes, "simd" as any), QwmInputError, "BAD_OPTION");
});

/** The model's bytes with a change, the CRCs fixed again unless `keepCrc`. */
function corrupt(bytes: Uint8Array, edit: (b: Uint8Array, v: DataView) => void, fixCrcs = true): Uint8Array {
  const b = bytes.slice();
  edit(b, new DataView(b.buffer));
  return fixCrcs ? refreshCrcs(b) : b;
}
const sec = (bytes: Uint8Array, id: Section) => sectionTable(bytes).find((s) => s.id === id)!;

test("corrupted models: QwmFormatError naming the section, field and index", async () => {
  const cases: [string, Uint8Array, string, string][] = [
    ["flipped weight byte", corrupt(color.bytes, (b) => { b[sec(color.bytes, Section.Weights).offset + 3] ^= 1; }, false), "CRC", "Weights"],
    ["flipped op byte", corrupt(color.bytes, (b) => { b[sec(color.bytes, Section.Ops).offset + 9] ^= 0x40; }, false), "CRC", "Ops"],
    ["unknown op code", corrupt(color.bytes, (_, v) => v.setUint16(sec(color.bytes, Section.Ops).offset + 4, 99, true)), "UNKNOWN", "Ops"],
    ["bad tensor dtype", corrupt(color.bytes, (_, v) => v.setUint8(sec(color.bytes, Section.Tensors).offset + 4 + 32, 9)), "UNKNOWN", "Tensors"],
    ["bad magic", corrupt(color.bytes, (b) => { b[1] = 0; }), "BAD_MAGIC", "Header"],
    ["major version 2", corrupt(color.bytes, (_, v) => v.setUint16(4, 2, true)), "VERSION", "Header"],
  ];
  for (const [what, bytes, code, section] of cases) {
    const e = await rejects(loadModel(bytes), QwmFormatError, code);
    assert.is(e.section, section, `${what}: ${e.message}`);
    assert.match(e.message, `section ${section}`, what);
    assert.match(e.message, `field ${e.field}`, what);
    assert.ok(e.status !== 0);
  }
  const op = await rejects(loadModel(cases[2][1]), QwmFormatError, "UNKNOWN");
  assert.is(op.field, "OpCode");
  assert.is(op.index, 0);
  assert.match(op.message, "index 0");
  // truncated and empty files
  for (const short of [color.bytes.subarray(0, color.bytes.length - 7), color.bytes.subarray(0, 40), new Uint8Array(10), new Uint8Array(0)]) {
    const e = await loadModel(short).then(() => null, (x) => x);
    assert.instance(e, QwmFormatError, `${short.length} bytes`);
    assert.is(e.section, "Header", `${short.length} bytes: ${e.message}`);
  }
  // Labels / Provenance the SDK itself reads
  const badJson = corrupt(color.bytes, (b) => { b[sec(color.bytes, Section.Provenance).offset] = 0x5b; }); // "[" ...
  const pe = await rejects(loadModel(badJson), QwmFormatError, "RANGE");
  assert.is(pe.section, "Provenance");
  const badUtf8 = corrupt(color.bytes, (b) => { b[sec(color.bytes, Section.Labels).offset] = 0xff; });
  assert.is((await rejects(loadModel(badUtf8), QwmFormatError, "RANGE")).section, "Labels");
});

test("runtime status codes map to the error classes", () => {
  const code = (k: ErrorKind, s: number, f: Field) => (k << 24) | (s << 16) | f;
  const crc = errorFromStatus(code(ErrorKind.Crc, Section.Ops, Field.SectionCrc), 2, "load") as QwmFormatError;
  assert.instance(crc, QwmFormatError);
  assert.equal([crc.code, crc.section, crc.field, crc.index], ["CRC", "Ops", "SectionCrc", 2]);
  assert.match(crc.message, "section Ops, field SectionCrc, index 2");
  assert.is((errorFromStatus(code(ErrorKind.Truncated, 0, Field.FileLength), -1, "load") as QwmFormatError).section, "Header");
  const lim = errorFromStatus(code(ErrorKind.Limit, 0, Field.Memory), -1, "load");
  assert.instance(lim, QwmLimitError);
  assert.is(lim.code, "MEMORY_LIMIT");
  const st = errorFromStatus(code(ErrorKind.State, 0, Field.Batch), -1, "run");
  assert.instance(st, QwmInputError);
  assert.is(st.code, "STATE");
  assert.is(errorFromStatus(code(99 as ErrorKind, 0, 0), -1, "load").code, "FORMAT");
});

test("memory limit: counts the model, its arena and a run's buffers; QwmLimitError at load and for large batches", async () => {
  const probe = await loadModel(dense.bytes);
  const held = dense.bytes.length + probe.info.arenaBytes;
  // below the model's own size: refused by the SDK before copying; below model + arena: refused by the runtime
  await rejects(loadModel(dense.bytes, { memoryLimit: dense.bytes.length - 1 }), QwmLimitError, "MEMORY_LIMIT");
  const rt = await rejects(loadModel(dense.bytes, { memoryLimit: held - 1 }), QwmLimitError, "MEMORY_LIMIT");
  assert.match(rt.message, "field Memory");
  // exactly enough for one image's input (45 bytes) and output (7 bytes)
  const tight = await loadModel(dense.bytes, { memoryLimit: held + 45 + 7 });
  assert.equal(tight.run(pixels(5, 45)).raw, dense.ref(pixels(5, 45), 1));
  await rejects(() => tight.run(pixels(5, 90), { batch: 2 }), QwmLimitError, "MEMORY_LIMIT");
  await rejects(() => tight.run(new Float32Array(45)), QwmLimitError, "MEMORY_LIMIT"); // 180 input bytes
  const ok = await loadModel(dense.bytes, { memoryLimit: 1 << 20 });
  await rejects(() => ok.run(new Uint8Array(45 * 30000), { batch: 30000 }), QwmLimitError, "MEMORY_LIMIT");
  // runs rewind their buffers: memory does not grow run after run
  const before = ok.info.wasmMemoryBytes;
  for (let i = 0; i < 50; i++) assert.equal(ok.run(pixels(i, 45 * 100), { batch: 100 }).raw, dense.ref(pixels(i, 45 * 100), 100));
  assert.ok(ok.info.wasmMemoryBytes - before <= 65536, `${before} -> ${ok.info.wasmMemoryBytes}`);
});

test("dispose: later calls throw QwmError 'DISPOSED'; other models unaffected", async () => {
  const a = await loadModel(color.bytes), b = await loadModel(color.bytes);
  a.dispose();
  a.dispose(); // idempotent
  const e = await rejects(() => a.run(pixels(1, 48)), QwmError, "DISPOSED");
  assert.is(e.constructor, QwmError);
  await rejects(() => a.classify(solid([1, 2, 3])), QwmError, "DISPOSED");
  await rejects(() => a.classifyBatch([solid([1, 2, 3])]), QwmError, "DISPOSED");
  assert.equal(a.info.labels, ["red", "green", "blue"]); // info stays readable
  assert.equal(b.run(pixels(1, 48)).raw, color.ref(pixels(1, 48), 1));
});

test("error classes: names, codes, hierarchy", () => {
  for (const [C, name] of [[QwmInputError, "QwmInputError"], [QwmLimitError, "QwmLimitError"], [QwmHostError, "QwmHostError"]] as const) {
    const e = new C("X", "m");
    assert.instance(e, QwmError);
    assert.instance(e, Error);
    assert.is(e.name, name);
    assert.is(e.code, "X");
  }
  const f = new QwmFormatError("CRC", "m", "Ops", "SectionCrc", 1, 5);
  assert.equal([f.name, f.section, f.field, f.index, f.status], ["QwmFormatError", "Ops", "SectionCrc", 1, 5]);
});

// ---------------------------------------------------------------------------------------------------------
// Host entries

test("workerd entry: requires WebAssembly.Module objects in options.wasm", async () => {
  await rejects(loadModelWorkerd(color.bytes), QwmHostError, "NEEDS_MODULE");
  await rejects(loadModelWorkerd(color.bytes, { wasm: { simd: wasmBytes("simd") } }), QwmHostError, "NEEDS_MODULE");
  await rejects(loadModelWorkerd(color.bytes, { build: "nosimd", wasm: { simd: await WebAssembly.compile(wasmBytes("simd")) } }), QwmHostError, "NEEDS_MODULE");
  const m = await loadModelWorkerd(color.bytes, { wasm: { simd: await WebAssembly.compile(wasmBytes("simd")) } });
  assert.is(m.info.build, "simd");
  assert.is(m.classify(solid([200, 0, 0]), { topK: 1 })[0].label, "red");
});

test("dist bundle (node): finds dist/qwasm.*.wasm, same results", async () => {
  const dist: typeof import("../sdk/hosts/node.ts") = await import(pathToFileURL(`${ROOT}dist/sdk/node.js`).href);
  const m = await dist.loadModel(color.bytes);
  assert.is(m.info.build, "simd");
  assert.equal(m.run(pixels(3, 48)).raw, color.ref(pixels(3, 48), 1));
  const e = await dist.loadModel(new Uint8Array(4)).catch((x) => x);
  assert.instance(e, dist.QwmFormatError);
  assert.is(e.code, "TRUNCATED");
  assert.is((await dist.loadModel(color.bytes, { build: "nosimd" })).info.build, "nosimd");
});

const deno = findTool("deno");
testIf(!!deno, "Deno: deno.ts, dist deno.js and dist browser.js pick lite for an int8 model; forced relaxed works; all agree with Node bit for bit", "npm package deno is not installed", async () => {
  const dir = mkdtempSync(join(tmpdir(), "qwasm-sdk-deno-"));
  try {
    const px = pixels(77, 3 * 45);
    writeFileSync(join(dir, "dense.qwm"), dense.bytes);
    writeFileSync(join(dir, "px.bin"), px);
    const out = execFileSync(deno!, ["run", "--quiet", "--no-lock", "--allow-read", "test/hosts/sdk-deno.ts", dir], {
      cwd: ROOT, encoding: "utf8", maxBuffer: 16 << 20,
    });
    const results = JSON.parse(out.trim().split("\n").pop()!);
    const want = Array.from(dense.ref(px, 3));
    const node = await loadModel(dense.bytes);
    const top = node.classify({ width: 5, height: 3, data: px.subarray(0, 45) }, { topK: 7 });
    assert.is(results.length, 5);
    for (const r of results) {
      assert.is(r.error, undefined, `${r.entry}: ${r.error}`);
      assert.is(r.build, r.entry.endsWith("nosimd") ? "nosimd" : r.entry.endsWith("relaxed") ? "relaxed" : "lite", r.entry);
      assert.equal(r.raw, want, r.entry);
      assert.equal(r.top, top, r.entry);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- the lite build (build/qwasm.lite.wasm: SIMD, int8 + fp32 ops only) ------------------------------------

/** tinyNet quantized: with 4-bit weights (DwConv2dQs4 / Conv2dQs4 / DenseQs4 ops) and its int8 twin. */
const lowPair = await (async () => {
  const g = tinyNet(7);
  const qg = quantizeGraph(g, await minMaxRanges(g, wasmBytes("simd"), randomImages(100, 16).x));
  const twin: QuantizedGraph = { act: qg.act, weights: new Map([...qg.weights].map(([k, v]) => [k, { q: v.q, scales: v.scales }])) };
  applyLowBit(g, qg, { bits: 4, format: "uniform", keepEnds: false });
  return { low: writeQwm(lowerQuantized(g, qg).program), int8: writeQwm(lowerQuantized(g, twin).program) };
})();
const opCodes = (b: Uint8Array) => {
  const s = sec(b, Section.Ops), v = new DataView(b.buffer, b.byteOffset);
  const out: number[] = [];
  for (let i = 0, r = s.offset + 4; i < v.getUint32(s.offset, true); i++, r += v.getUint16(r + 2, true)) out.push(v.getUint16(r, true));
  return out;
};

test("lite: the Ops scan finds the first sub-8-bit op; names agree with the schema", () => {
  const codes = opCodes(lowPair.low);
  const first = codes.findIndex((c) => c >= 24);
  assert.ok(first >= 0, `low-bit ops in ${codes}`);
  assert.equal(firstLowBitOp(lowPair.low), [first, codes[first]]);
  assert.ok(opCodes(lowPair.int8).every((c) => c < 24));
  for (const b of [lowPair.int8, color.bytes, dense.bytes, flt.bytes]) assert.equal(firstLowBitOp(b), [-1, 0]);
  // unreadable: the runtime's validator reports why (full builds)
  const bad = color.bytes.slice(); bad[0] = 0;
  for (const b of [bad, color.bytes.subarray(0, 40), new Uint8Array(0), new Uint8Array(31)]) assert.is(firstLowBitOp(b)[0], -2, `${b.length} bytes`);
  assert.is(LOWBIT_OP, Op.Conv2dQs4);
  LOWBIT_NAMES.split(" ").forEach((n, i) => assert.is(n, Op[LOWBIT_OP + i] ?? "-", `code ${LOWBIT_OP + i}`));
  assert.is(LOWBIT_NAMES.split(" ").length, Op.DwConv2dQb1 - LOWBIT_OP + 1);
});

test("lite: selection rule: int8 / fp32 model -> lite (SIMD hosts that offer it); low-bit model -> full builds", async () => {
  const all = { relaxed: true, simd: true, nosimd: true };
  assert.equal(candidates({}, undefined, all, false, false, true), ["lite", "relaxed", "simd", "nosimd"]);
  assert.equal(candidates({}, undefined, all, false, true, true), ["relaxed", "simd", "nosimd"]); // low-bit model
  assert.equal(candidates({}, undefined, all, false, false, false), ["relaxed", "simd", "nosimd"]); // host without lite (Node)
  assert.equal(candidates({}, undefined, all, true, false, true), ["lite", "simd", "nosimd"]);
  assert.equal(candidates({}, undefined, { relaxed: false, simd: false, nosimd: true }, false, false, true), ["nosimd"]); // no SIMD
  assert.equal(candidates({ lite: 1, simd: 1 }, undefined, all, true, false, false), ["lite", "simd"]); // given: always offered
  assert.equal(candidates({ lite: 1, simd: 1 }, undefined, all, true, true, false), ["simd"]);
  assert.equal(candidates({ simd: 1 }, undefined, all, true, false, true), ["simd"]);
  assert.equal(candidates({}, "lite", all, true, true, false), ["lite"]);

  // Node keeps the full builds by default; options.wasm.lite and build: "lite" pick lite.
  assert.is((await loadModel(color.bytes)).info.build, "simd");
  const both = { lite: wasmBytes("lite"), simd: wasmBytes("simd") };
  assert.is((await loadModel(color.bytes, { wasm: both })).info.build, "lite");
  assert.is((await loadModel(flt.bytes, { wasm: both })).info.build, "lite");
  assert.is((await loadModel(lowPair.int8, { build: "lite" })).info.build, "lite");
  assert.is((await loadModel(lowPair.low, { wasm: both })).info.build, "simd");
  assert.is((await loadModel(color.bytes, { wasm: { lite: wasmBytes("lite") } })).info.build, "lite");
  // A host that offers lite (as the browser and Deno hosts do), with every build by default.
  const liteHost = { defaultWasm: (b: string) => wasmBytes(b), lite: true };
  assert.is((await loadModelWith(liteHost, color.bytes)).info.build, "lite");
  assert.is((await loadModelWith(liteHost, lowPair.low)).info.build, "simd"); // Node: never relaxed automatically
  assert.is((await loadModelWith(liteHost, lowPair.low, { build: "nosimd" })).info.build, "nosimd");
  assert.is((await loadModelWith({ ...liteHost, lite: false }, color.bytes)).info.build, "simd");
  // lite does not compile (junk bytes): automatic selection falls back to the full builds
  assert.is((await loadModel(color.bytes, { wasm: { lite: new Uint8Array(8), simd: wasmBytes("simd") } })).info.build, "simd");
  // a corrupted model: the full build's validator names the fault, as before
  const bad = corrupt(color.bytes, (b) => { b[1] = 0; });
  assert.is((await rejects(loadModelWith(liteHost, bad), QwmFormatError, "BAD_MAGIC")).section, "Header");
  await rejects(loadModel(color.bytes, { wasm: { lite: 1 as any } }), QwmInputError, "BAD_OPTION");
});

test("lite: forcing it on a low-bit model is a QwmFormatError naming the op (as the lite runtime reports it)", async () => {
  const [index, code] = firstLowBitOp(lowPair.low);
  const status = (ErrorKind.Unknown << 24) | (Section.Ops << 16) | Field.OpCode;
  for (const options of [{ build: "lite" as const }, { wasm: { lite: wasmBytes("lite") } }]) {
    const e = await rejects(loadModel(lowPair.low, options), QwmFormatError, "UNKNOWN");
    assert.is(e.section, "Ops");
    assert.is(e.field, "OpCode");
    assert.is(e.index, index);
    assert.is(e.status, status);
    assert.match(e.message, `op ${index} is ${Op[code]} (code ${code})`);
    assert.match(e.message, `section Ops, field OpCode, index ${index}`);
  }
  // The lite runtime itself, without the SDK's scan: qwm_load returns the same status and op index.
  const ex = ((await WebAssembly.instantiate(wasmBytes("lite"), {})) as any).instance.exports;
  const load = (b: Uint8Array) => {
    ex.qw_reset();
    const p = ex.qw_alloc(b.length);
    new Uint8Array(ex.memory.buffer, p, b.length).set(b);
    return [ex.qwm_load(p, b.length, 0), ex.qwm_error_index()];
  };
  assert.equal(load(lowPair.low), [status, index]);
  assert.equal(load(lowPair.int8), [0, -1]);
});

test("lite runtime: every op code 24..39 is an unknown op code, exactly like 40 in the full build", async () => {
  const inst = async (b: string) => ((await WebAssembly.instantiate(wasmBytes(b), {})) as any).instance.exports;
  const lite = await inst("lite"), full = await inst("simd");
  const load = (ex: any, b: Uint8Array) => {
    ex.qw_reset();
    const p = ex.qw_alloc(b.length);
    new Uint8Array(ex.memory.buffer, p, b.length).set(b);
    return [ex.qwm_load(p, b.length, 0), ex.qwm_error_index()];
  };
  const unknown = [(ErrorKind.Unknown << 24) | (Section.Ops << 16) | Field.OpCode, 0];
  const withCode = (code: number) => corrupt(color.bytes, (_, v) => v.setUint16(sec(color.bytes, Section.Ops).offset + 4, code, true));
  assert.equal(load(full, withCode(40)), unknown);
  for (let code = 24; code <= 40; code++) {
    assert.equal(load(lite, withCode(code)), unknown, `lite, code ${code}`);
    if (code !== 40) assert.not.equal(load(full, withCode(code))[0] >>> 24, ErrorKind.Unknown, `full, code ${code}`);
  }
  assert.equal(load(lite, color.bytes), [0, -1]);
});

test("lite: bit-identical to the full SIMD build on int8 and fp32 models", async () => {
  const builds = { lite: wasmBytes("lite"), simd: wasmBytes("simd") };
  const cases: [string, Uint8Array, Uint8Array | Float32Array, number][] = [
    ["color", color.bytes, pixels(5, 4 * 4 * 3 * 4), 4],
    ["dense", dense.bytes, pixels(6, 3 * 5 * 3 * 4), 4],
    ["tinyNet int8", lowPair.int8, pixels(7, 16 * 16 * 3 * 8), 8],
    ["float", flt.bytes, rng(8).f32(2 * 3 * 3 * 4, 2), 4],
  ];
  for (const [what, bytes, x, batch] of cases) {
    const [a, b] = await Promise.all([loadModel(bytes, { wasm: builds, build: "lite" }), loadModel(bytes, { wasm: builds, build: "simd" })]);
    assert.is(a.info.build, "lite");
    const ra = a.run(x, { batch }), rb = b.run(x, { batch });
    assert.equal(Array.from(ra.raw), Array.from(rb.raw), what);
    assert.equal(Array.from(ra.logits), Array.from(rb.logits), what);
    assert.ok(ra.logits.length > 0, what);
  }
});

test.run();
