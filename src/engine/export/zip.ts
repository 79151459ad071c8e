/**
 * The synthetic set as a zip that people can open anywhere:
 *
 *   <class-name>/<i>.png   8-bit de-normalised images (grey or RGB), i = index within the class
 *   labels.csv             file,label,class_name — one row per image, in images.npy order
 *   images.npy             float32 [N, C, H, W] normalised — the lossless copy, in the
 *                          NCHW layout PyTorch code (and the reference DC/DM code) loads directly
 *   labels.npy             int64 [N]
 *   meta.json              the caller's meta (config, metrics, versions, backend) plus
 *                          class names, shapes, normalisation and this layout
 *
 * importSyntheticZip reads images.npy when present (lossless) and otherwise falls back
 * to the PNGs + labels.csv + meta.json normalisation.
 */
import { strFromU8, strToU8, unzipSync, zipSync, type Zippable } from 'fflate';
import { decode as decodePng, encode as encodePng } from 'fast-png';
import { UserError, type Normalization, type ProgressFn } from '../data/types';
import { npyToFloat32, npyToInt32, readNpy, writeNpy } from './npy';

export const ZIP_FORMAT = 'distillery-synthetic';
export const ZIP_FORMAT_VERSION = 1;

export interface SyntheticExport {
  /** Normalised float images, NHWC, N·H·W·C values (written losslessly to images.npy). */
  images: Float32Array;
  /** 8-bit de-normalised pixels, NHWC, for the PNGs; computed from `images` when absent. */
  pixels?: Uint8Array;
  labels: Int32Array;
  classNames: string[];
  height: number;
  width: number;
  channels: number;
  normalization: Normalization;
  /** Anything worth keeping with the images: config, metrics, versions, backend… */
  meta?: Record<string, unknown>;
  onProgress?: ProgressFn;
}

export interface SyntheticImport {
  /** Normalised float images, NHWC. */
  images: Float32Array;
  labels: Int32Array;
  classNames: string[];
  height: number;
  width: number;
  channels: number;
  normalization: Normalization;
  /** The whole meta.json ({} when absent). */
  meta: Record<string, unknown>;
  /** Where the images came from: the lossless npy or the 8-bit PNGs. */
  source: 'npy' | 'png';
}

/** 8-bit pixels from normalised floats: round(clamp((x·std + mean)·255)). */
export function denormalizeToPixels(images: Float32Array, channels: number, norm: Normalization): Uint8Array {
  const out = new Uint8Array(images.length);
  for (let i = 0; i < images.length; i++) {
    const c = i % channels;
    const v = (images[i] * norm.std[c] + norm.mean[c]) * 255;
    out[i] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
  }
  return out;
}

/** Normalised floats from 8-bit pixels: (p/255 − mean)/std. */
export function normalizePixels(pixels: Uint8Array, channels: number, norm: Normalization): Float32Array {
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) {
    const c = i % channels;
    out[i] = (pixels[i] / 255 - norm.mean[c]) / norm.std[c];
  }
  return out;
}

const RESERVED = /^(con|prn|aux|nul|com\d|lpt\d)$/i;

/**
 * Folder names for classes that work on every OS: path separators, characters
 * Windows forbids and control characters become '_', no leading/trailing dots
 * or spaces, no reserved device names, and no two names equal up to case.
 */
export function safeFolderNames(classNames: string[]): string[] {
  const used = new Set<string>();
  return classNames.map((name, k) => {
    let s = name
      .normalize('NFC')
      .replace(/[\u0000-\u001f\u007f/\\:*?"<>|]/g, '_')
      .replace(/^[\s.]+|[\s.]+$/g, '')
      .slice(0, 100);
    if (s === '') s = `class_${k}`;
    if (RESERVED.test(s)) s = `_${s}`;
    let candidate = s;
    for (let j = 1; used.has(candidate.toLowerCase()); j++) candidate = `${s}_${j}`;
    used.add(candidate.toLowerCase());
    return candidate;
  });
}

function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Minimal RFC 4180 parser (quoted fields, doubled quotes, CRLF or LF). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => !(r.length === 1 && r[0] === ''));
}

/** NHWC ⇄ NCHW: `toChannelsFirst` picks the direction (images.npy is NCHW, the engine NHWC). */
function transposeChannels(x: Float32Array, n: number, h: number, w: number, c: number, toChannelsFirst: boolean): Float32Array {
  const out = new Float32Array(x.length);
  const hw = h * w;
  for (let i = 0; i < n; i++) {
    const base = i * hw * c;
    for (let p = 0; p < hw; p++)
      for (let k = 0; k < c; k++) {
        const last = base + p * c + k; // NHWC position
        const first = base + k * hw + p; // NCHW position
        if (toChannelsFirst) out[first] = x[last];
        else out[last] = x[first];
      }
  }
  return out;
}

