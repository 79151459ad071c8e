/**
 * Turns what the user gave us (archives and/or loose files) into a flat list
 * of member files: .gz is gunzipped, .tar / .tar.gz / .tgz untarred (nanotar),
 * .zip unzipped (fflate). Junk that archivers add (__MACOSX, dot files,
 * directories) is dropped so the format readers see only real content.
 */
import { unzipSync } from 'fflate';
import { parseTar } from 'nanotar';
import { basename, gunzipChecked, isGzip, isTar, isZip, type VirtualFile } from './bytes';
import { UserError, type ProgressFn } from './types';

function isJunk(path: string): boolean {
  if (path.endsWith('/')) return true;
  const parts = path.split('/');
  return parts.some((p) => p === '__MACOSX') || basename(path).startsWith('.');
}

function untar(bytes: Uint8Array, path: string): VirtualFile[] {
  // nanotar reads `data.buffer` and ignores byteOffset: give it a view that starts at 0.
  const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
  let items;
  try {
    items = parseTar(own);
  } catch {
    // nanotar throws a RangeError when an entry's data runs past the end of the buffer.
    throw new UserError(`${path}: truncated or corrupt tar archive`);
  }
  const out: VirtualFile[] = [];
  for (const it of items) {
    if (it.type !== 'file' && it.type !== 'contiguousFile') continue;
    if (!Number.isFinite(it.size)) throw new UserError(`${path}: corrupt tar archive (bad size field for ${it.name})`);
    if (isJunk(it.name)) continue;
    out.push({ path: it.name, bytes: it.data ?? new Uint8Array(0) });
  }
  return out;
}

function unzip(bytes: Uint8Array, path: string): VirtualFile[] {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes, { filter: (f) => !isJunk(f.name) });
  } catch (e) {
    throw new UserError(`${path}: corrupt or truncated zip archive (${(e as Error).message})`);
  }
  return Object.keys(entries).map((name) => ({ path: name, bytes: entries[name] }));
}

function stripGz(path: string): string {
  if (/\.tgz$/i.test(path)) return path.slice(0, -4) + '.tar';
  return path.replace(/\.gz$/i, '');
}

/**
 * Expand every archive among `files` (one level: archives inside archives are
 * kept as files). Loose files pass through unchanged.
 */
export function expandArchives(files: VirtualFile[], onProgress?: ProgressFn): VirtualFile[] {
  const out: VirtualFile[] = [];
  for (const f of files) {
    if (isJunk(f.path)) continue;
    let bytes = f.bytes;
    let path = f.path;
    if (isGzip(bytes)) {
      bytes = gunzipChecked(bytes, f.path, onProgress);
      path = stripGz(path);
    }
    if (isTar(bytes)) out.push(...untar(bytes, f.path));
    else if (isZip(bytes)) out.push(...unzip(bytes, f.path));
    else out.push({ path, bytes });
  }
  return out;
}
