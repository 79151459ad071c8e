/**
 * Flags of `distillery distill` and `distillery eval`: one table gives the
 * parser (node:util parseArgs, strict), the help text (with the defaults of
 * both presets) and the mapping onto DistillConfig. Nothing heavy is imported
 * here, so usage errors are reported before tfjs loads.
 */
import { parseArgs } from 'node:util';
import {
  PAPER_CONFIG,
  QUICK_CONFIG,
  validateConfig,
  type BackendName,
  type DistillConfig,
  type InitKind,
  type NormKind,
  type PoolKind,
} from '../engine/config';
import { UsageError } from './errors';

type Kind = 'int' | 'number' | 'string' | 'boolean' | 'choice';

export interface FlagSpec {
  name: string;
  kind: Kind;
  /** Placeholder in help, e.g. N or PATH. */
  value?: string;
  choices?: readonly string[];
  help: string;
  /** Default shown in help; from a config when the flag maps onto one. */
  show?: (c: DistillConfig) => string;
}

const BACKENDS: readonly BackendName[] = ['auto', 'webgpu', 'wasm', 'cpu'];

const DATASET: FlagSpec = {
  name: 'dataset',
  kind: 'string',
  value: 'SRC',
  help: "'builtin' (generated, offline), a catalog id (downloaded once, see `distillery datasets`), or a path: an archive (.tar.gz/.zip/.gz), a folder, or comma-separated files (e.g. the 4 IDX files)",
  show: (c) => c.dataset,
};
const CLASSES: FlagSpec = {
  name: 'classes',
  kind: 'string',
  value: 'LIST',
  help: 'comma-separated class indices or names of the dataset to use (e.g. 0,1,2 or cat,dog)',
  show: () => 'all',
};
const REAL_PER_CLASS: FlagSpec = {
  name: 'real-per-class',
  kind: 'int',
  value: 'N',
  help: 'use at most N real training images per class (seeded sample)',
  show: () => 'all',
};
const WIDTH: FlagSpec = { name: 'width', kind: 'int', value: 'N', help: 'ConvNet channels per conv layer', show: (c) => String(c.net.width) };
const DEPTH: FlagSpec = { name: 'depth', kind: 'int', value: 'N', help: 'ConvNet conv blocks (1–6)', show: (c) => String(c.net.depth) };
const NORM: FlagSpec = {
  name: 'norm',
  kind: 'choice',
  choices: ['instance', 'batch', 'none'],
  help: 'ConvNet normalisation',
  show: (c) => c.net.norm,
};
const POOLING: FlagSpec = { name: 'pooling', kind: 'choice', choices: ['avg', 'max'], help: 'ConvNet pooling', show: (c) => c.net.pooling };
const EVAL_MODELS: FlagSpec = {
  name: 'eval-models',
  kind: 'int',
  value: 'N',
  help: 'networks trained from scratch on the synthetic set per evaluation (0 = no evaluation)',
  show: (c) => String(c.evalModels),
};
const EVAL_EPOCHS: FlagSpec = {
  name: 'eval-epochs',
  kind: 'int',
  value: 'N',
  help: 'training epochs per evaluation network (lr ÷10 halfway, protocol)',
  show: (c) => String(c.evalEpochs),
};
const EVAL_LR: FlagSpec = { name: 'eval-lr', kind: 'number', value: 'X', help: 'learning rate of evaluation training', show: (c) => String(c.evalLr) };
const EVAL_BATCH: FlagSpec = { name: 'eval-batch', kind: 'int', value: 'N', help: 'batch size of evaluation training', show: (c) => String(c.evalBatch) };
const BACKEND: FlagSpec = {
  name: 'backend',
  kind: 'choice',
  choices: BACKENDS,
  help: 'tfjs backend; auto = webgpu on a hardware GPU adapter, else wasm (SIMD, the fastest on a CPU), else cpu; webgpu also runs on the SwiftShader software driver, but only when asked (slow)',
  show: (c) => c.backend,
};
const SEED: FlagSpec = { name: 'seed', kind: 'int', value: 'N', help: 'seed of every random choice (runs are deterministic per seed and backend)', show: (c) => String(c.seed) };
const NO_DSA: FlagSpec = { name: 'no-dsa', kind: 'boolean', help: 'turn DSA augmentation off (distillation and evaluation)', show: () => 'DSA on' };
const VERBOSE: FlagSpec = { name: 'verbose', kind: 'boolean', help: 'more detail; stack traces on errors' };
const HELP: FlagSpec = { name: 'help', kind: 'boolean', help: 'show this help' };

