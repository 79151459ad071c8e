/**
 * The compute worker: every tensor of the browser app lives here, so the page
 * stays responsive. It chooses the tfjs backend (webgpu → webgl → wasm → cpu),
 * loads and decodes datasets, trains (or loads from IndexedDB) the CMI
 * teachers, runs the engine's DistillationRun with the CMI plug-in and
 * forwards its events to the page (protocol.ts). One run at a time.
 */
import * as tf from '@tensorflow/tfjs';
import * as Comlink from 'comlink';
import { selectBackend, assertCapabilities, type BackendChoice } from '../engine/backend';
import { validateConfig, type DistillConfig } from '../engine/config';
import { createCmiPlugin, type CmiPlugin } from '../engine/cmi';
import { loadBuiltinDataset } from '../engine/data/builtin';
import { fetchCatalogFiles } from '../engine/data/browserFetch';
import { loadDatasetFromFiles } from '../engine/data/load';
import { makeSubset } from '../engine/data/subset';
import { UserError, type ImageDataset } from '../engine/data/types';
import { evaluateSynthetic, type EvalResult } from '../engine/eval/evaluate';
import { denormalizeToPixels, exportSyntheticZip, importSyntheticZip, type SyntheticImport } from '../engine/export/zip';
import { dmMethod } from '../engine/methods/dm';
import { convNetEmbed, disposeParams, flopsPerImage, initConvNet } from '../engine/models/convnet';
import { Rng } from '../engine/rng';
import { DistillationRun, evalSettings, type RunEvent, type SyntheticSet } from '../engine/run';
import { idbTeacherStore, loadOrTrainTeacherPool, type TeacherPool } from '../engine/teachers';
import type {
  DatasetInfo,
  DatasetSource,
  ImportedSet,
  ProgressCallback,
  RunCallbacks,
  RunSummary,
  StartOptions,
  TaskProgress,
  WorkerApi,
  WorkerEvent,
} from './protocol';
import { WASM_PATHS } from './wasmPaths';

/** Same seed as the CLI's default --teacher-seed: runs with other seeds reuse the cached pool. */
const TEACHER_SEED = 0;
/** Snapshots forwarded at most this often; the rest are dropped (the last one always goes). */
const SNAPSHOT_MIN_MS = 250;
/** Finished runs whose synthetic sets are kept for export. */
const KEEP_RUNS = 20;

let choice: Promise<BackendChoice> | null = null;
let choicePref: DistillConfig['backend'] | null = null;
let run: DistillationRun | null = null;
let runId = -1;
let plugin: CmiPlugin | null = null;
let running = false;
/** Set by stop(): ends teacher training too (the run itself has its own flag). */
let stopTeachers = false;
const datasets = new Map<string, ImageDataset>();
const finished = new Map<number, { set: SyntheticSet; config: DistillConfig }>();
let imported: SyntheticImport | null = null;
const pools = new Map<string, TeacherPool>();

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

function report(cb: ProgressCallback | undefined, p: Omit<TaskProgress, 'type'>): void {
  if (!cb) return;
  Promise.resolve(cb.onProgress({ type: 'task', ...p })).catch(() => {});
}

function datasetInfo(id: string, ds: ImageDataset): DatasetInfo {
  const { height: h, width: w, channels: c } = ds;
  const size = h * w * c;
  const thumbs = new Uint8Array(ds.classNames.length * size);
  const perClass = ds.classNames.map(() => 0);
  const seen = new Set<number>();
  for (let i = 0; i < ds.train.count; i++) {
    const k = ds.train.labels[i];
    perClass[k]++;
    if (!seen.has(k)) {
      seen.add(k);
      thumbs.set(ds.train.images.subarray(i * size, (i + 1) * size), k * size);
    }
  }
  return { id, name: ds.name, classNames: ds.classNames, height: h, width: w, channels: c, trainPerClass: perClass, testCount: ds.test.count, thumbnails: thumbs };
}

