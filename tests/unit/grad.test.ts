/**
 * Second-order gradients (src/engine/grad) on tfjs' cpu backend: what fails
 * without them, registration, and the shared suite against the f64 reference.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  MISSING_GRADIENTS,
  REPLACED_GRADIENTS,
  registerSecondOrderGradients,
  softmaxCrossEntropy,
} from '../../src/engine/grad';
import { defineGradSuite } from './grad-suite';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

/** ∂/∂x ‖∂/∂w Σ net(x, w)‖² for a one-op "net" around op. */
function doubleGrad(op: (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor): void {
  tf.tidy(() => {
    const x = tf.randomNormal([1, 4, 4, 2], 0, 1, 'float32', 1) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, 2, 2], 0, 1, 'float32', 2) as tf.Tensor4D;
    tf.grad((xx: tf.Tensor) =>
      tf.grad((ww: tf.Tensor) => op(xx as tf.Tensor4D, ww as tf.Tensor4D).square().sum())(w).square().sum(),
    )(x);
  });
}

const conv = (x: tf.Tensor4D, w: tf.Tensor4D) => tf.conv2d(x, w, 1, 'same');

describe('registration', () => {
  it('without the missing gradients, second derivatives fail exactly where expected', () => {
    registerSecondOrderGradients();
    const names = MISSING_GRADIENTS.map((c) => c.kernelName);
    for (const name of names) tf.unregisterGradient(name);
    try {
      expect(() => doubleGrad(conv)).toThrow(/gradient function not found for Conv2DBackpropFilter/);
      // With the conv fixed, the pooling gradients are next.
      tf.registerGradient(MISSING_GRADIENTS[0]);
      expect(() => doubleGrad((x, w) => tf.avgPool(conv(x, w), 2, 2, 'valid'))).toThrow(
        /gradient function not found for AvgPoolGrad/,
      );
      expect(() => doubleGrad((x, w) => tf.maxPool(conv(x, w), 2, 2, 'valid'))).toThrow(
        /gradient function not found for MaxPoolGrad/,
      );
      // logSumExp's max: Max's gradient builds its mask with equal().
      expect(() => doubleGrad((x, w) => tf.logSumExp(conv(x, w).reshape([1, -1]), 1))).toThrow(
        /gradient function not found for Equal/,
      );
    } finally {
      for (const name of names) if (tf.getGradient(name) != null) tf.unregisterGradient(name);
      registerSecondOrderGradients();
    }
    expect(() => doubleGrad((x, w) => tf.avgPool(conv(x, w), 2, 2, 'valid'))).not.toThrow();
    expect(() => doubleGrad((x, w) => tf.maxPool(conv(x, w), 2, 2, 'valid'))).not.toThrow();
    expect(() => doubleGrad((x, w) => softmaxCrossEntropy(conv(x, w).reshape([2, -1]) as tf.Tensor2D, tf.oneHot([0, 1], 16).toFloat() as tf.Tensor2D))).not.toThrow();
  });

  it('is idempotent: same list, same registered configs, same numbers', () => {
    const first = registerSecondOrderGradients();
    const configs = first.map((n) => tf.getGradient(n));
    const g1 = tf.tidy(() =>
      tf.grad((x: tf.Tensor) => tf.grad((z: tf.Tensor) => tf.avgPool(z as tf.Tensor4D, 2, 2, 'valid').exp().sum())(x).square().sum())(
        tf.randomNormal([1, 4, 4, 1], 0, 1, 'float32', 3),
      ).arraySync(),
    );
    for (let i = 0; i < 3; i++) expect(registerSecondOrderGradients()).toEqual(first);
    expect(first.map((n) => tf.getGradient(n))).toEqual(configs);
    const g2 = tf.tidy(() =>
      tf.grad((x: tf.Tensor) => tf.grad((z: tf.Tensor) => tf.avgPool(z as tf.Tensor4D, 2, 2, 'valid').exp().sum())(x).square().sum())(
        tf.randomNormal([1, 4, 4, 1], 0, 1, 'float32', 3),
      ).arraySync(),
    );
    expect(g2).toEqual(g1);
    expect(first).toEqual([...MISSING_GRADIENTS, ...REPLACED_GRADIENTS].map((c) => c.kernelName));
  });

  it('first-order gradients are unchanged by the replacements (exp, sigmoid, tanh, softmax)', () => {
    registerSecondOrderGradients();
    const x = tf.tensor2d([[-1.5, 0.2, 2], [0.7, -0.3, 0.1]]);
    const cases: [(z: tf.Tensor) => tf.Tensor, (z: number[][]) => number[][]][] = [
      [tf.exp, (z) => z.map((r) => r.map(Math.exp))],
      [tf.sigmoid, (z) => z.map((r) => r.map((v) => Math.exp(-v) / (1 + Math.exp(-v)) ** 2))],
      [tf.tanh, (z) => z.map((r) => r.map((v) => 1 - Math.tanh(v) ** 2))],
    ];
    const xs = x.arraySync();
    for (const [f, d] of cases) {
      const g = tf.tidy(() => tf.grad((z: tf.Tensor) => f(z).sum())(x).arraySync() as number[][]);
      const ref = d(xs);
      g.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(ref[i][j], 5)));
    }
    // Σ softmax = 1 in every row: its gradient is zero.
    const gs = tf.tidy(() => tf.grad((z: tf.Tensor) => tf.softmax(z).sum())(x).arraySync() as number[][]);
    gs.forEach((row) => row.forEach((v) => expect(Math.abs(v)).toBeLessThan(1e-6)));
    x.dispose();
  });
});

defineGradSuite({ tol: 2e-3 });
