import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/rng';
import {
  DSA_FAMILIES,
  applyDsaParams,
  drawDsaParams,
  dsaAugment,
  parseDsaStrategy,
  type DsaFamily,
  type DsaParams,
} from '../../src/engine/augment/dsa';
import { applySparseMap, bilinearAffineTable, makeSparseMap, scaleByMatMul } from '../../src/engine/augment/sampler';

const FULL = 'color_crop_cutout_flip_scale_rotate';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

function randomImages(shape: [number, number, number, number], seed: number): tf.Tensor4D {
  const rng = new Rng(seed);
  return tf.tensor4d(rng.fill(shape.reduce((a, b) => a * b), (r) => r.normal()), shape);
}

/** An image whose every value is distinct: v = 100·i + 10·j + c (rows i, columns j, channel c). */
function indexImage(h: number, w: number, c: number): number[][][] {
  return Array.from({ length: h }, (_, i) => Array.from({ length: w }, (_, j) => Array.from({ length: c }, (_, k) => 100 * i + 10 * j + k)));
}

/** Seeds for which the call picks each family (strategy FULL). */
function seedFor(family: DsaFamily, mode: 'siamese' | 'per-sample' = 'siamese', skip = 0): number {
  let found = 0;
  for (let seed = 0; seed < 10000; seed++) {
    if (drawDsaParams({ strategy: FULL, seed, mode }, 4, 8, 8)!.family === family && found++ === skip) return seed;
  }
  throw new Error('no seed');
}

const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => a.sub(b).abs().max().dataSync()[0]);

describe('DSA strategy and parameters', () => {
  it('parses sub-strategies and rejects unknown families with the valid list', () => {
    expect(parseDsaStrategy(FULL)).toEqual([...DSA_FAMILIES]);
    expect(parseDsaStrategy('color_crop')).toEqual(['color', 'crop']);
    expect(parseDsaStrategy('none')).toEqual([]);
    expect(() => parseDsaStrategy('color_blur')).toThrow(/'blur'.*color, crop, cutout, flip, scale, rotate/);
    for (let seed = 0; seed < 50; seed++) {
      expect(['color', 'crop']).toContain(drawDsaParams({ strategy: 'color_crop', seed, mode: 'siamese' }, 2, 8, 8)!.family);
      expect(drawDsaParams({ strategy: 'flip', seed, mode: 'per-sample' }, 2, 8, 8)!.family).toBe('flip');
    }
  });

  it('chooses every family about equally often over many seeds', () => {
    const counts = new Map<string, number>();
    for (let seed = 0; seed < 1200; seed++) {
      const f = drawDsaParams({ strategy: FULL, seed, mode: 'siamese' }, 1, 32, 32)!.family;
      counts.set(f, (counts.get(f) ?? 0) + 1);
    }
    for (const f of DSA_FAMILIES) {
      expect(counts.get(f)).toBeGreaterThan(140); // expected 200
      expect(counts.get(f)).toBeLessThan(260);
    }
  });

  it('draws parameters in the reference ranges (32×32 and 28×28), reaching the extremes', () => {
    const seen = { crop: new Set<number>(), cutoutCenters: new Set<number>() };
    let minScale = Infinity;
    let maxScale = -Infinity;
    let maxAngle = 0;
    for (const size of [32, 28]) {
      for (let seed = 0; seed < 3000; seed++) {
        const p = drawDsaParams({ strategy: 'crop_cutout_scale_rotate', seed, mode: 'siamese' }, 1, size, size)!;
        if (p.family === 'crop') [...p.shiftRows, ...p.shiftCols].forEach((s) => seen.crop.add(s));
        if (p.family === 'cutout') {
          expect(p.sizeRows).toBe(size / 2); // round(0.5·size): 16 and 14
          expect(p.sizeCols).toBe(size / 2);
          [...p.centerRow, ...p.centerCol].forEach((s) => seen.cutoutCenters.add(s - size));
        }
        if (p.family === 'scale') for (const s of [...p.sx, ...p.sy]) ((minScale = Math.min(minScale, s)), (maxScale = Math.max(maxScale, s)));
        if (p.family === 'rotate') maxAngle = Math.max(maxAngle, ...p.angle.map(Math.abs));
      }
    }
    // round(0.125·32) = round(3.5 for 28) = 4
    expect([...seen.crop].sort((a, b) => a - b)).toEqual([-4, -3, -2, -1, 0, 1, 2, 3, 4]);
    // even cutout sizes: centres in [0, size] inclusive (the reference's randint(0, size + 1))
    expect(Math.min(...seen.cutoutCenters)).toBe(-32);
    expect(Math.max(...seen.cutoutCenters)).toBe(0);
    expect(minScale).toBeGreaterThanOrEqual(1 / 1.2);
    expect(minScale).toBeLessThan(1 / 1.2 + 0.01);
    expect(maxScale).toBeLessThanOrEqual(1.2);
    expect(maxScale).toBeGreaterThan(1.19);
    expect(maxAngle).toBeLessThanOrEqual((15 * Math.PI) / 180);
    expect(maxAngle).toBeGreaterThan((14.8 * Math.PI) / 180);
  });

  it('per-sample mode draws per image; siamese draws one shared set', () => {
    for (const family of DSA_FAMILIES) {
      const ps = drawDsaParams({ strategy: family, seed: 3, mode: 'per-sample' }, 16, 32, 32)!;
      const sm = drawDsaParams({ strategy: family, seed: 3, mode: 'siamese' }, 16, 32, 32)!;
      const firstArray = (p: DsaParams) => Object.values(p).find(Array.isArray) as unknown[];
      expect(firstArray(ps).length).toBe(16);
      expect(new Set(firstArray(ps).map(String)).size).toBeGreaterThan(1);
      expect(firstArray(sm).length).toBe(1);
    }
  });
});

