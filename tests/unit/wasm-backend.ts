/**
 * Test helper: run a test file on tfjs' wasm backend with the project's wasm
 * kernels (src/engine/wasm), back on cpu afterwards.
 */
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, expect } from 'vitest';
import { registerWasmKernels } from '../../src/engine/wasm';

const WASM_DIR = fileURLToPath(new URL('../../node_modules/@tensorflow/tfjs-backend-wasm/dist/', import.meta.url));

/** Makes the wasm binaries loadable; `activate` also switches to the wasm backend for the file. */
export function useWasmBackend({ activate = true }: { activate?: boolean } = {}): void {
  beforeAll(async () => {
    registerWasmKernels();
    setWasmPaths(WASM_DIR);
    if (activate) {
      expect(await tf.setBackend('wasm')).toBe(true);
      await tf.ready();
    }
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });
}
