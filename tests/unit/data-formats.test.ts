/**
 * Dataset readers on fixtures written here (CIFAR binary records, IDX files,
 * PNG/JPEG images, packed as .gz / .tar.gz / .zip): exact pixels and labels,
 * format detection, and one-line UserErrors for damaged input.
 */
import { gzipSync, zipSync } from 'fflate';
import { encode as encodePng } from 'fast-png';
import jpeg from 'jpeg-js';
import { createTar } from 'nanotar';
import { describe, expect, it } from 'vitest';
import { crc32, type VirtualFile } from '../../src/engine/data/bytes';
import { readCifarBinary } from '../../src/engine/data/cifar';
import { jpegComponents } from '../../src/engine/data/decodeImage';
import { parseIdx, readIdx } from '../../src/engine/data/idx';
import { readImageFolder } from '../../src/engine/data/imageFolder';
import { loadDatasetFromFiles } from '../../src/engine/data/load';
import { UserError, type ImageDataset } from '../../src/engine/data/types';
import { Rng } from '../../src/engine/rng';

const enc = (s: string) => new TextEncoder().encode(s);

// ---------- fixture writers ----------

/** n random CIFAR records; returns the file bytes and the expected NHWC pixels / labels. */
function cifarRecords(n: number, kind: 10 | 100, rng: Rng) {
  const lb = kind === 10 ? 1 : 2;
  const rec = lb + 3072;
  const bytes = new Uint8Array(n * rec);
  const nhwc = new Uint8Array(n * 3072);
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const label = rng.int(0, kind - 1);
    labels.push(label);
    if (kind === 100) bytes[i * rec] = rng.int(0, 19); // coarse label, ignored
    bytes[i * rec + lb - 1] = label;
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 32; y++) {
        for (let x = 0; x < 32; x++) {
          const v = rng.int(0, 255);
          bytes[i * rec + lb + c * 1024 + y * 32 + x] = v; // planar CHW in the file
          nhwc[((i * 32 + y) * 32 + x) * 3 + c] = v; // interleaved HWC expected
        }
      }
    }
  }
  return { bytes, nhwc, labels };
}

