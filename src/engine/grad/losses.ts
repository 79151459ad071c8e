/**
 * Losses that can be differentiated twice.
 *
 * tf.losses.softmaxCrossEntropy and tf.logSoftmax wrap their math in
 * tf.customGrad and save log-softmax values computed inside the op; those are
 * not on the gradient tape, so a gradient of their gradient treats the softmax
 * as a constant — silently wrong for gradient matching and unrolled training.
 * This cross-entropy is composed of plain ops (logSumExp = max + log Σ exp),
 * every one of which has a correct second derivative once
 * registerSecondOrderGradients() has run.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * Mean over the batch of −Σ_k labels[n,k]·log softmax(logits[n])_k.
 * logits, labels: [N, K] (labels one-hot or soft).
 */
export function softmaxCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const logProbs = tf.sub(logits, tf.logSumExp(logits, 1, true));
    return tf.neg(tf.sum(tf.mul(labels, logProbs))).div(logits.shape[0]) as tf.Scalar;
  });
}
