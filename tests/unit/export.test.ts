import { describe, expect, it } from 'vitest';
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
import { decode as decodePng } from 'fast-png';
import { readNpy, writeNpy } from '../../src/engine/export/npy';
import {
  denormalizeToPixels,
  exportSyntheticZip,
  importSyntheticZip,
  safeFolderNames,
} from '../../src/engine/export/zip';
import { UserError } from '../../src/engine/data/types';
import { Rng } from '../../src/engine/rng';

const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((b) => parseInt(b, 16)));
const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

// Written by numpy 2.4 (np.save / np.lib.format.write_array): the independent reference.
const NUMPY_F4_2x3 = // np.arange(6, dtype='<f4').reshape(2, 3) * 0.5 - 1
  '934e554d5059010076007b276465736372273a20273c6634272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028322c2033292c207d202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a000080bf000000bf000000000000003f0000803f0000c03f';
const NUMPY_I8_3 = // np.array([3, -1, 7], dtype='<i8')
  '934e554d5059010076007b276465736372273a20273c6938272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028332c292c207d2020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a0300000000000000ffffffffffffffff0700000000000000';
const NUMPY_BE_F8 = // np.array([[1.5, -2.25], [3, 4]], dtype='>f8')
  '934e554d5059010076007b276465736372273a20273e6638272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028322c2032292c207d202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a3ff8000000000000c00200000000000040080000000000004010000000000000';
const NUMPY_V2_FORTRAN_I4 = // write_array(asfortranarray(arange(6, dtype='<i4').reshape(2, 3)), version=(2, 0))
  '934e554d50590200740000007b276465736372273a20273c6934272c2027666f727472616e5f6f72646572273a20547275652c20277368617065273a2028322c2033292c207d2020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a000000000300000001000000040000000200000005000000';

