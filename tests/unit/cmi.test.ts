/**
 * CMI on the cpu backend (the reference path with the closed-form gradient),
 * checked against the float64 oracle, hand-computed values, central finite
 * differences and the properties listed in shared/design/cmi.md.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { cmi, cmiForward } from '../../src/engine/cmi/cmi';
import { cmiF64 } from '../../src/engine/cmi/f64';
import { classLayout } from '../../src/engine/cmi/labels';
import { cmiReferenceAutodiff } from '../../src/engine/cmi/reference';
import { countCmiDispatches } from '../../src/engine/cmi/dispatches';
import { UserError } from '../../src/engine/data/types';
import { Rng } from '../../src/engine/rng';

interface Case {
  n: number;
  m: number;
  z: Float32Array;
  labels: Int32Array;
}

/** Random logits (normal · scale, or uniform ±scale) and shuffled labels with uneven class sizes. */
function randomCase(seed: number, n: number, m: number, classes: number, scale = 3, uniform = false): Case {
  const rng = new Rng(seed);
  const z = new Float32Array(n * m);
  for (let i = 0; i < z.length; i++) z[i] = uniform ? rng.uniform(-scale, scale) : scale * rng.normal();
  // class c gets weight c + 1 (uneven); the last class is a single member when there are ≥ 3 classes
  const labels: number[] = [];
  if (classes >= 3) labels.push(classes - 1);
  const weights = Array.from({ length: classes - (classes >= 3 ? 1 : 0) }, (_, c) => c + 1);
  const total = weights.reduce((a, b) => a + b, 0);
  weights.forEach((w, c) => {
    const k = c === weights.length - 1 ? n - labels.length : Math.max(1, Math.floor(((n - 1) * w) / total));
    for (let i = 0; i < k; i++) labels.push(c);
  });
  rng.shuffle(labels);
  return { n, m, z, labels: Int32Array.from(labels.slice(0, n)) };
}

function maxRelErr(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / Math.max(scale, 1e-30);
}

const relErr = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-30);

async function valueAndGrad(c: Case, opts: { temperature?: number; numClasses?: number } = {}) {
  const z = tf.tensor2d(c.z, [c.n, c.m]);
  const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => cmi(x as tf.Tensor2D, c.labels, opts))(z);
  const out = { value: (await value.data())[0], grad: await grad.data() };
  tf.dispose([z, value, grad]);
  return out;
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('cmi f64 oracle', () => {
  it('matches a hand-computed two-row case', () => {
    // one class; p1 = [1/2, 1/2], p2 = [3/4, 1/4] (z2 = [ln 3, 0]); q = [5/8, 3/8]
    const r = cmiF64([0, 0, Math.log(3), 0], 2, 2, [0, 0]);
    const kl1 = 0.5 * Math.log(0.5 / 0.625) + 0.5 * Math.log(0.5 / 0.375);
    const kl2 = 0.75 * Math.log(0.75 / 0.625) + 0.25 * Math.log(0.25 / 0.375);
    expect(r.value).toBeCloseTo((kl1 + kl2) / 2, 14);
    expect(r.kl[0]).toBeCloseTo(kl1, 14);
    expect(r.perClass[0]).toBeCloseTo((kl1 + kl2) / 2, 14);
  });

  it.each([1, 0.7])('gradient equals central finite differences in f64 (T = %s)', (T) => {
    const c = randomCase(11, 7, 5, 3, 2);
    const z = Float64Array.from(c.z);
    const { grad } = cmiF64(z, c.n, c.m, c.labels, { temperature: T });
    const h = 1e-5;
    const fd = new Float64Array(z.length);
    for (let i = 0; i < z.length; i++) {
      const zp = Float64Array.from(z);
      const zm = Float64Array.from(z);
      zp[i] += h;
      zm[i] -= h;
      fd[i] = (cmiF64(zp, c.n, c.m, c.labels, { temperature: T }).value - cmiF64(zm, c.n, c.m, c.labels, { temperature: T }).value) / (2 * h);
    }
    expect(maxRelErr(grad, fd)).toBeLessThan(1e-7);
  });
});

