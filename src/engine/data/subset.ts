/**
 * Class subsets of a dataset, seeded sampling of real images, and the
 * conversion between 8-bit pixels and normalised float tensors.
 * (Contract: the RealPool / Subset interfaces; implementation below them.)
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../rng';
import { gatherSplit } from './split';
import { UserError, type ImageDataset, type ImageSplit, type Normalization } from './types';

export { computeNormalization } from './normalization';

/** The real training images of a subset, grouped by class (subset numbering 0..C-1). */
export interface RealPool {
  numClasses: number;
  classNames: string[];
  height: number;
  width: number;
  channels: number;
  normalization: Normalization;
  /** Number of real images of subset class k. */
  count(k: number): number;
  /** n images of class k, normalised NHWC float32; without replacement when n ≤ count(k). */
  sample(k: number, n: number, rng: Rng): tf.Tensor4D;
  /** The images of class k at the given positions (0..count(k)-1), normalised NHWC. */
  gather(k: number, positions: number[]): tf.Tensor4D;
}

export interface Subset {
  /** Indices of the chosen classes in the original dataset, in subset order. */
  classIndices: number[];
  classNames: string[];
  train: RealPool;
  /** Test split restricted to the chosen classes, labels renumbered 0..C-1. */
  test: ImageSplit;
}

// ---------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------


/** Per-channel affine map: normalised = pixel·scale[c] + shift[c] (= (pixel/255 − mean)/std). */
function affine(norm: Normalization, channels: number): { scale: Float64Array; shift: Float64Array } {
  if (norm.mean.length !== channels || norm.std.length !== channels) {
    throw new Error(`normalization has ${norm.mean.length} means / ${norm.std.length} stds for ${channels} channels`);
  }
  const scale = new Float64Array(channels);
  const shift = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    scale[c] = 1 / (255 * norm.std[c]);
    shift[c] = -norm.mean[c] / norm.std[c];
  }
  return { scale, shift };
}

/** Normalise `count` images of 8-bit NHWC pixels (from `offset` image onwards in `pixels`) into out. */
function normaliseInto(
  pixels: Uint8Array,
  out: Float32Array,
  outOffset: number,
  first: number,
  count: number,
  imageSize: number,
  channels: number,
  a: { scale: Float64Array; shift: Float64Array },
): void {
  const src = first * imageSize;
  const n = count * imageSize;
  if (channels === 1) {
    const s = a.scale[0];
    const b = a.shift[0];
    for (let i = 0; i < n; i++) out[outOffset + i] = pixels[src + i] * s + b;
  } else {
    for (let i = 0; i < n; i++) {
      const c = i % channels;
      out[outOffset + i] = pixels[src + i] * a.scale[c] + a.shift[c];
    }
  }
}

/**
 * 8-bit NHWC pixels → normalised float32 NHWC tensor: (pixel/255 − mean[c]) / std[c].
 * `pixels` must hold at least count·height·width·channels bytes.
 */
export function toNormalizedTensor(
  pixels: Uint8Array,
  count: number,
  height: number,
  width: number,
  channels: number,
  norm: Normalization,
): tf.Tensor4D {
  const size = height * width * channels;
  if (pixels.length < count * size) {
    throw new Error(`toNormalizedTensor: ${pixels.length} bytes given, ${count}×${height}×${width}×${channels} needed`);
  }
  const out = new Float32Array(count * size);
  normaliseInto(pixels, out, 0, 0, count, size, channels, affine(norm, channels));
  return tf.tensor4d(out, [count, height, width, channels]);
}

/**
 * Normalised float NHWC tensor → 8-bit pixels (inverse of toNormalizedTensor:
 * value·std + mean, ×255, rounded, clamped to 0..255). Does not dispose x.
 */
export async function toPixels(x: tf.Tensor4D, norm: Normalization): Promise<Uint8Array> {
  const channels = x.shape[3];
  if (norm.mean.length !== channels || norm.std.length !== channels) {
    throw new Error(`toPixels: normalization has ${norm.mean.length} channels, tensor has ${channels}`);
  }
  const data = await x.data();
  const out = new Uint8Array(data.length);
  const scale = norm.std.map((s) => 255 * s);
  const shift = norm.mean.map((m) => 255 * m);
  for (let i = 0; i < data.length; i++) {
    const c = i % channels;
    const v = Math.round(data[i] * scale[c] + shift[c]);
    out[i] = v < 0 ? 0 : v > 255 ? 255 : v; // NaN → 0 via the Uint8Array conversion
  }
  return out;
}

/** RealPool over per-class contiguous pixel blocks. */
class ClassPool implements RealPool {
  readonly numClasses: number;
  private readonly norm: { scale: Float64Array; shift: Float64Array };
  private readonly imageSize: number;

