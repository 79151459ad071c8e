/**
 * UnsortedSegmentSum for tfjs' wasm backend — the gradient of tf.gather, which
 * the backend lacks (so DSA-style samplers built on gather could not train).
 *
 * A scatter-add is one pass over the data whatever the implementation; we do
 * it directly on the wasm heap (no copies in or out), row by row, so the inner
 * loop is a contiguous add of `inner` floats.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { input, type TensorInfo } from './calls';

export function unsortedSegmentSum({
  inputs,
  backend,
  attrs = {},
}: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): TensorInfo {
  const b = backend as BackendWasm;
  const x = input(inputs, 'x');
  const segmentIds = input(inputs, 'segmentIds');
  const numSegments = attrs.numSegments as number;
  const idRank = segmentIds.shape.length;
  for (let d = 0; d < idRank; d++) {
    if (segmentIds.shape[d] !== x.shape[d]) {
      throw new Error(
        `wasm UnsortedSegmentSum: segmentIds shape [${segmentIds.shape}] must be a prefix of x shape [${x.shape}]`,
      );
    }
  }
  const rows = tf.util.sizeFromShape(segmentIds.shape);
  const inner = rows === 0 ? 0 : tf.util.sizeFromShape(x.shape) / rows;
  const out = b.makeOutput([numSegments, ...x.shape.slice(idRank)], x.dtype);
  // Views only after makeOutput: allocating may grow (and detach) the heap.
  const o = b.typedArrayFromHeap(out);
  const xs = b.typedArrayFromHeap(x);
  const ids = b.typedArrayFromHeap(segmentIds);
  o.fill(0);
  for (let r = 0; r < rows; r++) {
    const seg = ids[r];
    // Out-of-range ids are dropped, as TensorFlow does for negative ones.
    if (!(seg >= 0 && seg < numSegments)) continue;
    const src = r * inner;
    const dst = seg * inner;
    for (let k = 0; k < inner; k++) o[dst + k] += xs[src + k];
  }
  return out;
}
