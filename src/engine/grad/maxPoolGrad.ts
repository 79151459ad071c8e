/**
 * Gradient of `MaxPoolGrad`, which tfjs 4.22 does not register (so a second
 * derivative through tf.maxPool fails).
 *
 * MaxPoolGrad(dy, input, output) routes each dy value to the argmax pixel of
 * its window, so it is linear in dy and its adjoint picks, for each window,
 * the incoming ddx at that argmax pixel. With respect to input and output it
 * is piecewise constant: zero gradient.
 *
 * Which pixel is "the argmax" must be exactly the one the backend's
 * MaxPoolGrad kernel uses, or first- and second-order gradients disagree.
 * Ties are common (after a ReLU, windows of zeros) and backends break them
 * differently (cpu: first maximum in window order; webgpu, webgl, wasm: last;
 * wasm's tf.maxPoolWithArgmax again differs from its MaxPoolGrad). So the
 * argmax is read off the kernel itself: for windows that do not overlap,
 * MaxPoolGrad(1, input, output) is the one-hot argmax of every window, and the
 * adjoint is windowSum(mask ⊙ ddx). Overlapping windows (stride < filter) are
 * split into ⌈f/s⌉² groups of output positions whose windows are disjoint
 * (every ⌈f/s⌉-th row and column) and handled group by group.
 */
import * as tf from '@tensorflow/tfjs';
import { pair, windowSum, type PoolAttrs } from './windowSum';

function selectAtArgmax(ddx: tf.Tensor4D, input: tf.Tensor4D, output: tf.Tensor4D, a: PoolAttrs): tf.Tensor4D {
  const [fh, fw] = pair(a.filterSize);
  const [sh, sw] = pair(a.strides);
  const gh = Math.ceil(fh / sh);
  const gw = Math.ceil(fw / sw);
  const [, oh, ow] = output.shape;
  const attrs = a as unknown as tf.NamedAttrMap;
  return tf.tidy(() => {
    const maskFor = (dy: tf.Tensor) => tf.engine().runKernel('MaxPoolGrad', { dy, input, output }, attrs) as tf.Tensor4D;
    if (gh === 1 && gw === 1) return windowSum(maskFor(tf.onesLike(output)).mul(ddx), a);
    let result: tf.Tensor4D | null = null;
    for (let r = 0; r < gh; r++) {
      for (let t = 0; t < gw; t++) {
        const ind = new Float32Array(oh * ow);
        for (let i = r; i < oh; i += gh) for (let j = t; j < ow; j += gw) ind[i * ow + j] = 1;
        const group = tf.tensor4d(ind, [1, oh, ow, 1]);
        const term = windowSum(maskFor(tf.onesLike(output).mul(group)).mul(ddx), a).mul(group) as tf.Tensor4D;
        result = result === null ? term : (result.add(term) as tf.Tensor4D);
      }
    }
    return result as tf.Tensor4D;
  });
}

export const maxPoolGradGradConfig: tf.GradConfig = {
  kernelName: 'MaxPoolGrad',
  inputsToSave: ['input', 'output'],
  gradFunc: (ddx, saved, attrs) => {
    const [input, output] = saved as [tf.Tensor4D, tf.Tensor4D];
    return {
      dy: () => selectAtArgmax(ddx as tf.Tensor4D, input, output, attrs as unknown as PoolAttrs),
      input: () => tf.zerosLike(input),
      output: () => tf.zerosLike(output),
    };
  },
};
