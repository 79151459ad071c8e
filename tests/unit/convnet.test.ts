import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { NetConfig, NormKind, PoolKind } from '../../src/engine/config';
import { Rng } from '../../src/engine/rng';
import {
  convNetEmbed,
  convNetLogits,
  disposeParams,
  embedDim,
  flopsPerImage,
  initBatchNormState,
  initConvNet,
  instanceNormalize,
  paramCount,
  type ConvNetParams,
  type ConvNetSpec,
} from '../../src/engine/models/convnet';
import { conv2dPortable } from '../../src/engine/models/conv';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

const net = (over: Partial<NetConfig> = {}): NetConfig => ({ width: 4, depth: 3, norm: 'instance', pooling: 'avg', ...over });
const cifar = (n: NetConfig, numClasses = 10): ConvNetSpec => ({ channels: 3, height: 32, width: 32, numClasses, net: n });
const mnist = (n: NetConfig, numClasses = 10): ConvNetSpec => ({ channels: 1, height: 28, width: 28, numClasses, net: n });

function randomInput(shape: [number, number, number, number], seed: number): tf.Tensor4D {
  const rng = new Rng(seed);
  return tf.tensor4d(rng.fill(shape.reduce((a, b) => a * b), (r) => r.normal()), shape);
}

describe('ConvNet shapes', () => {
  it('embedding and logits for 32×32×3 and 28×28×1, depth 1–4, every norm and pooling', () => {
    const expectedSide = { 32: [16, 8, 4, 2], 28: [14, 7, 3, 1] } as const;
    const before = tf.memory().numTensors;
    for (const make of [cifar, mnist]) {
      for (let depth = 1; depth <= 4; depth++) {
        for (const norm of ['instance', 'batch', 'none'] as NormKind[]) {
          for (const pooling of ['avg', 'max'] as PoolKind[]) {
            const spec = make(net({ width: 3, depth, norm, pooling }), 5);
            const side = expectedSide[spec.height as 32 | 28][depth - 1];
            expect(embedDim(spec)).toBe(3 * side * side);
            const params = initConvNet(spec, new Rng(depth));
            const x = tf.zeros([2, spec.height, spec.width, spec.channels]) as tf.Tensor4D;
            const z = convNetEmbed(params, spec, x);
            const logits = convNetLogits(params, spec, x);
            expect(z.shape).toEqual([2, 3 * side * side]);
            expect(logits.shape).toEqual([2, 5]);
            tf.dispose([x, z, logits]);
            disposeParams(params);
          }
        }
      }
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('ConvNet-3 width 128: 2048-d embedding for 32×32, 1152-d for 28×28 (real forward, batch 1)', () => {
    expect(embedDim(cifar(net({ width: 128 })))).toBe(2048);
    expect(embedDim(mnist(net({ width: 128 })))).toBe(1152);
    // The reference pads MNIST's first conv by 3 (28 → 32): available as an option.
    expect(embedDim({ ...mnist(net({ width: 128 })), firstConvPadding: 3 })).toBe(2048);
    const spec = cifar(net({ width: 128 }));
    const params = initConvNet(spec, new Rng(1));
    const x = randomInput([1, 32, 32, 3], 2);
    const z = convNetEmbed(params, spec, x);
    expect(z.shape).toEqual([1, 2048]);
    tf.dispose([x, z]);
    disposeParams(params);
  });

  it('parameter count and FLOPs of ConvNet-3 on CIFAR-10 match hand counts', () => {
    const spec = cifar(net({ width: 128 }));
    // conv0 27·128+128, IN 2·128, conv1/conv2 9·128·128+128 (+IN), fc 2048·10+10
    expect(paramCount(spec)).toBe(3584 + 256 + 2 * (147584 + 256) + 20490);
    const macs = 32 * 32 * 27 * 128 + 16 * 16 * 9 * 128 * 128 + 8 * 8 * 9 * 128 * 128 + 2048 * 10;
    expect(flopsPerImage(spec)).toBe(2 * macs);
    const small = mnist(net({ width: 6, depth: 2, norm: 'batch' }), 3);
    const params = initConvNet(small, new Rng(0));
    expect(Object.values(params).reduce((a, t) => a + t.size, 0)).toBe(paramCount(small));
    disposeParams(params);
    expect(paramCount(mnist(net({ width: 6, depth: 2, norm: 'none' }), 3))).toBe(paramCount(small) - 4 * 6);
  });

  it('rejects a depth that pools the image away and inputs of the wrong size', () => {
    expect(() => embedDim({ channels: 1, height: 8, width: 8, numClasses: 2, net: net({ depth: 4 }) })).toThrow(/too deep/);
    const spec = cifar(net({ depth: 1 }));
    const params = initConvNet(spec, new Rng(0));
    const x = tf.zeros([1, 28, 28, 3]) as tf.Tensor4D;
    expect(() => convNetEmbed(params, spec, x)).toThrow(/28×28×3/);
    x.dispose();
    disposeParams(params);
  });
});

describe('ConvNet initialisation', () => {
  it('PyTorch default: U(±1/√fan_in) weights and biases, norm weight 1 and bias 0, deterministic', () => {
    const spec = cifar(net({ width: 64, depth: 2 }));
    const params = initConvNet(spec, new Rng(7));
    const check = (name: string, fanIn: number, statistics: boolean) => {
      const v = params[name].dataSync();
      const b = 1 / Math.sqrt(fanIn);
      let max = 0;
      let sum = 0;
      let sq = 0;
      for (const a of v) {
        max = Math.max(max, Math.abs(a));
        sum += a;
        sq += a * a;
      }
      expect(max).toBeLessThanOrEqual(b);
      if (statistics) {
        const mean = sum / v.length;
        const std = Math.sqrt(sq / v.length - mean * mean);
        expect(Math.abs(mean)).toBeLessThan(0.02 * b);
        expect(std / (b / Math.sqrt(3))).toBeCloseTo(1, 1);
        expect(max).toBeGreaterThan(0.99 * b); // the whole range is used
      }
    };
    expect(params['conv0.weight'].shape).toEqual([3, 3, 3, 64]);
    expect(params['conv1.weight'].shape).toEqual([3, 3, 64, 64]);
    expect(params['fc.weight'].shape).toEqual([64 * 8 * 8, 10]);
    check('conv0.weight', 27, true);
    check('conv0.bias', 27, false);
    check('conv1.weight', 576, true); // 36 864 draws
    check('conv1.bias', 576, false);
    check('fc.weight', 4096, true);
    check('fc.bias', 4096, false);
    expect(Array.from(params['norm1.weight'].dataSync())).toEqual(new Array(64).fill(1));
    expect(Array.from(params['norm1.bias'].dataSync())).toEqual(new Array(64).fill(0));
    const again = initConvNet(spec, new Rng(7));
    const other = initConvNet(spec, new Rng(8));
    expect(Array.from(again['conv1.weight'].dataSync())).toEqual(Array.from(params['conv1.weight'].dataSync()));
    expect(Array.from(other['conv1.weight'].dataSync())).not.toEqual(Array.from(params['conv1.weight'].dataSync()));
    [params, again, other].forEach(disposeParams);
  });
});

describe('ConvNet forward', () => {
  it('instance normalisation gives per-sample, per-channel mean 0 and variance 1', () => {
    const rng = new Rng(3);
    // channels with very different offsets and scales
    const data = new Float32Array(2 * 5 * 6 * 3);
    for (let i = 0; i < data.length; i++) data[i] = (i % 3) * 10 + (1 + (i % 3) * 5) * rng.normal();
    const x = tf.tensor4d(data, [2, 5, 6, 3]);
    const y = instanceNormalize(x).arraySync();
    for (let n = 0; n < 2; n++) {
      for (let c = 0; c < 3; c++) {
        const vals = y[n].flatMap((row) => row.map((p) => p[c]));
        const mean = vals.reduce((a, b) => a + b) / vals.length;
        const variance = vals.reduce((a, b) => a + (b - mean) ** 2, 0) / vals.length;
        expect(Math.abs(mean)).toBeLessThan(1e-5);
        expect(variance).toBeCloseTo(1, 3);
      }
    }
    x.dispose();
  });

  /** Plain-JS forward of a width-1, depth-1 net on 1-channel 4×4 images (f64). */
  function referenceForward(
    images: number[][][],
    k: number[][],
    bias: number,
    gamma: number,
    beta: number,
    norm: NormKind,
    pooling: PoolKind,
    fcW: number[][],
    fcB: number[],
  ): number[][] {
    const conv = images.map((img) =>
      img.map((row, i) =>
        row.map((_, j) => {
          let s = bias;
          for (let a = -1; a <= 1; a++)
            for (let b = -1; b <= 1; b++) {
              const v = img[i + a]?.[j + b];
              if (v !== undefined) s += v * k[a + 1][b + 1];
            }
          return s;
        }),
      ),
    );
    const stats = (vals: number[]) => {
      const m = vals.reduce((a, b) => a + b) / vals.length;
      return [m, vals.reduce((a, b) => a + (b - m) ** 2, 0) / vals.length];
    };
    const normed = conv.map((img) => {
      if (norm === 'none') return img;
      const [m, v] = stats(norm === 'instance' ? img.flat() : conv.flatMap((c) => c.flat()));
      return img.map((row) => row.map((a) => ((a - m) / Math.sqrt(v + 1e-5)) * gamma + beta));
    });
    return normed.map((img) => {
      const act = img.map((row) => row.map((a) => Math.max(0, a)));
      const feats: number[] = [];
      for (let i = 0; i < 2; i++)
        for (let j = 0; j < 2; j++) {
          const q = [act[2 * i][2 * j], act[2 * i][2 * j + 1], act[2 * i + 1][2 * j], act[2 * i + 1][2 * j + 1]];
          feats.push(pooling === 'max' ? Math.max(...q) : q.reduce((a, b) => a + b) / 4);
        }
      return fcB.map((b, o) => b + feats.reduce((a, f, p) => a + f * fcW[p][o], 0));
    });
  }

  it('matches a hand-computed forward on 1-channel 4×4 images (width 1, depth 1)', () => {
    const images = [
      [
        [0.5, -1, 2, 0],
        [1, 0.25, -0.5, 1.5],
        [-2, 1, 0, 0.75],
        [0.1, -0.3, 1.2, -1],
      ],
      [
        [1, 2, 3, 4],
        [0, -1, -2, -3],
        [0.5, 0.5, -0.5, -0.5],
        [2, -2, 2, -2],
      ],
    ];
    const k = [
      [0.2, -0.1, 0.05],
      [0.3, 0.5, -0.4],
      [-0.2, 0.1, 0.25],
    ];
    const fcW = [
      [0.5, -0.25],
      [0.1, 0.2],
      [-0.3, 0.4],
      [0.7, -0.6],
    ];
    const fcB = [0.05, -0.1];
    for (const norm of ['instance', 'batch', 'none'] as NormKind[]) {
      for (const pooling of ['avg', 'max'] as PoolKind[]) {
        const spec: ConvNetSpec = { channels: 1, height: 4, width: 4, numClasses: 2, net: { width: 1, depth: 1, norm, pooling } };
        const params: ConvNetParams = {
          'conv0.weight': tf.tensor4d(k.flat(), [3, 3, 1, 1]),
          'conv0.bias': tf.tensor1d([0.1]),
          'fc.weight': tf.tensor2d(fcW),
          'fc.bias': tf.tensor1d(fcB),
        };
        if (norm !== 'none') {
          params['norm0.weight'] = tf.tensor1d([1.5]);
          params['norm0.bias'] = tf.tensor1d([0.2]);
        }
        const x = tf.tensor4d(images.flat(2), [2, 4, 4, 1]);
        const got = convNetLogits(params, spec, x).arraySync();
        const want = referenceForward(images, k, 0.1, 1.5, 0.2, norm, pooling, fcW, fcB);
        for (let n = 0; n < 2; n++) for (let o = 0; o < 2; o++) expect(got[n][o]).toBeCloseTo(want[n][o], 5);
        x.dispose();
        disposeParams(params);
      }
    }
  });

  it('batch norm: running statistics follow PyTorch (momentum 0.1, unbiased var) and drive evaluation', () => {
    const spec: ConvNetSpec = { channels: 1, height: 4, width: 4, numClasses: 2, net: { width: 2, depth: 1, norm: 'batch', pooling: 'avg' } };
    const params = initConvNet(spec, new Rng(5));
    const state = initBatchNormState(spec);
    const x = randomInput([3, 4, 4, 1], 9);
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      convNetLogits(params, spec, x, { training: true, bnState: state });
    });
    expect(tf.memory().numTensors).toBe(before); // old state disposed, new kept
    // Independent: the conv output, then its batch statistics per channel.
    const convOut = tf.tidy(() => tf.conv2d(x, params['conv0.weight'] as tf.Tensor4D, 1, 'same').add(params['conv0.bias'])) as tf.Tensor4D;
    const co = convOut.arraySync().flat(2); // [48][2]
    for (let c = 0; c < 2; c++) {
      const v = co.map((p) => p[c]);
      const m = v.reduce((a, b) => a + b) / v.length;
      const unbiased = v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1);
      expect(state['norm0.runningMean'].dataSync()[c]).toBeCloseTo(0.1 * m, 5);
      expect(state['norm0.runningVar'].dataSync()[c]).toBeCloseTo(0.9 + 0.1 * unbiased, 5);
    }
    // Evaluation uses the running statistics: identical to an explicit affine normalisation.
    const evalLogits = convNetLogits(params, spec, x, { training: false, bnState: state });
    const manual = tf.tidy(() => {
      const y = convOut.sub(state['norm0.runningMean']).div(state['norm0.runningVar'].add(1e-5).sqrt());
      const z = tf.avgPool(tf.relu(y) as tf.Tensor4D, 2, 2, 'valid').reshape([3, -1]);
      return tf.matMul(z, params['fc.weight'] as tf.Tensor2D).add(params['fc.bias']);
    });
    expect(Array.from(evalLogits.dataSync()).map((v, i) => v - manual.dataSync()[i]).every((d) => Math.abs(d) < 1e-5)).toBe(true);
    expect(() => convNetLogits(params, spec, x, { training: false })).toThrow(/bnState/);
    tf.dispose([x, convOut, evalLogits, manual]);
    disposeParams(params);
    disposeParams(state);
  });
});

