// Dataset readers (src/data): CIFAR-10 batches, IDX (gzipped or not), folders of PNG / JPEG images, labels
// files, the dispatch of readDataset, and model pixels / normalized floats. Fixtures are written to a temp
// folder by the test itself; the real CIFAR-10 test batch and Debian's Fashion-MNIST are read when present.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import jpeg from "jpeg-js";
import pngjs from "pngjs";
import { readCifar, CIFAR_RECORD } from "../src/data/cifar.ts";
import { idxLabelsPath, readIdx } from "../src/data/idx.ts";
import { decodeImage, readFolder } from "../src/data/folder.ts";
import { parseLabels, readLabels } from "../src/data/labels.ts";
import { normalizedFloats, readDataset, toModelPixels } from "../src/data/index.ts";
import { QwmDataError, type Dataset } from "../src/data/types.ts";
import { preprocess as sdkPreprocess } from "../sdk/core/preprocess.ts";
import { rng } from "./helpers/ref.ts";
import { testIf, ROOT } from "./helpers/tools.ts";

const TMP = mkdtempSync(join(tmpdir(), "qwasm-data-"));
let nextDir = 0;
const dir = () => { const d = join(TMP, String(nextDir++)); mkdirSync(d); return d; };
const r = rng(42);
const bytes = (n: number) => Uint8Array.from({ length: n }, () => r.int(0, 255));

/** Asserts that fn throws a QwmDataError with `code` whose one-line message matches `re`. */
function throwsData(fn: () => unknown, code: string, re: RegExp) {
  try {
    fn();
  } catch (e) {
    assert.instance(e, QwmDataError);
    const err = e as QwmDataError;
    assert.is(err.code, code, err.message);
    assert.ok(re.test(err.message), `message '${err.message}' does not match ${re}`);
    assert.not.ok(err.message.includes("\n"), "message is one line");
    return;
  }
  assert.unreachable(`expected QwmDataError ${code}`);
}

// ---- CIFAR-10 ---------------------------------------------------------------------------------------------

function cifarBatch(labels: number[]) {
  const planes = labels.map(() => bytes(3072));
  const b = new Uint8Array(labels.length * CIFAR_RECORD);
  labels.forEach((l, i) => { b[i * CIFAR_RECORD] = l; b.set(planes[i], i * CIFAR_RECORD + 1); });
  return { b, planes };
}

test("CIFAR-10: 3 records round-trip to HWC RGB, class names from batches.meta.txt", () => {
  const d = dir();
  const { b, planes } = cifarBatch([3, 0, 9]);
  writeFileSync(join(d, "batch.bin"), b);
  const names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];
  writeFileSync(join(d, "batches.meta.txt"), names.join("\n") + "\n\n");
  const ds = readCifar(join(d, "batch.bin"));
  assert.equal([ds.width, ds.height, ds.channels, ds.images.length], [32, 32, 3, 3]);
  assert.equal(Array.from(ds.labels), [3, 0, 9]);
  assert.equal(ds.classNames, names);
  for (let i = 0; i < 3; i++) {
    const img = ds.images[i];
    assert.equal([img.width, img.height, img.channels], [32, 32, 3]);
    for (let p = 0; p < 1024; p += 37) {
      for (let c = 0; c < 3; c++) assert.is(img.data[3 * p + c], planes[i][c * 1024 + p]);
    }
  }
  assert.is(readCifar(join(d, "batch.bin"), { limit: 2 }).images.length, 2);
  // the same through readDataset
  assert.equal(readDataset(join(d, "batch.bin")).images[2].data, ds.images[2].data);
});

