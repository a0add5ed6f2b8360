// Folders of images: one sub-folder per class (class names = the sorted sub-folder names, or the order of a
// given class-name list), or a flat folder of images (unlabeled, -1). PNG and JPEG, recognized by their magic
// bytes and decoded by pngjs / jpeg-js (pure JS). Images keep their own sizes; toModelPixels resizes them.
import { readdirSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import jpeg from "jpeg-js";
import pngjs from "pngjs";
import { applyLimit, readBytes } from "./io.ts";
import { QwmDataError, type Dataset } from "./types.ts";

export interface DecodedImage { data: Uint8Array; width: number; height: number; channels: 1 | 3 }

const MAX_PIXELS = 100e6; // the same bound jpeg-js applies by default
const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const IMAGE_EXT = new Set([".png", ".jpg", ".jpeg"]);

export const isPng = (b: Uint8Array) => b.length >= 8 && PNG_MAGIC.every((m, i) => b[i] === m);
export const isJpeg = (b: Uint8Array) => b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;

/**
 * Decodes a PNG or JPEG (by its magic bytes) to HWC pixels: 1 channel for a gray PNG, else 3 (RGB; alpha is
 * dropped, as the preprocessing ignores it). 16-bit PNGs are scaled to 8 bits. `what` names it in errors.
 */
export function decodeImage(bytes: Uint8Array, what = "image"): DecodedImage {
  if (isPng(bytes)) return decodePng(bytes, what);
  if (isJpeg(bytes)) return decodeJpeg(bytes, what);
  throw new QwmDataError("DATA_FORMAT", `${what} is neither PNG nor JPEG (unrecognized magic bytes)`);
}

function decodePng(bytes: Uint8Array, what: string): DecodedImage {
  if (bytes.length >= 24) {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const w = dv.getUint32(16, false), h = dv.getUint32(20, false);
    if (w * h > MAX_PIXELS) throw new QwmDataError("DATA_DECODE", `${what}: PNG of ${w}x${h} pixels is over the ${MAX_PIXELS / 1e6} MP limit`);
  }
  let png: pngjs.PNGWithMetadata;
  try {
    png = pngjs.PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    throw new QwmDataError("DATA_DECODE", `${what}: corrupt PNG (${(e as Error).message})`);
  }
  const { width, height, data } = png; // RGBA, 8 bits
  const gray = (png.colorType & 3) === 0; // types 0 (gray) and 4 (gray + alpha)
  const C = gray ? 1 : 3;
  const out = new Uint8Array(width * height * C);
  for (let p = 0; p < width * height; p++) for (let c = 0; c < C; c++) out[p * C + c] = data[4 * p + c];
  return { data: out, width, height, channels: C };
}

function decodeJpeg(bytes: Uint8Array, what: string): DecodedImage {
  try {
    const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: MAX_PIXELS / 1e6, maxMemoryUsageInMB: 1024 });
    if (img.width < 1 || img.height < 1 || img.data.length !== img.width * img.height * 3) throw new Error("no image data");
    return { data: img.data, width: img.width, height: img.height, channels: 3 };
  } catch (e) {
    throw new QwmDataError("DATA_DECODE", `${what}: corrupt JPEG (${(e as Error).message})`);
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
