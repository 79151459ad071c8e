/**
 * The kernels src/engine/wasm registers on tfjs' wasm backend, checked against
 * the pure-JS cpu backend (direct loops, an independent implementation) on
 * the same inputs: conv gradients with the stride/padding variants the
 * ConvNet family and tf.conv2d users hit, the gather gradient
 * (UnsortedSegmentSum), and a whole tiny ConvNet's training gradient.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/rng';
import { convNetLogits, disposeParams, initConvNet, type ConvNetSpec } from '../../src/engine/models/convnet';
import { registerWasmKernels, wasmVariant, WASM_KERNEL_NAMES } from '../../src/engine/wasm';
import { configureFilterGrad, type FilterGradMode } from '../../src/engine/wasm/conv';
import { useWasmBackend } from './wasm-backend';

useWasmBackend();

function randn(shape: number[], seed: number): { shape: number[]; data: Float32Array } {
  const rng = new Rng(seed);
  return { shape, data: rng.fill(shape.reduce((a, b) => a * b, 1), (r) => r.normal()) };
}

const T = (a: { shape: number[]; data: Float32Array }) => tf.tensor(a.data, a.shape);

/** Runs fn on a backend and returns its outputs as plain arrays (inputs are rebuilt there from arrays). */
async function on(backend: 'cpu' | 'wasm', fn: () => tf.Tensor[]): Promise<{ shape: number[]; data: Float32Array }[]> {
  await tf.setBackend(backend);
  const outs = tf.tidy(fn);
  const res = await Promise.all(outs.map(async (t) => ({ shape: t.shape, data: (await t.data()) as Float32Array })));
  tf.dispose(outs);
  return res;
}

/** Same shapes, and max |wasm − cpu| ≤ 1e-4 · max |cpu| (+ a tiny floor for all-zero results). */
function expectClose(wasm: { shape: number[]; data: Float32Array }[], cpu: { shape: number[]; data: Float32Array }[]) {
  expect(wasm.length).toBe(cpu.length);
  for (let k = 0; k < cpu.length; k++) {
    expect(wasm[k].shape).toEqual(cpu[k].shape);
    let scale = 0;
    let err = 0;
    for (let i = 0; i < cpu[k].data.length; i++) {
      scale = Math.max(scale, Math.abs(cpu[k].data[i]));
      err = Math.max(err, Math.abs(cpu[k].data[i] - wasm[k].data[i]));
    }
    expect(err).toBeLessThanOrEqual(1e-4 * scale + 1e-6);
  }
}

async function compare(fn: () => tf.Tensor[]) {
  const cpu = await on('cpu', fn);
  const wasm = await on('wasm', fn);
  expectClose(wasm, cpu);
  await tf.setBackend('wasm');
  return { cpu, wasm };
}

describe('registration', () => {
  it('is idempotent and installs the kernels on the wasm backend', () => {
    expect(registerWasmKernels()).toEqual([]);
    for (const name of WASM_KERNEL_NAMES) expect(tf.getKernel(name, 'wasm')).toBeDefined();
  });

  it('reports the SIMD build in Node (tfjs disables wasm threads there)', () => {
    const v = wasmVariant();
    expect(v).not.toBeNull();
    expect(v!.variant).toBe('simd');
    expect(v!.simd).toBe(true);
    expect(v!.threads).toBe(1);
  });
});

type Pad = 'same' | 'valid' | number;
const convCases: { name: string; x: number[]; w: number[]; stride: number; pad: Pad }[] = [
  { name: '3×3 same stride 1 (ConvNet block)', x: [2, 6, 6, 3], w: [3, 3, 3, 4], stride: 1, pad: 'same' },
  { name: '3×3 valid stride 1 (ConvNet after explicit padding)', x: [2, 7, 5, 2], w: [3, 3, 2, 3], stride: 1, pad: 'valid' },
  { name: '3×3 pad 3 (MNIST first conv)', x: [1, 6, 6, 1], w: [3, 3, 1, 4], stride: 1, pad: 3 },
  { name: '3×3 same stride 2, odd size', x: [2, 7, 7, 3], w: [3, 3, 3, 2], stride: 2, pad: 'same' },
  { name: '3×3 valid stride 2, last row dropped', x: [2, 8, 8, 2], w: [3, 3, 2, 3], stride: 2, pad: 'valid' },
  { name: '1×1 stride 1', x: [3, 4, 4, 5], w: [1, 1, 5, 2], stride: 1, pad: 'valid' },
  { name: '5×5 same, batch 1', x: [1, 9, 9, 2], w: [5, 5, 2, 3], stride: 1, pad: 'same' },
  { name: '2×3 non-square filter, same', x: [2, 5, 6, 3], w: [2, 3, 3, 4], stride: 1, pad: 'same' },
];

