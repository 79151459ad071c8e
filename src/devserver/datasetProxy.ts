/**
 * Vite plugin for the dev and preview servers: serves the catalog's dataset
 * files same-origin, so the cross-origin-isolated page can load them (the
 * official hosts send no CORS/CORP headers).
 *
 *   GET /api/dataset/<catalog-id>              → JSON: the files and whether each is cached
 *   GET /api/dataset/<catalog-id>/<file-name>  → the file (downloaded into the shared cache first if missing)
 *
 * Only files named in the catalog are served or fetched — never an arbitrary URL or path.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Plugin } from 'vite';
import { CATALOG, type CatalogEntry } from '../engine/data/catalog';
import { UserError } from '../engine/data/types';
import { ensureCatalogFile, isCachedAndValid, datasetCacheDir, type DownloadOptions } from '../cli/download';

export interface DatasetProxyOptions {
  cacheDir?: string;
  /** Injected for tests. */
  fetch?: typeof fetch;
  /** The datasets served (default: the catalog). Tests pass their own. */
  entries?: CatalogEntry[];
  /** Where download progress goes (default: console, every 10%). */
  log?: (line: string) => void;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

/** Connect-style middleware (also usable with a plain node:http server). */
export function createDatasetMiddleware(opts: DatasetProxyOptions = {}) {
  const log = opts.log ?? ((line: string) => console.log(line));
  const entries = opts.entries ?? CATALOG;
  const find = (id: string) => entries.find((e) => e.id === id.toLowerCase() || e.aliases.includes(id.toLowerCase()));
  return async (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): Promise<void> => {
    const pathname = (req.url ?? '/').split('?')[0];
    const m = /^\/api\/dataset\/([^/]+)(?:\/([^/]+))?\/?$/.exec(pathname);
    if (!m) return next();
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'only GET' });
    let id: string;
    let name: string | undefined;
    try {
      id = decodeURIComponent(m[1]);
      name = m[2] === undefined ? undefined : decodeURIComponent(m[2]);
    } catch {
      return send(res, 400, { error: 'bad URL encoding' });
    }
    const entry = find(id);
    if (!entry || entry.files.length === 0) return send(res, 404, { error: `no downloadable catalog dataset '${id}'` });
    const cacheDir = opts.cacheDir ?? datasetCacheDir();
    if (name === undefined) {
      const files = await Promise.all(
        entry.files.map(async (f) => ({ name: f.name, md5: f.md5, bytes: f.bytes ?? null, cached: await isCachedAndValid(entry, f, cacheDir) })),
      );
      return send(res, 200, { id: entry.id, title: entry.title, files });
    }
    const file = entry.files.find((f) => f.name === name);
    if (!file) return send(res, 404, { error: `dataset '${entry.id}' has no file '${name}'` });
    let lastTenth = -1;
    const dl: DownloadOptions = {
      cacheDir,
      fetch: opts.fetch,
      onProgress: (done, total) => {
        const tenth = total > 0 ? Math.floor((10 * done) / total) : -1;
        if (tenth !== lastTenth) {
          lastTenth = tenth;
          log(`[dataset proxy] ${entry.id}/${file.name}: ${(done / 1e6).toFixed(1)} MB${total ? ` of ${(total / 1e6).toFixed(1)} MB` : ''}`);
        }
      },
    };
    let path: string;
    try {
      path = await ensureCatalogFile(entry, file, dl);
    } catch (err) {
      const msg = err instanceof UserError ? err.message : `internal error: ${(err as Error).message}`;
      return send(res, 502, { error: msg });
    }
    const s = await stat(path);
    res.statusCode = 200;
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Content-Length', s.size);
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    if (req.method === 'HEAD') return void res.end();
    createReadStream(path)
      .on('error', (e) => res.destroy(e))
      .pipe(res);
  };
}

/** Add to `plugins` in vite.config.ts: serves /api/dataset/… on `vite` (dev) and `vite preview`. */
export function datasetProxyPlugin(opts: DatasetProxyOptions = {}): Plugin {
  const mw = createDatasetMiddleware(opts);
  return {
    name: 'distillery-dataset-proxy',
    configureServer(server) {
      server.middlewares.use((req, res, next) => void mw(req, res, next).catch(next));
    },
    configurePreviewServer(server) {
      server.middlewares.use((req, res, next) => void mw(req, res, next).catch(next));
    },
  };
}
