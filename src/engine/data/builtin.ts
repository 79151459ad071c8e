/**
 * The built-in dataset: 10 classes of procedurally drawn shapes and textures,
 * 32×32 RGB, generated from a seed (works offline, no download). It is made
 * deliberately not trivially separable: colours of shape and background are
 * drawn from the same range for every class (colour says nothing about the
 * class), position, size and rotation vary, the background has a gradient,
 * there is pixel noise, and a third of the images carry a small distractor
 * blob. The class is in the shape / texture only.
 */
import { Rng } from '../rng';
import { computeNormalization } from './normalization';
import { UserError, type ImageDataset, type ImageSplit } from './types';

export const BUILTIN_CLASS_NAMES = [
  'disc',
  'ring',
  'square',
  'triangle',
  'cross',
  'horizontal stripes',
  'vertical stripes',
  'diagonal stripes',
  'checkerboard',
  'blobs',
];

const S = 32;
const NOISE = 0.07; // half-width of the triangular per-pixel noise, in [0,1] units

/**
 * One drawn shape: its class, centre, rotation and class-specific parameters.
 * Every field is always set (one object layout), so the per-pixel distance
 * function below stays monomorphic and fast.
 */
interface ShapeSpec {
  kind: number;
  cx: number;
  cy: number;
  cos: number;
  sin: number;
  size: number;
  /** ring half-thickness, cross arm half-width, triangle inradius, or patch half-width */
  p1: number;
  /** patch half-height */
  p2: number;
  /** pattern period */
  period: number;
  phase: number;
  /** blobs: x, y, r triples */
  blobs: Float64Array;
}

const TRI_NORMALS = [90, 210, 330].map((a) => [Math.cos((a * Math.PI) / 180), Math.sin((a * Math.PI) / 180)]);

/** Distance to the centre of the nearest band of a periodic pattern: > 0 on the "on" half-period. */
function band(t: number, period: number): number {
  const m = t - period * Math.floor(t / period) - period / 2; // in [-P/2, P/2)
  return period / 4 - Math.abs(m);
}

function checker(u: number, v: number, cell: number): number {
  const fu = u / cell - Math.floor(u / cell);
  const fv = v / cell - Math.floor(v / cell);
  const d = cell * Math.min(fu, 1 - fu, fv, 1 - fv);
  const parity = (Math.floor(u / cell) + Math.floor(v / cell)) & 1;
  return parity === 0 ? d : -d;
}

/** Signed distance in pixels (> 0 inside) of the shape at image point (x, y). */
function sdf(sh: ShapeSpec, x: number, y: number): number {
  const dx = x - sh.cx;
  const dy = y - sh.cy;
  const u = sh.cos * dx + sh.sin * dy;
  const v = -sh.sin * dx + sh.cos * dy;
  switch (sh.kind) {
    case 0: // disc
      return sh.size - Math.sqrt(u * u + v * v);
    case 1: // ring
      return sh.p1 - Math.abs(Math.sqrt(u * u + v * v) - sh.size);
    case 2: // filled square
      return sh.p1 - Math.max(Math.abs(u), Math.abs(v));
    case 3: {
      // equilateral triangle: inside all three half-planes
      const n = TRI_NORMALS;
      return Math.min(sh.p1 - (n[0][0] * u + n[0][1] * v), sh.p1 - (n[1][0] * u + n[1][1] * v), sh.p1 - (n[2][0] * u + n[2][1] * v));
    }
    case 4: {
      // cross: union of two bars
      const au = Math.abs(u);
      const av = Math.abs(v);
      return Math.max(Math.min(sh.p1 - au, sh.size - av), Math.min(sh.p1 - av, sh.size - au));
    }
    case 5:
    case 6:
    case 7:
    case 8: {
      // textures inside a rectangular patch; the pattern's orientation is what the class is about
      const patch = Math.min(sh.p1 - Math.abs(u), sh.p2 - Math.abs(v));
      const pattern = sh.kind === 8 ? checker(u + sh.phase, v + sh.phase, sh.period / 2 + 0.5) : band(v + sh.phase, sh.period);
      return Math.min(patch, pattern);
    }
    default: {
      // blobs (also used for the distractor): union of small discs, in image coordinates
      let d = -1e9;
      const b = sh.blobs;
      for (let i = 0; i < b.length; i += 3) {
        const ex = x - b[i];
        const ey = y - b[i + 1];
        d = Math.max(d, b[i + 2] - Math.sqrt(ex * ex + ey * ey));
      }
      return d;
    }
  }
}