describe('cmi reference (cpu) vs f64', () => {
  const cases: [string, Case, number?][] = [
    ['M=10, uneven + single-member classes', randomCase(1, 50, 10, 4)],
    ['M=512, N=300', randomCase(2, 300, 512, 10)],
    ['M=2048, N=60', randomCase(3, 60, 2048, 5)],
    ['M=4096, N=40', randomCase(4, 40, 4096, 4)],
    ['M=512, N=5000', randomCase(5, 5000, 512, 10)],
    ['extreme logits ±100, M=512', randomCase(6, 40, 512, 4, 100, true)],
    ['extreme logits ±100, M=4096', randomCase(7, 24, 4096, 3, 100, true)],
    ['temperature 2.5', randomCase(8, 30, 64, 3), 2.5],
    ['temperature 0.3', randomCase(9, 30, 64, 3), 0.3],
    // |z/T| ≈ 333: log p must not go through lse = max + log Σ (ulp(333) ≈ 3e-5)
    ['extreme logits ±100 at temperature 0.3', randomCase(10, 30, 512, 3, 100, true), 0.3],
    // nearly identical p within classes: CMI ≈ 1e-3, a sum of cancelling terms
    ['small CMI (logits · 0.05)', randomCase(12, 200, 512, 10, 0.05)],
  ];
  it.each(cases)('%s: value, perClass and gradient within 1e-4', async (_name, c, T = 1) => {
    const ref = cmiF64(c.z, c.n, c.m, c.labels, { temperature: T });
    const got = await valueAndGrad(c, { temperature: T });
    expect(relErr(got.value, ref.value)).toBeLessThan(1e-4);
    expect(maxRelErr(got.grad, ref.grad)).toBeLessThan(1e-4);
    const z = tf.tensor2d(c.z, [c.n, c.m]);
    const fwd = cmiForward(z, c.labels, { temperature: T });
    expect(maxRelErr(await fwd.perClass.data(), ref.perClass)).toBeLessThan(1e-4);
    expect(relErr((await fwd.value.data())[0], ref.value)).toBeLessThan(1e-4);
    tf.dispose([z, fwd.value, fwd.perClass]);
  });

  it('closed-form gradient equals tfjs autodiff through the plain ops', async () => {
    const c = randomCase(21, 20, 16, 3);
    const z = tf.tensor2d(c.z, [c.n, c.m]);
    const layout = classLayout(c.labels, c.n);
    const auto = tf.grad((x: tf.Tensor) => cmiReferenceAutodiff(x as tf.Tensor2D, layout, 1.5))(z);
    const closed = tf.grad((x: tf.Tensor) => cmi(x as tf.Tensor2D, c.labels, { temperature: 1.5 }))(z);
    expect(maxRelErr(await closed.data(), await auto.data())).toBeLessThan(1e-4);
    tf.dispose([z, auto, closed]);
  });

  it('scales the gradient by the upstream dy (λ · CMI)', async () => {
    const c = randomCase(22, 12, 8, 3);
    const ref = cmiF64(c.z, c.n, c.m, c.labels);
    const z = tf.tensor2d(c.z, [c.n, c.m]);
    const g = tf.grad((x: tf.Tensor) => tf.mul(cmi(x as tf.Tensor2D, c.labels), 250))(z);
    expect(maxRelErr(await g.data(), Array.from(ref.grad, (v) => 250 * v))).toBeLessThan(1e-4);
    tf.dispose([z, g]);
  });
});

describe('cmi properties (cpu)', () => {
  it('is ≥ 0 and ≤ (1/N) Σ_c n_c log n_c', async () => {
    for (const [seed, scale] of [[31, 1], [32, 10], [33, 100]]) {
      const c = randomCase(seed, 40, 32, 4, scale, true);
      const { value } = await valueAndGrad(c);
      const counts = new Map<number, number>();
      c.labels.forEach((y) => counts.set(y, (counts.get(y) ?? 0) + 1));
      const bound = [...counts.values()].reduce((s, n) => s + n * Math.log(n), 0) / c.n;
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThanOrEqual(bound * (1 + 1e-6));
    }
  });

  it('approaches the bound for distinct one-hot members', async () => {
    // class of 4 members, each a one-hot on its own coordinate: KL_j = log 4 exactly
    const z = new Float32Array(4 * 4).fill(-60);
    for (let j = 0; j < 4; j++) z[j * 4 + j] = 60;
    const { value } = await valueAndGrad({ n: 4, m: 4, z, labels: new Int32Array(4) });
    expect(value).toBeCloseTo(Math.log(4), 5);
  });

  it('is 0 with zero gradient when every class has one member', async () => {
    const c = randomCase(34, 6, 9, 1);
    const labels = Int32Array.from([3, 0, 5, 1, 4, 2]);
    const { value, grad } = await valueAndGrad({ ...c, labels });
    expect(Math.abs(value)).toBeLessThan(1e-6);
    expect(Math.max(...Array.from(grad, Math.abs))).toBeLessThan(1e-7);
  });

  it('is 0 when the members of each class have identical p (rows differing by a constant)', async () => {
    const base = randomCase(35, 2, 12, 1);
    const n = 6;
    const z = new Float32Array(n * 12);
    const labels = Int32Array.from([0, 1, 0, 1, 0, 1]);
    for (let j = 0; j < n; j++) for (let k = 0; k < 12; k++) z[j * 12 + k] = base.z[labels[j] * 12 + k] + 5 * j;
    const { value } = await valueAndGrad({ n, m: 12, z, labels });
    expect(Math.abs(value)).toBeLessThan(1e-6);
  });

  it('is invariant to adding a constant to a row', async () => {
    const c = randomCase(36, 30, 20, 3);
    const shifted = Float32Array.from(c.z, (v, i) => v + (Math.floor(i / c.m) % 5) * 7 - 10);
    const a = await valueAndGrad(c);
    const b = await valueAndGrad({ ...c, z: shifted });
    expect(relErr(b.value, a.value)).toBeLessThan(1e-5);
    expect(maxRelErr(b.grad, a.grad)).toBeLessThan(1e-4);
  });

  it('is invariant to permuting rows (gradient rows follow)', async () => {
    const c = randomCase(37, 25, 16, 4);
    const order = new Rng(5).shuffle(Array.from({ length: c.n }, (_, i) => i));
    const z = new Float32Array(c.z.length);
    order.forEach((src, dst) => z.set(c.z.subarray(src * c.m, (src + 1) * c.m), dst * c.m));
    const labels = Int32Array.from(order, (src) => c.labels[src]);
    const a = await valueAndGrad(c);
    const b = await valueAndGrad({ ...c, z, labels });
    expect(relErr(b.value, a.value)).toBeLessThan(1e-5);
    const back = new Float32Array(b.grad.length);
    order.forEach((src, dst) => back.set(b.grad.subarray(dst * c.m, (dst + 1) * c.m), src * c.m));
    expect(maxRelErr(back, a.grad)).toBeLessThan(1e-5);
  });
});