describe('DSA geometry, exact on hand-made images', () => {
  const H = 5;
  const W = 6;
  const C = 2;
  const img = indexImage(H, W, C);

  it('flip mirrors the width axis (siamese and per-sample)', () => {
    const x = tf.tensor4d([img, img].flat(3), [2, H, W, C]);
    const mirrored = img.map((row) => [...row].reverse());
    expect(applyDsaParams(x, { family: 'flip', flip: [true] }).arraySync()).toEqual([mirrored, mirrored]);
    expect(applyDsaParams(x, { family: 'flip', flip: [false] }).arraySync()).toEqual([img, img]);
    expect(applyDsaParams(x, { family: 'flip', flip: [false, true] }).arraySync()).toEqual([img, mirrored]);
    x.dispose();
  });

  it('crop translates by whole pixels with zero fill (siamese and per-sample)', () => {
    const shifted = (dy: number, dx: number) =>
      img.map((row, i) => row.map((_, j) => img[i + dy]?.[j + dx] ?? new Array(C).fill(0)));
    const x = tf.tensor4d([img, img, img].flat(3), [3, H, W, C]);
    expect(applyDsaParams(x, { family: 'crop', shiftRows: [2], shiftCols: [-3] }).arraySync()).toEqual([
      shifted(2, -3),
      shifted(2, -3),
      shifted(2, -3),
    ]);
    expect(applyDsaParams(x, { family: 'crop', shiftRows: [-1, 0, 4], shiftCols: [1, 0, -2] }).arraySync()).toEqual([
      shifted(-1, 1),
      shifted(0, 0),
      shifted(4, -2),
    ]);
    x.dispose();
  });

  it('cutout zeros exactly the square of side round(size/2), clipped at the border', () => {
    const x = tf.ones([2, 32, 32, 3]) as tf.Tensor4D;
    const check = (out: number[][][], cy: number, cx: number) => {
      let zeros = 0;
      for (let i = 0; i < 32; i++)
        for (let j = 0; j < 32; j++) {
          const inside = i >= cy - 8 && i < cy + 8 && j >= cx - 8 && j < cx + 8;
          for (const v of out[i][j]) {
            expect(v).toBe(inside ? 0 : 1);
            if (v === 0) zeros++;
          }
        }
      return zeros / 3;
    };
    const p = { family: 'cutout' as const, centerRow: [12, 0], centerCol: [20, 32], sizeRows: 16, sizeCols: 16 };
    const out = applyDsaParams(x, p).arraySync();
    expect(check(out[0], 12, 20)).toBe(256); // 16 × 16 fully inside
    expect(check(out[1], 0, 32)).toBe(64); // a corner: rows 0..7, columns 24..31
    x.dispose();
  });

  it('scale 1 and rotation 0 are the identity; rotation by 90° permutes pixels exactly', () => {
    const x = randomImages([2, 6, 6, 3], 1);
    const xv = x.arraySync();
    expect(applyDsaParams(x, { family: 'scale', sx: [1], sy: [1] }).arraySync()).toEqual(xv);
    expect(applyDsaParams(x, { family: 'rotate', angle: [0, 0] }).arraySync()).toEqual(xv);
    // θ = [[0,−1,0],[1,0,0]] with align_corners=False samples x[j][H−1−i] at output (i, j).
    const r = applyDsaParams(x, { family: 'rotate', angle: [Math.PI / 2] }).arraySync();
    for (let n = 0; n < 2; n++)
      for (let i = 0; i < 6; i++)
        for (let j = 0; j < 6; j++) for (let c = 0; c < 3; c++) expect(r[n][i][j][c]).toBeCloseTo(xv[n][j][5 - i][c], 5);
    x.dispose();
  });

  it('scale resamples bilinearly with zero padding as grid_sample(align_corners=False)', () => {
    // One row of 4 pixels. sx = 0.5 samples at ix = 0.75, 1.25, 1.75, 2.25; sx = 2 at −1.5, 0.5, 2.5, 4.5.
    const row = [1, 10, 100, 1000];
    const x = tf.tensor4d(row, [1, 1, 4, 1]);
    const lerp = (ix: number) => {
      const x0 = Math.floor(ix);
      const f = ix - x0;
      return (1 - f) * (row[x0] ?? 0) + f * (row[x0 + 1] ?? 0);
    };
    const zoomIn = applyDsaParams(x, { family: 'scale', sx: [0.5], sy: [1] }).dataSync();
    [0.75, 1.25, 1.75, 2.25].forEach((ix, j) => expect(zoomIn[j]).toBeCloseTo(lerp(ix), 3));
    const zoomOut = applyDsaParams(x, { family: 'scale', sx: [2], sy: [1] }).dataSync();
    expect(Array.from(zoomOut)).toEqual([0, 5.5, 550, 0]);
    x.dispose();
  });
});

