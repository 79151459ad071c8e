/**
 * Subsets, seeded sampling of real images, normalisation statistics and the
 * 8-bit ⇄ normalised-float conversion, against hand-computed values.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { computeNormalization, makeSubset, toNormalizedTensor, toPixels } from '../../src/engine/data/subset';
import { UserError, type ImageDataset } from '../../src/engine/data/types';
import { Rng } from '../../src/engine/rng';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/**
 * 10 classes, 2×2 RGB images; class k has k+1 training images. Image i of
 * class k has every byte = 10·k + i (so its identity can be read back), the
 * test split has one image per class with bytes 200 + k.
 */
function tinyDataset(): ImageDataset {
  const size = 2 * 2 * 3;
  const tr: number[] = [];
  const trL: number[] = [];
  for (let k = 0; k < 10; k++) for (let i = 0; i <= k; i++) {
    tr.push(...new Array(size).fill(10 * k + i));
    trL.push(k);
  }
  const te: number[] = [];
  for (let k = 0; k < 10; k++) te.push(...new Array(size).fill(200 + k));
  return {
    name: 'tiny',
    classNames: Array.from({ length: 10 }, (_, k) => `c${k}`),
    height: 2,
    width: 2,
    channels: 3,
    train: { images: Uint8Array.from(tr), labels: Int32Array.from(trL), count: trL.length },
    test: { images: Uint8Array.from(te), labels: Int32Array.from({ length: 10 }, (_, k) => k), count: 10 },
    normalization: { mean: [0.5, 0.4, 0.3], std: [0.25, 0.2, 0.1] },
  };
}

describe('computeNormalization', () => {
  it('matches a direct float64 mean / population std per channel', () => {
    const rng = new Rng(4);
    const n = 7;
    const images = Uint8Array.from({ length: n * 3 * 5 * 3 }, () => rng.int(0, 255));
    const got = computeNormalization({ images, labels: new Int32Array(n), count: n }, 3);
    for (let c = 0; c < 3; c++) {
      const v: number[] = [];
      for (let i = c; i < images.length; i += 3) v.push(images[i] / 255);
      const m = v.reduce((a, b) => a + b, 0) / v.length;
      const s = Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length);
      expect(got.mean[c]).toBeCloseTo(m, 12);
      expect(got.std[c]).toBeCloseTo(s, 12);
    }
  });

  it('hand-computed greyscale case; a constant channel gets std 1', () => {
    // pixels 0, 255, 255, 0 → mean 0.5, std 0.5
    const g = computeNormalization({ images: Uint8Array.from([0, 255, 255, 0]), labels: new Int32Array(4), count: 4 }, 1);
    expect(g.mean).toEqual([0.5]);
    expect(g.std).toEqual([0.5]);
    const flat = computeNormalization({ images: Uint8Array.from([51, 51]), labels: new Int32Array(2), count: 2 }, 1);
    expect(flat.mean[0]).toBeCloseTo(0.2, 12);
    expect(flat.std).toEqual([1]);
  });
});

describe('toNormalizedTensor / toPixels', () => {
  it('normalises per channel: (p/255 − mean)/std', async () => {
    const norm = { mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.201] };
    const px = Uint8Array.from([0, 128, 255, 10, 20, 30]);
    const t = toNormalizedTensor(px, 1, 1, 2, 3, norm);
    expect(t.shape).toEqual([1, 1, 2, 3]);
    const d = await t.data();
    t.dispose();
    for (let i = 0; i < 6; i++) expect(d[i]).toBeCloseTo((px[i] / 255 - norm.mean[i % 3]) / norm.std[i % 3], 5);
  });

  it('round trip is exact for every byte value under several normalisations, and clamps', async () => {
    const all = Uint8Array.from({ length: 256 * 3 }, (_, i) => Math.floor(i / 3));
    for (const norm of [
      { mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.201] },
      { mean: [0, 1, 0.5], std: [1, 0.01, 3] },
    ]) {
      const t = toNormalizedTensor(all, 16, 4, 4, 3, norm);
      expect(Array.from(await toPixels(t, norm))).toEqual(Array.from(all));
      t.dispose();
    }
    const grey = { mean: [0.1307], std: [0.3081] };
    const x = tf.tensor4d([-100, 100, (0.6 - 0.1307) / 0.3081, NaN], [1, 2, 2, 1]); // 0.6·255 = 153
    expect(Array.from(await toPixels(x, grey))).toEqual([0, 255, 153, 0]);
    x.dispose();
  });
});

