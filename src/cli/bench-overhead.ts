/**
 * `distillery bench overhead`: what the CMI term adds to a DM iteration, on
 * the current backend, in one process, on the builtin dataset (32×32×3).
 *
 * Two DistillationRuns with the same config and seed — DM alone, and DM + CMI
 * (λ > 0, one teacher) — step alternately (dm, dm+cmi, dm, dm+cmi…: each is
 * paused at its iteration boundary while the other steps), so drifting load
 * on a shared machine hits both alike. An iteration's time is the run's own
 * 'metrics' ms (the whole step: method, plugin, tape, update, loss read).
 * Between pairs the two parts of the CMI term are timed alone on tensors of
 * the same shapes: cmi() forward + backward on z [N = ipc·classes, M] (the
 * kernels), and the teacher's forward + backward to the images. Medians of
 * the timed rounds (after warm-up ones) are reported.
 *
 * The teacher is a randomly initialised ConvNet: its cost does not depend on
 * its weights, and training one first would only add minutes.
 */
import * as tf from '@tensorflow/tfjs';
import { loadavg } from 'node:os';
import { PAPER_CONFIG, type DistillConfig } from '../engine/config';
import { createCmiPlugin, cmi, type CmiSpace } from '../engine/cmi';
import { loadBuiltinDataset } from '../engine/data/builtin';
import { makeSubset, type Subset } from '../engine/data/subset';
import { UserError } from '../engine/data/types';
import { dmMethod } from '../engine/methods/dm';
import { convNetEmbed, convNetLogits, embedDim, initConvNet } from '../engine/models/convnet';
import { Rng } from '../engine/rng';
import { DistillationRun } from '../engine/run';
import { makeTeacherPool, teacherSpec, type Teacher } from '../engine/teachers';

export interface OverheadOptions {
  width: number;
  depth: number;
  batchReal: number;
  ipc: number;
  classes: number;
  /** Timed rounds (each: one dm iteration, one dm+cmi iteration, one kernel and one teacher timing). */
  iterations: number;
  /** Untimed rounds first (kernel compilation, buffer pools). */
  warmup: number;
  space: CmiSpace;
  /** λ of the dm+cmi run (the cost does not depend on it). */
  weight: number;
  dsa: boolean;
  seed: number;
  /** After every round, with its times (ms). */
  onRound?: (done: number, total: number, ms: { dm: number; dm_cmi: number; cmi_kernels: number; teacher_fb: number }) => void;
  /** After each of the two iterations of a round (they are the slow part). */
  onIteration?: (which: 'dm' | 'dm+cmi', round: number, ms: number) => void;
}

export interface OverheadResult {
  dm_ms: number;
  dm_cmi_ms: number;
  /** dm_cmi_ms − dm_ms: what the term costs inside an iteration (teacher pass, CMI, its metrics read). */
  cmi_term_ms: number;
  cmi_term_fraction: number;
  /** cmi() forward + backward alone on z [n, m]. */
  cmi_kernels_ms: number;
  /** cmi_kernels_ms / dm_cmi_ms. */
  cmi_kernels_fraction: number;
  /** Teacher forward + backward to the n images alone. */
  teacher_fb_ms: number;
  /** teacher_fb_ms / dm_cmi_ms. */
  teacher_fraction: number;
  width: number;
  depth: number;
  batch_real: number;
  ipc: number;
  classes: number;
  n: number;
  m: number;
  cmi_space: CmiSpace;
  cmi_weight: number;
  dsa: boolean;
  iterations: number;
  warmup: number;
  teacher: string;
  backend: string;
  adapter: string | null;
  loadavg_1m: number;
  samples: { dm: number[]; dm_cmi: number[]; cmi_kernels: number[]; teacher_fb: number[] };
}

/** A promise with its resolve handle. */
function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

interface Stepper {
  run: DistillationRun;
  done: Promise<unknown>;
  ready: Promise<void>;
  /** One iteration: resumes the run and resolves with its ms once it has paused again. */
  step(): Promise<number>;
}

