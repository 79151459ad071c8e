/**
 * Second-order gradients (src/engine/grad) on tfjs' wasm backend, with the
 * project's wasm kernels (src/engine/wasm: Conv2DBackpropFilter …) registered:
 * the same suite and f64 reference as the cpu run.
 */
import { describe } from 'vitest';
import { defineGradSuite } from './grad-suite';
import { useWasmBackend } from './wasm-backend';

describe('wasm', () => {
  useWasmBackend();
  defineGradSuite({ tol: 2e-3 });
});
