/**
 * The CLI end to end, as a user runs it (child processes): `datasets`, a tiny
 * `distill` on the builtin data (files and their documented keys), `eval` of
 * its zip (reproducing the run's own final accuracy), and Ctrl-C during a run.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode as decodePng } from 'fast-png';
import { afterAll, describe, expect, it } from 'vitest';
import { denormalizeToPixels, importSyntheticZip } from '../../src/engine/export/zip';
import { runCli, startCli } from './cli-spawn';

const tmp = mkdtempSync(join(tmpdir(), 'distillery-cli-e2e-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const TINY = ['--dataset', 'builtin', '--classes', '0,1', '--ipc', '1', '--width', '8', '--depth', '2', '--batch-real', '4',
  '--real-per-class', '20', '--backend', 'cpu'];

describe('distillery datasets', () => {
  it('lists the builtin dataset and the catalog, and how to pass a path', async () => {
    const r = await runCli(['datasets'], { DISTILLERY_CACHE: join(tmp, 'cache') });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^builtin\s+Built-in .*\s10\s+32×32×3\s+5000\/1000\s.*generated$/m);
    expect(r.stdout).toMatch(/^cifar10\s+CIFAR-10\s+10\s+32×32×3\s+50000\/10000\s.*not downloaded$/m);
    expect(r.stdout).toMatch(/^mnist\s+MNIST\s+10\s+28×28×1/m);
    expect(r.stdout).toContain('--dataset PATH');
    const j = await runCli(['datasets', '--json'], { DISTILLERY_CACHE: join(tmp, 'cache') });
    const parsed = JSON.parse(j.stdout) as { cache: string; datasets: { id: string; state: string }[] };
    expect(parsed.cache).toBe(join(tmp, 'cache'));
    expect(parsed.datasets.find((d) => d.id === 'builtin')?.state).toBe('generated');
  });
});

describe('distillery distill + eval', () => {
  const out = join(tmp, 'run');

  it('a tiny run writes metrics.jsonl, summary.json and a synthetic.zip that reads back', async () => {
    const r = await runCli(['distill', ...TINY, '--iterations', '3', '--eval-models', '1', '--eval-epochs', '2', '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^done\s+3 iterations/m);

    const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(3);
    const metrics = lines.map((l) => JSON.parse(l) as { iteration: number; losses: Record<string, number>; ms: number });
    expect(metrics.map((m) => m.iteration)).toEqual([0, 1, 2]);
    for (const m of metrics) {
      expect(Number.isFinite(m.losses.dm) && m.losses.dm >= 0).toBe(true);
      expect(m.ms).toBeGreaterThan(0);
    }

    const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    for (const key of ['state', 'config', 'backend', 'adapter', 'dataset', 'final', 'timings', 'versions']) expect(s).toHaveProperty(key);
    expect(s.state).toBe('done');
    expect(s.config).toMatchObject({ ipc: 1, iterations: 3, batchReal: 4, classes: [0, 1], realPerClass: 20, net: { width: 8, depth: 2 } });
    expect(s.backend.name).toBe('cpu');
    expect(s.final.iteration).toBe(3);
    const acc = s.final.accuracy;
    expect(acc.values).toHaveLength(1);
    expect(acc.mean).toBe(acc.values[0]);
    expect(acc.std).toBe(0);
    expect(acc.mean).toBeGreaterThanOrEqual(0);
    expect(acc.mean).toBeLessThanOrEqual(1);
    expect(s.timings.msPerIteration).toBeGreaterThan(0);
    expect(s.timings.totalMs).toBeGreaterThanOrEqual(s.timings.distillMs + s.timings.evalMs);
    // ms per iteration is the mean of the logged iteration times
    const meanMs = metrics.reduce((a, m) => a + m.ms, 0) / metrics.length;
    expect(s.timings.msPerIteration).toBeCloseTo(meanMs, 0);
    expect(s.versions.distillery).toMatch(/^\d+\.\d+\.\d+/);
    expect(s.versions['tfjs-core']).toMatch(/^4\./);
    expect(s.dataset).toMatchObject({ name: 'builtin-shapes', classIndices: [0, 1], trainPerClass: [20, 20], trainCount: 40, height: 32, width: 32, channels: 3 });

    const set = importSyntheticZip(new Uint8Array(readFileSync(join(out, 'synthetic.zip'))));
    expect(set.labels.length).toBe(2);
    expect(Array.from(set.labels)).toEqual([0, 1]);

    // snapshots at iteration 0 and at the end: a row per class (2 rows of 32 px + a 1-px gap), IPC 1 column
    expect(readdirSync(join(out, 'snapshots')).sort()).toEqual(['iter-000000.png', 'iter-000003.png']);
    const grid = decodePng(readFileSync(join(out, 'snapshots', 'iter-000003.png')));
    expect([grid.width, grid.height, grid.channels]).toEqual([32, 65, 3]);
    expect(Array.from(grid.data.subarray(32 * 32 * 3, 33 * 32 * 3)).every((v) => v === 255)).toBe(true); // the gap row
    // the final snapshot shows the exported images (8-bit rounding may differ by one level)
    const px = denormalizeToPixels(set.images, 3, set.normalization);
    const gridPx = Array.from(grid.data as Uint8Array);
    const rows = [gridPx.slice(0, 32 * 32 * 3), gridPx.slice(33 * 32 * 3)];
    rows.forEach((row, k) => {
      const maxDiff = row.reduce((m, v, i) => Math.max(m, Math.abs(v - px[k * 32 * 32 * 3 + i])), 0);
      expect(maxDiff).toBeLessThanOrEqual(1);
    });
    expect(set.classNames).toEqual(s.dataset.classNames);
    expect([set.height, set.width, set.channels]).toEqual([32, 32, 3]);
    expect(set.meta).toMatchObject({ config: s.config, backend: { name: 'cpu' }, versions: s.versions, iteration: 3 });
    expect((set.meta.metrics as unknown[]).length).toBe(3);
  });

  it('eval --synthetic evaluates the zip and reproduces the run\'s final accuracy (same seed, backend, settings)', async () => {
    const file = join(tmp, 'eval.json');
    const r = await runCli(['eval', '--synthetic', join(out, 'synthetic.zip'), '--backend', 'cpu', '--out', file]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const res = JSON.parse(r.stdout);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(res);
    const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(res.dataset).toMatchObject({ spec: 'builtin', classIndices: [0, 1] });
    expect(res.settings).toMatchObject({ net: { width: 8, depth: 2 }, evalModels: 1, evalEpochs: 2 });
    expect(res.accuracy.values).toEqual(s.final.accuracy.values);
  });

  it('eval refuses a zip whose classes are not the chosen ones', async () => {
    const r = await runCli(['eval', '--synthetic', join(out, 'synthetic.zip'), '--classes', '2,3', '--backend', 'cpu']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/^distillery: error: the synthetic set's classes \(.*\) do not match the dataset's chosen classes/);
  });

  it('refuses to write into a folder that already holds a run', async () => {
    const r = await runCli(['distill', ...TINY, '--iterations', '1', '--eval-models', '0', '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/already holds a run/);
  });

  it('Ctrl-C stops after the current iteration and still writes summary.json and synthetic.zip', async () => {
    const dir = join(tmp, 'interrupted');
    const { child, done } = startCli(['distill', ...TINY, '--iterations', '5000', '--eval-models', '0', '--out', dir]);
    const metricsFile = join(dir, 'metrics.jsonl');
    const t0 = Date.now();
    while (!(existsSync(metricsFile) && readFileSync(metricsFile, 'utf8').split('\n').length > 2)) {
      if (Date.now() - t0 > 60_000) throw new Error('the run logged no iteration within 60 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGINT');
    const r = await done;
    expect(r.code).toBe(130);
    expect(r.stderr).toBe('');
    const s = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
    expect(s.state).toBe('stopped');
    const logged = readFileSync(metricsFile, 'utf8').trim().split('\n').length;
    expect(s.final.iteration).toBe(logged);
    expect(s.final.iteration).toBeLessThan(5000);
    const set = importSyntheticZip(new Uint8Array(readFileSync(join(dir, 'synthetic.zip'))));
    expect(set.labels.length).toBe(2);
    expect(set.meta.iteration).toBe(logged);
  });
});
