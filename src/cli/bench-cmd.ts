/**
 * `distillery bench cmi|train|overhead`: micro-benchmarks for scripts. Each
 * prints exactly one JSON object on stdout and nothing else there; the
 * backend line and progress go to stderr (progress only on a terminal).
 */
import { cpus, loadavg } from 'node:os';
import type { BackendName } from '../engine/config';
import { parseFlags, readFlag, type FlagSpec } from './args';
import { describeBackend, selectNodeBackend } from './backend-node';
import { EXIT_OK, EXIT_USAGE, UsageError } from './errors';
import { BENCH_HELP, benchSubHelp } from './help';
import { Progress } from './progress';

const BACKEND: FlagSpec = {
  name: 'backend',
  kind: 'choice',
  choices: ['auto', 'webgpu', 'wasm', 'cpu'],
  help: 'tfjs backend (webgpu runs on SwiftShader when there is no GPU)',
  show: () => 'auto',
};
const SEED: FlagSpec = { name: 'seed', kind: 'int', value: 'N', help: 'seed of the random inputs and weights', show: () => '0' };
const VERBOSE: FlagSpec = { name: 'verbose', kind: 'boolean', help: 'stack traces on errors' };
const HELP: FlagSpec = { name: 'help', kind: 'boolean', help: 'show this help' };
const int = (name: string, value: string, help: string, def: number): FlagSpec => ({ name, kind: 'int', value, help, show: () => String(def) });

interface Bench {
  summary: string;
  flags: FlagSpec[];
  defaults: Record<string, number | string>;
  run(get: (name: string) => number | string, log: Progress): Promise<object>;
}

