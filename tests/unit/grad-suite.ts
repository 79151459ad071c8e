/**
 * Second-order gradient tests shared by the cpu (grad.test.ts) and webgpu
 * (grad-webgpu.test.ts) runs: every gradient registered by
 * src/engine/grad alone, then ∂/∂x ‖∇θL(x) − G‖² through small ConvNets
 * (this file's own functional net, the project's convNetLogits, and DSA in
 * front), all against the float64 reference of grad-f64.ts. Reads are async
 * (webgpu in Node has no synchronous read).
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { registerSecondOrderGradients, softmaxCrossEntropy } from '../../src/engine/grad';
import { Rng } from '../../src/engine/rng';
import { convNetLogits, type ConvNetSpec } from '../../src/engine/models/convnet';
import { dsaAugment, type DsaOptions } from '../../src/engine/augment/dsa';
import {
  avgPoolGrad64,
  conv2dBackpropFilter64,
  dot64,
  finiteDiff64,
  matchingLoss64,
  maxPoolGrad64,
  maxRelErr,
  size,
  type Net64Spec,
  type Pad,
  type Params64,
  type T64,
} from './grad-f64';

export interface SuiteOptions {
  /** Largest accepted max-abs error relative to the reference's largest entry. */
  tol: number;
}

/** Random f32 values (so tfjs and the f64 reference start from identical numbers). */
function randn(rng: Rng, shape: number[], scale = 1): Float32Array {
  return rng.fill(size(shape), (r) => scale * r.normal());
}

const to64 = (v: Float32Array, shape: number[]): T64 => ({ data: Float64Array.from(v), shape });

async function read(t: tf.Tensor): Promise<Float64Array> {
  const v = Float64Array.from(await t.data());
  t.dispose();
  return v;
}

const run = (name: string, inputs: tf.NamedTensorMap, attrs: object) =>
  tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap) as tf.Tensor;

// ---------------------------------------------------------------------------
// Functional ConvNet mirroring the f64 one (and the project's architecture).

type TfParams = Record<string, tf.Tensor>;

function netLogits(spec: Net64Spec, p: TfParams, x: tf.Tensor4D): tf.Tensor2D {
  let h = x;
  for (let d = 0; d < spec.depth; d++) {
    h = tf.conv2d(h, p[`conv${d}.weight`] as tf.Tensor4D, 1, 'same').add(p[`conv${d}.bias`]);
    if (spec.norm !== 'none') {
      const { mean, variance } = tf.moments(h, spec.norm === 'instance' ? [1, 2] : [0, 1, 2], true);
      h = h.sub(mean).mul(tf.rsqrt(variance.add(1e-5))).mul(p[`norm${d}.weight`]).add(p[`norm${d}.bias`]);
    }
    h = tf.relu(h);
    h = spec.pooling === 'avg' ? tf.avgPool(h, 2, 2, 'valid') : tf.maxPool(h, 2, 2, 'valid');
  }
  return tf.matMul(h.reshape([h.shape[0], -1]) as tf.Tensor2D, p['fc.weight'] as tf.Tensor2D).add(p['fc.bias']);
}

interface NetCase {
  spec: Net64Spec;
  params64: Params64;
  params: TfParams;
  x64: T64;
  x: tf.Tensor4D;
  labels: number[];
  y: tf.Tensor2D;
  target64: Record<string, Float64Array>;
  target: TfParams;
}