/**
 * The CMI term's defaults. K = 1 teacher: every iteration uses one teacher
 * whatever K is, so K only multiplies the up-front training (E epochs over the
 * real training images per teacher, minutes to hours on a CPU at width 128);
 * the reference's pool is small. E = 20: the reference trains for tens of
 * epochs (40); 20 gets most of the accuracy at half the cost.
 */
export const CMI_DEFAULTS = { teachers: 1, teacherEpochs: 20, space: 'feature', temperature: 1, teacherSeed: 0 } as const;

const CMI_FLAGS: FlagSpec[] = [
  {
    name: 'cmi-weight',
    kind: 'number',
    value: 'λ',
    help: 'weight λ of the class-aware CMI term added to the loss (0 = off; the paper uses thousands for DM, e.g. 8000 on CIFAR-10 IPC 10)',
    show: () => '0',
  },
  {
    name: 'cmi-space',
    kind: 'choice',
    choices: ['feature', 'logit'],
    help: "what the teacher gives CMI: 'feature' = its embedding (softmax over features, as the paper), 'logit' = its class logits",
    show: () => CMI_DEFAULTS.space,
  },
  {
    name: 'teachers',
    kind: 'int',
    value: 'K',
    help: `teacher networks in the CMI pool, trained on the real training images (one picked at random each iteration); with --cmi-weight 0, --teachers K ≥ 1 still reports the CMI of every iteration (no gradient)`,
    show: () => `${CMI_DEFAULTS.teachers} when --cmi-weight > 0, else 0 (no CMI)`,
  },
  {
    name: 'teacher-epochs',
    kind: 'int',
    value: 'E',
    help: 'training epochs per teacher (SGD lr 0.01, momentum 0.9, weight decay 0.001, batch 256, as the reference; it uses 40)',
    show: () => String(CMI_DEFAULTS.teacherEpochs),
  },
  { name: 'cmi-temperature', kind: 'number', value: 'T', help: 'softmax temperature of the CMI term', show: () => String(CMI_DEFAULTS.temperature) },
  { name: 'teacher-seed', kind: 'int', value: 'N', help: 'seed of the teachers\' initialisation and shuffling (fixed apart from --seed, so runs with other seeds reuse cached teachers)', show: () => String(CMI_DEFAULTS.teacherSeed) },
  {
    name: 'teacher-cache',
    kind: 'string',
    value: 'DIR',
    help: 'where trained teachers are kept and reused by runs on the same data and settings',
    show: () => '$DISTILLERY_CACHE/teachers or ~/.cache/distillery/teachers',
  },
  { name: 'teachers-import', kind: 'string', value: 'DIR', help: 'use the teacher pool in DIR (written by --teachers-export) instead of training or the cache', show: () => 'none' },
  { name: 'teachers-export', kind: 'string', value: 'DIR', help: 'write the teacher pool to DIR (tfjs weights format: DIR/teacher-i/model.json + weights.bin, DIR/pool.json)', show: () => 'none' },
];

