/**
 * Download + cache (src/cli/download.ts), the dev-server dataset proxy and the
 * browser fetch helper, against a local HTTP server (no internet needed).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datasetCacheDir, ensureCatalogFile, loadCatalogDataset } from '../../src/cli/download';
import { createDatasetMiddleware } from '../../src/devserver/datasetProxy';
import { fetchCatalogFiles } from '../../src/engine/data/browserFetch';
import { CATALOG, findCatalogEntry, type CatalogEntry } from '../../src/engine/data/catalog';
import { UserError } from '../../src/engine/data/types';

const payload = gzipSync(new Uint8Array(50_000).map((_, i) => (i * 31) % 256));
const md5 = createHash('md5').update(payload).digest('hex');
let server: Server;
let base = '';
const hits: string[] = [];
let tmp = '';

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'distillery-dl-'));
  server = createServer((req, res) => {
    hits.push(req.url ?? '');
    if (req.url === '/f.gz') {
      res.setHeader('Content-Length', payload.length);
      res.end(Buffer.from(payload));
    } else if (req.url === '/wrong.gz') {
      res.end(Buffer.from(gzipSync(new Uint8Array([1, 2, 3]))));
    } else if (req.url === '/stall') {
      res.writeHead(200, { 'Content-Length': 1000 });
      res.write('x'); // then nothing
    } else {
      res.statusCode = 404;
      res.end('not found');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(tmp, { recursive: true, force: true });
});

function entryWith(urls: string[], id = 'testset', fileMd5 = md5): CatalogEntry {
  return { ...findCatalogEntry('mnist')!, id, aliases: [], title: 'Test set', files: [{ name: 'f.gz', urls, md5: fileMd5 }] };
}

async function userError(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return (e as Error).message;
  }
  throw new Error('expected a UserError');
}

describe('download + cache', () => {
  it('cache dir: $DISTILLERY_CACHE, else ~/.cache/distillery', () => {
    expect(datasetCacheDir({ DISTILLERY_CACHE: '/x/y' })).toBe('/x/y');
    expect(datasetCacheDir({})).toMatch(/\.cache[\\/]distillery$/);
  });

  it('falls back to the mirror, verifies md5, reports progress, then serves from the cache', async () => {
    const cacheDir = join(tmp, 'a');
    const entry = entryWith([`${base}/missing`, `${base}/f.gz`]);
    const progress: [number, number][] = [];
    hits.length = 0;
    const path = await ensureCatalogFile(entry, entry.files[0], { cacheDir, onProgress: (d, t) => progress.push([d, t]) });
    expect(path).toBe(join(cacheDir, 'testset', 'f.gz'));
    expect(Buffer.compare(readFileSync(path), Buffer.from(payload))).toBe(0);
    expect(hits).toEqual(['/missing', '/f.gz']);
    expect(progress.at(-1)).toEqual([payload.length, payload.length]);
    expect(readdirSync(join(cacheDir, 'testset')).filter((f) => f.endsWith('.part'))).toEqual([]);
    await ensureCatalogFile(entry, entry.files[0], { cacheDir });
    expect(hits).toEqual(['/missing', '/f.gz']); // no new request
    // a damaged cached file is replaced
    writeFileSync(path, 'garbage');
    await ensureCatalogFile(entry, entry.files[0], { cacheDir });
    expect(hits.length).toBe(4);
    expect(Buffer.compare(readFileSync(path), Buffer.from(payload))).toBe(0);
  });

  it('checksum mismatch → UserError, nothing left in the cache', async () => {
    const cacheDir = join(tmp, 'b');
    const entry = entryWith([`${base}/wrong.gz`]);
    const msg = await userError(ensureCatalogFile(entry, entry.files[0], { cacheDir }));
    expect(msg).toMatch(/could not download Test set file f\.gz \(checksum mismatch from .*wrong\.gz/);
    expect(readdirSync(join(cacheDir, 'testset'))).toEqual([]);
  });

  it('offline → one clear line naming the folder to put the files in', async () => {
    const cacheDir = join(tmp, 'c');
    const entry = entryWith(['http://127.0.0.1:1/f.gz']);
    const msg = await userError(ensureCatalogFile(entry, entry.files[0], { cacheDir }));
    expect(msg).toBe(
      `could not download Test set file f.gz (network unreachable); place the files in ${join(cacheDir, 'testset')} or pass --dataset PATH`,
    );
  });

  it('a stalled transfer is aborted instead of hanging', async () => {
    const entry = entryWith([`${base}/stall`]);
    const msg = await userError(ensureCatalogFile(entry, entry.files[0], { cacheDir: join(tmp, 'd'), stallTimeoutMs: 300 }));
    expect(msg).toMatch(/no data for 0 s from .*\/stall/);
  });

  it('the builtin catalog entry needs no download', async () => {
    const ds = await loadCatalogDataset('builtin', { cacheDir: join(tmp, 'none') });
    expect(ds.name).toBe('builtin-shapes');
    expect(existsSync(join(tmp, 'none'))).toBe(false);
  });

  it('catalog: every downloadable entry has https/http URLs and 32-hex md5s; ids resolve', () => {
    for (const e of CATALOG) {
      expect(findCatalogEntry(e.id)).toBe(e);
      for (const f of e.files) {
        expect(f.md5).toMatch(/^[0-9a-f]{32}$/);
        for (const u of f.urls) expect(u).toMatch(/^https?:\/\/[^/]+\/.+/);
      }
    }
    expect(findCatalogEntry('CIFAR-10')?.id).toBe('cifar10');
    expect(findCatalogEntry('cifar10')?.normalization).toEqual({ mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.201] });
    expect(findCatalogEntry('mnist')?.normalization).toEqual({ mean: [0.1307], std: [0.3081] });
    expect(findCatalogEntry('svhn')).toBeUndefined();
  });
});

describe('dataset proxy middleware', () => {
  let proxy: Server;
  let proxyBase = '';
  const cacheDir = join(tmpdir(), `distillery-proxy-${process.pid}`);
  const requested: string[] = [];
  beforeAll(async () => {
    const entries = [entryWith([`${base}/f.gz`], 'good'), entryWith([`${base}/wrong.gz`], 'bad')];
    const mw = createDatasetMiddleware({ cacheDir, entries, log: () => undefined });
    proxy = createServer((req, res) => {
      requested.push(req.url ?? '');
      void mw(req, res, () => {
        res.statusCode = 418;
        res.end('next');
      });
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    const addr = proxy.address();
    proxyBase = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  });
  afterAll(async () => {
    proxy.closeAllConnections();
    await new Promise<void>((r) => proxy.close(() => r()));
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it('lists, serves catalog files (downloading first), refuses anything else', async () => {
    const list = await (await fetch(`${proxyBase}/api/dataset/good`)).json();
    expect(list).toEqual({ id: 'good', title: 'Test set', files: [{ name: 'f.gz', md5, bytes: null, cached: false }] });
    const r = await fetch(`${proxyBase}/api/dataset/good/f.gz`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/octet-stream');
    expect(Buffer.compare(Buffer.from(await r.arrayBuffer()), Buffer.from(payload))).toBe(0);
    expect(((await (await fetch(`${proxyBase}/api/dataset/good`)).json()) as { files: { cached: boolean }[] }).files[0].cached).toBe(true);

    const bad = await fetch(`${proxyBase}/api/dataset/bad/f.gz`);
    expect(bad.status).toBe(502);
    expect(((await bad.json()) as { error: string }).error).toMatch(/checksum mismatch/);
    expect((await fetch(`${proxyBase}/api/dataset/good/other.gz`)).status).toBe(404);
    expect((await fetch(`${proxyBase}/api/dataset/nope/f.gz`)).status).toBe(404);
    expect((await fetch(`${proxyBase}/api/dataset/good/..%2F..%2Fetc%2Fpasswd`)).status).toBe(404);
    expect((await fetch(`${proxyBase}/api/dataset/${encodeURIComponent('http://evil/x')}/f.gz`)).status).toBe(404);
    expect((await fetch(`${proxyBase}/index.html`)).status).toBe(418); // not ours: next()
  });
});

describe('browser fetch helper (no IndexedDB in Node: cache skipped)', () => {
  it('returns the files as <id>/<name>; a non-gzip reply or a proxy error is a UserError', async () => {
    const gz = gzipSync(new Uint8Array([1, 2, 3]));
    const urls: string[] = [];
    const ok = (async (u: string) => {
      urls.push(u);
      return new Response(gz, { headers: { 'content-length': String(gz.length) } });
    }) as unknown as typeof fetch;
    const progress: number[] = [];
    const files = await fetchCatalogFiles('mnist', (d) => progress.push(d), { fetch: ok });
    expect(files.map((f) => f.path)).toEqual(findCatalogEntry('mnist')!.files.map((f) => `mnist/${f.name}`));
    expect(urls[0]).toBe('/api/dataset/mnist/train-images-idx3-ubyte.gz');
    expect(Array.from(files[0].bytes)).toEqual(Array.from(gz));
    expect(progress.at(-1)).toBe(gz.length);

    const html = (async () => new Response('<!doctype html><html></html>')) as unknown as typeof fetch;
    await expect(fetchCatalogFiles('cifar10', undefined, { fetch: html })).rejects.toThrow(/no dataset proxy/);
    const err = (async () => new Response(JSON.stringify({ error: 'could not download CIFAR-10 (network unreachable)' }), { status: 502 })) as unknown as typeof fetch;
    await expect(fetchCatalogFiles('cifar10', undefined, { fetch: err })).rejects.toThrow(/network unreachable/);
    await expect(fetchCatalogFiles('builtin')).rejects.toThrow(UserError);
  });
});
