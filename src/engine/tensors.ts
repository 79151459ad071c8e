/**
 * Small helpers shared by the run loop and the evaluation: seed mixing, an
 * event-loop yield that works in Node and in a (possibly hidden) worker, and
 * PyTorch-style SGD with momentum and weight decay.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * A 31-bit seed from several integers (e.g. run seed and iteration), so that
 * each iteration has its own reproducible stream whatever ran before it.
 * (murmur3 finaliser over the parts)
 */
export function mixSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    let k = Math.imul(p | 0, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h = Math.imul(h ^ Math.imul(k, 0x1b873593), 5) + 0xe6546b64;
    h = (h << 13) | (h >>> 19);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) & 0x7fffffff;
}

type Scheduler = (cb: () => void) => void;
let scheduler: Scheduler | undefined;

function pickScheduler(): Scheduler {
  const g = globalThis as unknown as { setImmediate?: (cb: () => void) => void };
  if (typeof g.setImmediate === 'function') return (cb) => g.setImmediate!(cb);
  // MessageChannel is not throttled in hidden tabs/workers the way setTimeout(0) and rAF are
  if (typeof MessageChannel !== 'undefined') {
    return (cb) => {
      const ch = new MessageChannel();
      ch.port1.onmessage = () => {
        ch.port1.close();
        cb();
      };
      ch.port2.postMessage(0);
    };
  }
  return (cb) => setTimeout(cb, 0);
}

/** Lets pending messages (pause/stop/λ changes) run between batches. */
export function yieldToEventLoop(): Promise<void> {
  scheduler ??= pickScheduler();
  return new Promise((resolve) => scheduler!(resolve));
}

/**
 * torch.optim.SGD(params, lr, momentum, weight_decay) with dampening 0 and no
 * Nesterov:  g ← g + wd·p;  v ← m·v + g (v = g at the first step);  p ← p − lr·v.
 * (tf.train.momentum has no weight decay, hence this.) Velocities are kept
 * until reset()/dispose(); `lr` may be changed between steps.
 */
export class SgdMomentum {
  private velocity = new Map<tf.Variable, tf.Tensor>();

  constructor(
    public lr: number,
    readonly momentum: number,
    readonly weightDecay = 0,
  ) {}

  /** One step over the given variables; grads by variable name (as tf.variableGrads returns them). */
  step(vars: tf.Variable[], grads: Record<string, tf.Tensor>): void {
    for (const p of vars) {
      const g = grads[p.name];
      if (!g) continue;
      const prev = this.velocity.get(p);
      const v = tf.tidy(() => {
        const d = this.weightDecay !== 0 ? tf.add(g, tf.mul(p, this.weightDecay)) : g;
        return prev ? tf.add(tf.mul(prev, this.momentum), d) : tf.clone(d);
      });
      prev?.dispose();
      this.velocity.set(p, v);
      tf.tidy(() => p.assign(tf.sub(p, tf.mul(v, this.lr))));
    }
  }

  /** Forgets the momentum (as re-creating the PyTorch optimiser does). */
  reset(): void {
    for (const v of this.velocity.values()) v.dispose();
    this.velocity.clear();
  }

  dispose(): void {
    this.reset();
  }
}
