/**
 * Evaluation of a synthetic set (protocol "Evaluation of a synthetic set"):
 * N freshly initialised ConvNets, each trained on the synthetic set only
 * (trainClassifier: reference schedule, DSA per sample) and tested on the whole
 * real test split. Reports mean ± std over the N nets, where std is the
 * population standard deviation (np.std, as the reference code reports it).
 */
import type * as tf from '@tensorflow/tfjs';
import type { NetConfig } from '../config';
import type { ImageSplit, Normalization } from '../data/types';
import { disposeParams, type ConvNetSpec } from '../models/convnet';
import { Rng } from '../rng';
import { mixSeed } from '../tensors';
import { tensorData, testAccuracy, trainClassifier } from './train';

export interface EvaluateOptions {
  /** Synthetic images, normalised NHWC (not disposed here). */
  images: tf.Tensor4D;
  labels: Int32Array;
  numClasses: number;
  /** The real test split (8-bit pixels, labels in the same numbering). */
  test: ImageSplit;
  normalization: Normalization;
  net: NetConfig;
  /** Optional first-conv padding of the spec (see ConvNetSpec). */
  firstConvPadding?: number;
  /** Number of independently initialised nets. */
  models: number;
  /** E: each net trains E+1 epochs. */
  epochs: number;
  lr?: number; // 0.01
  batch?: number; // 256
  momentum?: number; // 0.9
  weightDecay?: number; // 0.0005
  dsa: { strategy: string } | null;
  seed: number;
  testBatch?: number;
  /** done/total in epochs over all nets (total = models · (epochs + 1)). */
  onProgress?: (done: number, total: number) => void;
  shouldStop?: () => boolean;
  /** Awaited between batches (a paused run holds here). */
  pauseGate?: () => Promise<void>;
}

export interface EvalResult {
  mean: number;
  /** Population std (np.std) over `values`. */
  std: number;
  /** Test accuracy (0..1) of each net that finished. */
  values: number[];
  /** True when shouldStop ended it early: values then holds only the finished nets. */
  stopped?: boolean;
}

export function meanStd(values: number[]): { mean: number; std: number } {
  if (values.length === 0) return { mean: NaN, std: NaN };
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, v) => a + (v - mean) * (v - mean), 0) / values.length;
  return { mean, std: Math.sqrt(variance) };
}

export async function evaluateSynthetic(opts: EvaluateOptions): Promise<EvalResult> {
  const [, height, width, channels] = opts.images.shape;
  const spec: ConvNetSpec = {
    channels,
    height,
    width,
    numClasses: opts.numClasses,
    net: opts.net,
    firstConvPadding: opts.firstConvPadding,
  };
  const data = tensorData(opts.images, opts.labels);
  const total = opts.models * (opts.epochs + 1);
  const values: number[] = [];
  for (let m = 0; m < opts.models; m++) {
    const rng = new Rng(mixSeed(opts.seed, 0x5eed, m));
    const trained = await trainClassifier({
      spec,
      data,
      epochs: opts.epochs,
      lr: opts.lr ?? 0.01,
      batch: opts.batch ?? 256,
      momentum: opts.momentum ?? 0.9,
      weightDecay: opts.weightDecay ?? 0.0005,
      dsa: opts.dsa,
      rng,
      onEpoch: (ep) => opts.onProgress?.(m * (opts.epochs + 1) + ep + 1, total),
      shouldStop: opts.shouldStop,
      pauseGate: opts.pauseGate,
    });
    try {
      if (trained.stopped) return { ...meanStd(values), values, stopped: true };
      const acc = await testAccuracy(trained.params, spec, opts.test, opts.normalization, {
        batch: opts.testBatch,
        bnState: trained.bnState,
        shouldStop: opts.shouldStop,
      });
      if (opts.shouldStop?.()) return { ...meanStd(values), values, stopped: true };
      values.push(acc);
    } finally {
      disposeParams(trained.params);
      disposeParams(trained.bnState);
    }
  }
  return { ...meanStd(values), values };
}
