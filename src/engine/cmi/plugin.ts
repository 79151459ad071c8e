/**
 * The CMI loss plug-in: total = L_method + λ · CMI(S), where CMI(S) is the
 * class-aware conditional mutual information of the *un-augmented* synthetic
 * set under a frozen teacher picked at random (seeded) from a pool every
 * iteration (../../../../shared/design/cmi.md "How the reference code uses it").
 * z is the teacher's embedding ('feature', default, as the reference) or its
 * class logits ('logit'); λ and the space may change between iterations.
 *
 * Cost: with λ > 0 the teacher runs once per iteration (inside the tape, in
 * loss()); the metrics reuse that z with a forward-only CMI outside the tape.
 * With λ = 0 there is no tape work at all: one teacher forward and a
 * forward-only CMI for the metrics. Metric values come back with one async
 * read started at endStep, so the loop's own loss read finds them ready.
 *
 * Metrics (every iteration, also at λ = 0):
 *   cmi                 raw CMI(S) (no λ), nats
 *   cmi_per_class       mean KL of each class's images to their centroid
 *   cmi_real            CMI of a fixed real sample (IPC per class) under the same teacher and space
 *   cmi_real_per_class  its per-class values
 *   cmi_teacher         index of the teacher used
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../data/types';
import type { IterationContext, LossPlugin } from '../methods/types';
import { convNetEmbed, convNetLogits } from '../models/convnet';
import { Rng } from '../rng';
import { mixSeed } from '../tensors';
import type { Teacher, TeacherPool } from '../teachers/types';
import { cmi, cmiForward } from './cmi';
import { buildRealReference, type CmiSpace, type RealReference } from './realReference';

export type { CmiSpace } from './realReference';

export interface CmiPluginOptions {
  /** λ (≥ 0). The reference's values are in the thousands for DM (see cmi.md). */
  weight: number;
  /** 'feature' (default): teacher embedding; 'logit': teacher class logits. */
  space?: CmiSpace;
  /** Softmax temperature T (default 1, as the reference). */
  temperature?: number;
  pool: TeacherPool;
  /** Report cmi_real (default true). */
  realReference?: boolean;
  /** Dispose the pool with the plugin (default false: a pool is reused across runs). */
  ownsPool?: boolean;
}

export type CmiMetrics = Record<string, number | number[]>;

export interface CmiPlugin extends LossPlugin {
  readonly name: 'cmi';
  /** The space the next iteration uses. */
  readonly space: CmiSpace;
  setSpace(space: CmiSpace): void;
  /** Metrics of the last step, awaiting their GPU read if still in flight (never a sync read). */
  readMetrics(): Promise<CmiMetrics>;
}

const REAL_STREAM = 0x4ea1;
const FALLBACK_STREAM = 0xfa11;

interface Pending {
  seq: number;
  tensor: tf.Tensor1D;
  teacher: Teacher;
  space: CmiSpace;
  promise: Promise<void>;
  done: boolean;
}

export function checkSpace(space: string): CmiSpace {
  if (space !== 'feature' && space !== 'logit') throw new UserError(`CMI space must be 'feature' or 'logit' (got '${space}')`);
  return space;
}

/** z of the teacher for x in the given space: one forward (logits = embedding · W + b). */
function teacherZ(teacher: Teacher, x: tf.Tensor4D, space: CmiSpace): tf.Tensor2D {
  // training mode = batch statistics for a batch-norm teacher (the reference runs its teacher in train());
  // no bnState is passed, so nothing of the teacher changes
  return space === 'feature'
    ? convNetEmbed(teacher.params, teacher.spec, x, { training: true })
    : convNetLogits(teacher.params, teacher.spec, x, { training: true });
}