/** Shape of class k with its random parameters drawn from rng. */
function makeShape(k: number, rng: Rng): ShapeSpec {
  const cx = rng.uniform(10, 22);
  const cy = rng.uniform(10, 22);
  const size = rng.uniform(6, 11);
  let angle = rng.uniform(0, 2 * Math.PI);
  const sh: ShapeSpec = { kind: k, cx, cy, cos: 1, sin: 0, size, p1: 0, p2: 0, period: 1, phase: 0, blobs: new Float64Array(0) };
  switch (k) {
    case 0:
      break;
    case 1:
      sh.p1 = rng.uniform(0.9, 1.8);
      break;
    case 2:
      sh.p1 = size * 0.85;
      break;
    case 3:
      sh.p1 = size * 0.6;
      break;
    case 4:
      sh.p1 = size * rng.uniform(0.22, 0.38);
      break;
    case 5:
    case 6:
    case 7:
    case 8: {
      const base = k === 5 ? 0 : k === 6 ? Math.PI / 2 : k === 7 ? (rng.next() < 0.5 ? Math.PI / 4 : -Math.PI / 4) : 0;
      angle = base + rng.uniform(-0.26, 0.26); // ±15°
      sh.p1 = rng.uniform(7, 15);
      sh.p2 = rng.uniform(7, 15);
      sh.period = rng.uniform(4, 7.5);
      sh.phase = rng.uniform(0, sh.period);
      break;
    }
    default: {
      // 3–5 small discs scattered around the centre
      const m = rng.int(3, 5);
      sh.blobs = new Float64Array(3 * m);
      for (let i = 0; i < m; i++) {
        const r = rng.uniform(0, size);
        const t = rng.uniform(0, 2 * Math.PI);
        sh.blobs.set([cx + r * Math.cos(t), cy + r * Math.sin(t), rng.uniform(1.6, 3.2)], 3 * i);
      }
    }
  }
  sh.cos = Math.cos(angle);
  sh.sin = Math.sin(angle);
  return sh;
}

function randomColour(rng: Rng): [number, number, number] {
  return [rng.uniform(0.03, 0.97), rng.uniform(0.03, 0.97), rng.uniform(0.03, 0.97)];
}

/** A foreground colour at least `minDist` (RGB Euclidean) away from bg, so the shape is visible. */
function contrasting(rng: Rng, bg: number[], minDist: number): [number, number, number] {
  for (;;) {
    const c = randomColour(rng);
    if (Math.hypot(c[0] - bg[0], c[1] - bg[1], c[2] - bg[2]) >= minDist) return c;
  }
}

function toByte(v: number): number {
  return v <= 0 ? 0 : v >= 1 ? 255 : (v * 255 + 0.5) | 0;
}

