/**
 * Makes tfjs' wasm backend able to train the project's networks, and says
 * which build of it is running.
 *
 * registerWasmKernels() adds the kernels the backend lacks for training
 * (Conv2DBackpropFilter; UnsortedSegmentSum, the gradient of tf.gather) and
 * replaces the ones that dominate a training step for no good reason: the
 * loop-based Conv2DBackpropInput (now XNNPACK), AvgPoolGrad/MaxPoolGrad and
 * Sum/Mean over non-trailing axes (now one pass over the heap), and the
 * buffer-copying Identity/same-dtype Cast (now shared, as on cpu). Replacements
 * hand every case they do not speed up back to the backend's own kernel.
 * It only touches tfjs' kernel registry — it neither imports the backend nor
 * selects it — so it is safe to call from the engine in a browser worker or in
 * Node, any number of times, before or after tf.setBackend('wasm'). Call it
 * before the first conv gradient: models/conv.ts decides once per backend
 * whether Conv2DBackpropFilter exists.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { cast, identity } from './alias';
import { originalKernels } from './calls';
import { conv2DBackpropFilter, conv2DBackpropInput } from './conv';
import { avgPoolGrad, maxPoolGrad } from './pool';
import { mean, sum } from './reduce';
import { unsortedSegmentSum } from './segment';

/** Marks our kernel functions, so a second registration is recognised as ours. */
const OURS = Symbol.for('distillery.wasmKernel');

const KERNELS: Array<[string, (args: never) => tf.TensorInfo]> = [
  ['Conv2DBackpropFilter', conv2DBackpropFilter],
  ['Conv2DBackpropInput', conv2DBackpropInput],
  ['UnsortedSegmentSum', unsortedSegmentSum],
  ['AvgPoolGrad', avgPoolGrad],
  ['MaxPoolGrad', maxPoolGrad],
  ['Sum', sum],
  ['Mean', mean],
  ['Identity', identity],
  ['Cast', cast],
];

/** Names of the wasm kernels this module provides. */
export const WASM_KERNEL_NAMES: readonly string[] = KERNELS.map(([name]) => name);

/**
 * Registers our wasm kernels (idempotent). Returns the names registered by
 * this call (empty when they already were).
 */
export function registerWasmKernels(): string[] {
  const added: string[] = [];
  for (const [name, fn] of KERNELS) {
    const current = tf.getKernel(name, 'wasm');
    if (current && (current.kernelFunc as unknown as Record<symbol, boolean>)[OURS]) continue;
    if (current) {
      // Keep the backend's own kernel for the cases ours hands back (e.g. strided input gradients).
      originalKernels().set(name, current);
      tf.unregisterKernel(name, 'wasm');
    }
    const kernelFunc = ((args: never) => fn(args)) as unknown as tf.KernelFunc;
    (kernelFunc as unknown as Record<symbol, boolean>)[OURS] = true;
    tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc });
    added.push(name);
  }
  return added;
}

export type WasmVariantName = 'threaded-simd' | 'simd' | 'plain';

export interface WasmVariant {
  /** Which of tfjs' three binaries is running (tfjs-backend-wasm[-threaded-simd|-simd].wasm). */
  variant: WasmVariantName;
  simd: boolean;
  /** Threads XNNPACK runs on (1 unless the threaded build is active; set with the package's setThreadsCount before init). */
  threads: number;
}

/**
 * The wasm build in use, or null while the wasm backend is not initialised.
 * tfjs picks threaded-simd when SIMD and threads are available (threads need
 * SharedArrayBuffer, i.e. a cross-origin-isolated page; tfjs never enables
 * them in Node), simd when only SIMD is, plain otherwise.
 */
export function wasmVariant(): WasmVariant | null {
  const backend = tf.engine().registry['wasm'] as BackendWasm | undefined;
  if (!backend?.wasm) return null;
  const module = backend.wasm as unknown as Record<string, unknown> & {
    tfjs: { getThreadsCount(): number };
  };
  const threaded = 'PThread' in module;
  let simd = threaded;
  try {
    // Evaluated (and cached) by the backend's init; get() throws if it never ran.
    simd = simd || tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
  } catch {
    // Not evaluated: keep what the module itself tells us.
  }
  return {
    variant: threaded ? 'threaded-simd' : simd ? 'simd' : 'plain',
    simd,
    threads: module.tfjs.getThreadsCount(),
  };
}
