/**
 * Browser side of the catalog downloads: fetch a catalog dataset's files from
 * the dev/preview server's same-origin proxy (/api/dataset/<id>/<file>, see
 * src/devserver/datasetProxy.ts, which verifies the md5) and keep them in
 * IndexedDB (idb-keyval) so the next visit loads offline. Engine-safe: fetch +
 * idb-keyval only, no DOM; works in a worker. Where IndexedDB is missing (Node)
 * the cache is simply skipped.
 */
import { createStore, del, get, keys, set, type UseStore } from 'idb-keyval';
import { isGzip, type VirtualFile } from './bytes';
import { findCatalogEntry, type CatalogEntry } from './catalog';
import { UserError, type ProgressFn } from './types';

let store: UseStore | null = null;
function cacheStore(): UseStore | null {
  if (typeof indexedDB === 'undefined') return null;
  store ??= createStore('distillery-datasets', 'files');
  return store;
}

export interface BrowserFetchOptions {
  /** Prefix of the proxy URLs (default '' = same origin). */
  baseUrl?: string;
  /** Injected for tests; default globalThis.fetch. */
  fetch?: typeof fetch;
  /** Use the IndexedDB cache (default true when IndexedDB exists). */
  useCache?: boolean;
}

async function readBody(res: Response, total: number, onProgress: ProgressFn | undefined, what: string): Promise<Uint8Array> {
  if (!res.body) return new Uint8Array(await res.arrayBuffer());
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let done = 0;
  for (;;) {
    const r = await reader.read();
    if (r.done) break;
    chunks.push(r.value);
    done += r.value.length;
    onProgress?.(done, Math.max(total, done), what);
  }
  const out = new Uint8Array(done);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/**
 * The files of catalog dataset `id` as VirtualFiles ("<id>/<file name>"), from
 * IndexedDB when cached, else through the proxy. Pass the result to
 * loadDatasetFromFiles(files, { name: id }).
 */
export async function fetchCatalogFiles(id: string, onProgress?: ProgressFn, opts: BrowserFetchOptions = {}): Promise<VirtualFile[]> {
  const entry: CatalogEntry | undefined = findCatalogEntry(id);
  if (!entry) throw new UserError(`unknown dataset '${id}'`);
  if (entry.files.length === 0) throw new UserError(`dataset '${entry.id}' is generated in code and has no files to fetch`);
  const st = opts.useCache === false ? null : cacheStore();
  const doFetch = opts.fetch ?? globalThis.fetch;
  const out: VirtualFile[] = [];
  for (const file of entry.files) {
    const key = `${entry.id}/${file.name}`;
    const cached = st ? await get<Uint8Array>(key, st).catch(() => undefined) : undefined;
    if (cached instanceof Uint8Array && cached.length > 0) {
      out.push({ path: key, bytes: cached });
      continue;
    }
    const url = `${opts.baseUrl ?? ''}/api/dataset/${encodeURIComponent(entry.id)}/${encodeURIComponent(file.name)}`;
    const hint = `download ${file.urls[0]} yourself and open it with "Load files"`;
    let res: Response;
    try {
      res = await doFetch(url);
    } catch (e) {
      throw new UserError(`could not fetch ${file.name} (${(e as Error).message}); ${hint}`);
    }
    if (!res.ok) {
      let msg = `HTTP ${res.status}`;
      try {
        const j = (await res.json()) as { error?: string };
        if (j.error) msg = j.error;
      } catch {
        /* not JSON: keep the status */
      }
      throw new UserError(`could not fetch ${file.name}: ${msg}; ${hint}`);
    }
    const total = Number(res.headers.get('content-length')) || file.bytes || 0;
    const bytes = await readBody(res, total, onProgress, `downloading ${file.name}`);
    // Every catalog file is gzip; anything else (e.g. an SPA's index.html fallback) means no proxy is running.
    if (!isGzip(bytes)) throw new UserError(`could not fetch ${file.name}: the server has no dataset proxy (got a non-gzip reply); ${hint}`);
    if (st) await set(key, bytes, st).catch(() => undefined); // a full quota only costs the cache
    out.push({ path: key, bytes });
  }
  return out;
}

/** Forget the cached files of one dataset (or of all). */
export async function clearCatalogCache(id?: string): Promise<void> {
  const st = cacheStore();
  if (!st) return;
  const all = (await keys(st)) as string[];
  await Promise.all(all.filter((k) => !id || k.startsWith(`${id}/`)).map((k) => del(k, st)));
}