function getDataset(id: string): ImageDataset {
  const ds = datasets.get(id);
  if (ds) return ds;
  if (id === 'builtin') {
    const b = loadBuiltinDataset();
    datasets.set(id, b);
    return b;
  }
  throw new UserError(`dataset '${id}' is not loaded: choose it again under Dataset`);
}

/** The buffers an event can hand over instead of copying (only ones the engine does not keep). */
function transferables(e: WorkerEvent): Transferable[] {
  return e.type === 'snapshot' ? [e.pixels.buffer as ArrayBuffer] : [];
}

function errorText(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  // tfjs/WebGPU failures are long; the first line says what happened
  const line = m.split('\n')[0];
  if (/out of memory|OOM|allocation/i.test(line)) return `out of memory: ${line} (try a smaller IPC, batch or network width)`;
  if (/device (was )?lost|GPUDevice/i.test(line)) return `the GPU device was lost: ${line} (reload the page; exports of finished runs still work until then)`;
  return line;
}

const api: WorkerApi = {
  backend(pref = 'auto') {
    return chooseBackend(pref);
  },

  async loadDataset(source: DatasetSource, progress: ProgressCallback): Promise<DatasetInfo> {
    const t0 = performance.now();
    let id: string;
    let ds: ImageDataset;
    if (source.kind === 'builtin') {
      id = 'builtin';
      report(progress, { phase: 'data', done: 0, total: 1, what: 'generating the builtin dataset' });
      ds = getDataset(id);
    } else if (source.kind === 'catalog') {
      id = source.id;
      const have = datasets.get(id);
      if (have) ds = have;
      else {
        const files = await fetchCatalogFiles(id, (done, total, what) => report(progress, { phase: 'data', done, total, what: `downloading ${what}` }));
        ds = await loadDatasetFromFiles(files, {
          name: id,
          onProgress: (done, total, what) => report(progress, { phase: 'data', done, total, what: `decoding ${what}` }),
        });
      }
    } else {
      id = `file:${source.name}`;
      ds = await loadDatasetFromFiles(source.files, {
        name: source.name,
        onProgress: (done, total, what) => report(progress, { phase: 'data', done, total, what: `decoding ${what}` }),
      });
    }
    datasets.set(id, ds);
    report(progress, { phase: 'data', done: 1, total: 1, what: `${ds.name} ready in ${Math.round(performance.now() - t0)} ms` });
    return Comlink.transfer(datasetInfo(id, ds), []);
  },

  async probeSpeed(config, shape) {
    const backend = await chooseBackend(config.backend);
    const spec = { ...shape, net: config.net };
    const params = initConvNet(spec, new Rng(1));
    const n = 16;
    const x = tf.randomUniform([n, shape.height, shape.width, shape.channels], -1, 1, 'float32', 1) as tf.Tensor4D;
    // forward + backward to the input: what DM does to the synthetic images
    const f = tf.grad((inp: tf.Tensor) => tf.sum(convNetEmbed(params, spec, inp as tf.Tensor4D)));
    const once = async () => {
      const g = f(x);
      await g.data();
      g.dispose();
    };
    try {
      await once(); // warm-up: shader compilation
      const reps = 3;
      const t0 = performance.now();
      for (let i = 0; i < reps; i++) await once();
      const ms = (performance.now() - t0) / reps;
      const fpi = flopsPerImage(spec);
      return { flopsPerSecond: (3 * fpi * n) / (ms / 1000), flopsPerImage: fpi, ms, backend: backend.name };
    } finally {
      x.dispose();
      disposeParams(params);
    }
  },

  async start(opts: StartOptions, callbacks: RunCallbacks): Promise<RunSummary> {
    if (running) throw new UserError('a run is already under way');
    const config = { ...opts.config, net: { ...opts.config.net } };
    const problems = validateConfig(config);
    if (problems.length) throw new UserError(`invalid settings: ${problems.join('; ')}`);
    if (config.method !== 'dm') throw new UserError(`method '${config.method}' is not available in the browser yet`);
    running = true;
    stopTeachers = false;
    run = null;
    runId = opts.runId;
    let held: Extract<RunEvent, { type: 'snapshot' }> | null = null;
    let lastSent = 0;
    const send = (e: WorkerEvent) => {
      // fire and forget: a page that went away must not break the run
      Promise.resolve(callbacks.onEvent(Comlink.transfer(e, transferables(e)))).catch(() => {});
    };
    const forward = (e: WorkerEvent) => {
      if (e.type === 'snapshot') {
        // adapt the snapshot rate to what the page can draw: at most one per SNAPSHOT_MIN_MS
        const t = performance.now();
        if (t - lastSent < SNAPSHOT_MIN_MS) {
          held = e;
          return;
        }
        lastSent = t;
        held = null;
      } else if (e.type === 'state' && held) {
        send(held);
        held = null;
      }
      send(e);
    };
    try {
      const backend = await chooseBackend(config.backend);
      assertCapabilities(backend, { distill: true, train: config.evalModels > 0 || opts.cmi.teachers > 0 });
      forward({ type: 'log', message: `loading the ${config.dataset} dataset` });
      const dataset = getDataset(config.dataset);
      let init: SyntheticImport | null = null;
      if (opts.fromImported) {
        init = imported;
        if (!init) throw new UserError('nothing imported: import a zip first');
        const numClasses = config.classes ? config.classes.length : dataset.classNames.length;
        if (init.classNames.length !== numClasses)
          throw new UserError(`the imported set has ${init.classNames.length} classes, the chosen dataset/classes ${numClasses}`);
        if (init.height !== dataset.height || init.width !== dataset.width || init.channels !== dataset.channels)
          throw new UserError(`the imported images are ${init.height}×${init.width}×${init.channels}, the dataset's ${dataset.height}×${dataset.width}×${dataset.channels}`);
        config.ipc = init.labels.length / init.classNames.length;
      }
      const subset = makeSubset(dataset, { classes: config.classes, realPerClass: config.realPerClass, seed: config.seed });
      if (config.init === 'real' && !init) {
        for (let k = 0; k < subset.train.numClasses; k++) {
          const have = subset.train.count(k);
          if (have < config.ipc) throw new UserError(`IPC ${config.ipc} is more than the ${have} training images of class '${subset.classNames[k]}'`);
        }
      }
      const cmiOn = opts.cmi.weight > 0 || opts.cmi.teachers > 0;
      forward({
        type: 'ready',
        dataset: dataset.name,
        classNames: subset.classNames,
        realPerClass: subset.classNames.map((_, k) => subset.train.count(k)),
        backend,
        fusedCmi: cmiOn && backend.name === 'webgpu',
      });
      plugin = null;
      if (cmiOn) {
        const count = Math.max(1, opts.cmi.teachers);
        const t0 = performance.now();
        const pool = await loadOrTrainTeacherPool(idbTeacherStore(), {
          subset,
          dataset: dataset.name,
          realPerClass: config.realPerClass,
          net: config.net,
          count,
          epochs: opts.cmi.teacherEpochs,
          seed: TEACHER_SEED,
          onProgress: (done, total, what) => forward({ type: 'task', phase: 'teachers', done, total, what }),
          shouldStop: () => stopTeachers,
        });
        pools.get(pool.key)?.dispose();
        pools.set(pool.key, pool);
        forward({ type: 'teachers', accuracies: pool.teachers.map((t) => t.testAccuracy), fromCache: pool.fromCache, ms: performance.now() - t0 });
        plugin = createCmiPlugin({ weight: opts.cmi.weight, space: opts.cmi.space, pool, ownsPool: false });
      }
      run = new DistillationRun({
        config,
        subset,
        method: dmMethod(),
        plugins: plugin ? [plugin] : [],
        onEvent: forward,
        initialImages: init?.images, // continue from an imported set (same normalised NHWC layout)
      });
      const { synthetic, ...summary } = await run.run();
      finished.set(opts.runId, { set: synthetic, config });
      if (finished.size > KEEP_RUNS) finished.delete(finished.keys().next().value!);
      return summary;
    } catch (err) {
      // keep what exists: a failed run's images can still be exported
      const r = run;
      if (r) {
        const set = await r.getSynthetic().catch(() => null);
        if (set) finished.set(opts.runId, { set, config });
      }
      throw new UserError(errorText(err));
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
    stopTeachers = true;
    run?.stop();
  },

  setLambda(weight: number) {
    if (!(Number.isFinite(weight) && weight >= 0)) throw new UserError(`λ must be a number ≥ 0 (got ${weight})`);
    if (plugin) plugin.weight = weight;
  },

  setLrImg(lr: number) {
    run?.setLrImg(lr);
  },

  setSpace(space) {
    plugin?.setSpace(space);
  },

  async exportRun(id: number, meta: Record<string, unknown>, progress: ProgressCallback): Promise<Uint8Array> {
    let bytes: Uint8Array;
    const onProgress = (done: number, total: number, what: string) => report(progress, { phase: 'export', done, total, what });
    if (id === -1) {
      if (!imported) throw new UserError('nothing imported');
      bytes = exportSyntheticZip({ ...imported, meta: { ...imported.meta, ...meta }, onProgress });
    } else {
      let set: SyntheticSet | null = finished.get(id)?.set ?? null;
      if (!set && id === runId && run) set = await run.getSynthetic();
      if (!set) throw new UserError('this run has no synthetic images to export');
      bytes = exportSyntheticZip({ ...set, meta: { ...meta, iteration: set.iteration }, onProgress });
    }
    return Comlink.transfer(bytes, [bytes.buffer as ArrayBuffer]);
  },

  async importZip(bytes: Uint8Array, progress: ProgressCallback): Promise<ImportedSet> {
    const set = importSyntheticZip(bytes, (done, total, what) => report(progress, { phase: 'import', done, total, what }));
    imported = set;
    const pixels = denormalizeToPixels(set.images, set.channels, set.normalization);
    const out: ImportedSet = {
      pixels,
      labels: set.labels.slice(),
      classNames: set.classNames,
      height: set.height,
      width: set.width,
      channels: set.channels,
      ipc: set.labels.length / Math.max(1, set.classNames.length),
      source: set.source,
      meta: set.meta,
    };
    return Comlink.transfer(out, [pixels.buffer as ArrayBuffer]);
  },

  async evaluateImported(config: DistillConfig, progress: ProgressCallback): Promise<EvalResult> {
    if (!imported) throw new UserError('nothing imported: import a zip first');
    if (running) throw new UserError('a run is under way: stop it first');
    running = true;
    const set = imported;
    try {
      await chooseBackend(config.backend);
      const dataset = getDataset(config.dataset);
      const subset = makeSubset(dataset, { classes: config.classes, realPerClass: config.realPerClass, seed: config.seed });
      if (subset.classNames.length !== set.classNames.length)
        throw new UserError(`the imported set has ${set.classNames.length} classes; choose the same ${set.classNames.length} classes of its dataset`);
      const images = tf.tensor4d(set.images, [set.labels.length, set.height, set.width, set.channels]);
      try {
        const t0 = performance.now();
        return await evaluateSynthetic({
          images,
          labels: set.labels,
          numClasses: set.classNames.length,
          test: subset.test,
          normalization: set.normalization,
          ...evalSettings(config),
          models: Math.max(1, config.evalModels), // asked for explicitly: at least one net
          onProgress: (done, total) => report(progress, { phase: 'eval', done, total, what: `evaluating (${Math.round(performance.now() - t0)} ms)` }),
        });
      } finally {
        images.dispose();
      }
    } finally {
      running = false;
    }
  },
};

Comlink.expose(api);
