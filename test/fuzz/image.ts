// Fuzz target: the image decoders (src/data/folder.ts decodeImage: PNG by pngjs, JPEG by jpeg-js) and the
// SDK's preprocessing of what they return.
//
// Seeds: PNGs in every color type, bit depth and interlacing (encoded here, random pixels), JPEGs from jpeg-js,
// and models/samples/*.png. Structure-aware mutations: PNG chunks parsed and re-serialized with their CRCs
// recomputed (19 in 20): IHDR fields (absurd sizes, bit depths, color types, interlace), chunk order and
// lengths, the zlib image data (truncated, flipped, too short or too long, a deflate bomb); JPEG segments
// parsed: SOF size / components / sampling / precision / kind, DQT, DHT, SOS, DRI, segment lengths, the
// entropy-coded data; plus truncation and raw byte flips. Checks:
//  - the decoder returns a consistent image (1 <= width, height; width * height <= maxPixels; data length =
//    width * height * channels) or throws a QwmDataError; anything else is a crash;
//  - decoding the same bytes twice (memory recycled in between) gives the same pixels or the same error: a
//    decoder reading uninitialized memory does not;
//  - the per-case time budget, and memory: the process's peak RSS may not grow by more than ALLOC_BUDGET in a
//    case (maxPixels bounds what a legitimate image needs);
//  - a decoded image goes through the SDK's preprocessing into a model input.
import { deflateSync } from "node:zlib";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import jpeg from "jpeg-js";
import { crc32 } from "../../src/pack/crc32.ts";
import { decodeImage, QwmDataError } from "../../src/data/index.ts";
import { preprocess } from "../../sdk/core/preprocess.ts";
import { QwmError } from "../../sdk/core/errors.ts";
import { ROOT } from "../helpers/tools.ts";
import { bump, CaseFailure, caseRng, type Rng, type Target, type TargetReport } from "./core.ts";
import { rng } from "../helpers/ref.ts";

/** The pixel limit the fuzzer decodes with (decodeImage's limits.maxPixels). */
export const FUZZ_MAX_PIXELS = 4e6;
/** Most the process's peak RSS may grow in one case (bytes). */
const ALLOC_BUDGET = 160 << 20;

// ---------------------------------------------------------------------------------------------- PNG

interface Chunk { type: string; data: Uint8Array; badCrc?: boolean }
const enc = new TextEncoder();

function chunkBytes(c: Chunk): Uint8Array {
  const out = new Uint8Array(12 + c.data.length), v = new DataView(out.buffer);
  v.setUint32(0, c.data.length);
  out.set(enc.encode(c.type.padEnd(4, " ").slice(0, 4)), 4);
  out.set(c.data, 8);
  const crc = crc32(out, 4, 8 + c.data.length);
  v.setUint32(8 + c.data.length, c.badCrc ? crc ^ 0x01 : crc);
  return out;
}

const PNG_SIG = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

