/**
 * Zero-copy Identity and same-dtype Cast for tfjs' wasm backend.
 *
 * The backend copies the whole buffer for both; tfjs' gradient code calls them
 * dozens of times per training step (≈ 85 Identity and 30 Cast calls per
 * ConvNet-3 step, most on full activations). The cpu backend instead returns
 * the same buffer with its reference count raised — kernels never write into
 * their inputs, so sharing is safe — and so do we. (The wasm backend's own
 * Reshape shares buffers the same way.)
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { input, runOriginal, type KernelArgs, type TensorInfo } from './calls';

function share(args: KernelArgs): TensorInfo {
  const x = input(args.inputs, 'x');
  (args.backend as BackendWasm).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

export function identity(args: KernelArgs): TensorInfo {
  const x = input(args.inputs, 'x');
  return x.dtype === 'string' ? runOriginal('Identity', args) : share(args);
}

export function cast(args: KernelArgs): TensorInfo {
  const x = input(args.inputs, 'x');
  return args.attrs?.dtype === x.dtype && x.dtype !== 'string' ? share(args) : runOriginal('Cast', args);
}
