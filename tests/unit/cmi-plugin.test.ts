/**
 * The CMI loss plug-in on the cpu backend: its gradient w.r.t. the synthetic
 * images against central finite differences of λ·CMI(teacher(x)) (CMI in f64),
 * metrics against the f64 oracle (also at λ = 0, with no gradient work),
 * tensors flat over iterations, and a DM run with and without the term.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { QUICK_CONFIG, type DistillConfig } from '../../src/engine/config';
import { cmiF64 } from '../../src/engine/cmi/f64';
import { createCmiPlugin, type CmiPlugin } from '../../src/engine/cmi/plugin';
import { computeNormalization } from '../../src/engine/data/normalization';
import { loadBuiltinDataset } from '../../src/engine/data/builtin';
import { makeSubset, type Subset } from '../../src/engine/data/subset';
import type { ImageDataset, ImageSplit } from '../../src/engine/data/types';
import { dmMethod } from '../../src/engine/methods/dm';
import type { IterationContext } from '../../src/engine/methods/types';
import { convNetEmbed, convNetLogits, initConvNet, type ConvNetSpec } from '../../src/engine/models/convnet';
import { Rng } from '../../src/engine/rng';
import { DistillationRun, type RunEvent } from '../../src/engine/run';
import { makeTeacherPool, trainTeacherPool, type Teacher, type TeacherPool } from '../../src/engine/teachers';

/** 2 classes of 8×8 RGB: horizontal vs vertical ramps with noise. */
function split(perClass: number, seed: number): ImageSplit {
  const rng = new Rng(seed);
  const n = perClass * 2;
  const images = new Uint8Array(n * 8 * 8 * 3);
  const labels = Int32Array.from({ length: n }, (_, i) => i % 2);
  for (let i = 0; i < n; i++)
    for (let y = 0; y < 8; y++)
      for (let x = 0; x < 8; x++)
        for (let c = 0; c < 3; c++) {
          const r = (labels[i] === 0 ? x : y) / 7;
          images[((i * 8 + y) * 8 + x) * 3 + c] = Math.round(40 + 150 * r + rng.uniform(0, 60));
        }
  return { images, labels, count: n };
}

const train = split(6, 1);
const tiny: ImageDataset = {
  name: 'ramps8',
  classNames: ['horizontal', 'vertical'],
  height: 8,
  width: 8,
  channels: 3,
  train,
  test: split(2, 2),
  normalization: computeNormalization(train, 3),
};

const SPEC: ConvNetSpec = { channels: 3, height: 8, width: 8, numClasses: 2, net: { width: 4, depth: 1, norm: 'instance', pooling: 'avg' } };
const LABELS = Int32Array.from([0, 0, 0, 1, 1, 1]);

let subset: Subset;
let pool: TeacherPool;

beforeAll(async () => {
  await tf.setBackend('cpu');
  subset = makeSubset(tiny, { classes: null, realPerClass: null, seed: 1 });
  // untrained but fixed teachers: enough for gradients and bookkeeping
  const teachers: Teacher[] = [11, 12].map((s) => ({ params: initConvNet(SPEC, new Rng(s)), spec: SPEC, testAccuracy: NaN, epochs: 0, seed: s }));
  pool = makeTeacherPool(teachers, 'test-pool');
});

function context(synthetic: tf.Variable, iteration: number): IterationContext {
  return {
    iteration,
    rng: new Rng(1000 + iteration),
    config: { ...QUICK_CONFIG, ipc: 3, seed: 3 },
    synthetic,
    syntheticLabels: LABELS,
    numClasses: 2,
    real: subset.train,
    augment: (x) => x,
  };
}

function randomImages(seed: number): Float32Array {
  return new Rng(seed).fill(6 * 8 * 8 * 3, (r) => r.normal());
}

/** Teacher z of images (f32 forward) → CMI in f64. */
function cmiOfImages(t: Teacher, images: Float32Array, space: 'feature' | 'logit', n = 6): { value: number; perClass: number[] } {
  const z = tf.tidy(() => {
    const x = tf.tensor4d(images, [n, 8, 8, 3]);
    const opts = { training: true };
    return space === 'feature' ? convNetEmbed(t.params, t.spec, x, opts) : convNetLogits(t.params, t.spec, x, opts);
  });
  const r = cmiF64(z.dataSync(), z.shape[0], z.shape[1], LABELS, { numClasses: 2 });
  z.dispose();
  return { value: r.value, perClass: Array.from(r.perClass) };
}