describe('DSA samplers agree', () => {
  it('separable matMul scaling equals the gather-based affine-grid bilinear sampler (shared and per image)', () => {
    const x = randomImages([3, 5, 7, 2], 40);
    const cases = [
      { sx: [1.17], sy: [0.86] },
      { sx: [0.84, 1.0, 1.2], sy: [1.11, 0.9, 1.0] },
    ];
    for (const { sx, sy } of cases) {
      const thetas = sx.map((a, i) => [a, 0, 0, 0, sy[i], 0]);
      const viaGather = applySparseMap(x, makeSparseMap(bilinearAffineTable(thetas, 5, 7), thetas.length === 1));
      const viaMatMul = scaleByMatMul(x, sx, sy);
      expect(maxAbsDiff(viaGather, viaMatMul)).toBeLessThan(1e-5);
      expect(maxAbsDiff(viaGather, x)).toBeGreaterThan(0.1);
      tf.dispose([viaGather, viaMatMul]);
    }
    x.dispose();
  });
});

describe('DSA color', () => {
  it('brightness, saturation, contrast in sequence match f64 hand math, per image', () => {
    const x = randomImages([2, 3, 4, 3], 5);
    const xv = x.arraySync();
    const p = { family: 'color' as const, brightness: [0.9, 0.2], saturation: [0.3, 0.75], contrast: [0.1, 0.8] };
    const out = applyDsaParams(x, p).arraySync();
    for (let n = 0; n < 2; n++) {
      let im = xv[n].map((row) => row.map((px) => px.map((v) => v + (p.brightness[n] - 0.5))));
      im = im.map((row) =>
        row.map((px) => {
          const m = px.reduce((a, b) => a + b) / px.length;
          return px.map((v) => (v - m) * 2 * p.saturation[n] + m);
        }),
      );
      const all = im.flat(2);
      const mean = all.reduce((a, b) => a + b) / all.length;
      im = im.map((row) => row.map((px) => px.map((v) => (v - mean) * (p.contrast[n] + 0.5) + mean)));
      for (let i = 0; i < 3; i++)
        for (let j = 0; j < 4; j++) for (let c = 0; c < 3; c++) expect(out[n][i][j][c]).toBeCloseTo(im[i][j][c], 5);
    }
    x.dispose();
  });
});

