// Cuts the small Fashion-MNIST subsets bundled in models/data/ from Debian's dataset-fashion-mnist:
// the first 256 training images (calibration) and the first 1000 test images (evaluation), as gzipped IDX.
// Usage: node scripts/cut-fashion-subsets.mjs [/usr/share/datasets/fashion-mnist]
import { readFileSync, writeFileSync } from "node:fs";
import { gunzipSync, gzipSync } from "node:zlib";

const src = process.argv[2] ?? "/usr/share/datasets/fashion-mnist";
const cut = (name, n) => {
  for (const kind of ["images-idx3", "labels-idx1"]) {
    const b = gunzipSync(readFileSync(`${src}/${name}-${kind}-ubyte.gz`));
    const dims = b[3];
    const header = Buffer.from(b.subarray(0, 4 + 4 * dims));
    header.writeUInt32BE(n, 4);
    const per = kind === "images-idx3" ? b.readUInt32BE(8) * b.readUInt32BE(12) : 1;
    const body = b.subarray(4 + 4 * dims, 4 + 4 * dims + n * per);
    const out = `models/data/fashion-${name}${n}-${kind}-ubyte.gz`;
    writeFileSync(out, gzipSync(Buffer.concat([header, body]), { level: 9, mtime: 0 }));
    console.log(out, n);
  }
};
cut("train", 256);
cut("t10k", 1000);
