/**
 * `distillery distill`: load the data, choose the backend, run DM through the
 * engine's DistillationRun, and write the run folder:
 *   metrics.jsonl  appended per iteration (nothing lost if the run dies)
 *   evals.jsonl    appended per evaluation
 *   summary.json   config, backend, final accuracy, timings, versions, dataset
 *   synthetic.zip  exportSyntheticZip, meta = config + metrics + versions + backend
 *   snapshots/     iter-NNNNNN.png grids (a row per class) every --snapshot-every iterations
 * With CMI (--cmi-weight λ > 0, or --teachers K at λ = 0 for the metric
 * alone) the teacher pool comes first: imported, loaded from the cache, or
 * trained on the run's real images (and cached); see teachers-node.ts.
 * Ctrl-C stops after the current iteration and still writes summary + zip
 * (during teacher training it stops there, with nothing distilled).
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { assertCapabilities, type BackendChoice } from '../engine/backend';
import type { DistillConfig } from '../engine/config';
import type { ImageDataset } from '../engine/data/types';
import { UserError } from '../engine/data/types';
import { parseDistillArgs, type CmiArgs } from './args';
import { describeBackend, selectNodeBackend } from './backend-node';
import { loadDatasetSpec, resolveClasses } from './dataset-source';
import { EXIT_INTERRUPTED, EXIT_OK } from './errors';
import { DISTILL_HELP } from './help';
import { Progress, formatDuration, formatMs, iterationLine } from './progress';
import { snapshotGrid } from './snapshots';
import { versions } from './versions';
import { exportTeacherPool, obtainTeachers, teacherCacheDir, type ObtainedTeachers } from './teachers-node';

/** ./out/2025-11-21T05-30-12 (local time, sortable, no characters any OS forbids). */
function defaultOutDir(): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}-${p(d.getMinutes())}-${p(d.getSeconds())}`;
  return join('out', stamp);
}

/** Refuses to mix two runs' files in one folder (checked before teachers train: nothing is written yet). */
function checkOutDir(dir: string): void {
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
}

function createOutDir(dir: string): void {
  checkOutDir(dir);
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

  const [tf, { DistillationRun }, { dmMethod }, { exportSyntheticZip }, { createCmiPlugin }, { TeacherTrainingStopped }] = await Promise.all([
    import('@tensorflow/tfjs'),
    import('../engine/run'),
    import('../engine/methods/dm'),
    import('../engine/export/zip'),
    import('../engine/cmi'),
    import('../engine/teachers'),
  ]);
  const vers = versions(tf.version as unknown as Record<string, string>);

  checkOutDir(outDir);
  const metricsPath = join(outDir, 'metrics.jsonl');
  const evalsPath = join(outDir, 'evals.jsonl');
  const snapshotDir = join(outDir, 'snapshots');

  say(`dataset   ${dataset.name}: ${subset.classNames.length} classes (${listClasses(subset.classNames)}), ${datasetSummary.trainCount} real training images, ${datasetSummary.testCount} test images, ${dataset.height}×${dataset.width}×${dataset.channels}`);
  say(`backend   ${describeBackend(backend)} — ${backend.reason}`);
  for (const t of backend.tried) if (args.verbose || config.backend === 'auto') say(`          (${t.name} not used: ${t.error})`);
  say(
    `run       ${config.method} ipc ${config.ipc}, ${config.iterations} iterations, batch-real ${config.batchReal}, ConvNet-${config.net.depth} width ${config.net.width}, ` +
      `DSA ${config.dsa ? 'on' : 'off'}, ${config.evalModels > 0 ? `eval ${config.evalModels} model${config.evalModels === 1 ? '' : 's'} × ${config.evalEpochs} epochs` : 'no evaluation'}, seed ${config.seed}`,
  );
  const cmiArgs: CmiArgs | null = args.cmi;
  if (cmiArgs) say(`cmi       ${describeCmi(cmiArgs, config)}`);
  if (args.ignoredCmiFlags.length > 0)
    say(`note      ${args.ignoredCmiFlags.join(', ')} ignored: CMI is off (give --cmi-weight λ > 0, or --teachers K for the metric alone)`);
  say(`output    ${outDir}`);

  // Ctrl-C: first one stops gracefully (summary and zip still written), a second one quits.
  let interrupted = false;
  let run: InstanceType<typeof DistillationRun> | null = null;
  const onSigint = () => {
    if (interrupted) {
      progress.clear();
      process.stderr.write('distillery: interrupted\n');
      process.exit(EXIT_INTERRUPTED);
    }
    interrupted = true;
    say(run ? 'stopping after this iteration… (Ctrl-C again to quit at once)' : 'stopping… (Ctrl-C again to quit at once)');
    run?.stop();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  const offSigint = () => {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  };

  let teachers: ObtainedTeachers | null = null;
  if (cmiArgs) {
    try {
      teachers = await getTeachers(cmiArgs, config, subset, dataset.name, datasetSummary.trainCount, progress, () => interrupted);
    } catch (err) {
      offSigint();
      progress.clear();
      if (err instanceof TeacherTrainingStopped) {
        say('stopped   during teacher training: nothing distilled, no teachers cached, nothing written');
        return EXIT_INTERRUPTED;
      }
      throw err;
    }
    if (teachers.source === 'import') cmiArgs.teachers = teachers.pool.teachers.length;
    if (cmiArgs.exportDir !== null) {
      await exportTeacherPool(teachers.pool, cmiArgs.exportDir);
      say(`teachers  exported to ${resolve(cmiArgs.exportDir)}`);
    }
  }
  const cmiPlugin = teachers
    ? createCmiPlugin({ weight: cmiArgs!.weight, space: cmiArgs!.space, temperature: cmiArgs!.temperature, pool: teachers.pool, ownsPool: true })
    : null;
  const teacherRecords = teachers?.pool.teachers.map((t) => ({ testAccuracy: t.testAccuracy, epochs: t.epochs, seed: t.seed })) ?? null;

  createOutDir(outDir);
  writeFileSync(metricsPath, '');
  mkdirSync(snapshotDir, { recursive: true });

  const metricLines: Record<string, unknown>[] = [];
  const evals: Record<string, unknown>[] = [];
  let lastLosses: Record<string, number> = {};
  let lastMetrics: Record<string, number | number[]> = {};
  let shownLosses: Record<string, number> = {};
  const recentMs: number[] = [];
  const startedAt = new Date();

  run = new DistillationRun({
    config,
    subset,
    method: dmMethod(),
    plugins: cmiPlugin ? [cmiPlugin] : [],
    onEvent: (e) => {
      switch (e.type) {
        case 'metrics': {
          lastLosses = e.losses;
          lastMetrics = e.metrics;
          shownLosses = { ...e.losses };
          // at λ = 0 the loss term is 0 by construction; the raw CMI is what is worth seeing
          if (cmiArgs?.weight === 0) delete shownLosses.cmi;
          if (typeof e.metrics.cmi === 'number') shownLosses['CMI(S)'] = e.metrics.cmi;
          recentMs.push(e.ms);
          if (recentMs.length > 20) recentMs.shift();
          // plugin metrics (cmi, cmi_real, cmi_per_class…) sit beside the losses: losses.cmi = λ·cmi
          const line: Record<string, unknown> = { iteration: e.iteration, losses: e.losses, ...e.metrics, ms: round(e.ms, 3) };
          metricLines.push(line);
          appendFileSync(metricsPath, JSON.stringify(line) + '\n');
          break;
        }
        case 'progress': {
          if (e.phase === 'distill') {
            // it/s of the distillation steps themselves (evaluations excluded), over the
            // last 20 iterations: follows speed changes and stays smooth
            const rate = recentMs.length ? 1000 / (recentMs.reduce((a, b) => a + b, 0) / recentMs.length) : 0;
            progress.update(iterationLine(e.done, e.total, shownLosses, rate, e.etaMs), e.done === e.total || e.done === 1);
          } else {
            const it = run!.iterationsDone;
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

  if (interrupted) run.stop(); // Ctrl-C came between the teachers and the run

  let result: Awaited<ReturnType<typeof run.run>> | null = null;
  let failure: unknown = null;
  try {
    result = await run.run();
  } catch (err) {
    failure = err;
  } finally {
    offSigint();
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
    cmi: cmiArgs ? cmiSummary(cmiArgs) : null,
    teachers: teacherRecords,
    teacherCache: teachers?.cacheFolder ?? null,
    teachersFromCache: teachers ? teachers.source === 'cache' : null,
    teachersSource: teachers?.source ?? null,
    teachersKey: teachers?.pool.key ?? null,
    teachersMs: teachers ? round(teachers.ms, 1) : null,
    final: {
      iteration: result?.iterations ?? synthetic?.iteration ?? 0,
      accuracy: result?.accuracy ? { mean: result.accuracy.mean, std: result.accuracy.std, values: result.accuracy.values } : null,
      losses: lastLosses,
      ...(cmiArgs
        ? { cmi: typeof lastMetrics.cmi === 'number' ? lastMetrics.cmi : null, cmi_real: typeof lastMetrics.cmi_real === 'number' ? lastMetrics.cmi_real : null }
        : {}),
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
        cmi: summary.cmi,
        teachers: teacherRecords,
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

/** "λ 8000, feature space, T 1, 1 teacher × 20 epochs (ConvNet-3 width 128)". */
function describeCmi(c: CmiArgs, config: DistillConfig): string {
  const pool =
    c.importDir !== null
      ? `teachers from ${c.importDir}`
      : `${plural(c.teachers, 'teacher')} × ${plural(c.teacherEpochs, 'epoch')} (ConvNet-${config.net.depth} width ${config.net.width}, seed ${c.teacherSeed})`;
  const lambda = c.weight === 0 ? 'λ 0 (metric only: no gradient)' : `λ ${c.weight}`;
  return `${lambda}, ${c.space} space, T ${c.temperature}, ${pool}`;
}

function cmiSummary(c: CmiArgs) {
  return { weight: c.weight, space: c.space, teachers: c.teachers, teacherEpochs: c.teacherEpochs, temperature: c.temperature, teacherSeed: c.teacherSeed };
}

/** The pool, with a progress line while training and one line saying where it came from. */
async function getTeachers(
  c: CmiArgs,
  config: DistillConfig,
  subset: Parameters<typeof obtainTeachers>[0]['subset'],
  datasetName: string,
  realCount: number,
  progress: Progress,
  shouldStop: () => boolean,
): Promise<ObtainedTeachers> {
  const cacheDir = resolve(c.cache ?? teacherCacheDir());
  let trainingSince: number | null = null;
  const got = await obtainTeachers({
    subset,
    dataset: datasetName,
    realPerClass: config.realPerClass,
    net: config.net,
    count: c.teachers,
    epochs: c.teacherEpochs,
    seed: c.teacherSeed,
    cacheDir,
    importDir: c.importDir,
    countGiven: c.teachersGiven,
    shouldStop,
    onNote: (m) => progress.log(`note      ${m}`),
    onProgress: (done, total, what) => {
      if (/^loaded /.test(what)) return; // said below
      if (/^teacher \d+\/\d+: test accuracy/.test(what)) return progress.log(`teachers  ${what}`);
      if (!/^teacher \d+\/\d+: epoch/.test(what)) return progress.log(`note      ${what}`); // cache trouble
      if (trainingSince === null) {
        trainingSince = performance.now();
        progress.log(
          `teachers  training ${plural(c.teachers, 'teacher')} × ${plural(c.teacherEpochs, 'epoch')} on ${realCount} real images (none cached in ${cacheDir} for this data and settings)`,
        );
      }
      const eta = ((performance.now() - trainingSince) / done) * (total - done);
      progress.update(`teachers  ${what}  (${done}/${total} epochs)  ETA ${formatDuration(eta)}`, done === total);
    },
  });
  progress.clear();
  const accs = got.pool.teachers.map((t) => pct(t.testAccuracy)).join(', ');
  const k = got.pool.teachers.length;
  if (got.source === 'cache') progress.log(`teachers  loaded ${k} from cache ${got.cacheFolder} (test accuracy ${accs})`);
  else if (got.source === 'import') progress.log(`teachers  imported ${k} from ${resolve(c.importDir!)} (test accuracy ${accs})`);
  else progress.log(`teachers  trained ${plural(k, 'teacher')} in ${formatDuration(got.ms)} (test accuracy ${accs}), cached in ${got.cacheFolder}`);
  return got;
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

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
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
