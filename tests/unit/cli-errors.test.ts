/**
 * Bad input through the real CLI process: every case exits non-zero (2 for
 * usage, 1 otherwise) with exactly one line on stderr, `distillery: error: …`,
 * and no stack trace — unless --verbose asks for one.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './cli-spawn';

const tmp = mkdtempSync(join(tmpdir(), 'distillery-cli-errors-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const notZip = join(tmp, 'not-a-dataset.zip');
writeFileSync(notZip, 'this is not a zip file\n');
const truncatedZip = join(tmp, 'truncated.zip');
writeFileSync(truncatedZip, Buffer.from('PK\x03\x04\x14\x00\x00\x00garbage', 'binary'));

const cases: [name: string, code: number, args: string[], message: RegExp][] = [
  ['unknown command', 2, ['distil'], /^unknown command 'distil' \(expected datasets, distill, eval or bench; see distillery --help\)$/],
  ['unknown flag', 2, ['distill', '--ipcs', '3'], /^unknown option --ipcs \(see distillery distill --help\)$/],
  ['negative number', 2, ['distill', '--ipc', '-3'], /^--ipc must be an integer ≥ 1 \(got -3\)$/],
  ['NaN', 2, ['distill', '--lr-img', 'NaN'], /^--lr-img must be a number \(got 'NaN'\)$/],
  ['not a number', 2, ['distill', '--iterations', 'ten'], /^--iterations must be an integer \(got 'ten'\)$/],
  ['bad choice', 2, ['distill', '--backend', 'gpu'], /^--backend must be one of auto, webgpu, wasm, cpu \(got 'gpu'\)$/],
  ['missing value', 2, ['distill', '--out'], /^--out needs a value$/],
  ['missing dataset file', 1, ['distill', '--dataset', join(tmp, 'missing.tar.gz')], /no such file or folder$/],
  ['unknown dataset name', 1, ['distill', '--dataset', 'imagenet-1k'], /^unknown dataset 'imagenet-1k': not a catalog id \(builtin, cifar10/],
  ['corrupt file', 1, ['distill', '--dataset', notZip], /not-a-dataset\.zip: unrecognised dataset/],
  ['truncated zip', 1, ['distill', '--dataset', truncatedZip], /truncated\.zip: corrupt or truncated zip archive/],
  ['unknown class index', 1, ['distill', '--classes', '0,12', '--backend', 'cpu'], /^--classes: class 12 does not exist \(builtin-shapes has 10 classes: 0–9\)$/],
  ['unknown class name', 1, ['distill', '--classes', 'disc,unicorn', '--backend', 'cpu'], /^--classes: unknown class 'unicorn'/],
  [
    'IPC larger than the images available',
    1,
    ['distill', '--real-per-class', '3', '--ipc', '5', '--classes', '0', '--backend', 'cpu'],
    /^--ipc 5 is more than the 3 training images of class '[^']+' \(.*--init noise\)$/,
  ],
  ['negative CMI weight', 2, ['distill', '--cmi-weight', '-1'], /^--cmi-weight must be a number ≥ 0 \(got -1\)$/],
  ['unknown CMI space', 2, ['distill', '--cmi-space', 'foo'], /^--cmi-space must be one of feature, logit \(got 'foo'\)$/],
  ['no teachers for λ > 0', 2, ['distill', '--cmi-weight', '10', '--teachers', '0'], /^--teachers must be at least 1 when --cmi-weight is above 0 \(got --teachers 0\)$/],
  ['teacher epochs 0', 2, ['distill', '--cmi-weight', '10', '--teacher-epochs', '0'], /^--teacher-epochs must be an integer ≥ 1 \(got 0\)$/],
  [
    'teacher import from a missing folder',
    1,
    ['distill', '--classes', '0', '--ipc', '1', '--backend', 'cpu', '--teachers-import', join(tmp, 'no-such-pool'), '--out', join(tmp, 'never')],
    /^--teachers-import .*no-such-pool: no such folder$/,
  ],
  ['eval without --synthetic', 2, ['eval'], /^eval needs --synthetic FILE\.zip/],
  ['eval of a missing zip', 1, ['eval', '--synthetic', join(tmp, 'nope.zip')], /nope\.zip: no such file$/],
  ['eval of a corrupt zip', 1, ['eval', '--synthetic', notZip], /not-a-dataset\.zip: not a readable zip file/],
];

describe('CLI bad input', () => {
  it.each(cases)('%s → exit %i, one line, no stack', async (_name, code, args, message) => {
    const r = await runCli(args);
    expect(r.code).toBe(code);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0].startsWith('distillery: error: ')).toBe(true);
    expect(lines[0].slice('distillery: error: '.length)).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('--verbose adds the stack trace', async () => {
    const r = await runCli(['distill', '--dataset', notZip, '--verbose']);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')[0]).toMatch(/^distillery: error: .*unrecognised dataset/);
    expect(r.stderr).toMatch(/\n\s+at /);
  });

  it('no command prints usage and exits 2; --help exits 0 and lists commands', async () => {
    const none = await runCli([]);
    expect(none.code).toBe(2);
    expect(none.stdout).toMatch(/Usage:/);
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    for (const c of ['datasets', 'distill', 'eval', 'bench']) expect(help.stdout).toContain(`distillery ${c}`);
  });

  it('distill --help lists every flag with its default', async () => {
    const r = await runCli(['distill', '--help']);
    expect(r.code).toBe(0);
    for (const flag of ['dataset', 'classes', 'real-per-class', 'method', 'ipc', 'iterations', 'batch-real', 'lr-img', 'init', 'no-dsa',
      'width', 'depth', 'norm', 'pooling', 'eval-every', 'eval-models', 'eval-epochs', 'backend', 'seed', 'snapshot-every', 'out', 'preset', 'verbose',
      'cmi-weight', 'cmi-space', 'teachers', 'teacher-epochs', 'cmi-temperature', 'teacher-cache', 'teachers-import', 'teachers-export'])
      expect(r.stdout).toMatch(new RegExp(`--${flag}\\b`));
    expect(r.stdout).toMatch(/--batch-real N\s+real images per class per iteration \[default: 256; quick: 32\]/);
  });
});
