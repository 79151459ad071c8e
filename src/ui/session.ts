/**
 * The page's actions: they talk to the worker and write what it reports into
 * the store (the only writer of ./store).
 */
import * as Comlink from 'comlink';
import type { BackendChoice } from '../engine/backend';
import type { DistillConfig } from '../engine/config';
import type { WorkerEvent } from '../worker/protocol';
import { getWorker, onWorkerCrash } from '../worker/client';
import { initialState, setApp, useApp, type BackendLine, type LossPoint } from './store';

/** Most loss values kept for the page (the list shows the last few; a chart later shows them all). */
const MAX_LOSSES = 5000;

let classNames: string[] = [];

function message(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return m.split('\n')[0];
}

onWorkerCrash((msg) => setApp({ state: 'error', error: msg }));

function backendLine(c: BackendChoice): BackendLine {
  const a = c.adapter;
  const adapter = a ? [a.vendor, a.architecture].filter((s) => s && s !== 'unknown').join(' ') || a.description : '';
  const tried = c.tried.length ? ` (${c.tried.map((t) => `${t.name}: ${t.error}`).join('; ')})` : '';
  return { name: c.name, adapter, why: c.reason + tried };
}

export async function initBackend(): Promise<void> {
  if (useApp.getState().backend) return;
  try {
    const choice = await getWorker().backend('auto');
    setApp({ backend: backendLine(choice), backendNote: '' });
  } catch (err) {
    setApp({ backendNote: `no usable backend: ${message(err)}`, error: message(err) });
  }
}

function onEvent(e: WorkerEvent): void {
  switch (e.type) {
    case 'ready':
      classNames = e.classNames;
      setApp({ backend: backendLine(e.backend), activity: '' });
      break;
    case 'state':
      setApp((s) => ({
        state: e.state,
        // a run stopped early still has a synthetic set worth exporting
        canExport: s.canExport || e.state === 'done' || e.state === 'stopped',
      }));
      break;
    case 'metrics': {
      const loss = Object.values(e.losses).reduce((a, b) => a + b, 0);
      setApp((s) => ({ losses: [...s.losses, { iteration: e.iteration, loss } as LossPoint].slice(-MAX_LOSSES) }));
      break;
    }
    case 'progress':
      if (e.phase === 'distill') setApp({ iteration: e.done, totalIterations: e.total, activity: '' });
      else setApp({ activity: `evaluating ${e.done}/${e.total}` });
      break;
    case 'snapshot':
      setApp({
        snapshot: {
          iteration: e.iteration,
          pixels: e.pixels,
          labels: e.labels,
          classNames,
          height: e.height,
          width: e.width,
          channels: e.channels,
        },
        canExport: true,
      });
      break;
    case 'eval':
      setApp({ accuracy: e.accuracy.mean });
      break;
    case 'log':
      setApp({ activity: e.message });
      break;
    case 'error':
      setApp({ error: e.message });
      break;
  }
}

export async function startRun(config: DistillConfig): Promise<void> {
  const { backend, backendNote } = useApp.getState();
  setApp({ ...initialState, backend, backendNote, state: 'starting', totalIterations: config.iterations });
  try {
    const summary = await getWorker().start(config, Comlink.proxy({ onEvent }));
    setApp({ state: summary.state, iteration: summary.iterations, activity: '' });
  } catch (err) {
    setApp({ state: 'error', error: message(err), activity: '' });
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

/** Downloads the synthetic set as distillery-synthetic.zip. */
export async function exportZip(): Promise<void> {
  try {
    const bytes = await getWorker().export();
    const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/zip' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = 'distillery-synthetic.zip';
    a.click();
    // give the download a moment to start before the URL goes
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (err) {
    setApp({ error: `export failed: ${message(err)}` });
  }
}
