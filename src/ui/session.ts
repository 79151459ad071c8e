/**
 * The page's actions: they talk to the worker and write what it reports into
 * the store. Worker events are buffered here and flushed to the store at most
 * FLUSH_MS apart, so a fast run never makes React render per iteration.
 */
import * as Comlink from 'comlink';
import type { BackendChoice } from '../engine/backend';
import type { DatasetSource, TaskProgress, WorkerEvent } from '../worker/protocol';
import { getWorker, onWorkerCrash } from '../worker/client';
import { cloneSettings, fieldErrors, settingsFromQuery, settingsToQuery, type Settings } from './settings';
import {
  MAX_SNAPSHOTS,
  editSettings,
  initialState,
  setApp,
  setSettings,
  updateRun,
  useApp,
  type BackendLine,
  type EvalPoint,
  type ImageSnapshot,
  type RunRecord,
  type SeriesPoint,
  type TaskPhase,
} from './store';

/** Longest gap between store updates during a run (≤ 4 renders per second). */
export const FLUSH_MS = 250;

export function message(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return m.split('\n')[0].replace(/^Error: /, '');
}

onWorkerCrash((msg) => setApp({ state: 'error', error: msg }));

export function backendLine(c: BackendChoice, pref: string): BackendLine {
  const a = c.adapter;
  const adapter = a ? [a.vendor, a.architecture].filter((s) => s && s !== 'unknown').join(' ') || a.description : '';
  const tried = c.tried.length ? ` (${c.tried.map((t) => `${t.name}: ${t.error}`).join('; ')})` : '';
  let fallback: string | null = null;
  if (c.name !== 'webgpu' && (pref === 'auto' || pref === 'webgpu')) {
    const why = c.tried.find((t) => t.name === 'webgpu')?.error ?? 'this browser offers no WebGPU adapter';
    fallback =
      `WebGPU is not available: ${why.replace(/[.]$/, '')}. Distillery runs on ${c.name} instead. ` +
      `Expect distillation to be several times to tens of times slower, and the CMI term to use the reference kernels instead of the fused WebGPU ones.`;
  }
  return { name: c.name, adapter, why: c.reason + tried, fallback };
}

// ---------- start-up, URL ----------

let urlSync = false;

export async function initApp(): Promise<void> {
  if (urlSync) return;
  urlSync = true;
  const { settings, errors } = settingsFromQuery(location.search);
  setSettings(settings);
  setApp({ urlErrors: errors });
  // write the configuration into the URL on every change (a link reproduces the setup)
  useApp.subscribe((s, prev) => {
    if (s.settings === prev.settings) return;
    const q = settingsToQuery(s.settings);
    history.replaceState(null, '', q ? `?${q}` : location.pathname);
  });
  await initBackend(settings.config.backend);
  const ds = settings.config.dataset;
  if (ds === 'builtin') await chooseDataset({ kind: 'builtin' });
  else if (ds.startsWith('file:')) {
    setApp({ notice: `the link names a local file (${ds.slice(5)}): open it again with "Open file…"` });
    await chooseDataset({ kind: 'builtin' });
  } else await chooseDataset({ kind: 'catalog', id: ds });
}

export async function initBackend(pref: Settings['config']['backend'] = 'auto'): Promise<void> {
  setApp({ backend: null, backendNote: 'choosing a backend…' });
  try {
    const choice = await getWorker().backend(pref);
    setApp({ backend: backendLine(choice, pref), backendNote: '' });
  } catch (err) {
    setApp({ backendNote: `no usable backend: ${message(err)}`, error: message(err) });
  }
}

// ---------- tasks (progress with ETA) ----------

function taskUpdate(phase: TaskPhase, done: number, total: number, what: string): void {
  setApp((s) => {
    const prev = s.tasks[phase];
    const fresh = !prev || done < prev.done || (prev.done >= prev.total && done < total);
    const startedAt = fresh ? performance.now() : prev.startedAt;
    const el = performance.now() - startedAt;
    const etaMs = done > 0 && done < total ? (el / done) * (total - done) : done >= total ? 0 : null;
    return { tasks: { ...s.tasks, [phase]: { done, total, what, startedAt, etaMs } } };
  });
}

