/**
 * Second-order gradients (src/engine/grad) on tfjs' webgpu backend — Dawn in
 * Node, SwiftShader where there is no GPU — with the same suite and f64
 * reference as the cpu run. Skipped when no WebGPU adapter can be had.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe } from 'vitest';
import { installNodeWebGPU } from '../../src/cli/webgpu-node';
import { defineGradSuite } from './grad-suite';

async function setupWebGPU(): Promise<boolean> {
  const info = await installNodeWebGPU([]);
  if (!info) return false;
  await import('@tensorflow/tfjs-backend-webgpu');
  return tf.setBackend('webgpu');
}

const available = await setupWebGPU();

describe.skipIf(!available)('webgpu', () => {
  beforeAll(async () => {
    await tf.setBackend('webgpu');
    await tf.ready();
  });
  // f32 on the GPU, sums in a different order than the cpu backend.
  defineGradSuite({ tol: 5e-3 });
});