function idxFile(dims: number[], data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  out[2] = 0x08;
  out[3] = dims.length;
  const dv = new DataView(out.buffer);
  dims.forEach((d, i) => dv.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

function mnistLike(n: number, rng: Rng, h = 28, w = 28) {
  const px = new Uint8Array(n * h * w);
  for (let i = 0; i < px.length; i++) px[i] = rng.int(0, 255);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) labels[i] = i % 10; // every class present
  return { px, labels, images: idxFile([n, h, w], px), labelFile: idxFile([n], labels) };
}

function solidRgb(w: number, h: number, r: number, g: number, b: number, noiseSeed?: number): Uint8Array {
  const d = new Uint8Array(w * h * 3);
  const rng = noiseSeed === undefined ? null : new Rng(noiseSeed);
  for (let i = 0; i < w * h; i++) {
    d[3 * i] = rng ? rng.int(0, 255) : r;
    d[3 * i + 1] = rng ? rng.int(0, 255) : g;
    d[3 * i + 2] = rng ? rng.int(0, 255) : b;
  }
  return d;
}

const png = (w: number, h: number, data: Uint8Array, channels: number) => encodePng({ width: w, height: h, data, channels, depth: 8 });

async function expectUserError(p: Promise<unknown> | (() => unknown), re: RegExp) {
  let err: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  expect(err, `expected a UserError matching ${re}`).toBeInstanceOf(UserError);
  expect((err as Error).message).toMatch(re);
  expect((err as Error).message).not.toContain('\n');
}

function pixelAt(ds: ImageDataset, split: 'train' | 'test', i: number): number[] {
  const size = ds.height * ds.width * ds.channels;
  return Array.from(ds[split].images.subarray(i * size, (i + 1) * size));
}

// ---------- CIFAR ----------

describe('CIFAR binary', () => {
  const rng = new Rng(1);
  const b1 = cifarRecords(3, 10, rng);
  const b2 = cifarRecords(2, 10, rng);
  const t = cifarRecords(4, 10, rng);
  const meta = enc('airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n');

  it('reads loose batch files, planar CHW → NHWC, in batch order', () => {
    const files: VirtualFile[] = [
      { path: 'cifar-10-batches-bin/data_batch_2.bin', bytes: b2.bytes },
      { path: 'cifar-10-batches-bin/test_batch.bin', bytes: t.bytes },
      { path: 'cifar-10-batches-bin/data_batch_1.bin', bytes: b1.bytes },
      { path: 'cifar-10-batches-bin/batches.meta.txt', bytes: meta },
    ];
    const ds = readCifarBinary(files);
    expect(ds.name).toBe('cifar10');
    expect([ds.height, ds.width, ds.channels]).toEqual([32, 32, 3]);
    expect(ds.train.count).toBe(5);
    expect(ds.test.count).toBe(4);
    expect(Array.from(ds.train.images)).toEqual([...b1.nhwc, ...b2.nhwc]);
    expect(Array.from(ds.train.labels)).toEqual([...b1.labels, ...b2.labels]);
    expect(Array.from(ds.test.images)).toEqual(Array.from(t.nhwc));
    expect(Array.from(ds.test.labels)).toEqual(t.labels);
    expect(ds.classNames[0]).toBe('airplane');
    expect(ds.classNames[9]).toBe('truck');
    // a partial set is not the standard dataset: normalisation is computed (≈ 0.5 for uniform random bytes)
    expect(ds.normalization.mean[0]).toBeGreaterThan(0.35);
    expect(ds.normalization.mean[0]).not.toBeCloseTo(0.4914, 4);
  });

  it('reads the official .tar.gz layout and takes class names from batches.meta.txt', async () => {
    const names = ['a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7', 'a8', 'a9'];
    const tgz = gzipSync(
      createTar([
        { name: 'cifar-10-batches-bin/', attrs: {} },
        { name: 'cifar-10-batches-bin/batches.meta.txt', data: enc(names.join('\n') + '\n') },
        { name: 'cifar-10-batches-bin/data_batch_1.bin', data: b1.bytes },
        { name: 'cifar-10-batches-bin/test_batch.bin', data: t.bytes },
        { name: 'cifar-10-batches-bin/readme.html', data: enc('<html></html>') },
      ]),
    );
    const ds = await loadDatasetFromFiles([{ path: 'cifar-10-binary.tar.gz', bytes: tgz }]);
    expect(ds.classNames).toEqual(names);
    expect(Array.from(ds.train.images)).toEqual(Array.from(b1.nhwc));
    expect(Array.from(ds.test.labels)).toEqual(t.labels);
  });

  it('reads CIFAR-100 fine labels (second byte), standard names without a meta file', () => {
    const r = cifarRecords(3, 100, new Rng(5));
    const r2 = cifarRecords(2, 100, new Rng(6));
    const ds = readCifarBinary([
      { path: 'cifar-100-binary/train.bin', bytes: r.bytes },
      { path: 'cifar-100-binary/test.bin', bytes: r2.bytes },
    ]);
    expect(ds.name).toBe('cifar100');
    expect(ds.classNames.length).toBe(100);
    expect(ds.classNames[0]).toBe('apple');
    expect(ds.classNames[99]).toBe('worm');
    expect(Array.from(ds.train.labels)).toEqual(r.labels);
    expect(Array.from(ds.train.images)).toEqual(Array.from(r.nhwc));
  });

  it('rejects a truncated batch, a bad label and a wrong meta file', async () => {
    await expectUserError(
      () => readCifarBinary([{ path: 'data_batch_1.bin', bytes: b1.bytes.subarray(0, 3073 * 2 + 100) }]),
      /data_batch_1\.bin: 6246 bytes is not a whole number of 3073-byte CIFAR-10 records/,
    );
    const bad = b1.bytes.slice();
    bad[3073] = 10;
    await expectUserError(
      () => readCifarBinary([{ path: 'data_batch_1.bin', bytes: bad }, { path: 'test_batch.bin', bytes: t.bytes }]),
      /record 1 has label 10/,
    );
    await expectUserError(
      () =>
        readCifarBinary([
          { path: 'data_batch_1.bin', bytes: b1.bytes },
          { path: 'test_batch.bin', bytes: t.bytes },
          { path: 'batches.meta.txt', bytes: enc('cat\ndog\n') },
        ]),
      /expected 10 class names, found 2/,
    );
  });
});

// ---------- IDX ----------

describe('IDX (MNIST family)', () => {
  const rng = new Rng(2);
  const tr = mnistLike(20, rng);
  const te = mnistLike(10, rng);

  it('reads raw and gzipped train + t10k files exactly; names classes by family', async () => {
    const ds = await loadDatasetFromFiles([
      { path: 'fashion/train-images-idx3-ubyte.gz', bytes: gzipSync(tr.images) },
      { path: 'fashion/train-labels-idx1-ubyte', bytes: tr.labelFile },
      { path: 'fashion/t10k-images-idx3-ubyte', bytes: te.images },
      { path: 'fashion/t10k-labels-idx1-ubyte.gz', bytes: gzipSync(te.labelFile) },
    ]);
    expect(ds.name).toBe('fashion-mnist');
    expect(ds.classNames[0]).toBe('T-shirt/top');
    expect([ds.height, ds.width, ds.channels]).toEqual([28, 28, 1]);
    expect(Array.from(ds.train.images)).toEqual(Array.from(tr.px));
    expect(Array.from(ds.train.labels)).toEqual(Array.from(tr.labels));
    expect(Array.from(ds.test.images)).toEqual(Array.from(te.px));
    expect(Array.from(ds.test.labels)).toEqual(Array.from(te.labels));
  });

  it('makes a seeded per-class 80:20 split when only t10k is present, and says so', () => {
    const one = mnistLike(50, new Rng(3), 4, 4); // 5 per class
    const files = [
      { path: 'mnist-t10k-images-idx3-ubyte', bytes: one.images },
      { path: 'mnist-t10k-labels-idx1-ubyte', bytes: one.labelFile },
    ];
    const a = readIdx(files, { seed: 7 });
    const b = readIdx(files, { seed: 7 });
    const c = readIdx(files, { seed: 8 });
    expect(a.name).toMatch(/^mnist \(t10k only, seeded 80:20 split\)$/);
    expect(a.classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(a.train.count).toBe(40);
    expect(a.test.count).toBe(10);
    for (let k = 0; k < 10; k++) expect(Array.from(a.test.labels).filter((l) => l === k).length).toBe(1);
    expect(Array.from(a.test.images)).toEqual(Array.from(b.test.images));
    expect(Array.from(a.test.images)).not.toEqual(Array.from(c.test.images));
    // every image lands in exactly one split, with its own label
    const key = (px: number[], l: number) => `${l}:${px.join(',')}`;
    const orig = new Set(Array.from({ length: 50 }, (_, i) => key(Array.from(one.px.subarray(i * 16, i * 16 + 16)), one.labels[i])));
    const got = [
      ...Array.from({ length: 40 }, (_, i) => key(pixelAt(a, 'train', i), a.train.labels[i])),
      ...Array.from({ length: 10 }, (_, i) => key(pixelAt(a, 'test', i), a.test.labels[i])),
    ];
    expect(new Set(got)).toEqual(orig);
  });

  it('a single IDX pair without train/test in its names is one split (seeded split)', () => {
    const one = mnistLike(20, new Rng(4), 2, 2);
    const ds = readIdx([
      { path: 'images.idx3', bytes: one.images },
      { path: 'labels.idx1', bytes: one.labelFile },
    ]);
    expect(ds.name).toBe('idx-dataset (train files only, seeded 80:20 split)');
    expect(ds.train.count + ds.test.count).toBe(20);
  });

  it('rejects bad magic, wrong sizes, mismatched counts, corrupt gzip', async () => {
    expect(() => parseIdx(enc('hello world!'), 'x')).toThrow(/IDX file x: bad magic number/);
    await expectUserError(
      () => parseIdx(tr.images.subarray(0, 16 + 1234), 'train-images-idx3-ubyte'),
      /IDX file train-images-idx3-ubyte: expected 15680 bytes of pixels, found 1234/,
    );
    await expectUserError(
      () =>
        readIdx([
          { path: 'train-images-idx3-ubyte', bytes: tr.images },
          { path: 'train-labels-idx1-ubyte', bytes: te.labelFile },
        ]),
      /has 20 images but .* has 10 labels/,
    );
    const gz = gzipSync(tr.images);
    await expectUserError(
      loadDatasetFromFiles([{ path: 'train-images-idx3-ubyte.gz', bytes: gz.subarray(0, gz.length >> 1) }]),
      /train-images-idx3-ubyte\.gz: truncated gzip stream/,
    );
    const flipped = gz.slice();
    flipped[gz.length - 6] ^= 0xff; // damage the CRC-32 in the trailer
    await expectUserError(
      loadDatasetFromFiles([{ path: 'x.gz', bytes: flipped }]),
      /x\.gz: (corrupt|truncated).*gzip stream/,
    );
    await expectUserError(
      () => readIdx([{ path: 'train-images-idx3-ubyte', bytes: tr.images }]),
      /has no matching train labels file/,
    );
  });
});

// ---------- ImageFolder ----------

describe('ImageFolder (PNG / JPEG)', () => {
  it('reads a zip with train/ and test/; classes in code-point order; RGBA loses alpha', async () => {
    const rgba = new Uint8Array(4 * 4 * 4);
    for (let i = 0; i < 16; i++) rgba.set([i, 2 * i, 3 * i, 77], 4 * i);
    const noisy = solidRgb(4, 4, 0, 0, 0, 9);
    const zip = zipSync({
      'root/train/dog/b.png': png(4, 4, solidRgb(4, 4, 10, 20, 30), 3),
      'root/train/dog/a.png': png(4, 4, noisy, 3),
      'root/train/Cat/x.png': png(4, 4, rgba, 4),
      'root/test/dog/1.png': png(4, 4, solidRgb(4, 4, 1, 2, 3), 3),
      'root/test/Cat/1.png': png(4, 4, solidRgb(4, 4, 4, 5, 6), 3),
      '__MACOSX/root/._a.png': enc('junk'),
      'root/README.txt': enc('not an image'),
    });
    const ds = await loadDatasetFromFiles([{ path: 'pets.zip', bytes: zip }]);
    expect(ds.name).toBe('pets');
    expect(ds.classNames).toEqual(['Cat', 'dog']); // 'C' < 'd' in code points
    expect(ds.channels).toBe(3);
    expect(ds.train.count).toBe(3);
    expect(Array.from(ds.train.labels)).toEqual([0, 1, 1]);
    const cat = pixelAt(ds, 'train', 0);
    expect(cat.slice(0, 6)).toEqual([0, 0, 0, 1, 2, 3]);
    expect(pixelAt(ds, 'train', 1)).toEqual(Array.from(noisy)); // a.png before b.png
    expect(pixelAt(ds, 'train', 2).slice(0, 3)).toEqual([10, 20, 30]);
    expect(Array.from(ds.test.labels)).toEqual([0, 1]);
    expect(pixelAt(ds, 'test', 1).slice(0, 3)).toEqual([1, 2, 3]);
  });

  it('greyscale images give a 1-channel dataset; no split folders → seeded split', async () => {
    const files: VirtualFile[] = [];
    for (const cls of ['a', 'b']) {
      for (let i = 0; i < 5; i++) {
        const g = new Uint8Array(9).fill(cls === 'a' ? i : 100 + i);
        files.push({ path: `digits/${cls}/${i}.png`, bytes: png(3, 3, g, 1) });
      }
    }
    const ds = await readImageFolder(files, { testFraction: 0.4, seed: 1, name: 'digits' });
    expect(ds.channels).toBe(1);
    expect(ds.name).toBe('digits (no train/ and test/ folders, seeded 60:40 split)');
    expect(ds.train.count).toBe(6);
    expect(ds.test.count).toBe(4);
    for (let i = 0; i < ds.train.count; i++) {
      const v = ds.train.images[i * 9];
      expect(ds.train.labels[i]).toBe(v >= 100 ? 1 : 0);
    }
  });

  it('decodes JPEG (lossy: close to the source) and reads the frame header', async () => {
    const w = 16;
    const src = solidRgb(w, w, 200, 40, 90);
    const rgba = new Uint8Array(w * w * 4);
    for (let i = 0; i < w * w; i++) rgba.set([src[3 * i], src[3 * i + 1], src[3 * i + 2], 255], 4 * i);
    const j = new Uint8Array(jpeg.encode({ width: w, height: w, data: rgba }, 95).data);
    expect(jpegComponents(j)).toBe(3);
    // hand-made frame header with one component (greyscale)
    const grey = new Uint8Array([0xff, 0xd8, 0xff, 0xc0, 0, 11, 8, 0, 16, 0, 16, 1, 1, 0x11, 0, 0xff, 0xd9]);
    expect(jpegComponents(grey)).toBe(1);
    const ds = await readImageFolder([
      { path: 'train/r/0.jpg', bytes: j },
      { path: 'train/s/0.jpg', bytes: j },
      { path: 'test/r/0.jpg', bytes: j },
    ]);
    expect(ds.channels).toBe(3);
    const px = pixelAt(ds, 'train', 0);
    for (let i = 0; i < px.length; i += 3) {
      expect(Math.abs(px[i] - 200)).toBeLessThanOrEqual(3);
      expect(Math.abs(px[i + 1] - 40)).toBeLessThanOrEqual(3);
      expect(Math.abs(px[i + 2] - 90)).toBeLessThanOrEqual(3);
    }
    // a truncated JPEG must fail, not decode to garbage
    await expectUserError(
      readImageFolder([
        { path: 'train/r/0.jpg', bytes: j.subarray(0, j.length - 40) },
        { path: 'train/s/0.jpg', bytes: j },
      ]),
      /train\/r\/0\.jpg: corrupt JPEG/,
    );
  });

  it('rejects images of different sizes, naming the file; a lone class; files outside class folders', async () => {
    await expectUserError(
      readImageFolder([
        { path: 'd/a/1.png', bytes: png(4, 4, solidRgb(4, 4, 1, 1, 1), 3) },
        { path: 'd/b/2.png', bytes: png(5, 4, solidRgb(5, 4, 1, 1, 1), 3) },
      ]),
      /d\/b\/2\.png is 5×4 but d\/a\/1\.png is 4×4/,
    );
    await expectUserError(
      readImageFolder([{ path: 'd/a/1.png', bytes: png(2, 2, solidRgb(2, 2, 1, 1, 1), 3) }, { path: 'd/a/2.png', bytes: png(2, 2, solidRgb(2, 2, 1, 1, 1), 3) }]),
      /found only 1 class folder/,
    );
    await expectUserError(
      readImageFolder([{ path: '1.png', bytes: png(2, 2, solidRgb(2, 2, 1, 1, 1), 3) }]),
      /1\.png is not inside a class folder/,
    );
    await expectUserError(
      readImageFolder([{ path: 'a/1.png', bytes: enc('GIF89a......') }]),
      /a\/1\.png: not a PNG or JPEG image/,
    );
    const p = png(4, 4, solidRgb(4, 4, 1, 1, 1), 3);
    await expectUserError(
      readImageFolder([{ path: 'a/1.png', bytes: p.subarray(0, 30) }, { path: 'b/1.png', bytes: p }]),
      /a\/1\.png: corrupt PNG/,
    );
  });
});

// ---------- archives and detection ----------

describe('archives and format detection', () => {
  it('reports truncated zip and tar archives and unknown input in one line', async () => {
    const zip = zipSync({ 'a/1.png': png(2, 2, solidRgb(2, 2, 1, 1, 1), 3), 'b/1.png': png(2, 2, solidRgb(2, 2, 9, 9, 9), 3) });
    await expectUserError(loadDatasetFromFiles([{ path: 'd.zip', bytes: zip.subarray(0, zip.length - 30) }]), /d\.zip: corrupt or truncated zip archive/);
    const tar = createTar([{ name: 'data_batch_1.bin', data: new Uint8Array(3073 * 4) }]);
    await expectUserError(
      loadDatasetFromFiles([{ path: 'c.tar.gz', bytes: gzipSync(tar.subarray(0, 2000)) }]),
      /c\.tar\.gz: truncated or corrupt tar archive/,
    );
    await expectUserError(
      loadDatasetFromFiles([{ path: 'notes.bin', bytes: enc('just some text that is no dataset') }]),
      /notes\.bin: unrecognised dataset/,
    );
    await expectUserError(loadDatasetFromFiles([]), /no files given/);
    const pickle = new Uint8Array([0x80, 0x02, 0x7d, 0x71]);
    await expectUserError(
      loadDatasetFromFiles([{ path: 'cifar-10-python.tar.gz', bytes: gzipSync(createTar([{ name: 'cifar-10-batches-py/data_batch_1', data: pickle }])) }]),
      /CIFAR "python version" \(pickle files\); use the binary version/,
    );
    await expectUserError(loadDatasetFromFiles([{ path: 'train_32x32.mat', bytes: enc('MATLAB 5.0') }]), /\.mat files .* not supported/);
  });

  it('crc32 matches the standard check value', () => {
    expect(crc32(enc('123456789'))).toBe(0xcbf43926);
  });
});
