/**
 * One entry point for user-supplied data: detects the format from magic bytes
 * and names and hands over to the right reader.
 *   gzip 1f 8b → gunzip first; zip "PK\x03\x04"; tar "ustar" at 257;
 *   CIFAR binary by file names (data_batch_N.bin, test_batch.bin / train.bin, test.bin);
 *   IDX by magic 00 00 08 01 / 00 00 08 03;  PNG / JPEG by magic → ImageFolder.
 */
import { expandArchives } from './archive';
import type { ReaderOptions } from './assemble';
import { basename, idxMagic, isJpeg, isPng, listNames, type VirtualFile } from './bytes';
import { findCifarFiles, readCifarBinary } from './cifar';
import { readIdx } from './idx';
import { readImageFolder } from './imageFolder';
import { UserError, type ImageDataset } from './types';

export type { VirtualFile } from './bytes';
export type { ReaderOptions } from './assemble';

export type DatasetFormat = 'cifar-binary' | 'idx' | 'image-folder';

/** Which reader `files` (already expanded) need, or null. */
export function detectFormat(files: VirtualFile[]): DatasetFormat | null {
  if (findCifarFiles(files)) return 'cifar-binary';
  if (files.some((f) => idxMagic(f.bytes) === 1 || idxMagic(f.bytes) === 3)) return 'idx';
  if (files.some((f) => isPng(f.bytes) || isJpeg(f.bytes))) return 'image-folder';
  return null;
}

/** "cifar10-jpeg.zip" → "cifar10-jpeg"; a picked folder → its top folder's name. */
function defaultName(files: VirtualFile[]): string {
  if (files.length === 1) return basename(files[0].path).replace(/(\.tar)?\.(zip|tgz|gz|tar)$/i, '') || 'image-folder';
  const top = files[0].path.split('/')[0];
  return files.every((f) => f.path.split('/')[0] === top) && files[0].path.includes('/') ? top : 'image-folder';
}

/**
 * Load a dataset from what the user picked: one archive (.tar.gz, .zip, .gz),
 * several loose files, or a whole folder (many VirtualFiles with relative
 * paths). Bad input raises a one-line UserError.
 */
export async function loadDatasetFromFiles(files: VirtualFile[], opts: ReaderOptions = {}): Promise<ImageDataset> {
  if (files.length === 0) throw new UserError('no files given');
  const mat = files.find((f) => /\.mat$/i.test(f.path));
  if (mat) {
    throw new UserError(`${mat.path}: MATLAB .mat files (e.g. SVHN) are not supported; convert to an ImageFolder zip (class folders of PNG/JPEG)`);
  }
  const all = expandArchives(files, opts.onProgress);
  const format = detectFormat(all);
  // The readers accept archives too; handing them the expanded list avoids decompressing twice.
  switch (format) {
    case 'cifar-binary':
      return readCifarBinary(all, opts);
    case 'idx':
      return readIdx(all, opts);
    case 'image-folder':
      return readImageFolder(all, { ...opts, name: opts.name ?? defaultName(files) });
    default:
      if (all.some((f) => /^(data_batch_\d+|test_batch|batches\.meta|train|test|meta)$/.test(basename(f.path)) && f.bytes[0] === 0x80)) {
        throw new UserError(
          `${listNames(files.map((f) => f.path), 3)}: this is the CIFAR "python version" (pickle files); use the binary version (cifar-10-binary.tar.gz / cifar-100-binary.tar.gz)`,
        );
      }
      throw new UserError(
        `${listNames(files.map((f) => f.path), 3)}: unrecognised dataset (expected CIFAR-10/100 binary batches, ` +
          `MNIST-style IDX files, or PNG/JPEG images in class folders; found ${listNames(all.map((f) => f.path))})`,
      );
  }
}
