/**
 * Convolution gradients for tfjs' wasm backend, built from its XNNPACK Conv2D.
 *
 * tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter at all, and its
 * Conv2DBackpropInput is a plain C++ loop (≈ 4 GFLOP/s against ≈ 40 for
 * Conv2D on the same shapes). Both gradients are themselves convolutions, so
 * we rewrite them with the backend's XNNPACK kernels plus cheap rearranging:
 *
 *   filter gradient: dW[a,b,ci,co] = Σ_{n,i,j} xpad[n, i·s+a, j·s+b, ci] · dy[n,i,j,co], either
 *     - as im2col (written straight into the wasm heap) + the backend's
 *       BatchMatMul — usually the faster one, see preferIm2col — or
 *     - as Conv2D(input = xᵀ [Ci, H, W, N] (channels become the batch),
 *                 filter = dyᵀ [OH, OW, N, Co], dilation = the forward stride,
 *                 same top/left padding) → [Ci, KH, KW, Co] → [KH, KW, Ci, Co].
 *   input gradient (stride 1): dx = Conv2D(dy, W rotated 180° with in/out
 *     channels swapped, padding K−1−p).
 *
 * Strided input gradients (not used by the ConvNet family) keep the backend's
 * own kernel.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  conv2dInfo,
  explicitPad,
  free,
  input,
  runOriginal,
  runWasm,
  transposeInfo,
  type KernelArgs,
  type TensorInfo,
} from './calls';

type Shape4 = [number, number, number, number];

function checkNHWC(kernel: string, dataFormat: unknown): void {
  if (dataFormat === 'NCHW') {
    throw new Error(`wasm ${kernel}: only NHWC (channels-last) is supported, like the backend's Conv2D`);
  }
}

function convInfo(xShape: number[], filterShape: number[], attrs: tf.NamedAttrMap) {
  return tf.backend_util.computeConv2DInfo(
    xShape as Shape4,
    filterShape as Shape4,
    attrs.strides as [number, number] | number,
    1,
    attrs.pad as 'valid' | 'same' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    false,
    'channelsLast',
  );
}

export function conv2DBackpropFilter({ inputs, backend, attrs = {} }: KernelArgs): TensorInfo {
  const b = backend as BackendWasm;
  const x = input(inputs, 'x');
  const dy = input(inputs, 'dy');
  checkNHWC('Conv2DBackpropFilter', attrs.dataFormat);
  const info = convInfo(x.shape, attrs.filterShape as Shape4, attrs);
  const useIm2col = config.mode === 'im2col' || (config.mode === 'auto' && preferIm2col(info));
  return useIm2col ? filterGradIm2col(b, x, dy, info) : filterGradConv(b, x, dy, info);
}

export type FilterGradMode = 'auto' | 'im2col' | 'conv';
export interface FilterGradConfig {
  /** Which formulation of the filter gradient: chosen per shape ('auto', the default) or forced. */
  mode: FilterGradMode;
  /** Largest im2col buffer (floats) built at once; bigger batches are done in chunks of images. */
  im2colMaxFloats: number;
}
const config: FilterGradConfig = { mode: 'auto', im2colMaxFloats: 1 << 24 };

/** Overrides the filter-gradient settings (tests, benchmarks); returns the previous ones. */
export function configureFilterGrad(next: Partial<FilterGradConfig>): FilterGradConfig {
  const previous = { ...config };
  Object.assign(config, next);
  return previous;
}

/**
 * Which formulation is cheaper. Both do the same GEMM; they differ in the data
 * they rearrange first. The conv route has XNNPACK pack dy as a huge filter
 * (OH·OW·N·Co values at tens of ns each: its packing loop is slow for such
 * "filters"); im2col writes KH·KW·Ci values per output pixel at ≈ 2 ns each
 * and lets the matmul pack dy cheaply. Measured on ConvNet-3 (width 128,
 * batch 64, CPU time): im2col 26 / 165 / 42 ms for the three layers against
 * 153 / 200 / 46 ms for the conv route. The conv route remains for layers with
 * many input and few output channels.
 */
function preferIm2col(info: tf.backend_util.Conv2DInfo): boolean {
  return info.filterHeight * info.filterWidth * info.inChannels <= 16 * info.outChannels;
}

/**
 * dW = Σ over chunks of images of Xcolᵀ · dy, with Xcol built on the wasm heap
 * in the transposed layout [KH·KW·Ci rows in (ci, a, b) order, pixels], so the
 * matmul needs no transposed operand (the backend's transposed BatchMatMul is
 * a slow loop). dy's rows for a run of images are contiguous, so a chunk's
 * share of dy is one block copy.
 */
function filterGradIm2col(
  b: BackendWasm,
  x: TensorInfo,
  dy: TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): TensorInfo {
  const { batchSize: n, inChannels: ci, outChannels: co, outHeight: oh, outWidth: ow } = info;
  const { filterHeight: kh, filterWidth: kw } = info;
  const rows = ci * kh * kw;
  const perImage = oh * ow;
  const chunk = Math.max(1, Math.min(n, Math.floor(config.im2colMaxFloats / (rows * perImage))));
  let sum: TensorInfo | null = null;
  for (let m0 = 0; m0 < n; m0 += chunk) {
    const m1 = Math.min(n, m0 + chunk);
    const pixels = (m1 - m0) * perImage;
    const cols = b.makeOutput([1, rows, pixels], 'float32');
    fillIm2col(b, cols, x, info, m0, m1);
    const dyChunk = m0 === 0 && m1 === n ? dy : sliceRows(b, dy, m0 * perImage * co, pixels * co);
    const dy3 = { dataId: dyChunk.dataId, shape: [1, pixels, co], dtype: dyChunk.dtype };
    const g = runWasm(b, 'BatchMatMul', { a: cols, b: dy3 }, { transposeA: false, transposeB: false }); // [1, rows, Co]
    free(b, cols);
    if (dyChunk !== dy) free(b, dyChunk);
    if (sum) {
      const next = runWasm(b, 'Add', { a: sum, b: g });
      free(b, sum, g);
      sum = next;
    } else {
      sum = g;
    }
  }
  const total = sum as TensorInfo;
  const out = transposeInfo(b, { dataId: total.dataId, shape: [ci, kh, kw, co], dtype: total.dtype }, [1, 2, 0, 3]);
  free(b, total);
  return out;
}

