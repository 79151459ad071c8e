import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { evalLrAt, lrDropEpoch, resetsAfterEpoch } from '../../src/engine/eval/schedule';
import { evaluateSynthetic, meanStd } from '../../src/engine/eval/evaluate';
import { trainClassifier, tensorData } from '../../src/engine/eval/train';
import { SgdMomentum, mixSeed } from '../../src/engine/tensors';
import { computeNormalization } from '../../src/engine/data/normalization';
import type { ImageSplit } from '../../src/engine/data/types';
import type { NetConfig } from '../../src/engine/config';
import { Rng } from '../../src/engine/rng';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('evaluation lr schedule (reference evaluate_synset)', () => {
  it('drops the lr ×0.1 after epoch E//2+1 of epochs 0..E', () => {
    expect(lrDropEpoch(1000)).toBe(501);
    expect(lrDropEpoch(300)).toBe(151);
    expect(lrDropEpoch(5)).toBe(3);
    expect(lrDropEpoch(4)).toBe(3);
    expect(lrDropEpoch(1)).toBe(1);
    const lrs = Array.from({ length: 7 }, (_, ep) => evalLrAt(ep, 6, 0.01));
    // E = 6: epochs 0..4 at lr (the drop comes after epoch 6//2+1 = 4), epochs 5, 6 at lr/10
    expect(lrs).toEqual([0.01, 0.01, 0.01, 0.01, 0.01, 0.01 * 0.1, 0.01 * 0.1]);
    const resets = Array.from({ length: 301 }, (_, ep) => ep).filter((ep) => resetsAfterEpoch(ep, 300));
    expect(resets).toEqual([151]);
  });
});