/** Builds the zip (see the file comment for its layout). */
export function exportSyntheticZip(opts: SyntheticExport): Uint8Array {
  const { images, labels, classNames, height: h, width: w, channels: c, normalization } = opts;
  const n = labels.length;
  if (c !== 1 && c !== 3) throw new UserError(`can only export grey or RGB images (got ${c} channels)`);
  if (images.length !== n * h * w * c) {
    throw new RangeError(`exportSyntheticZip: ${images.length} values for ${n} images of ${h}×${w}×${c}`);
  }
  const pixels = opts.pixels ?? denormalizeToPixels(images, c, normalization);
  if (pixels.length !== images.length) throw new RangeError('exportSyntheticZip: pixels and images differ in size');
  for (const l of labels) {
    if (!(l >= 0 && l < classNames.length)) throw new RangeError(`exportSyntheticZip: label ${l} has no class name`);
  }

  const folders = safeFolderNames(classNames);
  const files: Zippable = {};
  const perClass = new Array<number>(classNames.length).fill(0);
  const csv: string[] = ['file,label,class_name'];
  const size = h * w * c;
  for (let i = 0; i < n; i++) {
    const k = labels[i];
    const path = `${folders[k]}/${perClass[k]++}.png`;
    const png = encodePng({ width: w, height: h, channels: c, depth: 8, data: pixels.subarray(i * size, (i + 1) * size) });
    files[path] = [png, { level: 0 }]; // PNG data is already deflated
    csv.push(`${csvField(path)},${k},${csvField(classNames[k])}`);
    opts.onProgress?.(i + 1, n, 'encoding PNGs');
  }
  files['labels.csv'] = strToU8(csv.join('\n') + '\n');
  files['images.npy'] = [writeNpy(transposeChannels(images, n, h, w, c, true), [n, c, h, w]), { level: 1 }];
  files['labels.npy'] = writeNpy(BigInt64Array.from(labels, (v) => BigInt(v)), [n]);
  const meta = {
    ...(opts.meta ?? {}),
    format: ZIP_FORMAT,
    formatVersion: ZIP_FORMAT_VERSION,
    classNames,
    classFolders: folders,
    count: n,
    height: h,
    width: w,
    channels: c,
    normalization,
    files: {
      'images.npy': `float32 [N, C, H, W] = [${n}, ${c}, ${h}, ${w}], normalised: (pixel/255 − mean[c]) / std[c]`,
      'labels.npy': `int64 [N] = [${n}], class index into classNames`,
      'labels.csv': 'file,label,class_name in images.npy order',
      '<class>/<i>.png': '8-bit images de-normalised from images.npy (rounded, clipped to 0..255)',
    },
  };
  files['meta.json'] = strToU8(JSON.stringify(meta, null, 2));
  opts.onProgress?.(n, n, 'zipping');
  return zipSync(files, { level: 6 });
}

function isNormalization(v: unknown): v is Normalization {
  if (!v || typeof v !== 'object') return false;
  const o = v as Record<string, unknown>;
  return (
    Array.isArray(o.mean) &&
    Array.isArray(o.std) &&
    o.mean.length === o.std.length &&
    o.mean.every((x) => typeof x === 'number') &&
    o.std.every((x) => typeof x === 'number' && x > 0)
  );
}