export const DISTILL_FLAGS: FlagSpec[] = [
  { name: 'preset', kind: 'choice', choices: ['paper', 'quick'], help: 'defaults: paper = the standard protocol (slow without a GPU); quick = small, for a CPU or laptop', show: () => 'paper' },
  DATASET,
  CLASSES,
  REAL_PER_CLASS,
  { name: 'method', kind: 'choice', choices: ['dm'], help: 'distillation method (dm = Distribution Matching)', show: (c) => c.method },
  { name: 'ipc', kind: 'int', value: 'N', help: 'synthetic images per class', show: (c) => String(c.ipc) },
  { name: 'iterations', kind: 'int', value: 'N', help: 'distillation iterations', show: (c) => String(c.iterations) },
  { name: 'batch-real', kind: 'int', value: 'N', help: 'real images per class per iteration', show: (c) => String(c.batchReal) },
  { name: 'lr-img', kind: 'number', value: 'X', help: 'learning rate of the synthetic images (SGD)', show: (c) => String(c.lrImg) },
  { name: 'momentum', kind: 'number', value: 'X', help: 'momentum of the image optimiser, in [0, 1)', show: (c) => String(c.momentumImg) },
  { name: 'init', kind: 'choice', choices: ['real', 'noise'], help: 'initialise synthetic images from random real images or Gaussian noise', show: (c) => c.init },
  NO_DSA,
  WIDTH,
  DEPTH,
  NORM,
  POOLING,
  { name: 'eval-every', kind: 'int', value: 'N', help: 'evaluate every N iterations (0 = only at the end)', show: (c) => String(c.evalEvery) },
  EVAL_MODELS,
  EVAL_EPOCHS,
  EVAL_LR,
  EVAL_BATCH,
  { name: 'snapshot-every', kind: 'int', value: 'N', help: 'save a PNG grid of the synthetic images (a row per class) to DIR/snapshots/ every N iterations', show: (c) => String(c.snapshotEvery) },
  ...CMI_FLAGS,
  BACKEND,
  SEED,
  { name: 'out', kind: 'string', value: 'DIR', help: 'output folder (metrics.jsonl, summary.json, synthetic.zip)', show: () => './out/<timestamp>' },
  VERBOSE,
  HELP,
];

/** In `eval`, these default to what the zip recorded about its run. */
const fromZip = (spec: FlagSpec, help = spec.help): FlagSpec => ({ ...spec, help, show: () => 'as recorded in the zip' });

export const EVAL_FLAGS: FlagSpec[] = [
  { name: 'synthetic', kind: 'string', value: 'FILE.zip', help: 'synthetic set exported by `distillery distill` (synthetic.zip)', show: () => 'required' },
  fromZip(DATASET, `${DATASET.help}; must be the dataset the set was distilled from`),
  fromZip(CLASSES),
  { name: 'preset', kind: 'choice', choices: ['paper', 'quick'], help: "take --eval-models/--eval-epochs/--eval-lr/--eval-batch from this preset instead of from the zip", show: () => 'none' },
  fromZip(EVAL_MODELS, 'networks trained from scratch on the synthetic set'),
  fromZip(EVAL_EPOCHS),
  fromZip(EVAL_LR),
  fromZip(EVAL_BATCH),
  fromZip(NO_DSA, 'turn DSA augmentation off during training'),
  fromZip(WIDTH),
  fromZip(DEPTH),
  fromZip(NORM),
  fromZip(POOLING),
  BACKEND,
  fromZip(SEED, 'seed of the networks\' initialisation, shuffling and augmentation'),
  { name: 'out', kind: 'string', value: 'FILE', help: 'also write the result JSON to FILE', show: () => 'stdout only' },
  VERBOSE,
  HELP,
];

export type RawValues = Record<string, string | boolean | undefined>;

/**
 * parseArgs in strict mode, with its multi-line messages replaced by one line,
 * and `--ipc -3` accepted as `--ipc=-3` so that the value check (not the
 * parser) explains what is wrong with a negative number.
 */
export function parseFlags(argv: string[], specs: FlagSpec[], command: string): RawValues {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const spec = a.startsWith('--') && !a.includes('=') ? byName.get(a.slice(2)) : undefined;
    if (spec && spec.kind !== 'boolean' && i + 1 < argv.length && /^-[\d.]/.test(argv[i + 1])) {
      args.push(`${a}=${argv[++i]}`);
    } else args.push(a);
  }
  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const s of specs) options[s.name] = { type: s.kind === 'boolean' ? 'boolean' : 'string' };
  try {
    const { values, positionals } = parseArgs({ args, options, strict: true, allowPositionals: true });
    if (positionals.length > 0)
      throw new UsageError(`unexpected argument '${positionals[0]}' (see distillery ${command} --help)`);
    return values as RawValues;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const e = err as { code?: string; message: string };
    const flag = /'(-[^' ]+)/.exec(e.message)?.[1] ?? '';
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION')
      throw new UsageError(`unknown option ${flag} (see distillery ${command} --help)`);
    if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const name = flag.replace(/^--?/, '');
      if (byName.get(name)?.kind === 'boolean') throw new UsageError(`${flag} takes no value`);
      throw new UsageError(`${flag} needs a value`);
    }
    throw new UsageError(e.message.split('\n')[0]);
  }
}

