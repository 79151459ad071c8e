/**
 * `--dataset` → ImageDataset: 'builtin' (generated), a catalog id
 * (downloaded once into the cache by download.ts), or a path on disk (an
 * archive, a folder, or comma-separated files) handed to loadDatasetFromFiles.
 * Also resolves `--classes` given as names.
 */
import { loadBuiltinDataset } from '../engine/data/builtin';
import { CATALOG, findCatalogEntry } from '../engine/data/catalog';
import { loadDatasetFromFiles } from '../engine/data/load';
import { UserError, type ImageDataset, type ProgressFn } from '../engine/data/types';
import type { ClassSpec } from './args';
import { loadCatalogDataset } from './download';
import { looksLikePath, readVirtualFiles } from './files';

export interface LoadedDataset {
  dataset: ImageDataset;
  /** How it was found: 'builtin', 'catalog' or 'path'. */
  source: 'builtin' | 'catalog' | 'path';
}

export async function loadDatasetSpec(spec: string, onProgress?: ProgressFn): Promise<LoadedDataset> {
  const hasSeparator = /[\\/]/.test(spec) || spec.includes(',');
  const entry = hasSeparator ? undefined : findCatalogEntry(spec);
  if (entry?.format === 'builtin') return { dataset: loadBuiltinDataset(), source: 'builtin' };
  if (entry) return { dataset: await loadCatalogDataset(entry, { onProgress }), source: 'catalog' };
  if (await looksLikePath(spec)) {
    const files = await readVirtualFiles(spec, onProgress);
    return { dataset: await loadDatasetFromFiles(files, { onProgress }), source: 'path' };
  }
  if (hasSeparator) throw new UserError(`--dataset ${spec}: no such file or folder`);
  throw new UserError(
    `unknown dataset '${spec}': not a catalog id (${CATALOG.map((e) => e.id).join(', ')}) and no file or folder of that name`,
  );
}

/** Class indices from a --classes value, checked against the dataset (null = all classes). */
export function resolveClasses(spec: ClassSpec, dataset: ImageDataset): number[] | null {
  if (spec === null) return null;
  const n = dataset.classNames.length;
  if ('indices' in spec) {
    for (const k of spec.indices)
      if (k >= n) throw new UserError(`--classes: class ${k} does not exist (${dataset.name} has ${n} classes: 0–${n - 1})`);
    return spec.indices;
  }
  const lower = dataset.classNames.map((c) => c.toLowerCase());
  return spec.names.map((name) => {
    const exact = dataset.classNames.indexOf(name);
    const k = exact >= 0 ? exact : lower.indexOf(name.toLowerCase());
    if (k < 0) {
      const shown = dataset.classNames.slice(0, 12).join(', ') + (n > 12 ? ', …' : '');
      throw new UserError(`--classes: unknown class '${name}' (${dataset.name} has: ${shown})`);
    }
    return k;
  });
}
