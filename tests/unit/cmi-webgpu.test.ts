/**
 * The fused CMI kernels on tfjs' webgpu backend (Dawn in Node; SwiftShader on
 * machines without a GPU): vs the float64 oracle, vs the reference built from
 * ordinary ops on the same backend, dispatch counts, properties, memory.
 * Skipped when no WebGPU adapter can be had.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { installNodeWebGPU } from '../../src/cli/webgpu-node';
import { cmi, cmiForward } from '../../src/engine/cmi/cmi';
import { cmiF64 } from '../../src/engine/cmi/f64';
import { countCmiDispatches } from '../../src/engine/cmi/dispatches';
import { benchCmi } from '../../src/engine/cmi/bench';
import { cmiKernelTuning } from '../../src/engine/cmi/webgpu/kernels';
import { Rng } from '../../src/engine/rng';

async function setupWebGPU(): Promise<string | null> {
  const reasons: string[] = [];
  const info = await installNodeWebGPU(reasons);
  if (!info) return null;
  await import('@tensorflow/tfjs-backend-webgpu');
  return (await tf.setBackend('webgpu')) ? `${info.adapterInfo.vendor}/${info.adapterInfo.architecture}` : null;
}

const adapter = await setupWebGPU();

interface Case {
  n: number;
  m: number;
  z: Float32Array;
  labels: Int32Array;
}

/** Random logits and shuffled labels: class c has ~(c+1) shares, the last class one member (C ≥ 3). */
function randomCase(seed: number, n: number, m: number, classes: number, scale = 3, uniform = false): Case {
  const rng = new Rng(seed);
  const z = new Float32Array(n * m);
  for (let i = 0; i < z.length; i++) z[i] = uniform ? rng.uniform(-scale, scale) : scale * rng.normal();
  const labels: number[] = classes >= 3 ? [classes - 1] : [];
  const shares = classes >= 3 ? classes - 1 : classes;
  const total = (shares * (shares + 1)) / 2;
  for (let c = 0; c < shares; c++) {
    const k = c === shares - 1 ? n - labels.length : Math.max(1, Math.floor(((n - 1) * (c + 1)) / total));
    for (let i = 0; i < k; i++) labels.push(c);
  }
  rng.shuffle(labels);
  return { n, m, z, labels: Int32Array.from(labels) };
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

type Impl = 'fused' | 'reference';

async function valueAndGrad(c: Case, impl: Impl, temperature = 1) {
  const z = tf.tensor2d(c.z, [c.n, c.m]);
  const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => cmi(x as tf.Tensor2D, c.labels, { temperature, impl }))(z);
  const out = { value: (await value.data())[0], grad: await grad.data() };
  tf.dispose([z, value, grad]);
  return out;
}

