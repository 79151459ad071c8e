/**
 * TeacherStore in the browser's IndexedDB (idb-keyval): one record per pool
 * key holding the serialised teachers (ArrayBuffers are stored as they are).
 * The database opens on first use, so importing this module is safe anywhere.
 */
import { createStore, get, set, type UseStore } from 'idb-keyval';
import type { SerializedTeacher, TeacherStore } from './types';

interface PoolRecord {
  format: 'distillery-teacher-pool';
  items: SerializedTeacher[];
}

export function idbTeacherStore(dbName = 'distillery-teachers', storeName = 'pools'): TeacherStore {
  let store: UseStore | null = null;
  const open = () => {
    if (typeof indexedDB === 'undefined') throw new Error('IndexedDB is not available here');
    return (store ??= createStore(dbName, storeName));
  };
  return {
    async get(key) {
      const rec = (await get(key, open())) as PoolRecord | undefined;
      return rec && rec.format === 'distillery-teacher-pool' ? rec.items : null;
    },
    async put(key, items) {
      const rec: PoolRecord = { format: 'distillery-teacher-pool', items };
      await set(key, rec, open());
    },
  };
}
