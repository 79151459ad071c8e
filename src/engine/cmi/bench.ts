/**
 * Micro-benchmark: fused WebGPU CMI vs the reference built from ordinary tfjs
 * ops (the path cmi() takes off WebGPU), forward + backward each. Exposed by
 * the CLI as `distillery bench cmi`.
 *
 * The caller makes the backend available first (in Node, webgpu needs
 * src/cli/webgpu-node.ts installNodeWebGPU() and the tfjs-backend-webgpu import).
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../data/types';
import { Rng } from '../rng';
import { cmi } from './cmi';
import { countCmiDispatches } from './dispatches';

export interface BenchCmiOptions {
  /** Rows (synthetic images). */
  n: number;
  /** Feature dimension. */
  m: number;
  classes: number;
  /** tfjs backend to run on (default: the current one). */
  backend?: string;
  /** Timed runs of each implementation (median reported). Default 5. */
  repeats?: number;
  seed?: number;
  temperature?: number;
}

export interface BenchCmiResult {
  backend: string;
  n: number;
  m: number;
  classes: number;
  repeats: number;
  /** Median ms of forward+backward through the fused kernels; null off webgpu. */
  fused_ms: number | null;
  reference_ms: number;
  /** reference_ms / fused_ms. */
  speedup: number | null;
  fused_dispatches: number | null;
  reference_dispatches: number;
  /** 'dispatches' on webgpu (compute passes); 'kernels' (engine kernel launches) elsewhere. */
  dispatch_unit: 'dispatches' | 'kernels';
  /** max(relative error of the value, max|Δgrad| / max|grad|), fused vs reference. */
  max_rel_err: number | null;
  value: number;
}

type Impl = 'fused' | 'reference';

export async function benchCmi(opts: BenchCmiOptions): Promise<BenchCmiResult> {
  const { n, m, classes } = opts;
  const repeats = opts.repeats ?? 5;
  if (![n, m, classes, repeats].every((v) => Number.isInteger(v) && v >= 1) || classes > n) {
    throw new UserError(`bench cmi: need integers n ≥ classes ≥ 1, m ≥ 1, repeats ≥ 1 (got n=${n} m=${m} classes=${classes} repeats=${repeats})`);
  }
  if (opts.backend && tf.getBackend() !== opts.backend) {
    if (!(await tf.setBackend(opts.backend))) throw new UserError(`bench cmi: backend '${opts.backend}' is not available`);
  }
  const backend = tf.getBackend();
  const hasFused = backend === 'webgpu';
  const rng = new Rng(opts.seed ?? 1);
  const zValues = new Float32Array(n * m);
  for (let i = 0; i < zValues.length; i++) zValues[i] = 3 * rng.normal();
  // interleaved labels: rows arrive unsorted, as the kernel must handle
  const labels = Int32Array.from({ length: n }, (_, i) => i % classes);
  const z = tf.tensor2d(zValues, [n, m]);
  const temperature = opts.temperature ?? 1;

  const step = (impl: Impl) =>
    tf.valueAndGrad((x: tf.Tensor) => cmi(x as tf.Tensor2D, labels, { temperature, impl }))(z);

  // Timed run: forward + backward, synchronised by reading the value. tfjs
  // submits every command recorded before the read (the backward's included)
  // and the GPU queue completes submissions in order.
  const timed = async (impl: Impl): Promise<number> => {
    const t0 = performance.now();
    const { value, grad } = step(impl);
    await value.data();
    const ms = performance.now() - t0;
    value.dispose();
    grad.dispose();
    return ms;
  };

  try {
    // Warm-up (shader compilation, buffer pools), correctness and dispatch counts.
    const ref = countCmiDispatches(() => step('reference'));
    const refValue = (await ref.result.value.data())[0];
    const refGrad = await ref.result.grad.data();
    let fusedDispatches: number | null = null;
    let maxRelErr: number | null = null;
    if (hasFused) {
      const fused = countCmiDispatches(() => step('fused'));
      fusedDispatches = fused.dispatches;
      const value = (await fused.result.value.data())[0];
      const grad = await fused.result.grad.data();
      let diff = 0;
      let scale = 0;
      for (let i = 0; i < grad.length; i++) {
        diff = Math.max(diff, Math.abs(grad[i] - refGrad[i]));
        scale = Math.max(scale, Math.abs(refGrad[i]));
      }
      maxRelErr = Math.max(Math.abs(value - refValue) / Math.max(Math.abs(refValue), 1e-30), diff / Math.max(scale, 1e-30));
      fused.result.value.dispose();
      fused.result.grad.dispose();
    }
    ref.result.value.dispose();
    ref.result.grad.dispose();

    const fusedTimes: number[] = [];
    const refTimes: number[] = [];
    for (let r = 0; r < repeats; r++) {
      // alternate so that drifting machine load hits both alike
      if (hasFused) fusedTimes.push(await timed('fused'));
      refTimes.push(await timed('reference'));
    }
    const fusedMs = hasFused ? median(fusedTimes) : null;
    const referenceMs = median(refTimes);
    return {
      backend,
      n,
      m,
      classes,
      repeats,
      fused_ms: fusedMs,
      reference_ms: referenceMs,
      speedup: fusedMs ? referenceMs / fusedMs : null,
      fused_dispatches: fusedDispatches,
      reference_dispatches: ref.dispatches,
      dispatch_unit: ref.unit,
      max_rel_err: maxRelErr,
      value: refValue,
    };
  } finally {
    z.dispose();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}
