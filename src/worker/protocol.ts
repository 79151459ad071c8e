/**
 * The typed protocol between the page and the compute worker (src/worker/worker.ts),
 * spoken through comlink: the page holds a `Remote<WorkerApi>` and passes its
 * callbacks wrapped in `Comlink.proxy(...)`. Events are the engine's RunEvent
 * (snapshot pixels are transferred, not copied) plus one 'ready' event that
 * tells the page what the run is about before the first snapshot.
 */
import type { BackendChoice } from '../engine/backend';
import type { DistillConfig } from '../engine/config';
import type { RunEvent, RunResult } from '../engine/run';

/** Sent once per run, after the data is loaded and before the run's first event. */
export interface ReadyEvent {
  type: 'ready';
  dataset: string;
  /** Names of the run's classes, in subset order (= synthetic label order). */
  classNames: string[];
  /** Real training images per class actually available to the run. */
  realPerClass: number[];
  backend: BackendChoice;
}

export type WorkerEvent = RunEvent | ReadyEvent;

export interface RunCallbacks {
  onEvent(event: WorkerEvent): void;
}

/** What start() resolves to: RunResult without the (large) synthetic set; export() gives that. */
export type RunSummary = Omit<RunResult, 'synthetic'>;

export interface WorkerApi {
  /**
   * Chooses the tfjs backend (once; a later call with another preference
   * chooses again). Rejects with a one-line message when none is usable.
   */
  backend(pref?: DistillConfig['backend']): Promise<BackendChoice>;
  /**
   * Runs a distillation to its end (or stop()); events arrive through
   * callbacks meanwhile. Rejects (after an 'error' event) when the run fails,
   * and at once when a run is already under way or the config is invalid.
   */
  start(config: DistillConfig, callbacks: RunCallbacks): Promise<RunSummary>;
  pause(): void;
  resume(): void;
  stop(): void;
  /** The synthetic set of the current or last run as a zip (see engine/export/zip.ts); bytes transferred. */
  export(): Promise<Uint8Array>;
}
