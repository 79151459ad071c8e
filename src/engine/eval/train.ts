/**
 * Training a ConvNet classifier the way the reference evaluation does
 * (`evaluate_synset` of the DC/DSA/DM code): SGD momentum 0.9, weight decay
 * 5e-4, batch 256 reshuffled every epoch, cross-entropy, E+1 epochs with the lr
 * divided by 10 (and momentum reset) after epoch E//2+1, DSA on every batch
 * with parameters drawn per sample. Reusable for anything that needs a
 * trained net (evaluation, CMI teachers).
 */
import * as tf from '@tensorflow/tfjs';
import type { ImageSplit, Normalization } from '../data/types';
import { toNormalizedTensor } from '../data/subset';
import { dsaAugment } from '../augment/dsa';
import {
  convNetLogits,
  initBatchNormState,
  initConvNet,
  type BatchNormState,
  type ConvNetParams,
  type ConvNetSpec,
} from '../models/convnet';
import type { Rng } from '../rng';
import { SgdMomentum, yieldToEventLoop } from '../tensors';
import { evalLrAt, resetsAfterEpoch } from './schedule';

/** Labelled images a trainer can draw batches from. */
export interface TrainData {
  count: number;
  labels: Int32Array;
  /** Normalised NHWC images at the given indices; the caller disposes the result. */
  batch(indices: number[]): tf.Tensor4D;
}

/** Batches gathered from images already in a tensor (e.g. the synthetic set). */
export function tensorData(images: tf.Tensor4D, labels: Int32Array): TrainData {
  if (images.shape[0] !== labels.length) {
    throw new RangeError(`tensorData: ${images.shape[0]} images but ${labels.length} labels`);
  }
  return {
    count: labels.length,
    labels,
    batch: (indices) => tf.tidy(() => tf.gather(images, tf.tensor1d(indices, 'int32'))),
  };
}

/** Batches normalised on the fly from 8-bit pixels (e.g. a real training split), so large sets stay 8-bit. */
export function pixelData(
  split: ImageSplit,
  dims: { height: number; width: number; channels: number },
  norm: Normalization,
): TrainData {
  const size = dims.height * dims.width * dims.channels;
  return {
    count: split.count,
    labels: split.labels,
    batch: (indices) => {
      const px = new Uint8Array(indices.length * size);
      indices.forEach((i, k) => px.set(split.images.subarray(i * size, (i + 1) * size), k * size));
      return toNormalizedTensor(px, indices.length, dims.height, dims.width, dims.channels, norm);
    },
  };
}

export interface TrainOptions {
  spec: ConvNetSpec;
  data: TrainData;
  /**
   * 'protocol' (default): E+1 epochs, lr ÷10 and momentum reset after epoch E//2+1 (the
   * reference evaluation). 'constant': exactly E epochs at a constant lr (the reference's
   * pre-training of CMI teachers).
   */
  schedule?: 'protocol' | 'constant';
  /** E (see schedule). */
  epochs: number;
  lr: number;
  batch: number;
  momentum?: number; // 0.9
  weightDecay?: number; // 0.0005
  /** DSA on every batch (one family per batch, parameters per sample); null = none. */
  dsa: { strategy: string } | null;
  /** Initialisation, shuffling and augmentation seeds all come from it. */
  rng: Rng;
  /** Start from these weights (copied; default: a fresh PyTorch-style init from rng). */
  init?: ConvNetParams;
  /** After each epoch, with its mean training loss. */
  onEpoch?: (epoch: number, loss: number) => void;
  /** Polled between batches; true stops training early. */
  shouldStop?: () => boolean;
  /** Awaited between batches (a paused run holds here). */
  pauseGate?: () => Promise<void>;
}

export interface TrainResult {
  /** Trained weights (tf.Variables; free with disposeParams). */
  params: ConvNetParams;
  /** Batch-norm running statistics ({} unless net.norm is 'batch'); free with disposeParams. */
  bnState: BatchNormState;
  epochsDone: number;
  stopped: boolean;
  lastLoss: number;
}

