/**
 * Node-only: download the catalog's official dataset files into a local cache
 * (default ~/.cache/distillery, or $DISTILLERY_CACHE), verify their md5, and
 * load them. Used by the CLI and by the dev server's dataset proxy, so the
 * browser and the CLI share one cache.
 *
 * Layout: <cache>/<catalog id>/<file name>, plus "<file name>.verified" (size,
 * mtime and md5 of the last successful check, so a 170 MB archive is not
 * re-hashed on every run). A user without network can put the official files
 * there by hand.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { loadBuiltinDataset } from '../engine/data/builtin';
import { findCatalogEntry, CATALOG, type CatalogEntry, type CatalogFile } from '../engine/data/catalog';
import { loadDatasetFromFiles } from '../engine/data/load';
import { UserError, type ImageDataset, type ProgressFn } from '../engine/data/types';

export interface DownloadOptions {
  /** Cache root; default datasetCacheDir(). */
  cacheDir?: string;
  onProgress?: ProgressFn;
  /** Injected for tests; default globalThis.fetch. */
  fetch?: typeof fetch;
  /** Abort a download when no bytes arrive for this long (default 60 s). */
  stallTimeoutMs?: number;
}

/** $DISTILLERY_CACHE, else ~/.cache/distillery. */
export function datasetCacheDir(env: Record<string, string | undefined> = process.env): string {
  return env.DISTILLERY_CACHE && env.DISTILLERY_CACHE.trim() !== '' ? env.DISTILLERY_CACHE : join(homedir(), '.cache', 'distillery');
}

/** Folder of one catalog dataset in the cache. */
export function catalogDir(entry: CatalogEntry, cacheDir = datasetCacheDir()): string {
  return join(cacheDir, entry.id);
}

export function resolveEntry(idOrEntry: string | CatalogEntry): CatalogEntry {
  if (typeof idOrEntry !== 'string') return idOrEntry;
  const e = findCatalogEntry(idOrEntry);
  if (!e) throw new UserError(`unknown dataset '${idOrEntry}' (known: ${CATALOG.map((c) => c.id).join(', ')})`);
  return e;
}

