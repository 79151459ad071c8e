/**
 * ImageFolder reader (torchvision's convention): images in one sub-folder per
 * class, optionally under top-level train/ and test/ folders; from a zip or a
 * picked folder. Class index = position of the folder name in code-point
 * sorted order (torchvision's `sorted()`), so CIFAR-10's folders come out in
 * the official order.
 */
import { expandArchives } from './archive';
import { assembleDataset, type ReaderOptions } from './assemble';
import { isJpeg, isPng, listNames, yieldToEventLoop, type VirtualFile } from './bytes';
import { decodeImage } from './decodeImage';
import { UserError, type ImageDataset, type ImageSplit } from './types';

const SPLIT_NAMES: Record<string, 'train' | 'test'> = {
  train: 'train',
  training: 'train',
  test: 'test',
  testing: 'test',
  val: 'test',
  valid: 'test',
  validation: 'test',
};

const IMAGE_EXT = /\.(png|jpe?g)$/i;

interface Entry {
  file: VirtualFile;
  split: 'train' | 'test' | null;
  cls: string;
}

function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Work out split and class of every image path (see the module comment). */
function layout(images: VirtualFile[]): Entry[] {
  let parts = images.map((f) => f.path.split('/').filter((p) => p.length > 0));
  // Drop a common root folder ("cifar10/train/cat/1.png" → "train/cat/1.png").
  while (
    parts.every((p) => p.length >= 3 && p[0] === parts[0][0]) &&
    !(parts[0][0].toLowerCase() in SPLIT_NAMES)
  ) {
    parts = parts.map((p) => p.slice(1));
  }
  const withSplit = parts.filter((p) => p.length >= 3 && p[0].toLowerCase() in SPLIT_NAMES).length;
  const useSplits = withSplit > 0;
  const entries: Entry[] = [];
  const splitFolders = new Set<string>();
  for (let i = 0; i < images.length; i++) {
    const p = parts[i];
    if (useSplits) {
      const s = p.length >= 3 ? SPLIT_NAMES[p[0].toLowerCase()] : undefined;
      if (!s) throw new UserError(`${images[i].path} is outside the train/ and test/ folders`);
      if (s === 'test') splitFolders.add(p[0].toLowerCase());
      entries.push({ file: images[i], split: s, cls: p[1] });
    } else {
      if (p.length < 2) throw new UserError(`${images[i].path} is not inside a class folder (expected <class>/<image>)`);
      entries.push({ file: images[i], split: null, cls: p[0] });
    }
  }
  if (splitFolders.size > 1) {
    throw new UserError(`both ${[...splitFolders].join('/ and ')}/ folders found; keep one test split`);
  }
  return entries;
}

/**
 * Read an ImageFolder dataset of PNG/JPEG files. All images must share one
 * size; the dataset is greyscale (1 channel) when every image is, else RGB
 * (greyscale images are replicated, alpha dropped). Without train/ and test/
 * folders a seeded per-class split is made (opts.testFraction, default 0.2).
 * Decoding reports progress and yields to the event loop now and then.
 */
export async function readImageFolder(files: VirtualFile[], opts: ReaderOptions = {}): Promise<ImageDataset> {
  const all = expandArchives(files, opts.onProgress);
  const images: VirtualFile[] = [];
  for (const f of all) {
    if (isPng(f.bytes) || isJpeg(f.bytes)) images.push(f);
    else if (IMAGE_EXT.test(f.path)) throw new UserError(`${f.path}: not a PNG or JPEG image (bad magic bytes)`);
  }
  if (images.length === 0) throw new UserError(`no PNG or JPEG images found among ${listNames(all.map((f) => f.path))}`);
  const entries = layout(images);

  const classNames = [...new Set(entries.filter((e) => e.split !== 'test').map((e) => e.cls))].sort(byCodePoint);
  const classIndex = new Map(classNames.map((c, i) => [c, i]));
  for (const e of entries) {
    if (!classIndex.has(e.cls)) throw new UserError(`class folder "${e.cls}" has test images but no training images`);
  }
  if (classNames.length < 2) {
    throw new UserError(`found only ${classNames.length} class folder (${classNames.join(', ')}); an image dataset needs at least 2 classes`);
  }
  // Deterministic order: split, class, then path.
  const splitRank = (s: Entry['split']) => (s === 'test' ? 1 : 0);
  entries.sort(
    (a, b) =>
      splitRank(a.split) - splitRank(b.split) ||
      classIndex.get(a.cls)! - classIndex.get(b.cls)! ||
      byCodePoint(a.file.path, b.file.path),
  );

  const n = entries.length;
  const nTrain = entries.filter((e) => e.split !== 'test').length;
  let width = 0;
  let height = 0;
  let firstPath = '';
  // Train and test get their own buffers (so each can be transferred to a worker on its own).
  let bufs: [Uint8Array, Uint8Array] | null = null;
  let allGrey = true;
  let lastYield = performance.now();
  for (let i = 0; i < n; i++) {
    const { file } = entries[i];
    const img = decodeImage(file.bytes, file.path);
    if (i === 0) {
      width = img.width;
      height = img.height;
      firstPath = file.path;
      bufs = [new Uint8Array(nTrain * height * width * 3), new Uint8Array((n - nTrain) * height * width * 3)];
    } else if (img.width !== width || img.height !== height) {
      throw new UserError(
        `${file.path} is ${img.width}×${img.height} but ${firstPath} is ${width}×${height}; all images must have the same size`,
      );
    }
    const px = width * height;
    const buf = i < nTrain ? bufs![0] : bufs![1];
    const dst = (i < nTrain ? i : i - nTrain) * px * 3;
    if (img.channels === 3) {
      allGrey = false;
      buf.set(img.data, dst);
    } else {
      for (let p = 0; p < px; p++) {
        const v = img.data[p];
        buf[dst + 3 * p] = v;
        buf[dst + 3 * p + 1] = v;
        buf[dst + 3 * p + 2] = v;
      }
    }
    const now = performance.now();
    if (now - lastYield > 100) {
      opts.onProgress?.(i + 1, n, 'decoding images');
      await yieldToEventLoop();
      lastYield = performance.now();
    }
  }
  opts.onProgress?.(n, n, 'decoding images');

  const channels: 1 | 3 = allGrey ? 1 : 3;
  const toChannels = (rgb: Uint8Array): Uint8Array => {
    if (!allGrey) return rgb;
    const grey = new Uint8Array(rgb.length / 3);
    for (let i = 0; i < grey.length; i++) grey[i] = rgb[3 * i];
    return grey;
  };
  const labels = entries.map((e) => classIndex.get(e.cls)!);
  const train: ImageSplit = { images: toChannels(bufs![0]), labels: Int32Array.from(labels.slice(0, nTrain)), count: nTrain };
  const test: ImageSplit = { images: toChannels(bufs![1]), labels: Int32Array.from(labels.slice(nTrain)), count: n - nTrain };
  const hasSplits = entries[0].split !== null;
  return assembleDataset(
    {
      name: 'image-folder',
      classNames,
      height,
      width,
      channels,
      train,
      test: hasSplits && nTrain < n ? test : null,
      onlyWhat: hasSplits ? 'train/ only' : 'no train/ and test/ folders',
    },
    opts,
  );
}
