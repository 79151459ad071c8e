/**
 * CMI teacher pool: training reaches well above chance on builtin classes,
 * serialisation round-trips bit-exactly, the cache key tracks every input,
 * picks are seeded, and loadOrTrainTeacherPool reuses a stored pool.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadBuiltinDataset } from '../../src/engine/data/builtin';
import { makeSubset, toNormalizedTensor } from '../../src/engine/data/subset';
import type { ImageDataset } from '../../src/engine/data/types';
import { convNetLogits, initConvNet, type ConvNetSpec } from '../../src/engine/models/convnet';
import { Rng } from '../../src/engine/rng';
import {
  deserializeTeacher,
  folderTeacherStore,
  loadOrTrainTeacherPool,
  makeTeacherPool,
  memoryTeacherStore,
  serializeTeacher,
  teacherPoolKeyFor,
  trainTeacherPool,
  type Teacher,
  type TeacherPoolOptions,
} from '../../src/engine/teachers';

let ds: ImageDataset;

beforeAll(async () => {
  await tf.setBackend('cpu');
  ds = loadBuiltinDataset({ trainPerClass: 30, testPerClass: 30, seed: 1 });
});

const NET = { width: 8, depth: 2, norm: 'instance', pooling: 'avg' } as const;

async function logitsOf(t: Teacher, x: tf.Tensor4D): Promise<Float32Array> {
  const y = convNetLogits(t.params, t.spec, x, { training: false });
  const v = (await y.data()) as Float32Array;
  y.dispose();
  return v;
}

describe('trainTeacherPool', () => {
  it('trains a teacher well above chance on 2 builtin classes (disc vs checkerboard)', async () => {
    const subset = makeSubset(ds, { classes: [0, 8], realPerClass: null, seed: 1 });
    const progress: string[] = [];
    const before = tf.memory().numTensors;
    const pool = await trainTeacherPool({
      subset,
      dataset: ds.name,
      realPerClass: null,
      net: NET,
      count: 1,
      epochs: 5,
      batch: 10,
      lr: 0.05,
      seed: 3,
      onProgress: (_d, _t, what) => progress.push(what),
    });
    const acc = pool.teachers[0].testAccuracy;
    console.log(`teacher test accuracy on 2 classes (chance 50%): ${(acc * 100).toFixed(1)}%`);
    expect(acc).toBeGreaterThanOrEqual(0.7);
    // the reported number is the real test accuracy: recompute it independently
    const x = toNormalizedTensor(subset.test.images, subset.test.count, 32, 32, 3, ds.normalization);
    const logits = await logitsOf(pool.teachers[0], x);
    x.dispose();
    let correct = 0;
    for (let i = 0; i < subset.test.count; i++) {
      const pred = logits[2 * i + 1] > logits[2 * i] ? 1 : 0;
      if (pred === subset.test.labels[i]) correct++;
    }
    expect(correct / subset.test.count).toBeCloseTo(acc, 10);
    expect(progress.some((p) => p.includes('epoch 5/5'))).toBe(true);
    expect(progress.at(-1)).toMatch(/test accuracy/);
    // teachers are frozen: plain tensors, not variables
    for (const t of Object.values(pool.teachers[0].params)) expect(t instanceof tf.Variable).toBe(false);
    pool.dispose();
    expect(tf.memory().numTensors).toBe(before);
  }, 120_000);

  it('stops with TeacherTrainingStopped and frees everything', async () => {
    const subset = makeSubset(ds, { classes: [0, 8], realPerClass: 4, seed: 1 });
    const before = tf.memory().numTensors;
    let polls = 0;
    await expect(
      trainTeacherPool({ subset, dataset: ds.name, realPerClass: 4, net: NET, count: 2, epochs: 3, batch: 4, seed: 1, shouldStop: () => ++polls >= 2 }),
    ).rejects.toThrow(/stopped/);
    expect(tf.memory().numTensors).toBe(before);
  }, 60_000);
});

describe('serialisation', () => {
  const spec: ConvNetSpec = { channels: 3, height: 8, width: 8, numClasses: 3, net: { width: 4, depth: 2, norm: 'instance', pooling: 'avg' } };

  it('serialise → deserialise gives identical logits (and the tfjs weights format)', async () => {
    const t: Teacher = { params: initConvNet(spec, new Rng(7)), spec, testAccuracy: 0.625, epochs: 4, seed: 9 };
    const ser = await serializeTeacher(t);
    expect(ser.modelJson.format).toBe('distillery-convnet');
    expect(ser.modelJson.weightsManifest[0].paths).toEqual(['weights.bin']);
    const names = ser.modelJson.weightsManifest[0].weights.map((w) => w.name).sort();
    expect(names).toEqual(Object.keys(t.params).sort());
    // weights.bin is all float32 values back to back
    const scalars = Object.values(t.params).reduce((a, p) => a + p.size, 0);
    expect(ser.weightData.byteLength).toBe(4 * scalars);
    // through JSON, as a folder or IndexedDB would keep it
    const back = deserializeTeacher({ modelJson: JSON.parse(JSON.stringify(ser.modelJson)), weightData: ser.weightData.slice(0) });
    expect(back.spec).toEqual(spec);
    expect([back.testAccuracy, back.epochs, back.seed]).toEqual([0.625, 4, 9]);
    const x = tf.tensor4d(new Rng(1).fill(5 * 8 * 8 * 3, (r) => r.normal()), [5, 8, 8, 3]);
    expect(Array.from(await logitsOf(back, x))).toEqual(Array.from(await logitsOf(t, x)));
    tf.dispose([x, ...Object.values(t.params), ...Object.values(back.params)]);
  });

  it('rejects a foreign or mismatched model', async () => {
    const t: Teacher = { params: initConvNet(spec, new Rng(7)), spec, testAccuracy: 1, epochs: 1, seed: 1 };
    const ser = await serializeTeacher(t);
    tf.dispose(Object.values(t.params));
    const before = tf.memory().numTensors;
    expect(() => deserializeTeacher({ ...ser, modelJson: { ...ser.modelJson, format: 'other' as 'distillery-convnet' } })).toThrow(/not a Distillery teacher/);
    const wider = { ...ser.modelJson, spec: { ...spec, net: { ...spec.net, width: 5 } } };
    expect(() => deserializeTeacher({ ...ser, modelJson: wider })).toThrow(/shape/);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('folder store writes model.json + weights.bin per teacher and reads them back', async () => {
    const files = new Map<string, Uint8Array>();
    const store = folderTeacherStore(
      {
        readFile: async (p) => files.get(p) ?? null,
        writeFile: async (p, d) => void files.set(p, d.slice()),
      },
      '/cache/',
    );
    const ts: Teacher[] = [1, 2].map((s) => ({ params: initConvNet(spec, new Rng(s)), spec, testAccuracy: s / 4, epochs: 2, seed: s }));
    const items = await Promise.all(ts.map(serializeTeacher));
    expect(await store.get('teachers-x-1')).toBeNull();
    await store.put('teachers-x-1', items);
    expect([...files.keys()].sort()).toEqual([
      '/cache/teachers-x-1/pool.json',
      '/cache/teachers-x-1/teacher-0/model.json',
      '/cache/teachers-x-1/teacher-0/weights.bin',
      '/cache/teachers-x-1/teacher-1/model.json',
      '/cache/teachers-x-1/teacher-1/weights.bin',
    ]);
    const got = (await store.get('teachers-x-1'))!;
    expect(got.map((g) => g.modelJson)).toEqual(items.map((i) => i.modelJson));
    got.forEach((g, i) => expect(new Uint8Array(g.weightData)).toEqual(new Uint8Array(items[i].weightData)));
    // an interrupted write (no pool.json yet) is not a pool
    files.delete('/cache/teachers-x-1/pool.json');
    expect(await store.get('teachers-x-1')).toBeNull();
    await expect(store.get('../etc')).rejects.toThrow(/bad teacher pool key/);
    tf.dispose(ts.flatMap((t) => Object.values(t.params)));
  });
});

describe('pool key and pick', () => {
  function opts(over: Partial<TeacherPoolOptions> & { subsetSeed?: number; classes?: number[]; rpc?: number | null } = {}): TeacherPoolOptions {
    const rpc = over.rpc === undefined ? 10 : over.rpc;
    const subset = makeSubset(ds, { classes: over.classes ?? [0, 8], realPerClass: rpc, seed: over.subsetSeed ?? 1 });
    return { subset, dataset: ds.name, realPerClass: rpc, net: NET, count: 2, epochs: 3, seed: 5, ...over };
  }

  it('is stable for the same inputs and changes when any input changes', async () => {
    const base = await teacherPoolKeyFor(opts());
    expect(await teacherPoolKeyFor(opts())).toBe(base); // fresh subset object, same data
    expect(base).toMatch(/^teachers-builtin-shapes-[0-9a-f]{16}$/);
    const variants: Record<string, TeacherPoolOptions> = {
      dataset: opts({ dataset: 'cifar10' }),
      classes: opts({ classes: [8, 0] }),
      moreClasses: opts({ classes: [0, 8, 5] }),
      realPerClass: opts({ rpc: 12 }),
      allReal: opts({ rpc: null }),
      subsetSeed: opts({ subsetSeed: 2 }), // same sizes, other real images
      width: opts({ net: { ...NET, width: 16 } }),
      depth: opts({ net: { ...NET, depth: 3 } }),
      norm: opts({ net: { ...NET, norm: 'none' } }),
      pooling: opts({ net: { ...NET, pooling: 'max' } }),
      padding: opts({ firstConvPadding: 3 }),
      count: opts({ count: 3 }),
      epochs: opts({ epochs: 4 }),
      lr: opts({ lr: 0.02 }),
      momentum: opts({ momentum: 0.5 }),
      weightDecay: opts({ weightDecay: 0.0005 }),
      batch: opts({ batch: 128 }),
      seed: opts({ seed: 6 }),
    };
    const keys = new Map<string, string>([['base', base]]);
    for (const [name, o] of Object.entries(variants)) {
      const k = await teacherPoolKeyFor(o);
      for (const [other, ok] of keys) expect(k, `${name} vs ${other}`).not.toBe(ok);
      keys.set(name, k);
    }
    // another dataset with the same name and sizes but other pixels
    const other = loadBuiltinDataset({ trainPerClass: 30, testPerClass: 30, seed: 2 });
    const o2 = opts();
    o2.subset = makeSubset(other, { classes: [0, 8], realPerClass: 10, seed: 1 });
    expect(await teacherPoolKeyFor(o2)).not.toBe(base);
  });

  it('pick is deterministic for a seed and covers the pool', () => {
    const fake = (i: number): Teacher => ({ params: {}, spec: {} as ConvNetSpec, testAccuracy: i, epochs: 1, seed: i });
    const pool = makeTeacherPool([0, 1, 2, 3].map(fake), 'k');
    const draw = (seed: number) => {
      const rng = new Rng(seed);
      return Array.from({ length: 40 }, () => pool.teachers.indexOf(pool.pick(rng)));
    };
    expect(draw(11)).toEqual(draw(11));
    expect(draw(11)).not.toEqual(draw(12));
    expect(new Set(draw(11)).size).toBe(4);
    pool.dispose();
    expect(() => pool.pick(new Rng(1))).toThrow(/disposed/);
  });
});

describe('loadOrTrainTeacherPool', () => {
  it('trains and stores once, then loads the same teachers from the store', async () => {
    const subset = makeSubset(ds, { classes: [0, 8], realPerClass: 4, seed: 1 });
    const o: TeacherPoolOptions = { subset, dataset: ds.name, realPerClass: 4, net: NET, count: 2, epochs: 1, batch: 4, seed: 2 };
    const store = memoryTeacherStore();
    const first = await loadOrTrainTeacherPool(store, o);
    expect(first.fromCache).toBe(false);
    expect(store.keys()).toEqual([first.key]);
    const msgs: string[] = [];
    const second = await loadOrTrainTeacherPool(store, { ...o, onProgress: (_d, _t, w) => msgs.push(w) });
    expect(second.fromCache).toBe(true);
    expect(second.key).toBe(first.key);
    expect(msgs[0]).toMatch(/loaded 2 cached teacher/);
    const x = subset.train.sample(0, 3, new Rng(4));
    for (let i = 0; i < 2; i++) {
      expect(second.teachers[i].testAccuracy).toBe(first.teachers[i].testAccuracy);
      expect(Array.from(await logitsOf(second.teachers[i], x))).toEqual(Array.from(await logitsOf(first.teachers[i], x)));
    }
    // teachers differ from each other (own seeds)
    expect(Array.from(await logitsOf(first.teachers[0], x))).not.toEqual(Array.from(await logitsOf(first.teachers[1], x)));
    x.dispose();
    first.dispose();
    second.dispose();
    // a store that fails is reported and bypassed
    const broken = { get: async () => Promise.reject(new Error('disk gone')), put: async () => Promise.reject(new Error('read-only')) };
    const msgs2: string[] = [];
    const third = await loadOrTrainTeacherPool(broken, { ...o, epochs: 1, onProgress: (_d, _t, w) => msgs2.push(w) });
    expect(third.fromCache).toBe(false);
    expect(msgs2[0]).toMatch(/disk gone/);
    expect(msgs2.at(-1)).toMatch(/read-only/);
    third.dispose();
  }, 60_000);
});