/** Reads a zip written by exportSyntheticZip (or one laid out the same way). */
export function importSyntheticZip(bytes: Uint8Array, onProgress?: ProgressFn): SyntheticImport {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes);
  } catch (e) {
    throw new UserError(`not a readable zip file (${e instanceof Error ? e.message : String(e)})`);
  }
  // tolerate a single top-level folder (re-zipped by hand)
  const names = Object.keys(entries).filter((p) => !p.endsWith('/'));
  const find = (base: string): string | undefined =>
    names.find((p) => p === base) ?? names.find((p) => p.endsWith('/' + base) && p.split('/').length === 2);

  let meta: Record<string, unknown> = {};
  const metaPath = find('meta.json');
  if (metaPath) {
    try {
      const parsed: unknown = JSON.parse(strFromU8(entries[metaPath]));
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) meta = parsed as Record<string, unknown>;
    } catch {
      throw new UserError('meta.json in the zip is not valid JSON');
    }
  }
  const metaNorm = isNormalization(meta.normalization) ? meta.normalization : undefined;
  const metaClasses = Array.isArray(meta.classNames) ? meta.classNames.map(String) : undefined;

  const imagesPath = find('images.npy');
  const labelsPath = find('labels.npy');
  if (imagesPath && labelsPath) {
    const img = readNpy(entries[imagesPath]);
    if (img.shape.length !== 4) throw new UserError(`images.npy must have 4 dimensions [N, C, H, W] (got ${img.shape.length})`);
    const [n, c, h, w] = img.shape;
    if (c !== 1 && c !== 3) throw new UserError(`images.npy must be [N, C, H, W] with C = 1 or 3 (got shape (${img.shape.join(', ')}))`);
    const labels = npyToInt32(readNpy(entries[labelsPath]));
    if (labels.length !== n) throw new UserError(`labels.npy has ${labels.length} labels for ${n} images`);
    const images = transposeChannels(npyToFloat32(img), n, h, w, c, false);
    const maxLabel = labels.reduce((a, b) => Math.max(a, b), -1);
    if (labels.some((l) => l < 0)) throw new UserError('labels.npy contains negative labels');
    const classNames = metaClasses ?? Array.from({ length: maxLabel + 1 }, (_, k) => String(k));
    if (maxLabel >= classNames.length) throw new UserError(`label ${maxLabel} has no class name in meta.json`);
    const normalization = metaNorm ?? { mean: new Array(c).fill(0), std: new Array(c).fill(1) };
    onProgress?.(n, n, 'reading images.npy');
    return { images, labels, classNames, height: h, width: w, channels: c, normalization, meta, source: 'npy' };
  }

  // fallback: PNGs listed in labels.csv, normalised with meta.json's normalisation
  const csvPath = find('labels.csv');
  if (!csvPath) throw new UserError('the zip has neither images.npy + labels.npy nor labels.csv: not a synthetic-set export');
  if (!metaNorm) throw new UserError('the zip has no images.npy and meta.json gives no normalization for its PNGs');
  const rows = parseCsv(strFromU8(entries[csvPath]));
  const header = rows.shift();
  if (!header || header[0] !== 'file' || header[1] !== 'label') {
    throw new UserError('labels.csv must start with the header file,label,class_name');
  }
  const prefix = csvPath.slice(0, csvPath.length - 'labels.csv'.length);
  const n = rows.length;
  if (n === 0) throw new UserError('labels.csv lists no images');
  const labels = new Int32Array(n);
  const namesFromCsv: string[] = [];
  let h = 0;
  let w = 0;
  let c = 0;
  let images = new Float32Array(0);
  for (let i = 0; i < n; i++) {
    const [file, label, className] = rows[i];
    const l = Number(label);
    if (!Number.isInteger(l) || l < 0) throw new UserError(`labels.csv row ${i + 2}: bad label '${label}'`);
    labels[i] = l;
    if (className !== undefined) namesFromCsv[l] = className;
    const data = entries[prefix + file];
    if (!data) throw new UserError(`labels.csv lists ${file}, which is not in the zip`);
    let png;
    try {
      png = decodePng(data);
    } catch (e) {
      throw new UserError(`${file} is not a readable PNG (${e instanceof Error ? e.message : String(e)})`);
    }
    if (png.depth !== 8 || png.palette) throw new UserError(`${file}: only 8-bit grey or RGB PNGs are supported`);
    const pc = png.channels === 2 || png.channels === 4 ? png.channels - 1 : png.channels; // drop alpha
    if (i === 0) {
      h = png.height;
      w = png.width;
      c = pc;
      if (metaNorm.mean.length !== c) throw new UserError(`meta.json normalization has ${metaNorm.mean.length} channels, the PNGs ${c}`);
      images = new Float32Array(n * h * w * c);
    } else if (png.height !== h || png.width !== w || pc !== c) {
      throw new UserError(`${file} is ${png.width}×${png.height}×${pc}, the first image ${w}×${h}×${c}`);
    }
    const px = new Uint8Array(h * w * c);
    for (let p = 0; p < h * w; p++) for (let k = 0; k < c; k++) px[p * c + k] = png.data[p * png.channels + k];
    images.set(normalizePixels(px, c, metaNorm), i * h * w * c);
    onProgress?.(i + 1, n, 'decoding PNGs');
  }
  const maxLabel = labels.reduce((a, b) => Math.max(a, b), -1);
  const classNames =
    metaClasses ?? Array.from({ length: maxLabel + 1 }, (_, k) => namesFromCsv[k] ?? String(k));
  if (maxLabel >= classNames.length) throw new UserError(`label ${maxLabel} has no class name`);
  return { images, labels, classNames, height: h, width: w, channels: c, normalization: metaNorm, meta, source: 'png' };
}
