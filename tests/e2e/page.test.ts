/**
 * End-to-end: the built app (dist/, served by `vite preview`) in headless
 * Debian Chromium, WebGPU on SwiftShader (flags from
 * ../shared/design/webgpu-without-a-gpu.md). Runs the page's default tiny DM
 * distillation and checks what a user would see: the backend line, progress
 * to completion, losses, and synthetic images that changed.
 *
 * `npm test` builds dist/ first; run alone, this test builds it when missing.
 * Without /usr/bin/chromium it is skipped, except under CI where it fails.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build, preview, type PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = resolve(import.meta.dirname, '../..');
const hasChromium = existsSync(CHROMIUM);
const FLAGS = [
  '--headless=new',
  '--no-sandbox',
  '--no-first-run',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--use-webgpu-adapter=swiftshader',
];

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

/** Sum and a cheap hash over every synthetic-image canvas, read back as RGBA pixels. */
async function readGrid(page: Page): Promise<{ iteration: number; canvases: number; sum: number; hash: number }> {
  return page.evaluate(() => {
    const grid = document.querySelector<HTMLElement>('[aria-label="Synthetic images"]');
    const canvases = grid ? [...grid.querySelectorAll('canvas')] : [];
    let sum = 0;
    let hash = 0;
    for (const c of canvases) {
      const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      for (let i = 0; i < data.length; i++) {
        sum += data[i];
        hash = (Math.imul(hash, 31) + data[i]) | 0;
      }
    }
    return { iteration: Number(grid?.dataset.iteration ?? -1), canvases: canvases.length, sum, hash };
  });
}

describe.skipIf(!hasChromium && !process.env.CI)('browser app (Chromium + WebGPU on SwiftShader)', () => {
  let server: PreviewServer | undefined;
  let browser: Browser | undefined;
  let url = '';

  beforeAll(async () => {
    if (!hasChromium) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (CI must have it)`);
    if (!existsSync(join(ROOT, 'dist', 'index.html'))) await build({ root: ROOT, logLevel: 'warn' });
    const port = await freePort();
    server = await preview({ root: ROOT, logLevel: 'warn', preview: { host: '127.0.0.1', port, strictPort: true } });
    url = `http://127.0.0.1:${port}/`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((res) => (server ? server.httpServer.close(() => res()) : res()));
  });

  it('runs a tiny DM distillation on WebGPU and shows its progress, losses and images', async () => {
    const page = await browser!.newPage({ viewport: { width: 1100, height: 800 } });
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(`console.error: ${msg.text()}`);
    });
    page.on('worker', (w) => w.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(`worker console.error: ${msg.text()}`);
    }));

    await page.goto(url);
    // COOP/COEP reached the page (needed later for wasm threads).
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);

    // The worker chose WebGPU on SwiftShader and says so.
    const backend = page.getByLabel('Backend');
    await expect.poll(() => backend.textContent(), { timeout: 60_000 }).toMatch(/webgpu/i);
    expect(await backend.textContent()).toMatch(/swiftshader/i);

    const start = page.getByRole('button', { name: 'Start' });
    await start.click();

    // First snapshot: poll quickly so it is caught before later ones replace it.
    const grid = page.getByLabel('Synthetic images');
    await grid.waitFor({ timeout: 120_000 });
    const first = await readGrid(page);
    expect(first.canvases).toBeGreaterThan(0);

    const app = page.locator('[data-state]').first();
    await expect
      .poll(() => app.getAttribute('data-state'), { timeout: 150_000, interval: 250 })
      .toMatch(/^(done|error)$/);
    const errorText = await page.getByRole('alert').allTextContents();
    expect(errorText.join(' ')).toBe('');
    expect(await app.getAttribute('data-state')).toBe('done');

    const progress = page.getByLabel('Progress', { exact: true });
    expect(Number(await progress.getAttribute('value'))).toBe(Number(await progress.getAttribute('max')));

    const last = await readGrid(page);
    expect(last.canvases).toBe(first.canvases);
    expect(last.iteration).toBeGreaterThan(first.iteration);
    expect(last.hash).not.toBe(first.hash);

    const losses = await page.getByLabel('Loss values').locator('li').allTextContents();
    expect(losses.length).toBeGreaterThan(0);
    for (const l of losses) expect(l).toMatch(/\d+\s*:\s*-?\d+(\.\d+)?(e[-+]?\d+)?/);

    const dir = join(tmpdir(), 'distillery-e2e');
    mkdirSync(dir, { recursive: true });
    const shot = join(dir, 'page.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`screenshot: ${shot}`);

    expect(problems).toEqual([]);
    await page.close();
  });
});
