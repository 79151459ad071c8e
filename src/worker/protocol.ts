/**
 * The typed protocol between the page and the compute worker (src/worker/worker.ts),
 * spoken through comlink: the page holds a `Remote<WorkerApi>` and passes its
 * callbacks wrapped in `Comlink.proxy(...)`. Run events are the engine's
 * RunEvent (snapshot pixels are transferred, not copied) plus a few of the
 * worker's own (ready, teachers, task progress). Large byte arrays (dataset
 * files, zips) are transferred in both directions.
 */
import type { BackendChoice } from '../engine/backend';
import type { DistillConfig } from '../engine/config';
import type { EvalResult } from '../engine/eval/evaluate';
import type { RunEvent, RunResult, SyntheticSet } from '../engine/run';

export type CmiSpace = 'feature' | 'logit';

export interface CmiRunSettings {
  weight: number;
  space: CmiSpace;
  teachers: number;
  teacherEpochs: number;
}

/** Where a dataset comes from. Files are read on the main thread and transferred. */
export type DatasetSource =
  | { kind: 'builtin' }
  | { kind: 'catalog'; id: string }
  | { kind: 'files'; name: string; files: { path: string; bytes: Uint8Array }[] };

/** What the page shows of a loaded dataset (the images stay in the worker). */
export interface DatasetInfo {
  /** The key runs name it by (DistillConfig.dataset). */
  id: string;
  name: string;
  classNames: string[];
  height: number;
  width: number;
  channels: number;
  trainPerClass: number[];
  testCount: number;
  /** One training image per class, NHWC 8-bit (class order). */
  thumbnails: Uint8Array;
}

/** Progress of a slow task outside the distillation loop. */
export interface TaskProgress {
  type: 'task';
  phase: 'data' | 'teachers' | 'export' | 'import' | 'eval';
  done: number;
  total: number;
  what: string;
}

/** Sent once per run, after the data is loaded and before the run's first event. */
export interface ReadyEvent {
  type: 'ready';
  dataset: string;
  /** Names of the run's classes, in subset order (= synthetic label order). */
  classNames: string[];
  realPerClass: number[];
  backend: BackendChoice;
  /** Whether the CMI term uses the fused WebGPU kernels (else the reference ops). */
  fusedCmi: boolean;
}

export interface TeachersEvent {
  type: 'teachers';
  accuracies: number[];
  fromCache: boolean;
  ms: number;
}

export type WorkerEvent = RunEvent | ReadyEvent | TeachersEvent | TaskProgress;

export interface RunCallbacks {
  onEvent(event: WorkerEvent): void;
}

export interface ProgressCallback {
  onProgress(p: TaskProgress): void;
}

/** What start() resolves to: RunResult without the (large) synthetic set; exportRun() gives that. */
export type RunSummary = Omit<RunResult, 'synthetic'>;

export interface StartOptions {
  /** Page's id of the run: its synthetic set is kept under it for export. */
  runId: number;
  config: DistillConfig;
  cmi: CmiRunSettings;
  /** Start from the imported set instead of config.init. */
  fromImported?: boolean;
}

/** A synthetic set as 8-bit pixels, ready to draw (no floats: the page only renders). */
export type ImageSnapshot = Pick<SyntheticSet, 'iteration' | 'pixels' | 'labels' | 'classNames' | 'height' | 'width' | 'channels'>;

/** An imported synthetic set, ready to draw. */
export interface ImportedSet extends Omit<ImageSnapshot, 'iteration'> {
  ipc: number;
  source: 'npy' | 'png';
  meta: Record<string, unknown>;
}

export interface SpeedProbe {
  /** Measured FLOP/s of ConvNet forward+backward at the run's width/depth on this backend. */
  flopsPerSecond: number;
  /** flopsPerImage of the probed net (forward, one image): the page's estimate needs it and must not load tfjs. */
  flopsPerImage: number;
  ms: number;
  backend: string;
}

export interface WorkerApi {
  /** Chooses the tfjs backend (once per preference). Rejects with a one-line message when none is usable. */
  backend(pref?: DistillConfig['backend']): Promise<BackendChoice>;
  /** Loads (and keeps) a dataset; reports download/decoding progress. */
  loadDataset(source: DatasetSource, progress: ProgressCallback): Promise<DatasetInfo>;
  /** Times a few ConvNet forward+backward passes on the current backend. */
  probeSpeed(config: DistillConfig, shape: { height: number; width: number; channels: number; numClasses: number }): Promise<SpeedProbe>;
  /**
   * Runs a distillation to its end (or stop()); events arrive through
   * callbacks meanwhile. Rejects when the run fails, and at once when a run
   * is already under way or the config is invalid.
   */
  start(opts: StartOptions, callbacks: RunCallbacks): Promise<RunSummary>;
  pause(): void;
  resume(): void;
  stop(): void;
  /** Live λ (the plugin's weight from the next iteration on). */
  setLambda(weight: number): void;
  setLrImg(lr: number): void;
  setSpace(space: CmiSpace): void;
  /** The synthetic set of a run (current or finished) or of the import (runId -1) as a zip; bytes transferred. */
  exportRun(runId: number, meta: Record<string, unknown>, progress: ProgressCallback): Promise<Uint8Array>;
  /** Reads a zip written by exportRun / the CLI; keeps it as runId -1. */
  importZip(bytes: Uint8Array, progress: ProgressCallback): Promise<ImportedSet>;
  /** Evaluates the imported set on the dataset/net of `config` (its classes must match). */
  evaluateImported(config: DistillConfig, progress: ProgressCallback): Promise<EvalResult>;
}
