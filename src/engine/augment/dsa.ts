/**
 * Differentiable Siamese Augmentation (DSA), as the reference DC/DSA/DM code
 * runs it (ParamDiffAug defaults, aug_mode 'S'): each call picks ONE family of
 * the strategy string at random and applies it to the whole batch.
 * See ../shared/design/protocol.md "DSA augmentation".
 *
 * Families (x is normalised NHWC; u ~ U(0,1)):
 * - color:  x + (u₁ − 0.5); then (x − mean_c(x))·2u₂ + mean_c(x) with mean_c the
 *           pixel's mean over channels; then (x − mean(x))·(u₃ + 0.5) + mean(x)
 *           with the image's mean over H, W, C. Three separate draws.
 * - crop:   integer shift of rows and columns, each in [−s, s] with
 *           s = round(0.125·size) (4 for 32 and 28); out[i,j] = x[i+dy, j+dx],
 *           zero outside.
 * - cutout: zero a square of side c = round(0.5·size) (16 for 32, 14 for 28)
 *           covering rows cy − ⌊c/2⌋ … cy − ⌊c/2⌋ + c − 1 (clipped to the image),
 *           with cy uniform in [0, H − (c mod 2)] — the reference's
 *           randint(0, H + 1 − c mod 2); columns likewise. Near a border only
 *           part of the square lies inside.
 * - flip:   horizontal (width axis) with probability 0.5 (u < 0.5 flips).
 * - scale:  sx, sy ~ U(1/1.2, 1.2); affine grid θ = [[sx,0,0],[0,sy,0]],
 *           bilinear, zero padding, align_corners=False (see sampler.ts).
 * - rotate: α ~ U(−15°, 15°); θ = [[cos α, −sin α, 0], [sin α, cos α, 0]].
 *
 * Randomness: everything comes from Rng(seed) — first the family index, then
 * the family's parameters in the order listed above. 'siamese' draws one value
 * per parameter and applies it to every image, so any two batches augmented
 * with the same seed get the same transform (the DM real/synthetic pairing).
 * 'per-sample' draws each parameter once per image (all of parameter 1 for the
 * batch, then all of parameter 2…); the family is still one per call, as in
 * the reference's evaluation training.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../rng';
import { UserError } from '../data/types';
import { applySparseMap, bilinearAffineTable, flipTable, makeSparseMap, scaleByMatMul, translationTable } from './sampler';

export const DSA_FAMILIES = ['color', 'crop', 'cutout', 'flip', 'scale', 'rotate'] as const;
export type DsaFamily = (typeof DSA_FAMILIES)[number];
export type DsaMode = 'siamese' | 'per-sample';

export interface DsaOptions {
  /** Families joined by '_', e.g. 'color_crop_cutout_flip_scale_rotate'; '' or 'none' = identity. */
  strategy: string;
  seed: number;
  mode: DsaMode;
}

/** ParamDiffAug defaults of the reference. */
export const DSA_RATIOS = {
  flipProb: 0.5,
  scale: 1.2,
  rotateDeg: 15,
  cropPad: 0.125,
  cutout: 0.5,
  brightness: 1.0,
  saturation: 2.0,
  contrast: 0.5,
} as const;

/**
 * Drawn parameters of one call. Every per-image array has length 1 in
 * siamese mode (shared by the batch) and N in per-sample mode.
 */
export type DsaParams =
  | { family: 'color'; brightness: number[]; saturation: number[]; contrast: number[] }
  | { family: 'crop'; shiftRows: number[]; shiftCols: number[] }
  | { family: 'cutout'; centerRow: number[]; centerCol: number[]; sizeRows: number; sizeCols: number }
  | { family: 'flip'; flip: boolean[] }
  | { family: 'scale'; sx: number[]; sy: number[] }
  | { family: 'rotate'; angle: number[] /* radians */ };