describe('conv2d gradients (Conv2DBackpropFilter, Conv2DBackpropInput)', () => {
  // Every case through both formulations of the filter gradient, and im2col in
  // one-image chunks (the path large batches take).
  const settings: [string, { mode: FilterGradMode; im2colMaxFloats?: number }][] = [
    ['auto', { mode: 'auto' }],
    ['conv route', { mode: 'conv' }],
    ['im2col, chunked', { mode: 'im2col', im2colMaxFloats: 1 }],
  ];
  for (const c of convCases) {
    it(c.name, async () => {
      const x = randn(c.x, 1);
      const w = randn(c.w, 2);
      // A random upstream gradient, so dy is not all ones.
      const probe = tf.tidy(() => tf.conv2d(T(x) as tf.Tensor4D, T(w) as tf.Tensor4D, c.stride, c.pad));
      const r = randn(probe.shape, 3);
      probe.dispose();
      const fn = () =>
        tf.grads((xt: tf.Tensor, wt: tf.Tensor) =>
          tf.conv2d(xt as tf.Tensor4D, wt as tf.Tensor4D, c.stride, c.pad).mul(T(r)).sum(),
        )([T(x), T(w)]);
      const cpu = await on('cpu', fn);
      for (const [, setting] of settings) {
        const previous = configureFilterGrad(setting);
        try {
          expectClose(await on('wasm', fn), cpu);
        } finally {
          configureFilterGrad(previous);
        }
      }
    });
  }

  it('conv2dTranspose (the input-gradient kernel run forward), strides 1 and 2', async () => {
    const w = randn([3, 3, 2, 4], 4);
    for (const [stride, outShape] of [
      [1, [2, 6, 6, 2]],
      [2, [2, 11, 11, 2]],
    ] as const) {
      const side = stride === 1 ? 6 : 5; // 'valid' stride 2 maps 11 → 5
      const dy = randn([2, side, side, 4], 5);
      await compare(() => [
        tf.conv2dTranspose(T(dy) as tf.Tensor4D, T(w) as tf.Tensor4D, [...outShape], stride, stride === 1 ? 'same' : 'valid'),
      ]);
    }
  });

  it('a width-128 ConvNet layer shape (the benchmark size, small batch)', async () => {
    const x = randn([1, 4, 4, 128], 6);
    const w = randn([3, 3, 128, 128], 7);
    await compare(() =>
      tf.grads((xt: tf.Tensor, wt: tf.Tensor) => tf.conv2d(xt as tf.Tensor4D, wt as tf.Tensor4D, 1, 'same').square().sum())([
        T(x),
        T(w),
      ]),
    );
  });

  it('frees its intermediates (no tensors or wasm buffers left behind)', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor4d(randn([2, 6, 6, 3], 8).data, [2, 6, 6, 3]);
    const w = tf.tensor4d(randn([3, 3, 3, 4], 9).data, [3, 3, 3, 4]);
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same').sum());
    tf.dispose(g([x, w])); // warm-up: XNNPACK operator caches
    const tensors = tf.memory().numTensors;
    const buffers = tf.backend().numDataIds();
    for (let i = 0; i < 3; i++) tf.dispose(g([x, w]));
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.backend().numDataIds()).toBe(buffers);
    tf.dispose([x, w]);
  });
});

