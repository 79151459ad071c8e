/**
 * What the controls edit: the engine's DistillConfig plus the CMI settings the
 * worker needs beside it (λ, space, teachers). Pure (no DOM, no React): the
 * presets, per-field validation with messages, and the URL query round trip
 * (a link reproduces the setup).
 */
import { PAPER_CONFIG, QUICK_CONFIG, validateConfig, type BackendName, type DistillConfig, type InitKind } from '../engine/config';

export type CmiSpace = 'feature' | 'logit';

export interface CmiSettings {
  /** λ: weight of the CMI term (0 = measured only, when teachers > 0). */
  weight: number;
  space: CmiSpace;
  /** K teachers in the pool (0 = no CMI at all; λ > 0 needs ≥ 1). */
  teachers: number;
  teacherEpochs: number;
}

export interface Settings {
  config: DistillConfig;
  cmi: CmiSettings;
}

/** Quick: fits a laptop in minutes (1 teacher × 5 epochs, small net, 200 iterations). */
export const QUICK_SETTINGS: Settings = {
  config: { ...QUICK_CONFIG, net: { ...QUICK_CONFIG.net }, classes: null, realPerClass: 100 },
  cmi: { weight: 8000, space: 'feature', teachers: 1, teacherEpochs: 5 },
};

/** Paper: ../shared/design/protocol.md (DM, ConvNet-3 width 128, 20 000 iterations; λ = 8000 as DM CIFAR-10 IPC 10). */
export const PAPER_SETTINGS: Settings = {
  config: { ...PAPER_CONFIG, net: { ...PAPER_CONFIG.net } },
  cmi: { weight: 8000, space: 'feature', teachers: 1, teacherEpochs: 40 },
};

export const DEFAULT_SETTINGS = QUICK_SETTINGS;

export function cloneSettings(s: Settings): Settings {
  return {
    config: { ...s.config, net: { ...s.config.net }, classes: s.config.classes ? [...s.config.classes] : null },
    cmi: { ...s.cmi },
  };
}

/** One key per control (also the URL query key). */
export type FieldKey =
  | 'dataset'
  | 'classes'
  | 'realPerClass'
  | 'method'
  | 'ipc'
  | 'iterations'
  | 'lrImg'
  | 'batchReal'
  | 'init'
  | 'dsa'
  | 'lambda'
  | 'space'
  | 'teachers'
  | 'teacherEpochs'
  | 'evalEvery'
  | 'evalModels'
  | 'evalEpochs'
  | 'width'
  | 'depth'
  | 'seed'
  | 'snapshotEvery'
  | 'backend';

export const BACKENDS: BackendName[] = ['auto', 'webgpu', 'webgl', 'wasm', 'cpu'];
const INITS: InitKind[] = ['real', 'noise'];

// Sane upper bounds: beyond them a browser tab would run out of memory or time ("absurd values").
const LIMITS: Partial<Record<FieldKey, number>> = {
  ipc: 500,
  iterations: 1_000_000,
  batchReal: 4096,
  width: 1024,
  teachers: 20,
  teacherEpochs: 1000,
  evalModels: 50,
  evalEpochs: 5000,
  realPerClass: 1_000_000,
  lrImg: 1e4,
  lambda: 1e7,
};

/** validateConfig's names → fields. */
const ENGINE_NAMES: [RegExp, FieldKey][] = [
  [/^ipc /, 'ipc'],
  [/^iterations /, 'iterations'],
  [/^batch-real /, 'batchReal'],
  [/^lr-img /, 'lrImg'],
  [/^width /, 'width'],
  [/^depth /, 'depth'],
  [/^eval-every /, 'evalEvery'],
  [/^eval-models /, 'evalModels'],
  [/^eval-epochs /, 'evalEpochs'],
  [/^seed /, 'seed'],
  [/^snapshot-every /, 'snapshotEvery'],
  [/^real-per-class /, 'realPerClass'],
  [/class/, 'classes'],
];

