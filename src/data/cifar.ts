// CIFAR-10 binary batches: records of 1 label byte then 3072 pixel bytes (the R plane, the G plane, the B plane,
// 32x32 each, rows top to bottom), turned into HWC RGB images. Class names come from batches.meta.txt beside
// the batch when it is there (or from the caller).
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { applyLimit, readBytes } from "./io.ts";
import { readLabels } from "./labels.ts";
import { QwmDataError, type Dataset } from "./types.ts";

export const CIFAR_SIDE = 32;
const PLANE = CIFAR_SIDE * CIFAR_SIDE; // 1024
export const CIFAR_RECORD = 1 + 3 * PLANE; // 3073

/** The CIFAR-10 batch at `path`; `classNames` replaces batches.meta.txt. */
export function readCifar(path: string, opts: { limit?: number; classNames?: string[] } = {}): Dataset {
  const b = readBytes(path, "CIFAR-10 batch");
  if (b.length === 0 || b.length % CIFAR_RECORD !== 0) {
    throw new QwmDataError("DATA_FORMAT",
      `'${path}': ${b.length} bytes is not a whole number of CIFAR-10 records (${CIFAR_RECORD} bytes each: 1 label + 3072 pixels)`);
  }
  const metaPath = join(dirname(path), "batches.meta.txt");
  const classNames = opts.classNames ?? (existsSync(metaPath) ? readLabels(metaPath) : undefined);
  const nClasses = classNames?.length ?? 10;
  const n = applyLimit(b.length / CIFAR_RECORD, opts.limit);
  const images: Dataset["images"] = [];
  const labels = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    const rec = r * CIFAR_RECORD;
    if (b[rec] >= nClasses) {
      throw new QwmDataError("DATA_FORMAT", `'${path}': record ${r} has label ${b[rec]}, but there are ${nClasses} classes${classNames ? "" : " (CIFAR-10)"}`);
    }
    labels[r] = b[rec];
    // planar R, G, B -> interleaved HWC
    const data = new Uint8Array(3 * PLANE);
    for (let p = 0; p < PLANE; p++) {
      data[3 * p] = b[rec + 1 + p];
      data[3 * p + 1] = b[rec + 1 + PLANE + p];
      data[3 * p + 2] = b[rec + 1 + 2 * PLANE + p];
    }
    images.push({ data, width: CIFAR_SIDE, height: CIFAR_SIDE, channels: 3 });
  }
  return { width: CIFAR_SIDE, height: CIFAR_SIDE, channels: 3, images, labels, classNames, source: path };
}
