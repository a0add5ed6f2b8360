// Limits: a model whose weights or arena exceed the configured memory limit is refused before anything is
// allocated for it, with a message that gives the numbers; absurd image dimensions, wrong channel counts and
// empty or truncated buffers (models, images, encoded PNG / JPEG) get clear, typed errors, quickly and without
// large allocations.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { deflateSync } from "node:zlib";
import { PNG } from "pngjs";
import jpeg from "jpeg-js";
import { DType, ErrorKind, Field, Section } from "../assembly/runtime/schema.ts";
import { refreshCrcs, sectionTable } from "../src/pack/qwm.ts";
import { crc32 } from "../src/pack/crc32.ts";
import { KernelHost } from "../src/wasm/kernels.ts";
import { readBuild } from "../src/wasm/module.ts";
import { decodeImage, QwmDataError } from "../src/data/index.ts";
import { loadModel, QwmError, QwmFormatError, QwmInputError, QwmLimitError } from "../sdk/hosts/node.ts";
import { qs8Program } from "./helpers/runtime_programs.ts";

const simd = readBuild("simd");
const rssGrowth = async (f: () => unknown) => {
  const before = process.resourceUsage().maxRSS;
  await f();
  return (process.resourceUsage().maxRSS - before) * 1024;
};

async function rejects<T extends QwmError | QwmDataError>(p: Promise<unknown> | (() => unknown), C: new (...a: any[]) => T, code: string): Promise<T> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    assert.instance(e, C, `${(e as Error)?.name}: ${(e as Error)?.message}`);
    assert.is((e as T).code, code, (e as Error).message);
    assert.is((e as Error).message.split("\n").length, 1, "a one-line message");
    return e as T;
  }
  assert.unreachable(`expected ${C.name} ${code}`);
  throw new Error("unreachable");
}

/** The qs8 test program with its arena field set to `arena` (the tensors still fit): a valid file needing that much. */
function withArena(arena: number): Uint8Array {
  const b = qs8Program(21).bytes.slice();
  const m = sectionTable(b).find((s) => s.id === Section.Model)!.offset;
  new DataView(b.buffer).setUint32(m + 8, arena, true);
  return refreshCrcs(b);
}

// ---------------------------------------------------------------------------------------------- memory limit

test("memory limit: a 2 GiB arena is refused before any allocation, the message gives the numbers", async () => {
  const huge = withArena(0x7fff0000);
  let e!: QwmLimitError;
  const grew = await rssGrowth(async () => { e = await rejects(loadModel(huge, { memoryLimit: 64 << 20 }), QwmLimitError, "MEMORY_LIMIT"); });
  assert.match(e.message, `needs ${huge.length + 0x7fff0000} bytes (the ${huge.length}-byte model and its ${0x7fff0000}-byte arena), over options.memoryLimit = ${64 << 20}`);
  assert.ok(grew < 64 << 20, `memory grew by ${grew} bytes`);
  // at the runtime: the heap top and the memory size are unchanged by the refusal
  const h = await KernelHost.create(simd);
  h.reset();
  const p = h.put(huge);
  const top = h.exports.qw_heap_top(), size = h.exports.memory.buffer.byteLength;
  assert.is(h.fn("qwm_load")(p, huge.length, 64 << 20) >>> 0, ((ErrorKind.Limit << 24) | Field.Memory) >>> 0);
  assert.is(h.exports.qw_heap_top(), top);
  assert.is(h.exports.memory.buffer.byteLength, size);
});

test("memory limit: weights (the file) over the limit are refused by the SDK before they are copied; exactly enough loads", async () => {
  const b = qs8Program(22).bytes;
  const e = await rejects(loadModel(b, { memoryLimit: b.length - 1 }), QwmLimitError, "MEMORY_LIMIT");
  assert.match(e.message, `needs ${b.length} bytes`);
  const probe = await loadModel(b);
  const need = b.length + probe.info.arenaBytes;
  const e2 = await rejects(loadModel(b, { memoryLimit: need - 1 }), QwmLimitError, "MEMORY_LIMIT");
  assert.match(e2.message, `needs ${need} bytes`);
  assert.ok((await loadModel(b, { memoryLimit: need + 1024 })).info.arenaBytes > 0);
  await rejects(loadModel(b, { memoryLimit: 0 }), QwmInputError, "BAD_OPTION");
  await rejects(loadModel(b, { memoryLimit: NaN }), QwmInputError, "BAD_OPTION");
});