function makeNetCase(spec: Net64Spec, seed: number, shape: [number, number, number, number], classes: number): NetCase {
  const rng = new Rng(seed);
  const [n, h, w, c] = shape;
  const shapes: Record<string, number[]> = {};
  let cin = c;
  let side = h;
  let sideW = w;
  for (let d = 0; d < spec.depth; d++) {
    shapes[`conv${d}.weight`] = [3, 3, cin, spec.width];
    shapes[`conv${d}.bias`] = [spec.width];
    if (spec.norm !== 'none') {
      shapes[`norm${d}.weight`] = [spec.width];
      shapes[`norm${d}.bias`] = [spec.width];
    }
    cin = spec.width;
    side = Math.floor(side / 2);
    sideW = Math.floor(sideW / 2);
  }
  shapes['fc.weight'] = [side * sideW * spec.width, classes];
  shapes['fc.bias'] = [classes];
  const params64: Params64 = {};
  const params: TfParams = {};
  const target64: Record<string, Float64Array> = {};
  const target: TfParams = {};
  for (const [name, s] of Object.entries(shapes)) {
    const fanIn = s.length === 4 ? s[0] * s[1] * s[2] : s.length === 2 ? s[0] : 4;
    const v = randn(rng, s, 1 / Math.sqrt(fanIn));
    // Norm scales near 1 (not exactly, so the affine path matters).
    if (name.startsWith('norm') && name.endsWith('weight')) for (let i = 0; i < v.length; i++) v[i] += 1;
    params64[name] = to64(v, s);
    params[name] = tf.tensor(v, s);
    const g = randn(rng, s, 0.05);
    target64[name] = Float64Array.from(g);
    target[name] = tf.tensor(g, s);
  }
  const xv = randn(rng, shape);
  const labels = Array.from({ length: n }, (_, i) => i % classes);
  return {
    spec,
    params64,
    params,
    x64: to64(xv, shape),
    x: tf.tensor4d(xv, shape),
    labels,
    y: tf.oneHot(labels, classes).toFloat() as tf.Tensor2D,
    target64,
    target,
  };
}

function disposeCase(c: NetCase): void {
  tf.dispose([c.x, c.y, ...Object.values(c.params), ...Object.values(c.target)]);
}

/** ∂/∂x of Σ_θ ‖∇θ CE(logits(θ, aug(x))) − G_θ‖², and the objective's value. */
function matchingGrad(
  logits: (p: TfParams, x: tf.Tensor4D) => tf.Tensor2D,
  c: NetCase,
  aug: (x: tf.Tensor4D) => tf.Tensor4D = (x) => x,
): { value: tf.Scalar; grad: tf.Tensor } {
  const names = Object.keys(c.target);
  return tf.tidy(() => {
    const { value, grad } = tf.valueAndGrad((xx: tf.Tensor) => {
      const xa = aug(xx as tf.Tensor4D);
      const gs = tf.grads((...ps: tf.Tensor[]) => {
        const p: TfParams = { ...c.params };
        names.forEach((n, i) => (p[n] = ps[i]));
        return softmaxCrossEntropy(logits(p, xa), c.y);
      })(names.map((n) => c.params[n]));
      // Pairwise sum, not tf.addN: tfjs-webgpu's AddN binds one storage buffer per
      // input and silently returns zeros past the device's limit (8 by default).
      return gs.map((g, i) => g.sub(c.target[names[i]]).square().sum()).reduce((a, b) => a.add(b)) as tf.Scalar;
    })(c.x);
    return { value: value as tf.Scalar, grad };
  });
}

async function expectMatchesReference(
  c: NetCase,
  logits: (p: TfParams, x: tf.Tensor4D) => tf.Tensor2D,
  tol: number,
  aug?: { tf: (x: tf.Tensor4D) => tf.Tensor4D; f64: (x: T64) => T64 },
): Promise<void> {
  const before = tf.memory().numTensors;
  const { value, grad } = matchingGrad(logits, c, aug?.tf);
  const v = (await read(value))[0];
  const g = await read(grad);
  expect(tf.memory().numTensors).toBe(before);
  const f64 = (xv: Float64Array) => {
    const x: T64 = { data: xv, shape: c.x64.shape };
    return matchingLoss64(c.spec, c.params64, aug ? aug.f64(x) : x, c.labels, c.target64);
  };
  const ref = finiteDiff64(f64, c.x64.data, 1e-6);
  expect(Math.abs(v - f64(c.x64.data)) / f64(c.x64.data)).toBeLessThan(tol);
  expect(maxRelErr(g, ref)).toBeLessThan(tol);
  // The gradient is not trivially small: the check has teeth.
  expect(Math.max(...ref.map(Math.abs))).toBeGreaterThan(1e-4);
}

