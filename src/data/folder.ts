// Folders of images: one sub-folder per class (class names = the sorted sub-folder names, or the order of a
// given class-name list), or a flat folder of images (unlabeled, -1). PNG and JPEG, recognized by their magic
// bytes and decoded by pngjs / jpeg-js (pure JS). Images keep their own sizes; toModelPixels resizes them.
import { readdirSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import { inflateSync } from "node:zlib";
import jpeg from "jpeg-js";
import pngjs from "pngjs";
import { applyLimit, readBytes } from "./io.ts";
import { QwmDataError, type Dataset } from "./types.ts";

export interface DecodedImage { data: Uint8Array; width: number; height: number; channels: 1 | 3 }

const MAX_PIXELS = 100e6; // the same bound jpeg-js applies by default
/** Deflate's largest expansion: no stream inflates to more than about 1032 times its size. */
const DEFLATE_MAX_RATIO = 1032;

export interface DecodeLimits {
  /** Most pixels (width x height) an image may have; default 100e6. Decoding needs about 20 bytes a pixel at most. */
  maxPixels?: number;
}
const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const IMAGE_EXT = new Set([".png", ".jpg", ".jpeg"]);

export const isPng = (b: Uint8Array) => b.length >= 8 && PNG_MAGIC.every((m, i) => b[i] === m);
export const isJpeg = (b: Uint8Array) => b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;

/**
 * Decodes a PNG or JPEG (by its magic bytes) to HWC pixels: 1 channel for a gray PNG, else 3 (RGB; alpha is
 * dropped, as the preprocessing ignores it). 16-bit PNGs are scaled to 8 bits. `what` names it in errors.
 * Untrusted bytes are fine: anything wrong is a QwmDataError, and memory stays bounded by `limits.maxPixels`.
 */
export function decodeImage(bytes: Uint8Array, what = "image", limits: DecodeLimits = {}): DecodedImage {
  const maxPixels = limits.maxPixels ?? MAX_PIXELS;
  if (!(maxPixels >= 1)) throw new QwmDataError("DATA_ARGS", `maxPixels must be a positive number, got ${String(limits.maxPixels)}`);
  if (!(bytes instanceof Uint8Array)) throw new QwmDataError("DATA_ARGS", `${what}: the bytes must be a Uint8Array`);
  if (bytes.length === 0) throw new QwmDataError("DATA_FORMAT", `${what} is empty (0 bytes)`);
  if (isPng(bytes)) return decodePng(bytes, what, maxPixels);
  if (isJpeg(bytes)) return decodeJpeg(bytes, what, maxPixels);
  throw new QwmDataError("DATA_FORMAT", `${what} is neither PNG nor JPEG (unrecognized magic bytes)`);
}

/** Bytes of a PNG's filtered image data (a filter byte per row), Adam7 passes when interlaced; 0 if unknown. */
function pngRawBytes(w: number, h: number, depth: number, colorType: number, interlace: number): number {
  const channels = ({ 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as Record<number, number>)[colorType];
  if (!channels || ![1, 2, 4, 8, 16].includes(depth)) return 0;
  const rows = (pw: number, ph: number) => (pw && ph ? ph * (Math.ceil((pw * channels * depth) / 8) + 1) : 0);
  if (!interlace) return rows(w, h);
  // Adam7: pass p covers columns x0 + k*dx and rows y0 + k*dy
  const passes = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];
  return passes.reduce((a, [x0, y0, dx, dy]) => a + rows(Math.ceil((w - x0) / dx), Math.ceil((h - y0) / dy)), 0);
}

/**
 * Checks a PNG's header and image data against what decoding it costs, before pngjs allocates anything: the
 * pixel limit, and compressed data that could inflate to the declared size (deflate expands at most ~1032
 * times: a few bytes cannot hold a huge image), and data that inflates to exactly the declared size (inflated
 * here with the size capped: no deflate bomb). Malformed chunk structure is left to pngjs.
 */
function checkPng(bytes: Uint8Array, what: string, maxPixels: number): void {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 33 || dv.getUint32(12) !== 0x49484452) return; // no IHDR first: pngjs reports it
  const w = dv.getUint32(16), h = dv.getUint32(20), depth = bytes[24], colorType = bytes[25], interlace = bytes[28];
  if (w < 1 || h < 1) throw new QwmDataError("DATA_DECODE", `${what}: PNG of ${w}x${h} pixels (width and height must be at least 1)`);
  if (w * h > maxPixels) throw new QwmDataError("DATA_DECODE", `${what}: PNG of ${w}x${h} pixels is over the ${maxPixels / 1e6} MP limit`);
  const raw = pngRawBytes(w, h, depth, colorType, interlace);
  if (!raw) return; // an invalid depth / color type: pngjs names it
  const idat: Uint8Array[] = [];
  let z = 0;
  for (let at = 8; at + 12 <= bytes.length;) {
    const len = dv.getUint32(at), type = dv.getUint32(at + 4);
    if (at + 12 + len > bytes.length) break;
    if (type === 0x49444154) { idat.push(bytes.subarray(at + 8, at + 8 + len)); z += len; } // IDAT
    at += 12 + len;
  }
  if (z * DEFLATE_MAX_RATIO + 64 < raw) {
    throw new QwmDataError("DATA_DECODE", `${what}: PNG of ${w}x${h} pixels needs ${raw} bytes of image data, but holds ${z} compressed bytes (truncated or corrupt)`);
  }
  // The image data must inflate to exactly its declared size. pngjs does not check it: it inflates interlaced
  // images without a cap, and its synchronous inflate, given a stream that ends early, returns the rest of its
  // uninitialized output buffer as image data (the pixels would then hold stale process memory).
  const all = idat.length === 1 ? idat[0] : Buffer.concat(idat);
  let n: number;
  try {
    n = inflateSync(all, { maxOutputLength: raw + 1 }).length;
  } catch (e) {
    const big = (e as { code?: string }).code === "ERR_BUFFER_TOO_LARGE";
    throw new QwmDataError("DATA_DECODE", big
      ? `${what}: PNG image data inflates past its declared ${w}x${h} pixels (${raw} bytes)`
      : `${what}: corrupt PNG (${(e as Error).message})`);
  }
  if (n > raw) throw new QwmDataError("DATA_DECODE", `${what}: PNG image data inflates past its declared ${w}x${h} pixels (${raw} bytes)`);
  if (n < raw) throw new QwmDataError("DATA_DECODE", `${what}: PNG image data ends early: ${n} of the ${raw} bytes of ${w}x${h} pixels (truncated or corrupt)`);
}