/** Draw one image of class k into out (HWC, from offset o): background, shape, maybe a distractor, noise. */
function drawImage(k: number, rng: Rng, out: Uint8Array, o: number): void {
  const bg = randomColour(rng);
  const fg = contrasting(rng, bg, 0.3);
  const gx = rng.uniform(-0.2, 0.2) / S;
  const gy = rng.uniform(-0.2, 0.2) / S;
  const shape = makeShape(k, rng);
  let distractor: ShapeSpec | null = null;
  let dc = fg;
  if (rng.next() < 0.35) {
    // a small blob of a third colour somewhere
    distractor = makeShape(9, rng);
    distractor.blobs = Float64Array.of(rng.uniform(2, 30), rng.uniform(2, 30), rng.uniform(1.2, 2.6));
    dc = contrasting(rng, bg, 0.2);
  }
  // Noise from a per-image xorshift32 stream seeded from rng: one cheap step yields two
  // noise values (vs. two Rng draws per value), and it is still fully determined by the seed.
  let x32 = rng.int(1, 0x7fffffff);
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const g = gx * (x - S / 2) + gy * (y - S / 2);
      let c0 = bg[0] + g;
      let c1 = bg[1] + g;
      let c2 = bg[2] + g;
      // anti-aliased edge: coverage ramps over one pixel around the boundary
      let a = sdf(shape, x + 0.5, y + 0.5) + 0.5;
      if (a > 0) {
        if (a > 1) a = 1;
        c0 += a * (fg[0] - c0);
        c1 += a * (fg[1] - c1);
        c2 += a * (fg[2] - c2);
      }
      if (distractor) {
        a = sdf(distractor, x + 0.5, y + 0.5) + 0.5;
        if (a > 0) {
          if (a > 1) a = 1;
          c0 += a * (dc[0] - c0);
          c1 += a * (dc[1] - c1);
          c2 += a * (dc[2] - c2);
        }
      }
      const p = o + 3 * (y * S + x);
      // triangular noise in [-1, 1) from two bytes of the stream; one step serves two values
      x32 ^= x32 << 13;
      x32 ^= x32 >>> 17;
      x32 ^= x32 << 5;
      let r = x32 >>> 0;
      const n0 = ((r & 0xff) + ((r >>> 8) & 0xff)) / 255 - 1;
      const n1 = (((r >>> 16) & 0xff) + (r >>> 24)) / 255 - 1;
      x32 ^= x32 << 13;
      x32 ^= x32 >>> 17;
      x32 ^= x32 << 5;
      r = x32 >>> 0;
      const n2 = ((r & 0xff) + ((r >>> 8) & 0xff)) / 255 - 1;
      out[p] = toByte(c0 + NOISE * n0);
      out[p + 1] = toByte(c1 + NOISE * n1);
      out[p + 2] = toByte(c2 + NOISE * n2);
    }
  }
}

function makeSplit(perClass: number, rng: Rng): ImageSplit {
  const n = perClass * 10;
  const images = new Uint8Array(n * S * S * 3);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = i % 10; // classes interleaved: any prefix is balanced
    labels[i] = k;
    drawImage(k, rng, images, i * S * S * 3);
  }
  return { images, labels, count: n };
}

/**
 * The built-in dataset ("builtin-shapes"): 10 classes × trainPerClass
 * (default 500) training and × testPerClass (default 100) test images,
 * 32×32 RGB, identical for identical options. Labels cycle 0..9.
 */
export function loadBuiltinDataset(opts: { trainPerClass?: number; testPerClass?: number; seed?: number } = {}): ImageDataset {
  const trainPerClass = opts.trainPerClass ?? 500;
  const testPerClass = opts.testPerClass ?? 100;
  if (!Number.isInteger(trainPerClass) || trainPerClass < 1 || !Number.isInteger(testPerClass) || testPerClass < 0) {
    throw new UserError(`built-in dataset: images per class must be whole numbers (train ≥ 1, test ≥ 0), got ${trainPerClass} / ${testPerClass}`);
  }
  const root = new Rng(opts.seed ?? 0);
  // separate streams: the test images do not depend on how many training images were asked for
  const trainRng = new Rng(root.seed());
  const testRng = new Rng(root.seed());
  const train = makeSplit(trainPerClass, trainRng);
  const test = makeSplit(testPerClass, testRng);
  return {
    name: 'builtin-shapes',
    classNames: [...BUILTIN_CLASS_NAMES],
    height: S,
    width: S,
    channels: 3,
    train,
    test,
    normalization: computeNormalization(train, 3),
  };
}