test("CIFAR-10: no meta file -> no class names; bad inputs -> QwmDataError", () => {
  const d = dir();
  writeFileSync(join(d, "b.bin"), cifarBatch([1, 2]).b);
  assert.is(readCifar(join(d, "b.bin")).classNames, undefined);
  writeFileSync(join(d, "short.bin"), cifarBatch([1, 2]).b.subarray(0, 2 * CIFAR_RECORD - 1));
  throwsData(() => readCifar(join(d, "short.bin")), "DATA_FORMAT", /6145 bytes is not a whole number of CIFAR-10 records/);
  writeFileSync(join(d, "empty.bin"), new Uint8Array(0));
  throwsData(() => readCifar(join(d, "empty.bin")), "DATA_FORMAT", /0 bytes/);
  writeFileSync(join(d, "lab.bin"), cifarBatch([1, 10]).b);
  throwsData(() => readCifar(join(d, "lab.bin")), "DATA_FORMAT", /record 1 has label 10/);
  throwsData(() => readCifar(join(d, "missing.bin")), "DATA_NOT_FOUND", /does not exist/);
  throwsData(() => readCifar(join(d, "b.bin"), { limit: 0 }), "DATA_ARGS", /limit must be a positive integer/);
  const d2 = dir();
  writeFileSync(join(d2, "b.bin"), cifarBatch([0, 2]).b);
  writeFileSync(join(d2, "batches.meta.txt"), "a\nb\n");
  throwsData(() => readCifar(join(d2, "b.bin")), "DATA_FORMAT", /label 2, but there are 2 classes/);
});

// ---- IDX ----------------------------------------------------------------------------------------------------

function idx(type: number, dims: number[], data: Uint8Array): Uint8Array {
  const h = new Uint8Array(4 + 4 * dims.length);
  const dv = new DataView(h.buffer);
  h[2] = type;
  h[3] = dims.length;
  dims.forEach((x, i) => dv.setUint32(4 + 4 * i, x, false));
  const out = new Uint8Array(h.length + data.length);
  out.set(h);
  out.set(data, h.length);
  return out;
}

test("IDX: plain and gzipped images with labels found by the standard naming", () => {
  const n = 5, rows = 4, cols = 3;
  const px = bytes(n * rows * cols), lab = Uint8Array.of(7, 0, 3, 9, 1);
  for (const gz of [false, true]) {
    const d = dir(), ext = gz ? ".gz" : "";
    const enc = (b: Uint8Array) => (gz ? gzipSync(b) : b);
    writeFileSync(join(d, `t10k-images-idx3-ubyte${ext}`), enc(idx(8, [n, rows, cols], px)));
    writeFileSync(join(d, `t10k-labels-idx1-ubyte${ext}`), enc(idx(8, [n], lab)));
    const path = join(d, `t10k-images-idx3-ubyte${ext}`);
    assert.is(idxLabelsPath(path), join(d, `t10k-labels-idx1-ubyte${ext}`));
    const ds = readDataset(path);
    assert.equal([ds.width, ds.height, ds.channels, ds.images.length], [cols, rows, 1, n]);
    assert.equal(Array.from(ds.labels), Array.from(lab));
    for (let i = 0; i < n; i++) {
      assert.equal(ds.images[i].data, px.subarray(i * rows * cols, (i + 1) * rows * cols));
      assert.equal([ds.images[i].width, ds.images[i].height, ds.images[i].channels], [cols, rows, 1]);
    }
    assert.is(readIdx(path, { limit: 2 }).images.length, 2);
  }
  // a gzipped images file beside a plain labels file, and train-* naming
  const d = dir();
  writeFileSync(join(d, "train-images-idx3-ubyte.gz"), gzipSync(idx(8, [n, rows, cols], px)));
  writeFileSync(join(d, "train-labels-idx1-ubyte"), idx(8, [n], lab));
  assert.equal(Array.from(readDataset(join(d, "train-images-idx3-ubyte.gz")).labels), Array.from(lab));
});