function decodePng(bytes: Uint8Array, what: string, maxPixels: number): DecodedImage {
  checkPng(bytes, what, maxPixels);
  let png: pngjs.PNGWithMetadata;
  try {
    png = pngjs.PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    throw new QwmDataError("DATA_DECODE", `${what}: corrupt PNG (${e instanceof Error ? e.message : String(e)})`);
  }
  const { width, height, data } = png; // RGBA, 8 bits
  const gray = (png.colorType & 3) === 0; // types 0 (gray) and 4 (gray + alpha)
  const C = gray ? 1 : 3;
  const out = new Uint8Array(width * height * C);
  for (let p = 0; p < width * height; p++) for (let c = 0; c < C; c++) out[p * C + c] = data[4 * p + c];
  return { data: out, width, height, channels: C };
}

function decodeJpeg(bytes: Uint8Array, what: string, maxPixels: number): DecodedImage {
  try {
    // jpeg-js counts 4 bytes per sample of each component's coefficient blocks plus the output (about 15 bytes a
    // pixel for 3 components, more with chroma upsampling): 20 a pixel, at least 16 MB, at most 1 GB
    const mem = Math.min(1024, Math.max(16, Math.ceil((maxPixels * 20) / 2 ** 20)));
    const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: maxPixels / 1e6, maxMemoryUsageInMB: mem });
    if (img.width < 1 || img.height < 1 || img.data.length !== img.width * img.height * 3) throw new Error("no image data");
    return { data: img.data, width: img.width, height: img.height, channels: 3 };
  } catch (e) {
    throw new QwmDataError("DATA_DECODE", `${what}: corrupt JPEG (${e instanceof Error ? e.message : String(e)})`);
  }
}

/** Reads and decodes one image file. */
export function readImage(path: string): DecodedImage {
  return decodeImage(readBytes(path, "image"), `'${path}'`);
}

const codepoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Image files (by extension, hidden files skipped) and sub-folders of `dir`, each sorted by code point. */
function listDir(dir: string): { files: string[]; dirs: string[] } {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    throw new QwmDataError("DATA_NOT_FOUND", `folder '${dir}' cannot be read: ${(e as Error).message}`);
  }
  const files: string[] = [], dirs: string[] = [];
  for (const n of names.sort(codepoint)) {
    if (n.startsWith(".")) continue;
    const p = join(dir, n);
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch (e) {
      throw new QwmDataError("DATA_NOT_FOUND", `'${p}' cannot be read: ${(e as Error).message}`);
    }
    if (isDir) dirs.push(n);
    else if (IMAGE_EXT.has(extname(n).toLowerCase())) files.push(n);
  }
  return { files, dirs };
}

/**
 * The image folder at `path`. With class sub-folders, the images are taken round-robin across the classes
 * (image 0 of each class, then image 1, ...), so that any `limit` gives a balanced prefix. `classNames`, when
 * given, fixes the class order (every sub-folder must be named in it); otherwise the sorted sub-folder names.
 */
export function readFolder(path: string, opts: { limit?: number; classNames?: string[] } = {}): Dataset {
  const top = listDir(path);
  let entries: { file: string; label: number }[];
  let classNames = opts.classNames;
  if (top.dirs.length) {
    if (top.files.length) {
      throw new QwmDataError("DATA_FORMAT", `folder '${path}' has both class sub-folders and images (${top.files[0]}) at its top level`);
    }
    classNames ??= top.dirs;
    const perClass = top.dirs.map((d) => {
      const label = classNames!.indexOf(d);
      if (label < 0) throw new QwmDataError("DATA_FORMAT", `folder '${path}': sub-folder '${d}' is not one of the ${classNames!.length} given class names`);
      return listDir(join(path, d)).files.map((f) => ({ file: join(d, f), label }));
    });
    entries = [];
    for (let i = 0, more = true; more; i++) {
      more = false;
      for (const list of perClass) if (i < list.length) { entries.push(list[i]); more = true; }
    }
  } else {
    entries = top.files.map((file) => ({ file, label: -1 }));
  }
  if (!entries.length) throw new QwmDataError("DATA_FORMAT", `folder '${path}' holds no PNG or JPEG images`);
  const n = applyLimit(entries.length, opts.limit);
  const images: Dataset["images"] = [];
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    images.push(readImage(join(path, entries[i].file)));
    labels[i] = entries[i].label;
  }
  const first = images[0];
  return {
    width: first.width, height: first.height, channels: images.some((im) => im.channels !== 1) ? 3 : 1,
    images, labels, classNames, source: path,
  };
}
