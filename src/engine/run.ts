/**
 * The distillation run loop: owns the synthetic images (a tf.Variable, class-
 * major, IPC per class) and their optimiser, calls a Method and any LossPlugins
 * each iteration (see methods/types.ts), and reports everything as events so
 * that the CLI and the web worker can drive it the same way.
 *
 * Numbering: `iteration` in events is the number of optimisation steps already
 * applied. A 'metrics' event for iteration i carries the losses of the set after
 * i steps (measured just before step i+1 updates it); a 'snapshot' or 'eval' for
 * iteration i shows the set after i steps. Snapshots come at 0, every
 * snapshotEvery and at the end; evaluations at 0, every evalEvery and at the end
 * when evalEvery > 0 (iteration 0 is the "random real images" baseline, as the
 * reference evaluates it), otherwise only at the end.
 *
 * Determinism: every random choice comes from Rng streams derived from the run
 * seed (init, each iteration, evaluation), so a seed reproduces a run exactly on
 * a given backend. Evaluations at every checkpoint use the same seed, so they
 * train identically initialised nets and differences reflect the synthetic set.
 */
import * as tf from '@tensorflow/tfjs';
import { validateConfig, type DistillConfig } from './config';
import { UserError, type Normalization } from './data/types';
import { toPixels, type Subset } from './data/subset';
import { dsaAugment } from './augment/dsa';
import { evaluateSynthetic, type EvalResult, type EvaluateOptions } from './eval/evaluate';
import type { IterationContext, LossPlugin, Method } from './methods/types';
import { Rng } from './rng';
import { SgdMomentum, mixSeed, yieldToEventLoop } from './tensors';

export type RunState = 'running' | 'paused' | 'stopped' | 'done' | 'error';

export type RunEvent =
  | {
      type: 'metrics';
      iteration: number;
      /** Loss terms by name: the method's (e.g. dm) and each plugin's weight·term (0 while its weight is 0). */
      losses: Record<string, number>;
      /** Plugins' extra metrics (raw terms, per-class values…). */
      metrics: Record<string, number | number[]>;
      /** Wall time of the iteration. */
      ms: number;
    }
  | {
      type: 'snapshot';
      iteration: number;
      /** De-normalised 8-bit pixels, NHWC. */
      pixels: Uint8Array;
      labels: Int32Array;
      height: number;
      width: number;
      channels: number;
    }
  | { type: 'eval'; iteration: number; accuracy: EvalResult }
  | { type: 'progress'; phase: 'distill' | 'eval'; done: number; total: number; etaMs: number }
  | { type: 'state'; state: RunState }
  | { type: 'log'; message: string }
  | { type: 'error'; message: string };

/** The synthetic set at some moment, on the CPU (ready to export). */
export interface SyntheticSet {
  /** Normalised floats, NHWC. */
  images: Float32Array;
  /** De-normalised 8-bit pixels, NHWC. */
  pixels: Uint8Array;
  labels: Int32Array;
  classNames: string[];
  height: number;
  width: number;
  channels: number;
  normalization: Normalization;
  /** Steps applied to it. */
  iteration: number;
}

export interface RunResult {
  synthetic: SyntheticSet;
  /** The last evaluation (null when none ran). */
  accuracy: EvalResult | null;
  /** Steps done (less than config.iterations when stopped). */
  iterations: number;
  state: 'done' | 'stopped';
  timings: { msPerIteration: number; distillMs: number; evalMs: number; totalMs: number };
}

export interface RunOptions {
  config: DistillConfig;
  subset: Subset;
  method: Method;
  plugins?: LossPlugin[];
  onEvent: (e: RunEvent) => void;
  /**
   * Start from these images instead of config.init (e.g. to continue distilling an
   * imported set): normalised NHWC float32, class-major, IPC images per class.
   */
  initialImages?: Float32Array;
}

// stream tags, so that init, iterations and evaluation draw independent numbers
const INIT_STREAM = 0x1a17;
const STEP_STREAM = 0x57e9;
const EVAL_STREAM = 0xe7a1;

/**
 * The evaluation settings of a run's config (protocol.md), seeded with
 * mixSeed(config.seed, EVAL_STREAM): every evaluation of a run uses the same
 * nets, and `distillery eval` / the UI reproduce a run's accuracy exactly.
 */
export function evalSettings(config: DistillConfig): Pick<EvaluateOptions, 'net' | 'models' | 'epochs' | 'lr' | 'batch' | 'dsa' | 'seed'> {
  return {
    net: config.net,
    models: config.evalModels,
    epochs: config.evalEpochs,
    lr: config.evalLr,
    batch: config.evalBatch,
    dsa: config.dsa ? { strategy: config.dsaStrategy } : null,
    seed: mixSeed(config.seed, EVAL_STREAM),
  };
}