/** Problems by field (empty object = valid). Uses the engine's validateConfig plus the UI's own bounds. */
export function fieldErrors(s: Settings): Partial<Record<FieldKey, string>> {
  const out: Partial<Record<FieldKey, string>> = {};
  const add = (k: FieldKey, m: string) => {
    if (!out[k]) out[k] = m;
  };
  for (const p of validateConfig(s.config)) {
    const hit = ENGINE_NAMES.find(([re]) => re.test(p));
    add(hit ? hit[1] : 'dataset', p);
  }
  const c = s.config;
  const num: [FieldKey, number][] = [
    ['ipc', c.ipc],
    ['iterations', c.iterations],
    ['batchReal', c.batchReal],
    ['width', c.net.width],
    ['evalModels', c.evalModels],
    ['evalEpochs', c.evalEpochs],
    ['lrImg', c.lrImg],
    ['teachers', s.cmi.teachers],
    ['teacherEpochs', s.cmi.teacherEpochs],
    ['lambda', s.cmi.weight],
  ];
  if (c.realPerClass !== null) num.push(['realPerClass', c.realPerClass]);
  for (const [k, v] of num) {
    const max = LIMITS[k];
    if (max !== undefined && v > max) add(k, `at most ${max} in the browser (got ${v})`);
  }
  if (!c.dataset) add('dataset', 'choose a dataset');
  if (c.method !== 'dm') add('method', `only 'dm' is available (got '${c.method}')`);
  if (!INITS.includes(c.init)) add('init', `must be 'real' or 'noise' (got '${c.init}')`);
  if (!BACKENDS.includes(c.backend)) add('backend', `must be one of ${BACKENDS.join(', ')} (got '${c.backend}')`);
  const w = s.cmi.weight;
  if (!(Number.isFinite(w) && w >= 0)) add('lambda', `λ must be a number ≥ 0 (got ${w})`);
  if (s.cmi.space !== 'feature' && s.cmi.space !== 'logit') add('space', `must be 'feature' or 'logit' (got '${s.cmi.space}')`);
  if (!Number.isInteger(s.cmi.teachers) || s.cmi.teachers < 0) add('teachers', `must be an integer ≥ 0 (got ${s.cmi.teachers})`);
  else if (w > 0 && s.cmi.teachers === 0) add('teachers', 'λ > 0 needs at least 1 teacher');
  if (!Number.isInteger(s.cmi.teacherEpochs) || s.cmi.teacherEpochs < 1)
    add('teacherEpochs', `must be an integer ≥ 1 (got ${s.cmi.teacherEpochs})`);
  return out;
}

// ---- URL query ----

type Codec = {
  get(s: Settings): string;
  /** Writes the parsed value into s; throws an Error with a message when the text is not a value. */
  set(s: Settings, text: string): void;
};

function parseNumber(text: string): number {
  if (text.trim() === '') throw new Error('empty');
  const v = Number(text);
  if (Number.isNaN(v)) throw new Error(`'${text}' is not a number`);
  return v;
}

const intField = (get: (s: Settings) => number, put: (s: Settings, v: number) => void): Codec => ({
  get: (s) => String(get(s)),
  set: (s, t) => put(s, parseNumber(t)),
});

