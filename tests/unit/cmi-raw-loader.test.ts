/**
 * src/cli/raw-loader.mjs: under plain Node + tsx (the CLI), `?raw` imports of
 * the WGSL shaders must give the file's text, as Vite does in the browser.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('raw-loader', () => {
  it('loads shaders/*.wgsl?raw as text through the engine module that imports them', () => {
    const script = [
      "const m = await import('./src/engine/cmi/webgpu/programs.ts');",
      'process.stdout.write(JSON.stringify(new m.CmiGradScaleProgram(2, 3).getUserCode()));',
    ].join('\n');
    const out = execFileSync(
      process.execPath,
      ['--import', './src/cli/raw-loader.mjs', '--import', 'tsx', '--input-type=module', '-e', script],
      { encoding: 'utf8' },
    );
    expect(JSON.parse(out)).toBe(readFileSync('shaders/cmi_grad_scale.wgsl', 'utf8'));
  });
});
