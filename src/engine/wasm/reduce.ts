/**
 * Sum and Mean over leading or middle axes for tfjs' wasm backend.
 *
 * The backend reduces only over the innermost axis: for any other axes it
 * first transposes the whole tensor so they come last. Training hits exactly
 * that case all the time — bias and norm-affine gradients sum NHWC activations
 * over N, H, W; instance norm reduces over H, W — and the full transpose makes
 * those reductions 3–5× slower than one pass. Here, when the reduced axes form
 * one contiguous block that does not include the last axis (shape [A, R, B],
 * reduce R), we sum in a single streaming pass over the wasm heap, adding
 * contiguous rows of B values, in float64 (more accurate than the backend's
 * float32 running sum). Every other case goes to the backend's kernel.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { input, runOriginal, type KernelArgs, type TensorInfo } from './calls';

interface Block {
  a: number;
  r: number;
  b: number;
  outShape: number[];
}

/** [A, R, B] view of a reduction over a contiguous block of non-trailing axes, or null. */
function middleBlock(shape: number[], axisAttr: unknown, keepDims: boolean): Block | null {
  const rank = shape.length;
  if (rank < 2) return null;
  const axes = tf.util.parseAxisParam(axisAttr as number | number[], shape).sort((p, q) => p - q);
  if (axes.length === 0) return null;
  for (let k = 1; k < axes.length; k++) if (axes[k] !== axes[0] + k) return null;
  const first = axes[0];
  const last = axes[axes.length - 1];
  if (last === rank - 1) return null;
  const prod = (from: number, to: number) => shape.slice(from, to).reduce((p, q) => p * q, 1);
  const outShape = keepDims
    ? shape.map((d, k) => (k >= first && k <= last ? 1 : d))
    : shape.filter((_, k) => k < first || k > last);
  return { a: prod(0, first), r: prod(first, last + 1), b: prod(last + 1, rank), outShape };
}

function reduceMiddle(b: BackendWasm, x: TensorInfo, blk: Block, scale: number): TensorInfo {
  const out = b.makeOutput(blk.outShape, 'float32');
  const o = b.typedArrayFromHeap(out);
  const xs = b.typedArrayFromHeap(x);
  const { a: na, r: nr, b: nb } = blk;
  const acc = new Float64Array(nb);
  for (let a = 0; a < na; a++) {
    acc.fill(0);
    let src = a * nr * nb;
    let r = 0;
    // Four rows per sweep: a quarter of the accumulator loads and stores.
    for (; r + 4 <= nr; r += 4) {
      const s1 = src + nb;
      const s2 = s1 + nb;
      const s3 = s2 + nb;
      for (let k = 0; k < nb; k++) acc[k] += xs[src + k] + xs[s1 + k] + xs[s2 + k] + xs[s3 + k];
      src += 4 * nb;
    }
    for (; r < nr; r++) {
      for (let k = 0; k < nb; k++) acc[k] += xs[src + k];
      src += nb;
    }
    const dst = a * nb;
    for (let k = 0; k < nb; k++) o[dst + k] = acc[k] * scale;
  }
  return out;
}

function reduction(name: 'Sum' | 'Mean', args: KernelArgs): TensorInfo {
  const x = input(args.inputs, 'x');
  const attrs = args.attrs ?? {};
  const blk = x.dtype === 'float32' ? middleBlock(x.shape, attrs.axis, !!attrs.keepDims) : null;
  // Tiny tensors: not worth leaving the backend's kernel.
  if (!blk || blk.r < 2 || blk.a * blk.r * blk.b < 4096) return runOriginal(name, args);
  return reduceMiddle(args.backend as BackendWasm, x, blk, name === 'Mean' ? 1 / blk.r : 1);
}

export const sum = (args: KernelArgs): TensorInfo => reduction('Sum', args);
export const mean = (args: KernelArgs): TensorInfo => reduction('Mean', args);