describe('ConvNet gradients', () => {
  for (const [norm, pooling] of [
    ['instance', 'avg'],
    ['batch', 'max'],
  ] as [NormKind, PoolKind][]) {
    it(`input gradient matches central finite differences (${norm} norm, ${pooling} pool)`, () => {
      const spec: ConvNetSpec = { channels: 2, height: 6, width: 6, numClasses: 3, net: { width: 3, depth: 2, norm, pooling } };
      const params = initConvNet(spec, new Rng(11));
      const x = randomInput([2, 6, 6, 2], 12);
      const coef = randomInput([2, 3, 1, 1], 13).reshape([2, 3]);
      const f = (inp: tf.Tensor) => convNetLogits(params, spec, inp as tf.Tensor4D).mul(coef).sum() as tf.Scalar;
      const g = tf.grad(f)(x);
      const gv = g.dataSync();
      expect(gv.some((v) => v !== 0)).toBe(true);
      // Directional derivatives along random directions (robust to ReLU kinks).
      for (let t = 0; t < 3; t++) {
        const dir = randomInput([2, 6, 6, 2], 100 + t);
        // small enough that no ReLU/max-pool switches inside ±eps (1e-2 and 2e-3 cross kinks here)
        const eps = 5e-4;
        const fd = tf.tidy(() => (f(x.add(dir.mul(eps))).dataSync()[0] - f(x.sub(dir.mul(eps))).dataSync()[0]) / (2 * eps));
        const analytic = tf.tidy(() => g.mul(dir).sum().dataSync()[0]);
        expect(Math.abs(fd - analytic)).toBeLessThan(2e-2 * Math.max(1, Math.abs(analytic)));
        dir.dispose();
      }
      tf.dispose([x, coef, g]);
      disposeParams(params);
    });
  }

  it('the portable convolution (wasm fallback) has the same value and gradients as tf.conv2d', () => {
    const x = randomInput([2, 5, 4, 3], 21);
    const w = randomInput([3, 3, 3, 4], 22);
    const dy = randomInput([2, 5, 4, 4], 23);
    for (const pad of [1, 3]) {
      const dyP = pad === 1 ? dy : randomInput([2, 9, 8, 4], 24);
      const ref = (a: tf.Tensor4D, b: tf.Tensor4D) =>
        tf.conv2d(tf.pad(a, [[0, 0], [pad, pad], [pad, pad], [0, 0]]), b, 1, 'valid').mul(dyP).sum() as tf.Scalar;
      const port = (a: tf.Tensor4D, b: tf.Tensor4D) => conv2dPortable(a, b, pad).mul(dyP).sum() as tf.Scalar;
      const [gx1, gw1] = tf.grads(ref as (...a: tf.Tensor[]) => tf.Scalar)([x, w]);
      const [gx2, gw2] = tf.grads(port as (...a: tf.Tensor[]) => tf.Scalar)([x, w]);
      const close = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => a.sub(b).abs().max().dataSync()[0]);
      expect(close(gx1, gx2)).toBeLessThan(1e-4);
      expect(close(gw1, gw2)).toBeLessThan(1e-4);
      expect(gw1.shape).toEqual(gw2.shape);
      tf.dispose([gx1, gw1, gx2, gw2]);
      if (pad !== 1) dyP.dispose();
    }
    tf.dispose([x, w, dy]);
  });
});
