/**
 * The playground's settings: the URL round trip (settings → query → settings
 * is the identity), refusal of invalid values with a message per field, the
 * store's validation, the λ log-slider mapping and the export file name.
 */
import { describe, expect, it } from 'vitest';
import { LAMBDA_STEPS, lambdaFromPosition, positionFromLambda } from '../../src/ui/lambdaScale';
import { DEFAULT_SETTINGS, PAPER_SETTINGS, QUICK_SETTINGS, cloneSettings, fieldErrors, settingsFromQuery, settingsToQuery } from '../../src/ui/settings';
import { editSettings, useApp } from '../../src/ui/store';
import { estimateRun } from '../../src/ui/estimate';
import { exportFileName } from '../../src/ui/session';

describe('URL query', () => {
  it('the defaults make an empty query', () => {
    expect(settingsToQuery(DEFAULT_SETTINGS)).toBe('');
    expect(settingsFromQuery('').settings).toEqual(DEFAULT_SETTINGS);
  });

  it('round-trips every field (config → query → config equal)', () => {
    const s = cloneSettings(DEFAULT_SETTINGS);
    s.config.dataset = 'cifar10';
    s.config.classes = [0, 3, 7];
    s.config.realPerClass = null;
    s.config.ipc = 10;
    s.config.iterations = 1234;
    s.config.lrImg = 0.25;
    s.config.batchReal = 64;
    s.config.init = 'noise';
    s.config.dsa = false;
    s.config.evalEvery = 50;
    s.config.evalModels = 3;
    s.config.evalEpochs = 7;
    s.config.net.width = 16;
    s.config.net.depth = 2;
    s.config.seed = 42;
    s.config.backend = 'wasm';
    s.cmi = { weight: 0.5, space: 'logit', teachers: 3, teacherEpochs: 2 };
    const q = settingsToQuery(s);
    const back = settingsFromQuery(`?${q}`);
    expect(back.errors).toEqual([]);
    expect(back.settings).toEqual(s);
    // and the paper preset, all of whose fields differ from quick in places
    expect(settingsFromQuery(settingsToQuery(PAPER_SETTINGS)).settings).toEqual(PAPER_SETTINGS);
  });

  it('refuses invalid values with a message and keeps the default for them', () => {
    const { settings, errors } = settingsFromQuery('ipc=0&width=abc&lambda=-5&depth=9&seed=1.5&dsa=maybe&iterations=30&bogus=1&backend=tpu');
    expect(settings.config.ipc).toBe(DEFAULT_SETTINGS.config.ipc);
    expect(settings.config.net.width).toBe(DEFAULT_SETTINGS.config.net.width);
    expect(settings.cmi.weight).toBe(DEFAULT_SETTINGS.cmi.weight);
    expect(settings.config.net.depth).toBe(DEFAULT_SETTINGS.config.net.depth);
    expect(settings.config.seed).toBe(DEFAULT_SETTINGS.config.seed);
    expect(settings.config.dsa).toBe(DEFAULT_SETTINGS.config.dsa);
    expect(settings.config.backend).toBe(DEFAULT_SETTINGS.config.backend);
    expect(settings.config.iterations).toBe(30); // the valid one is taken
    const byKey = Object.fromEntries(errors.map((e) => [e.split(':')[0], e]));
    expect(Object.keys(byKey).sort()).toEqual(['backend', 'bogus', 'depth', 'dsa', 'ipc', 'lambda', 'seed', 'width'].sort());
    expect(byKey.ipc).toMatch(/ipc must be an integer ≥ 1 \(got 0\)/);
    expect(byKey.width).toMatch(/'abc' is not a number/);
    expect(byKey.lambda).toMatch(/≥ 0/);
    expect(byKey.depth).toMatch(/at most 6/);
  });

  it('λ > 0 with 0 teachers gets one teacher (reported)', () => {
    const { settings, errors } = settingsFromQuery('teachers=0&lambda=100');
    expect(settings.cmi.teachers).toBe(1);
    expect(errors.join()).toMatch(/needs at least 1 teacher/);
    expect(settingsFromQuery('teachers=0&lambda=0').settings.cmi.teachers).toBe(0);
  });
});