// ---------------------------------------------------------------------------------------------- models: empty, truncated

test("model bytes: empty, one byte, truncated, and not a model at all", async () => {
  const b = qs8Program(23).bytes;
  assert.match((await rejects(loadModel(new Uint8Array(0)), QwmFormatError, "TRUNCATED")).message, /section Header, field FileLength/);
  await rejects(loadModel(new Uint8Array(1)), QwmFormatError, "TRUNCATED");
  for (const n of [31, 32, 100, b.length >> 1, b.length - 1]) {
    const e = await rejects(loadModel(b.subarray(0, n)), QwmFormatError, "TRUNCATED");
    assert.is(e.field, "FileLength");
  }
  await rejects(loadModel(new TextEncoder().encode("GIF89a, certainly not a qwasm model, but long enough for a header")), QwmFormatError, "BAD_MAGIC");
  await rejects(loadModel(42 as any), QwmInputError, "BAD_SOURCE");
});

// ---------------------------------------------------------------------------------------------- images in the SDK

test("SDK images: absurd dimensions, wrong channel counts, empty and truncated pixel buffers", async () => {
  const m = await loadModel(qs8Program(24).bytes);
  const [H, W, C] = m.info.input.shape;
  const msg = async (img: unknown) => (await rejects(() => m.classify(img as any), QwmInputError, "BAD_IMAGE")).message;
  assert.match(await msg({ data: new Uint8Array(12), width: 0, height: 4 }), /width must be an integer in 1\.\.16777216, got 0/);
  assert.match(await msg({ data: new Uint8Array(12), width: 2 ** 24 + 1, height: 1 }), /width must be an integer in 1\.\.16777216/);
  assert.match(await msg({ data: new Uint8Array(12), width: 2, height: 1.5 }), /height must be an integer/);
  assert.match(await msg({ data: new Uint8Array(12), width: 1e6, height: 1e6 }), /12 bytes for 1000000x1000000 pixels/);
  assert.match(await msg({ data: new Uint8Array(8), width: 2, height: 2 }), /8 bytes for 2x2 pixels: expected 4 \(gray\), 12 \(RGB\) or 16 \(RGBA\)/);
  assert.match(await msg({ data: new Uint8Array(0), width: 2, height: 2 }), /0 bytes for 2x2 pixels/);
  assert.match(await msg({ data: new Uint8Array(11), width: 2, height: 2 }), /11 bytes/);
  assert.match(await msg({ data: [1, 2, 3], width: 1, height: 1 }), /data must be a Uint8Array/);
  assert.match(await msg(null), /must be an object/);
  // raw runs: truncated inputs, wrong types
  assert.match((await rejects(() => m.run(new Uint8Array(H * W * C - 1)), QwmInputError, "INPUT_LENGTH")).message, /needs 192/);
  await rejects(() => m.run(new Uint8Array(0)), QwmInputError, "INPUT_LENGTH");
  await rejects(() => m.run(new Float32Array(H * W * C).fill(NaN)), QwmInputError, "BAD_INPUT");
  await rejects(() => m.run(new Int16Array(4) as any), QwmInputError, "BAD_INPUT");
  await rejects(() => m.classifyBatch([]), QwmInputError, "BAD_ARGUMENT");
  // and a valid image of any size still works
  assert.is(m.classify({ data: new Uint8Array(5 * 3 * 4).fill(9), width: 5, height: 3 }, { topK: 1 }).length, 1);
  void DType;
});

// ---------------------------------------------------------------------------------------------- image decoders

