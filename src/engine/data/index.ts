/**
 * The data module's public API in one import (Node-only download code lives
 * in src/cli/download.ts; the IndexedDB cache in ./browserFetch).
 */
export * from './types';
export type { VirtualFile } from './bytes';
export type { ReaderOptions } from './assemble';
export { loadDatasetFromFiles, detectFormat, type DatasetFormat } from './load';
export { readCifarBinary } from './cifar';
export { readIdx, parseIdx } from './idx';
export { readImageFolder } from './imageFolder';
export { decodeImage } from './decodeImage';
export { expandArchives } from './archive';
export { loadBuiltinDataset, BUILTIN_CLASS_NAMES } from './builtin';
export { CATALOG, findCatalogEntry, type CatalogEntry, type CatalogFile, type CatalogFormat } from './catalog';
export { makeSubset, toNormalizedTensor, toPixels, computeNormalization, type RealPool, type Subset } from './subset';
export { stratifiedSplit, gatherSplit } from './split';
