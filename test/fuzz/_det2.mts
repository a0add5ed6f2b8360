import { createHash } from "node:crypto";
import pngjs from "pngjs";
import { imageCaseBytes } from "./image.ts";
for (const i of [84, 276]) {
  const { name, bytes, used } = imageCaseBytes(1, i);
  const hs = new Map<string, number>();
  for (let k = 0; k < 200; k++) {
    let h: string;
    try { h = createHash("md5").update(pngjs.PNG.sync.read(Buffer.from(bytes)).data).digest("hex").slice(0, 8); } catch (e) { h = "ERR " + (e as Error).message; }
    hs.set(h, (hs.get(h) ?? 0) + 1);
    // allocate and fill some garbage between decodes
    Buffer.allocUnsafe(1 << 16).fill(k & 255);
  }
  console.log(i, name, used, bytes.length, [...hs.entries()]);
}
