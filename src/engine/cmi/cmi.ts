/**
 * The class-aware CMI term (../../../../shared/design/cmi.md):
 *
 *   CMI(S) = (1/N) Σ_j KL(p_j ‖ q_{y_j}),  p_j = softmax(z_j / T),  q_c = mean_{j∈c} p_j
 *
 * in natural log, differentiable w.r.t. z. On the 'webgpu' backend it runs as
 * the fused kernels of ./webgpu (value + full gradient in 2 dispatches, the
 * backward one more dispatch); elsewhere it runs the reference of
 * ./reference.ts with the closed-form gradient of ./gradient.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../data/types';
import { cmiClosedFormGrad } from './gradient';
import { classLayout, type ClassLayout, type CmiLabels } from './labels';
import { cmiReferenceForward, cmiReferenceParts } from './reference';
import {
  CMI_FORWARD,
  CMI_FUSED,
  CMI_GRAD_SCALE,
  MAX_FUSED_CLASSES,
  registerCmiWebGPUKernels,
} from './webgpu/kernels';

export interface CmiOptions {
  /** Softmax temperature T > 0 (default 1). */
  temperature?: number;
  /** Number of classes C; default max(label) + 1. Classes without members are allowed. */
  numClasses?: number;
  /** Force an implementation (tests, benchmarks); default: fused on webgpu, reference elsewhere. */
  impl?: 'auto' | 'fused' | 'reference';
}

/** Empirical CMI of z [N, M] given labels [N]: a scalar, differentiable w.r.t. z. */
export function cmi(z: tf.Tensor2D, labels: CmiLabels, opts: CmiOptions = {}): tf.Scalar {
  const { layout, temperature } = prepare(z, labels, opts);
  const tapeOn = tf.engine().isTapeOn();
  if (useFused(layout, opts)) {
    if (!tapeOn) return runForwardKernel(z, layout, temperature, false)[0] as tf.Scalar;
    return fusedWithGrad(z, layout, temperature);
  }
  if (!tapeOn) {
    return tf.tidy(() => {
      const { value, perClass } = cmiReferenceForward(z, layout, temperature);
      perClass.dispose();
      return value;
    });
  }
  return referenceWithGrad(z, layout, temperature);
}

/** Forward only (metrics): the CMI and the per-class CMI (mean KL over each class's members; 0 if empty). */
export function cmiForward(
  z: tf.Tensor2D,
  labels: CmiLabels,
  opts: CmiOptions = {},
): { value: tf.Scalar; perClass: tf.Tensor1D } {
  const { layout, temperature } = prepare(z, labels, opts);
  if (useFused(layout, opts)) {
    const [value, perClass] = runForwardKernel(z, layout, temperature, true);
    return { value: value as tf.Scalar, perClass: perClass as tf.Tensor1D };
  }
  return cmiReferenceForward(z, layout, temperature);
}

function prepare(z: tf.Tensor2D, labels: CmiLabels, opts: CmiOptions) {
  if (z.rank !== 2) throw new UserError(`cmi: z must be 2-D [N, M], got shape [${z.shape.join(', ')}]`);
  if (z.dtype !== 'float32') throw new UserError(`cmi: z must be float32, got ${z.dtype}`);
  const temperature = opts.temperature ?? 1;
  if (!(temperature > 0) || !Number.isFinite(temperature)) {
    throw new UserError(`cmi: temperature must be a positive number, got ${temperature}`);
  }
  if (z.shape[0] < 1 || z.shape[1] < 1) throw new UserError(`cmi: z must be non-empty, got shape [${z.shape.join(', ')}]`);
  return { layout: classLayout(labels, z.shape[0], opts.numClasses), temperature };
}

function useFused(layout: ClassLayout, opts: CmiOptions): boolean {
  const impl = opts.impl ?? 'auto';
  if (impl === 'reference') return false;
  const onWebGPU = tf.getBackend() === 'webgpu';
  if (impl === 'fused' && !onWebGPU) throw new Error(`cmi: the fused kernel needs the webgpu backend (current: ${tf.getBackend()})`);
  if (!onWebGPU || layout.numClasses > MAX_FUSED_CLASSES) return false;
  registerCmiWebGPUKernels();
  return true;
}

/** Small int32 tensors (N + C + 1 values) uploaded with the call: labels live on the CPU. */
function layoutTensors(layout: ClassLayout) {
  return { perm: tf.tensor1d(layout.perm, 'int32'), offsets: tf.tensor1d(layout.offsets, 'int32') };
}

function runForwardKernel(z: tf.Tensor2D, layout: ClassLayout, temperature: number, perClass: boolean): tf.Tensor[] {
  const { perm, offsets } = layoutTensors(layout);
  try {
    return tf.engine().runKernel(CMI_FORWARD, { z, perm, offsets }, { temperature, perClass }) as tf.Tensor[];
  } finally {
    perm.dispose();
    offsets.dispose();
  }
}

function fusedWithGrad(z: tf.Tensor2D, layout: ClassLayout, temperature: number): tf.Scalar {
  const [n, m] = z.shape;
  const op = tf.customGrad((zIn, save) => {
    const { perm, offsets } = layoutTensors(layout);
    const [value, parts] = tf.engine().runKernel(CMI_FUSED, { z: zIn as tf.Tensor, perm, offsets }, { temperature }) as tf.Tensor[];
    (save as tf.GradSaveFunc)([parts]);
    return {
      value: value as tf.Scalar,
      // the gradient was written by the forward pass; the backward only scales it by dy
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.engine().runKernel(CMI_GRAD_SCALE, { parts: saved[0], dy }, { rows: n, cols: m }) as tf.Tensor,
    };
  });
  return op(z) as tf.Scalar;
}

function referenceWithGrad(z: tf.Tensor2D, layout: ClassLayout, temperature: number): tf.Scalar {
  const op = tf.customGrad((zIn, save) => {
    const parts = cmiReferenceParts(zIn as tf.Tensor2D, layout, temperature);
    (save as tf.GradSaveFunc)([parts.logp, parts.logqRows, parts.kl]);
    return {
      value: tf.mean(parts.kl) as tf.Scalar,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [logp, logqRows, kl] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
        return tf.mul(cmiClosedFormGrad({ logp, logqRows, kl }, temperature), dy);
      },
    };
  });
  return op(z) as tf.Scalar;
}