/** Splits and checks a strategy string; [] for '' / 'none'. */
export function parseDsaStrategy(strategy: string): DsaFamily[] {
  if (strategy === '' || strategy.toLowerCase() === 'none') return [];
  return strategy.split('_').map((name) => {
    if (!(DSA_FAMILIES as readonly string[]).includes(name)) {
      throw new UserError(
        `unknown DSA augmentation '${name}' in strategy '${strategy}' (valid: ${DSA_FAMILIES.join(', ')}, joined by '_')`,
      );
    }
    return name as DsaFamily;
  });
}

const roundHalfUp = (v: number) => Math.floor(v + 0.5);

/** The family and parameters a call with these options draws for a batch of `batch` images of h×w. */
export function drawDsaParams(opts: DsaOptions, batch: number, h: number, w: number): DsaParams | null {
  const families = parseDsaStrategy(opts.strategy);
  if (families.length === 0) return null;
  const rng = new Rng(opts.seed);
  const family = families[rng.int(0, families.length - 1)];
  const n = opts.mode === 'siamese' ? 1 : batch;
  // Float64 draws (the reference draws in f32; the difference is far below a pixel).
  const draw = (f: (r: Rng) => number) => Array.from({ length: n }, () => f(rng));
  const ints = (lo: number, hi: number) => draw((r) => r.int(lo, hi));
  const R = DSA_RATIOS;
  switch (family) {
    case 'color':
      return {
        family,
        brightness: draw((r) => r.next()),
        saturation: draw((r) => r.next()),
        contrast: draw((r) => r.next()),
      };
    case 'crop': {
      const sr = roundHalfUp(h * R.cropPad);
      const sc = roundHalfUp(w * R.cropPad);
      return { family, shiftRows: ints(-sr, sr), shiftCols: ints(-sc, sc) };
    }
    case 'cutout': {
      const sizeRows = roundHalfUp(h * R.cutout);
      const sizeCols = roundHalfUp(w * R.cutout);
      return {
        family,
        centerRow: ints(0, h - (sizeRows % 2)),
        centerCol: ints(0, w - (sizeCols % 2)),
        sizeRows,
        sizeCols,
      };
    }
    case 'flip':
      return { family, flip: draw((r) => r.next()).map((u) => u < R.flipProb) };
    case 'scale': {
      const sx = draw((r) => r.uniform(1 / R.scale, R.scale));
      const sy = draw((r) => r.uniform(1 / R.scale, R.scale));
      return { family, sx, sy };
    }
    case 'rotate': {
      const max = (R.rotateDeg / 180) * Math.PI;
      return { family, angle: draw((r) => (r.next() - 0.5) * 2 * max) };
    }
  }
}

function checkCount(params: DsaParams, batch: number): void {
  const first = Object.values(params).find(Array.isArray) as unknown[] | undefined;
  const len = first?.length ?? 1;
  if (len !== 1 && len !== batch) throw new Error(`DSA: parameters for ${len} images applied to a batch of ${batch}`);
}