export const CODECS: Record<FieldKey, Codec> = {
  dataset: { get: (s) => s.config.dataset, set: (s, t) => void (s.config.dataset = t) },
  classes: {
    get: (s) => (s.config.classes ? s.config.classes.join(',') : 'all'),
    set: (s, t) => {
      if (t === 'all') s.config.classes = null;
      else if (t === '') s.config.classes = [];
      else s.config.classes = t.split(',').map(parseNumber);
    },
  },
  realPerClass: {
    get: (s) => (s.config.realPerClass === null ? 'all' : String(s.config.realPerClass)),
    set: (s, t) => void (s.config.realPerClass = t === 'all' ? null : parseNumber(t)),
  },
  method: { get: (s) => s.config.method, set: (s, t) => void (s.config.method = t) },
  ipc: intField((s) => s.config.ipc, (s, v) => (s.config.ipc = v)),
  iterations: intField((s) => s.config.iterations, (s, v) => (s.config.iterations = v)),
  lrImg: intField((s) => s.config.lrImg, (s, v) => (s.config.lrImg = v)),
  batchReal: intField((s) => s.config.batchReal, (s, v) => (s.config.batchReal = v)),
  init: { get: (s) => s.config.init, set: (s, t) => void (s.config.init = t as InitKind) },
  dsa: {
    get: (s) => (s.config.dsa ? '1' : '0'),
    set: (s, t) => {
      if (t !== '1' && t !== '0') throw new Error(`'${t}' is not 0 or 1`);
      s.config.dsa = t === '1';
    },
  },
  lambda: intField((s) => s.cmi.weight, (s, v) => (s.cmi.weight = v)),
  space: { get: (s) => s.cmi.space, set: (s, t) => void (s.cmi.space = t as CmiSpace) },
  teachers: intField((s) => s.cmi.teachers, (s, v) => (s.cmi.teachers = v)),
  teacherEpochs: intField((s) => s.cmi.teacherEpochs, (s, v) => (s.cmi.teacherEpochs = v)),
  evalEvery: intField((s) => s.config.evalEvery, (s, v) => (s.config.evalEvery = v)),
  evalModels: intField((s) => s.config.evalModels, (s, v) => (s.config.evalModels = v)),
  evalEpochs: intField((s) => s.config.evalEpochs, (s, v) => (s.config.evalEpochs = v)),
  width: intField((s) => s.config.net.width, (s, v) => (s.config.net.width = v)),
  depth: intField((s) => s.config.net.depth, (s, v) => (s.config.net.depth = v)),
  seed: intField((s) => s.config.seed, (s, v) => (s.config.seed = v)),
  snapshotEvery: intField((s) => s.config.snapshotEvery, (s, v) => (s.config.snapshotEvery = v)),
  backend: { get: (s) => s.config.backend, set: (s, t) => void (s.config.backend = t as BackendName) },
};

export const FIELD_KEYS = Object.keys(CODECS) as FieldKey[];

/** The query string (without '?') of the fields that differ from `base`. */
export function settingsToQuery(s: Settings, base: Settings = DEFAULT_SETTINGS): string {
  const q = new URLSearchParams();
  for (const k of FIELD_KEYS) {
    const v = CODECS[k].get(s);
    if (v !== CODECS[k].get(base)) q.set(k, v);
  }
  return q.toString();
}

/**
 * Settings from a query: `base` overridden by each known key. A value that
 * does not parse, or makes its field invalid, is refused (the field keeps the
 * base value) and reported as "key: message".
 */
export function settingsFromQuery(query: string, base: Settings = DEFAULT_SETTINGS): { settings: Settings; errors: string[] } {
  const q = new URLSearchParams(query.startsWith('?') ? query.slice(1) : query);
  const s = cloneSettings(base);
  const errors: string[] = [];
  for (const [key, text] of q) {
    if (!(FIELD_KEYS as string[]).includes(key)) {
      errors.push(`${key}: unknown setting, ignored`);
      continue;
    }
    const k = key as FieldKey;
    const trial = cloneSettings(s);
    try {
      CODECS[k].set(trial, text);
    } catch (err) {
      errors.push(`${k}: ${(err as Error).message}`);
      continue;
    }
    const problem = fieldErrors(trial)[k];
    // cross-field checks (λ needs a teacher) are judged once everything is read
    if (problem && !(k === 'teachers' && /needs at least 1 teacher/.test(problem))) {
      errors.push(`${k}: ${problem}`);
      continue;
    }
    Object.assign(s, trial);
  }
  const rest = fieldErrors(s);
  if (rest.teachers) {
    errors.push(`teachers: ${rest.teachers} (set to 1)`);
    s.cmi.teachers = 1;
  }
  return { settings: s, errors };
}
