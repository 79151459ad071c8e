/**
 * CMI in `distillery distill`, end to end (child processes, tiny settings):
 * the cmi fields of metrics.jsonl and summary.json, the teacher cache (a
 * second identical run loads instead of training, and computes the same
 * values), λ = 0 still reporting CMI, and a teacher pool exported and
 * imported back.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './cli-spawn';

const tmp = mkdtempSync(join(tmpdir(), 'distillery-cli-cmi-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const cache = join(tmp, 'cache');
// IPC 2: with one image per class CMI is 0 by definition
const TINY = ['distill', '--dataset', 'builtin', '--classes', '0,1', '--ipc', '2', '--width', '8', '--depth', '2', '--batch-real', '4',
  '--real-per-class', '10', '--backend', 'cpu', '--iterations', '2', '--eval-models', '0', '--teacher-epochs', '1', '--teacher-cache', cache];

interface Line {
  iteration: number;
  losses: Record<string, number>;
  cmi: number;
  cmi_real: number;
  cmi_per_class: number[];
  ms: number;
}
const lines = (dir: string): Line[] =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Line);
const summary = (dir: string) => JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));

describe('distill with CMI', () => {
  const first = join(tmp, 'first');

  it('λ > 0: trains a teacher, caches it, and writes cmi into metrics.jsonl and summary.json', async () => {
    const r = await runCli([...TINY, '--cmi-weight', '10', '--teachers', '1', '--out', first]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^cmi\s+λ 10, feature space, T 1, 1 teacher × 1 epoch/m);
    expect(r.stdout).toMatch(/^teachers\s+training 1 teacher × 1 epoch on 20 real images/m);
    expect(r.stdout).toMatch(new RegExp(`^teachers\\s+trained 1 teacher in .*, cached in ${cache}/teachers-`, 'm'));

    const ls = lines(first);
    expect(ls.map((l) => l.iteration)).toEqual([0, 1]);
    for (const l of ls) {
      expect(l.cmi).toBeGreaterThan(0);
      // CMI ≤ log(n_c) (2 images per class): a bound from the definition, not from the code
      expect(l.cmi).toBeLessThanOrEqual(Math.log(2) + 1e-6);
      expect(l.cmi_per_class).toHaveLength(2);
      // equal class sizes: CMI = (1/N) Σ KL = mean of the per-class means
      expect(l.cmi).toBeCloseTo((l.cmi_per_class[0] + l.cmi_per_class[1]) / 2, 6);
      expect(l.cmi_real).toBeGreaterThanOrEqual(0);
      // losses.cmi = λ · CMI
      expect(l.losses.cmi / 10).toBeCloseTo(l.cmi, 5);
      expect(l.losses.dm).toBeGreaterThan(0);
    }

    const s = summary(first);
    expect(s.cmi).toEqual({ weight: 10, space: 'feature', teachers: 1, teacherEpochs: 1, temperature: 1, teacherSeed: 0 });
    expect(s.teachers).toHaveLength(1);
    expect(s.teachers[0].epochs).toBe(1);
    expect(s.teachers[0].testAccuracy).toBeGreaterThanOrEqual(0);
    expect(s.teachers[0].testAccuracy).toBeLessThanOrEqual(1);
    expect(Number.isInteger(s.teachers[0].seed)).toBe(true);
    expect(r.stdout).toContain(`test accuracy ${(100 * s.teachers[0].testAccuracy).toFixed(2)}%`);
    expect(s.teachersFromCache).toBe(false);
    expect(s.teacherCache.startsWith(join(cache, 'teachers-'))).toBe(true);
    expect(existsSync(join(s.teacherCache, 'pool.json'))).toBe(true);
    expect(existsSync(join(s.teacherCache, 'teacher-0', 'weights.bin'))).toBe(true);
    expect(s.final.cmi).toBe(ls[1].cmi);
    expect(s.final.cmi_real).toBe(ls[1].cmi_real);
  });

  it('a second identical run loads the teacher from the cache: faster, and the same CMI values', async () => {
    const second = join(tmp, 'second');
    const r = await runCli([...TINY, '--cmi-weight', '10', '--teachers', '1', '--out', second]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^teachers\\s+loaded 1 from cache ${cache}/teachers-\\S+ \\(test accuracy [\\d.]+%\\)$`, 'm'));
    expect(r.stdout).not.toMatch(/^teachers\s+training/m);
    const a = summary(first);
    const b = summary(second);
    expect(b.teachersFromCache).toBe(true);
    expect(b.teacherCache).toBe(a.teacherCache);
    expect(b.teachers).toEqual(a.teachers);
    expect(b.teachersMs).toBeLessThan(a.teachersMs);
    // the cached teacher is the trained one, bit for bit: same run, same numbers
    expect(lines(second).map((l) => [l.cmi, l.cmi_real, l.losses.dm])).toEqual(lines(first).map((l) => [l.cmi, l.cmi_real, l.losses.dm]));
  });

  it('λ = 0 with --teachers 1 reports CMI every iteration and adds nothing to the loss', async () => {
    const zero = join(tmp, 'zero');
    const exported = join(tmp, 'exported');
    const r = await runCli([...TINY, '--teachers', '1', '--out', zero, '--teachers-export', exported]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^cmi\s+λ 0 \(metric only: no gradient\)/m);
    expect(r.stdout).toMatch(/^teachers\s+loaded 1 from cache/m);
    const ls = lines(zero);
    expect(ls).toHaveLength(2);
    for (const l of ls) {
      expect(l.losses.cmi).toBe(0);
      expect(l.cmi).toBeGreaterThan(0);
    }
    // before the first update the set is the same as in the λ = 10 run: so is its CMI
    expect(ls[0].cmi).toBeCloseTo(lines(first)[0].cmi, 6);
    const s = summary(zero);
    expect(s.cmi.weight).toBe(0);
    expect(s.final.cmi).toBe(ls[1].cmi);

    // --teachers-export wrote the pool in tfjs' weights format
    expect(readdirSync(exported).sort()).toEqual(['pool.json', 'teacher-0']);
    const model = JSON.parse(readFileSync(join(exported, 'teacher-0', 'model.json'), 'utf8'));
    expect(model.weightsManifest[0].paths).toEqual(['weights.bin']);
    const floats = (model.weightsManifest[0].weights as { shape: number[]; dtype: string }[]).reduce(
      (a, w) => a + w.shape.reduce((x, y) => x * y, 1),
      0,
    );
    // ConvNet-2 width 8 on 32×32×3, 2 classes: convs 3·3·3·8+8 and 3·3·8·8+8, 2 instance norms 2·8 each, fc 8·8·8·2+2
    expect(floats).toBe(3 * 3 * 3 * 8 + 8 + (3 * 3 * 8 * 8 + 8) + 2 * 16 + 8 * 8 * 8 * 2 + 2);
    expect(readFileSync(join(exported, 'teacher-0', 'weights.bin')).length).toBe(4 * floats);
  });

  it('--teachers-import uses an exported pool as it is (no training, nothing cached)', async () => {
    const imported = join(tmp, 'imported');
    const otherCache = join(tmp, 'other-cache');
    const args = TINY.map((a) => (a === cache ? otherCache : a));
    const r = await runCli([...args, '--cmi-weight', '10', '--teachers-import', join(tmp, 'exported'), '--out', imported]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^teachers\s+imported 1 from .*exported \(test accuracy/m);
    expect(r.stdout).not.toMatch(/^note .*other data/m);
    const s = summary(imported);
    expect(s.teachersSource).toBe('import');
    expect(s.teachers).toEqual(summary(first).teachers);
    expect(existsSync(otherCache)).toBe(false);
    expect(lines(imported).map((l) => l.cmi)).toEqual(lines(first).map((l) => l.cmi));
  });

  it('an imported pool for other classes is refused in one line', async () => {
    const r = await runCli([...TINY.map((a) => (a === '0,1' ? '0,1,2' : a)), '--teachers-import', join(tmp, 'exported'), '--out', join(tmp, 'bad')]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/^distillery: error: --teachers-import .*: the teachers take 2 classes of 32×32×3 images, this run has 3 classes of 32×32×3$/);
    expect(existsSync(join(tmp, 'bad'))).toBe(false);
  });
});
