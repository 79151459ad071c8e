/**
 * benchTrain (src/engine/bench/train.ts): the analytic FLOP count against a
 * hand computation, and a tiny run on wasm and cpu that reports consistent
 * figures and leaves no tensors behind.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { benchSpec, benchTrain, trainStepFlops } from '../../src/engine/bench/train';
import { useWasmBackend } from './wasm-backend';

useWasmBackend({ activate: false });

describe('benchTrain', () => {
  it('counts 3 × the forward multiply-adds × 2 (hand-computed for width 8)', () => {
    // conv1 32·32·(3·9)·8, conv2 16·16·(8·9)·8, conv3 8·8·(8·9)·8, fc (4·4·8)·10 multiply-adds per image.
    const macs = 32 * 32 * 27 * 8 + 16 * 16 * 72 * 8 + 8 * 8 * 72 * 8 + 128 * 10;
    expect(trainStepFlops(benchSpec(8), 4)).toBe(3 * 2 * macs * 4);
    expect(trainStepFlops(benchSpec(8, 2), 1)).toBe(3 * 2 * (32 * 32 * 27 * 8 + 16 * 16 * 72 * 8 + 8 * 8 * 8 * 10));
  });

  for (const backend of ['wasm', 'cpu'] as const) {
    it(`runs a tiny ConvNet step on ${backend} and reports consistent figures`, async () => {
      await tf.setBackend(backend);
      const before = tf.memory().numTensors;
      let steps = 0;
      const r = await benchTrain({ backend, width: 4, batch: 2, iterations: 2, warmup: 1, onStep: () => steps++ });
      expect(steps).toBe(3);
      expect(tf.memory().numTensors).toBe(before);
      expect(r).toMatchObject({ backend, width: 4, batch: 2, depth: 3, iterations: 2 });
      expect(r.variant).toBe(backend === 'wasm' ? 'simd' : null);
      expect(r.flops_per_step).toBe(trainStepFlops(benchSpec(4), 2));
      expect(r.ms_per_step).toBeGreaterThan(0);
      expect(r.gflops).toBeCloseTo(r.flops_per_step / (r.ms_per_step * 1e6), 6);
      expect(r.cpu_ms_per_step).not.toBeNull();
    });
  }

  it('rejects nonsense sizes with a clear message', async () => {
    await expect(benchTrain({ width: 0, batch: 2 })).rejects.toThrow(/width must be an integer ≥ 1/);
  });
});