describe('UnsortedSegmentSum (gather gradient)', () => {
  it('sums rows into segments: repeats, gaps, out-of-range ids dropped', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [5, 2]);
    const ids = tf.tensor1d([2, 0, 2, -1, 5], 'int32');
    const out = tf.unsortedSegmentSum(x, ids, 4);
    // Hand-computed: seg0 = row1, seg2 = row0 + row2, seg1/seg3 empty; ids -1 and 5 dropped.
    expect(Array.from(await out.data())).toEqual([3, 4, 0, 0, 6, 8, 0, 0]);
    expect(out.shape).toEqual([4, 2]);
    tf.dispose([x, ids, out]);
  });

  it('int32 data and a 3-D slab, against cpu', async () => {
    const ids = [1, 1, 0, 3];
    await compare(() => [
      tf.unsortedSegmentSum(tf.tensor3d(randn([4, 3, 2], 10).data, [4, 3, 2]), tf.tensor1d(ids, 'int32'), 5),
      tf.unsortedSegmentSum(tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8], [4, 2], 'int32'), tf.tensor1d(ids, 'int32'), 4),
    ]);
  });

  it('gives tf.gather its gradient on axes 0 and 1 (the DSA sampler path)', async () => {
    const x = randn([3, 5, 2], 11);
    const idx = [4, 0, 4, 2, 2, 2, 1];
    const r0 = randn([7, 2], 12);
    const r1 = randn([3, 7, 2], 13);
    await compare(() => [
      tf.grad((t: tf.Tensor) => tf.gather(t.reshape([15, 2]), tf.tensor1d(idx, 'int32'), 0).mul(T(r0)).sum())(T(x)),
      tf.grad((t: tf.Tensor) => tf.gather(t, tf.tensor1d(idx, 'int32'), 1).mul(T(r1)).sum())(T(x)),
    ]);
  });
});

describe('Sum and Mean over non-trailing axes', () => {
  const big = [4, 8, 16, 9]; // 4608 values: above the size where the fast path starts
  const cases: [string, number[], number | number[] | undefined][] = [
    ['axis 0', big, 0],
    ['axes 1,2 (instance norm)', big, [1, 2]],
    ['axes 0,1,2 (bias gradient)', big, [0, 1, 2]],
    ['negative axis −2', big, -2],
    ['axis 3, trailing (backend kernel)', big, 3],
    ['axes 0,2, not contiguous (backend kernel)', big, [0, 2]],
    ['all axes (backend kernel)', big, undefined],
    ['tiny tensor (backend kernel)', [2, 3, 4], [0, 1]],
  ];
  for (const [name, shape, axis] of cases) {
    it(name, async () => {
      const x = randn(shape, 20);
      await compare(() => [
        tf.sum(T(x), axis),
        tf.sum(T(x), axis, true),
        tf.mean(T(x), axis),
        tf.mean(T(x), axis, true),
      ]);
    });
  }

  it('int32 sums keep their dtype (backend kernel)', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor3d(Array.from({ length: 4 * 32 * 40 }, (_, i) => i % 7), [4, 32, 40], 'int32');
    const s = tf.sum(x, [0, 1]);
    expect(s.dtype).toBe('int32');
    // Each column k sums 128 values of (i mod 7) with i ≡ k (mod 40).
    const expected = Array.from({ length: 40 }, (_, k) => {
      let t = 0;
      for (let r = 0; r < 128; r++) t += (r * 40 + k) % 7;
      return t;
    });
    expect(Array.from(await s.data())).toEqual(expected);
    tf.dispose([x, s]);
  });
});