export function createCmiPlugin(opts: CmiPluginOptions): CmiPlugin {
  const pool = opts.pool;
  const temperature = opts.temperature ?? 1;
  if (!(Number.isFinite(opts.weight) && opts.weight >= 0)) throw new UserError(`CMI weight λ must be a number ≥ 0 (got ${opts.weight})`);
  if (!(Number.isFinite(temperature) && temperature > 0)) throw new UserError(`CMI temperature must be positive (got ${temperature})`);
  let space = checkSpace(opts.space ?? 'feature');
  const wantReal = opts.realReference ?? true;

  // bound at prepare(): the loop's synthetic variable (same object all run) and labels
  let bound: { synthetic: tf.Variable; labels: Int32Array; numClasses: number; seed: number } | null = null;
  let realRef: RealReference | null = null;
  // this step
  let step: { teacher: Teacher; space: CmiSpace } | null = null;
  let z: tf.Tensor2D | null = null;
  let stepSeq = 0; // prepareStep calls so far
  let metricsSeenAt = 0; // stepSeq at the last metrics() call
  let fallbackCount = 0;
  // metric reads
  let readSeq = 0;
  let pending: Pending | null = null;
  let last: CmiMetrics = {};
  let lastSeq = 0;
  let disposed = false;

  const cmiOpts = () => ({ numClasses: bound!.numClasses, temperature });

  /** [CMI, per-class…] of z, forward only (no tape: called outside variableGrads). */
  const packForward = (zz: tf.Tensor2D): tf.Tensor1D =>
    tf.tidy(() => {
      const { value, perClass } = cmiForward(zz, bound!.labels, cmiOpts());
      return tf.concat([value.reshape([1]), perClass]) as tf.Tensor1D;
    });

  const build = (values: ArrayLike<number>, teacher: Teacher, sp: CmiSpace): CmiMetrics => {
    const m: CmiMetrics = {
      cmi: values[0],
      cmi_per_class: Array.from(values).slice(1),
      cmi_teacher: pool.teachers.indexOf(teacher),
    };
    const r = realRef?.get(teacher, sp);
    if (r) {
      m.cmi_real = r.value;
      m.cmi_real_per_class = r.perClass;
    }
    return m;
  };

  /** Starts the one async read of a step's metrics; the latest finished read becomes `last`. */
  const startRead = (tensor: tf.Tensor1D, teacher: Teacher, sp: CmiSpace) => {
    const p: Pending = { seq: ++readSeq, tensor, teacher, space: sp, promise: Promise.resolve(), done: false };
    p.promise = tensor.data().then(
      (values) => {
        p.done = true;
        if (p.seq > lastSeq) {
          lastSeq = p.seq;
          last = build(values, teacher, sp);
        }
        tensor.dispose();
      },
      () => {
        p.done = true; // disposed under us (dispose() mid-read): nothing to report
      },
    );
    pending = p;
  };

  /** Sync read where it is cheap (cpu/wasm; webgl after the loop's own read); never on webgpu. */
  const settle = (): CmiMetrics => {
    const p = pending;
    if (p && !p.done && p.seq > lastSeq && !p.tensor.isDisposed && tf.getBackend() !== 'webgpu') {
      lastSeq = p.seq;
      last = build(p.tensor.dataSync(), p.teacher, p.space);
    }
    return last;
  };

  const freeStep = () => {
    z?.dispose();
    z = null;
    step = null;
  };

  const plugin: CmiPlugin = {
    name: 'cmi',
    weight: opts.weight,

    get space() {
      return space;
    },

    setSpace(s: CmiSpace) {
      space = checkSpace(s);
    },

    async prepare(ctx: IterationContext) {
      const t = pool.teachers[0];
      const { real } = ctx;
      if (!t) throw new Error('CMI: the teacher pool is empty');
      const s = t.spec;
      if (s.channels !== real.channels || s.height !== real.height || s.width !== real.width || s.numClasses !== ctx.numClasses) {
        throw new UserError(
          `CMI teachers were trained for ${s.numClasses} classes of ${s.height}×${s.width}×${s.channels} images, ` +
            `the run has ${ctx.numClasses} classes of ${real.height}×${real.width}×${real.channels}`,
        );
      }
      bound = { synthetic: ctx.synthetic, labels: ctx.syntheticLabels, numClasses: ctx.numClasses, seed: ctx.config.seed };
      if (wantReal) {
        realRef = await buildRealReference({
          real,
          ipc: ctx.config.ipc,
          teachers: pool.teachers,
          temperature,
          rng: new Rng(mixSeed(ctx.config.seed, REAL_STREAM)),
        });
      }
    },

    prepareStep(ctx: IterationContext) {
      freeStep();
      if (!bound) bound = { synthetic: ctx.synthetic, labels: ctx.syntheticLabels, numClasses: ctx.numClasses, seed: ctx.config.seed };
      stepSeq++;
      step = { teacher: pool.pick(ctx.rng), space };
      if (plugin.weight === 0) {
        // λ = 0: no loss() this step; the metrics need one forward pass, outside any tape
        const tensor = tf.tidy(() => packForward(teacherZ(step!.teacher, ctx.synthetic as tf.Tensor as tf.Tensor4D, step!.space)));
        startRead(tensor, step.teacher, step.space);
      }
    },

    loss(ctx: IterationContext): tf.Scalar {
      if (!bound) bound = { synthetic: ctx.synthetic, labels: ctx.syntheticLabels, numClasses: ctx.numClasses, seed: ctx.config.seed };
      if (!step) {
        stepSeq++;
        step = { teacher: pool.pick(ctx.rng), space };
      }
      z?.dispose();
      // kept past the tape so endStep can compute the metrics from it without a second teacher pass
      z = tf.keep(teacherZ(step.teacher, ctx.synthetic as tf.Tensor as tf.Tensor4D, step.space));
      return cmi(z, ctx.syntheticLabels, cmiOpts());
    },

    endStep() {
      if (z && step) startRead(packForward(z), step.teacher, step.space);
      freeStep();
    },

    metrics(): CmiMetrics {
      if (disposed || !bound) return last;
      if (stepSeq === metricsSeenAt) {
        // No step was prepared since the last call: the loop skips plugins with λ = 0. Measure the
        // set as it is now (after the update), with a teacher from the plugin's own seeded stream.
        const teacher = pool.pick(new Rng(mixSeed(bound.seed, FALLBACK_STREAM, fallbackCount++)));
        const sp = space;
        const b = bound;
        startRead(tf.tidy(() => packForward(teacherZ(teacher, b.synthetic as tf.Tensor as tf.Tensor4D, sp))), teacher, sp);
      }
      metricsSeenAt = stepSeq;
      return settle();
    },

    async readMetrics(): Promise<CmiMetrics> {
      if (pending) await pending.promise;
      return last;
    },

    dispose() {
      if (disposed) return;
      disposed = true;
      freeStep();
      if (pending && !pending.done) pending.tensor.dispose();
      pending = null;
      realRef = null;
      if (opts.ownsPool) pool.dispose();
    },
  };
  return plugin;
}