/** Starts the run paused at its first iteration boundary; step() lets exactly one iteration through. */
function stepper(config: DistillConfig, subset: Subset, cmiOptions: Parameters<typeof createCmiPlugin>[0] | null): Stepper {
  const ready = deferred();
  let waiting: ReturnType<typeof deferred<number>> | null = null;
  const run: DistillationRun = new DistillationRun({
    config,
    subset,
    method: dmMethod(),
    plugins: cmiOptions ? [createCmiPlugin(cmiOptions)] : [],
    onEvent: (e) => {
      if (e.type === 'snapshot' && e.iteration === 0) ready.resolve(); // prepare() is over, the loop comes next
      if (e.type === 'metrics') {
        run.pause(); // before the loop reaches its gate again
        const w = waiting;
        waiting = null;
        w?.resolve(e.ms);
      }
      if (e.type === 'error') ready.resolve();
    },
  });
  const done = run.run();
  done.catch(() => {}); // handled where awaited; not an unhandled rejection meanwhile
  run.pause();
  // a run that fails (or ends) while an iteration is awaited must not leave step() hanging
  const ended = done.then(() => Promise.reject(new Error('bench overhead: the run ended before the iteration')));
  ended.catch(() => {});
  return {
    run,
    done,
    ready: ready.promise,
    step() {
      waiting = deferred<number>();
      const p = waiting.promise;
      run.resume();
      return Promise.race([p, ended]);
    },
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

export async function benchOverhead(opts: OverheadOptions, adapter: string | null): Promise<OverheadResult> {
  const { width, depth, batchReal, ipc, classes, iterations, warmup, space, seed } = opts;
  if (classes < 1 || classes > 10) throw new UserError(`bench overhead: --classes must be 1–10 (the builtin dataset has 10; got ${classes})`);
  const dataset = loadBuiltinDataset({ trainPerClass: Math.max(batchReal, ipc), testPerClass: 1, seed });
  const subset = makeSubset(dataset, { classes: Array.from({ length: classes }, (_, k) => k), realPerClass: null, seed });
  const net = { width, depth, norm: 'instance', pooling: 'avg' } as const;
  const config: DistillConfig = {
    ...PAPER_CONFIG,
    net: { ...net },
    ipc,
    batchReal,
    dsa: opts.dsa,
    iterations: warmup + iterations,
    evalEvery: 0,
    evalModels: 0,
    snapshotEvery: 1_000_000,
    seed,
  };

  const spec = teacherSpec(subset, net);
  const teacher: Teacher = { params: initConvNet(spec, new Rng(seed + 1)), spec, testAccuracy: NaN, epochs: 0, seed: seed + 1 };
  const pool = makeTeacherPool([teacher], 'bench-random-teacher');
  const n = ipc * classes;
  const m = space === 'feature' ? embedDim(spec) : classes;
  const labels = Int32Array.from({ length: n }, (_, i) => Math.floor(i / ipc));
  const rng = new Rng(seed + 2);
  const z = tf.tensor2d(rng.fill(n * m, (r) => 3 * r.normal()), [n, m]);
  const x = tf.tensor4d(rng.fill(n * 32 * 32 * 3, (r) => r.normal()), [n, 32, 32, 3]);

  const timeKernels = async () => {
    const t0 = performance.now();
    const { value, grad } = tf.valueAndGrad((zz: tf.Tensor) => cmi(zz as tf.Tensor2D, labels, { numClasses: classes }))(z);
    await value.data(); // on webgpu the read waits for the backward too (in-order queue)
    const ms = performance.now() - t0;
    tf.dispose([value, grad]);
    return ms;
  };
  const timeTeacher = async () => {
    const t0 = performance.now();
    const g = tf.grad((xx: tf.Tensor) => {
      const out = space === 'feature'
        ? convNetEmbed(teacher.params, spec, xx as tf.Tensor4D, { training: true })
        : convNetLogits(teacher.params, spec, xx as tf.Tensor4D, { training: true });
      return tf.sum(out);
    })(x);
    const s = tf.sum(g);
    await s.data();
    const ms = performance.now() - t0;
    tf.dispose([g, s]);
    return ms;
  };

  const dm = stepper(config, subset, null);
  const dmCmi = stepper(config, subset, { weight: opts.weight, space, pool, realReference: false });
  const samples = { dm: [] as number[], dm_cmi: [] as number[], cmi_kernels: [] as number[], teacher_fb: [] as number[] };
  try {
    await Promise.all([dm.ready, dmCmi.ready]);
    const total = warmup + iterations;
    for (let r = 0; r < total; r++) {
      const a = await dm.step();
      opts.onIteration?.('dm', r + 1, a);
      const b = await dmCmi.step();
      opts.onIteration?.('dm+cmi', r + 1, b);
      const k = await timeKernels();
      const t = await timeTeacher();
      if (r >= warmup) {
        samples.dm.push(a);
        samples.dm_cmi.push(b);
        samples.cmi_kernels.push(k);
        samples.teacher_fb.push(t);
      }
      opts.onRound?.(r + 1, total, { dm: a, dm_cmi: b, cmi_kernels: k, teacher_fb: t });
    }
    await Promise.all([dm.done, dmCmi.done]);
  } catch (err) {
    dm.run.stop();
    dmCmi.run.stop();
    await Promise.allSettled([dm.done, dmCmi.done]);
    throw err;
  } finally {
    tf.dispose([z, x]);
    pool.dispose();
  }

  const dmMs = median(samples.dm);
  const dmCmiMs = median(samples.dm_cmi);
  const kernels = median(samples.cmi_kernels);
  const teacherMs = median(samples.teacher_fb);
  const round = (v: number, d = 3) => Math.round(v * 10 ** d) / 10 ** d;
  return {
    dm_ms: round(dmMs),
    dm_cmi_ms: round(dmCmiMs),
    cmi_term_ms: round(dmCmiMs - dmMs),
    cmi_term_fraction: round((dmCmiMs - dmMs) / dmCmiMs, 4),
    cmi_kernels_ms: round(kernels),
    cmi_kernels_fraction: round(kernels / dmCmiMs, 4),
    teacher_fb_ms: round(teacherMs),
    teacher_fraction: round(teacherMs / dmCmiMs, 4),
    width,
    depth,
    batch_real: batchReal,
    ipc,
    classes,
    n,
    m,
    cmi_space: space,
    cmi_weight: opts.weight,
    dsa: opts.dsa,
    iterations,
    warmup,
    teacher: 'random-init ConvNet (timing only: the cost does not depend on the weights)',
    backend: tf.getBackend(),
    adapter,
    loadavg_1m: round(loadavg()[0], 2),
    samples: {
      dm: samples.dm.map((v) => round(v, 1)),
      dm_cmi: samples.dm_cmi.map((v) => round(v, 1)),
      cmi_kernels: samples.cmi_kernels.map((v) => round(v, 2)),
      teacher_fb: samples.teacher_fb.map((v) => round(v, 2)),
    },
  };
}