function writePng(chunks: Chunk[]): Uint8Array {
  const parts = [PNG_SIG, ...chunks.map(chunkBytes)];
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

function readPng(b: Uint8Array): Chunk[] {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength), out: Chunk[] = [];
  for (let at = 8; at + 12 <= b.length;) {
    const len = v.getUint32(at);
    if (at + 12 + len > b.length) break;
    out.push({ type: String.fromCharCode(...b.subarray(at + 4, at + 8)), data: b.slice(at + 8, at + 8 + len) });
    at += 12 + len;
  }
  return out;
}

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** A valid PNG of random pixels (any filter byte 0..4 over any bytes is a valid PNG). */
function encodePng(r: Rng, w: number, h: number, colorType: number, depth: number, interlace: number): Uint8Array {
  const ch = CHANNELS[colorType];
  const rowBytes = (pw: number) => Math.ceil((pw * ch * depth) / 8);
  const passes = interlace ? [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]] : [[0, 0, 1, 1]];
  const rows: number[] = [];
  for (const [x0, y0, dx, dy] of passes) {
    const pw = Math.ceil((w - x0) / dx), ph = Math.ceil((h - y0) / dy);
    if (pw <= 0 || ph <= 0) continue;
    for (let y = 0; y < ph; y++) {
      rows.push(r.int(0, 4));
      for (let i = 0; i < rowBytes(pw); i++) rows.push(r.int(0, 255));
    }
  }
  const ihdr = new Uint8Array(13), v = new DataView(ihdr.buffer);
  v.setUint32(0, w); v.setUint32(4, h); ihdr[8] = depth; ihdr[9] = colorType; ihdr[12] = interlace;
  const chunks: Chunk[] = [{ type: "IHDR", data: ihdr }];
  if (colorType === 3) {
    const n = 1 << Math.min(depth, 8);
    chunks.push({ type: "PLTE", data: Uint8Array.from({ length: 3 * n }, () => r.int(0, 255)) });
    if (r.next() < 0.5) chunks.push({ type: "tRNS", data: Uint8Array.from({ length: r.int(1, n) }, () => r.int(0, 255)) });
  }
  const z = new Uint8Array(deflateSync(Uint8Array.from(rows)));
  const cut = r.next() < 0.3 ? r.int(1, Math.max(1, z.length - 1)) : z.length;
  chunks.push({ type: "IDAT", data: z.subarray(0, cut) });
  if (cut < z.length) chunks.push({ type: "IDAT", data: z.subarray(cut) });
  chunks.push({ type: "IEND", data: new Uint8Array(0) });
  return writePng(chunks);
}

// ---------------------------------------------------------------------------------------------- JPEG

interface Seg { marker: number; data: Uint8Array }
interface Jpeg { segs: Seg[]; scan: Uint8Array; tail: boolean }

function readJpeg(b: Uint8Array): Jpeg | null {
  const segs: Seg[] = [];
  let at = 2;
  while (at + 4 <= b.length && b[at] === 0xff) {
    const marker = b[at + 1];
    const len = (b[at + 2] << 8) | b[at + 3];
    if (at + 2 + len > b.length) return null;
    segs.push({ marker, data: b.slice(at + 4, at + 2 + len) });
    at += 2 + len;
    if (marker === 0xda) {
      const end = b.length >= 2 && b[b.length - 2] === 0xff && b[b.length - 1] === 0xd9;
      return { segs, scan: b.slice(at, end ? b.length - 2 : b.length), tail: end };
    }
  }
  return null;
}

