/**
 * Differentiable resampling of images by a fixed sparse linear map:
 *   out[n, p, c] = Σ_k w[p, k] · x[n, idx[p, k], c]
 * with the index/weight tables computed in JS from the augmentation parameters
 * (they never depend on x). Used for bilinear affine warps (rotate), flips and
 * per-sample integer translations (crop); axis-aligned scaling is separable
 * and runs as two matMuls instead (scaleByMatMul, at the end).
 *
 * Forward is a tf.gather + weighted sum. The gradient is the adjoint map, also
 * expressed as a gather over a transposed table built in JS, inside
 * tf.customGrad: tf.gather's own gradient needs UnsortedSegmentSum, which the
 * wasm backend lacks, and a gather is cheaper than a scatter-add on GPUs too.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * A sparse map with exactly k entries per output row (unused entries have
 * weight 0 and index 0), stored entry-major: entry j of row r at j·rows + r, so
 * each entry is one contiguous gather (k gathers + weighted adds beat one big
 * gather followed by a strided sum, which costs a transpose on most backends).
 * `shared`: one table of H·W rows applied to every image of the batch (indices
 * are pixel positions); otherwise N·H·W rows whose indices address the
 * flattened batch n·H·W + pixel.
 */
export interface SparseTable {
  idx: Int32Array;
  w: Float32Array;
  k: number;
  rows: number;
}

export interface SparseMap {
  shared: boolean;
  forward: SparseTable;
  adjoint: SparseTable;
}

/** Transposes a table over `cols` source positions (the adjoint map). */
export function transposeTable(t: SparseTable, cols: number): SparseTable {
  const { rows } = t;
  const counts = new Int32Array(cols);
  for (let e = 0; e < rows * t.k; e++) if (t.w[e] !== 0) counts[t.idx[e]]++;
  let k = 1;
  for (let c = 0; c < cols; c++) if (counts[c] > k) k = counts[c];
  const idx = new Int32Array(cols * k);
  const w = new Float32Array(cols * k);
  const fill = new Int32Array(cols);
  for (let e = 0; e < rows * t.k; e++) {
    const weight = t.w[e];
    if (weight === 0) continue;
    const c = t.idx[e];
    const slot = fill[c]++ * cols + c;
    idx[slot] = e % rows;
    w[slot] = weight;
  }
  return { idx, w, k, rows: cols };
}

/** Builds the map (forward and adjoint) from a forward table over as many source positions as rows. */
export function makeSparseMap(forward: SparseTable, shared: boolean): SparseMap {
  return { shared, forward, adjoint: transposeTable(forward, forward.rows) };
}

function applyTable(x: tf.Tensor4D, t: SparseTable, shared: boolean): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const rows = t.rows;
  return tf.tidy(() => {
    const src = shared ? x.reshape([n, h * w, c]) : x.reshape([n * h * w, c]);
    const terms: tf.Tensor[] = [];
    for (let j = 0; j < t.k; j++) {
      const wj = t.w.subarray(j * rows, (j + 1) * rows);
      if (!wj.some((v) => v !== 0)) continue;
      const idx = tf.tensor1d(t.idx.subarray(j * rows, (j + 1) * rows), 'int32');
      const g = tf.gather(src, idx, shared ? 1 : 0);
      // pure permutations (flip) skip the multiply: broadcasting ops are slow on the cpu backend
      const weighted = wj.every((v) => v === 1)
        ? g
        : g.mul(shared ? tf.tensor3d(wj, [1, rows, 1]) : tf.tensor2d(wj, [rows, 1]));
      terms.push(weighted);
    }
    const sum = terms.length === 0 ? tf.zerosLike(src) : terms.length === 1 ? terms[0] : tf.addN(terms);
    return sum.reshape([n, h, w, c]);
  });
}

/** Applies the map to x [N, H, W, C]; differentiable with respect to x on every backend. */
export function applySparseMap(x: tf.Tensor4D, map: SparseMap): tf.Tensor4D {
  const op = tf.customGrad((xIn) => ({
    value: applyTable(xIn as tf.Tensor4D, map.forward, map.shared),
    gradFunc: (dy) => applyTable(dy as tf.Tensor4D, map.adjoint, map.shared),
  }));
  return op(x) as tf.Tensor4D;
}

/**
 * Bilinear sampling table for affine warps, matching PyTorch's
 * F.affine_grid + F.grid_sample (bilinear, zeros padding, align_corners=False —
 * the default the reference gets, as it passes no flag). For output pixel (i, j)
 * with normalised centre (xn, yn) = ((2j+1)/W − 1, (2i+1)/H − 1), the source is
 * (xs, ys) = θ · (xn, yn, 1), in pixels ix = ((xs+1)·W − 1)/2, iy likewise.
 * theta: [a00, a01, a02, a10, a11, a12] per table (x ≙ width, y ≙ height).
 * Returns k = 4 entries per output pixel: (y0,x0), (y0,x1), (y1,x0), (y1,x1);
 * one table per theta, stacked (theta n's pixels are rows n·H·W…).
 */
