/**
 * Byte-level helpers shared by the dataset readers: the VirtualFile type,
 * magic-number tests, a checked gunzip and a cooperative yield. Pure TS (runs
 * in a browser worker and in Node; input is always bytes, never a file system).
 */
import { Gunzip } from 'fflate';
import { UserError, type ProgressFn } from './types';

/** One input file: a folder is many of these, an archive is one. */
export interface VirtualFile {
  /** Path relative to what the user picked, '/'-separated (e.g. "cifar-10-batches-bin/data_batch_1.bin"). */
  path: string;
  bytes: Uint8Array;
}

/** Last path segment ("a/b/c.bin" → "c.bin"). */
export function basename(path: string): string {
  const parts = path.split(/[\\/]/);
  return parts[parts.length - 1] ?? path;
}

export function isGzip(b: Uint8Array): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

/** Local-file header ("PK\x03\x04") or the end-of-central-directory record of an empty zip ("PK\x05\x06"). */
export function isZip(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0x50 && b[1] === 0x4b && ((b[2] === 3 && b[3] === 4) || (b[2] === 5 && b[3] === 6));
}

/** POSIX/GNU tar: "ustar" at offset 257 of the first header block. */
export function isTar(b: Uint8Array): boolean {
  return b.length >= 512 && b[257] === 0x75 && b[258] === 0x73 && b[259] === 0x74 && b[260] === 0x61 && b[261] === 0x72;
}

/** IDX magic: two zero bytes, type 0x08 (unsigned byte), then the number of dimensions. */
export function idxMagic(b: Uint8Array): number | null {
  if (b.length < 4 || b[0] !== 0 || b[1] !== 0 || b[2] !== 0x08) return null;
  return b[3] >= 1 && b[3] <= 4 ? b[3] : null;
}

export function isPng(b: Uint8Array): boolean {
  return b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47;
}

export function isJpeg(b: Uint8Array): boolean {
  return b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
}

export function readU32BE(b: Uint8Array, offset: number): number {
  return ((b[offset] << 24) | (b[offset + 1] << 16) | (b[offset + 2] << 8) | b[offset + 3]) >>> 0;
}

function readU32LE(b: Uint8Array, offset: number): number {
  return (b[offset] | (b[offset + 1] << 8) | (b[offset + 2] << 16) | (b[offset + 3] << 24)) >>> 0;
}

let crcTable: Uint32Array | null = null;

/** CRC-32 (IEEE, as in gzip and zip). fflate does not check the gzip trailer, so we do. */
export function crc32(data: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  const t = crcTable;
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * Gunzip with clear errors. Streaming (not gunzipSync) because gunzipSync sizes
 * its output from the trailer, which is garbage in a truncated file and can ask
 * for gigabytes; afterwards the trailer's CRC-32 and length are verified, since
 * fflate silently returns wrong bytes for a corrupted stream.
 */
export function gunzipChecked(bytes: Uint8Array, path: string, onProgress?: ProgressFn): Uint8Array {
  if (!isGzip(bytes)) throw new UserError(`${path}: not a gzip stream (bad magic bytes)`);
  if (bytes.length < 18) throw new UserError(`${path}: truncated gzip stream`);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const g = new Gunzip((chunk) => {
    chunks.push(chunk);
    total += chunk.length;
  });
  const step = 4 << 20;
  try {
    for (let off = 0; off < bytes.length; off += step) {
      const end = Math.min(bytes.length, off + step);
      g.push(bytes.subarray(off, end), end === bytes.length);
      onProgress?.(end, bytes.length, `decompressing ${basename(path)}`);
    }
  } catch (e) {
    const code = (e as { code?: number }).code;
    if (code === 0) throw new UserError(`${path}: truncated gzip stream`);
    throw new UserError(`${path}: corrupt gzip stream (${(e as Error).message})`);
  }
  let out: Uint8Array;
  if (chunks.length === 1) out = chunks[0];
  else {
    out = new Uint8Array(total);
    let o = 0;
    for (const c of chunks) {
      out.set(c, o);
      o += c.length;
    }
  }
  const wantCrc = readU32LE(bytes, bytes.length - 8);
  const wantLen = readU32LE(bytes, bytes.length - 4);
  if (wantLen !== out.length % 0x100000000) {
    throw new UserError(`${path}: truncated or corrupt gzip stream (trailer says ${wantLen} bytes, decoded ${out.length})`);
  }
  if (crc32(out) !== wantCrc) throw new UserError(`${path}: corrupt gzip stream (CRC-32 mismatch)`);
  return out;
}

/** Let the event loop run (progress messages, UI) during long synchronous loops. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Human-readable list of at most n names, for error messages. */
export function listNames(names: string[], n = 5): string {
  if (names.length === 0) return '(none)';
  const shown = names.slice(0, n).join(', ');
  return names.length > n ? `${shown}, … (${names.length} files)` : shown;
}
