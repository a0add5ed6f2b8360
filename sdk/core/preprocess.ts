// Images to the model's input pixels, in integers, identically on every host (docs/api.md, "Preprocessing").
//
// An image is { data, width, height } with data RGBA, RGB or gray bytes, row-major, top row first; its channel
// count is data.length / (width * height). One pass turns it into u8 [H][W][C] pixels at the model's size and in
// its channel order (qwm_run_pixels then normalizes and quantizes them inside the wasm runtime):
//
// 1. Channels, per source pixel: RGB keeps R G B, BGR reverses them, gray is
//    round(0.299 R + 0.587 G + 0.114 B) = floor((299 R + 587 G + 114 B + 500) / 1000). A gray source gives
//    v v v for an RGB / BGR model. Alpha is ignored.
// 2. Geometry. Stretch: the image is resized to exactly H x W. Crop: the image is resized so that it covers
//    H/crop x W/crop, keeping its aspect ratio, and the center H x W is kept:
//      if H * srcW >= W * srcH:  RH = round(H / crop), RW = max(W, round(srcW * RH / srcH))
//      else:                     RW = round(W / crop), RH = max(H, round(srcH * RW / srcW))
//      top = floor((RH - H) / 2), left = floor((RW - W) / 2)
//    (a square model with crop 0.875 resizes the shorter side to round(size / 0.875) and center-crops).
// 3. Bilinear resampling from the resized grid's pixel (x + left, y + top) with half-pixel centers and
//    clamp-to-edge: source x = (x + left + 0.5) * srcW / RW - 0.5, clamped to [0, srcW - 1] (same for y);
//    x0 = floor(source x), x1 = min(x0 + 1, srcW - 1), the fraction is rounded half up to 1/2048:
//    fx = round(2048 * (source x - x0)), computed exactly in rational arithmetic. The pixel is
//      ((2048 - fy) * ((2048 - fx) * p00 + fx * p01) + fy * ((2048 - fx) * p10 + fx * p11) + 2^21) >> 22
//    (rounded half up; the sum stays below 2^31).
// A crop is a pure selection, so cropping a resized image and this single pass give the same pixels.
import { QwmInputError } from "./errors.ts";

export interface ImageLike {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
}

/** The model side of preprocessing (from the .qwm metadata). channelOrder 0 RGB, 1 BGR, 2 gray; resize 0 stretch, 1 crop. */
export interface PixelSpec {
  height: number;
  width: number;
  channels: number;
  channelOrder: number;
  resize: number;
  crop: number;
}

const FRAC_BITS = 11;
const ONE = 1 << FRAC_BITS; // 2048
const MAX_SIDE = 1 << 24;

/** Checks an ImageLike and returns its channel count (1 gray, 3 RGB, 4 RGBA); `what` names it in errors. */
export function imageChannels(img: unknown, what = "image"): 1 | 3 | 4 {
  if (img === null || typeof img !== "object") throw new QwmInputError("BAD_IMAGE", `${what} must be an object { data, width, height }`);
  const { data, width, height } = img as ImageLike;
  for (const [k, v] of [["width", width], ["height", height]] as const) {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > MAX_SIDE) {
      throw new QwmInputError("BAD_IMAGE", `${what}.${k} must be an integer in 1..${MAX_SIDE}, got ${String(v)}`);
    }
  }
  if (!(data instanceof Uint8Array || data instanceof Uint8ClampedArray)) {
    throw new QwmInputError("BAD_IMAGE", `${what}.data must be a Uint8Array or Uint8ClampedArray`);
  }
  const k = data.length / (width * height);
  if (k !== 1 && k !== 3 && k !== 4) {
    throw new QwmInputError("BAD_IMAGE",
      `${what}.data has ${data.length} bytes for ${width}x${height} pixels: expected ${width * height} (gray), ${3 * width * height} (RGB) or ${4 * width * height} (RGBA)`);
  }
  return k;
}

