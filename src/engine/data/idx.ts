/**
 * MNIST-family IDX reader (MNIST, Fashion-MNIST, KMNIST, or any IDX pair):
 * idx3 images (magic 0x00000803) and idx1 labels (0x00000801), big-endian
 * dimensions, raw or .gz. Pairs are matched by name: "train…" and
 * "t10k…"/"test…".
 */
import { expandArchives } from './archive';
import { assembleDataset, type ReaderOptions } from './assemble';
import { basename, idxMagic, readU32BE, type VirtualFile } from './bytes';
import { findCatalogEntry } from './catalog';
import { UserError, type ImageDataset, type ImageSplit } from './types';

export interface IdxArray {
  dims: number[];
  /** The payload (a view into the input). */
  data: Uint8Array;
}

/** Parse one IDX file of unsigned bytes, checking that its size matches its header exactly. */
export function parseIdx(bytes: Uint8Array, path: string): IdxArray {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) {
    throw new UserError(`IDX file ${path}: bad magic number (not an IDX file)`);
  }
  if (bytes[2] !== 0x08) {
    throw new UserError(`IDX file ${path}: element type 0x${bytes[2].toString(16).padStart(2, '0')} is not supported (only unsigned bytes, 0x08)`);
  }
  const nd = bytes[3];
  if (nd < 1 || nd > 4) throw new UserError(`IDX file ${path}: unsupported number of dimensions ${nd}`);
  const header = 4 + 4 * nd;
  if (bytes.length < header) throw new UserError(`IDX file ${path}: truncated header`);
  const dims: number[] = [];
  for (let i = 0; i < nd; i++) dims.push(readU32BE(bytes, 4 + 4 * i));
  const want = dims.reduce((a, d) => a * d, 1);
  const found = bytes.length - header;
  if (found !== want) {
    const what = nd === 1 ? 'labels' : 'pixels';
    throw new UserError(`IDX file ${path}: expected ${want} bytes of ${what}, found ${found}`);
  }
  return { dims, data: bytes.subarray(header) };
}

type Family = 'mnist' | 'fashion-mnist' | 'kmnist';

/** Guess the dataset from the paths ("…/fashion-mnist/…", "kmnist-…", "mnist-t10k-…"). */
function familyFromPaths(paths: string[]): Family | null {
  const s = paths.join('\n').toLowerCase();
  if (/fashion|fmnist/.test(s)) return 'fashion-mnist';
  if (/kmnist|kuzushiji/.test(s)) return 'kmnist';
  if (/mnist/.test(s)) return 'mnist';
  return null;
}

function splitOf(path: string): 'train' | 'test' | null {
  const b = basename(path).toLowerCase();
  if (/train/.test(b)) return 'train';
  if (/t10k|test/.test(b)) return 'test';
  return null;
}

/**
 * Read an MNIST-style dataset from IDX files (.gz or raw; loose or in an
 * archive). Both splits → the official split; one split (e.g. only t10k) → a
 * seeded per-class split, and the name says so. The complete official MNIST /
 * Fashion-MNIST gets the published normalisation constants.
 */
export function readIdx(files: VirtualFile[], opts: ReaderOptions = {}): ImageDataset {
  const all = expandArchives(files, opts.onProgress).filter((f) => idxMagic(f.bytes) !== null || /idx\d/i.test(f.path));
  const images: Partial<Record<'train' | 'test', VirtualFile>> = {};
  const labels: Partial<Record<'train' | 'test', VirtualFile>> = {};
  const lone = all.length === 2 && all.every((f) => !splitOf(f.path)); // one unnamed images+labels pair: a single split
  for (const f of all) {
    const nd = f.bytes[3];
    const isImages = idxMagic(f.bytes) === 3;
    const isLabels = idxMagic(f.bytes) === 1;
    if (!isImages && !isLabels) {
      throw new UserError(`IDX file ${f.path}: expected images (magic 0x00000803) or labels (0x00000801), found ${idxMagic(f.bytes) === null ? 'bad magic number' : `${nd} dimensions`}`);
    }
    const split = splitOf(f.path) ?? (lone ? 'train' : null);
    if (!split) throw new UserError(`IDX file ${f.path}: cannot tell whether it is the train or the test split (name it train-… or t10k-…)`);
    const slot = isImages ? images : labels;
    if (slot[split]) throw new UserError(`two ${split} ${isImages ? 'image' : 'label'} IDX files: ${slot[split]!.path} and ${f.path}`);
    slot[split] = f;
  }
  const splits: Partial<Record<'train' | 'test', ImageSplit>> = {};
  let height = 0;
  let width = 0;
  for (const s of ['train', 'test'] as const) {
    const im = images[s];
    const lb = labels[s];
    if (!im && !lb) continue;
    if (!im) throw new UserError(`IDX: ${lb!.path} has no matching ${s} images file`);
    if (!lb) throw new UserError(`IDX: ${im.path} has no matching ${s} labels file`);
    const a = parseIdx(im.bytes, im.path);
    const l = parseIdx(lb.bytes, lb.path);
    const [n, h, w] = a.dims;
    if (l.dims[0] !== n) throw new UserError(`IDX: ${im.path} has ${n} images but ${lb.path} has ${l.dims[0]} labels`);
    if (height && (h !== height || w !== width)) {
      throw new UserError(`IDX: ${im.path} has ${h}×${w} images but the other split has ${height}×${width}`);
    }
    height = h;
    width = w;
    splits[s] = { images: a.data.slice(), labels: Int32Array.from(l.data), count: n };
  }
  if (!splits.train && !splits.test) throw new UserError('no IDX files found');

  const named = opts.name ? findCatalogEntry(opts.name) : undefined;
  const family: Family | null =
    named && named.format === 'idx' ? (named.id as Family) : familyFromPaths([...Object.values(images), ...Object.values(labels)].map((f) => f!.path));
  let maxLabel = 0;
  for (const sp of Object.values(splits)) for (const v of sp!.labels) maxLabel = Math.max(maxLabel, v);
  let classNames: string[];
  if (family) {
    classNames = [...findCatalogEntry(family)!.classNames];
    if (maxLabel >= classNames.length) {
      throw new UserError(`IDX: label ${maxLabel} found, but ${family} has ${classNames.length} classes`);
    }
  } else {
    classNames = Array.from({ length: maxLabel + 1 }, (_, i) => String(i));
  }
  const complete = splits.train?.count === 60000 && splits.test?.count === 10000;
  return assembleDataset(
    {
      name: family ?? 'idx-dataset',
      classNames,
      height,
      width,
      channels: 1,
      train: splits.train ?? null,
      test: splits.test ?? null,
      onlyWhat: splits.train ? 'train files only' : 't10k only',
      standardId: family && complete ? family : undefined,
    },
    opts,
  );
}