const onTask = Comlink.proxy({
  onProgress(p: TaskProgress) {
    taskThrottle(p);
  },
});

// Task progress may come per file or per image: keep at most one store write per FLUSH_MS per phase.
const lastTask = new Map<string, number>();
function taskThrottle(p: TaskProgress): void {
  const t = performance.now();
  if (p.done < p.total && t - (lastTask.get(p.phase) ?? 0) < FLUSH_MS) return;
  lastTask.set(p.phase, t);
  taskUpdate(p.phase, p.done, p.total, p.what);
}

// ---------- dataset ----------

export async function chooseDataset(source: DatasetSource): Promise<void> {
  setApp({ datasetLoading: true, error: null });
  taskUpdate('data', 0, 1, source.kind === 'files' ? `reading ${source.name}` : 'loading');
  try {
    const transfer = source.kind === 'files' ? source.files.map((f) => f.bytes.buffer as ArrayBuffer) : [];
    const info = await getWorker().loadDataset(Comlink.transfer(source, transfer), onTask);
    const prev = useApp.getState().settings;
    const sameClasses = prev.config.dataset === info.id;
    editSettings((s) => {
      s.config.dataset = info.id;
      if (!sameClasses || (s.config.classes && s.config.classes.some((k) => k >= info.classNames.length))) s.config.classes = null;
    });
    setApp({ dataset: info, datasetLoading: false });
    taskUpdate('data', 1, 1, `${info.name}: ${info.classNames.length} classes, ${info.trainPerClass.reduce((a, b) => a + b, 0)} training images`);
    void probeSpeed();
  } catch (err) {
    setApp({ datasetLoading: false, error: `dataset: ${message(err)}` });
    taskUpdate('data', 0, 1, 'failed');
  }
}

