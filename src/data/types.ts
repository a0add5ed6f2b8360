// Labeled image datasets as the toolkit reads them (src/data/*): uint8 pixels, HWC, one array per image.

export class QwmDataError extends Error {
  readonly code: string;
  constructor(code: "DATA_NOT_FOUND" | "DATA_FORMAT" | "DATA_DECODE" | "DATA_ARGS", message: string) {
    super(message);
    this.name = "QwmDataError";
    this.code = code;
  }
}

export interface Dataset {
  width: number;
  height: number;
  channels: 1 | 3;
  /** HWC uint8 pixels, width*height*channels each. For folders of images: each decoded image at its own size. */
  images: { data: Uint8Array; width: number; height: number; channels: 1 | 3 | 4 }[];
  /** Class index per image (-1 when unlabeled). */
  labels: Int32Array;
  /** Class names when the dataset knows them (CIFAR-10 batches.meta.txt, folder names). */
  classNames?: string[];
  /** Where it came from, for reports. */
  source: string;
}
