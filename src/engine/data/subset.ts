/**
 * Class subsets of a dataset, seeded sampling of real images, and the
 * conversion between 8-bit pixels and normalised float tensors.
 * (Contract fixed here; implementation by the data work.)
 */
import type * as tf from '@tensorflow/tfjs';
import type { Rng } from '../rng';
import type { ImageSplit, Normalization } from './types';

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