test("IDX: labels given explicitly; no labels file -> unlabeled; text labels file -> class names", () => {
  const d = dir();
  writeFileSync(join(d, "imgs"), idx(8, [2, 2, 2], bytes(8)));
  writeFileSync(join(d, "labs.gz"), gzipSync(idx(8, [2], Uint8Array.of(1, 0))));
  writeFileSync(join(d, "names.txt"), "zero\none\n");
  assert.equal(Array.from(readDataset(join(d, "imgs")).labels), [-1, -1]);
  assert.equal(Array.from(readDataset(join(d, "imgs"), { labelsFile: join(d, "labs.gz") }).labels), [1, 0]);
  const named = readDataset(join(d, "imgs"), { labelsFile: join(d, "names.txt") });
  assert.equal(named.classNames, ["zero", "one"]);
});

test("IDX: bad magic, element type, dimensions, sizes and counts -> QwmDataError", () => {
  const d = dir();
  const w = (name: string, b: Uint8Array) => { writeFileSync(join(d, name), b); return join(d, name); };
  const good = idx(8, [3, 2, 2], bytes(12));
  throwsData(() => readIdx(w("magic", Uint8Array.of(1, 0, 8, 3, ...good.subarray(4)))), "DATA_FORMAT", /not an IDX file \(bad magic number\)/);
  throwsData(() => readIdx(w("type", idx(0x0d, [3, 2, 2], bytes(48)))), "DATA_FORMAT", /element type 0x0d, expected 0x08/);
  throwsData(() => readIdx(w("dims", idx(8, [3, 4], bytes(12)))), "DATA_FORMAT", /must have 3 dimensions, this one has 2/);
  throwsData(() => readIdx(w("trunc", good.subarray(0, good.length - 1))), "DATA_FORMAT", /need 28 bytes, the file has 27/);
  throwsData(() => readIdx(w("extra", Uint8Array.of(...good, 0))), "DATA_FORMAT", /need 28 bytes, the file has 29/);
  throwsData(() => readIdx(w("header", good.subarray(0, 9))), "DATA_FORMAT", /truncated IDX header/);
  throwsData(() => readIdx(w("none", idx(8, [0, 2, 2], new Uint8Array(0)))), "DATA_FORMAT", /holds no images/);
  const imgs = w("a-images-idx3-ubyte", good);
  w("a-labels-idx1-ubyte", idx(8, [2], Uint8Array.of(0, 1)));
  throwsData(() => readIdx(imgs), "DATA_FORMAT", /has 2 labels but .* has 3 images/);
  throwsData(() => readIdx(imgs, { labelsFile: w("labdims", idx(8, [3, 1], bytes(3))) }), "DATA_FORMAT", /labels file must have 1 dimension, this one has 2/);
  throwsData(() => readIdx(imgs, { labelsFile: join(d, "nope") }), "DATA_NOT_FOUND", /IDX labels file .* does not exist/);
  const gz = gzipSync(good);
  throwsData(() => readIdx(w("corrupt.gz", Uint8Array.of(...gz.subarray(0, 12), ...new Uint8Array(30).fill(0xff)))), "DATA_DECODE", /not a valid gzip stream/);
});

// ---- image folders ----------------------------------------------------------------------------------------

/** A smooth RGBA test picture (JPEG-friendly). */
function picture(w: number, h: number, seed: number) {
  const rgba = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const i = 4 * (y * w + x);
    rgba[i] = (seed * 40 + 8 * x) & 255;
    rgba[i + 1] = (100 + 6 * y) & 255;
    rgba[i + 2] = (200 - 3 * x - 2 * y + seed) & 255;
    rgba[i + 3] = 255;
  }
  return rgba;
}
function png(w: number, h: number, rgba: Uint8Array, colorType: 0 | 2 | 6 = 2): Uint8Array {
  const p = new pngjs.PNG({ width: w, height: h });
  p.data = Buffer.from(rgba);
  return pngjs.PNG.sync.write(p, { colorType });
}
const jpg = (w: number, h: number, rgba: Uint8Array) => new Uint8Array(jpeg.encode({ data: rgba, width: w, height: h }, 95).data);
const rgbOf = (rgba: Uint8Array) => rgba.filter((_, i) => i % 4 !== 3);

