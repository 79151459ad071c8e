/**
 * Second-order gradients for tfjs 4.22, registered globally with
 * tf.registerGradient so that a gradient of a gradient (gradient matching:
 * DC / DSA / IDC; unrolled training in trajectory matching: MTT) works — and is
 * right — through the ConvNet family on every backend.
 *
 * Two kinds:
 * - MISSING: kernels with no gradient at all, so a second derivative throws
 *   "gradient function not found for X": Conv2DBackpropFilter, AvgPoolGrad,
 *   MaxPoolGrad, and the comparison / logical kernels used inside first-order
 *   gradients (Equal …). Registered only where nothing is registered yet.
 * - REPLACED: tfjs' gradients of Exp, Sigmoid, Tanh and Softmax, which are
 *   silently wrong at second order (see savedOutput.ts). Always replaced.
 *
 * Call registerSecondOrderGradients() before such a method runs; calling it
 * again is a no-op. Not covered (use the helpers in losses.ts instead):
 * tf.losses.softmaxCrossEntropy and tf.logSoftmax, whose tf.customGrad saves a
 * tensor computed inside the op, so their second derivative drops the softmax
 * curvature without an error.
 */
import * as tf from '@tensorflow/tfjs';
import { avgPoolGradGradConfig } from './avgPoolGrad';
import { comparisonGradConfigs } from './comparisons';
import { conv2DBackpropFilterGradConfig } from './conv2dBackpropFilter';
import { expGradConfig } from './exp';
import { maxPoolGradGradConfig } from './maxPoolGrad';
import { sigmoidGradConfig } from './sigmoid';
import { softmaxGradConfig } from './softmax';
import { tanhGradConfig } from './tanh';

/** Gradients tfjs lacks; registered only where none is registered. */
export const MISSING_GRADIENTS: readonly tf.GradConfig[] = [
  conv2DBackpropFilterGradConfig,
  avgPoolGradGradConfig,
  maxPoolGradGradConfig,
  ...comparisonGradConfigs,
];

/** Gradients tfjs has but gets wrong at second order; always replaced. */
export const REPLACED_GRADIENTS: readonly tf.GradConfig[] = [
  expGradConfig,
  sigmoidGradConfig,
  tanhGradConfig,
  softmaxGradConfig,
];

/**
 * Registers the gradients above. Idempotent and cheap; returns the kernel
 * names whose registered gradient is ours after the call.
 */
export function registerSecondOrderGradients(): string[] {
  const ours: string[] = [];
  for (const config of MISSING_GRADIENTS) {
    if (tf.getGradient(config.kernelName) == null) tf.registerGradient(config);
    if (tf.getGradient(config.kernelName) === config) ours.push(config.kernelName);
  }
  for (const config of REPLACED_GRADIENTS) {
    if (tf.getGradient(config.kernelName) !== config) tf.registerGradient(config);
    ours.push(config.kernelName);
  }
  return ours;
}

export { softmaxCrossEntropy } from './losses';
