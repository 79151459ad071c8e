/**
 * Seeded pseudo-random numbers. Every random choice in the engine (sampling,
 * initialisation, augmentation parameters) goes through an Rng so that a run
 * is reproducible from its seed on every backend.
 */
export class Rng {
  private state: number;

  constructor(seed: number) {
    // splitmix32-style scrambling so that nearby seeds give unrelated streams
    this.state = (Math.imul(seed | 0, 0x9e3779b1) ^ 0x5bd1e995) >>> 0;
  }

  /** Uniform float in [0, 1). (mulberry32) */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform float in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** A 31-bit seed for a derived stream (e.g. one per class per iteration). */
  seed(): number {
    return Math.floor(this.next() * 0x7fffffff);
  }

  /** In-place Fisher–Yates shuffle. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }

  /** k distinct indices from [0, n), in random order. */
  sample(n: number, k: number): number[] {
    if (k > n) throw new RangeError(`cannot draw ${k} distinct items from ${n}`);
    const pool = Array.from({ length: n }, (_, i) => i);
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(this.next() * (n - i));
      [pool[i], pool[j]] = [pool[j], pool[i]];
    }
    return pool.slice(0, k);
  }

  /** Float32Array of n draws from fn. */
  fill(n: number, fn: (rng: Rng) => number): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = fn(this);
    return out;
  }
}
