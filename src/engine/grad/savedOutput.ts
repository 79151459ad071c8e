/**
 * Why tfjs' own gradients of Exp, Sigmoid, Tanh and Softmax are replaced.
 *
 * Those gradients use the op's saved OUTPUT (outputsToSave). tfjs saves it by
 * cloning the output inside the kernel call, so the clone's tape node comes
 * BEFORE the node of the op that produced the output; tfjs' tape filter walks
 * the tape forwards and never learns that the clone depends on the input.
 * First-order gradients are right, but a gradient of that gradient silently
 * treats exp(x), σ(x), tanh(x), softmax(x) as constants — e.g. ∂/∂x of
 * ‖∇θ CE‖² comes out wrong with no error. (Gradients that save inputs are not
 * affected: inputs exist before the clone is made.)
 *
 * The replacements save the input instead and recompute the output in the
 * gradient — one extra elementwise op per backward pass, identical values.
 */
import * as tf from '@tensorflow/tfjs';

/** Runs a unary kernel on x (recorded on the tape like any op). */
export function rerun(kernelName: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap = {}): tf.Tensor {
  return tf.engine().runKernel(kernelName, inputs, attrs) as tf.Tensor;
}
