/**
 * The generated built-in dataset: deterministic, right shapes, balanced,
 * fast, and neither trivial nor hopeless for simple classifiers.
 */
import { describe, expect, it } from 'vitest';
import { loadBuiltinDataset } from '../../src/engine/data/builtin';
import { computeNormalization } from '../../src/engine/data/normalization';
import type { ImageDataset, ImageSplit } from '../../src/engine/data/types';

/** Per-image standardised greyscale pixels (removes the random colours' mean and contrast). */
function pixelFeatures(s: ImageSplit): Float64Array[] {
  return Array.from({ length: s.count }, (_, i) => {
    const f = new Float64Array(1024);
    let m = 0;
    for (let p = 0; p < 1024; p++) {
      const o = i * 3072 + 3 * p;
      f[p] = s.images[o] + s.images[o + 1] + s.images[o + 2];
      m += f[p];
    }
    m /= 1024;
    let v = 0;
    for (let p = 0; p < 1024; p++) {
      f[p] -= m;
      v += f[p] * f[p];
    }
    const sd = Math.sqrt(v / 1024) + 1e-9;
    for (let p = 0; p < 1024; p++) f[p] /= sd;
    return f;
  });
}

/**
 * A classic hand-made descriptor: in each of 4×4 cells, the sum of gradient
 * vectors with doubled angle (orientation without contrast sign) and the
 * gradient energy; L2-normalised. Sees edges and their orientation, not colour.
 */
function gradientFeatures(s: ImageSplit): Float64Array[] {
  return Array.from({ length: s.count }, (_, i) => {
    const g = new Float64Array(1024);
    for (let p = 0; p < 1024; p++) {
      const o = i * 3072 + 3 * p;
      g[p] = s.images[o] + s.images[o + 1] + s.images[o + 2];
    }
    const f = new Float64Array(48);
    for (let y = 1; y < 31; y++) {
      for (let x = 1; x < 31; x++) {
        const gx = g[y * 32 + x + 1] - g[y * 32 + x - 1];
        const gy = g[(y + 1) * 32 + x] - g[(y - 1) * 32 + x];
        const m = Math.sqrt(gx * gx + gy * gy);
        if (m === 0) continue;
        const c = ((y >> 3) * 4 + (x >> 3)) * 3;
        f[c] += (gx * gx - gy * gy) / m;
        f[c + 1] += (2 * gx * gy) / m;
        f[c + 2] += m;
      }
    }
    const n = Math.sqrt(f.reduce((a, v) => a + v * v, 0)) + 1e-9;
    return f.map((v) => v / n);
  });
}

function dist2(a: Float64Array, b: Float64Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d += (a[i] - b[i]) ** 2;
  return d;
}

function accuracy(ds: ImageDataset, predict: (f: Float64Array) => number, test: Float64Array[]): number {
  let ok = 0;
  test.forEach((f, i) => (ok += predict(f) === ds.test.labels[i] ? 1 : 0));
  return ok / test.length;
}

describe('loadBuiltinDataset', () => {
  it('default size is 5000/1000 images of 32×32×3, balanced, generated fast', () => {
    const t0 = performance.now();
    const ds = loadBuiltinDataset();
    const ms = performance.now() - t0;
    console.log(`builtin dataset (5000 + 1000 images) generated in ${ms.toFixed(0)} ms`);
    expect(ms).toBeLessThan(3000); // target < 1 s; slack for a loaded shared machine
    expect(ds.name).toBe('builtin-shapes');
    expect([ds.height, ds.width, ds.channels]).toEqual([32, 32, 3]);
    expect(ds.classNames).toHaveLength(10);
    expect(new Set(ds.classNames).size).toBe(10);
    expect(ds.train.count).toBe(5000);
    expect(ds.test.count).toBe(1000);
    expect(ds.train.images.length).toBe(5000 * 3072);
    expect(ds.test.images.length).toBe(1000 * 3072);
    for (const s of [ds.train, ds.test]) {
      const counts = new Array(10).fill(0);
      for (const l of s.labels) counts[l]++;
      expect(new Set(counts).size).toBe(1);
    }
    const n = computeNormalization(ds.train, 3);
    expect(ds.normalization).toEqual(n);
    for (const sd of n.std) expect(sd).toBeGreaterThan(0.15); // real contrast, not a flat image
  });

  it('is deterministic for a seed; seeds differ; test images do not depend on the train size', () => {
    const a = loadBuiltinDataset({ trainPerClass: 3, testPerClass: 2, seed: 5 });
    const b = loadBuiltinDataset({ trainPerClass: 3, testPerClass: 2, seed: 5 });
    const c = loadBuiltinDataset({ trainPerClass: 3, testPerClass: 2, seed: 6 });
    const d = loadBuiltinDataset({ trainPerClass: 7, testPerClass: 2, seed: 5 });
    expect(Buffer.from(a.train.images).equals(Buffer.from(b.train.images))).toBe(true);
    expect(Buffer.from(a.test.images).equals(Buffer.from(b.test.images))).toBe(true);
    expect(Buffer.from(a.train.images).equals(Buffer.from(c.train.images))).toBe(false);
    expect(Buffer.from(a.test.images).equals(Buffer.from(d.test.images))).toBe(true);
    // a bigger training set extends the smaller one (same stream, classes interleaved)
    expect(Buffer.from(d.train.images.subarray(0, a.train.images.length)).equals(Buffer.from(a.train.images))).toBe(true);
  });

  it('is not trivially separable, yet learnable: colour/pixel class means fail, edge features + 1-NN work', () => {
    const ds = loadBuiltinDataset({ trainPerClass: 100, testPerClass: 20, seed: 1 });
    const nearestMean = (tr: Float64Array[], te: Float64Array[]) => {
      const dim = tr[0].length;
      const means = Array.from({ length: 10 }, () => new Float64Array(dim));
      tr.forEach((f, i) => f.forEach((v, p) => (means[ds.train.labels[i]][p] += v / 100)));
      return accuracy(ds, (f) => means.map((m) => dist2(f, m)).reduce((bi, d, i, arr) => (d < arr[bi] ? i : bi), 0), te);
    };
    const oneNN = (tr: Float64Array[], te: Float64Array[]) =>
      accuracy(
        ds,
        (f) => {
          let best = 0;
          let bd = Infinity;
          tr.forEach((g, j) => {
            const d = dist2(f, g);
            if (d < bd) {
              bd = d;
              best = ds.train.labels[j];
            }
          });
          return best;
        },
        te,
      );
    const pxMean = nearestMean(pixelFeatures(ds.train), pixelFeatures(ds.test));
    const grTr = gradientFeatures(ds.train);
    const grTe = gradientFeatures(ds.test);
    const grNN = oneNN(grTr, grTe);
    console.log(
      `builtin: pixel class means ${(100 * pxMean).toFixed(1)}%, edge-feature means ${(100 * nearestMean(grTr, grTe)).toFixed(1)}%, ` +
        `edge-feature 1-NN ${(100 * grNN).toFixed(1)}% (chance 10%)`,
    );
    expect(pxMean).toBeLessThan(0.25); // colour and position carry no class information
    expect(grNN).toBeGreaterThan(0.45); // shape does
    expect(grNN).toBeLessThan(0.95); // but not trivially
  });
});