// ---------------------------------------------------------------------------

export function defineGradSuite(opts: SuiteOptions): void {
  const { tol } = opts;

  describe('Conv2DBackpropFilter gradient (w.r.t. x and dy) vs f64 finite differences', () => {
    const cases: { x: [number, number, number, number]; f: [number, number, number, number]; s: number; pad: Pad }[] = [
      { x: [1, 5, 5, 2], f: [3, 3, 2, 3], s: 1, pad: 'same' },
      { x: [2, 6, 6, 2], f: [3, 3, 2, 2], s: 2, pad: 'same' }, // asymmetric padding (0 top, 1 bottom)
      { x: [1, 7, 7, 1], f: [2, 2, 1, 2], s: 2, pad: 'valid' },
    ];
    for (const cs of cases) {
      it(`x ${cs.x.join('×')}, filter ${cs.f.join('×')}, stride ${cs.s}, ${cs.pad}`, async () => {
        registerSecondOrderGradients();
        const rng = new Rng(11);
        const xv = randn(rng, cs.x);
        const oh = cs.pad === 'same' ? Math.ceil(cs.x[1] / cs.s) : Math.ceil((cs.x[1] - cs.f[0] + 1) / cs.s);
        const ow = cs.pad === 'same' ? Math.ceil(cs.x[2] / cs.s) : Math.ceil((cs.x[2] - cs.f[1] + 1) / cs.s);
        const dyShape = [cs.x[0], oh, ow, cs.f[3]];
        const dyv = randn(rng, dyShape);
        const rv = randn(rng, cs.f);
        const attrs = { strides: cs.s, pad: cs.pad, dataFormat: 'NHWC', filterShape: cs.f };
        const before = tf.memory().numTensors;
        const [gx, gdy, fwd] = tf.tidy(() => {
          const x = tf.tensor(xv, cs.x);
          const dy = tf.tensor(dyv, dyShape);
          const r = tf.tensor(rv, cs.f);
          const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(r, run('Conv2DBackpropFilter', { x: a, dy: b }, attrs)));
          const [ga, gb] = tf.grads(f)([x, dy]);
          return [ga, gb, run('Conv2DBackpropFilter', { x, dy }, attrs)];
        });
        const [ax, ady, afwd] = [await read(gx), await read(gdy), await read(fwd)];
        expect(tf.memory().numTensors).toBe(before);
        const x64 = to64(xv, cs.x);
        const dy64 = to64(dyv, dyShape);
        // The reference's forward agrees with the kernel (same padding convention).
        expect(maxRelErr(afwd, conv2dBackpropFilter64(x64, dy64, cs.f, cs.s, cs.pad).data)).toBeLessThan(tol);
        const fx = (v: Float64Array) => dot64(rv, conv2dBackpropFilter64({ data: v, shape: cs.x }, dy64, cs.f, cs.s, cs.pad).data);
        const fdy = (v: Float64Array) => dot64(rv, conv2dBackpropFilter64(x64, { data: v, shape: dyShape }, cs.f, cs.s, cs.pad).data);
        expect(maxRelErr(ax, finiteDiff64(fx, x64.data, 1e-3))).toBeLessThan(tol);
        expect(maxRelErr(ady, finiteDiff64(fdy, dy64.data, 1e-3))).toBeLessThan(tol);
      });
    }
  });

  const poolCases: { x: [number, number, number, number]; f: number; s: number; pad: Pad; label: string }[] = [
    { x: [2, 4, 4, 2], f: 2, s: 2, pad: 'valid', label: 'ConvNet pooling' },
    { x: [1, 5, 5, 2], f: 2, s: 2, pad: 'valid', label: 'odd size, last row dropped' },
    { x: [1, 5, 5, 2], f: 2, s: 2, pad: 'same', label: 'non-overlapping with padding' },
    { x: [1, 5, 5, 1], f: 3, s: 2, pad: 'same', label: 'overlapping windows with padding' },
    { x: [1, 6, 6, 2], f: 3, s: 1, pad: 'valid', label: 'stride 1, 9 disjoint groups' },
  ];
  const outSide = (n: number, f: number, s: number, pad: Pad) => (pad === 'same' ? Math.ceil(n / s) : Math.ceil((n - f + 1) / s));

  describe('AvgPoolGrad gradient (w.r.t. dy; zero w.r.t. input) vs f64 finite differences', () => {
    for (const cs of poolCases) {
      it(`${cs.f}×${cs.f} stride ${cs.s} ${cs.pad} on ${cs.x.join('×')} (${cs.label})`, async () => {
        registerSecondOrderGradients();
        const rng = new Rng(12);
        const dyShape = [cs.x[0], outSide(cs.x[1], cs.f, cs.s, cs.pad), outSide(cs.x[2], cs.f, cs.s, cs.pad), cs.x[3]];
        const dyv = randn(rng, dyShape);
        const rv = randn(rng, cs.x);
        const attrs = { filterSize: cs.f, strides: cs.s, pad: cs.pad };
        const before = tf.memory().numTensors;
        const [gdy, gin] = tf.tidy(() => {
          const input = tf.tensor(randn(rng, cs.x), cs.x);
          const r = tf.tensor(rv, cs.x);
          const f = (dy: tf.Tensor, inp: tf.Tensor) => tf.sum(tf.mul(r, run('AvgPoolGrad', { dy, input: inp }, attrs)));
          return tf.grads(f)([tf.tensor(dyv, dyShape), input]);
        });
        const [ady, ain] = [await read(gdy), await read(gin)];
        expect(tf.memory().numTensors).toBe(before);
        const fdy = (v: Float64Array) => dot64(rv, avgPoolGrad64({ data: v, shape: dyShape }, cs.x, cs.f, cs.s, cs.pad).data);
        expect(maxRelErr(ady, finiteDiff64(fdy, Float64Array.from(dyv), 1e-3))).toBeLessThan(tol);
        expect(Math.max(...ain.map(Math.abs))).toBe(0);
      });
    }
  });

  describe('MaxPoolGrad gradient (w.r.t. dy; zero w.r.t. input and output)', () => {
    for (const cs of poolCases) {
      it(`${cs.f}×${cs.f} stride ${cs.s} ${cs.pad} on ${cs.x.join('×')} (${cs.label}) vs f64, distinct values`, async () => {
        registerSecondOrderGradients();
        const rng = new Rng(13);
        const dyShape = [cs.x[0], outSide(cs.x[1], cs.f, cs.s, cs.pad), outSide(cs.x[2], cs.f, cs.s, cs.pad), cs.x[3]];
        const dyv = randn(rng, dyShape);
        const rv = randn(rng, cs.x);
        // Positive, as after a ReLU: wasm's MaxPoolGrad kernel starts its running maximum at
        // FLT_MIN (> 0), so it misroutes all-negative windows even at first order.
        const xv = randn(rng, cs.x).map((v) => Math.abs(v) + 0.01);
        const attrs = { filterSize: cs.f, strides: cs.s, pad: cs.pad };
        const before = tf.memory().numTensors;
        const [gdy, gin, gout] = tf.tidy(() => {
          const input = tf.tensor(xv, cs.x) as tf.Tensor4D;
          const output = tf.maxPool(input, cs.f, cs.s, cs.pad);
          const r = tf.tensor(rv, cs.x);
          const f = (dy: tf.Tensor, inp: tf.Tensor, out: tf.Tensor) =>
            tf.sum(tf.mul(r, run('MaxPoolGrad', { dy, input: inp, output: out }, attrs)));
          return tf.grads(f)([tf.tensor(dyv, dyShape), input, output]);
        });
        const [ady, ain, aout] = [await read(gdy), await read(gin), await read(gout)];
        expect(tf.memory().numTensors).toBe(before);
        const x64 = to64(xv, cs.x);
        const fdy = (v: Float64Array) => dot64(rv, maxPoolGrad64({ data: v, shape: dyShape }, x64, cs.f, cs.s, cs.pad).data);
        expect(maxRelErr(ady, finiteDiff64(fdy, Float64Array.from(dyv), 1e-3))).toBeLessThan(tol);
        expect(Math.max(...ain.map(Math.abs), ...aout.map(Math.abs))).toBe(0);
      });

      it(`${cs.f}×${cs.f} stride ${cs.s} ${cs.pad} (${cs.label}) with ties: the backend's own argmax rule`, async () => {
        registerSecondOrderGradients();
        const rng = new Rng(14);
        const dyShape = [cs.x[0], outSide(cs.x[1], cs.f, cs.s, cs.pad), outSide(cs.x[2], cs.f, cs.s, cs.pad), cs.x[3]];
        // ReLU-like input: many exact zeros, and a few repeated positive values.
        const xv = randn(rng, cs.x).map((v) => (v < 0.3 ? 0 : v > 1 ? 1 : v));
        const rv = randn(rng, cs.x);
        const attrs = { filterSize: cs.f, strides: cs.s, pad: cs.pad };
        const input = tf.tensor(xv, cs.x) as tf.Tensor4D;
        const output = tf.maxPool(input, cs.f, cs.s, cs.pad);
        const r = tf.tensor(rv, cs.x);
        const f = (dy: tf.Tensor) => tf.sum(tf.mul(r, run('MaxPoolGrad', { dy, input, output }, attrs)));
        const ady = await read(tf.tidy(() => tf.grad(f)(tf.zeros(dyShape))));
        // MaxPoolGrad is linear in dy, so the gradient's entry j is f(e_j), computed by the kernel itself:
        // exact (the kernel only routes values) whatever its tie-breaking rule.
        const m = size(dyShape);
        const probes = await read(
          tf.tidy(() => {
            const eye = tf.oneHot(tf.range(0, m, 1, 'int32'), m).toFloat();
            return tf.stack(Array.from({ length: m }, (_, j) => f(eye.slice([j, 0], [1, m]).reshape(dyShape))));
          }),
        );
        tf.dispose([input, output, r]);
        expect(maxRelErr(ady, probes)).toBeLessThan(1e-6);
      });
    }
  });

  describe('replaced gradients (Exp, Sigmoid, Tanh, Softmax): second derivative vs f64', () => {
    const elementwise: { name: string; f: (x: tf.Tensor) => tf.Tensor; d: (x: number) => number }[] = [
      { name: 'exp', f: tf.exp, d: Math.exp },
      { name: 'sigmoid', f: tf.sigmoid, d: (x) => Math.exp(-x) / (1 + Math.exp(-x)) ** 2 },
      { name: 'tanh', f: tf.tanh, d: (x) => 1 - Math.tanh(x) ** 2 },
    ];
    for (const op of elementwise) {
      it(`${op.name}: ∂/∂x Σ(a·${op.name}'(x))²`, async () => {
        registerSecondOrderGradients();
        const rng = new Rng(15);
        const xv = randn(rng, [7]);
        const av = randn(rng, [7]);
        const a = tf.tensor(av);
        const g = await read(
          tf.tidy(() =>
            tf.grad((x: tf.Tensor) => tf.grad((z: tf.Tensor) => tf.sum(tf.mul(a, op.f(z))))(x).square().sum())(tf.tensor(xv)),
          ),
        );
        a.dispose();
        const ref = finiteDiff64((x) => x.reduce((s, v, i) => s + (av[i] * op.d(v)) ** 2, 0), Float64Array.from(xv), 1e-6);
        expect(maxRelErr(g, ref)).toBeLessThan(tol);
      });
    }

    it('softmax: ∂/∂x ‖J_softmax(x)ᵀa‖² per row', async () => {
      registerSecondOrderGradients();
      const rng = new Rng(16);
      const xv = randn(rng, [2, 4]);
      const av = randn(rng, [2, 4]);
      const a = tf.tensor(av, [2, 4]);
      const g = await read(
        tf.tidy(() =>
          tf.grad((x: tf.Tensor) => tf.grad((z: tf.Tensor) => tf.sum(tf.mul(a, tf.softmax(z))))(x).square().sum())(
            tf.tensor(xv, [2, 4]),
          ),
        ),
      );
      a.dispose();
      const F = (x: Float64Array) => {
        let total = 0;
        for (let r = 0; r < 2; r++) {
          const row = Array.from(x.slice(r * 4, r * 4 + 4));
          const m = Math.max(...row);
          const e = row.map((v) => Math.exp(v - m));
          const z = e.reduce((s, v) => s + v, 0);
          const s = e.map((v) => v / z);
          const as = s.reduce((acc, v, i) => acc + v * av[r * 4 + i], 0);
          for (let i = 0; i < 4; i++) total += (s[i] * (av[r * 4 + i] - as)) ** 2;
        }
        return total;
      };
      expect(maxRelErr(g, finiteDiff64(F, Float64Array.from(xv), 1e-6))).toBeLessThan(tol);
    });
  });

  describe('comparison kernels inside first-order gradients (zero gradients registered)', () => {
    // G(x) = Σ c·x²·h(x): ∇G = c(2x·h + x²·h'), F = ‖∇G‖², h piecewise linear.
    const ops: { name: string; h: (x: tf.Tensor) => tf.Tensor; h64: (x: number) => number; d64: (x: number) => number }[] = [
      { name: 'leakyRelu (Greater)', h: (x) => tf.leakyRelu(x, 0.2), h64: (x) => (x > 0 ? x : 0.2 * x), d64: (x) => (x > 0 ? 1 : 0.2) },
      { name: 'relu6 (LessEqual)', h: (x) => tf.relu6(x.mul(4)), h64: (x) => Math.min(6, Math.max(0, 4 * x)), d64: (x) => (x > 0 && 4 * x < 6 ? 4 : 0) },
      { name: 'clipByValue (LogicalAnd)', h: (x) => tf.clipByValue(x, -0.5, 0.5), h64: (x) => Math.min(0.5, Math.max(-0.5, x)), d64: (x) => (x > -0.5 && x < 0.5 ? 1 : 0) },
      { name: 'maximum (Less)', h: (x) => tf.maximum(x, 0.3), h64: (x) => Math.max(x, 0.3), d64: (x) => (x > 0.3 ? 1 : 0) },
      { name: 'minimum (Greater)', h: (x) => tf.minimum(x, 0.3), h64: (x) => Math.min(x, 0.3), d64: (x) => (x < 0.3 ? 1 : 0) },
      { name: 'where (LogicalNot)', h: (x) => tf.where(tf.greater(x, 0), x, x.mul(0.5)), h64: (x) => (x > 0 ? x : 0.5 * x), d64: (x) => (x > 0 ? 1 : 0.5) },
    ];
    for (const op of ops) {
      it(op.name, async () => {
        registerSecondOrderGradients();
        const rng = new Rng(17);
        const xv = randn(rng, [9]);
        const cv = randn(rng, [9]);
        const c = tf.tensor(cv);
        const g = await read(
          tf.tidy(() =>
            tf.grad((x: tf.Tensor) =>
              tf.grad((z: tf.Tensor) => tf.sum(c.mul(z.square()).mul(op.h(z))))(x).square().sum(),
            )(tf.tensor(xv)),
          ),
        );
        c.dispose();
        const F = (x: Float64Array) => x.reduce((s, v, i) => s + (cv[i] * (2 * v * op.h64(v) + v * v * op.d64(v))) ** 2, 0);
        expect(maxRelErr(g, finiteDiff64(F, Float64Array.from(xv), 1e-6))).toBeLessThan(tol);
      });
    }

    it('logSumExp (Max → Equal): ∂/∂x ‖a ⊙ softmax(x)‖²', async () => {
      registerSecondOrderGradients();
      const rng = new Rng(18);
      const xv = randn(rng, [5]);
      const av = randn(rng, [5]);
      const a = tf.tensor(av);
      const g = await read(
        tf.tidy(() =>
          tf.grad((x: tf.Tensor) => tf.grad((z: tf.Tensor) => tf.logSumExp(z))(x).mul(a).square().sum())(tf.tensor(xv)),
        ),
      );
      a.dispose();
      const F = (x: Float64Array) => {
        const m = Math.max(...x);
        const e = Array.from(x, (v) => Math.exp(v - m));
        const z = e.reduce((s, v) => s + v, 0);
        return e.reduce((s, v, i) => s + ((av[i] * v) / z) ** 2, 0);
      };
      expect(maxRelErr(g, finiteDiff64(F, Float64Array.from(xv), 1e-6))).toBeLessThan(tol);
    });
  });

  describe('softmaxCrossEntropy (src/engine/grad/losses.ts) on a linear model', () => {
    const rng = new Rng(19);
    const [n, d, k] = [3, 4, 3];
    const xv = randn(rng, [n, d]);
    const wv = randn(rng, [d, k], 0.7);
    const gv = randn(rng, [d, k], 0.1);
    const labels = [0, 2, 1];
    const F64 = (x: Float64Array) => {
      const grad = new Float64Array(d * k);
      for (let i = 0; i < n; i++) {
        const logits = Array.from({ length: k }, (_, c) => {
          let s = 0;
          for (let e = 0; e < d; e++) s += x[i * d + e] * wv[e * k + c];
          return s;
        });
        const m = Math.max(...logits);
        const ex = logits.map((v) => Math.exp(v - m));
        const z = ex.reduce((s, v) => s + v, 0);
        for (let c = 0; c < k; c++) {
          const dl = (ex[c] / z - (labels[i] === c ? 1 : 0)) / n;
          for (let e = 0; e < d; e++) grad[e * k + c] += x[i * d + e] * dl;
        }
      }
      return grad.reduce((s, v, i) => s + (v - gv[i]) ** 2, 0);
    };
    const ref = finiteDiff64(F64, Float64Array.from(xv), 1e-6);
    const secondOrder = (loss: (logits: tf.Tensor2D, y: tf.Tensor2D) => tf.Tensor) =>
      tf.tidy(() => {
        const y = tf.oneHot(labels, k).toFloat() as tf.Tensor2D;
        const w = tf.tensor2d(wv, [d, k]);
        const target = tf.tensor2d(gv, [d, k]);
        return tf.grad((x: tf.Tensor) =>
          tf.grad((ww: tf.Tensor) => loss(tf.matMul(x as tf.Tensor2D, ww as tf.Tensor2D), y))(w).sub(target).square().sum(),
        )(tf.tensor2d(xv, [n, d]));
      });

    it('∂/∂x ‖∇W CE − G‖² matches f64', async () => {
      registerSecondOrderGradients();
      expect(maxRelErr(await read(secondOrder(softmaxCrossEntropy)), ref)).toBeLessThan(tol);
    });

    it('(why it exists) tf.losses.softmaxCrossEntropy gets the same second derivative wrong, silently', async () => {
      registerSecondOrderGradients();
      const wrong = await read(secondOrder((logits, y) => tf.losses.softmaxCrossEntropy(y, logits)));
      expect(maxRelErr(wrong, ref)).toBeGreaterThan(0.1);
    });
  });

  describe('∂/∂x ‖∇θL(x) − G‖² through a small ConvNet vs f64 finite differences', () => {
    const variants: Net64Spec[] = [
      { depth: 2, width: 3, norm: 'instance', pooling: 'avg' },
      { depth: 2, width: 3, norm: 'instance', pooling: 'max' },
      { depth: 2, width: 3, norm: 'batch', pooling: 'avg' },
      { depth: 2, width: 3, norm: 'none', pooling: 'max' },
    ];
    for (const spec of variants) {
      it(`own functional net: ${spec.norm} norm, ${spec.pooling} pooling`, async () => {
        registerSecondOrderGradients();
        const c = makeNetCase(spec, 21, [2, 8, 8, 2], 3);
        await expectMatchesReference(c, (p, x) => netLogits(spec, p, x), tol);
        disposeCase(c);
      });
    }

    for (const spec of [variants[0], { depth: 2, width: 3, norm: 'batch', pooling: 'max' } as Net64Spec]) {
      it(`project convNetLogits: ${spec.norm} norm, ${spec.pooling} pooling`, async () => {
        registerSecondOrderGradients();
        const c = makeNetCase(spec, 22, [2, 8, 8, 2], 3);
        const cspec: ConvNetSpec = {
          channels: 2,
          height: 8,
          width: 8,
          numClasses: 3,
          net: { width: spec.width, depth: spec.depth, norm: spec.norm, pooling: spec.pooling },
        };
        await expectMatchesReference(c, (p, x) => convNetLogits(p, cspec, x), tol);
        disposeCase(c);
      });
    }

    // DSA's geometric families are linear in x for a fixed seed; the f64 side
    // applies that map as a matrix probed from dsaAugment itself (basis images),
    // so the test checks the gradient machinery, not DSA's own implementation.
    const dsaCases: DsaOptions[] = [
      { strategy: 'scale', seed: 5, mode: 'per-sample' },
      { strategy: 'crop', seed: 6, mode: 'per-sample' },
      { strategy: 'rotate', seed: 7, mode: 'siamese' },
    ];
    for (const opts of dsaCases) {
      it(`DSA in front (${opts.strategy}, ${opts.mode}), own net`, async () => {
        registerSecondOrderGradients();
        const spec: Net64Spec = { depth: 2, width: 3, norm: 'instance', pooling: 'avg' };
        const shape: [number, number, number, number] = [2, 8, 8, 2];
        const c = makeNetCase(spec, 23, shape, 3);
        const m = size(shape);
        const matrix = await read(
          tf.tidy(() => {
            const eye = tf.oneHot(tf.range(0, m, 1, 'int32'), m).toFloat();
            return tf.stack(
              Array.from({ length: m }, (_, j) => dsaAugment(eye.slice([j, 0], [1, m]).reshape(shape) as tf.Tensor4D, opts).reshape([-1])),
            );
          }),
        ); // row j = image of basis vector j
        const apply64 = (x: T64): T64 => {
          const y = new Float64Array(m);
          for (let j = 0; j < m; j++) {
            const v = x.data[j];
            if (v !== 0) for (let o = 0; o < m; o++) y[o] += v * matrix[j * m + o];
          }
          return { data: y, shape: x.shape };
        };
        // The transform is not the identity (the check would be vacuous otherwise).
        expect(maxRelErr(apply64(c.x64).data, c.x64.data)).toBeGreaterThan(0.05);
        await expectMatchesReference(c, (p, x) => netLogits(spec, p, x), tol, {
          tf: (x) => dsaAugment(x, opts),
          f64: apply64,
        });
        disposeCase(c);
      });
    }
  });
}