async function step(plugin: CmiPlugin, syn: tf.Variable, it: number, lr = 0): Promise<{ loss: number | null; grad: Float32Array | null }> {
  const ctx = context(syn, it);
  plugin.prepareStep!(ctx);
  let loss: number | null = null;
  let grad: Float32Array | null = null;
  if (plugin.weight !== 0) {
    const { value, grads } = tf.variableGrads(() => tf.mul(plugin.loss(ctx), plugin.weight) as tf.Scalar, [syn]);
    loss = (await value.data())[0];
    grad = (await grads[syn.name].data()) as Float32Array;
    if (lr) {
      const next = tf.tidy(() => tf.sub(syn, tf.mul(grads[syn.name], lr)));
      syn.assign(next);
      next.dispose();
    }
    tf.dispose([value, ...Object.values(grads)]);
  }
  plugin.endStep!();
  return { loss, grad };
}

describe('CMI plug-in: gradient', () => {
  for (const space of ['feature', 'logit'] as const) {
    it(`${space} space: d(λ·CMI)/dx equals central finite differences`, async () => {
      const lambda = 3;
      const plugin = createCmiPlugin({ weight: lambda, space, pool, realReference: false });
      const x0 = randomImages(space === 'feature' ? 5 : 6);
      const syn = tf.variable(tf.tensor4d(x0, [6, 8, 8, 3]));
      await plugin.prepare!(context(syn, -1));
      const { loss, grad } = await step(plugin, syn, 0);
      const m = await plugin.readMetrics();
      const teacher = pool.teachers[m.cmi_teacher as number];
      const ref = cmiOfImages(teacher, x0, space);
      // the loss is λ·CMI, the metric the raw CMI and its per-class split
      expect(loss! / lambda).toBeCloseTo(ref.value, 5);
      expect(m.cmi as number).toBeCloseTo(ref.value, 5);
      (m.cmi_per_class as number[]).forEach((v, c) => expect(v).toBeCloseTo(ref.perClass[c], 5));
      expect(ref.value).toBeGreaterThan(1e-4); // a non-trivial case

      const g = grad!;
      const gmax = g.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
      const rng = new Rng(9);
      // the largest entries plus random ones
      const order = Array.from(g.keys()).sort((a, b) => Math.abs(g[b]) - Math.abs(g[a]));
      const coords = [...order.slice(0, 8), ...Array.from({ length: 16 }, () => rng.int(0, g.length - 1))];
      const h = 1e-2;
      let worst = 0;
      for (const i of coords) {
        const xp = x0.slice();
        const xm = x0.slice();
        xp[i] += h;
        xm[i] -= h;
        const fd = (lambda * (cmiOfImages(teacher, xp, space).value - cmiOfImages(teacher, xm, space).value)) / (2 * h);
        worst = Math.max(worst, Math.abs(fd - g[i]) / gmax);
      }
      console.log(`${space}: CMI ${ref.value.toExponential(3)}, max grad ${gmax.toExponential(3)}, worst FD err ${worst.toExponential(2)} of max`);
      expect(gmax).toBeGreaterThan(0);
      expect(worst).toBeLessThan(2e-3);
      plugin.dispose!();
      syn.dispose();
    }, 60_000);
  }
});

