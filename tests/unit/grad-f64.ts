/**
 * Float64 reference for the second-order gradient tests (tests/unit/grad*.test.ts):
 * plain-TypeScript convolution / pooling kernels with tfjs' padding rules, a
 * small ConvNet with its hand-written backward pass (∇θ of the cross-entropy),
 * and central finite differences. Independent of tfjs: nothing here calls it.
 * Layout NHWC, filters [kh, kw, in, out], like tfjs.
 */

export interface T64 {
  data: Float64Array;
  shape: number[];
}

export type Pad = 'valid' | 'same';

export const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
export const zeros64 = (shape: number[]): T64 => ({ data: new Float64Array(size(shape)), shape });

/** Output size and leading pad of one spatial dimension, as tfjs computes them. */
export function padInfo(inSize: number, filter: number, stride: number, pad: Pad): { out: number; before: number } {
  if (pad === 'valid') return { out: Math.ceil((inSize - filter + 1) / stride), before: 0 };
  const out = Math.ceil(inSize / stride);
  const along = Math.max(0, (out - 1) * stride + filter - inSize);
  return { out, before: Math.floor(along / 2) };
}

interface Geometry {
  n: number;
  h: number;
  w: number;
  c: number;
  oh: number;
  ow: number;
  pt: number;
  pl: number;
  fh: number;
  fw: number;
  s: number;
}

function geometry(xShape: number[], fh: number, fw: number, s: number, pad: Pad): Geometry {
  const [n, h, w, c] = xShape;
  const hi = padInfo(h, fh, s, pad);
  const wi = padInfo(w, fw, s, pad);
  return { n, h, w, c, oh: hi.out, ow: wi.out, pt: hi.before, pl: wi.before, fh, fw, s };
}

/** Visits every (output pixel, filter tap) pair whose input pixel is inside the image. */
function forTaps(g: Geometry, visit: (n: number, i: number, j: number, a: number, b: number, p: number, q: number) => void) {
  for (let n = 0; n < g.n; n++)
    for (let i = 0; i < g.oh; i++)
      for (let j = 0; j < g.ow; j++)
        for (let a = 0; a < g.fh; a++) {
          const p = i * g.s + a - g.pt;
          if (p < 0 || p >= g.h) continue;
          for (let b = 0; b < g.fw; b++) {
            const q = j * g.s + b - g.pl;
            if (q < 0 || q >= g.w) continue;
            visit(n, i, j, a, b, p, q);
          }
        }
}

const at4 = (shape: number[], a: number, b: number, c: number, d: number) =>
  ((a * shape[1] + b) * shape[2] + c) * shape[3] + d;

export function conv2d64(x: T64, f: T64, s: number, pad: Pad): T64 {
  const [fh, fw, ci, co] = f.shape;
  const g = geometry(x.shape, fh, fw, s, pad);
  const y = zeros64([g.n, g.oh, g.ow, co]);
  forTaps(g, (n, i, j, a, b, p, q) => {
    for (let c = 0; c < ci; c++) {
      const xv = x.data[at4(x.shape, n, p, q, c)];
      for (let o = 0; o < co; o++) y.data[at4(y.shape, n, i, j, o)] += xv * f.data[at4(f.shape, a, b, c, o)];
    }
  });
  return y;
}

/** dW[a,b,c,o] = Σ x[n, i·s+a−pt, j·s+b−pl, c]·dy[n,i,j,o]. */
export function conv2dBackpropFilter64(x: T64, dy: T64, filterShape: number[], s: number, pad: Pad): T64 {
  const [fh, fw, ci, co] = filterShape;
  const g = geometry(x.shape, fh, fw, s, pad);
  const dw = zeros64(filterShape);
  forTaps(g, (n, i, j, a, b, p, q) => {
    for (let c = 0; c < ci; c++) {
      const xv = x.data[at4(x.shape, n, p, q, c)];
      for (let o = 0; o < co; o++) dw.data[at4(filterShape, a, b, c, o)] += xv * dy.data[at4(dy.shape, n, i, j, o)];
    }
  });
  return dw;
}