export function bilinearAffineTable(thetas: ArrayLike<number>[], h: number, w: number): SparseTable {
  const hw = h * w;
  const rows = thetas.length * hw;
  const idx = new Int32Array(rows * 4);
  const wt = new Float32Array(rows * 4);
  // Snap source coordinates within this distance of a pixel centre, so that an
  // identity transform (and exact grid hits) reproduces the input exactly
  // instead of mixing in neighbours with weights ~1e-16 rounded in f32.
  const snap = 1e-6;
  const put = (entry: number, row: number, base: number, yy: number, xx: number, weight: number) => {
    // zeros padding: a corner outside the image contributes nothing
    if (weight !== 0 && yy >= 0 && yy < h && xx >= 0 && xx < w) {
      idx[entry * rows + row] = base + yy * w + xx;
      wt[entry * rows + row] = weight;
    }
  };
  for (let n = 0; n < thetas.length; n++) {
    const [a00, a01, a02, a10, a11, a12] = Array.from(thetas[n]);
    const base = n * hw;
    for (let i = 0; i < h; i++) {
      const yn = (2 * i + 1) / h - 1;
      for (let j = 0; j < w; j++) {
        const xn = (2 * j + 1) / w - 1;
        let ix = ((a00 * xn + a01 * yn + a02 + 1) * w - 1) / 2;
        let iy = ((a10 * xn + a11 * yn + a12 + 1) * h - 1) / 2;
        if (Math.abs(ix - Math.round(ix)) < snap) ix = Math.round(ix);
        if (Math.abs(iy - Math.round(iy)) < snap) iy = Math.round(iy);
        const x0 = Math.floor(ix);
        const y0 = Math.floor(iy);
        const fx = ix - x0;
        const fy = iy - y0;
        const row = base + i * w + j;
        put(0, row, base, y0, x0, (1 - fy) * (1 - fx));
        put(1, row, base, y0, x0 + 1, (1 - fy) * fx);
        put(2, row, base, y0 + 1, x0, fy * (1 - fx));
        put(3, row, base, y0 + 1, x0 + 1, fy * fx);
      }
    }
  }
  return { idx, w: wt, k: 4, rows };
}

/**
 * Integer translation table (k = 1): out[i, j] = x[i + dy, j + dx], zero where
 * the source falls outside. One (dy, dx) per image.
 */
export function translationTable(shifts: [number, number][], h: number, w: number): SparseTable {
  const hw = h * w;
  const idx = new Int32Array(shifts.length * hw);
  const wt = new Float32Array(shifts.length * hw);
  for (let n = 0; n < shifts.length; n++) {
    const [dy, dx] = shifts[n];
    for (let i = 0; i < h; i++) {
      const si = i + dy;
      if (si < 0 || si >= h) continue;
      for (let j = 0; j < w; j++) {
        const sj = j + dx;
        if (sj < 0 || sj >= w) continue;
        idx[n * hw + i * w + j] = n * hw + si * w + sj;
        wt[n * hw + i * w + j] = 1;
      }
    }
  }
  return { idx, w: wt, k: 1, rows: shifts.length * hw };
}

/** Horizontal flip table (k = 1): out[i, j] = x[i, W − 1 − j] where the flag is set, else x[i, j]. */
export function flipTable(flags: boolean[], h: number, w: number): SparseTable {
  const hw = h * w;
  const idx = new Int32Array(flags.length * hw);
  for (let n = 0; n < flags.length; n++) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) idx[n * hw + i * w + j] = n * hw + i * w + (flags[n] ? w - 1 - j : j);
    }
  }
  return { idx, w: new Float32Array(flags.length * hw).fill(1), k: 1, rows: flags.length * hw };
}

/**
 * 1-D linear interpolation matrix [size × size] (row = output, column = source)
 * of grid_sample along one axis for x_src = scale · x_out in normalised
 * coordinates (align_corners=False, zero padding). An axis-aligned scaling is
 * separable — the bilinear weight is the product of two of these and a corner
 * is inside the image iff both coordinates are — so scale runs as two small
 * matMuls, out = S_y · x · S_xᵀ, instead of gathers.
 */
export function interpMatrix(scale: number, size: number): Float32Array {
  const m = new Float32Array(size * size);
  for (let o = 0; o < size; o++) {
    const xn = (2 * o + 1) / size - 1;
    let src = ((scale * xn + 1) * size - 1) / 2;
    if (Math.abs(src - Math.round(src)) < 1e-6) src = Math.round(src);
    const s0 = Math.floor(src);
    const f = src - s0;
    if (s0 >= 0 && s0 < size) m[o * size + s0] += 1 - f;
    if (f !== 0 && s0 + 1 >= 0 && s0 + 1 < size) m[o * size + s0 + 1] += f;
  }
  return m;
}

/** Axis-aligned bilinear scaling by matMuls; sx/sy hold 1 (shared) or N (per image) factors. */
export function scaleByMatMul(x: tf.Tensor4D, sx: number[], sy: number[]): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const k = sx.length;
  return tf.tidy(() => {
    const my = new Float32Array(k * h * h);
    const mx = new Float32Array(k * w * w);
    for (let i = 0; i < k; i++) {
      my.set(interpMatrix(sy[i], h), i * h * h);
      mx.set(interpMatrix(sx[i], w), i * w * w);
    }
    // rows: [k, H, H] · [N, H, W·C]  (k = 1 broadcasts over the batch)
    const rows = tf.matMul(tf.tensor3d(my, [k, h, h]), x.reshape([n, h, w * c]));
    if (k === 1) return tf.matMul(tf.tensor3d(mx, [1, w, w]), rows.reshape([n * h, w, c])).reshape([n, h, w, c]);
    // Per image: tfjs broadcasts batch dims of matMul as if flattened, so [N,1,W,W]·[N,H,W,C]
    // would pair the wrong matrices; bring W to the row position instead.
    const cols = rows.reshape([n, h, w, c]).transpose([0, 2, 1, 3]).reshape([n, w, h * c]);
    return tf.matMul(tf.tensor3d(mx, [k, w, w]), cols).reshape([n, w, h, c]).transpose([0, 2, 1, 3]) as tf.Tensor4D;
  });
}
