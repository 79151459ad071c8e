/**
 * Optional: the loaders on the real files in ../shared/datasets (see its
 * README). Each test skips cleanly when its file is absent (fresh machine).
 * The CIFAR-10 JPEG zip decodes 60,000 images: a few seconds to ~20 s.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { gunzipChecked } from '../../src/engine/data/bytes';
import { findCatalogEntry } from '../../src/engine/data/catalog';
import { parseIdx } from '../../src/engine/data/idx';
import { loadDatasetFromFiles } from '../../src/engine/data/load';

const dir = fileURLToPath(new URL('../../../shared/datasets/', import.meta.url));
const cifarZip = `${dir}cifar10-jpeg.zip`;
const mnistImages = `${dir}mnist-t10k-images-idx3-ubyte.gz`;
const mnistLabels = `${dir}mnist-t10k-labels-idx1-ubyte.gz`;

const bytesOf = (p: string) => {
  const b = readFileSync(p);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
};

describe('real data in ../shared/datasets (optional)', () => {
  it.skipIf(!existsSync(cifarZip))(
    'cifar10-jpeg.zip: 50,000 / 10,000 images, 5,000 / 1,000 per class, official class order',
    async () => {
      const t0 = performance.now();
      let reports = 0;
      const ds = await loadDatasetFromFiles([{ path: 'cifar10-jpeg.zip', bytes: bytesOf(cifarZip) }], {
        onProgress: () => reports++,
      });
      const s = (performance.now() - t0) / 1000;
      console.log(`cifar10-jpeg.zip loaded in ${s.toFixed(1)} s (${reports} progress reports); normalization`, ds.normalization);
      expect(ds.name).toBe('cifar10-jpeg');
      expect(ds.classNames).toEqual(['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']);
      expect([ds.height, ds.width, ds.channels]).toEqual([32, 32, 3]);
      expect(ds.train.count).toBe(50000);
      expect(ds.test.count).toBe(10000);
      for (const [split, per] of [[ds.train, 5000], [ds.test, 1000]] as const) {
        const counts = new Array(10).fill(0);
        for (const l of split.labels) counts[l]++;
        expect(counts).toEqual(new Array(10).fill(per));
      }
      expect(reports).toBeGreaterThan(1);
      // JPEG re-encoding barely moves the channel means of the official data
      ds.normalization.mean.forEach((m, c) => expect(Math.abs(m - [0.4914, 0.4822, 0.4465][c])).toBeLessThan(0.01));
    },
    120_000,
  );

  it.skipIf(!existsSync(mnistImages) || !existsSync(mnistLabels))('MNIST t10k .gz: catalog md5, exact IDX header, seeded 8,000 / 2,000 split', async () => {
    // the catalog's md5s (torchvision's) match the official t10k files
    const md5 = (p: string) => createHash('md5').update(readFileSync(p)).digest('hex');
    const files = findCatalogEntry('mnist')!.files;
    expect(md5(mnistImages)).toBe(files.find((f) => f.name === 't10k-images-idx3-ubyte.gz')!.md5);
    expect(md5(mnistLabels)).toBe(files.find((f) => f.name === 't10k-labels-idx1-ubyte.gz')!.md5);
    expect(readFileSync(mnistImages).length).toBe(files.find((f) => f.name === 't10k-images-idx3-ubyte.gz')!.bytes);
    const t0 = performance.now();
    const labels = parseIdx(gunzipChecked(bytesOf(mnistLabels), 'labels'), 'labels');
    expect(labels.dims).toEqual([10000]);
    expect(Array.from(labels.data.subarray(0, 5))).toEqual([7, 2, 1, 0, 4]); // the well-known first test digits
    const ds = await loadDatasetFromFiles([
      { path: 'mnist-t10k-images-idx3-ubyte.gz', bytes: bytesOf(mnistImages) },
      { path: 'mnist-t10k-labels-idx1-ubyte.gz', bytes: bytesOf(mnistLabels) },
    ]);
    console.log(`MNIST t10k loaded in ${((performance.now() - t0) / 1000).toFixed(2)} s; normalization`, ds.normalization);
    expect(ds.name).toBe('mnist (t10k only, seeded 80:20 split)');
    expect([ds.height, ds.width, ds.channels]).toEqual([28, 28, 1]);
    expect(ds.train.count).toBe(8000);
    expect(ds.test.count).toBe(2000);
    expect(Math.abs(ds.normalization.mean[0] - 0.1307)).toBeLessThan(0.01);
    expect(Math.abs(ds.normalization.std[0] - 0.3081)).toBeLessThan(0.01);
  });
});
