/**
 * Gradient of `AvgPoolGrad`, which tfjs 4.22 does not register (so a second
 * derivative through tf.avgPool fails).
 *
 * AvgPoolGrad(dy) spreads each dy value over its window times 1/(fh·fw) — the
 * cpu, webgpu, webgl and wasm kernels all use the full window size, padding
 * included. It is linear in dy, and its adjoint is the window sum / (fh·fw).
 * It does not depend on the values of its `input` (only on its shape), so the
 * gradient there is zero.
 */
import * as tf from '@tensorflow/tfjs';
import { pair, windowSum, type PoolAttrs } from './windowSum';

export const avgPoolGradGradConfig: tf.GradConfig = {
  kernelName: 'AvgPoolGrad',
  inputsToSave: ['input'],
  gradFunc: (ddx, saved, attrs) => {
    const [input] = saved;
    const a = attrs as unknown as PoolAttrs;
    const [fh, fw] = pair(a.filterSize);
    return {
      dy: () => windowSum(ddx as tf.Tensor4D, a).div(fh * fw),
      input: () => tf.zerosLike(input),
    };
  },
};
