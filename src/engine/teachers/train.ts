/**
 * Training one CMI teacher: a ConvNet trained on the subset's real training
 * images the way the reference pre-trains its pool (CMIDD `pretrain/pre_model.py`):
 * SGD lr 0.01 constant, momentum 0.9, weight decay 0.001, batch 256 reshuffled
 * every epoch, cross-entropy, no augmentation. (Unlike eval/train.ts there is
 * no lr drop and no DSA, hence a loop of its own.)
 */
import * as tf from '@tensorflow/tfjs';
import type { RealPool } from '../data/subset';
import {
  convNetLogits,
  disposeParams,
  initBatchNormState,
  initConvNet,
  type BatchNormState,
  type ConvNetParams,
  type ConvNetSpec,
} from '../models/convnet';
import type { Rng } from '../rng';
import { SgdMomentum, yieldToEventLoop } from '../tensors';

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
  const { spec, real, batch, rng } = opts;
  const index = realPoolIndex(real);
  const n = index.labels.length;
  if (n === 0) throw new RangeError('trainTeacher: no real training images');
  const init = initConvNet(spec, rng);
  const params: ConvNetParams = {};
  for (const [k, t] of Object.entries(init)) params[k] = tf.variable(t, true);
  disposeParams(init);
  const vars = Object.values(params) as tf.Variable[];
  const bnState = initBatchNormState(spec);
  const opt = new SgdMomentum(opts.lr, opts.momentum, opts.weightDecay);
  const order = Array.from({ length: n }, (_, i) => i);
  let stopped = false;
  let lastLoss = NaN;
  try {
    for (let ep = 0; ep < opts.epochs && !stopped; ep++) {
      rng.shuffle(order);
      const losses: tf.Scalar[] = [];
      for (let s = 0; s < n; s += batch) {
        const idx = order.slice(s, s + batch);
        const x = realBatch(real, index, idx);
        const y = tf.tidy(() => tf.oneHot(tf.tensor1d(Int32Array.from(idx, (i) => index.labels[i]), 'int32'), spec.numClasses));
        const { value, grads } = tf.variableGrads(
          () => tf.losses.softmaxCrossEntropy(y, convNetLogits(params, spec, x, { training: true, bnState })) as tf.Scalar,
          vars,
        );
        opt.step(vars, grads);
        tf.dispose([x, y, ...Object.values(grads)]);
        losses.push(value);
        await yieldToEventLoop();
        if (opts.shouldStop?.()) {
          stopped = true;
          break;
        }
      }
      // one read per epoch bounds the GPU queue and gives the epoch's loss
      const mean = tf.tidy(() => tf.mean(tf.stack(losses)));
      lastLoss = (await mean.data())[0];
      tf.dispose([mean, ...losses]);
      if (!stopped) opts.onEpoch?.(ep, lastLoss);
    }
  } catch (e) {
    tf.dispose([...vars, ...Object.values(bnState)]);
    throw e;
  } finally {
    opt.dispose();
  }
  // Frozen from here on: plain tensors sharing the variables' data (no copy).
  const frozen: ConvNetParams = {};
  for (const [k, v] of Object.entries(params)) frozen[k] = tf.clone(v);
  tf.dispose(vars);
  return { params: frozen, bnState, stopped, lastLoss };
}
