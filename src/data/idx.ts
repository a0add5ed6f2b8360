// IDX files (MNIST, Fashion-MNIST), gzipped or not: an images file u8 [n][rows][cols] (magic 00 00 08 03) and a
// labels file u8 [n] (magic 00 00 08 01). The labels file is given, or found by the standard naming
// (train-images-idx3-ubyte[.gz] -> train-labels-idx1-ubyte[.gz]); without one the images are unlabeled (-1).
import { existsSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { applyLimit, maybeGunzip, readBytes } from "./io.ts";
import { QwmDataError, type Dataset } from "./types.ts";

/** True when `b` (already gunzipped) starts with an IDX magic: two zero bytes, a type code, a dimension count. */
export const isIdx = (b: Uint8Array) =>
  b.length >= 4 && b[0] === 0 && b[1] === 0 && [0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e].includes(b[2]) && b[3] >= 1;

/** Parses an unsigned-byte IDX tensor with `ndims` dimensions, checking the magic and the exact length. */
export function parseIdx(b: Uint8Array, ndims: number, path: string): { dims: number[]; data: Uint8Array } {
  const what = ndims === 1 ? "labels" : "images";
  if (!isIdx(b)) throw new QwmDataError("DATA_FORMAT", `'${path}' is not an IDX file (bad magic number)`);
  if (b[2] !== 0x08) throw new QwmDataError("DATA_FORMAT", `'${path}': IDX element type 0x${b[2].toString(16).padStart(2, "0")}, expected 0x08 (unsigned byte)`);
  if (b[3] !== ndims) throw new QwmDataError("DATA_FORMAT", `'${path}': IDX ${what} file must have ${ndims} dimension${ndims > 1 ? "s" : ""}, this one has ${b[3]}`);
  const header = 4 + 4 * ndims;
  if (b.length < header) throw new QwmDataError("DATA_FORMAT", `'${path}': truncated IDX header (${b.length} bytes)`);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const dims = Array.from({ length: ndims }, (_, i) => dv.getUint32(4 + 4 * i, false));
  if (dims.slice(1).some((d) => d === 0)) throw new QwmDataError("DATA_FORMAT", `'${path}': IDX dimensions ${dims.join("x")} include a zero`);
  const want = header + dims.reduce((a, d) => a * d, 1);
  if (b.length !== want) {
    throw new QwmDataError("DATA_FORMAT", `'${path}': IDX dimensions ${dims.join("x")} need ${want} bytes, the file has ${b.length}`);
  }
  return { dims, data: b.subarray(header) };
}

/** The labels file beside an images file by the standard naming, or null when there is none. */
export function idxLabelsPath(imagesPath: string): string | null {
  const name = basename(imagesPath).replace(/\.gz$/i, "");
  if (!/images/.test(name)) return null;
  const stem = join(dirname(imagesPath), name.replace("images", "labels").replace("idx3", "idx1"));
  for (const p of [stem, `${stem}.gz`]) if (existsSync(p)) return p;
  return null;
}

/** Reads an IDX labels file: one byte per image. */
export function readIdxLabels(path: string): Uint8Array {
  return parseIdx(maybeGunzip(readBytes(path, "IDX labels file"), path), 1, path).data;
}

/** The IDX images at `path` (1-channel), labeled from `labelsFile` or the standard neighbour. */
export function readIdx(path: string, opts: { labelsFile?: string; limit?: number; classNames?: string[] } = {}): Dataset {
  const { dims, data } = parseIdx(maybeGunzip(readBytes(path, "IDX images file"), path), 3, path);
  const [count, rows, cols] = dims;
  if (count === 0) throw new QwmDataError("DATA_FORMAT", `'${path}' holds no images`);
  const labelsPath = opts.labelsFile ?? idxLabelsPath(path);
  const lab = labelsPath ? readIdxLabels(labelsPath) : null;
  if (lab && lab.length !== count) {
    throw new QwmDataError("DATA_FORMAT", `'${labelsPath}' has ${lab.length} labels but '${path}' has ${count} images`);
  }
  const n = applyLimit(count, opts.limit);
  const size = rows * cols;
  const images: Dataset["images"] = [];
  const labels = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    images.push({ data: data.slice(i * size, (i + 1) * size), width: cols, height: rows, channels: 1 });
    if (lab) {
      if (opts.classNames && lab[i] >= opts.classNames.length) {
        throw new QwmDataError("DATA_FORMAT", `'${labelsPath}': label ${lab[i]} of image ${i} has no class name (${opts.classNames.length} given)`);
      }
      labels[i] = lab[i];
    }
  }
  return { width: cols, height: rows, channels: 1, images, labels, classNames: opts.classNames, source: path };
}