describe('SgdMomentum (torch.optim.SGD semantics)', () => {
  it('matches a float64 re-implementation, including lr change and momentum reset', () => {
    const p0 = [0.5, -1.25, 2];
    const gradsSeq = [
      [0.1, -0.2, 0.3],
      [-0.4, 0.05, 0.2],
      [0.25, 0.25, -0.5],
      [0.3, -0.1, 0.0],
    ];
    const lr = 0.1;
    const m = 0.9;
    const wd = 0.01;
    // reference: g ← g + wd·p; v ← m·v + g (v = g first); p ← p − lr·v; reset before step 3
    const lrs = [lr, lr, lr * 0.1, lr * 0.1];
    const reference = (reset: boolean) => {
      const p = [...p0];
      let v: number[] | null = null;
      gradsSeq.forEach((g, s) => {
        if (s === 2 && reset) v = null;
        const d = g.map((gi, i) => gi + wd * p[i]);
        v = v ? v.map((vi, i) => m * vi + d[i]) : d;
        for (let i = 0; i < 3; i++) p[i] -= lrs[s] * v![i];
      });
      return p;
    };
    const p = reference(true);
    const noReset = reference(false);
    expect(Math.max(...p.map((pi, i) => Math.abs(pi - noReset[i])))).toBeGreaterThan(1e-3); // the reset is observable

    const x = tf.variable(tf.tensor1d(p0));
    const opt = new SgdMomentum(lr, m, wd);
    const before = tf.memory().numTensors;
    gradsSeq.forEach((g, s) => {
      if (s === 2) {
        opt.reset();
        opt.lr = lr * 0.1;
      }
      const gt = tf.tensor1d(g);
      opt.step([x], { [x.name]: gt });
      gt.dispose();
    });
    const got = Array.from(x.dataSync());
    got.forEach((gv, i) => expect(gv).toBeCloseTo(p[i], 6));
    expect(tf.memory().numTensors).toBe(before + 1); // one velocity kept
    opt.dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});

describe('meanStd', () => {
  it('reports the population std (np.std), not the sample std', () => {
    const { mean, std } = meanStd([0.5, 0.7]);
    expect(mean).toBeCloseTo(0.6, 12);
    expect(std).toBeCloseTo(0.1, 12); // sample std would be 0.1414
    expect(meanStd([0.3]).std).toBe(0);
  });
});

/**
 * A small 3-class image set with separate train and test draws: horizontal ramp, vertical
 * ramp, centred blob, each with random contrast, offset and strong pixel noise (16×16 RGB).
 * (The builtin dataset needs far more images and epochs than a cpu test can afford to beat
 * chance clearly, so the pipeline is checked on structure a small ConvNet can learn from 10
 * images per class.)
 */
function rampSet(perClass: number, seed: number): ImageSplit {
  const rng = new Rng(seed);
  const n = perClass * 3;
  const images = new Uint8Array(n * 16 * 16 * 3);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = i % 3;
    labels[i] = k;
    const amp = rng.uniform(60, 120);
    const base = rng.uniform(70, 130);
    for (let y = 0; y < 16; y++)
      for (let x = 0; x < 16; x++) {
        const r = k === 0 ? x / 15 - 0.5 : k === 1 ? y / 15 - 0.5 : 0.5 - Math.hypot(x - 7.5, y - 7.5) / 10.6;
        for (let c = 0; c < 3; c++) {
          const v = base + amp * r + rng.uniform(-45, 45);
          images[((i * 16 + y) * 16 + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
        }
      }
  }
  return { images, labels, count: n };
}

function normalise(split: ImageSplit, mean: number[], std: number[]): tf.Tensor4D {
  const f = Float32Array.from(split.images, (p, i) => (p / 255 - mean[i % 3]) / std[i % 3]);
  return tf.tensor4d(f, [split.count, 16, 16, 3]);
}

// Tiny on purpose: the cpu backend's conv filter gradient is slow (seconds per epoch even here).
describe('evaluateSynthetic', () => {
  const net: NetConfig = { width: 8, depth: 2, norm: 'instance', pooling: 'avg' };
  const train = rampSet(10, 1);
  const test = rampSet(20, 2);
  const normalization = computeNormalization(train, 3);
  const { mean, std } = normalization;

  it('trains on 10 real images per class and clearly beats chance on 60 unseen test images (3 classes)', async () => {
    const images = normalise(train, mean, std);
    const before = tf.memory().numTensors;
    const progress: number[] = [];
    const res = await evaluateSynthetic({
      images,
      labels: train.labels,
      numClasses: 3,
      test,
      normalization,
      net,
      models: 1,
      epochs: 10,
      lr: 0.01,
      batch: 5, // several steps per epoch (with 256 an epoch of 30 images is one step)
      dsa: null,
      seed: 3,
      onProgress: (done: number, total: number) => progress.push(done / total),
    });
    expect(tf.memory().numTensors).toBe(before); // nets, optimiser state, batches all freed
    expect(res.values).toHaveLength(1);
    expect(progress).toHaveLength(11); // E+1 epochs
    expect(progress.at(-1)).toBe(1);
    expect(res.mean).toBeGreaterThan(0.8); // chance is 1/3
    expect(res.std).toBe(0);
    images.dispose();
  });

  it('is deterministic for a seed, runs DSA per sample, and stops early when asked', async () => {
    const small = { count: 6, labels: train.labels.subarray(0, 6), images: train.images.subarray(0, 6 * 768) };
    const images = normalise(small, mean, std);
    const before = tf.memory().numTensors;
    const opts = {
      images,
      labels: small.labels,
      numClasses: 3,
      test,
      normalization,
      net,
      models: 2,
      epochs: 1,
      dsa: { strategy: 'color_crop_cutout_flip_scale_rotate' },
      seed: 4,
    };
    const a = await evaluateSynthetic(opts);
    const b = await evaluateSynthetic(opts);
    expect(a.values).toHaveLength(2);
    expect(b.values).toEqual(a.values);
    let epochs = 0;
    const stopped = await evaluateSynthetic({
      ...opts,
      models: 3,
      onProgress: () => epochs++,
      shouldStop: () => epochs >= 3, // during the second net
    });
    expect(stopped.stopped).toBe(true);
    expect(stopped.values).toEqual([a.values[0]]);
    expect(tf.memory().numTensors).toBe(before);
    images.dispose();
  });

  it('trainClassifier runs E+1 epochs and lowers the training loss', async () => {
    const images = normalise(train, mean, std);
    const losses: number[] = [];
    const res = await trainClassifier({
      spec: { channels: 3, height: 16, width: 16, numClasses: 3, net },
      data: tensorData(images, train.labels),
      epochs: 4,
      lr: 0.01,
      batch: 10,
      dsa: null,
      rng: new Rng(mixSeed(7, 1)),
      onEpoch: (_, l) => losses.push(l),
    });
    expect(res.epochsDone).toBe(5);
    expect(losses).toHaveLength(5);
    expect(losses.at(-1)!).toBeLessThan(0.8 * losses[0]);
    tf.dispose([...Object.values(res.params), images]);
  });
});