/** Files picked or dropped: read here as ArrayBuffers and transferred to the worker, which decodes them. */
export async function openFiles(files: File[], name?: string): Promise<void> {
  if (files.length === 0) return;
  const total = files.reduce((a, f) => a + f.size, 0);
  let done = 0;
  const vfiles: { path: string; bytes: Uint8Array }[] = [];
  for (const f of files) {
    const bytes = new Uint8Array(await f.arrayBuffer());
    done += f.size;
    taskUpdate('data', done, Math.max(total, 1), `reading ${f.name}`);
    vfiles.push({ path: (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name, bytes });
  }
  const first = vfiles[0].path.split('/')[0];
  await chooseDataset({ kind: 'files', name: name ?? (files.length === 1 ? files[0].name : first || 'folder'), files: vfiles });
}

// ---------- speed probe ----------

let probing = false;
export async function probeSpeed(): Promise<void> {
  const s = useApp.getState();
  if (probing || !s.dataset || !s.backend || s.state === 'running' || s.state === 'starting') return;
  probing = true;
  try {
    const d = s.dataset;
    const speed = await getWorker().probeSpeed(s.settings.config, { height: d.height, width: d.width, channels: d.channels, numClasses: d.classNames.length });
    setApp({ speed });
  } catch {
    // the estimate then only shows FLOPs
  } finally {
    probing = false;
  }
}

// ---------- runs ----------

let nextRunId = 1;
let flushTimer: ReturnType<typeof setTimeout> | null = null;
interface Buffer {
  id: number;
  points: SeriesPoint[];
  evals: EvalPoint[];
  perClass: number[] | null;
  snapshot: ImageSnapshot | null;
  progress: { done: number; total: number; etaMs: number } | null;
  evalProgress: { done: number; total: number } | null;
}
let buf: Buffer | null = null;

function scheduleFlush(): void {
  if (flushTimer) return;
  flushTimer = setTimeout(flush, FLUSH_MS);
}

function flush(): void {
  flushTimer = null;
  const b = buf;
  if (!b) return;
  const points = b.points;
  const evals = b.evals;
  b.points = [];
  b.evals = [];
  if (points.length || evals.length) updateRun(b.id, (r) => ({ series: points.length ? [...r.series, ...points] : r.series, evals: evals.length ? [...r.evals, ...evals] : r.evals }));
  const patch: Parameters<typeof setApp>[0] = {};
  if (b.perClass) patch.perClassCmi = b.perClass;
  if (b.snapshot) {
    const snap = b.snapshot;
    b.snapshot = null;
    setApp((s) => ({ snapshots: [...s.snapshots, snap].slice(-MAX_SNAPSHOTS) }));
  }
  if (b.progress) {
    const p = b.progress;
    b.progress = null;
    patch.iteration = p.done;
    patch.totalIterations = p.total;
    setApp(patch);
    taskUpdate('distill', p.done, p.total, `iteration ${p.done} / ${p.total}`);
  } else setApp(patch);
  if (b.evalProgress) {
    const p = b.evalProgress;
    b.evalProgress = null;
    taskUpdate('eval', p.done, p.total, `training evaluation networks: epoch ${p.done} / ${p.total}`);
  }
}

function handleEvent(id: number, e: WorkerEvent, classNames: { names: string[] }): void {
  const b = buf;
  if (!b || b.id !== id) return;
  switch (e.type) {
    case 'ready':
      classNames.names = e.classNames;
      setApp({ classNames: e.classNames, backend: backendLine(e.backend, useApp.getState().settings.config.backend), fusedCmi: e.fusedCmi });
      updateRun(id, { classNames: e.classNames });
      break;
    case 'teachers':
      setApp({ teachers: { accuracies: e.accuracies, fromCache: e.fromCache } });
      taskUpdate('teachers', 1, 1, `${e.accuracies.length} teacher(s) ${e.fromCache ? 'loaded from the cache' : 'trained'}`);
      break;
    case 'task':
      taskThrottle(e);
      break;
    case 'state':
      flush();
      setApp((s) => ({ state: e.state === 'running' && s.state === 'stopping' ? 'stopping' : e.state }));
      updateRun(id, { state: e.state });
      break;
    case 'metrics': {
      const m = e.metrics;
      const method = Object.entries(e.losses).filter(([k]) => k !== 'cmi').reduce((a, [, v]) => a + v, 0);
      b.points.push({
        it: e.iteration,
        method,
        cmiLoss: 'cmi' in e.losses ? e.losses.cmi : null,
        cmi: typeof m.cmi === 'number' ? m.cmi : null,
        cmiReal: typeof m.cmi_real === 'number' ? m.cmi_real : null,
        ips: e.ms > 0 ? 1000 / e.ms : 0,
      });
      if (Array.isArray(m.cmi_per_class)) b.perClass = m.cmi_per_class;
      scheduleFlush();
      break;
    }
    case 'progress':
      if (e.phase === 'distill') b.progress = { done: e.done, total: e.total, etaMs: e.etaMs };
      else b.evalProgress = { done: e.done, total: e.total };
      scheduleFlush();
      break;
    case 'snapshot':
      b.snapshot = { iteration: e.iteration, pixels: e.pixels, labels: e.labels, classNames: classNames.names, height: e.height, width: e.width, channels: e.channels };
      scheduleFlush();
      break;
    case 'eval':
      b.evals.push({ it: e.iteration, mean: e.accuracy.mean, std: e.accuracy.std, band: [e.accuracy.mean - e.accuracy.std, e.accuracy.mean + e.accuracy.std] });
      updateRun(id, { finalAccuracy: { mean: e.accuracy.mean, std: e.accuracy.std } });
      scheduleFlush();
      break;
    case 'log':
      setApp({ activity: e.message });
      break;
    case 'error':
      setApp({ error: e.message });
      break;
  }
}

export function runLabel(s: Settings, id: number): string {
  const c = s.config;
  return `#${id} ${c.method} IPC ${c.ipc}, λ ${s.cmi.weight}, seed ${c.seed}`;
}

export interface StartExtra {
  fromImported?: boolean;
}

export async function startRun(settings: Settings = useApp.getState().settings, extra: StartExtra = {}): Promise<void> {
  const st = useApp.getState();
  if (st.state === 'running' || st.state === 'starting' || st.state === 'paused' || st.state === 'stopping') return;
  const errors = fieldErrors(settings);
  if (Object.keys(errors).length) {
    setApp({ errors, error: `fix the settings first: ${Object.entries(errors).map(([k, m]) => `${k}: ${m}`).join('; ')}` });
    return;
  }
  const id = nextRunId++;
  const snapshotSettings = cloneSettings(settings);
  const rec: RunRecord = {
    id,
    label: runLabel(snapshotSettings, id),
    settings: snapshotSettings,
    state: 'starting',
    series: [],
    evals: [],
    markers: [],
    finalAccuracy: null,
    classNames: [],
    startedAt: Date.now(),
    exportable: false,
  };
  buf = { id, points: [], evals: [], perClass: null, snapshot: null, progress: null, evalProgress: null };
  setApp((s) => ({
    runs: [...s.runs, rec],
    activeRunId: id,
    state: 'starting',
    error: null,
    notice: null,
    iteration: 0,
    totalIterations: settings.config.iterations,
    tasks: { data: s.tasks.data },
    perClassCmi: null,
    snapshots: [],
    scrub: null,
    teachers: null,
    activity: '',
    compare: [s.compare[1] ?? s.compare[0], id],
  }));
  const names = { names: [] as string[] };
  try {
    const summary = await getWorker().start(
      { runId: id, config: settings.config, cmi: settings.cmi, fromImported: extra.fromImported },
      Comlink.proxy({ onEvent: (e: WorkerEvent) => handleEvent(id, e, names) }),
    );
    flush();
    setApp({ state: summary.state, iteration: summary.iterations, activity: '' });
    updateRun(id, {
      state: summary.state,
      exportable: true,
      finalAccuracy: summary.accuracy ? { mean: summary.accuracy.mean, std: summary.accuracy.std } : null,
    });
  } catch (err) {
    flush();
    const m = message(err);
    const stopped = /teacher training was stopped/.test(m);
    setApp({ state: stopped ? 'stopped' : 'error', error: stopped ? null : m, activity: '' });
    // whatever the run made is kept in the worker and can still be exported
    updateRun(id, { state: stopped ? 'stopped' : 'error', exportable: !stopped });
  } finally {
    buf = null;
    void probeSpeed();
  }
}

export function pauseRun(): void {
  void getWorker().pause();
}

export function resumeRun(): void {
  void getWorker().resume();
}

export function stopRun(): void {
  setApp({ state: 'stopping' });
  void getWorker().stop();
}

/** Clears the live view (runs stay in the compare list) and restores the default settings. */
export function resetView(): void {
  const s = useApp.getState();
  if (s.state === 'running' || s.state === 'starting' || s.state === 'paused' || s.state === 'stopping') return;
  setApp({
    state: 'idle',
    activeRunId: null,
    iteration: 0,
    totalIterations: 0,
    tasks: { data: s.tasks.data },
    perClassCmi: null,
    snapshots: [],
    scrub: null,
    error: null,
    notice: null,
    activity: '',
    importedEval: null,
    imported: null,
  });
}

function addMarker(label: string): void {
  const s = useApp.getState();
  if (s.activeRunId === null || !(s.state === 'running' || s.state === 'paused')) return;
  const it = s.iteration;
  updateRun(s.activeRunId, (r) => ({ markers: [...r.markers, { it, label }] }));
}

function live(): boolean {
  const st = useApp.getState().state;
  return st === 'running' || st === 'paused';
}

/** λ from the slider or field: a running run gets it from its next iteration on. */
export function setLambda(weight: number): void {
  editSettings((s) => {
    s.cmi.weight = weight;
  });
  if (live() && Number.isFinite(weight) && weight >= 0) {
    getWorker().setLambda(weight).catch((err) => setApp({ error: message(err) }));
    addMarker(`λ=${weight}`);
  }
}

export function setLrImg(lr: number): void {
  editSettings((s) => {
    s.config.lrImg = lr;
  });
  if (live() && Number.isFinite(lr) && lr > 0) {
    getWorker().setLrImg(lr).catch((err) => setApp({ error: message(err) }));
    addMarker(`lr=${lr}`);
  }
}

export function setSpace(space: 'feature' | 'logit'): void {
  editSettings((s) => {
    s.cmi.space = space;
  });
  if (live()) {
    void getWorker().setSpace(space);
    addMarker(`space=${space}`);
  }
}

/** distillery_<dataset>_<method>_ipc<N>_lambda<λ>_<date>.zip */
export function exportFileName(s: Settings, date = new Date()): string {
  const safe = (t: string) => t.replace(/^file:/, '').replace(/\.[a-z0-9.]+$/i, '').replace(/[^A-Za-z0-9-]+/g, '-');
  const d = date.toISOString().slice(0, 10);
  return `distillery_${safe(s.config.dataset)}_${s.config.method}_ipc${s.config.ipc}_lambda${s.cmi.weight}_${d}.zip`;
}

function download(bytes: Uint8Array, name: string): void {
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/zip' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  // give the download a moment to start before the URL goes
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Downloads a run's synthetic set (id −1: the imported one). */
export async function exportRun(id: number | null = useApp.getState().activeRunId): Promise<void> {
  const s = useApp.getState();
  const rec = s.runs.find((r) => r.id === id);
  const settings = rec?.settings ?? s.settings;
  try {
    taskUpdate('export', 0, 1, 'writing the zip');
    const meta = { config: settings.config, cmi: settings.cmi, source: 'distillery web', accuracy: rec?.finalAccuracy ?? null, evals: rec?.evals ?? [] };
    const bytes = await getWorker().exportRun(id ?? -1, meta, onTask);
    taskUpdate('export', 1, 1, `${(bytes.length / 1024).toFixed(0)} KiB`);
    download(bytes, exportFileName(settings));
  } catch (err) {
    setApp({ error: `export failed: ${message(err)}` });
  }
}

export async function importFile(file: File): Promise<void> {
  try {
    taskUpdate('import', 0, 1, `reading ${file.name}`);
    const bytes = new Uint8Array(await file.arrayBuffer());
    const set = await getWorker().importZip(Comlink.transfer(bytes, [bytes.buffer]), onTask);
    taskUpdate('import', 1, 1, `${file.name}: ${set.labels.length} images (${set.source})`);
    const snap: ImageSnapshot = { iteration: Number(set.meta.iteration ?? 0), pixels: set.pixels, labels: set.labels, classNames: set.classNames, height: set.height, width: set.width, channels: set.channels };
    setApp({ imported: set, importedEval: null, snapshots: [snap], scrub: null, classNames: set.classNames, error: null });
  } catch (err) {
    setApp({ error: `import failed: ${message(err)}` });
  }
}

export async function evaluateImported(): Promise<void> {
  const s = useApp.getState();
  try {
    taskUpdate('eval', 0, 1, 'evaluating the imported set');
    const res = await getWorker().evaluateImported(s.settings.config, onTask);
    setApp({ importedEval: { mean: res.mean, std: res.std } });
  } catch (err) {
    setApp({ error: `evaluation failed: ${message(err)}` });
  }
}

export function continueFromImported(): void {
  const s = useApp.getState();
  if (!s.imported) return;
  const next = cloneSettings(s.settings);
  next.config.ipc = s.imported.ipc;
  void startRun(next, { fromImported: true });
}

/** The same settings as run `id`, with λ = 0 (CMI still measured: teachers stay). */
export function runBaseline(id: number): void {
  const rec = useApp.getState().runs.find((r) => r.id === id);
  if (!rec) return;
  const next = cloneSettings(rec.settings);
  next.cmi.weight = 0;
  next.cmi.teachers = Math.max(1, next.cmi.teachers);
  void startRun(next);
}

export function applyPreset(p: Settings): void {
  const keep = useApp.getState().settings;
  const next = cloneSettings(p);
  // the preset changes the protocol, not which data
  next.config.dataset = keep.config.dataset;
  next.config.classes = keep.config.classes ? [...keep.config.classes] : null;
  next.config.backend = keep.config.backend;
  setSettings(next);
}

export { initialState };
