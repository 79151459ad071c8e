/**
 * Training one CMI teacher: a ConvNet trained on the subset's real training
 * images the way the reference pre-trains its pool (CMIDD `pretrain/pre_model.py`):
 * SGD lr 0.01 constant, momentum 0.9, weight decay 0.001, batch 256 reshuffled
 * every epoch, cross-entropy, no augmentation: eval/train.ts's trainer with its
 * 'constant' schedule and no DSA.
 */
import * as tf from '@tensorflow/tfjs';
import type { RealPool } from '../data/subset';
import { trainClassifier, type TrainData } from '../eval/train';
import { disposeParams, type BatchNormState, type ConvNetParams, type ConvNetSpec } from '../models/convnet';
import type { Rng } from '../rng';

export interface TeacherTrainOptions {
  spec: ConvNetSpec;
  real: RealPool;
  /** Passes over the real training images. */
  epochs: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  batch: number;
  /** Initialisation and shuffling. */
  rng: Rng;
  /** After each epoch, with its mean training loss. */
  onEpoch?: (epoch: number, loss: number) => void;
  /** Polled between batches; true stops (the result then has stopped = true). */
  shouldStop?: () => boolean;
}

export interface TrainedTeacher {
  /** Plain tensors (not variables): teachers are frozen. Free with disposeParams. */
  params: ConvNetParams;
  /** Running statistics (batch norm only; {} otherwise). */
  bnState: BatchNormState;
  stopped: boolean;
  lastLoss: number;
}

/** Every real image of the pool, addressed by one global index (class-major). */
export function realPoolIndex(real: RealPool): { labels: Int32Array; position: Int32Array } {
  const counts = Array.from({ length: real.numClasses }, (_, k) => real.count(k));
  const total = counts.reduce((a, b) => a + b, 0);
  const labels = new Int32Array(total);
  const position = new Int32Array(total);
  let i = 0;
  counts.forEach((n, k) => {
    for (let p = 0; p < n; p++, i++) {
      labels[i] = k;
      position[i] = p;
    }
  });
  return { labels, position };
}

/** Normalised images at global indices, in the order given (gathered per class, then reordered). */
function realBatch(real: RealPool, index: { labels: Int32Array; position: Int32Array }, idx: number[]): tf.Tensor4D {
  const byClass = new Map<number, number[]>();
  idx.forEach((g, slot) => {
    const k = index.labels[g];
    if (!byClass.has(k)) byClass.set(k, []);
    byClass.get(k)!.push(slot);
  });
  const parts: tf.Tensor4D[] = [];
  const order: number[] = []; // concat position → slot in the batch
  for (const [k, slots] of byClass) {
    parts.push(real.gather(k, slots.map((s) => index.position[idx[s]])));
    order.push(...slots);
  }
  return tf.tidy(() => {
    const all = parts.length === 1 ? parts[0] : tf.concat(parts, 0);
    const inverse = new Int32Array(order.length);
    order.forEach((slot, i) => (inverse[slot] = i));
    const out = tf.gather(all, tf.tensor1d(inverse, 'int32')) as tf.Tensor4D;
    tf.dispose(parts);
    return out;
  });
}

export async function trainTeacher(opts: TeacherTrainOptions): Promise<TrainedTeacher> {
  const trained = await trainClassifier({
    spec: opts.spec,
    data: realPoolData(opts.real),
    schedule: 'constant',
    epochs: opts.epochs,
    lr: opts.lr,
    momentum: opts.momentum,
    weightDecay: opts.weightDecay,
    batch: opts.batch,
    dsa: null,
    rng: opts.rng,
    onEpoch: opts.onEpoch,
    shouldStop: opts.shouldStop,
  });
  // Frozen from here on: plain tensors, not variables.
  const frozen: ConvNetParams = {};
  for (const [k, v] of Object.entries(trained.params)) frozen[k] = tf.clone(v);
  disposeParams(trained.params);
  return { params: frozen, bnState: trained.bnState, stopped: trained.stopped, lastLoss: trained.lastLoss };
}

/** The pool's real images as training data (global class-major indices). */
function realPoolData(real: RealPool): TrainData {
  const index = realPoolIndex(real);
  if (index.labels.length === 0) throw new RangeError('trainTeacher: no real training images');
  return { count: index.labels.length, labels: index.labels, batch: (idx) => realBatch(real, index, idx) };
}
