/**
 * In-memory image datasets. Pixels are kept as 8-bit, NHWC (channels last,
 * the layout tfjs convolutions use), so CIFAR-10 fits in ~180 MB; they become
 * normalised float32 tensors only when a batch is needed.
 */
export interface ImageSplit {
  /** count × height × width × channels bytes, NHWC, values 0..255. */
  images: Uint8Array;
  /** count class indices in [0, classNames.length). */
  labels: Int32Array;
  count: number;
}

export interface ImageDataset {
  /** Short identifier, e.g. "builtin-shapes", "cifar10", or a file name. */
  name: string;
  classNames: string[];
  height: number;
  width: number;
  channels: 1 | 3;
  train: ImageSplit;
  test: ImageSplit;
  /** Per-channel mean and std of the training pixels in [0,1] (used to normalise). */
  normalization: Normalization;
}

export interface Normalization {
  mean: number[];
  std: number[];
}

/** Progress callback for anything slow (decoding, downloading, training). */
export type ProgressFn = (done: number, total: number, what: string) => void;

/** Error whose message is fit to show to a user as one line (CLI / UI). */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}
