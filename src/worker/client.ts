/** The page's handle on the compute worker (one per page, created on first use). */
import * as Comlink from 'comlink';
import type { WorkerApi } from './protocol';

let remote: Comlink.Remote<WorkerApi> | null = null;
let onCrash: ((message: string) => void) | null = null;

export function getWorker(): Comlink.Remote<WorkerApi> {
  if (!remote) {
    const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'distillery-compute' });
    // errors outside any call (a failed import in the worker, an uncaught exception): comlink would never answer
    worker.addEventListener('error', (e) => onCrash?.(`the compute worker failed: ${e.message || 'could not be loaded'}`));
    worker.addEventListener('messageerror', () => onCrash?.('the compute worker sent a message that could not be read'));
    remote = Comlink.wrap<WorkerApi>(worker);
  }
  return remote;
}

/** Where to report a worker crash (the page shows it). */
export function onWorkerCrash(fn: (message: string) => void): void {
  onCrash = fn;
}
