/**
 * Closed-form gradient of the CMI (../../../../shared/design/cmi.md):
 *
 *   dCMI/dz_jk = (1/(N T)) · p_jk · (log p_jk − log q_{c,k} − KL_j)
 *
 * The terms from differentiating the centroid q_c cancel (Σ_{j∈c} p_j = n_c q_c),
 * so the gradient needs only quantities the forward pass already has.
 */
import * as tf from '@tensorflow/tfjs';
import type { CmiParts } from './reference';

export function cmiClosedFormGrad(parts: CmiParts, temperature: number): tf.Tensor2D {
  return tf.tidy(() => {
    const { logp, logqRows, kl } = parts;
    const n = logp.shape[0];
    const inner = tf.sub(tf.sub(logp, logqRows), kl.reshape([n, 1]));
    return tf.mul(tf.mul(tf.exp(logp), inner), 1 / (n * temperature)) as tf.Tensor2D;
  });
}