test("decodeImage: PNG exact (RGB, RGBA, gray), JPEG within tolerance, by magic bytes", () => {
  const rgba = picture(7, 5, 1);
  for (const ct of [2, 6] as const) {
    const im = decodeImage(png(7, 5, rgba, ct));
    assert.equal([im.width, im.height, im.channels], [7, 5, 3]);
    assert.equal(im.data, rgbOf(rgba));
  }
  const grayRgba = rgba.map((v, i) => (i % 4 === 3 ? 255 : rgba[i - (i % 4)]));
  const g = decodeImage(png(7, 5, grayRgba, 0));
  assert.equal([g.channels, g.data.length], [1, 35]);
  assert.equal(g.data, rgba.filter((_, i) => i % 4 === 0));
  const big = picture(24, 16, 3);
  const j = decodeImage(jpg(24, 16, big));
  assert.equal([j.width, j.height, j.channels], [24, 16, 3]);
  const want = rgbOf(big);
  let err = 0;
  for (let i = 0; i < want.length; i++) err += Math.abs(j.data[i] - want[i]);
  assert.ok(err / want.length < 3, `JPEG mean abs error ${err / want.length}`);
});

test("decodeImage: not an image, corrupt PNG, corrupt JPEG -> QwmDataError", () => {
  throwsData(() => decodeImage(new TextEncoder().encode("GIF89a....")), "DATA_FORMAT", /neither PNG nor JPEG/);
  const p = png(4, 4, picture(4, 4, 0));
  const badCrc = p.slice();
  badCrc[30] ^= 0xff; // inside IHDR: its CRC no longer matches
  throwsData(() => decodeImage(badCrc), "DATA_DECODE", /corrupt PNG/);
  throwsData(() => decodeImage(p.subarray(0, 40)), "DATA_DECODE", /corrupt PNG/);
  const j = jpg(16, 16, picture(16, 16, 0));
  throwsData(() => decodeImage(j.subarray(0, 20)), "DATA_DECODE", /corrupt JPEG/);
});

function classFolder() {
  const d = dir();
  const pics: Record<string, [w: number, h: number, rgba: Uint8Array][]> = {
    dog: [[6, 4, picture(6, 4, 1)], [5, 5, picture(5, 5, 2)], [6, 4, picture(6, 4, 3)]],
    cat: [[4, 4, picture(4, 4, 4)]],
  };
  for (const [cls, list] of Object.entries(pics)) {
    mkdirSync(join(d, cls));
    list.forEach(([w, h, rgba], i) => writeFileSync(join(d, cls, `img${i}.png`), png(w, h, rgba)));
  }
  writeFileSync(join(d, "dog", "photo.JPG"), jpg(16, 16, picture(16, 16, 9)));
  writeFileSync(join(d, "dog", "notes.txt"), "not an image");
  writeFileSync(join(d, "README.md"), "ignored");
  return { d, pics };
}

test("folders: classes = sorted sub-folders, round-robin order, PNG exact, JPEG decoded, limit", () => {
  const { d, pics } = classFolder();
  const ds = readFolder(d);
  assert.equal(ds.classNames, ["cat", "dog"]);
  // round-robin: cat/img0, dog/img0, dog/img1, dog/img2, dog/photo.JPG
  assert.equal(Array.from(ds.labels), [0, 1, 1, 1, 1]);
  assert.equal(ds.images[0].data, rgbOf(pics.cat[0][2]));
  assert.equal(ds.images[1].data, rgbOf(pics.dog[0][2]));
  assert.equal([ds.images[2].width, ds.images[2].height], [5, 5]);
  assert.equal([ds.images[4].width, ds.images[4].height, ds.images[4].channels], [16, 16, 3]);
  assert.equal([ds.width, ds.height, ds.channels], [4, 4, 3]);
  const two = readDataset(d, { limit: 2 });
  assert.equal(Array.from(two.labels), [0, 1]); // a balanced prefix
  // a class-name list fixes the order
  writeFileSync(join(TMP, "order.txt"), "dog\ncat\nbird\n");
  const ordered = readDataset(d, { labelsFile: join(TMP, "order.txt") });
  assert.equal(ordered.classNames, ["dog", "cat", "bird"]);
  assert.equal(Array.from(ordered.labels), [0, 1, 1, 1, 1].map((l) => 1 - l));
});

