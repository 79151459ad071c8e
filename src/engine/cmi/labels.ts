/**
 * Class layout of a labelled set, computed on the CPU where the labels live.
 *
 * The fused WebGPU kernel walks one class per workgroup, so it needs the rows
 * grouped by class: a stable sort by label gives `perm` (sorted position →
 * original row) and CSR `offsets` (class c owns sorted positions
 * offsets[c] … offsets[c+1]-1). Rows need not arrive sorted; classes may have
 * any size, including 0 or 1.
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../data/types';

export interface ClassLayout {
  /** Number of rows N. */
  rows: number;
  /** Number of classes C (labels lie in [0, C)). */
  numClasses: number;
  /** Label of each row, as given. */
  labels: Int32Array;
  /** Members per class, length C. */
  counts: Int32Array;
  /** CSR offsets into `perm`, length C + 1. */
  offsets: Int32Array;
  /** Rows stably sorted by label: perm[i] is the original index of sorted position i. */
  perm: Int32Array;
}

export type CmiLabels = Int32Array | ArrayLike<number> | tf.Tensor1D;

// Synthetic labels rarely change between iterations: reuse the layout for the same array/tensor object.
const cache = new WeakMap<object, { numClasses: number | undefined; layout: ClassLayout }>();

/**
 * Builds (or fetches from a per-object cache) the class layout of `labels`.
 * A tf.Tensor1D is read with dataSync(): cheap when its values are on the CPU,
 * a GPU read-back otherwise — pass an Int32Array in hot loops.
 * Cached per array/tensor object; an array edited in place is noticed (O(N) compare).
 */
export function classLayout(labels: CmiLabels, rows: number, numClasses?: number): ClassLayout {
  const hit = cache.get(labels);
  if (hit && hit.numClasses === numClasses && hit.layout.rows === rows && unchanged(labels, hit.layout.labels)) {
    return hit.layout;
  }
  let values: ArrayLike<number>;
  if (labels instanceof tf.Tensor) {
    if (labels.rank !== 1) throw new UserError(`cmi: labels must be a 1-D tensor, got rank ${labels.rank}`);
    values = labels.dataSync();
  } else {
    values = labels;
  }
  const layout = buildLayout(values, rows, numClasses);
  cache.set(labels, { numClasses, layout });
  return layout;
}

/** Tensors are immutable; arrays may have been edited in place since they were cached. */
function unchanged(labels: CmiLabels, cached: Int32Array): boolean {
  if (labels instanceof tf.Tensor) return true;
  for (let i = 0; i < cached.length; i++) if (labels[i] !== cached[i]) return false;
  return labels.length === cached.length;
}

function buildLayout(values: ArrayLike<number>, rows: number, numClasses?: number): ClassLayout {
  if (values.length !== rows) {
    throw new UserError(`cmi: ${values.length} labels for ${rows} rows of z`);
  }
  const labels = new Int32Array(rows);
  let maxLabel = -1;
  for (let i = 0; i < rows; i++) {
    const y = values[i];
    if (!Number.isInteger(y) || y < 0) throw new UserError(`cmi: label ${y} at row ${i} is not a non-negative integer`);
    labels[i] = y;
    if (y > maxLabel) maxLabel = y;
  }
  const C = numClasses ?? maxLabel + 1;
  if (!Number.isInteger(C) || C < 1) throw new UserError(`cmi: numClasses must be a positive integer, got ${C}`);
  if (maxLabel >= C) throw new UserError(`cmi: label ${maxLabel} out of range for ${C} classes`);

  // Counting sort: stable, O(N + C).
  const counts = new Int32Array(C);
  for (let i = 0; i < rows; i++) counts[labels[i]]++;
  const offsets = new Int32Array(C + 1);
  for (let c = 0; c < C; c++) offsets[c + 1] = offsets[c] + counts[c];
  const next = offsets.slice(0, C);
  const perm = new Int32Array(rows);
  for (let i = 0; i < rows; i++) perm[next[labels[i]]++] = i;
  return { rows, numClasses: C, labels, counts, offsets, perm };
}
