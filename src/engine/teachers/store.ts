/**
 * TeacherStore implementations that need no browser API: in memory (tests, a
 * worker session) and a folder layout written through caller-supplied file
 * callbacks (the CLI passes node:fs ones; the engine stays free of `node:`).
 *
 * Folder layout, one tfjs-style model per teacher:
 *   <root>/<key>/teacher-0/model.json   <root>/<key>/teacher-0/weights.bin
 *   …
 *   <root>/<key>/pool.json              written last: its presence marks a complete pool
 */
import { WEIGHTS_FILE } from './serialize';
import type { SerializedTeacher, TeacherModelJson, TeacherStore } from './types';

export function memoryTeacherStore(): TeacherStore & { keys(): string[] } {
  const map = new Map<string, SerializedTeacher[]>();
  const copy = (items: SerializedTeacher[]) =>
    items.map((t) => ({ modelJson: JSON.parse(JSON.stringify(t.modelJson)) as TeacherModelJson, weightData: t.weightData.slice(0) }));
  return {
    async get(key) {
      const items = map.get(key);
      return items ? copy(items) : null;
    },
    async put(key, items) {
      map.set(key, copy(items));
    },
    keys: () => [...map.keys()],
  };
}

export interface FolderIO {
  /** The file's bytes, or null when it does not exist. */
  readFile(path: string): Promise<Uint8Array | null>;
  /** Writes the file, creating missing parent folders. */
  writeFile(path: string, data: Uint8Array): Promise<void>;
}

interface PoolJson {
  format: 'distillery-teacher-pool';
  key: string;
  count: number;
  teachers: string[];
}

export function folderTeacherStore(io: FolderIO, root: string): TeacherStore {
  const base = root.replace(/\/+$/, '');
  const dir = (key: string) => {
    if (!/^[A-Za-z0-9._-]+$/.test(key) || key.startsWith('.')) throw new Error(`bad teacher pool key '${key}'`);
    return `${base}/${key}`;
  };
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  return {
    async get(key) {
      const d = dir(key);
      const poolBytes = await io.readFile(`${d}/pool.json`);
      if (!poolBytes) return null;
      const pool = JSON.parse(dec.decode(poolBytes)) as PoolJson;
      if (pool.format !== 'distillery-teacher-pool' || pool.key !== key) throw new Error(`${d}/pool.json is not this pool's`);
      const items: SerializedTeacher[] = [];
      for (const sub of pool.teachers) {
        const json = await io.readFile(`${d}/${sub}/model.json`);
        if (!json) return null;
        const modelJson = JSON.parse(dec.decode(json)) as TeacherModelJson;
        const paths = modelJson.weightsManifest.flatMap((g) => g.paths);
        const parts: Uint8Array[] = [];
        for (const p of paths) {
          const bytes = await io.readFile(`${d}/${sub}/${p}`);
          if (!bytes) return null;
          parts.push(bytes);
        }
        items.push({ modelJson, weightData: concat(parts) });
      }
      return items;
    },
    async put(key, items) {
      const d = dir(key);
      const subs = items.map((_, i) => `teacher-${i}`);
      for (let i = 0; i < items.length; i++) {
        const { modelJson, weightData } = items[i];
        const oneFile = { ...modelJson, weightsManifest: [{ paths: [WEIGHTS_FILE], weights: modelJson.weightsManifest.flatMap((g) => g.weights) }] };
        await io.writeFile(`${d}/${subs[i]}/${WEIGHTS_FILE}`, new Uint8Array(weightData));
        await io.writeFile(`${d}/${subs[i]}/model.json`, enc.encode(JSON.stringify(oneFile, null, 1)));
      }
      const pool: PoolJson = { format: 'distillery-teacher-pool', key, count: items.length, teachers: subs };
      await io.writeFile(`${d}/pool.json`, enc.encode(JSON.stringify(pool, null, 1)));
    },
  };
}

/** One ArrayBuffer holding the parts back to back (exactly sized, offset 0). */
function concat(parts: Uint8Array[]): ArrayBuffer {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out.buffer;
}