export function conv2dBackpropInput64(dy: T64, f: T64, xShape: number[], s: number, pad: Pad): T64 {
  const [fh, fw, ci, co] = f.shape;
  const g = geometry(xShape, fh, fw, s, pad);
  const dx = zeros64(xShape);
  forTaps(g, (n, i, j, a, b, p, q) => {
    for (let c = 0; c < ci; c++) {
      let acc = 0;
      for (let o = 0; o < co; o++) acc += dy.data[at4(dy.shape, n, i, j, o)] * f.data[at4(f.shape, a, b, c, o)];
      dx.data[at4(xShape, n, p, q, c)] += acc;
    }
  });
  return dx;
}

/** Average pooling over in-bounds pixels (tfjs' AvgPool). */
export function avgPool64(x: T64, f: number, s: number, pad: Pad): T64 {
  const g = geometry(x.shape, f, f, s, pad);
  const y = zeros64([g.n, g.oh, g.ow, g.c]);
  const count = zeros64([g.n, g.oh, g.ow, 1]);
  forTaps(g, (n, i, j, _a, _b, p, q) => {
    count.data[at4(count.shape, n, i, j, 0)]++;
    for (let c = 0; c < g.c; c++) y.data[at4(y.shape, n, i, j, c)] += x.data[at4(x.shape, n, p, q, c)];
  });
  for (let k = 0; k < y.data.length; k++) y.data[k] /= count.data[Math.floor(k / g.c)];
  return y;
}

/** tfjs' AvgPoolGrad: each dy spread over its window × 1/(f·f) (full window size, padding included). */
export function avgPoolGrad64(dy: T64, xShape: number[], f: number, s: number, pad: Pad): T64 {
  const g = geometry(xShape, f, f, s, pad);
  const dx = zeros64(xShape);
  forTaps(g, (n, i, j, _a, _b, p, q) => {
    for (let c = 0; c < g.c; c++) dx.data[at4(xShape, n, p, q, c)] += dy.data[at4(dy.shape, n, i, j, c)] / (f * f);
  });
  return dx;
}

/** Flat input index of each window's maximum (first maximum in window order). */
export function maxPoolArgmax64(x: T64, f: number, s: number, pad: Pad): { y: T64; arg: Int32Array } {
  const g = geometry(x.shape, f, f, s, pad);
  const y = zeros64([g.n, g.oh, g.ow, g.c]);
  y.data.fill(-Infinity);
  const arg = new Int32Array(y.data.length).fill(-1);
  forTaps(g, (n, i, j, _a, _b, p, q) => {
    for (let c = 0; c < g.c; c++) {
      const k = at4(y.shape, n, i, j, c);
      const src = at4(x.shape, n, p, q, c);
      if (x.data[src] > y.data[k]) {
        y.data[k] = x.data[src];
        arg[k] = src;
      }
    }
  });
  return { y, arg };
}

export function maxPoolGrad64(dy: T64, x: T64, f: number, s: number, pad: Pad): T64 {
  const { arg } = maxPoolArgmax64(x, f, s, pad);
  const dx = zeros64(x.shape);
  for (let k = 0; k < arg.length; k++) dx.data[arg[k]] += dy.data[k];
  return dx;
}

export const dot64 = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

/** Central finite differences of f at x (f64), one coordinate at a time. */
export function finiteDiff64(f: (x: Float64Array) => number, x: ArrayLike<number>, eps: number): Float64Array {
  const p = Float64Array.from(x);
  const g = new Float64Array(p.length);
  for (let i = 0; i < p.length; i++) {
    const v = p[i];
    p[i] = v + eps;
    const fp = f(p);
    p[i] = v - eps;
    const fm = f(p);
    p[i] = v;
    g[i] = (fp - fm) / (2 * eps);
  }
  return g;
}

/** max |a − b| / max |b|. */
export function maxRelErr(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / Math.max(scale, 1e-30);
}

// ---------------------------------------------------------------------------
// Small ConvNet in f64: depth × [conv 3×3 pad 1 + bias → norm (+affine) → ReLU → 2×2 pool]
// → flatten (NHWC order) → linear. Parameter names as src/engine/models/convnet.ts.

export interface Net64Spec {
  depth: number;
  width: number;
  norm: 'instance' | 'batch' | 'none';
  pooling: 'avg' | 'max';
}

export type Params64 = Record<string, T64>;

const EPS = 1e-5;