/** Applies drawn parameters to x [N, H, W, C]; differentiable with respect to x. */
export function applyDsaParams(x: tf.Tensor4D, params: DsaParams): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  checkCount(params, n);
  return tf.tidy(() => {
    switch (params.family) {
      case 'color': {
        // The three steps fold into one affine map per image (saturation keeps the
        // channel mean, so the contrast mean is mean(x) + β):
        //   out = f·S·x + β + (1 − f)·mean(x),  S = s·I + (1 − s)/C·11ᵀ,
        // with β = u₁ − 0.5, s = 2u₂, f = u₃ + 0.5. One (batched) C×C matMul plus a
        // per-image offset — far cheaper than six broadcasting ops on every backend.
        const R = DSA_RATIOS;
        const k = params.brightness.length;
        const mats = new Float32Array(k * c * c);
        for (let m = 0; m < k; m++) {
          const s = params.saturation[m] * R.saturation;
          const f = params.contrast[m] + R.contrast;
          for (let i = 0; i < c; i++)
            for (let j = 0; j < c; j++) mats[m * c * c + i * c + j] = f * ((i === j ? s : 0) + (1 - s) / c);
        }
        const mixed =
          k === 1
            ? tf.matMul(x.reshape([n * h * w, c]), tf.tensor2d(mats, [c, c]))
            : tf.matMul(x.reshape([n, h * w, c]), tf.tensor3d(mats, [n, c, c]));
        const at = (v: number[], m: number) => v[k === 1 ? 0 : m];
        const beta = Float32Array.from({ length: n }, (_, m) => (at(params.brightness, m) - 0.5) * R.brightness);
        const oneMinusF = Float32Array.from({ length: n }, (_, m) => 1 - (at(params.contrast, m) + R.contrast));
        const offset = x
          .reshape([n, h * w * c])
          .mean(1, true)
          .mul(tf.tensor2d(oneMinusF, [n, 1]))
          .add(tf.tensor2d(beta, [n, 1]));
        // offset ⊗ 1 as an outer product: a same-shape add afterwards avoids a broadcast
        const spread = tf.matMul(offset, tf.ones([1, h * w * c]));
        return mixed.reshape([n, h * w * c]).add(spread).reshape([n, h, w, c]);
      }
      case 'crop': {
        if (params.shiftRows.length === 1) {
          // Shared shift: pad by the largest possible shift, then slice — exact, no gather.
          const [dy, dx] = [params.shiftRows[0], params.shiftCols[0]];
          const p = Math.max(Math.abs(dy), Math.abs(dx));
          if (p === 0) return x.clone();
          const padded = tf.pad(x, [
            [0, 0],
            [p, p],
            [p, p],
            [0, 0],
          ]);
          return tf.slice(padded, [0, p + dy, p + dx, 0], [n, h, w, c]);
        }
        const shifts = params.shiftRows.map((dy, i) => [dy, params.shiftCols[i]] as [number, number]);
        return applySparseMap(x, makeSparseMap(translationTable(shifts, h, w), false));
      }
      case 'cutout': {
        const k = params.centerRow.length;
        const mask = new Float32Array(k * h * w).fill(1);
        for (let m = 0; m < k; m++) {
          const r0 = Math.max(0, params.centerRow[m] - Math.floor(params.sizeRows / 2));
          const r1 = Math.min(h, params.centerRow[m] - Math.floor(params.sizeRows / 2) + params.sizeRows);
          const c0 = Math.max(0, params.centerCol[m] - Math.floor(params.sizeCols / 2));
          const c1 = Math.min(w, params.centerCol[m] - Math.floor(params.sizeCols / 2) + params.sizeCols);
          for (let i = r0; i < r1; i++) mask.fill(0, m * h * w + i * w + c0, m * h * w + i * w + c1);
        }
        return x.mul(tf.tensor4d(mask, [k, h, w, 1]));
      }
      case 'flip': {
        // A gather (self-adjoint permutation): tf.reverse is ~10× slower on the cpu backend.
        if (params.flip.length === 1 && !params.flip[0]) return x.clone();
        const shared = params.flip.length === 1;
        return applySparseMap(x, makeSparseMap(flipTable(params.flip, h, w), shared));
      }
      case 'scale':
        // Separable: identical to the affine-grid bilinear sampler (tested), two matMuls.
        return scaleByMatMul(x, params.sx, params.sy);
      case 'rotate': {
        const thetas = params.angle.map((a) => [Math.cos(a), -Math.sin(a), 0, Math.sin(a), Math.cos(a), 0]);
        return applySparseMap(x, makeSparseMap(bilinearAffineTable(thetas, h, w), thetas.length === 1));
      }
    }
  });
}

/**
 * DSA augmentation of a normalised NHWC batch; differentiable with respect to
 * x and deterministic for (strategy, seed, mode, batch shape). '' / 'none'
 * returns a copy of x.
 */
export function dsaAugment(x: tf.Tensor4D, opts: DsaOptions): tf.Tensor4D {
  const [n, h, w] = x.shape;
  const params = drawDsaParams(opts, n, h, w);
  return params === null ? x.clone() : applyDsaParams(x, params);
}
