/**
 * Second-order gradients (src/engine/grad) on tfjs' wasm backend, with the
 * project's wasm kernels (src/engine/wasm: Conv2DBackpropFilter …) registered:
 * the same suite and f64 reference as the cpu run.
 */
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe } from 'vitest';
import { registerWasmKernels } from '../../src/engine/wasm';
import { defineGradSuite } from './grad-suite';

const WASM_DIR = fileURLToPath(new URL('../../node_modules/@tensorflow/tfjs-backend-wasm/dist/', import.meta.url));

describe('wasm', () => {
  beforeAll(async () => {
    registerWasmKernels();
    setWasmPaths(WASM_DIR);
    await tf.setBackend('wasm');
    await tf.ready();
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });
  defineGradSuite({ tol: 2e-3 });
});