describe.skipIf(!adapter)(`cmi fused kernels on webgpu (${adapter})`, () => {
  const cases: [string, Case, number?][] = [
    ['M=10, uneven + single-member classes', randomCase(1, 50, 10, 4)],
    ['M=512, N=5000', randomCase(2, 5000, 512, 10)],
    ['M=2048, N=100', randomCase(3, 100, 2048, 10)],
    ['M=4096, N=40', randomCase(4, 40, 4096, 4)],
    // N·M/64 > 65535: tfjs reshapes the backward's dispatch to 2-D
    ['M=4096, N=1100', randomCase(11, 1100, 4096, 10)],
    ['extreme logits ±100, M=4096', randomCase(5, 24, 4096, 3, 100, true)],
    ['extreme logits ±100, M=10', randomCase(6, 30, 10, 3, 100, true)],
    ['temperature 2.5', randomCase(7, 30, 64, 3), 2.5],
    ['temperature 0.3', randomCase(8, 30, 300, 3), 0.3],
    // |z/T| ≈ 333: log p must not go through lse = max + log Σ (ulp(333) ≈ 3e-5)
    ['extreme logits ±100 at temperature 0.3', randomCase(9, 30, 512, 3, 100, true), 0.3],
    // nearly identical p within classes: CMI ≈ 1e-3, a sum of cancelling terms
    ['small CMI (logits · 0.05)', randomCase(10, 200, 512, 10, 0.05)],
  ];

  it.each(cases)('%s: fused value and gradient vs f64 within 1e-4', async (_name, c, T = 1) => {
    const ref = cmiF64(c.z, c.n, c.m, c.labels, { temperature: T });
    const got = await valueAndGrad(c, 'fused', T);
    expect(relErr(got.value, ref.value)).toBeLessThan(1e-4);
    expect(maxRelErr(got.grad, ref.grad)).toBeLessThan(1e-4);
  });

  // 'auto' picks one workgroup shape per adapter (narrow on SwiftShader); check the other one too
  it.each([
    ['gpu', randomCase(21, 70, 2048, 5)],
    ['gpu', randomCase(22, 45, 10, 3, 100, true)],
    ['software', randomCase(23, 70, 4096, 5)],
    ['software', randomCase(24, 45, 10, 3)],
  ] as const)('workgroup shape %s vs f64', async (shape, c) => {
    cmiKernelTuning.workgroupShape = shape;
    try {
      const ref = cmiF64(c.z, c.n, c.m, c.labels);
      const got = await valueAndGrad(c, 'fused');
      expect(relErr(got.value, ref.value)).toBeLessThan(1e-4);
      expect(maxRelErr(got.grad, ref.grad)).toBeLessThan(1e-4);
    } finally {
      cmiKernelTuning.workgroupShape = 'auto';
    }
  });

  it('fused equals the reference on the same backend (value, gradient, per-class)', async () => {
    const c = randomCase(11, 120, 700, 6);
    const fused = await valueAndGrad(c, 'fused');
    const ref = await valueAndGrad(c, 'reference');
    expect(relErr(fused.value, ref.value)).toBeLessThan(1e-4);
    expect(maxRelErr(fused.grad, ref.grad)).toBeLessThan(1e-4);
    const z = tf.tensor2d(c.z, [c.n, c.m]);
    const a = cmiForward(z, c.labels, { impl: 'fused' });
    const b = cmiForward(z, c.labels, { impl: 'reference' });
    expect(maxRelErr(await a.perClass.data(), await b.perClass.data())).toBeLessThan(1e-4);
    expect(relErr((await a.value.data())[0], (await b.value.data())[0])).toBeLessThan(1e-4);
    tf.dispose([z, a.value, a.perClass, b.value, b.perClass]);
  });

  it('per-class CMI and empty classes (numClasses) vs f64', async () => {
    const c = randomCase(12, 40, 33, 3);
    const ref = cmiF64(c.z, c.n, c.m, c.labels, { numClasses: 5 });
    const z = tf.tensor2d(c.z, [c.n, c.m]);
    const { value, perClass } = cmiForward(z, c.labels, { numClasses: 5 });
    const pc = await perClass.data();
    expect(pc.length).toBe(5);
    expect(Array.from(pc.slice(3))).toEqual([0, 0]);
    expect(maxRelErr(pc, ref.perClass)).toBeLessThan(1e-4);
    expect(relErr((await value.data())[0], ref.value)).toBeLessThan(1e-4);
    tf.dispose([z, value, perClass]);
  });

  it('value + gradient in 2 dispatches, backward in 1; forward-only value in 2', async () => {
    const c = randomCase(13, 30, 64, 3);
    const z = tf.tensor2d(c.z, [c.n, c.m]);
    const f = (x: tf.Tensor) => cmi(x as tf.Tensor2D, c.labels);
    const total = countCmiDispatches(() => tf.valueAndGrad(f)(z));
    expect(total.unit).toBe('dispatches');
    expect(total.dispatches).toBe(3);
    const fwdOnly = countCmiDispatches(() => cmi(z, c.labels));
    expect(fwdOnly.dispatches).toBe(2);
    const metrics = countCmiDispatches(() => cmiForward(z, c.labels));
    expect(metrics.dispatches).toBe(3);
    const reference = countCmiDispatches(() => tf.valueAndGrad((x: tf.Tensor) => cmi(x as tf.Tensor2D, c.labels, { impl: 'reference' }))(z));
    expect(reference.dispatches).toBeGreaterThan(10);
    expect(relErr((await fwdOnly.result.data())[0], (await total.result.value.data())[0])).toBeLessThan(1e-6);
    tf.dispose([z, total.result.value, total.result.grad, fwdOnly.result, metrics.result.value, metrics.result.perClass]);
    tf.dispose([reference.result.value, reference.result.grad]);
  });

  it('is 0 with single-member classes, shift- and permutation-invariant', async () => {
    const single = randomCase(14, 5, 40, 1);
    const s = await valueAndGrad({ ...single, labels: Int32Array.from([4, 2, 0, 3, 1]) }, 'fused');
    expect(Math.abs(s.value)).toBeLessThan(1e-6);
    expect(Math.max(...Array.from(s.grad, Math.abs))).toBeLessThan(1e-7);

    const c = randomCase(15, 30, 50, 4);
    const a = await valueAndGrad(c, 'fused');
    const shifted = Float32Array.from(c.z, (v, i) => v + (Math.floor(i / c.m) % 4) * 9 - 12);
    const b = await valueAndGrad({ ...c, z: shifted }, 'fused');
    expect(relErr(b.value, a.value)).toBeLessThan(1e-5);
    expect(maxRelErr(b.grad, a.grad)).toBeLessThan(1e-4);

    const order = new Rng(3).shuffle(Array.from({ length: c.n }, (_, i) => i));
    const z = new Float32Array(c.z.length);
    order.forEach((src, dst) => z.set(c.z.subarray(src * c.m, (src + 1) * c.m), dst * c.m));
    const p = await valueAndGrad({ ...c, z, labels: Int32Array.from(order, (src) => c.labels[src]) }, 'fused');
    expect(relErr(p.value, a.value)).toBeLessThan(1e-5);
    const back = new Float32Array(p.grad.length);
    order.forEach((src, dst) => back.set(p.grad.subarray(dst * c.m, (dst + 1) * c.m), src * c.m));
    expect(maxRelErr(back, a.grad)).toBeLessThan(1e-5);
  });

  it('scales the gradient by the upstream dy and accepts labels as a tensor', async () => {
    const c = randomCase(16, 20, 24, 3);
    const ref = cmiF64(c.z, c.n, c.m, c.labels);
    const z = tf.tensor2d(c.z, [c.n, c.m]);
    const labels = tf.tensor1d(c.labels, 'int32');
    const g = tf.grad((x: tf.Tensor) => tf.mul(cmi(x as tf.Tensor2D, labels), -3))(z);
    expect(maxRelErr(await g.data(), Array.from(ref.grad, (v) => -3 * v))).toBeLessThan(1e-4);
    tf.dispose([z, labels, g]);
  });

  it('leaks no tensors', async () => {
    const c = randomCase(17, 16, 32, 3);
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

  it('benchCmi reports timings, dispatch counts and agreement', async () => {
    const r = await benchCmi({ n: 40, m: 256, classes: 4, backend: 'webgpu', repeats: 1 });
    expect(r.fused_dispatches).toBe(3);
    expect(r.reference_dispatches).toBeGreaterThan(10);
    expect(r.max_rel_err).toBeLessThan(1e-4);
    expect(r.fused_ms).toBeGreaterThan(0);
    expect(r.speedup).toBeCloseTo(r.reference_ms / r.fused_ms!, 10);
  });
});
