/**
 * CIFAR-10 / CIFAR-100 "binary version" reader (the files of
 * cifar-10-binary.tar.gz / cifar-100-binary.tar.gz, or the archives
 * themselves). Records: CIFAR-10 = 1 label byte + 3072 pixel bytes,
 * CIFAR-100 = coarse byte + fine byte + 3072; pixels are planar (1024 R, 1024
 * G, 1024 B, rows top to bottom) and are converted here to NHWC.
 */
import { expandArchives } from './archive';
import { assembleDataset, type ReaderOptions } from './assemble';
import { basename, type VirtualFile } from './bytes';
import { CIFAR100_CLASSES, CIFAR10_CLASSES } from './catalog';
import { UserError, type ImageDataset, type ImageSplit } from './types';

const PIXELS = 32 * 32;

/** Which CIFAR files are among `files` (by name), or null when none are. */
export function findCifarFiles(files: VirtualFile[]):
  | { kind: 10; train: VirtualFile[]; test: VirtualFile[]; meta?: VirtualFile }
  | { kind: 100; train: VirtualFile[]; test: VirtualFile[]; meta?: VirtualFile }
  | null {
  const byName = (re: RegExp) => files.filter((f) => re.test(basename(f.path)));
  const train10 = byName(/^data_batch_\d+\.bin$/i);
  const test10 = byName(/^test_batch\.bin$/i);
  if (train10.length + test10.length > 0) {
    const num = (f: VirtualFile) => Number(/(\d+)\.bin$/i.exec(basename(f.path))?.[1] ?? 0);
    train10.sort((a, b) => num(a) - num(b));
    return { kind: 10, train: train10, test: test10.slice(0, 1), meta: byName(/^batches\.meta\.txt$/i)[0] };
  }
  const train100 = byName(/^train\.bin$/i);
  const test100 = byName(/^test\.bin$/i);
  if (train100.length + test100.length > 0) {
    return { kind: 100, train: train100.slice(0, 1), test: test100.slice(0, 1), meta: byName(/^fine_label_names\.txt$/i)[0] };
  }
  return null;
}

function readRecords(files: VirtualFile[], kind: 10 | 100): ImageSplit | null {
  if (files.length === 0) return null;
  const labelBytes = kind === 10 ? 1 : 2;
  const rec = labelBytes + 3 * PIXELS;
  let count = 0;
  for (const f of files) {
    if (f.bytes.length === 0 || f.bytes.length % rec !== 0) {
      throw new UserError(
        `${f.path}: ${f.bytes.length} bytes is not a whole number of ${rec}-byte CIFAR-${kind} records (truncated or not CIFAR-${kind} binary)`,
      );
    }
    count += f.bytes.length / rec;
  }
  const images = new Uint8Array(count * 3 * PIXELS);
  const labels = new Int32Array(count);
  let n = 0;
  for (const f of files) {
    const b = f.bytes;
    const m = b.length / rec;
    for (let r = 0; r < m; r++, n++) {
      const o = r * rec;
      const label = b[o + labelBytes - 1]; // CIFAR-100: the fine label (second byte)
      if (label >= kind) {
        throw new UserError(`${f.path}: record ${r} has label ${label}, but CIFAR-${kind} has ${kind} classes (not CIFAR-${kind} binary?)`);
      }
      labels[n] = label;
      const src = o + labelBytes;
      const dst = n * 3 * PIXELS;
      for (let p = 0; p < PIXELS; p++) {
        images[dst + 3 * p] = b[src + p];
        images[dst + 3 * p + 1] = b[src + PIXELS + p];
        images[dst + 3 * p + 2] = b[src + 2 * PIXELS + p];
      }
    }
  }
  return { images, labels, count };
}

function classNamesFrom(meta: VirtualFile | undefined, kind: 10 | 100): string[] {
  const standard = kind === 10 ? CIFAR10_CLASSES : CIFAR100_CLASSES;
  if (!meta) return [...standard];
  const names = new TextDecoder()
    .decode(meta.bytes)
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (names.length !== kind) {
    throw new UserError(`${meta.path}: expected ${kind} class names, found ${names.length}`);
  }
  return names;
}

/**
 * Read CIFAR-10 or CIFAR-100 binary files (loose, or the official .tar.gz).
 * With only the training or only the test file(s), a seeded per-class split is
 * made and the name says so. The complete official set is named "cifar10" /
 * "cifar100" and gets the published normalisation constants.
 */
export function readCifarBinary(files: VirtualFile[], opts: ReaderOptions = {}): ImageDataset {
  const all = expandArchives(files, opts.onProgress);
  const found = findCifarFiles(all);
  if (!found) {
    throw new UserError('no CIFAR binary files found (expected data_batch_1..5.bin + test_batch.bin, or train.bin + test.bin)');
  }
  const { kind } = found;
  const classNames = classNamesFrom(found.meta, kind);
  const train = readRecords(found.train, kind);
  const test = readRecords(found.test, kind);
  opts.onProgress?.(1, 1, 'CIFAR records read');
  const id = kind === 10 ? 'cifar10' : 'cifar100';
  const complete = train?.count === 50000 && test?.count === 10000;
  return assembleDataset(
    {
      name: id,
      classNames,
      height: 32,
      width: 32,
      channels: 3,
      train,
      test,
      onlyWhat: train ? 'training batches only' : `${basename(found.test[0].path)} only`,
      standardId: complete ? id : undefined,
    },
    opts,
  );
}