/** Resized grid size and crop offset for a source of srcW x srcH (step 2 above). */
export function resizeGeometry(srcW: number, srcH: number, spec: PixelSpec): { rw: number; rh: number; left: number; top: number } {
  const { width: W, height: H } = spec;
  if (spec.resize !== 1) return { rw: W, rh: H, left: 0, top: 0 };
  const crop = spec.crop > 0 && spec.crop <= 1 ? spec.crop : 1;
  let rw: number, rh: number;
  if (H * srcW >= W * srcH) {
    rh = Math.max(H, Math.round(H / crop));
    rw = Math.max(W, roundDiv(srcW * rh, srcH));
  } else {
    rw = Math.max(W, Math.round(W / crop));
    rh = Math.max(H, roundDiv(srcH * rw, srcW));
  }
  return { rw, rh, left: Math.floor((rw - W) / 2), top: Math.floor((rh - H) / 2) };
}

/** round(a / b) half up, exactly, for non-negative integers (BigInt: a may exceed 2^53). */
function roundDiv(a: number, b: number): number {
  return Number((2n * BigInt(a) + BigInt(b)) / (2n * BigInt(b)));
}

/**
 * Per output index i in [0, n): [i0, i1, f] with f in 0..2048, for a source axis of `src` pixels resampled to a
 * grid of `r` pixels of which the window starting at `off` is kept (step 3 above). Exact: BigInt rationals.
 */
export function axisTable(n: number, src: number, r: number, off: number): Int32Array {
  const t = new Int32Array(3 * n);
  const S = BigInt(src), den = 2n * BigInt(r);
  for (let i = 0; i < n; i++) {
    // source coordinate = num / den = ((2 (i + off) + 1) * src - r) / (2 r)
    let num = BigInt(2 * (i + off) + 1) * S - BigInt(r);
    if (num < 0n) num = 0n;
    let i0 = num / den, rem = num - i0 * den;
    if (i0 >= S - 1n) { i0 = S - 1n; rem = 0n; }
    const f = (2n * BigInt(ONE) * rem + den) / (2n * den);
    t[3 * i] = Number(i0);
    t[3 * i + 1] = Math.min(Number(i0) + 1, src - 1);
    t[3 * i + 2] = Number(f);
  }
  return t;
}

/**
 * Writes the model's u8 input pixels [H][W][C] for `img` into `out` at `offset` (allocates when `out` is
 * omitted) and returns `out`. Validates the image (QwmInputError 'BAD_IMAGE').
 */
export function preprocess(img: ImageLike, spec: PixelSpec, out?: Uint8Array, offset = 0): Uint8Array {
  const k = imageChannels(img);
  const { width: srcW, height: srcH, data } = img;
  const { width: W, height: H, channels: C } = spec;
  out ??= new Uint8Array(H * W * C);
  const g = resizeGeometry(srcW, srcH, spec);
  const tx = axisTable(W, srcW, g.rw, g.left), ty = axisTable(H, srcH, g.rh, g.top);
  const gray = spec.channelOrder === 2 && C === 1 && k !== 1;
  // source channel of each output channel (for color models and gray -> gray)
  const map = [0, 0, 0];
  for (let c = 0; c < C && c < 3; c++) map[c] = k === 1 ? 0 : spec.channelOrder === 1 ? 2 - c : c;
  const px = (i: number, c: number) => gray
    ? ((299 * data[i] + 587 * data[i + 1] + 114 * data[i + 2] + 500) / 1000) | 0
    : data[i + map[c]];
  let o = offset;
  for (let y = 0; y < H; y++) {
    const r0 = ty[3 * y] * srcW, r1 = ty[3 * y + 1] * srcW, fy = ty[3 * y + 2], gy = ONE - fy;
    for (let x = 0; x < W; x++) {
      const x0 = tx[3 * x], x1 = tx[3 * x + 1], fx = tx[3 * x + 2], gx = ONE - fx;
      const i00 = (r0 + x0) * k, i01 = (r0 + x1) * k, i10 = (r1 + x0) * k, i11 = (r1 + x1) * k;
      for (let c = 0; c < C; c++) {
        const top = gx * px(i00, c) + fx * px(i01, c);
        const bot = gx * px(i10, c) + fx * px(i11, c);
        out[o++] = (gy * top + fy * bot + (1 << (2 * FRAC_BITS - 1))) >> (2 * FRAC_BITS);
      }
    }
  }
  return out;
}