/** A contiguous run of `size` floats of t starting at `start`, copied into a new buffer. */
function sliceRows(b: BackendWasm, t: TensorInfo, start: number, size: number): TensorInfo {
  const out = b.makeOutput([size], 'float32');
  const o = b.typedArrayFromHeap(out);
  o.set(b.typedArrayFromHeap(t).subarray(start, start + size));
  return out;
}

/** Xcolᵀ[(c, p, q), (m, i, j)] = x[m, i·sh + p − top, j·sw + q − left, c] (0 outside), images m0..m1. */
function fillIm2col(
  b: BackendWasm,
  cols: TensorInfo,
  x: TensorInfo,
  info: tf.backend_util.Conv2DInfo,
  m0: number,
  m1: number,
): void {
  const { inHeight: h, inWidth: w, inChannels: ci, outHeight: oh, outWidth: ow } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  // Views only after every allocation: growing the heap detaches old views.
  const a = b.typedArrayFromHeap(cols);
  const xs = b.typedArrayFromHeap(x);
  let o = 0;
  for (let c = 0; c < ci; c++) {
    for (let p = 0; p < kh; p++) {
      for (let q = 0; q < kw; q++) {
        for (let m = m0; m < m1; m++) {
          for (let i = 0; i < oh; i++) {
            const y = i * sh + p - top;
            if (y < 0 || y >= h) {
              a.fill(0, o, o + ow);
              o += ow;
              continue;
            }
            const rowBase = (m * h + y) * w;
            for (let j = 0; j < ow; j++) {
              const xx = j * sw + q - left;
              a[o++] = xx >= 0 && xx < w ? xs[(rowBase + xx) * ci + c] : 0;
            }
          }
        }
      }
    }
  }
}

/** dW as one XNNPACK Conv2D of xᵀ (channels as batch) with dyᵀ as the filter; the stride becomes a dilation. */
function filterGradConv(b: BackendWasm, x: TensorInfo, dy: TensorInfo, info: tf.backend_util.Conv2DInfo): TensorInfo {
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const { inHeight: h, inWidth: w, outHeight: oh, outWidth: ow, inChannels: ci, outChannels: co } = info;
  const { top, left } = info.padInfo;
  // Bottom/right padding that makes the result exactly KH×KW; when the forward
  // pass dropped trailing rows (floor rounding) it is negative: pad 0 and crop.
  const bottom = Math.max(0, kh + (oh - 1) * sh - h - top);
  const right = Math.max(0, kw + (ow - 1) * sw - w - left);

  const xT = transposeInfo(b, x, [3, 1, 2, 0]); // [Ci, H, W, N]
  const dyT = transposeInfo(b, dy, [1, 2, 0, 3]); // [OH, OW, N, Co]
  let r = conv2dInfo(b, xT, dyT, explicitPad(top, bottom, left, right), [sh, sw]); // [Ci, ≥KH, ≥KW, Co]
  free(b, xT, dyT);
  if (r.shape[1] !== kh || r.shape[2] !== kw) {
    const cropped = runWasm(b, 'Slice', { x: r }, { begin: [0, 0, 0, 0], size: [ci, kh, kw, co] });
    free(b, r);
    r = cropped;
  }
  const out = transposeInfo(b, r, [1, 2, 0, 3]); // [KH, KW, Ci, Co]
  free(b, r);
  return out;
}

export function conv2DBackpropInput(args: KernelArgs): TensorInfo {
  const { inputs, backend, attrs = {} } = args;
  const b = backend as BackendWasm;
  const dy = input(inputs, 'dy');
  const filter = input(inputs, 'filter');
  checkNHWC('Conv2DBackpropInput', attrs.dataFormat);
  const inputShape = attrs.inputShape as Shape4;
  const info = convInfo(inputShape, filter.shape, attrs);
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const { top, bottom, left, right } = info.padInfo;
  const pads = [kh - 1 - top, kh - 1 - bottom, kw - 1 - left, kw - 1 - right];
  const fitsExactly =
    dy.shape[1] + pads[0] + pads[1] - kh + 1 === inputShape[1] &&
    dy.shape[2] + pads[2] + pads[3] - kw + 1 === inputShape[2];
  if (sh !== 1 || sw !== 1 || pads.some((p) => p < 0) || !fitsExactly) {
    return runOriginal('Conv2DBackpropInput', args);
  }
  const flipped = runWasm(b, 'Reverse', { x: filter }, { dims: [0, 1] });
  const swapped = transposeInfo(b, flipped, [0, 1, 3, 2]); // [KH, KW, Co, Ci]
  free(b, flipped);
  const out = conv2dInfo(b, dy, swapped, explicitPad(pads[0], pads[1], pads[2], pads[3]));
  free(b, swapped);
  return out;
}
