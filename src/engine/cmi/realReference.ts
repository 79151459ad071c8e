/**
 * The "real reference" line of the CMI chart: the CMI of real images sampled
 * like the synthetic set (IPC per class, one seeded sample drawn once), under
 * the same teacher as the iteration. Teachers are frozen and the sample is
 * fixed, so each (teacher, space) has one value: all are computed up front,
 * forward only, one GPU read per teacher, and the sample is freed afterwards.
 */
import * as tf from '@tensorflow/tfjs';
import type { RealPool } from '../data/subset';
import type { Rng } from '../rng';
import type { Teacher } from '../teachers/types';
import { convNetEmbed } from '../models/convnet';
import { cmiForward } from './cmi';

export type CmiSpace = 'feature' | 'logit';

export interface CmiValue {
  value: number;
  perClass: number[];
}

export interface RealReference {
  /** Real images per class in the sample. */
  ipc: number;
  get(teacher: Teacher, space: CmiSpace): CmiValue | undefined;
}

export interface RealReferenceOptions {
  real: RealPool;
  ipc: number;
  teachers: Teacher[];
  temperature: number;
  rng: Rng;
  /** Images per teacher forward pass (default 256), to bound activation memory. */
  batch?: number;
}

/** z of the teacher (features, and the logits computed from them) for x, in batches. */
export function teacherOutputs(teacher: Teacher, x: tf.Tensor4D, batch: number): { feature: tf.Tensor2D; logit: tf.Tensor2D } {
  return tf.tidy(() => {
    const n = x.shape[0];
    const parts: tf.Tensor2D[] = [];
    for (let s = 0; s < n; s += batch) {
      const xb = x.slice([s, 0, 0, 0], [Math.min(batch, n - s), -1, -1, -1]);
      // training mode = batch statistics for a batch-norm teacher, as the reference's net_res.train()
      parts.push(convNetEmbed(teacher.params, teacher.spec, xb, { training: true }));
    }
    const feature = parts.length === 1 ? parts[0] : (tf.concat(parts, 0) as tf.Tensor2D);
    const logit = tf.add(tf.matMul(feature, teacher.params['fc.weight'] as tf.Tensor2D), teacher.params['fc.bias']) as tf.Tensor2D;
    return { feature, logit };
  });
}

export async function buildRealReference(opts: RealReferenceOptions): Promise<RealReference> {
  const { real, ipc, temperature } = opts;
  const numClasses = real.numClasses;
  const labels = Int32Array.from({ length: numClasses * ipc }, (_, i) => Math.floor(i / ipc));
  const parts: tf.Tensor4D[] = [];
  for (let k = 0; k < numClasses; k++) parts.push(real.sample(k, ipc, opts.rng));
  const x = tf.concat(parts, 0);
  tf.dispose(parts);
  const values = new Map<Teacher, Record<CmiSpace, CmiValue>>();
  try {
    for (const teacher of opts.teachers) {
      const packed = tf.tidy(() => {
        const z = teacherOutputs(teacher, x, opts.batch ?? 256);
        const f = cmiForward(z.feature, labels, { numClasses, temperature });
        const l = cmiForward(z.logit, labels, { numClasses, temperature });
        return tf.concat([f.value.reshape([1]), f.perClass, l.value.reshape([1]), l.perClass]);
      });
      const v = Array.from(await packed.data());
      packed.dispose();
      const C = numClasses;
      values.set(teacher, {
        feature: { value: v[0], perClass: v.slice(1, 1 + C) },
        logit: { value: v[1 + C], perClass: v.slice(2 + C, 2 + 2 * C) },
      });
    }
  } finally {
    x.dispose();
  }
  return { ipc, get: (teacher, space) => values.get(teacher)?.[space] };
}
