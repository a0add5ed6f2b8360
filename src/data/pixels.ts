// Dataset images as a model's uint8 pixels, exactly as the SDK preprocesses them (sdk/core/preprocess.ts).
// No file system here: the training engine (src/train/) uses it in browsers too.
import type { Preprocess } from "../ir/graph.ts";
import { preprocess as sdkPreprocess, type PixelSpec } from "../../sdk/core/preprocess.ts";
import { QwmDataError, type Dataset } from "./types.ts";

/** The model's pixel spec (sdk/core/preprocess.ts) from its input size and preprocessing metadata. */
export function pixelSpec(H: number, W: number, C: number, p: Preprocess): PixelSpec {
  return {
    height: H, width: W, channels: C,
    channelOrder: { rgb: 0, bgr: 1, gray: 2 }[p.channelOrder],
    resize: p.resize === "stretch" ? 0 : 1,
    crop: p.cropFraction,
  };
}

/** Dataset image `i` as the model's uint8 pixels [H][W][C], resized and channel-ordered as the SDK does. */
export function toModelPixels(ds: Dataset, i: number, H: number, W: number, C: number, p: Preprocess, out?: Uint8Array): Uint8Array {
  if (!Number.isInteger(i) || i < 0 || i >= ds.images.length) {
    throw new QwmDataError("DATA_ARGS", `image index ${i} is out of range (the dataset has ${ds.images.length} images)`);
  }
  const img = ds.images[i];
  try {
    return sdkPreprocess(img, pixelSpec(H, W, C, p), out);
  } catch (e) {
    throw new QwmDataError("DATA_ARGS", `image ${i} of '${ds.source}': ${(e as Error).message}`);
  }
}