function parseNumber(flag: string, raw: string, integer: boolean): number {
  const v = raw.trim() === '' ? NaN : Number(raw);
  if (!Number.isFinite(v)) throw new UsageError(`--${flag} must be ${integer ? 'an integer' : 'a number'} (got '${raw}')`);
  return v;
}

export function readFlag(values: RawValues, spec: FlagSpec): string | number | boolean | undefined {
  const raw = values[spec.name];
  if (raw === undefined) return undefined;
  if (spec.kind === 'boolean') return raw as boolean;
  const s = raw as string;
  if (spec.kind === 'int' || spec.kind === 'number') return parseNumber(spec.name, s, spec.kind === 'int');
  if (spec.kind === 'choice' && !spec.choices!.includes(s))
    throw new UsageError(`--${spec.name} must be one of ${spec.choices!.join(', ')} (got '${s}')`);
  return s;
}

/** What a --classes value says: indices now, or names to resolve once the dataset is loaded. */
export type ClassSpec = { indices: number[] } | { names: string[] } | null;

export function parseClasses(raw: string | undefined): ClassSpec {
  if (raw === undefined) return null;
  const parts = raw.split(',').map((p) => p.trim());
  if (parts.some((p) => p === '')) throw new UsageError(`--classes must be a comma-separated list (got '${raw}')`);
  if (parts.every((p) => /^-?\d+$/.test(p))) {
    const indices = parts.map(Number);
    const bad = indices.find((k) => k < 0);
    if (bad !== undefined) throw new UsageError(`--classes: class index ${bad} is not valid (indices start at 0)`);
    if (new Set(indices).size !== indices.length) throw new UsageError('--classes: classes must not repeat');
    return { indices };
  }
  if (new Set(parts).size !== parts.length) throw new UsageError('--classes: classes must not repeat');
  return { names: parts };
}

/** Flag names as validateConfig spells the problems, so its messages can say `--ipc …`. */
const PROBLEM_FLAGS: Record<string, string> = {
  ipc: 'ipc',
  iterations: 'iterations',
  'batch-real': 'batch-real',
  'lr-img': 'lr-img',
  momentum: 'momentum',
  width: 'width',
  depth: 'depth',
  'eval-every': 'eval-every',
  'eval-models': 'eval-models',
  'eval-epochs': 'eval-epochs',
  'eval-lr': 'eval-lr',
  'eval-batch': 'eval-batch',
  'snapshot-every': 'snapshot-every',
  seed: 'seed',
  'real-per-class': 'real-per-class',
};

/** Throws the first problem validateConfig finds, phrased with the flag's name. */
export function assertValidConfig(c: DistillConfig): void {
  const problems = validateConfig(c);
  if (problems.length === 0) return;
  const p = problems[0];
  const word = p.split(' ')[0];
  throw new UsageError(PROBLEM_FLAGS[word] ? `--${p}` : p);
}

/** The CMI settings of `distill` (kept beside DistillConfig: they are the CLI's, recorded as `cmi` in summary.json). */
export interface CmiArgs {
  /** λ ≥ 0; 0 = metrics only. */
  weight: number;
  space: 'feature' | 'logit';
  /** K ≥ 1 (taken from the imported pool when --teachers-import is given without --teachers). */
  teachers: number;
  /** Whether --teachers was given (an import must then hold exactly K). */
  teachersGiven: boolean;
  teacherEpochs: number;
  temperature: number;
  teacherSeed: number;
  /** --teacher-cache, or null for the default folder. */
  cache: string | null;
  importDir: string | null;
  exportDir: string | null;
}

export interface DistillArgs {
  config: DistillConfig;
  classSpec: ClassSpec;
  /** null: no CMI at all (λ = 0 and no teachers asked for). */
  cmi: CmiArgs | null;
  /** CMI flags given while CMI is off (they do nothing; the command says so). */
  ignoredCmiFlags: string[];
  out: string | null;
  verbose: boolean;
  help: boolean;
}

/**
 * CMI is on when λ > 0, or when teachers are asked for (--teachers K ≥ 1, an
 * import or an export): at λ = 0 it then reports the CMI of every iteration
 * without adding it to the loss.
 */