describe('makeSubset', () => {
  const ds = tinyDataset();

  it('chooses classes in the given order, renumbers the test split', () => {
    const s = makeSubset(ds, { classes: [7, 2], realPerClass: null, seed: 0 });
    expect(s.classIndices).toEqual([7, 2]);
    expect(s.classNames).toEqual(['c7', 'c2']);
    expect(s.train.numClasses).toBe(2);
    expect([s.train.count(0), s.train.count(1)]).toEqual([8, 3]);
    expect(s.test.count).toBe(2);
    expect(Array.from(s.test.labels)).toEqual([1, 0]); // test order kept: c2 (→1) comes before c7 (→0)
    expect(s.test.images[0]).toBe(202);
    expect(s.test.images[12]).toBe(207);
  });

  it('realPerClass picks a seeded subset; more than available → all of them', async () => {
    const a = makeSubset(ds, { classes: null, realPerClass: 4, seed: 3 });
    const b = makeSubset(ds, { classes: null, realPerClass: 4, seed: 3 });
    expect(a.train.count(9)).toBe(4);
    expect(a.train.count(1)).toBe(2); // class 1 has only 2
    const ids = async (s: typeof a, k: number) => {
      const t = s.train.gather(k, Array.from({ length: s.train.count(k) }, (_, i) => i));
      const v = await toPixels(t, ds.normalization);
      t.dispose();
      return Array.from({ length: s.train.count(k) }, (_, i) => v[i * 12]);
    };
    const got = await ids(a, 9);
    expect(got).toEqual(await ids(b, 9));
    expect(new Set(got).size).toBe(4);
    for (const v of got) expect(v >= 90 && v <= 99).toBe(true);
    const c = makeSubset(ds, { classes: null, realPerClass: 4, seed: 4 });
    const seeds = await Promise.all([ids(a, 9), ids(c, 9), ids(a, 8), ids(c, 8)]);
    expect(seeds[0].join() + seeds[2].join()).not.toBe(seeds[1].join() + seeds[3].join());
  });

  it('sample: without replacement when n ≤ count, covers all when n > count; no leaked tensors', async () => {
    const s = makeSubset(ds, { classes: [5, 9], realPerClass: null, seed: 0 });
    const before = tf.memory().numTensors;
    const rng = new Rng(11);
    const t = s.train.sample(1, 6, rng);
    expect(t.shape).toEqual([6, 2, 2, 3]);
    const v = await toPixels(t, ds.normalization);
    t.dispose();
    const got = Array.from({ length: 6 }, (_, i) => v[i * 12]);
    expect(new Set(got).size).toBe(6);
    for (const x of got) expect(x >= 90 && x <= 99).toBe(true);
    const big = s.train.sample(0, 14, rng); // class 5 has 6 images
    const vb = await toPixels(big, ds.normalization);
    big.dispose();
    const seen = Array.from({ length: 14 }, (_, i) => vb[i * 12]);
    expect(new Set(seen)).toEqual(new Set([50, 51, 52, 53, 54, 55]));
    for (const id of [50, 51, 52, 53, 54, 55]) {
      const k = seen.filter((x) => x === id).length;
      expect(k === 2 || k === 3).toBe(true); // whole passes, then a partial one
    }
    const g = s.train.gather(0, [5, 0]);
    const d = await g.data();
    g.dispose();
    expect(d[0]).toBeCloseTo((55 / 255 - 0.5) / 0.25, 5);
    expect(d[1]).toBeCloseTo((55 / 255 - 0.4) / 0.2, 5);
    expect(d[12]).toBeCloseTo((50 / 255 - 0.5) / 0.25, 5);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects unknown classes with the documented message', () => {
    let err: unknown;
    try {
      makeSubset(ds, { classes: [1, 12], realPerClass: null, seed: 0 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toBe('class 12 does not exist (dataset has 10 classes: 0–9)');
    expect(() => makeSubset(ds, { classes: [1, 1], realPerClass: null, seed: 0 })).toThrow(UserError);
    expect(() => makeSubset(ds, { classes: null, realPerClass: 0, seed: 0 })).toThrow(UserError);
  });
});