function writeJpeg(j: Jpeg, badLen?: { seg: number; len: number }): Uint8Array {
  const parts: Uint8Array[] = [Uint8Array.of(0xff, 0xd8)];
  j.segs.forEach((s, i) => {
    const len = badLen?.seg === i ? badLen.len : s.data.length + 2;
    parts.push(Uint8Array.of(0xff, s.marker, (len >> 8) & 0xff, len & 0xff), s.data);
  });
  parts.push(j.scan);
  if (j.tail) parts.push(Uint8Array.of(0xff, 0xd9));
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

function encodeJpeg(r: Rng, w: number, h: number, q: number): Uint8Array {
  const data = Uint8Array.from({ length: w * h * 4 }, (_, i) => ((i >> 2) * 37 + r.int(0, 40)) & 0xff);
  return new Uint8Array(jpeg.encode({ data, width: w, height: h }, q).data);
}

// ---------------------------------------------------------------------------------------------- mutations

const SIZES = [0, 1, 2, 7, 8, 255, 1000, 2000, 4096, 65535, 65536, 100000, 0x7fffffff, 0x80000000, 0xffffffff];

let bombCache: Uint8Array | undefined;
/** A zlib stream of 128 MiB of zeros (about 128 KiB): inflated without a cap, it is a deflate bomb. */
function bomb(): Uint8Array {
  return (bombCache ??= new Uint8Array(deflateSync(new Uint8Array(128 << 20), { level: 9 })));
}

type Mut = (b: Uint8Array, r: Rng) => Uint8Array;

const PNG_MUTATORS: Record<string, Mut> = {
  ihdr: (b, r) => {
    const cs = readPng(b), h = cs.find((c) => c.type === "IHDR");
    if (!h || h.data.length < 13) return b;
    const v = new DataView(h.data.buffer, h.data.byteOffset);
    switch (r.int(0, 4)) {
      case 0: v.setUint32(r.pick([0, 4]), r.pick(SIZES)); break;
      case 1: h.data[8] = r.pick([0, 1, 2, 3, 4, 5, 8, 16, 32, 255]); break;
      case 2: h.data[9] = r.pick([0, 1, 2, 3, 4, 5, 6, 7, 8, 255]); break;
      case 3: h.data[12] = r.pick([0, 1, 2, 255]); break;
      default: h.data[r.pick([10, 11])] = r.pick([1, 2, 255]);
    }
    return writePng(cs);
  },
  chunks: (b, r) => {
    const cs = readPng(b);
    if (!cs.length) return b;
    const i = r.int(0, cs.length - 1), j = r.int(0, cs.length - 1);
    switch (r.int(0, 4)) {
      case 0: cs.splice(i, 1); break;
      case 1: cs.splice(j, 0, { ...cs[i] }); break;
      case 2: [cs[i], cs[j]] = [cs[j], cs[i]]; break;
      case 3: cs.splice(j, 0, { type: r.pick(["tEXt", "abCD", "zzZZ", "PLTE", "tRNS", "IHDR", "IEND", "gAMA"]), data: Uint8Array.from({ length: r.pick([0, 1, 3, 13, 768, 800]) }, () => r.int(0, 255)) }); break;
      default: cs[i].badCrc = true;
    }
    return writePng(cs);
  },
  length: (b, r) => {
    // a chunk's length field (the CRC after it no longer lines up)
    const cs = readPng(b);
    let at = 8;
    const k = r.int(0, Math.max(0, cs.length - 1));
    for (let i = 0; i < k; i++) at += 12 + cs[i].data.length;
    const out = b.slice();
    if (at + 4 <= out.length) new DataView(out.buffer).setUint32(at, r.pick([0, 1, 13, 0x7fffffff, 0xffffffff, cs[k]?.data.length + 1, Math.max(0, cs[k]?.data.length - 1)]) >>> 0);
    return out;
  },
  idat: (b, r) => {
    const cs = readPng(b);
    const ids = cs.filter((c) => c.type === "IDAT");
    if (!ids.length) return b;
    const c = r.pick(ids);
    switch (r.int(0, 4)) {
      case 0: c.data = c.data.slice(0, r.int(0, c.data.length)); break;
      case 1: { c.data = c.data.slice(); for (let k = r.int(1, 6); k > 0 && c.data.length; k--) c.data[r.int(0, c.data.length - 1)] = r.int(0, 255); break; }
      case 2: c.data = new Uint8Array(deflateSync(new Uint8Array(r.pick([0, 1, 10, 100, 5000, 1 << 20])))); break; // data of the wrong size
      case 3: c.data = new Uint8Array(0); break;
      default: c.data = Uint8Array.from({ length: r.int(0, 64) }, () => r.int(0, 255));
    }
    return writePng(cs);
  },
  bomb: (b, r) => {
    // an interlaced image whose data inflates to 128 MiB: far past its declared size
    const cs = readPng(b).filter((c) => c.type !== "IDAT");
    const h = cs.find((c) => c.type === "IHDR");
    if (!h || h.data.length < 13) return b;
    const v = new DataView(h.data.buffer, h.data.byteOffset);
    v.setUint32(0, r.pick([256, 1024, 2000])); v.setUint32(4, r.pick([256, 1024, 2000]));
    h.data[8] = 8; h.data[9] = 0; h.data[12] = r.next() < 0.8 ? 1 : 0;
    cs.splice(cs.length - 1, 0, { type: "IDAT", data: bomb() });
    return writePng(cs);
  },
  trunc: (b, r) => b.slice(0, r.int(0, b.length - 1)),
  havoc: (b, r) => { const o = b.slice(); for (let k = r.int(1, 8); k > 0; k--) o[r.int(0, o.length - 1)] = r.int(0, 255); return o; },
};

const SOF_KINDS = [0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc9, 0xcf];

const JPEG_MUTATORS: Record<string, Mut> = {
  sof: (b, r) => {
    const j = readJpeg(b);
    const s = j?.segs.find((x) => SOF_KINDS.includes(x.marker));
    if (!j || !s || s.data.length < 6) return b;
    const v = new DataView(s.data.buffer, s.data.byteOffset);
    switch (r.int(0, 4)) {
      case 0: v.setUint16(r.pick([1, 3]), r.pick([0, 1, 2, 9, 4000, 10000, 32768, 65535])); break;
      case 1: s.data[5] = r.pick([0, 1, 2, 3, 4, 255]); break;
      case 2: { const c = r.int(0, Math.max(0, (s.data.length - 6) / 3 - 1)); if (6 + 3 * c + 2 < s.data.length) s.data[6 + 3 * c + 1] = r.pick([0x00, 0x11, 0x12, 0x21, 0x22, 0x41, 0x44, 0xff]); break; }
      case 3: { const c = r.int(0, Math.max(0, (s.data.length - 6) / 3 - 1)); if (6 + 3 * c + 2 < s.data.length) s.data[6 + 3 * c + 2] = r.pick([0, 1, 3, 4, 255]); break; }
      default: s.data[0] = r.pick([0, 8, 12, 16, 255]);
    }
    return writeJpeg(j);
  },
  sofkind: (b, r) => {
    const j = readJpeg(b);
    const s = j?.segs.find((x) => SOF_KINDS.includes(x.marker));
    if (!j || !s) return b;
    s.marker = r.pick(SOF_KINDS);
    return writeJpeg(j);
  },
  tables: (b, r) => {
    const j = readJpeg(b);
    if (!j) return b;
    const ts = j.segs.filter((x) => x.marker === 0xdb || x.marker === 0xc4);
    if (!ts.length) return b;
    const t = r.pick(ts);
    if (!t.data.length) return b;
    const at = r.next() < 0.4 ? 0 : r.int(0, t.data.length - 1);
    t.data[at] = r.pick([0x00, 0x01, 0x10, 0x11, 0x13, 0xff, r.int(0, 255)]);
    if (t.marker === 0xc4 && r.next() < 0.3 && t.data.length > 17) for (let k = 1; k <= 16; k++) t.data[k] = 0xff; // counts past 256
    return writeJpeg(j);
  },
  sos: (b, r) => {
    const j = readJpeg(b);
    const s = j?.segs.find((x) => x.marker === 0xda);
    if (!j || !s || !s.data.length) return b;
    s.data[r.int(0, s.data.length - 1)] = r.pick([0, 1, 2, 3, 4, 0x3f, 0x40, 0xff, 0x11, 0x44]);
    return writeJpeg(j);
  },
  dri: (b, r) => {
    const j = readJpeg(b);
    if (!j) return b;
    const iv = r.pick([0, 1, 2, 7, 65535]);
    j.segs.splice(r.int(0, j.segs.length - 1), 0, { marker: 0xdd, data: Uint8Array.of(iv >> 8, iv & 0xff) });
    if (r.next() < 0.5 && j.scan.length > 4) { const s = j.scan.slice(); s[r.int(0, s.length - 2)] = 0xff; s[r.int(0, s.length - 1)] = 0xd0 + r.int(0, 7); j.scan = s; }
    return writeJpeg(j);
  },
  segments: (b, r) => {
    const j = readJpeg(b);
    if (!j || !j.segs.length) return b;
    const i = r.int(0, j.segs.length - 1), k = r.int(0, j.segs.length - 1);
    switch (r.int(0, 3)) {
      case 0: j.segs.splice(i, 1); break;
      case 1: j.segs.splice(k, 0, { ...j.segs[i] }); break;
      case 2: [j.segs[i], j.segs[k]] = [j.segs[k], j.segs[i]]; break;
      default: return writeJpeg(j, { seg: i, len: r.pick([0, 1, 2, 3, 0xffff, j.segs[i].data.length + 3, j.segs[i].data.length]) });
    }
    return writeJpeg(j);
  },
  scan: (b, r) => {
    const j = readJpeg(b);
    if (!j) return b;
    switch (r.int(0, 2)) {
      case 0: j.scan = j.scan.slice(0, r.int(0, j.scan.length)); break;
      case 1: { const s = j.scan.slice(); for (let k = r.int(1, 8); k > 0 && s.length; k--) s[r.int(0, s.length - 1)] = r.int(0, 255); j.scan = s; break; }
      default: j.tail = false;
    }
    return writeJpeg(j);
  },
  trunc: (b, r) => b.slice(0, r.int(0, b.length - 1)),
  havoc: (b, r) => { const o = b.slice(); for (let k = r.int(1, 8); k > 0; k--) o[r.int(2, o.length - 1)] = r.int(0, 255); return o; },
};

// ---------------------------------------------------------------------------------------------- the target

const maxRss = () => process.resourceUsage().maxRSS * 1024;

/** The check a decoder's rejection names: its code and its message with numbers and names taken out. */
function rejection(e: QwmDataError): string {
  const m = e.message.replace(/^'[^']*'|^fuzz image/, "").replace(/[0-9]+(\.[0-9]+)?/g, "N").replace(/\s+/g, " ").trim();
  return `${e.code} ${m.slice(0, 90)}`;
}

/** The bytes of case `index`: a seed (PNG for even cases, JPEG for odd ones) and one or two mutations. */
function imageCase(png: [string, Uint8Array][], jpg: [string, Uint8Array][], index: number, r: Rng): { name: string; bytes: Uint8Array; used: string[] } {
  const isPng = index % 2 === 0;
  const [name, seed] = r.pick(isPng ? png : jpg);
  const table = isPng ? PNG_MUTATORS : JPEG_MUTATORS;
  const names = Object.keys(table);
  const used: string[] = [];
  let b = seed;
  for (let k = r.next() < 0.75 ? 1 : 2; k > 0; k--) {
    const m = r.pick(names);
    used.push(m);
    b = table[m](b, r);
  }
  if (index % 997 === 0) { b = b.slice(0, r.int(0, 8)); used.push("tiny"); } // empty and nearly empty buffers
  return { name, bytes: b, used };
}

/** The seed images of the image target. */
export function imageSeeds(): { png: [string, Uint8Array][]; jpg: [string, Uint8Array][] } {
  const sr = rng(12345);
  const png: [string, Uint8Array][] = [];
  for (const [ct, depths] of [[0, [1, 2, 4, 8, 16]], [2, [8, 16]], [3, [1, 2, 4, 8]], [4, [8, 16]], [6, [8, 16]]] as const) {
    for (const d of depths) for (const il of [0, 1]) png.push([`png c${ct} d${d}${il ? " interlaced" : ""}`, encodePng(sr, sr.int(1, 40), sr.int(1, 40), ct, d, il)]);
  }
  const samples = `${ROOT}models/samples`;
  if (existsSync(samples)) for (const f of readdirSync(samples).filter((n) => n.endsWith(".png")).sort().slice(0, 6)) png.push([`sample ${f}`, new Uint8Array(readFileSync(`${samples}/${f}`))]);
  const jpg: [string, Uint8Array][] = [[1, 1], [7, 5], [16, 16], [33, 17], [64, 48], [28, 28]].map(([w, h], i) => [`jpeg ${w}x${h}`, encodeJpeg(sr, w, h, i % 2 ? 95 : 40)]);
  return { png, jpg };
}

/** The bytes of case `index` of a run seeded with `seed` (to reproduce a finding outside the harness). */
export function imageCaseBytes(seed: number, index: number): { name: string; bytes: Uint8Array; used: string[] } {
  const { png, jpg } = imageSeeds();
  return imageCase(png, jpg, index, caseRng(seed, "image", index));
}

export async function imageTarget(): Promise<Target> {
  const { png, jpg } = imageSeeds();
  for (const [name, b] of [...png, ...jpg]) decodeImage(b, name, { maxPixels: FUZZ_MAX_PIXELS }); // the seeds decode
  bomb(); // made before the cases: its 128 MiB of zeros would count against a case's memory
  const spec = { height: 8, width: 8, channels: 3, channelOrder: 0, resize: 1, crop: 0.875 };
  return {
    name: "image",
    async run(index: number, r: Rng, report: TargetReport) {
      const { name, bytes: b, used } = imageCase(png, jpg, index, r);
      const before = maxRss();
      // decoded twice, with freshly recycled memory in between: a decoder that reads uninitialized memory
      // gives different pixels (or a different error) for the same bytes
      const decode = () => {
        try {
          return decodeImage(b, "fuzz image", { maxPixels: FUZZ_MAX_PIXELS });
        } catch (e) {
          if (e instanceof QwmDataError) return e;
          throw fail("crash", name, used, `decodeImage threw ${(e as Error)?.stack ?? e}`);
        }
      };
      const img = decode();
      Buffer.allocUnsafe(1 << 16).fill(index & 0xff);
      const again = decode();
      checkAlloc(before, name, used);
      const same = img instanceof QwmDataError
        ? again instanceof QwmDataError && again.message === img.message
        : !(again instanceof QwmDataError) && Buffer.compare(again.data, img.data) === 0;
      if (!same) {
        const say = (x: typeof img) => (x instanceof QwmDataError ? x.message : `${x.width}x${x.height}x${x.channels} pixels`);
        throw fail("mismatch", name, used, `the same bytes decoded twice differ (uninitialized memory?): ${say(img)} / ${say(again)}`);
      }
      bump(report.counters, "decoded twice, same result");
      if (img instanceof QwmDataError) return { outcome: { accepted: false, by: rejection(img) }, mutators: used };
      const { width: w, height: h, channels: c, data } = img;
      if (!(Number.isInteger(w) && Number.isInteger(h) && w >= 1 && h >= 1 && w * h <= FUZZ_MAX_PIXELS && (c === 1 || c === 3) && data instanceof Uint8Array && data.length === w * h * c)) {
        throw fail("crash", name, used, `inconsistent image: ${w}x${h}x${c}, ${data?.length} bytes`);
      }
      try {
        preprocess(img, spec);
        bump(report.counters, "preprocessed");
      } catch (e) {
        if (!(e instanceof QwmError)) throw fail("crash", name, used, `preprocess threw ${(e as Error)?.stack ?? e}`);
        throw fail("crash", name, used, `preprocess refused a decoded image: ${(e as Error).message}`);
      }
      return { outcome: { accepted: true }, mutators: used };
    },
  };
}

function fail(kind: "crash" | "alloc" | "mismatch", seed: string, used: string[], detail: string): CaseFailure {
  const f = new CaseFailure(kind, detail);
  f.mutators = `${seed}: ${used.join("+")}`;
  return f;
}

function checkAlloc(before: number, seed: string, used: string[]): void {
  const grew = maxRss() - before;
  if (grew > ALLOC_BUDGET) throw fail("alloc", seed, used, `peak memory grew by ${(grew / 2 ** 20).toFixed(0)} MiB in one case (budget ${ALLOC_BUDGET / 2 ** 20} MiB)`);
}
