/** d tanh(x) = (1 − tanh²(x))·dx, with tanh(x) recomputed from the saved input (see savedOutput.ts). */
import * as tf from '@tensorflow/tfjs';
import { rerun } from './savedOutput';

export const tanhGradConfig: tf.GradConfig = {
  kernelName: 'Tanh',
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => {
    const [x] = saved;
    return { x: () => tf.mul(tf.sub(1, tf.square(rerun('Tanh', { x }))), dy as tf.Tensor) };
  },
};
