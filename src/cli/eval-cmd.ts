/**
 * `distillery eval --synthetic FILE.zip`: trains fresh networks on an exported
 * synthetic set and tests them on the real test split of its dataset. The
 * zip's meta says which dataset, classes and settings the set was made with;
 * flags given on the command line override them. Result: JSON on stdout
 * (and in --out FILE); progress on stderr only when it is a terminal.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { assertCapabilities } from '../engine/backend';
import { validateConfig, type DistillConfig } from '../engine/config';
import { UserError } from '../engine/data/types';
import { assertValidConfig, parseEvalArgs, type ClassSpec } from './args';
import { backendSummary } from './distill-cmd';
import { describeBackend, selectNodeBackend } from './backend-node';
import { loadDatasetSpec, resolveClasses } from './dataset-source';
import { EXIT_OK, UsageError } from './errors';
import { EVAL_HELP } from './help';
import { Progress, formatDuration } from './progress';
import { versions } from './versions';
// the run's evaluation seed tag (tests/unit/cli-e2e checks that eval reproduces a run's accuracy)
import { evalSettings } from '../engine/run';

/** Flags whose value, when not given, comes from the zip's recorded config. */
const FROM_ZIP: [flag: string, apply: (c: DistillConfig, z: DistillConfig) => void][] = [
  ['eval-models', (c, z) => (c.evalModels = z.evalModels)],
  ['eval-epochs', (c, z) => (c.evalEpochs = z.evalEpochs)],
  ['eval-lr', (c, z) => (c.evalLr = z.evalLr)],
  ['eval-batch', (c, z) => (c.evalBatch = z.evalBatch)],
  ['no-dsa', (c, z) => ((c.dsa = z.dsa), (c.dsaStrategy = z.dsaStrategy))],
  ['width', (c, z) => (c.net.width = z.net.width)],
  ['depth', (c, z) => (c.net.depth = z.net.depth)],
  ['norm', (c, z) => (c.net.norm = z.net.norm)],
  ['pooling', (c, z) => (c.net.pooling = z.net.pooling)],
  ['seed', (c, z) => (c.seed = z.seed)],
];

function recordedConfig(meta: Record<string, unknown>): DistillConfig | null {
  const c = meta.config as DistillConfig | undefined;
  if (!c || typeof c !== 'object' || !c.net || typeof c.net !== 'object') return null;
  return validateConfig(c).length === 0 ? c : null;
}

function recordedDataset(meta: Record<string, unknown>): { spec?: string; classIndices?: number[] } {
  const d = meta.dataset as { spec?: unknown; classIndices?: unknown } | undefined;
  const spec = typeof d?.spec === 'string' ? d.spec : undefined;
  const idx = Array.isArray(d?.classIndices) && d.classIndices.every((k) => Number.isInteger(k)) ? (d.classIndices as number[]) : undefined;
  return { spec, classIndices: idx };
}

