/**
 * Gradient of `Conv2DBackpropFilter` (dW = corr(x, dy)), which tfjs 4.22 does
 * not register. Gradient matching (∂/∂x of ‖∇θL − G‖²) and trajectory
 * matching differentiate the conv filter gradient again, so they need it.
 *
 * dW is bilinear in (x, dy): ⟨ddW, dW(x, dy)⟩ = ⟨dy, conv2d(x, ddW)⟩ =
 * ⟨x, conv2DBackpropInput(dy, ddW)⟩, so for an incoming ddW (shape of the filter)
 *   ∂/∂x  = conv2DBackpropInput(x.shape, dy, ddW)
 *   ∂/∂dy = conv2d(x, ddW)
 * with the same strides / padding / data format — TensorFlow's own
 * _Conv2DBackpropFilterGrad. Kernels are called directly so every attribute
 * (dataFormat, dimRoundingMode, explicit padding) is passed through unchanged.
 */
import * as tf from '@tensorflow/tfjs';

interface Attrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

export const conv2DBackpropFilterGradConfig: tf.GradConfig = {
  kernelName: 'Conv2DBackpropFilter',
  inputsToSave: ['x', 'dy'],
  gradFunc: (ddw, saved, attrs) => {
    const [x, dy] = saved as [tf.Tensor4D, tf.Tensor4D];
    const { strides, pad, dataFormat, dimRoundingMode } = attrs as unknown as Attrs;
    const filter = ddw as tf.Tensor4D;
    return {
      x: () =>
        tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, {
          strides,
          pad,
          dataFormat,
          dimRoundingMode,
          inputShape: x.shape,
        } as unknown as tf.NamedAttrMap) as tf.Tensor4D,
      dy: () =>
        tf.engine().runKernel('Conv2D', { x, filter }, {
          strides,
          pad,
          dataFormat,
          dilations: 1,
          dimRoundingMode,
        } as unknown as tf.NamedAttrMap) as tf.Tensor4D,
    };
  },
};
