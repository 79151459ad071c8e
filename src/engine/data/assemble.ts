/**
 * Common last step of every reader: fill in a missing split (seeded, per
 * class), choose the dataset name and the normalisation constants.
 */
import { findCatalogEntry } from './catalog';
import { computeNormalization } from './normalization';
import { splitLabel, stratifiedSplit } from './split';
import { UserError, type ImageDataset, type ImageSplit, type ProgressFn } from './types';

/** Options every reader (and loadDatasetFromFiles) accepts. */
export interface ReaderOptions {
  /** Dataset name; default: the format's standard name (e.g. "cifar10") or the archive's file name. */
  name?: string;
  /** Fraction of images that go to test when the input has only one split (default 0.2). */
  testFraction?: number;
  /** Seed of that split (default 0). */
  seed?: number;
  onProgress?: ProgressFn;
}

export const DEFAULT_TEST_FRACTION = 0.2;

export function assembleDataset(
  p: {
    name: string;
    classNames: string[];
    height: number;
    width: number;
    channels: 1 | 3;
    train: ImageSplit | null;
    test: ImageSplit | null;
    /** Only-one-split wording, e.g. "t10k only". */
    onlyWhat?: string;
    /** Catalog id when this is the complete standard dataset: its published normalisation is used. */
    standardId?: string;
  },
  opts: ReaderOptions,
): ImageDataset {
  let { train, test } = p;
  let name = opts.name ?? p.name;
  let standard = p.standardId;
  if (!train && !test) throw new UserError(`${name}: no images found`);
  if (!train || !test) {
    const f = opts.testFraction ?? DEFAULT_TEST_FRACTION;
    const one = (train ?? test) as ImageSplit;
    const s = stratifiedSplit(one, p.height * p.width * p.channels, p.classNames.length, f, opts.seed ?? 0);
    train = s.train;
    test = s.test;
    name = `${name} (${p.onlyWhat ?? (p.train ? 'train split only' : 'test split only')}, seeded ${splitLabel(f)} split)`;
    standard = undefined;
  }
  if (train.count === 0) throw new UserError(`${name}: the training split has no images`);
  const published = standard ? findCatalogEntry(standard)?.normalization : null;
  return {
    name,
    classNames: p.classNames,
    height: p.height,
    width: p.width,
    channels: p.channels,
    train,
    test,
    normalization: published ? { mean: [...published.mean], std: [...published.std] } : computeNormalization(train, p.channels),
  };
}