describe('pooling gradients (AvgPoolGrad, MaxPoolGrad)', () => {
  const cases: [string, number[], number, number, 'valid' | 'same'][] = [
    ['2×2 stride 2 (ConvNet)', [2, 8, 8, 3], 2, 2, 'valid'],
    ['2×2 stride 2, odd size: last row/column dropped', [2, 7, 9, 3], 2, 2, 'valid'],
    ['3×3 stride 3', [1, 9, 6, 2], 3, 3, 'valid'],
    ['3×3 stride 2 same: overlapping, padded', [2, 7, 7, 3], 3, 2, 'same'],
    ['2×2 stride 1: overlapping (the backend’s own MaxPoolGrad gets this wrong)', [1, 5, 5, 2], 2, 1, 'valid'],
  ];
  for (const [name, shape, size, stride, pad] of cases) {
    it(name, async () => {
      // Values on a coarse grid so max pooling windows contain ties.
      const x = randn(shape, 21);
      x.data = x.data.map((v) => Math.round(v * 2) / 2);
      const probe = tf.tidy(() => tf.avgPool(T(x) as tf.Tensor4D, size, stride, pad));
      const r = randn(probe.shape, 22);
      probe.dispose();
      await compare(() => [
        tf.grad((t: tf.Tensor) => tf.avgPool(t as tf.Tensor4D, size, stride, pad).mul(T(r)).sum())(T(x)),
        tf.grad((t: tf.Tensor) => tf.maxPool(t as tf.Tensor4D, size, stride, pad).mul(T(r)).sum())(T(x)),
      ]);
    });
  }

  it("max pooling sends a tied window's gradient to its first maximum only", async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor4d([1, 1, 1, 1], [1, 2, 2, 1]);
    const g = tf.grad((t: tf.Tensor) => tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid').mul(5).sum())(x);
    expect(Array.from(await g.data())).toEqual([5, 0, 0, 0]);
    tf.dispose([x, g]);
  });
});

describe('zero-copy Identity and Cast', () => {
  it('a clone survives its source, and same-dtype casts share the buffer safely', async () => {
    await tf.setBackend('wasm');
    const buffers = tf.backend().numDataIds();
    const a = tf.tensor1d([1.5, -2.25, 3]);
    const b = a.clone();
    const c = tf.cast(a, 'float32');
    expect(tf.backend().numDataIds()).toBe(buffers + 1); // one buffer, three tensors
    a.dispose();
    expect(Array.from(await b.data())).toEqual([1.5, -2.25, 3]);
    b.dispose();
    expect(Array.from(await c.data())).toEqual([1.5, -2.25, 3]);
    const i = tf.cast(c, 'int32'); // a real conversion: the backend's kernel
    expect(i.dtype).toBe('int32');
    expect(Array.from(await i.data())).toEqual([1, -2, 3]);
    tf.dispose([c, i]);
    expect(tf.backend().numDataIds()).toBe(buffers);
  });
});

describe('tiny ConvNet training gradient', () => {
  const spec = (norm: 'instance' | 'batch', pooling: 'avg' | 'max'): ConvNetSpec => ({
    channels: 3,
    height: 16,
    width: 16,
    numClasses: 4,
    net: { width: 8, depth: 3, norm, pooling },
  });

  for (const [norm, pooling] of [
    ['instance', 'avg'],
    ['batch', 'max'],
  ] as const) {
    it(`${norm} norm, ${pooling} pooling: weights and input gradients equal cpu's`, async () => {
      const s = spec(norm, pooling);
      const x = randn([4, 16, 16, 3], 14);
      const labels = [0, 1, 2, 3];
      const fn = () => {
        const params = initConvNet(s, new Rng(15));
        const names = Object.keys(params).sort();
        const f = (...args: tf.Tensor[]) => {
          const p = Object.fromEntries(names.map((n, i) => [n, args[i]]));
          const logits = convNetLogits(p, s, args[names.length] as tf.Tensor4D);
          return tf.losses.softmaxCrossEntropy(tf.oneHot(labels, s.numClasses), logits) as tf.Scalar;
        };
        const grads = tf.grads(f)([...names.map((n) => params[n]), T(x)]);
        disposeParams(params);
        return grads;
      };
      const { cpu } = await compare(fn);
      // The comparison is not vacuous: every gradient has signal, except the conv
      // biases, which the normalisation right after each conv cancels exactly.
      const p0 = initConvNet(s, new Rng(15));
      const names = [...Object.keys(p0).sort(), 'input'];
      disposeParams(p0);
      cpu.forEach((g, i) => {
        const zero = /^conv\d\.bias$/.test(names[i]);
        expect(g.data.some((v) => Math.abs(v) > 1e-6), names[i]).toBe(!zero);
      });
    });
  }
});
