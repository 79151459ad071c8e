/**
 * Cache key of a teacher pool: a hash over everything that decides what the
 * trained teachers are — dataset identity and sizes, class subset, the real
 * images themselves (a fingerprint: counts and a few images per class, strided
 * test pixels), net, training hyper-parameters, seed and pool size. Same key ⇔
 * a stored pool can be reused as is.
 */
import type { Subset } from '../data/subset';
import type { NetConfig } from '../config';

export interface TeacherKeyInput {
  subset: Subset;
  /** Dataset identity, e.g. 'cifar10', 'builtin', or a file name. */
  dataset: string;
  /** The subset's cap on real images per class (null = all). */
  realPerClass: number | null;
  /** Teacher architecture (the spec's image size and classes come from the subset). */
  net: NetConfig;
  firstConvPadding?: number;
  /** K, the number of teachers. */
  count: number;
  /** Passes over the real training images per teacher (the reference uses 40). */
  epochs: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  batch: number;
  seed: number;
}

/** Format version: bump when training or serialisation changes what a key stands for. */
const KEY_VERSION = 1;

export async function teacherPoolKey(input: TeacherKeyInput): Promise<string> {
  const { subset } = input;
  const pool = subset.train;
  const counts = Array.from({ length: pool.numClasses }, (_, k) => pool.count(k));
  const description = {
    v: KEY_VERSION,
    dataset: input.dataset,
    dims: [pool.height, pool.width, pool.channels],
    normalization: pool.normalization,
    classes: subset.classIndices,
    counts,
    testCount: subset.test.count,
    realPerClass: input.realPerClass,
    net: { width: input.net.width, depth: input.net.depth, norm: input.net.norm, pooling: input.net.pooling },
    firstConvPadding: input.firstConvPadding ?? 1,
    count: input.count,
    epochs: input.epochs,
    lr: input.lr,
    momentum: input.momentum,
    weightDecay: input.weightDecay,
    batch: input.batch,
    seed: input.seed,
  };
  const h = new Hash64();
  h.text(JSON.stringify(description));
  await fingerprintReal(subset, counts, h);
  fingerprintTest(subset, h);
  const slug = input.dataset.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 24) || 'data';
  return `teachers-${slug}-${h.hex()}`;
}

/** First, middle and last image of each class: tells apart subsets drawn with different seeds. */
async function fingerprintReal(subset: Subset, counts: number[], h: Hash64): Promise<void> {
  for (let k = 0; k < counts.length; k++) {
    const n = counts[k];
    if (n === 0) continue;
    const x = subset.train.gather(k, [...new Set([0, n >> 1, n - 1])]);
    const values = (await x.data()) as Float32Array;
    x.dispose();
    h.words(new Uint32Array(values.buffer, values.byteOffset, values.length));
  }
}

/** Labels and about 64 KiB of strided pixels of the test split. */
function fingerprintTest(subset: Subset, h: Hash64): void {
  const { images, labels } = subset.test;
  h.words(new Uint32Array(labels.buffer, labels.byteOffset, labels.length));
  const step = Math.max(1, Math.floor(images.length / 65536));
  let acc = 0;
  for (let i = 0; i < images.length; i += step) acc = (Math.imul(acc, 31) + images[i]) | 0;
  h.words(Uint32Array.of(acc >>> 0, images.length));
}

/** Two independent 32-bit multiply-xorshift streams (64 bits): not cryptographic, collision-safe enough for a cache. */
class Hash64 {
  private a = 0x811c9dc5;
  private b = 0x01000193;

  word(w: number): void {
    this.a = Math.imul(this.a ^ w, 0x01000193);
    this.a ^= this.a >>> 15;
    this.b = Math.imul(this.b ^ w, 0x5bd1e995);
    this.b ^= this.b >>> 13;
    this.b = Math.imul(this.b, 0xc2b2ae35);
  }

  words(ws: Uint32Array): void {
    for (let i = 0; i < ws.length; i++) this.word(ws[i]);
    this.word(ws.length);
  }

  text(s: string): void {
    for (let i = 0; i < s.length; i++) this.word(s.charCodeAt(i));
    this.word(s.length);
  }

  hex(): string {
    const fin = (x: number) => {
      x ^= x >>> 16;
      x = Math.imul(x, 0x85ebca6b);
      x ^= x >>> 13;
      x = Math.imul(x, 0xc2b2ae35);
      x ^= x >>> 16;
      return (x >>> 0).toString(16).padStart(8, '0');
    };
    return fin(this.a) + fin(this.b ^ this.a);
  }
}