test("folders: a flat folder is unlabeled; bad folders -> QwmDataError", () => {
  const d = dir();
  writeFileSync(join(d, "b.png"), png(3, 3, picture(3, 3, 1)));
  writeFileSync(join(d, "a.jpeg"), jpg(8, 8, picture(8, 8, 2)));
  const ds = readDataset(d);
  assert.equal(Array.from(ds.labels), [-1, -1]);
  assert.is(ds.images[0].width, 8); // a.jpeg sorts first
  assert.is(ds.classNames, undefined);
  throwsData(() => readFolder(dir()), "DATA_FORMAT", /holds no PNG or JPEG images/);
  const mixed = dir();
  mkdirSync(join(mixed, "cls"));
  writeFileSync(join(mixed, "cls", "x.png"), png(2, 2, picture(2, 2, 0)));
  writeFileSync(join(mixed, "loose.png"), png(2, 2, picture(2, 2, 0)));
  throwsData(() => readFolder(mixed), "DATA_FORMAT", /both class sub-folders and images \(loose.png\)/);
  const { d: cls } = classFolder();
  throwsData(() => readFolder(cls, { classNames: ["cat"] }), "DATA_FORMAT", /sub-folder 'dog' is not one of the 1 given class names/);
  const corrupt = dir();
  writeFileSync(join(corrupt, "x.png"), new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]));
  throwsData(() => readFolder(corrupt), "DATA_DECODE", /x\.png': corrupt PNG/);
  const fake = dir();
  writeFileSync(join(fake, "x.jpg"), "hello");
  throwsData(() => readFolder(fake), "DATA_FORMAT", /x\.jpg' is neither PNG nor JPEG/);
});

// ---- labels files and readDataset -------------------------------------------------------------------------

test("labels files: trimmed, CRLF, trailing empty lines skipped; blank lines, empty and binary files refused", () => {
  assert.equal(parseLabels("\uFEFF cat \r\ndog\r\n\r\n", "x"), ["cat", "dog"]);
  assert.equal(parseLabels("a\na", "x"), ["a", "a"]);
  throwsData(() => parseLabels("a\n\nb\n", "x"), "DATA_FORMAT", /line 2 is empty/);
  throwsData(() => parseLabels("\n \n", "x"), "DATA_FORMAT", /has no labels/);
  const d = dir();
  writeFileSync(join(d, "bin"), Uint8Array.of(0, 1, 2));
  throwsData(() => readLabels(join(d, "bin")), "DATA_FORMAT", /is binary/);
  throwsData(() => readLabels(join(d, "none")), "DATA_NOT_FOUND", /labels file .* does not exist/);
});

test("readDataset: dispatch and its errors", () => {
  const d = dir();
  writeFileSync(join(d, "one.png"), png(3, 2, picture(3, 2, 5)));
  const one = readDataset(join(d, "one.png"));
  assert.equal([one.images.length, one.width, one.height, one.labels[0]], [1, 3, 2, -1]);
  writeFileSync(join(d, "x.dat"), bytes(3073));
  throwsData(() => readDataset(join(d, "x.dat")), "DATA_FORMAT", /not a recognized dataset/);
  throwsData(() => readDataset(join(d, "missing")), "DATA_NOT_FOUND", /dataset .* does not exist/);
  writeFileSync(join(d, "c.bin"), cifarBatch([1]).b);
  writeFileSync(join(d, "labs"), idx(8, [1], Uint8Array.of(0)));
  throwsData(() => readDataset(join(d, "c.bin"), { labelsFile: join(d, "labs") }), "DATA_ARGS", /is an IDX labels file, but .* is a CIFAR-10 batch/);
  throwsData(() => readDataset(join(d, "c.bin"), { labelsFile: join(d, "nolabels") }), "DATA_NOT_FOUND", /labels file/);
  writeFileSync(join(d, "names.txt"), "only\n");
  throwsData(() => readDataset(join(d, "c.bin"), { labelsFile: join(d, "names.txt") }), "DATA_FORMAT", /label 1, but there are 1 classes/);
});

