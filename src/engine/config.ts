/**
 * The configuration of a distillation run: one object shared by the CLI, the
 * worker protocol and the UI. Defaults follow ../shared/design/protocol.md
 * ("paper"); the "quick" preset shrinks them for CPUs and laptops.
 */
export type NormKind = 'instance' | 'batch' | 'none';
export type PoolKind = 'avg' | 'max';
export type BackendName = 'auto' | 'webgpu' | 'webgl' | 'wasm' | 'cpu';
export type InitKind = 'real' | 'noise';

export interface NetConfig {
  width: number; // conv channels (protocol: 128)
  depth: number; // conv blocks (protocol: 3)
  norm: NormKind; // protocol: instance
  pooling: PoolKind; // protocol: avg
}

export interface DistillConfig {
  /** 'builtin' (the default, generated offline), a catalog id, or a path/file name. */
  dataset: string;
  /** Class indices of the dataset to use; null = all. */
  classes: number[] | null;
  /** Cap on real training images per class (seeded sample); null = all. */
  realPerClass: number | null;
  method: string; // 'dm' for now
  ipc: number;
  iterations: number;
  batchReal: number; // protocol: 256
  lrImg: number; // protocol (DM): 1.0
  momentumImg: number; // protocol (DM): 0.5
  init: InitKind;
  dsa: boolean;
  dsaStrategy: string; // 'color_crop_cutout_flip_scale_rotate'
  net: NetConfig;
  evalEvery: number; // 0 = only at the end
  evalModels: number;
  evalEpochs: number;
  evalLr: number; // 0.01
  evalBatch: number; // 256
  snapshotEvery: number; // image snapshots every k iterations
  seed: number;
  backend: BackendName;
}

export const DSA_STRATEGY = 'color_crop_cutout_flip_scale_rotate';

export const PAPER_CONFIG: DistillConfig = {
  dataset: 'builtin',
  classes: null,
  realPerClass: null,
  method: 'dm',
  ipc: 10,
  iterations: 20000,
  batchReal: 256,
  lrImg: 1.0,
  momentumImg: 0.5,
  init: 'real',
  dsa: true,
  dsaStrategy: DSA_STRATEGY,
  net: { width: 128, depth: 3, norm: 'instance', pooling: 'avg' },
  evalEvery: 2000,
  evalModels: 5,
  evalEpochs: 1000,
  evalLr: 0.01,
  evalBatch: 256,
  snapshotEvery: 100,
  seed: 0,
  backend: 'auto',
};

/** Small enough for a CPU or a laptop in minutes; says so wherever it is offered. */
export const QUICK_CONFIG: DistillConfig = {
  ...PAPER_CONFIG,
  ipc: 1,
  iterations: 200,
  batchReal: 32,
  net: { width: 32, depth: 3, norm: 'instance', pooling: 'avg' },
  evalEvery: 100,
  evalModels: 2,
  evalEpochs: 50,
  snapshotEvery: 10,
};

/** Returns a list of human-readable problems (empty when the config is valid). */
export function validateConfig(c: DistillConfig): string[] {
  const problems: string[] = [];
  const posInt = (name: string, v: number, min = 1) => {
    if (!Number.isInteger(v) || v < min) problems.push(`${name} must be an integer ≥ ${min} (got ${v})`);
  };
  const posNum = (name: string, v: number, allowZero = false) => {
    if (!Number.isFinite(v) || v < 0 || (!allowZero && v === 0))
      problems.push(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} number (got ${v})`);
  };
  posInt('ipc', c.ipc);
  posInt('iterations', c.iterations, 0);
  posInt('batch-real', c.batchReal);
  posNum('lr-img', c.lrImg);
  if (!(c.momentumImg >= 0 && c.momentumImg < 1)) problems.push(`momentum must be in [0, 1) (got ${c.momentumImg})`);
  posInt('width', c.net.width);
  posInt('depth', c.net.depth);
  if (c.net.depth > 6) problems.push(`depth must be at most 6 (got ${c.net.depth})`);
  posInt('eval-every', c.evalEvery, 0);
  posInt('eval-models', c.evalModels, 0);
  posInt('eval-epochs', c.evalEpochs, 1);
  posNum('eval-lr', c.evalLr);
  posInt('eval-batch', c.evalBatch);
  posInt('snapshot-every', c.snapshotEvery, 1);
  if (!Number.isInteger(c.seed) || c.seed < 0) problems.push(`seed must be a non-negative integer (got ${c.seed})`);
  if (c.realPerClass !== null) posInt('real-per-class', c.realPerClass);
  if (c.classes !== null) {
    if (c.classes.length === 0) problems.push('at least one class must be chosen');
    if (new Set(c.classes).size !== c.classes.length) problems.push('classes must not repeat');
    for (const k of c.classes) if (!Number.isInteger(k) || k < 0) problems.push(`class index ${k} is not valid`);
  }
  return problems;
}
