/**
 * Sum of every pooling window: out[n, o, c] = Σ_{p ∈ window(o)} x[n, p, c]
 * (padding counts as zero). This is the adjoint of the "spread each window's
 * value back over its pixels" map that the pool-gradient kernels apply, so the
 * gradients of AvgPoolGrad and MaxPoolGrad with respect to their dy are window
 * sums. Written as a depthwise convolution with an all-ones filter, because
 * tf.avgPool divides by the number of in-bounds pixels under 'same' padding
 * while the gradient kernels always use the full window size.
 */
import * as tf from '@tensorflow/tfjs';

export type PoolPad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;

export interface PoolAttrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: PoolPad;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** [height, width] of a filterSize / strides attribute. */
export function pair(v: [number, number] | number): [number, number] {
  return typeof v === 'number' ? [v, v] : v;
}

export function windowSum(x: tf.Tensor4D, attrs: PoolAttrs): tf.Tensor4D {
  const [fh, fw] = pair(attrs.filterSize);
  return tf.tidy(() => {
    if (attrs.pad === 'valid' && attrs.dimRoundingMode === undefined) {
      // Every window lies fully inside: the mean times the window size, and a
      // pooling kernel is cheaper than a depthwise convolution.
      const mean = tf.engine().runKernel('AvgPool', { x }, {
        filterSize: attrs.filterSize,
        strides: attrs.strides,
        pad: 'valid',
      } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
      return mean.mul(fh * fw);
    }
    const ones = tf.ones([fh, fw, x.shape[3], 1]);
    return tf.engine().runKernel('DepthwiseConv2dNative', { x, filter: ones }, {
      strides: attrs.strides,
      pad: attrs.pad,
      dataFormat: 'NHWC',
      dilations: 1,
      dimRoundingMode: attrs.dimRoundingMode,
    } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
  });
}
