/**
 * The compute worker: every tensor of the browser app lives here, so the page
 * stays responsive. It chooses the tfjs backend (webgpu → webgl → wasm → cpu),
 * loads the data, runs the engine's DistillationRun and forwards its events to
 * the page (protocol.ts). One run at a time.
 */
import * as Comlink from 'comlink';
import { selectBackend, assertCapabilities, type BackendChoice } from '../engine/backend';
import { validateConfig, type DistillConfig } from '../engine/config';
import { loadBuiltinDataset } from '../engine/data/builtin';
import { makeSubset } from '../engine/data/subset';
import { UserError, type ImageDataset } from '../engine/data/types';
import { exportSyntheticZip } from '../engine/export/zip';
import { dmMethod } from '../engine/methods/dm';
import { DistillationRun, type RunEvent } from '../engine/run';
import type { RunCallbacks, RunSummary, WorkerApi, WorkerEvent } from './protocol';
import { WASM_PATHS } from './wasmPaths';

let choice: Promise<BackendChoice> | null = null;
let choicePref: DistillConfig['backend'] | null = null;
let run: DistillationRun | null = null;
let running = false;
let lastMeta: Record<string, unknown> = {};
const datasets = new Map<string, ImageDataset>();

function chooseBackend(pref: DistillConfig['backend'] = 'auto'): Promise<BackendChoice> {
  if (!choice || choicePref !== pref) {
    choicePref = pref;
    choice = selectBackend(pref, { wasmPaths: WASM_PATHS });
    // a failed choice may be retried (e.g. with another preference)
    choice.catch(() => {
      choice = null;
    });
  }
  return choice;
}

function loadDataset(name: string): ImageDataset {
  const cached = datasets.get(name);
  if (cached) return cached;
  if (name !== 'builtin') {
    throw new UserError(`dataset '${name}' cannot be loaded in the browser yet; use 'builtin'`);
  }
  const ds = loadBuiltinDataset();
  datasets.set(name, ds);
  return ds;
}

/** The buffers an event can hand over instead of copying (only ones the engine does not keep). */
function transferables(e: WorkerEvent): Transferable[] {
  // snapshot pixels are made fresh for each event; labels are the run's own array, so they are copied
  return e.type === 'snapshot' ? [e.pixels.buffer as ArrayBuffer] : [];
}

function forward(callbacks: RunCallbacks, e: WorkerEvent): void {
  // fire and forget: a page that went away must not break the run
  Promise.resolve(callbacks.onEvent(Comlink.transfer(e, transferables(e)))).catch(() => {});
}

const api: WorkerApi = {
  backend(pref = 'auto') {
    return chooseBackend(pref);
  },

  async start(config: DistillConfig, callbacks: RunCallbacks): Promise<RunSummary> {
    if (running) throw new UserError('a run is already under way');
    const problems = validateConfig(config);
    if (problems.length) throw new UserError(`invalid settings: ${problems.join('; ')}`);
    if (config.method !== 'dm') throw new UserError(`method '${config.method}' is not available in the browser yet`);
    running = true;
    try {
      const backend = await chooseBackend(config.backend);
      assertCapabilities(backend, { distill: true, train: config.evalModels > 0 });
      forward(callbacks, { type: 'log', message: `loading the ${config.dataset} dataset` });
      const dataset = loadDataset(config.dataset);
      const subset = makeSubset(dataset, { classes: config.classes, realPerClass: config.realPerClass, seed: config.seed });
      forward(callbacks, {
        type: 'ready',
        dataset: dataset.name,
        classNames: subset.classNames,
        realPerClass: subset.classNames.map((_, k) => subset.train.count(k)),
        backend,
      });
      lastMeta = { config, dataset: dataset.name, backend: { name: backend.name, adapter: backend.adapter ?? null } };
      run = new DistillationRun({
        config,
        subset,
        method: dmMethod(),
        onEvent: (e: RunEvent) => forward(callbacks, e),
      });
      const { synthetic: _synthetic, ...summary } = await run.run();
      lastMeta = { ...lastMeta, iterations: summary.iterations, accuracy: summary.accuracy, timings: summary.timings };
      return summary;
    } finally {
      running = false;
    }
  },

  pause() {
    run?.pause();
  },

  resume() {
    run?.resume();
  },

  stop() {
    run?.stop();
  },

  async export(): Promise<Uint8Array> {
    if (!run) throw new UserError('nothing to export yet: start a run first');
    const set = await run.getSynthetic();
    const bytes = exportSyntheticZip({ ...set, meta: { ...lastMeta, iteration: set.iteration } });
    return Comlink.transfer(bytes, [bytes.buffer as ArrayBuffer]);
  },
};

Comlink.expose(api);