export async function trainClassifier(opts: TrainOptions): Promise<TrainResult> {
  const { spec, data, epochs, batch, rng } = opts;
  if (data.count === 0) throw new RangeError('trainClassifier: no training images');
  const init = opts.init ?? initConvNet(spec, rng);
  const params: ConvNetParams = {};
  for (const [k, t] of Object.entries(init)) params[k] = tf.variable(t, true);
  if (!opts.init) for (const t of Object.values(init)) t.dispose();
  const vars = Object.values(params) as tf.Variable[];
  const bnState = initBatchNormState(spec);
  const opt = new SgdMomentum(opts.lr, opts.momentum ?? 0.9, opts.weightDecay ?? 0.0005);
  const order = Array.from({ length: data.count }, (_, i) => i);
  let epochsDone = 0;
  let stopped = false;
  let lastLoss = NaN;
  try {
    const constant = opts.schedule === 'constant';
    const passes = constant ? epochs : epochs + 1;
    for (let ep = 0; ep < passes && !stopped; ep++) {
      opt.lr = constant ? opts.lr : evalLrAt(ep, epochs, opts.lr);
      rng.shuffle(order);
      const losses: tf.Scalar[] = [];
      for (let s = 0; s < data.count; s += batch) {
        const idx = order.slice(s, s + batch);
        const x0 = data.batch(idx);
        const x = opts.dsa ? dsaAugment(x0, { strategy: opts.dsa.strategy, seed: rng.seed(), mode: 'per-sample' }) : x0;
        const y = tf.tidy(() =>
          tf.oneHot(tf.tensor1d(Int32Array.from(idx, (i) => data.labels[i]), 'int32'), spec.numClasses),
        );
        const { value, grads } = tf.variableGrads(
          () => tf.losses.softmaxCrossEntropy(y, convNetLogits(params, spec, x, { training: true, bnState })) as tf.Scalar,
          vars,
        );
        opt.step(vars, grads);
        tf.dispose([x0, x, y, ...Object.values(grads)]);
        losses.push(value);
        await yieldToEventLoop();
        await opts.pauseGate?.();
        if (opts.shouldStop?.()) {
          stopped = true;
          break;
        }
      }
      // one read per epoch: keeps a GPU queue bounded and gives the epoch's loss
      const mean = tf.tidy(() => tf.mean(tf.stack(losses)));
      lastLoss = (await mean.data())[0];
      tf.dispose([mean, ...losses]);
      if (stopped) break;
      epochsDone = ep + 1;
      if (!constant && resetsAfterEpoch(ep, epochs)) opt.reset(); // the reference re-creates its optimiser here
      opts.onEpoch?.(ep, lastLoss);
    }
  } catch (e) {
    opt.dispose();
    tf.dispose([...vars, ...Object.values(bnState)]);
    throw e;
  }
  opt.dispose();
  return { params, bnState, epochsDone, stopped, lastLoss };
}

/** Top-1 accuracy of a trained net on a whole split of 8-bit images, in batches. */
export async function testAccuracy(
  params: ConvNetParams,
  spec: ConvNetSpec,
  test: ImageSplit,
  norm: Normalization,
  opts: { batch?: number; bnState?: BatchNormState; shouldStop?: () => boolean } = {},
): Promise<number> {
  const { height: h, width: w, channels: c } = spec;
  const size = h * w * c;
  const batch = opts.batch ?? 500;
  let correct = 0;
  for (let s = 0; s < test.count; s += batch) {
    const n = Math.min(batch, test.count - s);
    const pred = tf.tidy(() => {
      const x = toNormalizedTensor(test.images.subarray(s * size, (s + n) * size), n, h, w, c, norm);
      return tf.argMax(convNetLogits(params, spec, x, { training: false, bnState: opts.bnState }), 1);
    });
    const p = await pred.data();
    pred.dispose();
    for (let i = 0; i < n; i++) if (p[i] === test.labels[s + i]) correct++;
    if (opts.shouldStop?.()) return NaN;
  }
  return test.count > 0 ? correct / test.count : NaN;
}
