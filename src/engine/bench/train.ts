/**
 * Training-speed benchmark: GFLOP/s of one ConvNet forward + backward
 * (gradients w.r.t. every weight AND the input images, as distillation needs)
 * on 32×32×3 images, on the current or a named tfjs backend, in this process.
 *
 * FLOPs are counted analytically, not measured: forward = 2 × multiply-adds of
 * the convolutions and the classifier (models/convnet flopsPerImage); the
 * backward pass costs two forward passes (one for the input gradient, one for
 * the weight gradient), so a step is 3 × forward. Norm, ReLU and pooling are
 * left out (< 2%), so the figure slightly understates the work done.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../rng';
import { convNetLogits, disposeParams, flopsPerImage, initConvNet, type ConvNetSpec } from '../models/convnet';
import { registerWasmKernels, wasmVariant } from '../wasm';

export interface BenchTrainOptions {
  /** tfjs backend to run on (it must already be registered, e.g. by selectBackend); default: the current one. */
  backend?: string;
  /** Conv channels (the protocol's ConvNet uses 128). */
  width: number;
  batch: number;
  /** Conv blocks (default 3: ConvNet-3). */
  depth?: number;
  /** Timed steps (default 3). */
  iterations?: number;
  /** Untimed steps first: kernel compilation, XNNPACK operator set-up (default 1). */
  warmup?: number;
  /** Seed of the random weights and images (default 0). */
  seed?: number;
  /** Called after every step, warm-up included (the cpu backend takes tens of seconds per step at width 128). */
  onStep?: (done: number, total: number, ms: number) => void;
}

export interface BenchTrainResult {
  backend: string;
  /** wasm: the build in use ('simd', 'threaded-simd', 'plain'); null for other backends. */
  variant: string | null;
  width: number;
  batch: number;
  depth: number;
  /** Timed steps the figures average over. */
  iterations: number;
  gflops: number;
  ms_per_step: number;
  flops_per_step: number;
  /**
   * Node only (null in browsers): CPU time this process spent per step. On a
   * machine shared with other work, wall time is inflated by waiting for a
   * core while CPU time is not; with one thread (cpu, simd wasm) it is what
   * the step would take on an idle core.
   */
  cpu_ms_per_step: number | null;
}

/** Process CPU time in ms (user + system), or null outside Node. */
function cpuTimeMs(): number | null {
  if (typeof process === 'undefined' || typeof process.cpuUsage !== 'function') return null;
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** The benchmarked network: ConvNet (instance norm, average pooling) on 32×32×3, 10 classes. */
export function benchSpec(width: number, depth = 3): ConvNetSpec {
  return { channels: 3, height: 32, width: 32, numClasses: 10, net: { width, depth, norm: 'instance', pooling: 'avg' } };
}

/** Analytic FLOPs of one forward + backward step (3 × forward). */
export function trainStepFlops(spec: ConvNetSpec, batch: number): number {
  return 3 * batch * flopsPerImage(spec);
}

export async function benchTrain(opts: BenchTrainOptions): Promise<BenchTrainResult> {
  const { width, batch } = opts;
  const depth = opts.depth ?? 3;
  const iterations = opts.iterations ?? 3;
  const warmup = opts.warmup ?? 1;
  for (const [name, v, min] of [
    ['width', width, 1],
    ['batch', batch, 1],
    ['depth', depth, 1],
    ['iterations', iterations, 1],
    ['warmup', warmup, 0],
  ] as const) {
    if (!Number.isInteger(v) || v < min) throw new Error(`benchTrain: ${name} must be an integer ≥ ${min} (got ${v})`);
  }

  const backend = opts.backend ?? tf.getBackend();
  if (backend === 'wasm') registerWasmKernels();
  if (tf.getBackend() !== backend && !(await tf.setBackend(backend))) {
    throw new Error(`benchTrain: backend '${backend}' failed to initialise`);
  }

  const spec = benchSpec(width, depth);
  const rng = new Rng(opts.seed ?? 0);
  const params = initConvNet(spec, rng);
  const names = Object.keys(params);
  const x = tf.tensor4d(
    rng.fill(batch * 32 * 32 * 3, (r) => r.normal()),
    [batch, 32, 32, 3],
  );
  const labels = tf.tidy(() =>
    tf.oneHot(
      tf.tensor1d(
        Array.from({ length: batch }, (_, i) => i % spec.numClasses),
        'int32',
      ),
      spec.numClasses,
    ),
  );
  const loss = (...args: tf.Tensor[]): tf.Scalar => {
    const p = Object.fromEntries(names.map((n, i) => [n, args[i]]));
    const logits = convNetLogits(p, spec, args[names.length] as tf.Tensor4D);
    return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
  };
  const gradsOf = tf.grads(loss);

  const step = async (): Promise<[number, number | null]> => {
    const t0 = performance.now();
    const c0 = cpuTimeMs();
    const grads = gradsOf([...names.map((n) => params[n]), x]);
    // Reading one result waits for the whole step on asynchronous (GPU) backends.
    await grads[grads.length - 1].data();
    tf.dispose(grads);
    const c1 = cpuTimeMs();
    return [performance.now() - t0, c0 === null || c1 === null ? null : c1 - c0];
  };

  const total = warmup + iterations;
  let timed = 0;
  let cpuTimed: number | null = 0;
  try {
    for (let i = 0; i < total; i++) {
      const [ms, cpuMs] = await step();
      if (i >= warmup) {
        timed += ms;
        cpuTimed = cpuTimed === null || cpuMs === null ? null : cpuTimed + cpuMs;
      }
      opts.onStep?.(i + 1, total, ms);
    }
  } finally {
    disposeParams(params);
    tf.dispose([x, labels]);
  }

  const flops = trainStepFlops(spec, batch);
  const msPerStep = timed / iterations;
  return {
    backend,
    variant: backend === 'wasm' ? (wasmVariant()?.variant ?? null) : null,
    width,
    batch,
    depth,
    iterations,
    gflops: flops / (msPerStep * 1e6),
    ms_per_step: msPerStep,
    flops_per_step: flops,
    cpu_ms_per_step: cpuTimed === null ? null : cpuTimed / iterations,
  };
}
