/**
 * CMI teachers for the CLI: the on-disk cache (the engine's folderTeacherStore
 * over node:fs), export/import of a pool as plain folders in tfjs' weights
 * format, and getting the pool a run needs (import, cache, or training with
 * progress).
 *
 * Export layout (the cache's, minus the key folder):
 *   DIR/pool.json                 {format, key, count, teachers: ['teacher-0', …]}
 *   DIR/teacher-i/model.json      spec, test accuracy, epochs, seed, weightsManifest
 *   DIR/teacher-i/weights.bin     tf.io.encodeWeights bytes
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { NetConfig } from '../engine/config';
import type { Subset } from '../engine/data/subset';
import { UserError } from '../engine/data/types';
import {
  deserializeTeacher,
  folderTeacherStore,
  loadOrTrainTeacherPool,
  makeTeacherPool,
  serializeTeacher,
  teacherPoolKeyFor,
  type FolderIO,
  type Teacher,
  type TeacherPool,
  type TeacherPoolOptions,
} from '../engine/teachers';
import { datasetCacheDir } from './download';

/** FolderIO on node:fs: a missing file reads as null, writes create their folders. */
export const nodeFolderIO: FolderIO = {
  async readFile(path) {
    try {
      const b = await readFile(path);
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return null;
      throw err;
    }
  },
  async writeFile(path, data) {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, data);
  },
};

/** $DISTILLERY_CACHE/teachers, else ~/.cache/distillery/teachers. */
export function teacherCacheDir(env: Record<string, string | undefined> = process.env): string {
  return join(datasetCacheDir(env), 'teachers');
}

/** folderTeacherStore writes <root>/<key>/…: this IO maps that onto DIR/… so an export is one flat folder. */
function flatIO(dir: string): { io: FolderIO; root: string } {
  const root = '/pool-root';
  const map = (p: string) => {
    const rest = p.slice(root.length + 1); // <key>/<file…>
    return join(dir, rest.slice(rest.indexOf('/') + 1));
  };
  return {
    root,
    io: {
      readFile: (p) => nodeFolderIO.readFile(map(p)),
      writeFile: (p, d) => nodeFolderIO.writeFile(map(p), d),
    },
  };
}

export async function exportTeacherPool(pool: TeacherPool, dir: string): Promise<void> {
  const { io, root } = flatIO(resolve(dir));
  try {
    await folderTeacherStore(io, root).put(pool.key, await Promise.all(pool.teachers.map(serializeTeacher)));
  } catch (err) {
    throw new UserError(`--teachers-export ${dir}: ${(err as Error).message}`);
  }
}

export async function importTeacherPool(dir: string): Promise<TeacherPool> {
  const abs = resolve(dir);
  const bad = (why: string) => new UserError(`--teachers-import ${dir}: ${why}`);
  const st = await stat(abs).catch(() => null);
  if (!st) throw bad('no such folder');
  if (!st.isDirectory()) throw bad('not a folder');
  let poolJson: { format?: string; key?: string } | null;
  try {
    const bytes = await nodeFolderIO.readFile(join(abs, 'pool.json'));
    if (!bytes) throw bad('no pool.json (expected a folder written by --teachers-export)');
    poolJson = JSON.parse(new TextDecoder().decode(bytes)) as { format?: string; key?: string };
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw bad(`pool.json is unreadable (${(err as Error).message.split('\n')[0]})`);
  }
  if (poolJson?.format !== 'distillery-teacher-pool' || typeof poolJson.key !== 'string') throw bad('pool.json is not a Distillery teacher pool');
  const { io, root } = flatIO(abs);
  let items;
  try {
    items = await folderTeacherStore(io, root).get(poolJson.key);
  } catch (err) {
    throw bad((err as Error).message.split('\n')[0]);
  }
  if (!items || items.length === 0) throw bad('a teacher listed in pool.json is missing (model.json or weights.bin)');
  const teachers: Teacher[] = [];
  try {
    for (const item of items) teachers.push(deserializeTeacher(item));
  } catch (err) {
    for (const t of teachers) Object.values(t.params).forEach((p) => p.dispose());
    throw bad((err as Error).message);
  }
  return makeTeacherPool(teachers, poolJson.key);
}

/** Teachers must fit the run's images and classes; one line saying what differs. */
export function assertTeachersFit(pool: TeacherPool, subset: Subset, from: string): void {
  const s = pool.teachers[0].spec;
  const t = subset.train;
  if (s.channels !== t.channels || s.height !== t.height || s.width !== t.width || s.numClasses !== t.numClasses)
    throw new UserError(
      `${from}: the teachers take ${s.numClasses} classes of ${s.height}×${s.width}×${s.channels} images, ` +
        `this run has ${t.numClasses} classes of ${t.height}×${t.width}×${t.channels}`,
    );
}

export interface ObtainTeachersOptions {
  subset: Subset;
  /** Dataset identity for the cache key (the dataset's name). */
  dataset: string;
  realPerClass: number | null;
  net: NetConfig;
  count: number;
  epochs: number;
  seed: number;
  /** Cache root (null: no cache). */
  cacheDir: string | null;
  importDir: string | null;
  /** --teachers was given: an import must hold exactly `count`. */
  countGiven: boolean;
  onProgress?: TeacherPoolOptions['onProgress'];
  shouldStop?: () => boolean;
  /** A notice worth a permanent line (e.g. an imported pool made from other data). */
  onNote?: (message: string) => void;
}

export interface ObtainedTeachers {
  pool: TeacherPool;
  source: 'trained' | 'cache' | 'import';
  /** The pool's folder in the cache (null for an import). */
  cacheFolder: string | null;
  ms: number;
}

export async function obtainTeachers(o: ObtainTeachersOptions): Promise<ObtainedTeachers> {
  const t0 = performance.now();
  const poolOpts: TeacherPoolOptions = {
    subset: o.subset,
    dataset: o.dataset,
    realPerClass: o.realPerClass,
    net: o.net,
    count: o.count,
    epochs: o.epochs,
    seed: o.seed,
    onProgress: o.onProgress,
    shouldStop: o.shouldStop,
  };
  if (o.importDir !== null) {
    const pool = await importTeacherPool(o.importDir);
    try {
      assertTeachersFit(pool, o.subset, `--teachers-import ${o.importDir}`);
      if (o.countGiven && pool.teachers.length !== o.count)
        throw new UserError(`--teachers ${o.count}, but --teachers-import ${o.importDir} holds ${pool.teachers.length}`);
      // same key ⇔ the same data, net and training as this run would have used
      const expected = await teacherPoolKeyFor({ ...poolOpts, count: pool.teachers.length, epochs: pool.teachers[0].epochs });
      if (expected !== pool.key)
        o.onNote?.(`the imported teachers were trained on other data or settings than this run's (pool ${pool.key}); used as they are`);
    } catch (err) {
      pool.dispose();
      throw err;
    }
    return { pool, source: 'import', cacheFolder: null, ms: performance.now() - t0 };
  }
  const store = o.cacheDir !== null ? folderTeacherStore(nodeFolderIO, o.cacheDir) : null;
  const pool = await loadOrTrainTeacherPool(store, poolOpts);
  return {
    pool,
    source: pool.fromCache ? 'cache' : 'trained',
    cacheFolder: o.cacheDir !== null ? join(o.cacheDir, pool.key) : null,
    ms: performance.now() - t0,
  };
}