describe('DSA seeding', () => {
  it('siamese: two different batches with the same seed get the same transform, for every family', () => {
    const a = randomImages([3, 8, 8, 3], 10);
    const b = randomImages([2, 8, 8, 3], 11);
    for (const family of DSA_FAMILIES) {
      for (const skip of [0, 1]) {
        const seed = seedFor(family, 'siamese', skip);
        const opts = { strategy: FULL, seed, mode: 'siamese' as const };
        const both = dsaAugment(tf.concat([a, b]) as tf.Tensor4D, opts);
        const separate = tf.concat([dsaAugment(a, opts), dsaAugment(b, opts)]);
        expect(maxAbsDiff(both, separate)).toBeLessThan(1e-5);
        tf.dispose([both, separate]);
      }
    }
    tf.dispose([a, b]);
  });

  it('is deterministic for a seed, and per-sample mode varies across the batch', () => {
    const one = randomImages([1, 8, 8, 3], 12);
    const batch = tf.tile(one, [6, 1, 1, 1]) as tf.Tensor4D;
    for (const family of DSA_FAMILIES) {
      const seed = seedFor(family, 'per-sample');
      const opts = { strategy: FULL, seed, mode: 'per-sample' as const };
      const out1 = dsaAugment(batch, opts);
      const out2 = dsaAugment(batch, opts);
      expect(Array.from(out1.dataSync())).toEqual(Array.from(out2.dataSync()));
      const imgs = tf.unstack(out1);
      expect(Math.max(...imgs.slice(1).map((im) => maxAbsDiff(im, imgs[0])))).toBeGreaterThan(1e-3);
      const siam = dsaAugment(batch, { ...opts, mode: 'siamese' });
      const simgs = tf.unstack(siam);
      expect(Math.max(...simgs.slice(1).map((im) => maxAbsDiff(im, simgs[0])))).toBe(0);
      tf.dispose([out1, out2, siam, ...imgs, ...simgs]);
    }
    const other = dsaAugment(batch, { strategy: 'rotate', seed: 1, mode: 'siamese' });
    const other2 = dsaAugment(batch, { strategy: 'rotate', seed: 2, mode: 'siamese' });
    expect(maxAbsDiff(other, other2)).toBeGreaterThan(1e-3);
    tf.dispose([one, batch, other, other2]);
  });

  it('identity for an empty strategy; no tensors leak', () => {
    const x = randomImages([2, 8, 8, 3], 13);
    const before = tf.memory().numTensors;
    const id = dsaAugment(x, { strategy: 'none', seed: 0, mode: 'siamese' });
    expect(Array.from(id.dataSync())).toEqual(Array.from(x.dataSync()));
    id.dispose();
    for (let seed = 0; seed < 12; seed++) {
      for (const mode of ['siamese', 'per-sample'] as const) {
        const g = tf.grad((v: tf.Tensor) => dsaAugment(v as tf.Tensor4D, { strategy: FULL, seed, mode }).square().sum())(x);
        g.dispose();
      }
    }
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});

describe('DSA gradients', () => {
  it('the gradient reaches the input for every family and mode', () => {
    const x = randomImages([3, 8, 8, 3], 20);
    const y = randomImages([3, 8, 8, 3], 21);
    for (const family of DSA_FAMILIES) {
      for (const mode of ['siamese', 'per-sample'] as const) {
        const opts = { strategy: family, seed: 4, mode };
        const g = tf.grad((v: tf.Tensor) => dsaAugment(v as tf.Tensor4D, opts).mul(y).sum())(x);
        expect(g.shape).toEqual(x.shape);
        expect(tf.tidy(() => g.abs().sum().dataSync()[0])).toBeGreaterThan(1);
        g.dispose();
      }
    }
    tf.dispose([x, y]);
  });

  it('bilinear scale/rotate and per-sample crop gradients match central finite differences', () => {
    const shape: [number, number, number, number] = [2, 5, 4, 2];
    const x = randomImages(shape, 30);
    const y = randomImages(shape, 31);
    const cases: DsaParams[] = [
      { family: 'rotate', angle: [0.23] },
      { family: 'rotate', angle: [-0.2, 0.11] },
      { family: 'scale', sx: [1.13], sy: [0.87] },
      { family: 'scale', sx: [0.9, 1.19], sy: [1.05, 0.84] },
      { family: 'crop', shiftRows: [1, -2], shiftCols: [0, 1] },
      { family: 'color', brightness: [0.3, 0.6], saturation: [0.2, 0.9], contrast: [0.4, 0.1] },
    ];
    const xv = x.dataSync();
    for (const p of cases) {
      const f = (v: tf.Tensor) => applyDsaParams(v as tf.Tensor4D, p).mul(y).sum() as tf.Scalar;
      const g = tf.grad(f)(x).dataSync();
      // These maps are linear (affine for color) in x: central differences are exact up to f32 rounding.
      const eps = 0.5;
      for (let i = 0; i < xv.length; i++) {
        const plus = Float32Array.from(xv);
        const minus = Float32Array.from(xv);
        plus[i] += eps;
        minus[i] -= eps;
        const fd = tf.tidy(() => (f(tf.tensor4d(plus, shape)).dataSync()[0] - f(tf.tensor4d(minus, shape)).dataSync()[0]) / (2 * eps));
        expect(Math.abs(fd - g[i])).toBeLessThan(2e-3 * Math.max(1, Math.abs(fd)));
      }
    }
    tf.dispose([x, y]);
  });
});