/** Normalisation groups: instance = per (image, channel) over H·W; batch = per channel over N·H·W. */
function normGroups(shape: number[], kind: 'instance' | 'batch'): { groups: number; groupOf: (k: number) => number } {
  const [n, , , c] = shape;
  const hwc = shape[1] * shape[2] * c;
  if (kind === 'batch') return { groups: c, groupOf: (k) => k % c };
  return { groups: n * c, groupOf: (k) => Math.floor(k / hwc) * c + (k % c) };
}

interface BlockCache {
  input: T64;
  xhat: T64 | null;
  invStd: Float64Array | null;
  pre: T64; // after norm + affine, before ReLU
  relu: T64;
}

function pool2(x: T64, kind: 'avg' | 'max'): T64 {
  return kind === 'avg' ? avgPool64(x, 2, 2, 'valid') : maxPoolArgmax64(x, 2, 2, 'valid').y;
}

/** ∇θ of the mean cross-entropy of the net at (x, one-hot labels), every parameter by name. */
export function netParamGrad64(spec: Net64Spec, params: Params64, x: T64, labels: number[]): Record<string, Float64Array> {
  const caches: BlockCache[] = [];
  let h = x;
  for (let d = 0; d < spec.depth; d++) {
    const w = params[`conv${d}.weight`];
    const conv = conv2d64(h, w, 1, 'same');
    const bias = params[`conv${d}.bias`].data;
    const co = w.shape[3];
    for (let k = 0; k < conv.data.length; k++) conv.data[k] += bias[k % co];
    let xhat: T64 | null = null;
    let invStd: Float64Array | null = null;
    let pre = conv;
    if (spec.norm !== 'none') {
      const { groups, groupOf } = normGroups(conv.shape, spec.norm);
      const mean = new Float64Array(groups);
      const sq = new Float64Array(groups);
      const cnt = new Float64Array(groups);
      for (let k = 0; k < conv.data.length; k++) {
        mean[groupOf(k)] += conv.data[k];
        cnt[groupOf(k)]++;
      }
      for (let g = 0; g < groups; g++) mean[g] /= cnt[g];
      for (let k = 0; k < conv.data.length; k++) sq[groupOf(k)] += (conv.data[k] - mean[groupOf(k)]) ** 2;
      invStd = new Float64Array(groups);
      for (let g = 0; g < groups; g++) invStd[g] = 1 / Math.sqrt(sq[g] / cnt[g] + EPS);
      xhat = zeros64(conv.shape);
      pre = zeros64(conv.shape);
      const gamma = params[`norm${d}.weight`].data;
      const beta = params[`norm${d}.bias`].data;
      for (let k = 0; k < conv.data.length; k++) {
        const g = groupOf(k);
        xhat.data[k] = (conv.data[k] - mean[g]) * invStd[g];
        pre.data[k] = xhat.data[k] * gamma[k % co] + beta[k % co];
      }
    }
    const relu = zeros64(pre.shape);
    for (let k = 0; k < pre.data.length; k++) relu.data[k] = Math.max(0, pre.data[k]);
    caches.push({ input: h, xhat, invStd, pre, relu });
    h = pool2(relu, spec.pooling);
  }
  // Classifier and loss.
  const [n] = h.shape;
  const dim = h.data.length / n;
  const fcW = params['fc.weight'];
  const k = fcW.shape[1];
  const dLogits = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    const logits = new Float64Array(k);
    for (let c = 0; c < k; c++) {
      let s = params['fc.bias'].data[c];
      for (let e = 0; e < dim; e++) s += h.data[i * dim + e] * fcW.data[e * k + c];
      logits[c] = s;
    }
    const m = Math.max(...logits);
    let z = 0;
    for (let c = 0; c < k; c++) z += Math.exp(logits[c] - m);
    for (let c = 0; c < k; c++) dLogits[i * k + c] = (Math.exp(logits[c] - m) / z - (labels[i] === c ? 1 : 0)) / n;
  }
  const grads: Record<string, Float64Array> = {};
  grads['fc.weight'] = new Float64Array(dim * k);
  grads['fc.bias'] = new Float64Array(k);
  let dh = zeros64(h.shape);
  for (let i = 0; i < n; i++)
    for (let c = 0; c < k; c++) {
      const g = dLogits[i * k + c];
      grads['fc.bias'][c] += g;
      for (let e = 0; e < dim; e++) {
        grads['fc.weight'][e * k + c] += h.data[i * dim + e] * g;
        dh.data[i * dim + e] += g * fcW.data[e * k + c];
      }
    }
  for (let d = spec.depth - 1; d >= 0; d--) {
    const cache = caches[d];
    const co = cache.pre.shape[3];
    // Pool backward.
    const dRelu =
      spec.pooling === 'avg'
        ? avgPoolGrad64(dh, cache.relu.shape, 2, 2, 'valid')
        : maxPoolGrad64(dh, cache.relu, 2, 2, 'valid');
    // ReLU backward (derivative 0 at 0, like tfjs' step).
    const dPre = zeros64(dRelu.shape);
    for (let q = 0; q < dPre.data.length; q++) dPre.data[q] = cache.pre.data[q] > 0 ? dRelu.data[q] : 0;
    let dConv = dPre;
    if (spec.norm !== 'none' && cache.xhat && cache.invStd) {
      const gamma = params[`norm${d}.weight`].data;
      const gW = new Float64Array(co);
      const gB = new Float64Array(co);
      const { groups, groupOf } = normGroups(dPre.shape, spec.norm);
      const dXhat = new Float64Array(dPre.data.length);
      const sumD = new Float64Array(groups);
      const sumDX = new Float64Array(groups);
      const cnt = new Float64Array(groups);
      for (let q = 0; q < dPre.data.length; q++) {
        gW[q % co] += dPre.data[q] * cache.xhat.data[q];
        gB[q % co] += dPre.data[q];
        dXhat[q] = dPre.data[q] * gamma[q % co];
        const g = groupOf(q);
        sumD[g] += dXhat[q];
        sumDX[g] += dXhat[q] * cache.xhat.data[q];
        cnt[g]++;
      }
      grads[`norm${d}.weight`] = gW;
      grads[`norm${d}.bias`] = gB;
      dConv = zeros64(dPre.shape);
      for (let q = 0; q < dPre.data.length; q++) {
        const g = groupOf(q);
        dConv.data[q] = cache.invStd[g] * (dXhat[q] - sumD[g] / cnt[g] - (cache.xhat.data[q] * sumDX[g]) / cnt[g]);
      }
    }
    const gBias = new Float64Array(co);
    for (let q = 0; q < dConv.data.length; q++) gBias[q % co] += dConv.data[q];
    grads[`conv${d}.bias`] = gBias;
    const w = params[`conv${d}.weight`];
    grads[`conv${d}.weight`] = conv2dBackpropFilter64(cache.input, dConv, w.shape, 1, 'same').data;
    dh = conv2dBackpropInput64(dConv, w, cache.input.shape, 1, 'same');
  }
  return grads;
}

