/**
 * tfjs-backend-webgpu program objects for the fused CMI (the shape tfjs 4.22's
 * runWebGPUProgram expects: outputShape, shaderKey, variableNames, uniforms,
 * dispatchLayout, dispatch, workgroupSize, getUserCode). The WGSL bodies live
 * in shaders/*.wgsl; tfjs prepends bindings and uniforms, then calls
 * `main(index)` (what its `main('index')` header macro expands to — our
 * dispatch layouts are flat, so tfjs passes the global index).
 */
import type { WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import classWgsl from '../../../../shaders/cmi_class.wgsl?raw';
import reduceWgsl from '../../../../shaders/cmi_reduce.wgsl?raw';
import classMeanWgsl from '../../../../shaders/cmi_class_mean.wgsl?raw';
import gradScaleWgsl from '../../../../shaders/cmi_grad_scale.wgsl?raw';

type Vec3 = [number, number, number];

/**
 * Workgroup shape of the per-class pass: WG threads (a power of two) stride
 * over the columns; R rows share one tree reduction (R · WG partials, 8 KiB of
 * workgroup memory for the two buffers). On hardware GPUs we take up to 256
 * threads, the usual choice for keeping loads in flight with one workgroup per
 * class (not yet timed: no GPU was at hand). On SwiftShader (Vulkan on the CPU)
 * every barrier switches WG/4 fibres, and 32 threads × 32 rows measured
 * fastest (32 < 64 < 128 threads, about 1.7× apart at N=500, M=2048).
 */
export function classWorkgroup(m: number, softwareGpu: boolean): { wg: number; rows: number } {
  const cap = softwareGpu ? 32 : 256;
  let wg = 32;
  while (wg < m && wg < cap) wg *= 2;
  return { wg, rows: 1024 / wg };
}

/** Where each region of the class pass's flat output ("parts") starts; the gradient, when written, is at 0. */
export interface PartsLayout {
  lseOffset: number;
  logqOffset: number;
  sumOffset: number;
  total: number;
}

export function partsLayout(n: number, m: number, c: number, withGrad: boolean): PartsLayout {
  const gradSize = withGrad ? n * m : 0;
  const lseOffset = gradSize;
  const logqOffset = lseOffset + 2 * n;
  const sumOffset = logqOffset + c * m;
  return { lseOffset, logqOffset, sumOffset, total: sumOffset + c };
}

/** Dispatch A: one workgroup per class → parts (gradient rows, scratch, per-class KL sums). */
export class CmiClassProgram implements WebGPUProgram {
  variableNames = ['z', 'perm', 'offsets'];
  uniforms = 'invTemp : f32, numRows : i32, numCols : i32, lseOffset : i32, logqOffset : i32, sumOffset : i32,';
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [0] };
  dispatch: Vec3;
  workgroupSize: Vec3;
  private readonly wg: number;
  private readonly rows: number;
  private readonly withGrad: boolean;

  constructor(numClasses: number, m: number, totalSize: number, withGrad: boolean, softwareGpu = false) {
    ({ wg: this.wg, rows: this.rows } = classWorkgroup(m, softwareGpu));
    this.withGrad = withGrad;
    this.outputShape = [totalSize];
    this.dispatch = [numClasses, 1, 1];
    this.workgroupSize = [this.wg, 1, 1];
    // everything that changes the WGSL text must be in the key (tfjs appends shapes' ranks and dtypes)
    this.shaderKey = `distilleryCmiClass_${this.wg}x${this.rows}_${withGrad ? 'grad' : 'fwd'}`;
  }

  getUserCode(): string {
    return classWgsl
      .replaceAll('__WG_R__', String(this.wg * this.rows))
      .replaceAll('__WG__', String(this.wg))
      .replaceAll('__R__', String(this.rows))
      .replaceAll('__WRITE_GRAD__', String(this.withGrad));
  }
}

/** Dispatch B: the CMI value, (1/N) Σ_c S_c, in one workgroup. */
export class CmiReduceProgram implements WebGPUProgram {
  variableNames = ['parts'];
  uniforms = 'sumOffset : i32, numClasses : i32, invRows : f32,';
  outputShape = [1];
  shaderKey = 'distilleryCmiReduce_64';
  dispatchLayout = { x: [0] };
  dispatch: Vec3 = [1, 1, 1];
  workgroupSize: Vec3 = [64, 1, 1];

  getUserCode(): string {
    return reduceWgsl.replaceAll('__WG__', '64');
  }
}

/** Per-class CMI S_c / n_c (forward-only variant, metrics). */
export class CmiClassMeanProgram implements WebGPUProgram {
  variableNames = ['parts', 'offsets'];
  uniforms = 'sumOffset : i32,';
  outputShape: number[];
  shaderKey = 'distilleryCmiClassMean';
  dispatchLayout = { x: [0] };
  dispatch: Vec3;
  workgroupSize: Vec3 = [64, 1, 1];
  size = true;

  constructor(numClasses: number) {
    this.outputShape = [numClasses];
    this.dispatch = [Math.ceil(numClasses / 64), 1, 1];
  }

  getUserCode(): string {
    return classMeanWgsl;
  }
}

/** Backward: dz = dy · saved gradient, cut from the front of parts. */
export class CmiGradScaleProgram implements WebGPUProgram {
  variableNames = ['parts', 'dy'];
  outputShape: number[];
  shaderKey = 'distilleryCmiGradScale';
  dispatchLayout = { x: [0, 1] };
  dispatch: Vec3;
  workgroupSize: Vec3 = [64, 1, 1];
  size = true;

  constructor(n: number, m: number) {
    this.outputShape = [n, m];
    // runWebGPUProgram reshapes dispatches over the 65535-per-dimension limit
    this.dispatch = [Math.ceil((n * m) / 64), 1, 1];
  }

  getUserCode(): string {
    return gradScaleWgsl;
  }
}
