/**
 * `distillery bench cmi|train|overhead` as scripts use them: stdout is exactly
 * one JSON object with the documented keys (JSON.parse of the whole stdout
 * fails on any stray line), values checked against hand-derived numbers.
 */
import { describe, expect, it } from 'vitest';
import { runCli } from './cli-spawn';

async function benchJson(args: string[]): Promise<Record<string, unknown>> {
  const r = await runCli(['bench', ...args]);
  if (r.code !== 0) throw new Error(`bench ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  expect(r.stdout.trim().startsWith('{')).toBe(true);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

describe('distillery bench', () => {
  it('bench cmi: one JSON object; on cpu only the reference runs', async () => {
    const j = await benchJson(['cmi', '--backend', 'cpu', '--n', '20', '--m', '16', '--classes', '3']);
    for (const k of ['backend', 'n', 'm', 'classes', 'repeats', 'fused_ms', 'reference_ms', 'speedup', 'fused_dispatches',
      'reference_dispatches', 'dispatch_unit', 'max_rel_err', 'value', 'adapter'])
      expect(j).toHaveProperty(k);
    expect(j).toMatchObject({ backend: 'cpu', n: 20, m: 16, classes: 3, repeats: 5, fused_ms: null, speedup: null, max_rel_err: null, dispatch_unit: 'kernels' });
    expect(j.reference_ms as number).toBeGreaterThan(0);
    expect(j.reference_dispatches as number).toBeGreaterThan(0);
    // 20 rows over 3 classes: 7, 7, 6 members; CMI lies in [0, mean over rows of log n_c]
    const bound = (14 * Math.log(7) + 6 * Math.log(6)) / 20;
    expect(j.value as number).toBeGreaterThan(0);
    expect(j.value as number).toBeLessThanOrEqual(bound);
  });

  it('bench train: one JSON object with the analytic FLOPs of the step', async () => {
    const j = await benchJson(['train', '--backend', 'wasm', '--width', '8', '--batch', '2', '--iterations', '1', '--warmup', '0']);
    for (const k of ['backend', 'variant', 'width', 'batch', 'depth', 'iterations', 'gflops', 'ms_per_step', 'flops_per_step', 'cpu_ms_per_step'])
      expect(j).toHaveProperty(k);
    expect(j).toMatchObject({ backend: 'wasm', width: 8, batch: 2, depth: 3, iterations: 1 });
    // by hand: 2·multiply-adds of conv 32²·3·8·9 + 16²·8·8·9 + 8²·8·8·9 and fc 128·10; ×3 (forward + 2 backward); ×2 images
    const forward = 2 * (32 * 32 * 3 * 8 * 9 + 16 * 16 * 8 * 8 * 9 + 8 * 8 * 8 * 8 * 9 + 8 * 4 * 4 * 10);
    expect(j.flops_per_step).toBe(3 * 2 * forward);
    expect(j.gflops as number).toBeCloseTo((j.flops_per_step as number) / ((j.ms_per_step as number) * 1e6), 9);
  });

  it('bench overhead: dm vs dm+cmi side by side, fractions consistent with the times', async () => {
    const j = await benchJson(['overhead', '--backend', 'cpu', '--width', '8', '--depth', '2', '--batch-real', '4', '--ipc', '2',
      '--classes', '2', '--iterations', '1']);
    for (const k of ['dm_ms', 'dm_cmi_ms', 'cmi_term_ms', 'cmi_term_fraction', 'cmi_kernels_ms', 'cmi_kernels_fraction', 'teacher_fb_ms',
      'teacher_fraction', 'width', 'batch_real', 'backend', 'adapter', 'teacher'])
      expect(j).toHaveProperty(k);
    expect(j).toMatchObject({ width: 8, batch_real: 4, backend: 'cpu', n: 4, m: 8 * 8 * 8, iterations: 1 });
    expect(j.teacher).toMatch(/random-init/);
    const n = (k: string) => j[k] as number;
    for (const k of ['dm_ms', 'dm_cmi_ms', 'cmi_kernels_ms', 'teacher_fb_ms']) expect(n(k)).toBeGreaterThan(0);
    expect(n('cmi_term_ms')).toBeCloseTo(n('dm_cmi_ms') - n('dm_ms'), 2);
    expect(n('cmi_term_fraction')).toBeCloseTo(n('cmi_term_ms') / n('dm_cmi_ms'), 3);
    expect(n('teacher_fraction')).toBeCloseTo(n('teacher_fb_ms') / n('dm_cmi_ms'), 3);
    expect(n('cmi_kernels_fraction')).toBeCloseTo(n('cmi_kernels_ms') / n('dm_cmi_ms'), 3);
  });

  it('an unknown benchmark or a bad value is a one-line usage error', async () => {
    const r = await runCli(['bench', 'gpu']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe("distillery: error: unknown benchmark 'gpu' (expected cmi, train or overhead; see distillery bench --help)");
    const w = await runCli(['bench', 'train', '--width', '0']);
    expect(w.code).toBe(2);
    expect(w.stderr.trim()).toBe('distillery: error: --width must be an integer ≥ 1 (got 0)');
    expect(w.stdout).toBe('');
  });
});