export class DistillationRun {
  readonly config: DistillConfig;
  private readonly startImages: Float32Array | null = null;
  private readonly subset: Subset;
  private readonly method: Method;
  private readonly plugins: LossPlugin[];
  private readonly emit: (e: RunEvent) => void;

  private synthetic: tf.Variable | null = null;
  private optimizer: SgdMomentum | null = null;
  private readonly labels: Int32Array;
  private lrImg: number;
  private done = 0;
  private started = false;
  private finished = false;
  private paused = false;
  private stopRequested = false;
  private waiters: (() => void)[] = [];
  private final: SyntheticSet | null = null;

  constructor(opts: RunOptions) {
    this.config = { ...opts.config, net: { ...opts.config.net } };
    this.subset = opts.subset;
    this.method = opts.method;
    this.plugins = opts.plugins ?? [];
    this.emit = opts.onEvent;
    const problems = validateConfig(this.config);
    if (problems.length > 0) throw new UserError(`invalid configuration: ${problems.join('; ')}`);
    this.lrImg = this.config.lrImg;
    const { ipc } = this.config;
    const numClasses = this.subset.train.numClasses;
    this.labels = Int32Array.from({ length: numClasses * ipc }, (_, i) => Math.floor(i / ipc));
    if (opts.initialImages) {
      const { height, width, channels } = this.subset.train;
      const expected = numClasses * ipc * height * width * channels;
      if (opts.initialImages.length !== expected) {
        throw new UserError(
          `the starting images hold ${opts.initialImages.length} values; ${numClasses} classes × IPC ${ipc} of ${height}×${width}×${channels} need ${expected}`,
        );
      }
      this.startImages = opts.initialImages;
    }
  }

  /** Pauses at the next iteration (or evaluation batch) boundary. */
  pause(): void {
    if (!this.started || this.finished || this.paused || this.stopRequested) return;
    this.paused = true;
    this.emit({ type: 'state', state: 'paused' });
  }

  resume(): void {
    if (!this.paused || this.finished) return;
    this.paused = false;
    this.emit({ type: 'state', state: 'running' });
    this.wake();
  }

  /** Ends after the current iteration (an evaluation under way is cut short); the final snapshot still comes. */
  stop(): void {
    if (this.finished) return;
    this.stopRequested = true;
    this.paused = false;
    this.wake();
  }

  /** Changes the image learning rate from the next step on. */
  setLrImg(lr: number): void {
    if (!(Number.isFinite(lr) && lr > 0)) throw new UserError(`lr-img must be a positive number (got ${lr})`);
    this.lrImg = lr;
    if (this.optimizer) this.optimizer.lr = lr;
  }

  get iterationsDone(): number {
    return this.done;
  }

  /** The synthetic set now (running, paused or finished): a consistent copy. */
  async getSynthetic(): Promise<SyntheticSet> {
    if (this.synthetic) {
      // clone shares the current data; a later assign() by the optimiser cannot free it under us
      const copy = tf.clone(this.synthetic) as tf.Tensor4D;
      const iteration = this.done;
      try {
        const [images, pixels] = await Promise.all([copy.data() as Promise<Float32Array>, toPixels(copy, this.norm)]);
        return this.describe(new Float32Array(images), pixels, iteration);
      } finally {
        copy.dispose();
      }
    }
    if (this.final) return copySet(this.final);
    throw new Error('the run has not created its synthetic set yet');
  }