/** Gradient-matching objective Σ_θ ‖∇θL(x) − G_θ‖² in f64. */
export function matchingLoss64(
  spec: Net64Spec,
  params: Params64,
  x: T64,
  labels: number[],
  target: Record<string, Float64Array>,
): number {
  const g = netParamGrad64(spec, params, x, labels);
  let s = 0;
  for (const name of Object.keys(target)) {
    const a = g[name];
    const b = target[name];
    for (let i = 0; i < b.length; i++) s += (a[i] - b[i]) ** 2;
  }
  return s;
}

/** out[row, c] = Σ_k w[row·k + j]·x[idx[row·k + j], c] — DSA's sparse resampling, rows = flattened pixels. */
export function applySparse64(x: T64, idx: Int32Array, w: Float32Array, k: number, shared: boolean): T64 {
  const [n, h, wd, c] = x.shape;
  const hw = h * wd;
  const y = zeros64(x.shape);
  for (let img = 0; img < n; img++)
    for (let p = 0; p < hw; p++) {
      const row = shared ? p : img * hw + p;
      for (let j = 0; j < k; j++) {
        const weight = w[row * k + j];
        if (weight === 0) continue;
        const src = shared ? img * hw + idx[row * k + j] : idx[row * k + j];
        for (let ch = 0; ch < c; ch++) y.data[(img * hw + p) * c + ch] += weight * x.data[src * c + ch];
      }
    }
  return y;
}