  constructor(
    readonly classNames: string[],
    readonly height: number,
    readonly width: number,
    readonly channels: number,
    readonly normalization: Normalization,
    /** pixels[k] = count(k) images of subset class k, NHWC. */
    private readonly pixels: Uint8Array[],
  ) {
    this.numClasses = classNames.length;
    this.imageSize = height * width * channels;
    this.norm = affine(normalization, channels);
  }

  count(k: number): number {
    this.check(k);
    return this.pixels[k].length / this.imageSize;
  }

  sample(k: number, n: number, rng: Rng): tf.Tensor4D {
    const have = this.count(k);
    if (have === 0) throw new UserError(`class ${this.classNames[k]} has no training images`);
    let positions: number[];
    if (n <= have) positions = rng.sample(have, n);
    else {
      // More than there are: whole shuffled passes, then a partial one (as even as possible).
      positions = [];
      while (positions.length < n) positions.push(...rng.sample(have, Math.min(have, n - positions.length)));
    }
    return this.gather(k, positions);
  }

  gather(k: number, positions: number[]): tf.Tensor4D {
    const have = this.count(k);
    const out = new Float32Array(positions.length * this.imageSize);
    for (let i = 0; i < positions.length; i++) {
      const p = positions[i];
      if (!Number.isInteger(p) || p < 0 || p >= have) throw new RangeError(`position ${p} out of range 0..${have - 1} for class ${k}`);
      normaliseInto(this.pixels[k], out, i * this.imageSize, p, 1, this.imageSize, this.channels, this.norm);
    }
    return tf.tensor4d(out, [positions.length, this.height, this.width, this.channels]);
  }

  private check(k: number): void {
    if (!Number.isInteger(k) || k < 0 || k >= this.numClasses) {
      throw new RangeError(`subset class ${k} out of range 0..${this.numClasses - 1}`);
    }
  }
}

/**
 * Restrict a dataset to some classes (in the given order, renumbered 0..C−1)
 * and, optionally, to realPerClass seeded-random training images per class.
 * classes null = all classes; realPerClass null = all images. When a class has
 * fewer than realPerClass images, all of them are used (no error: small
 * custom datasets keep working; RealPool.count tells how many there are).
 * The test split keeps every test image of the chosen classes.
 */
export function makeSubset(
  dataset: ImageDataset,
  opts: { classes: number[] | null; realPerClass: number | null; seed: number },
): Subset {
  const numAll = dataset.classNames.length;
  const classes = opts.classes ?? Array.from({ length: numAll }, (_, i) => i);
  if (classes.length === 0) throw new UserError('no classes chosen');
  const seen = new Set<number>();
  for (const c of classes) {
    if (!Number.isInteger(c) || c < 0 || c >= numAll) {
      throw new UserError(`class ${c} does not exist (dataset has ${numAll} classes: 0–${numAll - 1})`);
    }
    if (seen.has(c)) throw new UserError(`class ${c} is listed twice`);
    seen.add(c);
  }
  if (opts.realPerClass !== null && !(Number.isInteger(opts.realPerClass) && opts.realPerClass >= 1)) {
    throw new UserError(`real images per class must be a whole number ≥ 1, got ${opts.realPerClass}`);
  }
  const size = dataset.height * dataset.width * dataset.channels;
  const rng = new Rng(opts.seed);
  const byClass = new Map<number, number[]>(classes.map((c) => [c, []]));
  const tr = dataset.train;
  for (let i = 0; i < tr.count; i++) byClass.get(tr.labels[i])?.push(i);
  const pixels = classes.map((c) => {
    let idx = byClass.get(c)!;
    if (idx.length === 0) throw new UserError(`class ${c} (${dataset.classNames[c]}) has no training images`);
    if (opts.realPerClass !== null && opts.realPerClass < idx.length) {
      idx = rng.sample(idx.length, opts.realPerClass).map((j) => idx[j]).sort((a, b) => a - b);
    }
    return gatherSplit(tr, idx, size).images;
  });
  const newIndex = new Map(classes.map((c, i) => [c, i]));
  const testIdx: number[] = [];
  for (let i = 0; i < dataset.test.count; i++) if (newIndex.has(dataset.test.labels[i])) testIdx.push(i);
  const classNames = classes.map((c) => dataset.classNames[c]);
  return {
    classIndices: [...classes],
    classNames,
    train: new ClassPool(classNames, dataset.height, dataset.width, dataset.channels, dataset.normalization, pixels),
    test: gatherSplit(dataset.test, testIdx, size, (l) => newIndex.get(l)!),
  };
}