  async run(): Promise<RunResult> {
    if (this.started) throw new Error('a DistillationRun can only run once');
    this.started = true;
    const cfg = this.config;
    const t0 = now();
    let distillMs = 0;
    let evalMs = 0;
    let accuracy: EvalResult | null = null;
    let lastSnapshot = -1;
    let lastEval = -1;
    let warnedNaN = false;
    const wantEval = cfg.evalModels > 0;

    const snapshot = async () => {
      if (lastSnapshot === this.done) return;
      lastSnapshot = this.done;
      const copy = tf.clone(this.synthetic!) as tf.Tensor4D;
      const pixels = await toPixels(copy, this.norm).finally(() => copy.dispose());
      const [, height, width, channels] = this.synthetic!.shape;
      // fresh arrays in every event, so a receiver may transfer them (postMessage) freely
      this.emit({ type: 'snapshot', iteration: this.done, pixels, labels: this.labels.slice(), height, width, channels });
    };

    const evaluate = async () => {
      if (!wantEval || lastEval === this.done || this.stopRequested) return;
      lastEval = this.done;
      const te = now();
      const images = tf.clone(this.synthetic!) as tf.Tensor4D;
      try {
        const res = await evaluateSynthetic({
          images,
          labels: this.labels,
          numClasses: this.subset.train.numClasses,
          test: this.subset.test,
          normalization: this.norm,
          ...evalSettings(cfg),
          onProgress: (done, total) => {
            const el = now() - te;
            this.emit({ type: 'progress', phase: 'eval', done, total, etaMs: (el / done) * (total - done) });
          },
          shouldStop: () => this.stopRequested,
          pauseGate: () => this.gate(),
        });
        if (!res.stopped) {
          accuracy = res;
          this.emit({ type: 'eval', iteration: this.done, accuracy: res });
        }
      } finally {
        images.dispose();
        evalMs += now() - te;
      }
    };

    this.emit({ type: 'state', state: 'running' });
    const pool = this.subset.train;
    this.emit({
      type: 'log',
      message:
        `${this.method.name}${this.plugins.map((p) => ' + ' + p.name).join('')}: ${pool.numClasses} classes × IPC ${cfg.ipc}, ` +
        `${pool.height}×${pool.width}×${pool.channels}, ConvNet width ${cfg.net.width} depth ${cfg.net.depth}, ` +
        `${cfg.iterations} iterations on ${tf.getBackend()}`,
    });
    try {
      const init = this.initialImages();
      this.synthetic = tf.variable(init, true, undefined, 'float32');
      init.dispose(); // the variable holds its own reference to the data
      // SGD with momentum exactly as torch.optim.SGD (v ← m·v + g; x ← x − lr·v), what
      // tf.train.momentum does too, but with a live lr and nothing left behind on dispose
      this.optimizer = new SgdMomentum(this.lrImg, cfg.momentumImg);
      const prepCtx = this.context(-1, new Rng(mixSeed(cfg.seed, STEP_STREAM, -1)));
      await this.method.prepare?.(prepCtx);
      for (const p of this.plugins) await p.prepare?.(prepCtx);

      await snapshot();
      if (cfg.evalEvery > 0) await evaluate();

      while (this.done < cfg.iterations) {
        await this.gate();
        if (this.stopRequested) break;
        const ts = now();
        const losses = await this.step();
        const ms = now() - ts;
        distillMs += ms;
        const metrics: Record<string, number | number[]> = {};
        for (const p of this.plugins) Object.assign(metrics, (p.readMetrics ? await p.readMetrics() : p.metrics?.()) ?? {});
        if (!warnedNaN && Object.values(losses).some((v) => !Number.isFinite(v))) {
          warnedNaN = true;
          this.emit({ type: 'log', message: `loss is not finite at iteration ${this.done - 1}: try a smaller lr-img` });
        }
        this.emit({ type: 'metrics', iteration: this.done - 1, losses, metrics, ms });
        const per = distillMs / this.done;
        this.emit({
          type: 'progress',
          phase: 'distill',
          done: this.done,
          total: cfg.iterations,
          etaMs: per * (cfg.iterations - this.done),
        });
        if (this.done % cfg.snapshotEvery === 0) await snapshot();
        if (cfg.evalEvery > 0 && this.done % cfg.evalEvery === 0 && this.done < cfg.iterations) await evaluate();
        await yieldToEventLoop();
      }

      await snapshot();
      await evaluate(); // skipped when stopped
      this.final = await this.getSynthetic();
      const state = this.stopRequested && this.done < cfg.iterations ? 'stopped' : 'done';
      this.finished = true;
      this.emit({ type: 'state', state });
      return {
        synthetic: this.final,
        accuracy,
        iterations: this.done,
        state,
        timings: {
          msPerIteration: this.done > 0 ? distillMs / this.done : NaN,
          distillMs,
          evalMs,
          totalMs: now() - t0,
        },
      };
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      // keep the images: whatever went wrong, the work so far can still be exported
      if (this.synthetic && !this.synthetic.isDisposed) {
        try {
          this.final = await this.getSynthetic();
        } catch {
          /* the backend itself failed; nothing more to save */
        }
      }
      this.finished = true;
      this.emit({ type: 'error', message });
      this.emit({ type: 'state', state: 'error' });
      throw e;
    } finally {
      this.finished = true;
      this.method.dispose?.();
      for (const p of this.plugins) p.dispose?.();
      this.optimizer?.dispose();
      this.optimizer = null;
      this.synthetic?.dispose();
      this.synthetic = null;
      this.wake();
    }
  }

  private get norm(): Normalization {
    return this.subset.train.normalization;
  }