describe('CMI plug-in: metrics and memory', () => {
  it('λ = 0: reports cmi, per class and the real reference without any gradient work', async () => {
    const plugin = createCmiPlugin({ weight: 0, pool });
    const x0 = randomImages(21);
    const syn = tf.variable(tf.tensor4d(x0, [6, 8, 8, 3]));
    await plugin.prepare!(context(syn, -1));
    const ctx = context(syn, 0);
    const profile = await tf.profile(() => {
      plugin.prepareStep!(ctx);
      plugin.endStep!();
    });
    const m = plugin.metrics!();
    // what ran: one teacher forward and a forward-only CMI, no backward kernel
    expect(profile.kernelNames).toContain('Conv2D');
    for (const k of profile.kernelNames) expect(k).not.toMatch(/Backprop|Grad/);
    const teacher = pool.teachers[m.cmi_teacher as number];
    const ref = cmiOfImages(teacher, x0, 'feature');
    expect(m.cmi as number).toBeCloseTo(ref.value, 5);
    (m.cmi_per_class as number[]).forEach((v, c) => expect(v).toBeCloseTo(ref.perClass[c], 5));
    expect(m.cmi_real).toBeGreaterThanOrEqual(0);
    expect(m.cmi_real).toBeLessThanOrEqual(Math.log(3) + 1e-6);
    expect((m.cmi_real_per_class as number[]).length).toBe(2);
    plugin.dispose!();
    syn.dispose();
  });

  it('cmi_real follows the teacher and the space, and is fixed for each', async () => {
    const plugin = createCmiPlugin({ weight: 0, pool });
    const syn = tf.variable(tf.tensor4d(randomImages(22), [6, 8, 8, 3]));
    await plugin.prepare!(context(syn, -1));
    const seen = new Map<string, number>();
    for (let it = 0; it < 8; it++) {
      if (it === 4) plugin.setSpace('logit');
      await step(plugin, syn, it);
      const m = plugin.metrics!();
      const key = `${plugin.space}/${m.cmi_teacher}`;
      if (seen.has(key)) expect(m.cmi_real).toBe(seen.get(key));
      seen.set(key, m.cmi_real as number);
    }
    expect(new Set(seen.keys()).size).toBeGreaterThanOrEqual(3); // both teachers drawn, both spaces
    expect(new Set(seen.values()).size).toBe(seen.size); // distinct values per (teacher, space)
    expect(() => plugin.setSpace('pixels' as 'feature')).toThrow(/feature/);
    plugin.dispose!();
    syn.dispose();
  });

  it('metrics() without a prepared step (the loop skips λ = 0 plugins) measures the set itself', async () => {
    const plugin = createCmiPlugin({ weight: 0, pool, realReference: false });
    const x0 = randomImages(23);
    const syn = tf.variable(tf.tensor4d(x0, [6, 8, 8, 3]));
    await plugin.prepare!(context(syn, -1));
    const m = plugin.metrics!();
    const ref = cmiOfImages(pool.teachers[m.cmi_teacher as number], x0, 'feature');
    expect(m.cmi as number).toBeCloseTo(ref.value, 5);
    expect(m.cmi_real).toBeUndefined();
    await plugin.readMetrics();
    plugin.dispose!();
    syn.dispose();
  });

  it('teacher picks follow ctx.rng (seeded)', async () => {
    const picks = async () => {
      const plugin = createCmiPlugin({ weight: 1, pool, realReference: false });
      const syn = tf.variable(tf.tensor4d(randomImages(24), [6, 8, 8, 3]));
      await plugin.prepare!(context(syn, -1));
      const out: number[] = [];
      for (let it = 0; it < 6; it++) {
        await step(plugin, syn, it);
        out.push((await plugin.readMetrics()).cmi_teacher as number);
      }
      plugin.dispose!();
      syn.dispose();
      return out;
    };
    const a = await picks();
    expect(await picks()).toEqual(a);
    expect(a).toEqual(Array.from({ length: 6 }, (_, it) => new Rng(1000 + it).int(0, 1)));
  });

  it('keeps tf.memory().numTensors flat over iterations (λ and space changing)', async () => {
    const plugin = createCmiPlugin({ weight: 50, pool });
    const syn = tf.variable(tf.tensor4d(randomImages(25), [6, 8, 8, 3]));
    await plugin.prepare!(context(syn, -1));
    const counts: number[] = [];
    for (let it = 0; it < 8; it++) {
      if (it === 3) plugin.setSpace('logit');
      if (it === 5) plugin.weight = 0;
      if (it === 6) plugin.weight = 10;
      await step(plugin, syn, it, 0.01);
      plugin.metrics!();
      await plugin.readMetrics();
      counts.push(tf.memory().numTensors);
    }
    expect(new Set(counts).size).toBe(1);
    plugin.dispose!();
    syn.dispose();
    expect(tf.memory().numTensors).toBe(counts[0] - 1);
  });

  it('rejects teachers of another shape and bad options', async () => {
    const other: ConvNetSpec = { ...SPEC, numClasses: 3 };
    const p2 = makeTeacherPool([{ params: initConvNet(other, new Rng(1)), spec: other, testAccuracy: 1, epochs: 1, seed: 1 }], 'x');
    const plugin = createCmiPlugin({ weight: 1, pool: p2, ownsPool: true });
    const syn = tf.variable(tf.zeros([6, 8, 8, 3]));
    await expect(plugin.prepare!(context(syn, -1))).rejects.toThrow(/3 classes of 8×8×3/);
    plugin.dispose!();
    syn.dispose();
    expect(() => createCmiPlugin({ weight: -1, pool })).toThrow(/λ/);
    expect(() => createCmiPlugin({ weight: 1, pool, temperature: 0 })).toThrow(/temperature/);
  });
});

