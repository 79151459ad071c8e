/**
 * `distillery distill`: load the data, choose the backend, run DM through the
 * engine's DistillationRun, and write the run folder:
 *   metrics.jsonl  appended per iteration (nothing lost if the run dies)
 *   evals.jsonl    appended per evaluation
 *   summary.json   config, backend, final accuracy, timings, versions, dataset
 *   synthetic.zip  exportSyntheticZip, meta = config + metrics + versions + backend
 *   snapshots/     iter-NNNNNN.png grids (a row per class) every --snapshot-every iterations
 * Ctrl-C stops after the current iteration and still writes summary + zip.
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { assertCapabilities, type BackendChoice } from '../engine/backend';
import type { DistillConfig } from '../engine/config';
import type { ImageDataset } from '../engine/data/types';
import { UserError } from '../engine/data/types';
import { parseDistillArgs } from './args';
import { describeBackend, selectNodeBackend } from './backend-node';
import { loadDatasetSpec, resolveClasses } from './dataset-source';
import { EXIT_INTERRUPTED, EXIT_OK } from './errors';
import { DISTILL_HELP } from './help';
import { Progress, formatDuration, formatMs, iterationLine } from './progress';
import { snapshotGrid } from './snapshots';
import { versions } from './versions';

/** ./out/2025-11-21T05-30-12 (local time, sortable, no characters any OS forbids). */
function defaultOutDir(): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}-${p(d.getMinutes())}-${p(d.getSeconds())}`;
  return join('out', stamp);
}

/** Refuses to mix two runs' files in one folder. */
function prepareOutDir(dir: string): void {
  if (existsSync(dir)) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      throw new UserError(`--out ${dir} exists and is not a folder`);
    }
    const clash = ['metrics.jsonl', 'summary.json', 'synthetic.zip'].find((n) => names.includes(n));
    if (clash) throw new UserError(`--out ${dir} already holds a run (${clash}); choose another folder`);
  }
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new UserError(`cannot create --out ${dir}: ${(err as Error).message}`);
  }
}

export interface DatasetSummary {
  spec: string;
  name: string;
  classIndices: number[];
  classNames: string[];
  height: number;
  width: number;
  channels: number;
  /** Real training images used per class (after --real-per-class). */
  trainPerClass: number[];
  trainCount: number;
  testCount: number;
  /** Size of the whole dataset as loaded. */
  full: { classes: number; train: number; test: number };
}

export async function distillCommand(argv: string[]): Promise<number> {
  const args = parseDistillArgs(argv);
  if (args.help) {
    console.log(DISTILL_HELP);
    return EXIT_OK;
  }
  const config: DistillConfig = args.config;
  const outDir = resolve(args.out ?? defaultOutDir());
  const progress = new Progress();
  const say = (s: string) => progress.log(s);

  // Data first: bad input is reported before anything is created on disk.
  const { dataset } = await loadDatasetSpec(config.dataset, (done, total, what) =>
    progress.update(`${what}: ${total > 1 ? `${Math.round((100 * done) / total)}%` : ''}`),
  );
  progress.clear();
  config.classes = resolveClasses(args.classSpec, dataset);
  const { makeSubset } = await import('../engine/data/subset');
  const subset = makeSubset(dataset, { classes: config.classes, realPerClass: config.realPerClass, seed: config.seed });
  if (config.init === 'real') {
    for (let k = 0; k < subset.train.numClasses; k++) {
      const have = subset.train.count(k);
      if (have < config.ipc)
        throw new UserError(
          `--ipc ${config.ipc} is more than the ${have} training image${have === 1 ? '' : 's'} of class '${subset.classNames[k]}' ` +
            `(initialising from real images needs ${config.ipc} distinct ones; lower --ipc${config.realPerClass !== null ? ', raise --real-per-class' : ''} or use --init noise)`,
        );
    }
  }
  const datasetSummary = summarizeDataset(config.dataset, dataset, subset);

  const backend = await selectNodeBackend(config.backend);
  assertCapabilities(backend, { distill: config.iterations > 0, train: config.evalModels > 0 });

  const [tf, { DistillationRun }, { dmMethod }, { exportSyntheticZip }] = await Promise.all([
    import('@tensorflow/tfjs'),
    import('../engine/run'),
    import('../engine/methods/dm'),
    import('../engine/export/zip'),
  ]);
  const vers = versions(tf.version as unknown as Record<string, string>);

  prepareOutDir(outDir);
  const metricsPath = join(outDir, 'metrics.jsonl');
  const evalsPath = join(outDir, 'evals.jsonl');
  writeFileSync(metricsPath, '');
  const snapshotDir = join(outDir, 'snapshots');
  mkdirSync(snapshotDir, { recursive: true });

  say(`dataset   ${dataset.name}: ${subset.classNames.length} classes (${listClasses(subset.classNames)}), ${datasetSummary.trainCount} real training images, ${datasetSummary.testCount} test images, ${dataset.height}×${dataset.width}×${dataset.channels}`);
  say(`backend   ${describeBackend(backend)} — ${backend.reason}`);
  for (const t of backend.tried) if (args.verbose || config.backend === 'auto') say(`          (${t.name} not used: ${t.error})`);
  say(
    `run       ${config.method} ipc ${config.ipc}, ${config.iterations} iterations, batch-real ${config.batchReal}, ConvNet-${config.net.depth} width ${config.net.width}, ` +
      `DSA ${config.dsa ? 'on' : 'off'}, ${config.evalModels > 0 ? `eval ${config.evalModels} model${config.evalModels === 1 ? '' : 's'} × ${config.evalEpochs} epochs` : 'no evaluation'}, seed ${config.seed}`,
  );
  say(`output    ${outDir}`);

  const metricLines: Record<string, unknown>[] = [];
  const evals: Record<string, unknown>[] = [];
  let lastLosses: Record<string, number> = {};
  const recentMs: number[] = [];
  const startedAt = new Date();

  const run = new DistillationRun({
    config,
    subset,
    method: dmMethod(),
    onEvent: (e) => {
      switch (e.type) {
        case 'metrics': {
          lastLosses = e.losses;
          recentMs.push(e.ms);
          if (recentMs.length > 20) recentMs.shift();
          const line: Record<string, unknown> = { iteration: e.iteration, losses: e.losses, ms: round(e.ms, 3) };
          if (Object.keys(e.metrics).length > 0) line.metrics = e.metrics;
          metricLines.push(line);
          appendFileSync(metricsPath, JSON.stringify(line) + '\n');
          break;
        }
        case 'progress': {
          if (e.phase === 'distill') {
            // it/s of the distillation steps themselves (evaluations excluded), over the
            // last 20 iterations: follows speed changes and stays smooth
            const rate = recentMs.length ? 1000 / (recentMs.reduce((a, b) => a + b, 0) / recentMs.length) : 0;
            progress.update(iterationLine(e.done, e.total, lastLosses, rate, e.etaMs), e.done === e.total || e.done === 1);
          } else {
            const it = run.iterationsDone;
            progress.update(
              `evaluating iteration ${it}: epoch ${e.done}/${e.total} (${config.evalModels} model${config.evalModels === 1 ? '' : 's'} × ${config.evalEpochs + 1})  ETA ${formatDuration(e.etaMs)}`,
              e.done === e.total,
            );
          }
          break;
        }
        case 'eval': {
          const a = e.accuracy;
          const rec = { iteration: e.iteration, mean: a.mean, std: a.std, values: a.values };
          evals.push(rec);
          appendFileSync(evalsPath, JSON.stringify(rec) + '\n');
          say(`eval      iteration ${e.iteration}: accuracy ${pct(a.mean)} ± ${pct(a.std)} over ${a.values.length} model${a.values.length === 1 ? '' : 's'}`);
          break;
        }
        case 'snapshot': {
          const png = snapshotGrid({ ...e, numClasses: subset.classNames.length });
          writeFileSync(join(snapshotDir, `iter-${String(e.iteration).padStart(6, '0')}.png`), png);
          break;
        }
        case 'log':
          say(`note      ${e.message}`);
          break;
        default:
          break;
      }
    },
  });

  // Ctrl-C: first one stops gracefully (summary and zip still written), a second one quits.
  let interrupted = false;
  const onSigint = () => {
    if (interrupted) {
      progress.clear();
      process.stderr.write('distillery: interrupted\n');
      process.exit(EXIT_INTERRUPTED);
    }
    interrupted = true;
    say('stopping after this iteration… (Ctrl-C again to quit at once)');
    run.stop();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);

  let result: Awaited<ReturnType<typeof run.run>> | null = null;
  let failure: unknown = null;
  try {
    result = await run.run();
  } catch (err) {
    failure = err;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
  progress.clear();

  // Whatever happened, keep what exists: the images and a summary saying how it ended.
  let synthetic = result?.synthetic ?? null;
  if (!synthetic) synthetic = await run.getSynthetic().catch(() => null);
  const state = failure ? 'error' : result!.state;
  const summary = {
    state,
    ...(failure ? { error: failure instanceof Error ? failure.message : String(failure) } : {}),
    config,
    backend: backendSummary(backend),
    adapter: backend.adapter ?? null,
    dataset: datasetSummary,
    final: {
      iteration: result?.iterations ?? synthetic?.iteration ?? 0,
      accuracy: result?.accuracy ? { mean: result.accuracy.mean, std: result.accuracy.std, values: result.accuracy.values } : null,
      losses: lastLosses,
    },
    evals,
    timings: result
      ? {
          msPerIteration: round(result.timings.msPerIteration, 3),
          totalMs: round(result.timings.totalMs, 1),
          distillMs: round(result.timings.distillMs, 1),
          evalMs: round(result.timings.evalMs, 1),
        }
      : null,
    versions: vers,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    files: { metrics: 'metrics.jsonl', evals: evals.length ? 'evals.jsonl' : null, synthetic: synthetic ? 'synthetic.zip' : null },
  };

  if (synthetic) {
    const zip = exportSyntheticZip({
      images: synthetic.images,
      pixels: synthetic.pixels,
      labels: synthetic.labels,
      classNames: synthetic.classNames,
      height: synthetic.height,
      width: synthetic.width,
      channels: synthetic.channels,
      normalization: synthetic.normalization,
      meta: {
        config,
        iteration: synthetic.iteration,
        state,
        backend: backendSummary(backend),
        versions: vers,
        dataset: datasetSummary,
        accuracy: summary.final.accuracy,
        evals,
        timings: summary.timings,
        metrics: metricLines,
      },
    });
    writeFileSync(join(outDir, 'synthetic.zip'), zip);
  }
  writeFileSync(join(outDir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');

  if (failure) throw failure;
  const r = result!;
  const acc = r.accuracy ? `accuracy ${pct(r.accuracy.mean)} ± ${pct(r.accuracy.std)}` : 'not evaluated';
  say(
    `${r.state === 'stopped' ? 'stopped' : 'done'}      ${r.iterations} iteration${r.iterations === 1 ? '' : 's'}, ` +
      `${formatMs(r.timings.msPerIteration)}/iteration, total ${formatDuration(r.timings.totalMs)}; ${acc}`,
  );
  say(`wrote     ${join(outDir, 'summary.json')}, metrics.jsonl${evals.length ? ', evals.jsonl' : ''}, synthetic.zip`);
  return r.state === 'stopped' || interrupted ? EXIT_INTERRUPTED : EXIT_OK;
}

function summarizeDataset(
  spec: string,
  dataset: ImageDataset,
  subset: { classIndices: number[]; classNames: string[]; train: { count(k: number): number; numClasses: number }; test: { count: number } },
): DatasetSummary {
  const perClass = Array.from({ length: subset.train.numClasses }, (_, k) => subset.train.count(k));
  return {
    spec,
    name: dataset.name,
    classIndices: subset.classIndices,
    classNames: subset.classNames,
    height: dataset.height,
    width: dataset.width,
    channels: dataset.channels,
    trainPerClass: perClass,
    trainCount: perClass.reduce((a, b) => a + b, 0),
    testCount: subset.test.count,
    full: { classes: dataset.classNames.length, train: dataset.train.count, test: dataset.test.count },
  };
}

export function backendSummary(b: BackendChoice) {
  return { name: b.name, reason: b.reason, adapter: b.adapter ?? null, detail: b.detail ?? null, tried: b.tried };
}

function listClasses(names: string[]): string {
  return names.length <= 6 ? names.join(', ') : `${names.slice(0, 5).join(', ')}, …`;
}

function pct(x: number): string {
  return Number.isFinite(x) ? `${(100 * x).toFixed(2)}%` : 'n/a';
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Number.isFinite(x) ? Math.round(x * f) / f : x;
}