const png = (w: number, h: number, colorType: 0 | 2 | 6 = 0) => {
  const p = new PNG({ width: w, height: h, colorType });
  p.data.fill(128);
  return new Uint8Array(PNG.sync.write(p, { colorType }));
};
/** A PNG whose IHDR claims w x h, with `idat` as its image data (CRCs right). */
function pngClaiming(w: number, h: number, idat: Uint8Array, interlace = 0): Uint8Array {
  const chunk = (type: string, data: Uint8Array) => {
    const out = new Uint8Array(12 + data.length), v = new DataView(out.buffer);
    v.setUint32(0, data.length);
    out.set(new TextEncoder().encode(type), 4);
    out.set(data, 8);
    v.setUint32(8 + data.length, crc32(out, 4, 8 + data.length));
    return out;
  };
  const ihdr = new Uint8Array(13), v = new DataView(ihdr.buffer);
  v.setUint32(0, w); v.setUint32(4, h); ihdr[8] = 8; ihdr[9] = 0; ihdr[12] = interlace;
  const parts = [Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a), chunk("IHDR", ihdr), chunk("IDAT", idat), chunk("IEND", new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

test("decodeImage: empty, truncated and absurd PNG / JPEG get one-line QwmDataErrors, fast and without large allocations", async () => {
  const data = (b: Uint8Array, code: string, re: RegExp, limits?: { maxPixels?: number }) => {
    const t = performance.now();
    let e: unknown;
    try { decodeImage(b, "img", limits); } catch (x) { e = x; }
    assert.instance(e, QwmDataError, String(e));
    assert.is((e as QwmDataError).code, code, (e as Error).message);
    assert.match((e as Error).message, re);
    assert.ok(performance.now() - t < 2000, `${(e as Error).message}: took ${performance.now() - t} ms`);
  };
  data(new Uint8Array(0), "DATA_FORMAT", /img is empty \(0 bytes\)/);
  data(Uint8Array.of(0x89, 0x50), "DATA_FORMAT", /neither PNG nor JPEG/);
  const good = png(16, 16);
  for (const n of [8, 16, 33, 40, good.length - 13, good.length - 1]) data(good.subarray(0, n), "DATA_DECODE", /img/);
  // absurd dimensions: over the pixel limit, zero, and claims the data cannot hold (a few bytes for a huge image)
  data(pngClaiming(100000, 100000, new Uint8Array(deflateSync(new Uint8Array(10)))), "DATA_DECODE", /100000x100000 pixels is over the 100 MP limit/);
  data(pngClaiming(0, 5, new Uint8Array(10)), "DATA_DECODE", /0x5 pixels/);
  data(pngClaiming(9000, 9000, new Uint8Array(deflateSync(new Uint8Array(10)))), "DATA_DECODE", /needs 81009000 bytes of image data, but holds \d+ compressed bytes/);
  data(png(64, 64), "DATA_DECODE", /64x64 pixels is over the 0\.001 MP limit/, { maxPixels: 1000 });
  // image data that ends early (pngjs would fill the rest from uninitialized memory)
  data(pngClaiming(16, 16, new Uint8Array(deflateSync(new Uint8Array(10)))), "DATA_DECODE", /image data ends early: 10 of the 272 bytes of 16x16 pixels/);
  // a deflate bomb in an interlaced PNG: refused after inflating no more than its declared size
  const bomb = new Uint8Array(deflateSync(new Uint8Array(64 << 20)));
  let grew = await rssGrowth(() => data(pngClaiming(1024, 1024, bomb, 1), "DATA_DECODE", /inflates past its declared 1024x1024 pixels/));
  assert.ok(grew < 48 << 20, `a deflate bomb grew memory by ${grew >> 20} MiB`);
  // JPEG: truncated, and a header claiming 65535x65535 (refused by the pixel limit before decoding)
  const j = new Uint8Array(jpeg.encode({ data: new Uint8Array(16 * 16 * 4).fill(90), width: 16, height: 16 }, 80).data);
  for (const n of [3, 20, 200]) data(j.subarray(0, n), "DATA_DECODE", /corrupt JPEG/);
  const sof = j.findIndex((v, i) => v === 0xff && j[i + 1] === 0xc0);
  const big = j.slice();
  new DataView(big.buffer).setUint16(sof + 5, 65535);
  new DataView(big.buffer).setUint16(sof + 7, 65535);
  grew = await rssGrowth(() => data(big, "DATA_DECODE", /maxResolutionInMP limit exceeded/));
  assert.ok(grew < 48 << 20, `an absurd JPEG header grew memory by ${grew >> 20} MiB`);
  data(j, "DATA_DECODE", /maxResolutionInMP limit exceeded/, { maxPixels: 100 });
  // the valid ones decode
  assert.equal([decodeImage(good).width, decodeImage(j).height, decodeImage(png(5, 7, 6)).channels], [16, 16, 3]);
});

test.run();
