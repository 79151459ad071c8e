import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { DistillationRun, type RunEvent } from '../../src/engine/run';
import { dmMethod } from '../../src/engine/methods/dm';
import type { LossPlugin, Method } from '../../src/engine/methods/types';
import { makeSubset } from '../../src/engine/data/subset';
import { computeNormalization } from '../../src/engine/data/normalization';
import type { ImageDataset, ImageSplit } from '../../src/engine/data/types';
import { QUICK_CONFIG, type DistillConfig } from '../../src/engine/config';
import { Rng } from '../../src/engine/rng';

/** 2 classes of 16×16 RGB: horizontal vs vertical ramps with noise. */
function split(perClass: number, seed: number): ImageSplit {
  const rng = new Rng(seed);
  const n = perClass * 2;
  const images = new Uint8Array(n * 16 * 16 * 3);
  const labels = Int32Array.from({ length: n }, (_, i) => i % 2);
  for (let i = 0; i < n; i++)
    for (let y = 0; y < 16; y++)
      for (let x = 0; x < 16; x++)
        for (let c = 0; c < 3; c++) {
          const r = (labels[i] === 0 ? x : y) / 15;
          images[((i * 16 + y) * 16 + x) * 3 + c] = Math.round(40 + 150 * r + rng.uniform(0, 60));
        }
  return { images, labels, count: n };
}

const train = split(8, 1);
const dataset: ImageDataset = {
  name: 'ramps',
  classNames: ['horizontal', 'vertical'],
  height: 16,
  width: 16,
  channels: 3,
  train,
  test: split(5, 2),
  normalization: computeNormalization(train, 3),
};

const base: DistillConfig = {
  ...QUICK_CONFIG,
  ipc: 2,
  iterations: 6,
  batchReal: 4,
  net: { width: 8, depth: 2, norm: 'instance', pooling: 'avg' },
  evalEvery: 0,
  evalModels: 0,
  evalEpochs: 1,
  evalBatch: 256,
  snapshotEvery: 100,
  seed: 5,
  backend: 'cpu',
};

function start(
  config: Partial<DistillConfig>,
  extra: { method?: Method; plugins?: LossPlugin[]; initialImages?: Float32Array; onEvent?: (e: RunEvent, run: DistillationRun) => void } = {},
) {
  const events: RunEvent[] = [];
  const cfg = { ...base, ...config };
  const subset = makeSubset(dataset, { classes: null, realPerClass: null, seed: cfg.seed });
  const run: DistillationRun = new DistillationRun({
    config: cfg,
    subset,
    method: extra.method ?? dmMethod(),
    plugins: extra.plugins,
    initialImages: extra.initialImages,
    onEvent: (e) => {
      events.push(e);
      extra.onEvent?.(e, run);
    },
  });
  return { run, events, promise: run.run() };
}

const of = <T extends RunEvent['type']>(events: RunEvent[], type: T) =>
  events.filter((e): e is Extract<RunEvent, { type: T }> => e.type === type);

