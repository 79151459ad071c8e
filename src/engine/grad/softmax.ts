/**
 * Softmax gradient dx = (dy − Σ_dim dy·y)·y, with y = softmax(logits)
 * recomputed from the saved logits (see savedOutput.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { rerun } from './savedOutput';

export const softmaxGradConfig: tf.GradConfig = {
  kernelName: 'Softmax',
  inputsToSave: ['logits'],
  gradFunc: (dy, saved, attrs) => {
    const [logits] = saved;
    const { dim } = attrs as unknown as { dim: number };
    return {
      logits: () => {
        const y = rerun('Softmax', { logits }, { dim } as unknown as tf.NamedAttrMap);
        const dyTimesY = tf.mul(dy as tf.Tensor, y);
        return tf.sub(dyTimesY, tf.mul(tf.sum(dyTimesY, [dim], true), y));
      },
    };
  },
};