describe('cmi inputs and bookkeeping (cpu)', () => {
  it('accepts labels as a tensor and empty classes via numClasses', async () => {
    const c = randomCase(41, 12, 6, 3);
    const ref = cmiF64(c.z, c.n, c.m, c.labels, { numClasses: 6 });
    const z = tf.tensor2d(c.z, [c.n, c.m]);
    const labels = tf.tensor1d(c.labels, 'int32');
    const { value, perClass } = cmiForward(z, labels, { numClasses: 6 });
    expect(relErr((await value.data())[0], ref.value)).toBeLessThan(1e-5);
    const pc = await perClass.data();
    expect(pc.length).toBe(6);
    expect(Array.from(pc.slice(3))).toEqual([0, 0, 0]);
    expect(maxRelErr(pc, ref.perClass)).toBeLessThan(1e-5);
    tf.dispose([z, labels, value, perClass]);
  });

  it('notices a label array edited in place between calls', async () => {
    const c = randomCase(43, 12, 6, 3);
    const labels = Int32Array.from(c.labels);
    const z = tf.tensor2d(c.z, [c.n, c.m]);
    const first = cmi(z, labels);
    labels.reverse();
    const second = cmi(z, labels);
    expect(relErr((await second.data())[0], cmiF64(c.z, c.n, c.m, labels).value)).toBeLessThan(1e-5);
    expect(relErr((await first.data())[0], cmiF64(c.z, c.n, c.m, c.labels).value)).toBeLessThan(1e-5);
    tf.dispose([z, first, second]);
  });

  it('rejects bad input with a UserError', () => {
    const z = tf.zeros([3, 4]) as tf.Tensor2D;
    expect(() => cmi(z, [0, 1])).toThrow(UserError);
    expect(() => cmi(z, [0, 1, -1])).toThrow(/label -1/);
    expect(() => cmi(z, [0, 1, 4], { numClasses: 3 })).toThrow(/out of range/);
    expect(() => cmi(z, [0, 1, 1.5])).toThrow(UserError);
    expect(() => cmi(z, [0, 1, 2], { temperature: 0 })).toThrow(/temperature/);
    expect(() => cmi(tf.zeros([3]) as unknown as tf.Tensor2D, [0, 1, 2])).toThrow(/2-D/);
    z.dispose();
  });

  it('leaks no tensors through forward, backward and the no-tape path', async () => {
    const c = randomCase(42, 10, 8, 3);
    const z = tf.tensor2d(c.z, [c.n, c.m]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => cmi(x as tf.Tensor2D, c.labels))(z);
      const v = cmi(z, c.labels);
      const f = cmiForward(z, c.labels);
      await grad.data();
      tf.dispose([value, grad, v, f.value, f.perClass]);
    }
    expect(tf.memory().numTensors).toBe(before);
    z.dispose();
  });

  it('counts kernels off webgpu', () => {
    const z = tf.ones([4, 3]) as tf.Tensor2D;
    const { result, dispatches, unit } = countCmiDispatches(() => cmi(z, [0, 0, 1, 1]));
    expect(unit).toBe('kernels');
    expect(dispatches).toBeGreaterThan(3);
    tf.dispose([z, result]);
  });
});
