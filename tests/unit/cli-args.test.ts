/**
 * The flag parser in-process (fast): presets, overrides, the one-line usage
 * errors, --help covering every flag, and the progress line.
 */
import { describe, expect, it } from 'vitest';
import { CMI_DEFAULTS, DISTILL_FLAGS, EVAL_FLAGS, flagHelp, parseClasses, parseDistillArgs, parseEvalArgs } from '../../src/cli/args';
import { UsageError } from '../../src/cli/errors';
import { Progress, formatDuration, iterationLine } from '../../src/cli/progress';
import { PAPER_CONFIG, QUICK_CONFIG } from '../../src/engine/config';

describe('distill flags', () => {
  it('defaults to the paper protocol; --preset quick to the quick one', () => {
    expect(parseDistillArgs([]).config).toEqual(PAPER_CONFIG);
    expect(parseDistillArgs(['--preset', 'quick']).config).toEqual(QUICK_CONFIG);
  });

  it('maps every flag onto the config', () => {
    const { config: c, out, verbose } = parseDistillArgs(
      ('--dataset builtin --classes 3,1 --real-per-class 20 --method dm --ipc 2 --iterations 7 --batch-real 4 ' +
        '--lr-img 0.5 --momentum 0.25 --init noise --no-dsa --width 8 --depth 2 --norm none --pooling max ' +
        '--eval-every 3 --eval-models 1 --eval-epochs 2 --eval-lr 0.02 --eval-batch 16 --snapshot-every 5 ' +
        '--backend cpu --seed 9 --out /tmp/x --verbose').split(' '),
    );
    expect(c).toEqual({
      ...PAPER_CONFIG,
      classes: [3, 1],
      realPerClass: 20,
      ipc: 2,
      iterations: 7,
      batchReal: 4,
      lrImg: 0.5,
      momentumImg: 0.25,
      init: 'noise',
      dsa: false,
      net: { width: 8, depth: 2, norm: 'none', pooling: 'max' },
      evalEvery: 3,
      evalModels: 1,
      evalEpochs: 2,
      evalLr: 0.02,
      evalBatch: 16,
      snapshotEvery: 5,
      backend: 'cpu',
      seed: 9,
    });
    expect(out).toBe('/tmp/x');
    expect(verbose).toBe(true);
  });

  it('does not mutate the preset objects', () => {
    parseDistillArgs(['--width', '8']);
    expect(PAPER_CONFIG.net.width).toBe(128);
  });

  const bad: [string[], RegExp][] = [
    [['--ipc', '-3'], /^--ipc must be an integer ≥ 1 \(got -3\)$/],
    [['--ipc', '0'], /^--ipc must be an integer ≥ 1 \(got 0\)$/],
    [['--ipc', '1.5'], /^--ipc must be an integer ≥ 1 \(got 1.5\)$/],
    [['--ipc', 'abc'], /^--ipc must be an integer \(got 'abc'\)$/],
    [['--lr-img', 'NaN'], /^--lr-img must be a number \(got 'NaN'\)$/],
    [['--lr-img', '-1'], /^--lr-img must be a positive number \(got -1\)$/],
    [['--depth', '9'], /^--depth must be at most 6 \(got 9\)$/],
    [['--seed', '-1'], /^--seed must be a non-negative integer/],
    [['--foo'], /^unknown option --foo \(see distillery distill --help\)$/],
    [['--ipc'], /^--ipc needs a value$/],
    [['--no-dsa=yes'], /^--no-dsa takes no value$/],
    [['--backend', 'tpu'], /^--backend must be one of auto, webgpu, wasm, cpu \(got 'tpu'\)$/],
    [['--init', 'zeros'], /^--init must be one of real, noise/],
    [['--classes', '0,0'], /classes must not repeat/],
    [['--classes', '0,,1'], /comma-separated/],
    [['--classes', '-1'], /class index -1 is not valid/],
    [['stray'], /^unexpected argument 'stray'/],
    [['--dataset', ''], /--dataset must not be empty/],
  ];
  it.each(bad)('%j → one-line UsageError', (argv, message) => {
    let err: unknown;
    try {
      parseDistillArgs(argv);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toContain('\n');
  });

  it('--classes takes indices or names', () => {
    expect(parseClasses('0, 2')).toEqual({ indices: [0, 2] });
    expect(parseClasses('cat,dog')).toEqual({ names: ['cat', 'dog'] });
    expect(parseClasses(undefined)).toBeNull();
  });
});

describe('CMI flags', () => {
  const cmiOf = (line: string) => parseDistillArgs(line === '' ? [] : line.split(' '));

  it('no λ and no teachers: no CMI at all', () => {
    expect(cmiOf('').cmi).toBeNull();
    expect(cmiOf('--cmi-weight 0').cmi).toBeNull();
    expect(cmiOf('--teachers 0').cmi).toBeNull();
    // flags that only matter with CMI are reported as ignored
    expect(cmiOf('--cmi-space logit --teacher-epochs 3').ignoredCmiFlags).toEqual(['--cmi-space', '--teacher-epochs']);
  });

  it('λ > 0 turns CMI on with the documented defaults', () => {
    expect(cmiOf('--cmi-weight 8000').cmi).toEqual({
      weight: 8000,
      space: 'feature',
      teachers: CMI_DEFAULTS.teachers,
      teachersGiven: false,
      teacherEpochs: CMI_DEFAULTS.teacherEpochs,
      temperature: 1,
      teacherSeed: 0,
      cache: null,
      importDir: null,
      exportDir: null,
    });
    expect(CMI_DEFAULTS).toMatchObject({ teachers: 1, teacherEpochs: 20 });
  });

  it('λ = 0 with teachers (or an import/export) still measures CMI', () => {
    expect(cmiOf('--teachers 2').cmi).toMatchObject({ weight: 0, teachers: 2, teachersGiven: true });
    expect(cmiOf('--teachers-import /t').cmi).toMatchObject({ weight: 0, importDir: '/t', teachersGiven: false });
    expect(cmiOf('--teachers-export /t').cmi).toMatchObject({ weight: 0, exportDir: '/t', teachers: 1 });
  });

  it('reads every CMI flag', () => {
    const c = cmiOf(
      '--cmi-weight 2.5 --cmi-space logit --teachers 3 --teacher-epochs 7 --cmi-temperature 0.5 --teacher-seed 4 --teacher-cache /c',
    ).cmi;
    expect(c).toMatchObject({ weight: 2.5, space: 'logit', teachers: 3, teacherEpochs: 7, temperature: 0.5, teacherSeed: 4, cache: '/c' });
  });

  const bad: [string, RegExp][] = [
    ['--cmi-weight -1', /^--cmi-weight must be a number ≥ 0 \(got -1\)$/],
    ['--cmi-weight Infinity', /^--cmi-weight must be a number \(got 'Infinity'\)$/],
    ['--cmi-space foo', /^--cmi-space must be one of feature, logit \(got 'foo'\)$/],
    ['--cmi-weight 5 --teachers 0', /^--teachers must be at least 1 when --cmi-weight is above 0 \(got --teachers 0\)$/],
    ['--teachers 1.5', /^--teachers must be an integer ≥ 0 \(got 1.5\)$/],
    ['--teachers -2', /^--teachers must be an integer ≥ 0 \(got -2\)$/],
    ['--teacher-epochs 0', /^--teacher-epochs must be an integer ≥ 1 \(got 0\)$/],
    ['--cmi-temperature 0', /^--cmi-temperature must be a positive number \(got 0\)$/],
    ['--teachers 0 --teachers-import /t', /^--teachers 0 turns CMI off, which leaves nothing to import$/],
  ];
  it.each(bad)('%s → one-line UsageError', (line, message) => {
    expect(() => cmiOf(line)).toThrow(UsageError);
    expect(() => cmiOf(line)).toThrow(message);
  });
});

describe('eval flags', () => {
  it('requires --synthetic', () => {
    expect(() => parseEvalArgs([])).toThrow(/needs --synthetic/);
  });
  it('reads evaluation settings and remembers which were given', () => {
    const a = parseEvalArgs(['--synthetic', 'x.zip', '--eval-models', '2', '--width', '16', '--backend', 'cpu']);
    expect(a.synthetic).toBe('x.zip');
    expect(a.config.evalModels).toBe(2);
    expect(a.config.net.width).toBe(16);
    expect(a.datasetGiven).toBe(false);
    expect(a.given.has('width')).toBe(true);
    expect(a.given.has('depth')).toBe(false);
  });
});

describe('help', () => {
  it('lists every flag with a meaning, and defaults of both presets where they differ', () => {
    const text = flagHelp(DISTILL_FLAGS);
    for (const f of DISTILL_FLAGS) expect(text).toContain(`--${f.name}`);
    expect(text).toMatch(/--ipc N\s+synthetic images per class \[default: 10; quick: 1\]/);
    expect(text).toMatch(/--iterations N\s+distillation iterations \[default: 20000; quick: 200\]/);
    const evalText = flagHelp(EVAL_FLAGS);
    for (const f of EVAL_FLAGS) expect(evalText).toContain(`--${f.name}`);
  });
});

describe('progress', () => {
  it('rewrites one line on a TTY and prints plain lines, throttled, otherwise', () => {
    let t = 0;
    const out: string[] = [];
    const tty = new Progress({ tty: true, write: (s) => out.push(s), now: () => t });
    tty.update('a');
    t = 50;
    tty.update('b'); // throttled
    t = 200;
    tty.update('c');
    tty.log('done');
    expect(out).toEqual(['\ra\x1b[K', '\rc\x1b[K', '\r\x1b[K', 'done\n']);

    const plain: string[] = [];
    t = 0;
    const p = new Progress({ tty: false, plainIntervalMs: 1000, write: (s) => plain.push(s), now: () => t });
    p.update('x');
    t = 500;
    p.update('y');
    p.update('z', true);
    expect(plain).toEqual(['x\n', 'z\n']);
  });

  it('formats iteration, losses, rate and ETA', () => {
    expect(iterationLine(10, 110, { dm: 1.23456 }, 2)).toBe('iteration 10/110  dm 1.235  2.0 it/s  ETA 50s');
    expect(iterationLine(1, 3, { dm: 0.5 }, 0.25)).toBe('iteration 1/3  dm 0.5000  4.0 s/it  ETA 8s');
    expect(formatDuration(3_725_000)).toBe('1h02m');
  });
});