export function parseCmiArgs(get: (name: string) => string | number | boolean | undefined): { cmi: CmiArgs | null; ignored: string[] } {
  const weight = (get('cmi-weight') as number | undefined) ?? 0;
  if (!(Number.isFinite(weight) && weight >= 0)) throw new UsageError(`--cmi-weight must be a number ≥ 0 (got ${weight})`);
  const k = get('teachers') as number | undefined;
  if (k !== undefined && !(Number.isInteger(k) && k >= 0)) throw new UsageError(`--teachers must be an integer ≥ 0 (got ${k})`);
  const epochs = (get('teacher-epochs') as number | undefined) ?? CMI_DEFAULTS.teacherEpochs;
  if (!(Number.isInteger(epochs) && epochs >= 1)) throw new UsageError(`--teacher-epochs must be an integer ≥ 1 (got ${epochs})`);
  const temperature = (get('cmi-temperature') as number | undefined) ?? CMI_DEFAULTS.temperature;
  if (!(Number.isFinite(temperature) && temperature > 0)) throw new UsageError(`--cmi-temperature must be a positive number (got ${temperature})`);
  const teacherSeed = (get('teacher-seed') as number | undefined) ?? CMI_DEFAULTS.teacherSeed;
  if (!(Number.isInteger(teacherSeed) && teacherSeed >= 0)) throw new UsageError(`--teacher-seed must be an integer ≥ 0 (got ${teacherSeed})`);
  const dir = (flag: string) => {
    const d = get(flag) as string | undefined;
    if (d !== undefined && d.trim() === '') throw new UsageError(`--${flag} must not be empty`);
    return d ?? null;
  };
  const cache = dir('teacher-cache');
  const importDir = dir('teachers-import');
  const exportDir = dir('teachers-export');
  if (k === 0) {
    if (weight > 0) throw new UsageError(`--teachers must be at least 1 when --cmi-weight is above 0 (got --teachers 0)`);
    if (importDir !== null || exportDir !== null)
      throw new UsageError(`--teachers 0 turns CMI off, which leaves nothing to ${importDir !== null ? 'import' : 'export'}`);
  }
  const on = weight > 0 || (k ?? 0) > 0 || importDir !== null || exportDir !== null;
  if (!on) {
    const ignored = ['cmi-space', 'teacher-epochs', 'cmi-temperature', 'teacher-seed', 'teacher-cache'].filter((f) => get(f) !== undefined);
    return { cmi: null, ignored: ignored.map((f) => `--${f}`) };
  }
  return {
    cmi: {
      weight,
      space: ((get('cmi-space') as string | undefined) ?? CMI_DEFAULTS.space) as CmiArgs['space'],
      teachers: k ?? CMI_DEFAULTS.teachers,
      teachersGiven: k !== undefined,
      teacherEpochs: epochs,
      temperature,
      teacherSeed,
      cache,
      importDir,
      exportDir,
    },
    ignored: [],
  };
}

export function parseDistillArgs(argv: string[]): DistillArgs {
  const v = parseFlags(argv, DISTILL_FLAGS, 'distill');
  if (v.help) return { config: PAPER_CONFIG, classSpec: null, cmi: null, ignoredCmiFlags: [], out: null, verbose: false, help: true };
  const get = (name: string) => readFlag(v, DISTILL_FLAGS.find((s) => s.name === name)!);
  const base = get('preset') === 'quick' ? QUICK_CONFIG : PAPER_CONFIG;
  const c: DistillConfig = structuredClone(base);
  applyCommon(c, get);
  const set = <K extends keyof DistillConfig>(key: K, flag: string) => {
    const x = get(flag);
    if (x !== undefined) c[key] = x as DistillConfig[K];
  };
  set('method', 'method');
  set('ipc', 'ipc');
  set('iterations', 'iterations');
  set('batchReal', 'batch-real');
  set('lrImg', 'lr-img');
  set('momentumImg', 'momentum');
  set('init', 'init');
  set('evalEvery', 'eval-every');
  set('snapshotEvery', 'snapshot-every');
  c.init = c.init as InitKind;
  const classSpec = parseClasses(v.classes as string | undefined);
  if (classSpec && 'indices' in classSpec) c.classes = classSpec.indices;
  assertValidConfig(c);
  const { cmi, ignored } = parseCmiArgs(get);
  const out = (get('out') as string | undefined) ?? null;
  if (out !== null && out.trim() === '') throw new UsageError('--out must not be empty');
  return { config: c, classSpec, cmi, ignoredCmiFlags: ignored, out, verbose: !!v.verbose, help: false };
}

