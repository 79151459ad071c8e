/**
 * Gradients of 2-D average and max pooling for tfjs' wasm backend.
 *
 * The backend's AvgPoolGrad/MaxPoolGrad are generic loops that visit every
 * (input pixel, window tap) pair with bounds checks: ≈ 70 / 155 ms CPU for one
 * 64×32×32×128 activation, more than the layer's convolution. Worse, its
 * MaxPoolGrad is wrong when windows overlap (2×2 stride 1 loses part of the
 * gradient: found by this project's tests against the cpu backend).
 *
 * Here the gradient is scattered window by window, a channel row at a time
 * (NHWC keeps a pixel's channels contiguous): average pooling adds
 * dy/(kh·kw) to every in-bounds tap — tfjs' convention on every backend,
 * even where padding makes the forward average divide by fewer — and max
 * pooling adds dy to the window's first maximum in row-major order (strict
 * '>', so NaN never wins), exactly as tfjs' cpu backend decides. Dilated
 * pooling (never differentiated by tfjs) and non-float inputs go to the
 * backend's kernels.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { input, runOriginal, type KernelArgs, type TensorInfo } from './calls';

type Shape4 = [number, number, number, number];

function poolInfo(xShape: number[], attrs: tf.NamedAttrMap): tf.backend_util.Conv2DInfo | null {
  if (xShape.length !== 4) return null;
  const info = tf.backend_util.computePool2DInfo(
    xShape as Shape4,
    attrs.filterSize as [number, number] | number,
    attrs.strides as [number, number] | number,
    1,
    attrs.pad as 'valid' | 'same' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
  );
  return info.dilationHeight === 1 && info.dilationWidth === 1 ? info : null;
}

/** The in-bounds rows [y0, y1) of window row i (same for columns). */
function span(i: number, stride: number, pad: number, size: number, limit: number): [number, number] {
  const start = i * stride - pad;
  return [Math.max(0, start), Math.min(limit, start + size)];
}

export function avgPoolGrad(args: KernelArgs): TensorInfo {
  const b = args.backend as BackendWasm;
  const dy = input(args.inputs, 'dy');
  const x = input(args.inputs, 'input');
  const info = poolInfo(x.shape, args.attrs ?? {});
  if (!info || dy.dtype !== 'float32') return runOriginal('AvgPoolGrad', args);
  const [n, h, w, c] = x.shape;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info;
  const { top, left } = info.padInfo;
  const out = b.makeOutput(x.shape, 'float32');
  const o = b.typedArrayFromHeap(out);
  const g = b.typedArrayFromHeap(dy);
  const scale = 1 / (fh * fw);
  // ConvNet's 2×2/stride-2 case: windows neither overlap nor leave gaps, so
  // every value is written exactly once — no zero fill, no read-modify-write.
  const disjoint = sh >= fh && sw >= fw;
  const covers = sh === fh && sw === fw && top === 0 && left === 0 && oh * fh === h && ow * fw === w;
  if (!covers) o.fill(0);
  for (let m = 0; m < n; m++) {
    for (let i = 0; i < oh; i++) {
      const [y0, y1] = span(i, sh, top, fh, h);
      for (let j = 0; j < ow; j++) {
        const [x0, x1] = span(j, sw, left, fw, w);
        const src = ((m * oh + i) * ow + j) * c;
        for (let y = y0; y < y1; y++) {
          for (let xx = x0; xx < x1; xx++) {
            const dst = ((m * h + y) * w + xx) * c;
            if (disjoint) for (let k = 0; k < c; k++) o[dst + k] = g[src + k] * scale;
            else for (let k = 0; k < c; k++) o[dst + k] += g[src + k] * scale;
          }
        }
      }
    }
  }
  return out;
}

export function maxPoolGrad(args: KernelArgs): TensorInfo {
  const b = args.backend as BackendWasm;
  const dy = input(args.inputs, 'dy');
  const x = input(args.inputs, 'input');
  const info = poolInfo(x.shape, args.attrs ?? {});
  if (!info || dy.dtype !== 'float32' || x.dtype !== 'float32') return runOriginal('MaxPoolGrad', args);
  const [n, h, w, c] = x.shape;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info;
  const { top, left } = info.padInfo;
  const out = b.makeOutput(x.shape, 'float32');
  const o = b.typedArrayFromHeap(out);
  const g = b.typedArrayFromHeap(dy);
  const xs = b.typedArrayFromHeap(x);
  o.fill(0);
  const best = new Float32Array(c);
  const at = new Int32Array(c);
  for (let m = 0; m < n; m++) {
    for (let i = 0; i < oh; i++) {
      const [y0, y1] = span(i, sh, top, fh, h);
      for (let j = 0; j < ow; j++) {
        const [x0, x1] = span(j, sw, left, fw, w);
        best.fill(-Infinity);
        at.fill(-1);
        for (let y = y0; y < y1; y++) {
          for (let xx = x0; xx < x1; xx++) {
            const base = ((m * h + y) * w + xx) * c;
            for (let k = 0; k < c; k++) {
              if (xs[base + k] > best[k]) {
                best[k] = xs[base + k];
                at[k] = base + k;
              }
            }
          }
        }
        const src = ((m * oh + i) * ow + j) * c;
        for (let k = 0; k < c; k++) if (at[k] >= 0) o[at[k]] += g[src + k];
      }
    }
  }
  return out;
}
