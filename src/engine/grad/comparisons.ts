/**
 * Zero gradients for comparison and logical kernels, which tfjs 4.22 leaves
 * unregistered (only GreaterEqual has one). Their outputs are piecewise
 * constant, so the derivative is zero — but the kernels appear on the tape
 * whenever a first-order gradient is itself differentiated: Max/Min's gradient
 * builds its argmax mask with equal() (tf.logSumExp, hence any hand-written
 * cross-entropy, goes through it), Maximum's with less(), Minimum's and
 * Relu6's with lessEqual(), LeakyRelu's with greater(), Select's with
 * logicalNot(), ClipByValue's with logicalAnd(). Without these, a second
 * derivative through such an op fails with "gradient function not found for
 * Equal" (or the like).
 *
 * One file for the whole family: every entry is the same zero function.
 */
import * as tf from '@tensorflow/tfjs';

/** float32 zeros of an input's shape (a bool input must still get a float32 gradient). */
const zeroFor = (t: tf.Tensor) => () => tf.zeros(t.shape, 'float32');

function binaryZero(kernelName: string): tf.GradConfig {
  return {
    kernelName,
    inputsToSave: ['a', 'b'],
    gradFunc: (_dy, saved) => {
      const [a, b] = saved;
      return { a: zeroFor(a), b: zeroFor(b) };
    },
  };
}

export const comparisonGradConfigs: readonly tf.GradConfig[] = [
  binaryZero('Equal'),
  binaryZero('NotEqual'),
  binaryZero('Greater'),
  binaryZero('Less'),
  binaryZero('LessEqual'),
  binaryZero('LogicalAnd'),
  binaryZero('LogicalOr'),
  {
    kernelName: 'LogicalNot',
    inputsToSave: ['x'],
    gradFunc: (_dy, saved) => ({ x: zeroFor(saved[0]) }),
  },
];
