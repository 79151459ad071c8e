/**
 * CMI from ordinary tfjs ops: runs on every backend (cpu, wasm, webgl,
 * webgpu). It is the fallback off WebGPU and the f32 oracle the fused kernel
 * is tested against. Differentiable by autodiff as it stands (see
 * `cmiReferenceAutodiff`); the public path wraps it with the closed-form
 * gradient of ./gradient.ts instead, which is cheaper and needs no gradient of
 * gather (missing on wasm).
 */
import * as tf from '@tensorflow/tfjs';
import type { ClassLayout } from './labels';

/** Smallest normal float32: q below it is flushed/imprecise, and log(0) = -inf would poison 0 · log q. */
export const F32_MIN_NORMAL = 1.1754943508222875e-38;

export interface CmiParts {
  /** log p_j = logSoftmax(z_j / T), [N, M]. */
  logp: tf.Tensor2D;
  /** log q_{y_j}, the log centroid of row j's class, [N, M]. */
  logqRows: tf.Tensor2D;
  /** KL_j, [N]. */
  kl: tf.Tensor1D;
}

/** The intermediate quantities; the caller owns (disposes) them. */
export function cmiReferenceParts(z: tf.Tensor2D, layout: ClassLayout, temperature: number): CmiParts {
  return tf.tidy(() => {
    const C = layout.numClasses;
    const labels = tf.tensor1d(layout.labels, 'int32');
    const x = temperature === 1 ? z : tf.mul(z, 1 / temperature);
    const logp = tf.logSoftmax(x) as tf.Tensor2D;
    const p = tf.exp(logp);
    // Centroids by a one-hot matMul: [N, C]^T · [N, M] → [C, M] (unsortedSegmentSum is missing on wasm).
    const oneHot = oneHotMatrix(layout);
    const sums = tf.matMul(oneHot, p, true, false);
    const inv = tf.tensor2d(Array.from(layout.counts, (n) => 1 / Math.max(n, 1)), [C, 1]);
    const q = tf.mul(sums, inv);
    const logq = tf.log(tf.maximum(q, F32_MIN_NORMAL));
    const logqRows = tf.gather(logq, labels) as tf.Tensor2D;
    const kl = tf.sum(tf.mul(p, tf.sub(logp, logqRows)), 1) as tf.Tensor1D;
    return { logp, logqRows, kl };
  });
}

/** [N, C] float one-hot of the labels, built on the CPU where they live (tf.oneHot rejects C = 1). */
function oneHotMatrix(layout: ClassLayout): tf.Tensor2D {
  const values = new Float32Array(layout.rows * layout.numClasses);
  layout.labels.forEach((y, j) => (values[j * layout.numClasses + y] = 1));
  return tf.tensor2d(values, [layout.rows, layout.numClasses]);
}

/** Per-class mean KL, [C] (0 for empty classes), from KL_j. */
export function perClassMean(kl: tf.Tensor1D, layout: ClassLayout): tf.Tensor1D {
  return tf.tidy(() => {
    const oneHot = oneHotMatrix(layout);
    const sums = tf.matMul(kl.reshape([1, -1]), oneHot).reshape([-1]);
    const inv = tf.tensor1d(Array.from(layout.counts, (n) => (n > 0 ? 1 / n : 0)));
    return tf.mul(sums, inv) as tf.Tensor1D;
  });
}

/** CMI value only (no gradient bookkeeping). */
export function cmiReferenceForward(
  z: tf.Tensor2D,
  layout: ClassLayout,
  temperature: number,
): { value: tf.Scalar; perClass: tf.Tensor1D } {
  return tf.tidy(() => {
    const { kl } = cmiReferenceParts(z, layout, temperature);
    return { value: tf.mean(kl) as tf.Scalar, perClass: perClassMean(kl, layout) };
  });
}

/** CMI through plain ops, gradient by tfjs autodiff — an independent check of the closed form. */
export function cmiReferenceAutodiff(z: tf.Tensor2D, layout: ClassLayout, temperature: number): tf.Scalar {
  return tf.tidy(() => tf.mean(cmiReferenceParts(z, layout, temperature).kl) as tf.Scalar);
}
