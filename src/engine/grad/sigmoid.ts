/** d σ(x) = σ(x)(1 − σ(x))·dx, with σ(x) recomputed from the saved input (see savedOutput.ts). */
import * as tf from '@tensorflow/tfjs';
import { rerun } from './savedOutput';

export const sigmoidGradConfig: tf.GradConfig = {
  kernelName: 'Sigmoid',
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => {
    const [x] = saved;
    return {
      x: () => {
        const y = rerun('Sigmoid', { x });
        return tf.mul(dy as tf.Tensor, tf.mul(y, tf.sub(1, y)));
      },
    };
  },
};
