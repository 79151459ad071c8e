/**
 * Backend-level plumbing for kernels we register on tfjs' wasm backend.
 *
 * A kernel function receives TensorInfos (not Tensors) and must build its
 * result from the backend's own kernels, not from tf.* ops: ops called inside
 * a kernel would be recorded on the gradient tape and tracked by the engine.
 * So we look the wasm backend's kernels up in tfjs' registry (Conv2D,
 * Transpose, …: the XNNPACK-backed ones) and call their kernelFunc directly,
 * freeing every intermediate ourselves — the way tfjs-backend-wasm's own
 * kernels call each other.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export type TensorInfo = tf.TensorInfo;
export type Attrs = tf.NamedAttrMap;
/** NHWC explicit padding [[0,0],[top,bottom],[left,right],[0,0]] (tf.conv2d's form). */
export type ExplicitPad = [[number, number], [number, number], [number, number], [number, number]];

/**
 * The original kernels we replace (Conv2DBackpropInput), captured before we
 * register ours, so the replacement can fall back to them. Kept on globalThis
 * like tfjs' own registry, so a second copy of this module finds them too.
 */
const ORIGINALS_KEY = '__distilleryWasmOriginalKernels';

export function originalKernels(): Map<string, tf.KernelConfig> {
  const g = globalThis as unknown as Record<string, Map<string, tf.KernelConfig> | undefined>;
  let map = g[ORIGINALS_KEY];
  if (!map) {
    map = new Map();
    g[ORIGINALS_KEY] = map;
  }
  return map;
}

/** What tfjs passes a kernel function. */
export interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}

/** Backends whose copy of a replaced kernel has had its setupFunc run (it binds the wasm function). */
const setUp = new WeakMap<object, Set<string>>();

/**
 * Runs the backend's own kernel that ours replaced. tfjs runs a kernel's
 * setupFunc only for kernels registered when the backend initialises, and we
 * may have unregistered it before that, so we run it here once per backend.
 */
export function runOriginal(name: string, args: KernelArgs): TensorInfo {
  const original = originalKernels().get(name);
  if (!original) throw new Error(`wasm ${name}: the backend's own kernel is missing`);
  const backend = args.backend as object;
  let done = setUp.get(backend);
  if (!done) setUp.set(backend, (done = new Set()));
  if (!done.has(name)) {
    original.setupFunc?.(backend);
    done.add(name);
  }
  return original.kernelFunc(args as Parameters<tf.KernelFunc>[0]) as TensorInfo;
}

/** Runs the wasm backend's kernel `name` (its original one if we replaced it). */
export function runWasm(
  backend: BackendWasm,
  name: string,
  inputs: tf.NamedTensorInfoMap,
  attrs: Attrs = {},
): TensorInfo {
  const config = originalKernels().get(name) ?? tf.getKernel(name, 'wasm');
  if (!config) throw new Error(`wasm backend: kernel '${name}' is not registered`);
  const out = config.kernelFunc({ inputs, backend, attrs });
  if (Array.isArray(out)) throw new Error(`wasm backend: kernel '${name}' returned several outputs`);
  return out;
}

/** Frees an intermediate result of runWasm (never a kernel's input or output). */
export function free(backend: BackendWasm, ...infos: TensorInfo[]): void {
  for (const t of infos) backend.disposeData(t.dataId);
}

export function transposeInfo(backend: BackendWasm, x: TensorInfo, perm: number[]): TensorInfo {
  return runWasm(backend, 'Transpose', { x }, { perm });
}

/** Explicit NHWC padding as tf.conv2d accepts it. */
export function explicitPad(top: number, bottom: number, left: number, right: number): ExplicitPad {
  return [
    [0, 0],
    [top, bottom],
    [left, right],
    [0, 0],
  ];
}

/** Stride-1 NHWC Conv2D through the wasm backend's XNNPACK kernel. */
export function conv2dInfo(
  backend: BackendWasm,
  x: TensorInfo,
  filter: TensorInfo,
  pad: ExplicitPad,
  dilations: [number, number] = [1, 1],
): TensorInfo {
  return runWasm(
    backend,
    'Conv2D',
    { x, filter },
    { strides: [1, 1], pad, dataFormat: 'NHWC', dilations, dimRoundingMode: undefined as unknown as string },
  );
}

/** tfjs' attrs use either a number or a [h, w] pair for strides. */
export function pair(v: number | number[]): [number, number] {
  return typeof v === 'number' ? [v, v] : [v[0], v[1]];
}

/** A kernel's named input; tfjs always passes them, the check only satisfies strict typing. */
export function input(inputs: tf.NamedTensorInfoMap, name: string): TensorInfo {
  const t = inputs[name];
  if (!t) throw new Error(`wasm kernel: input '${name}' is missing`);
  return t;
}
