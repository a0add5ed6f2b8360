// A small PNG decoder for hosts without an image decoder (Deno, Cloudflare Workers): the platform's
// DecompressionStream inflates the pixels, this file undoes the row filters. Every color type and bit depth;
// not interlaced (Adam7) images. Returns RGBA, 8 bits per channel, like a canvas's ImageData: 16-bit and
// 1/2/4-bit gray samples are scaled to 0..255 (rounded, as pngjs does), palette entries are looked up (with
// their tRNS alpha); a gray or RGB image's tRNS color key is ignored.
// The same file is in examples/deno/ and examples/cloudflare-worker/src/.

export class PngError extends Error {
  /** @param {"UNSUPPORTED" | "CORRUPT" | "TOO_LARGE"} code */
  constructor(code, message) {
    super(message);
    this.name = "PngError";
    this.code = code;
  }
}

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];
const CHANNELS = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }; // by color type: gray, RGB, palette, gray+alpha, RGBA

/** True when `bytes` starts with the PNG signature. */
export const isPng = (bytes) => bytes.length >= 8 && SIGNATURE.every((b, i) => bytes[i] === b);

/**
 * Decodes a PNG file to { width, height, data: Uint8ClampedArray RGBA }.
 * @param {Uint8Array} bytes
 * @param {{ maxPixels?: number }} [options] refuse images larger than this (default 2^24 pixels)
 */
export async function decodePng(bytes, { maxPixels = 2 ** 24 } = {}) {
  if (!isPng(bytes)) throw new PngError("UNSUPPORTED", "not a PNG file");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let header = null, palette = null, alpha = null;
  const idat = [];
  for (let p = 8; ;) {
    if (p + 12 > bytes.length) throw new PngError("CORRUPT", "PNG is truncated (no IEND chunk)");
    const len = view.getUint32(p), type = String.fromCharCode(...bytes.subarray(p + 4, p + 8));
    const data = bytes.subarray(p + 8, p + 8 + len);
    if (len > 2 ** 31 || data.length !== len) throw new PngError("CORRUPT", `PNG chunk ${type} is truncated`);
    p += 12 + len;
    if (type === "IHDR") {
      if (len < 13) throw new PngError("CORRUPT", "PNG IHDR chunk is too short");
      const dv = new DataView(data.buffer, data.byteOffset, len);
      header = { width: dv.getUint32(0), height: dv.getUint32(4), depth: data[8], color: data[9], interlace: data[12] };
    } else if (type === "PLTE") palette = data;
    else if (type === "tRNS") alpha = data;
    else if (type === "IDAT") idat.push(data);
    else if (type === "IEND") break;
  }
  if (!header) throw new PngError("CORRUPT", "PNG has no IHDR chunk");
  const { width, height, depth, color, interlace } = header;
  const channels = CHANNELS[color];
  if (!channels || ![1, 2, 4, 8, 16].includes(depth) || (channels > 1 && color !== 3 && depth < 8) || (color === 3 && depth > 8)) {
    throw new PngError("CORRUPT", `PNG has an invalid color type ${color} / bit depth ${depth}`);
  }
  if (interlace) throw new PngError("UNSUPPORTED", "interlaced PNGs are not supported; save the image without interlacing");
  if (width < 1 || height < 1) throw new PngError("CORRUPT", "PNG has a zero width or height");
  if (width * height > maxPixels) throw new PngError("TOO_LARGE", `PNG is ${width}x${height}, over ${maxPixels} pixels`);
  if (color === 3 && !palette) throw new PngError("CORRUPT", "palette PNG has no PLTE chunk");

  // Inflate (zlib format), reading no more than the image needs, and undo the row filters.
  const bpp = Math.max(1, (channels * depth) >> 3), stride = Math.ceil((width * channels * depth) / 8);
  const raw = new Uint8Array(height * (stride + 1));
  let filled = 0;
  const reader = new Blob(idat).stream().pipeThrough(new DecompressionStream("deflate")).getReader();
  try {
    while (filled < raw.length) {
      const { done, value } = await reader.read();
      if (done) break;
      raw.set(value.subarray(0, raw.length - filled), filled);
      filled += Math.min(value.length, raw.length - filled);
    }
  } catch (e) {
    throw new PngError("CORRUPT", `PNG pixel data does not inflate: ${e?.message ?? e}`);
  } finally {
    reader.cancel().catch(() => {});
  }
  if (filled < raw.length) throw new PngError("CORRUPT", "PNG pixel data is too short");
  const rows = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)], src = y * (stride + 1) + 1, o = y * stride;
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? rows[o + i - bpp] : 0, b = y ? rows[o - stride + i] : 0, c = y && i >= bpp ? rows[o - stride + i - bpp] : 0;
      let pred;
      if (filter === 0) pred = 0;
      else if (filter === 1) pred = a;
      else if (filter === 2) pred = b;
      else if (filter === 3) pred = (a + b) >> 1;
      else if (filter === 4) {
        const pa = Math.abs(b - c), pb = Math.abs(a - c), pc = Math.abs(a + b - 2 * c);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else throw new PngError("CORRUPT", `PNG row ${y} has an unknown filter ${filter}`);
      rows[o + i] = raw[src + i] + pred;
    }
  }

  // Samples to RGBA.
  const out = new Uint8ClampedArray(width * height * 4);
  const sample = (y, i) => { // the i-th sample of row y, as 0..255 (palette: the index)
    if (depth === 8) return rows[y * stride + i];
    const max = (1 << depth) - 1, o = y * stride, bits = depth * i;
    const v = depth === 16 ? (rows[o + 2 * i] << 8) | rows[o + 2 * i + 1] : (rows[o + (bits >> 3)] >> (8 - depth - (bits & 7))) & max;
    return color === 3 ? v : Math.floor((v * 255) / max + 0.5);
  };
  for (let y = 0, o = 0; y < height; y++) {
    for (let x = 0; x < width; x++, o += 4) {
      const s = x * channels;
      if (color === 3) {
        const k = sample(y, s);
        if (3 * k + 2 >= palette.length) throw new PngError("CORRUPT", `PNG palette has no entry ${k}`);
        out[o] = palette[3 * k]; out[o + 1] = palette[3 * k + 1]; out[o + 2] = palette[3 * k + 2];
        out[o + 3] = alpha && k < alpha.length ? alpha[k] : 255;
      } else if (channels <= 2) {
        out[o] = out[o + 1] = out[o + 2] = sample(y, s);
        out[o + 3] = channels === 2 ? sample(y, s + 1) : 255;
      } else {
        out[o] = sample(y, s); out[o + 1] = sample(y, s + 1); out[o + 2] = sample(y, s + 2);
        out[o + 3] = channels === 4 ? sample(y, s + 3) : 255;
      }
    }
  }
  return { width, height, data: out };
}
