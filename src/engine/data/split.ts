/**
 * Building and re-splitting ImageSplits: gathering images by index, and the
 * seeded per-class split used when a dataset comes with only one split
 * (e.g. only MNIST's t10k files, or an ImageFolder without train/ and test/).
 */
import { Rng } from '../rng';
import { UserError, type ImageSplit } from './types';

/** The images at `indices` (in that order) as a new split; labels optionally renumbered. */
export function gatherSplit(
  split: ImageSplit,
  indices: ArrayLike<number>,
  pixelsPerImage: number,
  relabel?: (label: number) => number,
): ImageSplit {
  const n = indices.length;
  const images = new Uint8Array(n * pixelsPerImage);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const j = indices[i];
    images.set(split.images.subarray(j * pixelsPerImage, (j + 1) * pixelsPerImage), i * pixelsPerImage);
    labels[i] = relabel ? relabel(split.labels[j]) : split.labels[j];
  }
  return { images, labels, count: n };
}

/** Concatenate splits of the same image size. */
export function concatSplits(parts: ImageSplit[]): ImageSplit {
  const count = parts.reduce((a, p) => a + p.count, 0);
  const bytes = parts.reduce((a, p) => a + p.images.length, 0);
  const images = new Uint8Array(bytes);
  const labels = new Int32Array(count);
  let io = 0;
  let lo = 0;
  for (const p of parts) {
    images.set(p.images, io);
    labels.set(p.labels, lo);
    io += p.images.length;
    lo += p.count;
  }
  return { images, labels, count };
}

/**
 * Split one split into train/test, per class (so class proportions are kept),
 * seeded. Each class with n images gives round(n·testFraction) to test, but
 * always keeps at least one image in train. Within each part the original
 * order is kept, so the result does not depend on anything but (data, fraction, seed).
 */
export function stratifiedSplit(
  split: ImageSplit,
  pixelsPerImage: number,
  numClasses: number,
  testFraction: number,
  seed: number,
): { train: ImageSplit; test: ImageSplit } {
  if (!(testFraction > 0 && testFraction < 1)) {
    throw new UserError(`test fraction must be between 0 and 1 (exclusive), got ${testFraction}`);
  }
  const rng = new Rng(seed);
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < split.count; i++) byClass[split.labels[i]].push(i);
  const isTest = new Uint8Array(split.count);
  for (const idx of byClass) {
    if (idx.length === 0) continue;
    const nTest = Math.min(idx.length - 1, Math.round(idx.length * testFraction));
    const perm = rng.shuffle(idx.slice());
    for (let k = 0; k < nTest; k++) isTest[perm[k]] = 1;
  }
  const trainIdx: number[] = [];
  const testIdx: number[] = [];
  for (let i = 0; i < split.count; i++) (isTest[i] ? testIdx : trainIdx).push(i);
  return {
    train: gatherSplit(split, trainIdx, pixelsPerImage),
    test: gatherSplit(split, testIdx, pixelsPerImage),
  };
}

/** "80:20" for a test fraction of 0.2 — used in dataset names that say a split was made. */
export function splitLabel(testFraction: number): string {
  const t = Math.round(testFraction * 100);
  return `${100 - t}:${t}`;
}