describe('field validation', () => {
  it('maps each problem to its field', () => {
    const s = cloneSettings(QUICK_SETTINGS);
    s.config.ipc = 1.5;
    s.config.classes = [];
    s.config.net.width = 100000;
    s.config.lrImg = 0;
    s.cmi.teacherEpochs = 0;
    const e = fieldErrors(s);
    expect(Object.keys(e).sort()).toEqual(['classes', 'ipc', 'lrImg', 'teacherEpochs', 'width'].sort());
    expect(e.width).toMatch(/at most 1024/);
    expect(e.classes).toMatch(/at least one class/);
    expect(fieldErrors(QUICK_SETTINGS)).toEqual({});
    expect(fieldErrors(PAPER_SETTINGS)).toEqual({});
  });

  it('the store re-validates on every edit', () => {
    editSettings((s) => void (s.config.iterations = -1));
    expect(useApp.getState().errors.iterations).toMatch(/iterations must be an integer ≥ 0/);
    editSettings((s) => void (s.config.iterations = 10));
    expect(useApp.getState().errors).toEqual({});
    expect(useApp.getState().settings.config.iterations).toBe(10);
  });
});

describe('λ log slider', () => {
  it('position 0 is λ = 0; the ends are 10^-1 and 10^5', () => {
    expect(lambdaFromPosition(0)).toBe(0);
    expect(lambdaFromPosition(1)).toBe(0.1);
    expect(lambdaFromPosition(LAMBDA_STEPS)).toBe(100000);
    expect(positionFromLambda(0)).toBe(0);
    expect(positionFromLambda(0.1)).toBe(1);
    expect(positionFromLambda(1e5)).toBe(LAMBDA_STEPS);
    expect(positionFromLambda(1e9)).toBe(LAMBDA_STEPS);
    expect(positionFromLambda(1e-9)).toBe(1);
  });

  it('is logarithmic, monotone, and position → λ → position is the identity', () => {
    // each position multiplies λ by 10^(6/(STEPS−1))
    const ratio = Math.pow(10, 6 / (LAMBDA_STEPS - 1));
    for (let p = 1; p <= LAMBDA_STEPS; p++) {
      const v = lambdaFromPosition(p);
      expect(positionFromLambda(v)).toBe(p);
      if (p > 1) {
        expect(v).toBeGreaterThan(lambdaFromPosition(p - 1));
        expect(v / lambdaFromPosition(p - 1)).toBeCloseTo(ratio, 1);
      }
    }
    // 8000 (the paper's DM CIFAR-10 λ) lands within one step of itself
    expect(Math.abs(lambdaFromPosition(positionFromLambda(8000)) / 8000 - 1)).toBeLessThan(ratio - 1);
  });
});

describe('estimate and file name', () => {
  it('FLOPs per iteration = 3 × forward × images (+ the teacher on the synthetic set)', () => {
    const s = cloneSettings(QUICK_SETTINGS);
    s.config.classes = [0, 1];
    s.config.batchReal = 10;
    s.config.ipc = 2;
    s.cmi = { ...s.cmi, weight: 0, teachers: 0 };
    expect(estimateRun(s, 1000, 10).flopsPerIteration).toBe(3 * 1000 * 2 * 12);
    s.cmi = { ...s.cmi, weight: 5, teachers: 1 };
    expect(estimateRun(s, 1000, 10).flopsPerIteration).toBe(3 * 1000 * 2 * 12 + 3 * 1000 * 2 * 2);
    s.config.classes = null; // all 10 classes
    expect(estimateRun(s, 1000, 10).imagesPerIteration).toBe(10 * 12);
  });

  it('names the zip after dataset, method, IPC, λ and date', () => {
    const s = cloneSettings(QUICK_SETTINGS);
    s.config.ipc = 2;
    s.cmi.weight = 8000;
    expect(exportFileName(s, new Date('2026-11-21T10:00:00Z'))).toBe('distillery_builtin_dm_ipc2_lambda8000_2026-11-21.zip');
    s.config.dataset = 'file:my data.tar.gz';
    expect(exportFileName(s, new Date('2026-11-21T10:00:00Z'))).toBe('distillery_my-data_dm_ipc2_lambda8000_2026-11-21.zip');
  });
});