/** A plugin pulling the images towards 0: term = mean(x²). Records what it was asked. */
function l2Plugin(weight: number) {
  let last: tf.Scalar | null = null;
  const plugin = {
    name: 'l2',
    weight,
    lossCalls: 0,
    metricCalls: 0,
    prepareStep() {},
    loss(ctx) {
      plugin.lossCalls++;
      const t = tf.mean(tf.square(ctx.synthetic)) as tf.Scalar;
      last?.dispose();
      last = tf.keep(t.clone());
      return t;
    },
    metrics() {
      plugin.metricCalls++;
      return { l2raw: last ? last.dataSync()[0] : NaN };
    },
    dispose() {
      last?.dispose();
      last = null;
    },
  } satisfies LossPlugin & Record<string, unknown>;
  return plugin;
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('DistillationRun', () => {
  it('emits metrics, snapshots, evaluations, progress and states in order', async () => {
    const { run, events, promise } = start({ iterations: 5, snapshotEvery: 2, evalEvery: 2, evalModels: 1, evalEpochs: 1 });
    const result = await promise;
    expect(of(events, 'state').map((e) => e.state)).toEqual(['running', 'done']);
    expect(events.at(-1)).toEqual({ type: 'state', state: 'done' });
    const metrics = of(events, 'metrics');
    expect(metrics.map((m) => m.iteration)).toEqual([0, 1, 2, 3, 4]);
    for (const m of metrics) {
      expect(Object.keys(m.losses)).toEqual(['dm']);
      expect(m.losses.dm).toBeGreaterThan(0);
      expect(m.ms).toBeGreaterThanOrEqual(0);
    }
    const snaps = of(events, 'snapshot');
    expect(snaps.map((s) => s.iteration)).toEqual([0, 2, 4, 5]);
    expect(snaps[0].pixels).toHaveLength(4 * 16 * 16 * 3);
    expect(Array.from(snaps[0].labels)).toEqual([0, 0, 1, 1]);
    expect([snaps[0].height, snaps[0].width, snaps[0].channels]).toEqual([16, 16, 3]);
    expect(of(events, 'eval').map((e) => e.iteration)).toEqual([0, 2, 4, 5]);
    const lastEval = of(events, 'eval').at(-1)!;
    expect(lastEval.accuracy.values).toHaveLength(1);
    expect(result.accuracy).toEqual(lastEval.accuracy);
    const distill = of(events, 'progress').filter((p) => p.phase === 'distill');
    expect(distill.map((p) => p.done)).toEqual([1, 2, 3, 4, 5]);
    expect(distill.at(-1)!.etaMs).toBe(0);
    expect(of(events, 'progress').some((p) => p.phase === 'eval')).toBe(true);

    expect(result.state).toBe('done');
    expect(result.iterations).toBe(5);
    expect(result.timings.msPerIteration).toBeGreaterThan(0);
    expect(result.synthetic.iteration).toBe(5);
    expect(result.synthetic.images).toHaveLength(4 * 16 * 16 * 3);
    expect(result.synthetic.pixels).toEqual(snaps.at(-1)!.pixels);
    expect(result.synthetic.classNames).toEqual(['horizontal', 'vertical']);
    expect(await run.getSynthetic()).toEqual(result.synthetic);
    expect(of(events, 'log')[0].message).toMatch(/^dm: 2 classes × IPC 2, 16×16×3/);
    expect(() => new DistillationRun({ config: { ...base, ipc: 0 }, subset: makeSubset(dataset, { classes: null, realPerClass: null, seed: 0 }), method: dmMethod(), onEvent: () => {} })).toThrow(/ipc must be/);
  });

  it('initialises from real images of each class (init real) or standard normal noise', async () => {
    const real = await start({ iterations: 0 }).promise;
    // every synthetic image is one of the real training images of its class, pixel for pixel
    const size = 16 * 16 * 3;
    for (let i = 0; i < 4; i++) {
      const img = real.synthetic.pixels.subarray(i * size, (i + 1) * size);
      const k = Math.floor(i / 2);
      const matches = Array.from({ length: train.count }, (_, j) => j).filter(
        (j) => train.labels[j] === k && train.images.subarray(j * size, (j + 1) * size).every((v, p) => v === img[p]),
      );
      expect(matches.length).toBeGreaterThan(0);
    }
    const noise = await start({ iterations: 0, init: 'noise' }).promise;
    const x = noise.synthetic.images;
    const mean = x.reduce((a, b) => a + b, 0) / x.length;
    const sd = Math.sqrt(x.reduce((a, b) => a + (b - mean) ** 2, 0) / x.length);
    expect(Math.abs(mean)).toBeLessThan(0.1);
    expect(Math.abs(sd - 1)).toBeLessThan(0.1);
  });

  it('frees every tensor: same count after iteration 1 and 20, and back to the start after the run', async () => {
    const counts = new Map<number, number>();
    const before = tf.memory().numTensors;
    const plugin = l2Plugin(0.5);
    const { promise } = start(
      { iterations: 21, snapshotEvery: 5 },
      {
        plugins: [plugin],
        onEvent: (e) => {
          if (e.type === 'metrics') counts.set(e.iteration, tf.memory().numTensors);
        },
      },
    );
    await promise;
    expect(counts.get(1)).toBe(counts.get(20));
    expect(counts.get(1)).toBe(counts.get(10));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('is deterministic for a seed (bit-identical losses and images) and differs across seeds', async () => {
    const losses = (events: RunEvent[]) => of(events, 'metrics').map((m) => m.losses.dm);
    const a = start({});
    const b = start({});
    const ra = await a.promise;
    const rb = await b.promise;
    expect(losses(a.events)).toEqual(losses(b.events));
    expect(rb.synthetic.images).toEqual(ra.synthetic.images);
    const c = start({ seed: 6 });
    await c.promise;
    expect(losses(c.events)).not.toEqual(losses(a.events));
  });

  it('adds plugin terms as weight·term, honours live weight changes and skips the term at weight 0', async () => {
    const plugin = l2Plugin(0.5);
    const { events, promise } = start(
      { iterations: 5 },
      {
        plugins: [plugin],
        onEvent: (e) => {
          if (e.type === 'metrics' && e.iteration === 1) plugin.weight = 2;
          if (e.type === 'metrics' && e.iteration === 2) plugin.weight = 0;
        },
      },
    );
    await promise;
    const m = of(events, 'metrics');
    expect(m[0].losses.l2).toBeCloseTo(0.5 * (m[0].metrics.l2raw as number), 5);
    expect(m[2].losses.l2).toBeCloseTo(2 * (m[2].metrics.l2raw as number), 5);
    expect(m[3].losses.l2).toBe(0);
    expect(m[4].losses.l2).toBe(0);
    expect(plugin.lossCalls).toBe(3); // iterations 0, 1, 2 only
    expect(plugin.metricCalls).toBe(5); // metrics every iteration
  });

  it('pauses, resumes, stops after the current iteration, and exports while paused', async () => {
    let pausedAt = -1;
    let resumedMetrics = -1;
    const { run, events, promise } = start(
      { iterations: 50, snapshotEvery: 1000 },
      {
        onEvent: (e, r) => {
          if (e.type === 'metrics' && e.iteration === 2) {
            r.pause();
            pausedAt = of(events, 'metrics').length;
          }
          if (e.type === 'metrics' && e.iteration === 5) r.stop();
        },
      },
    );
    await new Promise((res) => setTimeout(res, 300));
    // nothing ran while paused, and the set can be exported now
    expect(of(events, 'metrics').length).toBe(pausedAt);
    const snap = await run.getSynthetic();
    expect(snap.iteration).toBe(3);
    expect(snap.images).toHaveLength(4 * 16 * 16 * 3);
    resumedMetrics = of(events, 'metrics').length;
    run.resume();
    const result = await promise;
    expect(resumedMetrics).toBe(3);
    expect(result.state).toBe('stopped');
    expect(result.iterations).toBe(6);
    expect(of(events, 'state').map((e) => e.state)).toEqual(['running', 'paused', 'running', 'stopped']);
    expect(of(events, 'snapshot').map((s) => s.iteration)).toEqual([0, 6]);
    expect(events.at(-1)).toEqual({ type: 'state', state: 'stopped' });
  });

  it('changes the image lr live', async () => {
    const snaps = (events: RunEvent[]) => of(events, 'snapshot').map((s) => s.pixels);
    const control = start({ iterations: 4, snapshotEvery: 1 });
    await control.promise;
    const slowed = start(
      { iterations: 4, snapshotEvery: 1 },
      { onEvent: (e, r) => e.type === 'metrics' && e.iteration === 0 && r.setLrImg(1e-9) },
    );
    await slowed.promise;
    const c = snaps(control.events);
    const s = snaps(slowed.events);
    expect(s[1]).toEqual(c[1]); // step 1 used the original lr
    expect(s[4]).toEqual(s[1]); // afterwards the images barely move (below one 8-bit step)
    expect(c[4]).not.toEqual(c[1]);
    expect(() => slowed.run.setLrImg(0)).toThrow(/lr-img/);
  });

  it('reports a method error, rejects run() with its message and keeps the images', async () => {
    const before = tf.memory().numTensors;
    const inner = dmMethod();
    let calls = 0;
    const failing: Method = {
      name: 'dm',
      prepareStep: (ctx) => inner.prepareStep!(ctx),
      loss(ctx) {
        if (++calls === 4) throw new Error('boom at step 3');
        return inner.loss(ctx);
      },
      endStep: () => inner.endStep!(),
      dispose: () => inner.dispose!(),
    };
    const { run, events, promise } = start({ iterations: 10 }, { method: failing });
    await expect(promise).rejects.toThrow('boom at step 3');
    expect(of(events, 'error')).toEqual([{ type: 'error', message: 'boom at step 3' }]);
    expect(events.at(-1)).toEqual({ type: 'state', state: 'error' });
    const saved = await run.getSynthetic();
    expect(saved.iteration).toBe(3);
    expect(saved.images.every(Number.isFinite)).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('DistillationRun: starting images', () => {
  it('starts from given images (e.g. an imported set) and refuses a wrong size', async () => {
    const n = 2 * base.ipc * 16 * 16 * 3;
    const given = new Rng(11).fill(n, (r) => r.normal());
    const { run, promise } = start({ iterations: 0 }, { initialImages: given });
    await promise;
    const set = await run.getSynthetic();
    expect(set.images).toEqual(given);
    expect(() => start({}, { initialImages: new Float32Array(n - 1) })).toThrow(/need 3072/);
  });
});
