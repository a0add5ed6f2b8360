// Reading datasets for calibration and evaluation, and turning their images into model inputs exactly as the
// SDK does (sdk/core/preprocess.ts), so that what is evaluated is what users run.
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { extname } from "node:path";
import { constants, gunzipSync } from "node:zlib";
import type { Preprocess } from "../ir/graph.ts";
import { readCifar } from "./cifar.ts";
import { decodeImage, isJpeg, isPng, readFolder } from "./folder.ts";
import { isIdx, readIdx } from "./idx.ts";
import { isGzip, readBytes } from "./io.ts";
import { readLabels } from "./labels.ts";
import { QwmDataError, type Dataset } from "./types.ts";

export { QwmDataError, type Dataset } from "./types.ts";
export { pixelSpec, toModelPixels } from "./pixels.ts";
export { decodeImage, type DecodedImage, type DecodeLimits } from "./folder.ts";
export { readLabels, parseLabels } from "./labels.ts";

export interface ReadOptions {
  /**
   * An IDX labels file for IDX images (otherwise found by the standard naming), or a text file of class names,
   * one a line: it names the classes of a CIFAR batch or IDX file, and orders the classes of a folder.
   */
  labelsFile?: string;
  /** Read at most this many images. */
  limit?: number;
}

/** The first bytes of a file, gunzipped when it is gzip (enough to recognize its format). */
function head(path: string, n = 1 << 16): Uint8Array {
  const fd = openSync(path, "r");
  let b: Uint8Array;
  try {
    b = new Uint8Array(n);
    b = b.subarray(0, readSync(fd, b, 0, n, 0));
  } finally {
    closeSync(fd);
  }
  if (!isGzip(b)) return b;
  try {
    return gunzipSync(b, { finishFlush: constants.Z_SYNC_FLUSH });
  } catch (e) {
    throw new QwmDataError("DATA_DECODE", `'${path}' is not a valid gzip stream: ${(e as Error).message}`);
  }
}

/**
 * The dataset at `path`: a directory is a folder of images; otherwise by content: an IDX file (gzipped or not),
 * a single PNG / JPEG (one unlabeled image), or, named *.bin, a CIFAR-10 batch.
 */
export function readDataset(path: string, opts: ReadOptions = {}): Dataset {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    throw new QwmDataError("DATA_NOT_FOUND", `dataset '${path}' does not exist`);
  }
  // the labels file: IDX labels or class names, by content
  let idxLabels: string | undefined, classNames: string[] | undefined;
  if (opts.labelsFile !== undefined) {
    readBytes(opts.labelsFile, "labels file"); // existence and readability, with the usual message
    if (isIdx(head(opts.labelsFile))) idxLabels = opts.labelsFile;
    else classNames = readLabels(opts.labelsFile);
  }
  const noIdxLabels = (kind: string) => {
    if (idxLabels) throw new QwmDataError("DATA_ARGS", `labels file '${idxLabels}' is an IDX labels file, but '${path}' is ${kind}`);
  };
  if (isDir) {
    noIdxLabels("a folder of images");
    return readFolder(path, { limit: opts.limit, classNames });
  }
  const h = head(path);
  if (isIdx(h)) return readIdx(path, { labelsFile: idxLabels, limit: opts.limit, classNames });
  if (isPng(h) || isJpeg(h)) {
    noIdxLabels("an image");
    const img = decodeImage(readBytes(path, "image"), `'${path}'`);
    return { width: img.width, height: img.height, channels: img.channels, images: [img], labels: Int32Array.of(-1), classNames, source: path };
  }
  if (extname(path).toLowerCase() === ".bin") {
    noIdxLabels("a CIFAR-10 batch");
    return readCifar(path, { limit: opts.limit, classNames });
  }
  throw new QwmDataError("DATA_FORMAT",
    `'${path}' is not a recognized dataset: expected a folder of images, an IDX file, a PNG / JPEG image or a CIFAR-10 batch (*.bin)`);
}

/** Normalized floats of HWC pixels: (v * valueScale - mean[c]) / std[c], with C = mean.length channels. */
export function normalizedFloats(px: Uint8Array, p: Preprocess): Float32Array {
  const C = p.mean.length;
  if (C < 1 || p.std.length !== C) throw new QwmDataError("DATA_ARGS", `preprocessing has ${C} means and ${p.std.length} stds`);
  if (px.length % C !== 0) throw new QwmDataError("DATA_ARGS", `${px.length} pixel values are not a whole number of ${C}-channel pixels`);
  // one lookup table per channel: 256 values each
  const lut = Array.from({ length: C }, (_, c) => Float32Array.from({ length: 256 }, (_, v) => (v * p.valueScale - p.mean[c]) / p.std[c]));
  const out = new Float32Array(px.length);
  for (let i = 0; i < px.length; i++) out[i] = lut[i % C][px[i]];
  return out;
}
