/**
 * The fused CMI as tfjs kernels for the 'webgpu' backend. Each kernel records
 * its programs into tfjs' own command encoder through
 * backend.runWebGPUProgram — no dataToGPU copies, no queue syncs — exactly
 * like tfjs' built-in kernels (e.g. its Softmax).
 *
 *   DistilleryCmiFused      {z, perm, offsets} → [value (scalar), parts]         2 dispatches
 *   DistilleryCmiForward    {z, perm, offsets} → [value] or [value, perClass]    2 or 3 dispatches
 *   DistilleryCmiGradScale  {parts, dy}        → dz [N, M] = dy · gradient       1 dispatch
 *
 * perm / offsets come from labels.ts (stable sort by label, CSR offsets).
 */
import * as tf from '@tensorflow/tfjs';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import {
  CmiClassMeanProgram,
  CmiClassProgram,
  CmiGradScaleProgram,
  CmiReduceProgram,
  partsLayout,
  type PartsLayout,
} from './programs';

export const CMI_FUSED = 'DistilleryCmiFused';
export const CMI_FORWARD = 'DistilleryCmiForward';
export const CMI_GRAD_SCALE = 'DistilleryCmiGradScale';

/** workgroupId.x indexes the class: more classes than one dispatch dimension allows go to the reference path. */
export const MAX_FUSED_CLASSES = 65535;

interface KernelArgs<K extends string = 'z' | 'perm' | 'offsets'> {
  inputs: Record<K, tf.TensorInfo>;
  backend: WebGPUBackend;
  attrs?: tf.NamedAttrMap;
}

type Uniform = { type: 'float32' | 'int32'; data: number[] };

/**
 * Workgroup shape of the per-class pass: 'auto' picks 'software' on SwiftShader
 * (a CPU implementation of Vulkan) and 'gpu' elsewhere, see classWorkgroup().
 * Tests force each shape to check both on whatever adapter they have.
 */
export const cmiKernelTuning: { workgroupShape: 'auto' | 'gpu' | 'software' } = { workgroupShape: 'auto' };

function isSoftwareAdapter(backend: WebGPUBackend): boolean {
  if (cmiKernelTuning.workgroupShape !== 'auto') return cmiKernelTuning.workgroupShape === 'software';
  // AdapterInfo keeps `architecture` private in its typings, but it is a plain field
  const info = backend.adapterInfo as unknown as { architecture?: string; vendor?: string } | undefined;
  return info?.architecture === 'swiftshader';
}

/** Dispatch A; returns the parts buffer and its layout. */
function runClassPass(args: KernelArgs, withGrad: boolean): { parts: tf.TensorInfo; layout: PartsLayout } {
  const { z, perm, offsets } = args.inputs;
  const temperature = Number(args.attrs?.temperature ?? 1);
  const [n, m] = z.shape;
  const c = offsets.shape[0] - 1;
  const layout = partsLayout(n, m, c, withGrad);
  const program = new CmiClassProgram(c, m, layout.total, withGrad, isSoftwareAdapter(args.backend));
  const uniforms: Uniform[] = [
    { type: 'float32', data: [1 / temperature] },
    { type: 'int32', data: [n] },
    { type: 'int32', data: [m] },
    { type: 'int32', data: [layout.lseOffset] },
    { type: 'int32', data: [layout.logqOffset] },
    { type: 'int32', data: [layout.sumOffset] },
  ];
  const parts = args.backend.runWebGPUProgram(program, [z, perm, offsets], 'float32', uniforms);
  return { parts, layout };
}

/** Dispatch B: the scalar value. */
function runReduce(backend: WebGPUBackend, parts: tf.TensorInfo, layout: PartsLayout, n: number, c: number): tf.TensorInfo {
  const out = backend.runWebGPUProgram(new CmiReduceProgram(), [parts], 'float32', [
    { type: 'int32', data: [layout.sumOffset] },
    { type: 'int32', data: [c] },
    { type: 'float32', data: [1 / n] },
  ]);
  // [1] → scalar: same buffer, new shape (what tfjs' reshape kernel does, without the extra ref)
  return { dataId: out.dataId, shape: [], dtype: 'float32' };
}

function cmiFused(args: KernelArgs): tf.TensorInfo[] {
  const { z, offsets } = args.inputs;
  const { parts, layout } = runClassPass(args, true);
  const value = runReduce(args.backend, parts, layout, z.shape[0], offsets.shape[0] - 1);
  return [value, parts];
}

function cmiForwardKernel(args: KernelArgs): tf.TensorInfo[] {
  const { z, offsets } = args.inputs;
  const c = offsets.shape[0] - 1;
  const { parts, layout } = runClassPass(args, false);
  const outs = [runReduce(args.backend, parts, layout, z.shape[0], c)];
  if (args.attrs?.perClass) {
    outs.push(
      args.backend.runWebGPUProgram(new CmiClassMeanProgram(c), [parts, offsets], 'float32', [
        { type: 'int32', data: [layout.sumOffset] },
      ]),
    );
  }
  // parts is an intermediate: tfjs defers the release until the queued programs have been submitted
  args.backend.disposeData(parts.dataId);
  return outs;
}

function cmiGradScale(args: KernelArgs<'parts' | 'dy'>): tf.TensorInfo {
  const { parts, dy } = args.inputs;
  const n = Number(args.attrs?.rows);
  const m = Number(args.attrs?.cols);
  return args.backend.runWebGPUProgram(new CmiGradScaleProgram(n, m), [parts, dy], 'float32');
}

const configs: tf.KernelConfig[] = [
  { kernelName: CMI_FUSED, backendName: 'webgpu', kernelFunc: cmiFused as unknown as tf.KernelFunc },
  { kernelName: CMI_FORWARD, backendName: 'webgpu', kernelFunc: cmiForwardKernel as unknown as tf.KernelFunc },
  { kernelName: CMI_GRAD_SCALE, backendName: 'webgpu', kernelFunc: cmiGradScale as unknown as tf.KernelFunc },
];

/** Registers the kernels for backend 'webgpu' (idempotent; needs no webgpu import — the registry is keyed by name). */
export function registerCmiWebGPUKernels(): void {
  for (const config of configs) {
    if (!tf.getKernel(config.kernelName, config.backendName)) tf.registerKernel(config);
  }
}