const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`);
const round = (v: number, d: number) => (Number.isFinite(v) ? Math.round(v * 10 ** d) / 10 ** d : v);

function machine() {
  return { loadavg_1m: round(loadavg()[0], 2), cpus: cpus().length };
}

const BENCHES: Record<string, Bench> = {
  cmi: {
    summary: 'fused WebGPU CMI vs the reference from ordinary tfjs ops: forward + backward ms (median), dispatches, max relative error',
    flags: [
      int('n', 'N', 'rows of z (synthetic images)', 100),
      int('m', 'M', 'columns of z (feature dimension; ConvNet-3 on 32×32: 2048)', 2048),
      int('classes', 'C', 'classes (rows are interleaved, as unsorted labels)', 10),
      int('repeats', 'R', 'timed runs of each implementation', 5),
      { name: 'temperature', kind: 'number', value: 'T', help: 'softmax temperature', show: () => '1' },
      BACKEND,
      SEED,
    ],
    defaults: { n: 100, m: 2048, classes: 10, repeats: 5, temperature: 1, backend: 'auto', seed: 0 },
    async run(get) {
      const { choice, adapter } = await backend(get('backend') as BackendName);
      const { benchCmi } = await import('../engine/cmi');
      const r = await benchCmi({
        n: get('n') as number,
        m: get('m') as number,
        classes: get('classes') as number,
        repeats: get('repeats') as number,
        temperature: get('temperature') as number,
        seed: get('seed') as number,
        backend: choice,
      });
      return { ...r, adapter, ...machine() };
    },
  },
  train: {
    summary: 'GFLOP/s of a ConvNet forward + backward (weights and input images) on 32×32×3',
    flags: [
      int('width', 'W', 'conv channels', 128),
      int('batch', 'B', 'images per step', 256),
      int('depth', 'D', 'conv blocks', 3),
      int('iterations', 'N', 'timed steps', 3),
      int('warmup', 'N', 'untimed steps first', 1),
      BACKEND,
      SEED,
    ],
    defaults: { width: 128, batch: 256, depth: 3, iterations: 3, warmup: 1, backend: 'auto', seed: 0 },
    async run(get, log) {
      const { choice, adapter } = await backend(get('backend') as BackendName);
      const { benchTrain } = await import('../engine/bench/train');
      const r = await benchTrain({
        backend: choice,
        width: get('width') as number,
        batch: get('batch') as number,
        depth: get('depth') as number,
        iterations: get('iterations') as number,
        warmup: get('warmup') as number,
        seed: get('seed') as number,
        onStep: (done, total, ms) => log.update(`bench train: step ${done}/${total} (${Math.round(ms)} ms)`, done === total),
      });
      return { ...r, adapter, ...machine() };
    },
  },
  overhead: {
    summary: 'ms of a DM iteration with and without CMI, side by side, and of the CMI kernels and the teacher pass alone',
    flags: [
      int('width', 'W', 'ConvNet channels (DM net and teacher)', 128),
      int('depth', 'D', 'ConvNet conv blocks', 3),
      int('batch-real', 'B', 'real images per class per iteration', 256),
      int('ipc', 'N', 'synthetic images per class', 10),
      int('classes', 'C', 'classes of the builtin dataset (1–10)', 10),
      int('iterations', 'N', 'timed rounds (dm, dm+cmi, kernels, teacher)', 3),
      int('warmup', 'N', 'untimed rounds first', 1),
      { name: 'cmi-space', kind: 'choice', choices: ['feature', 'logit'], help: 'z of the CMI term', show: () => 'feature' },
      { name: 'cmi-weight', kind: 'number', value: 'λ', help: 'λ of the dm+cmi run (> 0; the cost does not depend on it)', show: () => '1' },
      { name: 'no-dsa', kind: 'boolean', help: 'DM without DSA augmentation' },
      BACKEND,
      SEED,
    ],
    defaults: { width: 128, depth: 3, 'batch-real': 256, ipc: 10, classes: 10, iterations: 3, warmup: 1, 'cmi-space': 'feature', 'cmi-weight': 1, backend: 'auto', seed: 0 },
    async run(get, log) {
      const weight = get('cmi-weight') as number;
      if (!(weight > 0)) throw new UsageError(`--cmi-weight must be above 0 here (got ${weight})`);
      const { adapter } = await backend(get('backend') as BackendName);
      const { benchOverhead } = await import('./bench-overhead');
      return benchOverhead(
        {
          width: get('width') as number,
          depth: get('depth') as number,
          batchReal: get('batch-real') as number,
          ipc: get('ipc') as number,
          classes: get('classes') as number,
          iterations: get('iterations') as number,
          warmup: get('warmup') as number,
          space: get('cmi-space') as 'feature' | 'logit',
          weight,
          dsa: !get('no-dsa'),
          seed: get('seed') as number,
          // rounds take minutes on a software adapter: every one is logged (stderr), warm-up ones marked
          onIteration: (which, round, ms) => log.update(`bench overhead: round ${round}: ${which} iteration ${(ms / 1000).toFixed(2)} s`, true),
          onRound: (done, total, ms) =>
            log.update(
              `bench overhead: round ${done}/${total}${done <= (get('warmup') as number) ? ' (warm-up)' : ''}: dm ${fmt(ms.dm)}, dm+cmi ${fmt(ms.dm_cmi)}, ` +
                `cmi kernels ${fmt(ms.cmi_kernels)}, teacher fwd+bwd ${fmt(ms.teacher_fb)}`,
              true,
            ),
        },
        adapter,
      );
    },
  },
};

/** Minimum of each integer flag (the benches check more themselves). */
const MIN: Record<string, number> = { warmup: 0, seed: 0 };

async function backend(pref: BackendName): Promise<{ choice: string; adapter: string | null }> {
  const choice = await selectNodeBackend(pref);
  process.stderr.write(`backend: ${describeBackend(choice)} — ${choice.reason}\n`);
  const a = choice.adapter;
  return { choice: choice.name, adapter: a ? [a.vendor, a.architecture, a.description].filter((s) => s && s !== 'unknown').join(', ') : null };
}

export async function benchCommand(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    console.log(BENCH_HELP);
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const bench = BENCHES[name];
  if (!bench) throw new UsageError(`unknown benchmark '${name}' (expected cmi, train or overhead; see distillery bench --help)`);
  const specs = [...bench.flags, VERBOSE, HELP];
  const values = parseFlags(rest, specs, `bench ${name}`);
  if (values.help) {
    console.log(benchSubHelp(name, bench.summary, specs));
    return EXIT_OK;
  }
  const read: Record<string, number | string> = { ...bench.defaults };
  for (const s of bench.flags) {
    const v = readFlag(values, s);
    if (v === undefined) continue;
    if (s.kind === 'int' && (v as number) < (MIN[s.name] ?? 1))
      throw new UsageError(`--${s.name} must be an integer ≥ ${MIN[s.name] ?? 1} (got ${v})`);
    read[s.name] = v as number | string;
  }
  const get = (n: string) => read[n];

  // stdout carries the one JSON object: anything a library prints goes to stderr
  const saved = { log: console.log, info: console.info };
  console.log = console.info = (...a: unknown[]) => console.error(...a);
  const progress = new Progress({ tty: !!process.stderr.isTTY, plainIntervalMs: Infinity, write: (s) => void process.stderr.write(s) });
  let result: object;
  try {
    result = await bench.run(get, progress);
  } finally {
    progress.clear();
    console.log = saved.log;
    console.info = saved.info;
  }
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  return EXIT_OK;
}