export async function md5File(path: string): Promise<string> {
  const h = createHash('md5');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function statOrNull(path: string) {
  try {
    return await stat(path);
  } catch {
    return null;
  }
}

/** Whether the cached file exists and has the catalog's md5 (using the .verified note when still valid). */
export async function isCachedAndValid(entry: CatalogEntry, file: CatalogFile, cacheDir = datasetCacheDir()): Promise<boolean> {
  const path = join(catalogDir(entry, cacheDir), file.name);
  const s = await statOrNull(path);
  if (!s?.isFile()) return false;
  const note = `${s.size} ${Math.round(s.mtimeMs)} ${file.md5}`;
  const noted = await readFile(`${path}.verified`, 'utf8').catch(() => '');
  if (noted.trim() === note) return true;
  if ((await md5File(path)) !== file.md5) return false;
  await writeFile(`${path}.verified`, note + '\n').catch(() => undefined);
  return true;
}

const NETWORK_CODES = new Set([
  'ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ENETUNREACH', 'EHOSTUNREACH', 'ECONNRESET', 'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET', 'EPIPE',
]);

/** "network unreachable" for connection-level failures, the message otherwise. */
function describeFetchError(err: unknown): string {
  let e: unknown = err;
  for (let i = 0; i < 4 && e; i++) {
    const code = (e as { code?: string }).code;
    if (code && NETWORK_CODES.has(code)) return 'network unreachable';
    e = (e as { cause?: unknown }).cause;
  }
  if ((err as Error).name === 'TypeError' && /fetch failed/i.test((err as Error).message)) return 'network unreachable';
  return (err as Error).message || String(err);
}

/** One attempt: stream url into `part`, hashing as we go. Returns the md5. */
async function fetchToFile(
  url: string,
  part: string,
  file: CatalogFile,
  opts: DownloadOptions,
): Promise<string> {
  const doFetch = opts.fetch ?? globalThis.fetch;
  const ctrl = new AbortController();
  const stallMs = opts.stallTimeoutMs ?? 60_000;
  let stalled = false;
  let timer = setTimeout(() => ((stalled = true), ctrl.abort()), stallMs);
  const kick = () => {
    clearTimeout(timer);
    timer = setTimeout(() => ((stalled = true), ctrl.abort()), stallMs);
  };
  try {
    const res = await doFetch(url, { signal: ctrl.signal, redirect: 'follow' });
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status} from ${url}`);
    const total = Number(res.headers.get('content-length')) || file.bytes || 0;
    const hash = createHash('md5');
    const out = createWriteStream(part);
    const closed = new Promise<void>((resolve, reject) => {
      out.on('close', resolve);
      out.on('error', reject);
    });
    let done = 0;
    let lastReport = 0;
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        kick();
        hash.update(chunk);
        done += chunk.length;
        if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
        const now = Date.now();
        if (now - lastReport > 200) {
          lastReport = now;
          opts.onProgress?.(done, total || done, `downloading ${file.name}`);
        }
      }
    } finally {
      out.end();
      await closed;
    }
    opts.onProgress?.(done, total || done, `downloading ${file.name}`);
    return hash.digest('hex');
  } catch (err) {
    if (stalled) throw new Error(`no data for ${Math.round(stallMs / 1000)} s from ${url}`);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

const inFlight = new Map<string, Promise<string>>();

/**
 * Path of a verified copy of one catalog file, downloading it (official URL,
 * then mirrors) when it is missing or damaged. Concurrent calls for the same
 * file share one download.
 */
export function ensureCatalogFile(entry: CatalogEntry, file: CatalogFile, opts: DownloadOptions = {}): Promise<string> {
  const dir = catalogDir(entry, opts.cacheDir ?? datasetCacheDir());
  const path = join(dir, file.name);
  const running = inFlight.get(path);
  if (running) return running;
  const job = (async () => {
    if (await isCachedAndValid(entry, file, opts.cacheDir ?? datasetCacheDir())) return path;
    await mkdir(dir, { recursive: true });
    const reasons: string[] = [];
    for (const url of file.urls) {
      const part = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.part`;
      try {
        const md5 = await fetchToFile(url, part, file, opts);
        if (md5 !== file.md5) {
          reasons.push(`checksum mismatch from ${url} (md5 ${md5}, expected ${file.md5})`);
          continue;
        }
        await rename(part, path);
        const s = await stat(path);
        await writeFile(`${path}.verified`, `${s.size} ${Math.round(s.mtimeMs)} ${file.md5}\n`).catch(() => undefined);
        return path;
      } catch (err) {
        reasons.push(describeFetchError(err));
      } finally {
        await rm(part, { force: true }).catch(() => undefined);
      }
    }
    const reason = reasons.every((r) => r === 'network unreachable') ? 'network unreachable' : reasons.join('; ');
    throw new UserError(
      `could not download ${entry.title} file ${file.name} (${reason}); place the files in ${dir} or pass --dataset PATH`,
    );
  })();
  inFlight.set(path, job);
  job.then(
    () => inFlight.delete(path),
    () => inFlight.delete(path),
  );
  return job;
}

/** Paths of all files of a catalog dataset, downloading what is missing. */
export async function ensureCatalogFiles(idOrEntry: string | CatalogEntry, opts: DownloadOptions = {}): Promise<string[]> {
  const entry = resolveEntry(idOrEntry);
  const paths: string[] = [];
  for (const f of entry.files) paths.push(await ensureCatalogFile(entry, f, opts));
  return paths;
}

/**
 * A catalog dataset ready to use: the built-in one is generated, the others
 * are downloaded (or taken from the cache) and read.
 */
export async function loadCatalogDataset(
  idOrEntry: string | CatalogEntry,
  opts: DownloadOptions & { seed?: number } = {},
): Promise<ImageDataset> {
  const entry = resolveEntry(idOrEntry);
  if (entry.format === 'builtin') return loadBuiltinDataset({ seed: opts.seed });
  const paths = await ensureCatalogFiles(entry, opts);
  const files = await Promise.all(
    paths.map(async (p, i) => {
      const b = await readFile(p);
      return { path: `${entry.id}/${entry.files[i].name}`, bytes: new Uint8Array(b.buffer, b.byteOffset, b.byteLength) };
    }),
  );
  return loadDatasetFromFiles(files, { name: entry.id, onProgress: opts.onProgress });
}