// ---- model pixels and normalized floats --------------------------------------------------------------------

const PRE = { channelOrder: "rgb" as const, resize: "stretch" as const, cropFraction: 1, valueScale: 1 / 255, mean: [0.5, 0.25, 0], std: [0.5, 0.25, 2] };

test("toModelPixels: the SDK's preprocessing (identity at the model size, BGR, gray, resize, crop)", () => {
  const d = dir();
  writeFileSync(join(d, "b.bin"), cifarBatch([0, 1]).b);
  const ds = readDataset(join(d, "b.bin"));
  assert.equal(toModelPixels(ds, 1, 32, 32, 3, PRE), ds.images[1].data);
  const bgr = toModelPixels(ds, 1, 32, 32, 3, { ...PRE, channelOrder: "bgr" });
  for (let p = 0; p < 1024; p += 11) assert.equal([bgr[3 * p], bgr[3 * p + 2]], [ds.images[1].data[3 * p + 2], ds.images[1].data[3 * p]]);
  const spec = { height: 28, width: 20, channels: 1, channelOrder: 2, resize: 1, crop: 0.875 };
  assert.equal(toModelPixels(ds, 0, 28, 20, 1, { ...PRE, channelOrder: "gray", resize: "shorter-side-crop", cropFraction: 0.875 }),
    sdkPreprocess(ds.images[0], spec));
  // a gray dataset into an RGB model: v v v
  const gray: Dataset = { width: 2, height: 1, channels: 1, images: [{ data: Uint8Array.of(10, 200), width: 2, height: 1, channels: 1 }], labels: Int32Array.of(0), source: "mem" };
  assert.equal(Array.from(toModelPixels(gray, 0, 1, 2, 3, PRE)), [10, 10, 10, 200, 200, 200]);
  throwsData(() => toModelPixels(gray, 1, 1, 2, 3, PRE), "DATA_ARGS", /image index 1 is out of range/);
});

test("normalizedFloats: (v * valueScale - mean) / std per channel", () => {
  const f = normalizedFloats(Uint8Array.of(0, 255, 51, 255, 0, 102), PRE);
  const want = [-1, 3, 0.1, 1, -1, 0.2];
  want.forEach((w, i) => assert.ok(Math.abs(f[i] - w) < 1e-6, `${i}: ${f[i]} vs ${w}`));
  throwsData(() => normalizedFloats(new Uint8Array(4), PRE), "DATA_ARGS", /not a whole number of 3-channel pixels/);
});

// ---- real data --------------------------------------------------------------------------------------------

const CIFAR_TEST = join(ROOT, "../shared/datasets/cifar10/test_batch.bin");
testIf(existsSync(CIFAR_TEST), "real CIFAR-10 test batch: 10000 images, 10 class names, every class present", "../shared/datasets/cifar10/test_batch.bin is not there", () => {
  const ds = readDataset(CIFAR_TEST);
  assert.is(ds.images.length, 10000);
  assert.equal(ds.classNames, ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]);
  const counts = new Array(10).fill(0);
  for (const l of ds.labels) counts[l]++;
  assert.equal(counts, new Array(10).fill(1000));
});

const FASHION = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
testIf(existsSync(FASHION), "Debian Fashion-MNIST t10k: 10000 28x28 images, labels found automatically", "Debian package dataset-fashion-mnist is not installed", () => {
  const ds = readDataset(FASHION);
  assert.equal([ds.images.length, ds.width, ds.height, ds.channels], [10000, 28, 28, 1]);
  assert.equal(Array.from(ds.labels.subarray(0, 10)), [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
  const counts = new Array(10).fill(0);
  for (const l of ds.labels) counts[l]++;
  assert.equal(counts, new Array(10).fill(1000));
});

test.run();