  private describe(images: Float32Array, pixels: Uint8Array, iteration: number): SyntheticSet {
    const t = this.subset.train;
    return {
      images,
      pixels,
      labels: this.labels.slice(),
      classNames: this.subset.classNames,
      height: t.height,
      width: t.width,
      channels: t.channels,
      normalization: t.normalization,
      iteration,
    };
  }

  /** The given start images, else 'real': IPC random real images per class; 'noise': standard normal in normalised space. */
  private initialImages(): tf.Tensor4D {
    const cfg = this.config;
    const pool = this.subset.train;
    if (this.startImages) return tf.tensor4d(this.startImages, [this.labels.length, pool.height, pool.width, pool.channels]);
    const rng = new Rng(mixSeed(cfg.seed, INIT_STREAM));
    const n = pool.numClasses * cfg.ipc;
    if (cfg.init === 'noise') {
      return tf.tensor4d(rng.fill(n * pool.height * pool.width * pool.channels, (r) => r.normal()), [
        n,
        pool.height,
        pool.width,
        pool.channels,
      ]);
    }
    const parts: tf.Tensor4D[] = [];
    for (let c = 0; c < pool.numClasses; c++) {
      if (pool.count(c) === 0) throw new UserError(`class '${pool.classNames[c]}' has no training images`);
      parts.push(pool.sample(c, cfg.ipc, rng));
    }
    const x = tf.concat(parts, 0);
    tf.dispose(parts);
    return x;
  }

  private context(iteration: number, rng: Rng): IterationContext {
    const cfg = this.config;
    const augment = cfg.dsa
      ? (x: tf.Tensor4D, seed: number) => dsaAugment(x, { strategy: cfg.dsaStrategy, seed, mode: 'siamese' })
      : (x: tf.Tensor4D) => x;
    return {
      iteration,
      rng,
      config: cfg,
      synthetic: this.synthetic!,
      syntheticLabels: this.labels,
      numClasses: this.subset.train.numClasses,
      real: this.subset.train,
      augment,
    };
  }

  /** One optimisation step (increments `done`); returns the loss terms (one GPU→CPU read for all of them). */
  private async step(): Promise<Record<string, number>> {
    const cfg = this.config;
    const ctx = this.context(this.done, new Rng(mixSeed(cfg.seed, STEP_STREAM, this.done)));
    // weights as they are at the start of the step (a slider may move meanwhile)
    const active = this.plugins.map((p) => ({ plugin: p, weight: p.weight })).filter((a) => a.weight !== 0);
    const prepared: { endStep?(): void }[] = [];
    let terms: tf.Scalar[] = [];
    let stacked: tf.Tensor1D | null = null;
    try {
      prepared.push(this.method);
      this.method.prepareStep?.(ctx);
      // every plugin prepares, also at weight 0: its metrics (e.g. raw CMI) are reported regardless
      for (const plugin of this.plugins) {
        prepared.push(plugin);
        plugin.prepareStep?.(ctx);
      }
      const { value, grads } = tf.variableGrads(() => {
        const t: tf.Scalar[] = [this.method.loss(ctx)];
        for (const { plugin, weight } of active) t.push(tf.mul(plugin.loss(ctx), weight));
        terms = t.map((x) => tf.keep(x));
        return tf.addN(terms) as tf.Scalar;
      }, [this.synthetic!]);
      this.optimizer!.step([this.synthetic!], grads);
      this.done++; // now, so that getSynthetic() during the read below reports the right count
      tf.dispose([value, ...Object.values(grads)]);
      stacked = tf.stack(terms) as tf.Tensor1D;
      tf.dispose(terms);
      terms = [];
    } finally {
      for (const p of prepared) p.endStep?.();
      tf.dispose(terms);
    }
    const values = await stacked.data();
    stacked.dispose();
    const losses: Record<string, number> = { [this.method.name]: values[0] };
    for (const p of this.plugins) losses[p.name] = 0; // weight 0: the term is skipped, its share is 0
    active.forEach(({ plugin }, i) => (losses[plugin.name] = values[i + 1]));
    return losses;
  }

  /** Resolves at once unless paused; then when resumed or stopped. */
  private async gate(): Promise<void> {
    while (this.paused && !this.stopRequested) await new Promise<void>((r) => this.waiters.push(r));
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r();
  }
}

function copySet(s: SyntheticSet): SyntheticSet {
  return { ...s, images: s.images.slice(), pixels: s.pixels.slice(), labels: s.labels.slice() };
}

function now(): number {
  return typeof performance !== 'undefined' ? performance.now() : Date.now();
}