describe('npy', () => {
  it('writes exactly what numpy writes (float32 and int64)', () => {
    const f = Float32Array.from([0, 1, 2, 3, 4, 5], (v) => v * 0.5 - 1);
    expect(toHex(writeNpy(f, [2, 3]))).toBe(NUMPY_F4_2x3);
    expect(toHex(writeNpy(BigInt64Array.from([3n, -1n, 7n]), [3]))).toBe(NUMPY_I8_3);
  });

  it('header layout follows the v1.0 spec', () => {
    for (const shape of [[0], [7], [3, 5], [2, 3, 4, 5], [123456, 1]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const bytes = writeNpy(new Float32Array(n), shape);
      expect(Array.from(bytes.subarray(0, 8))).toEqual([0x93, 78, 85, 77, 80, 89, 1, 0]);
      const headerLen = bytes[8] | (bytes[9] << 8);
      const dataStart = 10 + headerLen;
      expect(dataStart % 64).toBe(0);
      expect(bytes[dataStart - 1]).toBe(0x0a); // '\n'
      expect(bytes.length).toBe(dataStart + 4 * n);
      const header = strFromU8(bytes.subarray(10, dataStart), true);
      const lit = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
      expect(header.trimEnd()).toBe(`{'descr': '<f4', 'fortran_order': False, 'shape': ${lit}, }`);
    }
  });

  it('round-trips float32, int64, int32 and uint8 exactly', () => {
    const rng = new Rng(1);
    const f = rng.fill(60, (r) => r.normal() * 1e3);
    f[0] = -0;
    f[1] = 1e-40; // subnormal
    const back = readNpy(writeNpy(f, [3, 4, 5]));
    expect(back.shape).toEqual([3, 4, 5]);
    expect(back.descr).toBe('<f4');
    expect(Array.from(new Uint8Array((back.data as Float32Array).buffer))).toEqual(Array.from(new Uint8Array(f.buffer)));
    const i8 = BigInt64Array.from([0n, -1n, 2n ** 62n, -(2n ** 63n)]);
    expect(Array.from(readNpy(writeNpy(i8, [4])).data as BigInt64Array)).toEqual(Array.from(i8));
    const i4 = Int32Array.from([5, -7, 2147483647]);
    expect(readNpy(writeNpy(i4, [3])).data).toEqual(i4);
    expect(readNpy(writeNpy(i4, [3])).descr).toBe('<i4');
    const u1 = Uint8Array.from([0, 255, 9]);
    expect(readNpy(writeNpy(u1, [3])).data).toEqual(u1);
  });

  it('reads big-endian data and v2.0 Fortran-order headers written by numpy', () => {
    const be = readNpy(hex(NUMPY_BE_F8));
    expect(be.shape).toEqual([2, 2]);
    expect(Array.from(be.data as Float64Array)).toEqual([1.5, -2.25, 3, 4]);
    const fo = readNpy(hex(NUMPY_V2_FORTRAN_I4));
    expect(fo.shape).toEqual([2, 3]);
    expect(Array.from(fo.data as Int32Array)).toEqual([0, 1, 2, 3, 4, 5]); // back in C order
  });

  it('rejects what it cannot read with a UserError', () => {
    expect(() => readNpy(strToU8('hello world, not numpy'))).toThrow(UserError);
    const bad = writeNpy(new Float32Array(2), [2]);
    const complex = strFromU8(bad, true).replace("'<f4'", "'<c8'");
    expect(() => readNpy(strToU8(complex, true))).toThrow(/dtype '<c8' is not supported/);
    expect(() => readNpy(bad.subarray(0, bad.length - 1))).toThrow(/truncated/);
    const v9 = bad.slice();
    v9[6] = 9;
    expect(() => readNpy(v9)).toThrow(/version 9/);
    expect(() => writeNpy(new Float32Array(5), [2, 3])).toThrow(RangeError);
  });
});

function fixture(channels: 1 | 3) {
  const h = 5;
  const w = 4;
  const labels = Int32Array.from([0, 0, 1, 2, 1]);
  const n = labels.length;
  const rng = new Rng(channels);
  const images = rng.fill(n * h * w * channels, (r) => r.normal() * 1.5);
  const normalization =
    channels === 3 ? { mean: [0.49, 0.48, 0.45], std: [0.2, 0.2, 0.2] } : { mean: [0.13], std: [0.31] };
  return { images, labels, classNames: ['cat/dog', 'CON', 'a,"b"'], height: h, width: w, channels, normalization };
}

describe('synthetic-set zip', () => {
  for (const channels of [1, 3] as const) {
    it(`exports and re-imports ${channels === 1 ? 'grey' : 'RGB'} sets (npy exact, PNG within 1/255)`, () => {
      const fx = fixture(channels);
      const progress: number[] = [];
      const zip = exportSyntheticZip({
        ...fx,
        meta: { config: { ipc: 2, seed: 3 }, accuracy: 0.5, backend: 'cpu' },
        onProgress: (done) => progress.push(done),
      });
      expect(progress.at(-1)).toBe(5);

      const entries = unzipSync(zip);
      expect(Object.keys(entries).sort()).toEqual(
        [
          'cat_dog/0.png',
          'cat_dog/1.png',
          '_CON/0.png',
          '_CON/1.png',
          'a,_b_/0.png',
          'labels.csv',
          'images.npy',
          'labels.npy',
          'meta.json',
        ].sort(),
      );
      expect(strFromU8(entries['labels.csv']).split('\n')).toEqual([
        'file,label,class_name',
        'cat_dog/0.png,0,cat/dog',
        'cat_dog/1.png,0,cat/dog',
        '_CON/0.png,1,CON',
        '"a,_b_/0.png",2,"a,""b"""',
        '_CON/1.png,1,CON',
        '',
      ]);
      const meta = JSON.parse(strFromU8(entries['meta.json']));
      expect(meta.config).toEqual({ ipc: 2, seed: 3 });
      expect(meta.normalization).toEqual(fx.normalization);
      expect([meta.count, meta.height, meta.width, meta.channels]).toEqual([5, 5, 4, channels]);

      // images.npy is NCHW: element (n, c, y, x) = NHWC element (n, y, x, c)
      const npy = readNpy(entries['images.npy']);
      expect(npy.shape).toEqual([5, channels, 5, 4]);
      const d = npy.data as Float32Array;
      const at = (i: number, c: number, y: number, x: number) => fx.images[((i * 5 + y) * 4 + x) * channels + c];
      expect(d[((3 * channels + (channels - 1)) * 5 + 2) * 4 + 1]).toBe(at(3, channels - 1, 2, 1));
      const lab = readNpy(entries['labels.npy']);
      expect(lab.descr).toBe('<i8');
      expect(Array.from(lab.data as BigInt64Array, Number)).toEqual([0, 0, 1, 2, 1]);

      // PNGs decoded independently: each pixel within 1/255 of the de-normalised float
      const png = decodePng(entries['a,_b_/0.png']);
      expect([png.width, png.height, png.channels, png.depth]).toEqual([4, 5, channels, 8]);
      for (let p = 0; p < 20; p++) {
        for (let c = 0; c < channels; c++) {
          const f = (fx.images[(3 * 20 + p) * channels + c] * fx.normalization.std[c] + fx.normalization.mean[c]) * 255;
          expect(Math.abs(png.data[p * channels + c] - Math.min(255, Math.max(0, f)))).toBeLessThanOrEqual(0.5 + 1e-4);
        }
      }

      const back = importSyntheticZip(zip);
      expect(back.source).toBe('npy');
      expect(back.images).toEqual(fx.images); // bit-exact
      expect(back.labels).toEqual(fx.labels);
      expect(back.classNames).toEqual(fx.classNames);
      expect([back.height, back.width, back.channels]).toEqual([5, 4, channels]);
      expect(back.normalization).toEqual(fx.normalization);
      expect(back.meta.accuracy).toBe(0.5);

      // without the npy files: PNG fallback, within one 8-bit step of the de-normalised originals
      const noNpy = { ...entries };
      delete noNpy['images.npy'];
      delete noNpy['labels.npy'];
      const fromPng = importSyntheticZip(zipSync(noNpy));
      expect(fromPng.source).toBe('png');
      expect(fromPng.labels).toEqual(fx.labels);
      const clipped = denormalizeToPixels(fx.images, channels, fx.normalization);
      for (let i = 0; i < fx.images.length; i++) {
        const c = i % channels;
        const px = (fromPng.images[i] * fx.normalization.std[c] + fx.normalization.mean[c]) * 255;
        expect(Math.abs(px - clipped[i])).toBeLessThan(1e-3); // exactly the stored 8-bit value
        const orig = (fx.images[i] * fx.normalization.std[c] + fx.normalization.mean[c]) * 255;
        if (orig > 0 && orig < 255) expect(Math.abs(px - orig)).toBeLessThanOrEqual(1);
      }
    });
  }

  it('rejects corrupt or foreign zips with a UserError', () => {
    const zip = exportSyntheticZip(fixture(1));
    expect(() => importSyntheticZip(zip.subarray(0, 100))).toThrow(UserError);
    expect(() => importSyntheticZip(strToU8('definitely not a zip'))).toThrow(UserError);
    expect(() => importSyntheticZip(zipSync({ 'readme.txt': strToU8('hi') }))).toThrow(/not a synthetic-set export/);
  });

  it('makes class names safe and unique as folder names', () => {
    expect(safeFolderNames(['a/b', 'A_b', '..', 'nul', ' x. ', 'ok', 'ünï'])).toEqual([
      'a_b',
      'A_b_1',
      'class_2',
      '_nul',
      'x',
      'ok',
      'ünï',
    ]);
  });
});