describe('CMI plug-in in a DM run', () => {
  it('DM + CMI ends with a lower CMI(S) than DM alone; λ = 0 leaves DM untouched', async () => {
    const ds = loadBuiltinDataset({ trainPerClass: 20, testPerClass: 10, seed: 4 });
    const sub = makeSubset(ds, { classes: [0, 5, 8], realPerClass: null, seed: 4 });
    const teachers = await trainTeacherPool({
      subset: sub,
      dataset: ds.name,
      realPerClass: null,
      net: { width: 8, depth: 2, norm: 'instance', pooling: 'avg' },
      count: 2,
      epochs: 2,
      batch: 10,
      lr: 0.05,
      seed: 1,
    });
    const cfg: DistillConfig = {
      ...QUICK_CONFIG,
      ipc: 3,
      iterations: 20,
      batchReal: 8,
      net: { width: 8, depth: 2, norm: 'instance', pooling: 'avg' },
      evalEvery: 0,
      evalModels: 0,
      snapshotEvery: 1000,
      seed: 7,
      backend: 'cpu',
    };
    const labels = Int32Array.from({ length: 9 }, (_, i) => Math.floor(i / 3));
    /** Feature CMI of the final set, averaged over the pool's teachers (f64 CMI of f32 features). */
    const meanCmi = (images: Float32Array) => {
      let s = 0;
      for (const t of teachers.teachers) {
        const z = tf.tidy(() => convNetEmbed(t.params, t.spec, tf.tensor4d(images, [9, 32, 32, 3]), { training: true }));
        s += cmiF64(z.dataSync(), 9, z.shape[1], labels, { numClasses: 3 }).value;
        z.dispose();
      }
      return s / teachers.teachers.length;
    };
    const distill = async (lambda: number | null) => {
      const events: RunEvent[] = [];
      const plugin = lambda === null ? null : createCmiPlugin({ weight: lambda, pool: teachers });
      const run = new DistillationRun({ config: cfg, subset: sub, method: dmMethod(), plugins: plugin ? [plugin] : [], onEvent: (e) => events.push(e) });
      const res = await run.run();
      const metrics = events.filter((e): e is Extract<RunEvent, { type: 'metrics' }> => e.type === 'metrics');
      return { res, metrics, cmi: meanCmi(res.synthetic.images) };
    };
    const dmOnly = await distill(null);
    const zero = await distill(0);
    const withCmi = await distill(300);

    // λ = 0: no loss term, the same images as DM alone, metrics every iteration
    expect(Array.from(zero.res.synthetic.images)).toEqual(Array.from(dmOnly.res.synthetic.images));
    expect(zero.metrics.length).toBe(20);
    for (const e of zero.metrics) {
      expect(e.losses.cmi ?? 0).toBe(0); // the loop reports 0 (or nothing) for a skipped term
      expect(e.metrics.cmi).toBeGreaterThanOrEqual(0);
      expect(e.metrics.cmi_real).toBeGreaterThanOrEqual(0);
    }
    // λ > 0: the loop reports λ·term, the plug-in the raw term (same number before the step)
    for (const e of withCmi.metrics) {
      expect(e.losses.cmi).toBeCloseTo(300 * (e.metrics.cmi as number), 2);
      expect((e.metrics.cmi_per_class as number[]).length).toBe(3);
    }
    const first = withCmi.metrics[0].metrics.cmi as number;
    const last = withCmi.metrics.at(-1)!.metrics.cmi as number;
    console.log(
      `feature CMI(S) after 20 DM iterations, mean over 2 teachers: DM alone ${dmOnly.cmi.toExponential(4)}, ` +
        `DM + CMI (λ=300) ${withCmi.cmi.toExponential(4)}; plug-in metric first→last ${first.toExponential(3)} → ${last.toExponential(3)}; ` +
        `real reference ${(withCmi.metrics[0].metrics.cmi_real as number).toExponential(3)}`,
    );
    expect(withCmi.cmi).toBeLessThan(0.8 * dmOnly.cmi);
    teachers.dispose();
  }, 240_000);
});