export async function evalCommand(argv: string[]): Promise<number> {
  const args = parseEvalArgs(argv);
  if (args.help) {
    console.log(EVAL_HELP);
    return EXIT_OK;
  }
  const progress = new Progress({ tty: !!process.stderr.isTTY, write: (s) => void process.stderr.write(s) });
  const quiet = !process.stderr.isTTY;

  let bytes: Uint8Array;
  try {
    const b = await readFile(args.synthetic);
    bytes = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new UserError(`--synthetic ${args.synthetic}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder, not a zip file' : (err as Error).message}`);
  }
  const { importSyntheticZip } = await import('../engine/export/zip');
  let set;
  try {
    set = importSyntheticZip(bytes);
  } catch (err) {
    throw new UserError(`--synthetic ${args.synthetic}: ${(err as Error).message}`);
  }

  // Settings: the zip's recorded ones, overridden by what the command line gives.
  const config: DistillConfig = structuredClone(args.config);
  const zipConfig = recordedConfig(set.meta);
  // --preset stands for the evaluation flags it sets (models, epochs, lr, batch).
  const presetSets = new Set(args.given.has('preset') ? ['eval-models', 'eval-epochs', 'eval-lr', 'eval-batch'] : []);
  if (zipConfig)
    for (const [flag, apply] of FROM_ZIP) if (!args.given.has(flag) && !presetSets.has(flag)) apply(config, zipConfig);
  if (config.evalModels < 1) throw new UsageError('--eval-models must be at least 1 to evaluate');
  assertValidConfig(config);

  const rec = recordedDataset(set.meta);
  const datasetSpec = args.datasetGiven ? config.dataset : (rec.spec ?? zipConfig?.dataset);
  if (!datasetSpec) throw new UsageError(`${args.synthetic} does not say which dataset it was distilled from: pass --dataset`);
  const { dataset } = await loadDatasetSpec(datasetSpec, (done, total, what) =>
    quiet ? undefined : progress.update(`${what}: ${total > 1 ? `${Math.round((100 * done) / total)}%` : ''}`),
  );
  progress.clear();

  const classSpec: ClassSpec =
    args.classSpec ??
    (rec.classIndices ? { indices: rec.classIndices } : zipConfig?.classes ? { indices: zipConfig.classes } : null);
  let classes = resolveClasses(classSpec, dataset);
  // A zip without a class record (made elsewhere): match its class names against the dataset's.
  if (classes === null && set.classNames.length !== dataset.classNames.length) {
    classes = set.classNames.map((name) => {
      const k = dataset.classNames.indexOf(name);
      if (k < 0) throw new UserError(`the synthetic set's class '${name}' is not a class of ${dataset.name}: pass --classes`);
      return k;
    });
  }
  const { makeSubset } = await import('../engine/data/subset');
  const subset = makeSubset(dataset, { classes, realPerClass: null, seed: config.seed });
  if (subset.classNames.join('\u0000') !== set.classNames.join('\u0000'))
    throw new UserError(
      `the synthetic set's classes (${set.classNames.join(', ')}) do not match the dataset's chosen classes (${subset.classNames.join(', ')}); check --dataset/--classes`,
    );
  if (set.height !== dataset.height || set.width !== dataset.width || set.channels !== dataset.channels)
    throw new UserError(
      `the synthetic images are ${set.height}×${set.width}×${set.channels}, the dataset's ${dataset.height}×${dataset.width}×${dataset.channels}`,
    );
  if (subset.test.count === 0) throw new UserError(`${dataset.name} has no test images for these classes`);

  const backend = await selectNodeBackend(config.backend);
  assertCapabilities(backend, { train: true });
  if (!quiet) progress.log(`backend: ${describeBackend(backend)}`);

  const [tf, { evaluateSynthetic }] = await Promise.all([import('@tensorflow/tfjs'), import('../engine/eval/evaluate')]);
  const n = set.labels.length;
  const images = tf.tensor4d(set.images, [n, set.height, set.width, set.channels]);
  const t0 = performance.now();
  let res;
  try {
    res = await evaluateSynthetic({
      images,
      labels: set.labels,
      numClasses: set.classNames.length,
      test: subset.test,
      // the synthetic pixels live in the zip's normalisation: the test images must too
      normalization: set.normalization,
      ...evalSettings(config), // the run's own derivation: `eval` reproduces its numbers exactly
      onProgress: (done, total) => {
        if (quiet) return;
        const el = performance.now() - t0;
        progress.update(`evaluating: epoch ${done}/${total} (all models)  ETA ${formatDuration((el / done) * (total - done))}`, done === total);
      },
    });
  } finally {
    images.dispose();
  }
  const evalMs = performance.now() - t0;
  progress.clear();

  const out = {
    synthetic: args.synthetic,
    images: n,
    ipc: n / set.classNames.length,
    dataset: { spec: datasetSpec, name: dataset.name, classIndices: subset.classIndices, classNames: subset.classNames, testCount: subset.test.count },
    accuracy: { mean: res.mean, std: res.std, values: res.values },
    settings: {
      net: config.net,
      evalModels: config.evalModels,
      evalEpochs: config.evalEpochs,
      evalLr: config.evalLr,
      evalBatch: config.evalBatch,
      dsa: config.dsa ? config.dsaStrategy : false,
      seed: config.seed,
    },
    backend: backendSummary(backend),
    timings: { evalMs: Math.round(evalMs) },
    versions: versions(tf.version as unknown as Record<string, string>),
  };
  const json = JSON.stringify(out, null, 2);
  console.log(json);
  if (args.out) {
    try {
      await writeFile(args.out, json + '\n');
    } catch (err) {
      throw new UserError(`cannot write --out ${args.out}: ${(err as Error).message}`);
    }
  }
  return EXIT_OK;
}
