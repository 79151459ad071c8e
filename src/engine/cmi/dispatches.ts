/**
 * Counting GPU work for benchmarks. On webgpu every runWebGPUProgram call is
 * exactly one compute dispatch (ops that tfjs forwards to the CPU for tiny
 * inputs do not dispatch and are not counted). Other backends have no
 * dispatches; there we count kernels launched through the engine instead.
 */
import * as tf from '@tensorflow/tfjs';

export interface DispatchCount<T> {
  result: T;
  dispatches: number;
  /** What was counted: GPU compute dispatches (webgpu) or engine kernel launches (elsewhere). */
  unit: 'dispatches' | 'kernels';
}

type Countable = { runWebGPUProgram?: (...args: unknown[]) => unknown };

/** Runs fn synchronously and counts the dispatches (or kernels) it issues. */
export function countCmiDispatches<T>(fn: () => T): DispatchCount<T> {
  let count = 0;
  const engine = tf.engine() as unknown as { runKernel: (...args: unknown[]) => unknown };
  const backend = tf.backend() as unknown as Countable;
  const onWebGPU = tf.getBackend() === 'webgpu' && typeof backend.runWebGPUProgram === 'function';
  const target: Record<string, unknown> = onWebGPU ? (backend as Record<string, unknown>) : (engine as Record<string, unknown>);
  const key = onWebGPU ? 'runWebGPUProgram' : 'runKernel';
  const hadOwn = Object.prototype.hasOwnProperty.call(target, key);
  const own = target[key];
  const original = own as (...args: unknown[]) => unknown;
  target[key] = function (this: unknown, ...args: unknown[]) {
    count++;
    return original.apply(this, args);
  };
  try {
    const result = fn();
    return { result, dispatches: count, unit: onWebGPU ? 'dispatches' : 'kernels' };
  } finally {
    if (hadOwn) target[key] = own;
    else delete target[key];
  }
}