/** Flags shared by distill and eval. */
function applyCommon(c: DistillConfig, get: (name: string) => string | number | boolean | undefined): void {
  const ds = get('dataset');
  if (ds !== undefined) {
    if ((ds as string).trim() === '') throw new UsageError('--dataset must not be empty');
    c.dataset = ds as string;
  }
  const rpc = get('real-per-class');
  if (rpc !== undefined) c.realPerClass = rpc as number;
  if (get('no-dsa')) c.dsa = false;
  const n = (flag: string) => get(flag) as number | undefined;
  c.net.width = n('width') ?? c.net.width;
  c.net.depth = n('depth') ?? c.net.depth;
  c.net.norm = (get('norm') as NormKind | undefined) ?? c.net.norm;
  c.net.pooling = (get('pooling') as PoolKind | undefined) ?? c.net.pooling;
  c.evalModels = n('eval-models') ?? c.evalModels;
  c.evalEpochs = n('eval-epochs') ?? c.evalEpochs;
  c.evalLr = n('eval-lr') ?? c.evalLr;
  c.evalBatch = n('eval-batch') ?? c.evalBatch;
  c.backend = (get('backend') as BackendName | undefined) ?? c.backend;
  c.seed = n('seed') ?? c.seed;
}

export interface EvalArgs {
  synthetic: string;
  /** Evaluation settings; dataset/classes only when given on the command line. */
  config: DistillConfig;
  datasetGiven: boolean;
  classSpec: ClassSpec;
  given: Set<string>;
  out: string | null;
  verbose: boolean;
  help: boolean;
}

export function parseEvalArgs(argv: string[]): EvalArgs {
  const v = parseFlags(argv, EVAL_FLAGS, 'eval');
  const empty = { synthetic: '', config: PAPER_CONFIG, datasetGiven: false, classSpec: null, given: new Set<string>(), out: null, verbose: false };
  if (v.help) return { ...empty, help: true };
  const get = (name: string) => {
    const spec = EVAL_FLAGS.find((s) => s.name === name);
    return spec ? readFlag(v, spec) : undefined;
  };
  const synthetic = get('synthetic') as string | undefined;
  if (!synthetic || synthetic.trim() === '') throw new UsageError('eval needs --synthetic FILE.zip (see distillery eval --help)');
  const c: DistillConfig = structuredClone(get('preset') === 'quick' ? QUICK_CONFIG : PAPER_CONFIG);
  applyCommon(c, get);
  const classSpec = parseClasses(v.classes as string | undefined);
  if (classSpec && 'indices' in classSpec) c.classes = classSpec.indices;
  assertValidConfig(c);
  const out = (get('out') as string | undefined) ?? null;
  const given = new Set(Object.keys(v).filter((k) => v[k] !== undefined));
  return { synthetic, config: c, datasetGiven: v.dataset !== undefined, classSpec, given, out, verbose: !!v.verbose, help: false };
}

/** Help text listing every flag with its meaning and its defaults (paper / quick). */
export function flagHelp(specs: FlagSpec[]): string {
  const rows = specs.map((s) => {
    const left =
      `--${s.name}` + (s.kind === 'boolean' ? '' : ` ${s.kind === 'choice' ? s.choices!.join('|') : (s.value ?? 'VALUE')}`);
    let def = '';
    if (s.show) {
      const p = s.show(PAPER_CONFIG);
      const q = s.show(QUICK_CONFIG);
      def = p === q ? ` [default: ${p}]` : ` [default: ${p}; quick: ${q}]`;
    }
    return { left, right: s.help + def };
  });
  const w = Math.min(34, Math.max(...rows.map((r) => r.left.length)) + 2);
  const text = Math.max(40, 100 - 2 - w);
  return rows
    .map((r) => {
      const lines = wrap(r.right, text);
      const first = r.left.length + 2 > w ? `  ${r.left}\n  ${' '.repeat(w)}${lines[0]}` : `  ${r.left.padEnd(w)}${lines[0]}`;
      return [first, ...lines.slice(1).map((l) => `  ${' '.repeat(w)}${l}`)].join('\n');
    })
    .join('\n');
}

/** Greedy word wrap. */
function wrap(s: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of s.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return lines;
}
