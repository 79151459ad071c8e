/**
 * A pool of K CMI teachers for one subset: trained here, or loaded from a
 * TeacherStore when a pool with the same key was trained before.
 */
import type { NetConfig } from '../config';
import type { Subset } from '../data/subset';
import { UserError } from '../data/types';
import { testAccuracy } from '../eval/train';
import { disposeParams, type ConvNetSpec } from '../models/convnet';
import { Rng } from '../rng';
import { mixSeed } from '../tensors';
import { teacherPoolKey, type TeacherKeyInput } from './key';
import { deserializeTeacher, serializeTeacher } from './serialize';
import { trainTeacher } from './train';
import type { Teacher, TeacherPool, TeacherStore } from './types';

/** Optimiser settings with the reference's defaults (lr 0.01, momentum 0.9, weight decay 0.001, batch 256). */
type OptimiserSettings = 'lr' | 'momentum' | 'weightDecay' | 'batch';

/** What the pool is trained from (see TeacherKeyInput: every field is part of the cache key). */
export interface TeacherPoolOptions
  extends Omit<TeacherKeyInput, OptimiserSettings>,
    Partial<Pick<TeacherKeyInput, OptimiserSettings>> {
  /** done/total in epochs over all teachers (total = K · epochs); `what` is a one-line status. */
  onProgress?: (done: number, total: number, what: string) => void;
  /** Polled between batches; true ends training with a TeacherTrainingStopped error. */
  shouldStop?: () => boolean;
}

/** Training was cut short by shouldStop(); nothing is kept or stored. */
export class TeacherTrainingStopped extends Error {
  constructor() {
    super('teacher training was stopped');
    this.name = 'TeacherTrainingStopped';
  }
}

const TEACHER_STREAM = 0x7eac;

function resolved(opts: TeacherPoolOptions) {
  const lr = opts.lr ?? 0.01;
  const momentum = opts.momentum ?? 0.9;
  const weightDecay = opts.weightDecay ?? 0.001;
  const batch = opts.batch ?? 256;
  if (!Number.isInteger(opts.count) || opts.count < 1) throw new UserError(`teacher count must be a whole number ≥ 1 (got ${opts.count})`);
  if (!Number.isInteger(opts.epochs) || opts.epochs < 1) throw new UserError(`teacher epochs must be a whole number ≥ 1 (got ${opts.epochs})`);
  if (!(lr > 0)) throw new UserError(`teacher lr must be positive (got ${lr})`);
  if (!Number.isInteger(batch) || batch < 1) throw new UserError(`teacher batch must be a whole number ≥ 1 (got ${batch})`);
  return { ...opts, lr, momentum, weightDecay, batch };
}

export function teacherSpec(subset: Subset, net: NetConfig, firstConvPadding?: number): ConvNetSpec {
  const t = subset.train;
  const spec: ConvNetSpec = { channels: t.channels, height: t.height, width: t.width, numClasses: t.numClasses, net: { ...net } };
  if (firstConvPadding !== undefined) spec.firstConvPadding = firstConvPadding;
  return spec;
}

/** The cache key for these options (see key.ts). */
export function teacherPoolKeyFor(opts: TeacherPoolOptions): Promise<string> {
  return teacherPoolKey(resolved(opts));
}

/** Wraps trained or loaded teachers; pick() draws one uniformly with rng.int. */
export function makeTeacherPool(teachers: Teacher[], key: string): TeacherPool {
  if (teachers.length === 0) throw new Error('a teacher pool needs at least one teacher');
  let disposed = false;
  return {
    teachers,
    key,
    pick(rng: Rng): Teacher {
      if (disposed) throw new Error('the teacher pool has been disposed');
      return teachers[rng.int(0, teachers.length - 1)];
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const t of teachers) disposeParams(t.params);
    },
  };
}

/** Trains K teachers on the subset's real training images and measures each on subset.test. */
export async function trainTeacherPool(opts: TeacherPoolOptions): Promise<TeacherPool> {
  const o = resolved(opts);
  const key = await teacherPoolKey(o);
  const spec = teacherSpec(o.subset, o.net, o.firstConvPadding);
  const total = o.count * o.epochs;
  const teachers: Teacher[] = [];
  try {
    for (let i = 0; i < o.count; i++) {
      const seed = mixSeed(o.seed, TEACHER_STREAM, i);
      const trained = await trainTeacher({
        spec,
        real: o.subset.train,
        epochs: o.epochs,
        lr: o.lr,
        momentum: o.momentum,
        weightDecay: o.weightDecay,
        batch: o.batch,
        rng: new Rng(seed),
        shouldStop: o.shouldStop,
        onEpoch: (ep, loss) =>
          o.onProgress?.(i * o.epochs + ep + 1, total, `teacher ${i + 1}/${o.count}: epoch ${ep + 1}/${o.epochs}, loss ${loss.toFixed(4)}`),
      });
      let acc = NaN;
      try {
        if (!trained.stopped) {
          acc = await testAccuracy(trained.params, spec, o.subset.test, o.subset.train.normalization, {
            bnState: trained.bnState,
            shouldStop: o.shouldStop,
          });
        }
      } finally {
        disposeParams(trained.bnState); // teachers run with batch statistics (as the reference's train-mode teacher)
      }
      teachers.push({ params: trained.params, spec, testAccuracy: acc, epochs: o.epochs, seed });
      if (trained.stopped || o.shouldStop?.()) throw new TeacherTrainingStopped();
      o.onProgress?.((i + 1) * o.epochs, total, `teacher ${i + 1}/${o.count}: test accuracy ${(acc * 100).toFixed(1)}%`);
    }
  } catch (e) {
    for (const t of teachers) disposeParams(t.params);
    throw e;
  }
  return makeTeacherPool(teachers, key);
}

export interface LoadedTeacherPool extends TeacherPool {
  /** True when the pool came from the store, false when it was trained now. */
  fromCache: boolean;
}

/**
 * The pool for these options from `store` when stored under the same key
 * (and complete); otherwise trains it and stores it. A store that fails to
 * read or write is reported through onProgress and otherwise ignored: the
 * pool is still returned.
 */
export async function loadOrTrainTeacherPool(store: TeacherStore | null, opts: TeacherPoolOptions): Promise<LoadedTeacherPool> {
  const o = resolved(opts);
  const key = await teacherPoolKey(o);
  const total = o.count * o.epochs;
  if (store) {
    let items: Awaited<ReturnType<TeacherStore['get']>> = null;
    try {
      items = await store.get(key);
    } catch (e) {
      o.onProgress?.(0, total, `teacher cache unreadable (${errorText(e)}); training anew`);
    }
    if (items && items.length === o.count) {
      const teachers: Teacher[] = [];
      try {
        for (const item of items) teachers.push(deserializeTeacher(item));
        o.onProgress?.(total, total, `loaded ${o.count} cached teacher(s), test accuracy ${accuracies(teachers)}`);
        return { ...makeTeacherPool(teachers, key), fromCache: true };
      } catch (e) {
        for (const t of teachers) disposeParams(t.params);
        o.onProgress?.(0, total, `cached teachers unusable (${errorText(e)}); training anew`);
      }
    }
  }
  const pool = await trainTeacherPool(o);
  if (store) {
    try {
      await store.put(key, await Promise.all(pool.teachers.map(serializeTeacher)));
    } catch (e) {
      o.onProgress?.(total, total, `could not store the teachers (${errorText(e)})`);
    }
  }
  return { ...pool, fromCache: false };
}

function accuracies(ts: Teacher[]): string {
  return ts.map((t) => `${(t.testAccuracy * 100).toFixed(1)}%`).join(', ');
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
