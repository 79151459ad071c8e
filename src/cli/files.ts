/**
 * Reading what the user named on the command line into VirtualFile[] (the
 * engine's loaders take bytes, never paths): one file, a comma-separated list
 * of files, or a folder read recursively. Paths inside a folder keep the
 * folder's own name as first segment, as a browser's folder picker does
 * (webkitRelativePath), so both front ends hand the loaders the same layout.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, join, relative, resolve, sep } from 'node:path';
import type { VirtualFile } from '../engine/data/bytes';
import { UserError, type ProgressFn } from '../engine/data/types';

async function statOrNull(path: string) {
  try {
    return await stat(path);
  } catch {
    return null;
  }
}

async function readBytes(path: string): Promise<Uint8Array> {
  try {
    const b = await readFile(path);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new UserError(`cannot read ${path}: ${code === 'EACCES' ? 'permission denied' : (err as Error).message}`);
  }
}

/** Every regular file under `dir` (dot files and dot folders skipped: .DS_Store, .git…). */
async function listFolder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch (err) {
      throw new UserError(`cannot read folder ${d}: ${(err as Error).message}`);
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)); // stable order on every OS
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) out.push(p);
      else if (e.isSymbolicLink()) {
        const s = await statOrNull(p);
        if (s?.isDirectory()) await walk(p);
        else if (s?.isFile()) out.push(p);
      }
    }
  };
  await walk(dir);
  return out;
}

/** Whether `spec` names something on disk (a path, or a comma-separated list whose first item exists). */
export async function looksLikePath(spec: string): Promise<boolean> {
  const first = spec.split(',')[0].trim();
  return (await statOrNull(first)) !== null;
}

export async function readVirtualFiles(spec: string, onProgress?: ProgressFn): Promise<VirtualFile[]> {
  const parts = spec
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  const files: VirtualFile[] = [];
  for (const part of parts) {
    const s = await statOrNull(part);
    if (!s) throw new UserError(`${part}: no such file or folder`);
    if (s.isDirectory()) {
      const root = resolve(part);
      const paths = await listFolder(root);
      if (paths.length === 0) throw new UserError(`${part}: the folder is empty`);
      const top = basename(root);
      for (let i = 0; i < paths.length; i++) {
        const rel = relative(root, paths[i]).split(sep).join('/');
        files.push({ path: `${top}/${rel}`, bytes: await readBytes(paths[i]) });
        if (i % 500 === 0 || i === paths.length - 1) onProgress?.(i + 1, paths.length, `reading ${part}`);
      }
    } else if (s.isFile()) {
      if (s.size === 0) throw new UserError(`${part}: the file is empty`);
      files.push({ path: basename(part), bytes: await readBytes(part) });
    } else throw new UserError(`${part}: not a file or folder`);
  }
  if (files.length === 0) throw new UserError(`--dataset '${spec}' names no files`);
  return files;
}
