/** d exp(x) = exp(x)·dx, with exp(x) recomputed from the saved input (see savedOutput.ts). */
import * as tf from '@tensorflow/tfjs';
import { rerun } from './savedOutput';

export const expGradConfig: tf.GradConfig = {
  kernelName: 'Exp',
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => {
    const [x] = saved;
    return { x: () => tf.mul(dy as tf.Tensor, rerun('Exp', { x })) };
  },
};
