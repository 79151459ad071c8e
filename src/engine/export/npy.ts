/**
 * NumPy .npy files (format spec: numpy.lib.format, versions 1.0 / 2.0 / 3.0).
 *
 * Layout: magic "\x93NUMPY", major, minor, header length (uint16 LE in v1.0,
 * uint32 LE in v2.0/3.0), then an ASCII (v3.0: UTF-8) Python dict literal
 * {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with
 * spaces and ended by '\n' so that the data starts at a multiple of 64 bytes,
 * then the raw array data in C order.
 *
 * We write v1.0 (what `np.save` writes for ordinary headers) and read all
 * three versions, both byte orders, and Fortran order (converted to C order).
 */
import { UserError } from '../data/types';

export type NpyArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

export interface NpyData {
  /** The values in C (row-major) order, host byte order. */
  data: NpyArray;
  shape: number[];
  /** The dtype as written in the file, e.g. '<f4', '>i8', '|u1'. */
  descr: string;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93 N U M P Y
const ALIGN = 64;

interface DType {
  kind: string; // numpy kind letter + size, e.g. 'f4'
  size: number;
  make(buf: ArrayBuffer, n: number): NpyArray;
}

const DTYPES: Record<string, DType> = {
  f4: { kind: 'f4', size: 4, make: (b, n) => new Float32Array(b, 0, n) },
  f8: { kind: 'f8', size: 8, make: (b, n) => new Float64Array(b, 0, n) },
  i1: { kind: 'i1', size: 1, make: (b, n) => new Int8Array(b, 0, n) },
  u1: { kind: 'u1', size: 1, make: (b, n) => new Uint8Array(b, 0, n) },
  b1: { kind: 'b1', size: 1, make: (b, n) => new Uint8Array(b, 0, n) },
  i2: { kind: 'i2', size: 2, make: (b, n) => new Int16Array(b, 0, n) },
  u2: { kind: 'u2', size: 2, make: (b, n) => new Uint16Array(b, 0, n) },
  i4: { kind: 'i4', size: 4, make: (b, n) => new Int32Array(b, 0, n) },
  u4: { kind: 'u4', size: 4, make: (b, n) => new Uint32Array(b, 0, n) },
  i8: { kind: 'i8', size: 8, make: (b, n) => new BigInt64Array(b, 0, n) },
  u8: { kind: 'u8', size: 8, make: (b, n) => new BigUint64Array(b, 0, n) },
};

const HOST_LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function descrFor(array: NpyArray): string {
  if (array instanceof Float32Array) return '<f4';
  if (array instanceof Float64Array) return '<f8';
  if (array instanceof Int8Array) return '|i1';
  if (array instanceof Uint8Array) return '|u1';
  if (array instanceof Int16Array) return '<i2';
  if (array instanceof Uint16Array) return '<u2';
  if (array instanceof Int32Array) return '<i4';
  if (array instanceof Uint32Array) return '<u4';
  if (array instanceof BigInt64Array) return '<i8';
  if (array instanceof BigUint64Array) return '<u8';
  throw new TypeError('writeNpy: unsupported array type');
}

/** Python tuple literal: (), (5,), (2, 3). */
function shapeLiteral(shape: number[]): string {
  if (shape.length === 0) return '()';
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(', ')})`;
}

/** Encodes an array as a .npy v1.0 file. */
export function writeNpy(array: NpyArray, shape: number[]): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`writeNpy: bad dimension ${d}`);
  }
  if (count !== array.length) {
    throw new RangeError(`writeNpy: shape [${shape}] holds ${count} values, array has ${array.length}`);
  }
  const descr = descrFor(array);
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeLiteral(shape)}, }`;
  // magic(6) + version(2) + length(2) + header + '\n' must be a multiple of 64
  const unpadded = 10 + header.length + 1;
  const pad = (ALIGN - (unpadded % ALIGN)) % ALIGN;
  header = header + ' '.repeat(pad) + '\n';
  if (header.length > 0xffff) throw new RangeError('writeNpy: header too long for format 1.0');

  const dataBytes = array.byteLength;
  const out = new Uint8Array(10 + header.length + dataBytes);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  out[8] = header.length & 0xff;
  out[9] = header.length >> 8;
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  const src = new Uint8Array(array.buffer, array.byteOffset, dataBytes);
  out.set(src, 10 + header.length);
  if (!HOST_LITTLE) swapInPlace(out.subarray(10 + header.length), array.BYTES_PER_ELEMENT);
  return out;
}

function swapInPlace(bytes: Uint8Array, size: number): void {
  if (size === 1) return;
  for (let i = 0; i < bytes.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = t;
    }
  }
}

function parseHeader(text: string): { descr: string; fortran: boolean; shape: number[] } {
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]+)['"]/.exec(text);
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(text);
  const shape = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descr || !fortran || !shape) throw new UserError(`not a valid .npy header: ${text.trim().slice(0, 120)}`);
  const dims = shape[1]
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      const v = Number(s.replace(/L$/, '')); // Python 2 wrote longs as 3L
      if (!Number.isInteger(v) || v < 0) throw new UserError(`.npy header has a bad shape: (${shape[1]})`);
      return v;
    });
  return { descr: descr[1], fortran: fortran[1] === 'True', shape: dims };
}

/** Reads a C-order permutation of Fortran-order data (first index fastest). */
function fortranToC<T extends NpyArray>(src: T, shape: number[]): T {
  const n = src.length;
  const out = new (src.constructor as new (n: number) => T)(n);
  const nd = shape.length;
  const idx = new Array<number>(nd).fill(0);
  // F-order strides
  const fStride = new Array<number>(nd);
  let s = 1;
  for (let d = 0; d < nd; d++) {
    fStride[d] = s;
    s *= shape[d];
  }
  for (let i = 0; i < n; i++) {
    let f = 0;
    for (let d = 0; d < nd; d++) f += idx[d] * fStride[d];
    (out as unknown as ArrayLike<number | bigint> & Record<number, number | bigint>)[i] = src[f];
    // increment the C-order index (last dimension fastest)
    for (let d = nd - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

/** Decodes a .npy file (v1.0, v2.0, v3.0). Throws UserError for anything it cannot read. */
export function readNpy(bytes: Uint8Array): NpyData {
  if (bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m)) {
    throw new UserError('not a .npy file (missing the \\x93NUMPY magic)');
  }
  const major = bytes[6];
  let headerLen: number;
  let headerStart: number;
  if (major === 1) {
    headerLen = bytes[8] | (bytes[9] << 8);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new UserError('.npy file is truncated');
    headerLen = (bytes[8] | (bytes[9] << 8) | (bytes[10] << 16) | (bytes[11] << 24)) >>> 0;
    headerStart = 12;
  } else {
    throw new UserError(`unsupported .npy format version ${major}.${bytes[7]}`);
  }
  const dataStart = headerStart + headerLen;
  if (dataStart > bytes.length) throw new UserError('.npy file is truncated (header)');
  const headerBytes = bytes.subarray(headerStart, dataStart);
  const text = major === 3 ? new TextDecoder('utf-8').decode(headerBytes) : String.fromCharCode(...headerBytes);
  const { descr, fortran, shape } = parseHeader(text);

  const m = /^([<>|=]?)([a-zA-Z])(\d+)$/.exec(descr);
  const dtype = m ? DTYPES[m[2] + m[3]] : undefined;
  if (!m || !dtype) {
    throw new UserError(`.npy dtype '${descr}' is not supported (use float32/float64 or an integer type)`);
  }
  const order = m[1];
  const bigEndian = order === '>' || (order === '=' && !HOST_LITTLE);

  const count = shape.reduce((a, b) => a * b, 1);
  const nbytes = count * dtype.size;
  if (dataStart + nbytes > bytes.length) {
    throw new UserError(`.npy file is truncated: shape (${shape.join(', ')}) needs ${nbytes} bytes of data`);
  }
  // copy into a fresh, aligned buffer (the data offset need not be aligned to the element size)
  const copy = bytes.slice(dataStart, dataStart + nbytes);
  if (bigEndian === HOST_LITTLE) swapInPlace(copy, dtype.size);
  let data = dtype.make(copy.buffer, count);
  if (fortran && shape.length > 1) data = fortranToC(data, shape);
  return { data, shape, descr };
}

/** The values of a decoded .npy as float32 (any numeric dtype). */
export function npyToFloat32(npy: NpyData): Float32Array {
  const d = npy.data;
  if (d instanceof Float32Array) return d;
  const out = new Float32Array(d.length);
  for (let i = 0; i < d.length; i++) out[i] = Number(d[i]);
  return out;
}

/** The values of a decoded integer .npy as int32; rejects floats and out-of-range values. */
export function npyToInt32(npy: NpyData): Int32Array {
  const d = npy.data;
  if (d instanceof Float32Array || d instanceof Float64Array) {
    throw new UserError(`expected an integer array, got dtype '${npy.descr}'`);
  }
  if (d instanceof Int32Array) return d;
  const out = new Int32Array(d.length);
  for (let i = 0; i < d.length; i++) {
    const v = Number(d[i]);
    if (v > 0x7fffffff || v < -0x80000000) throw new UserError(`integer value ${v} does not fit in int32`);
    out[i] = v;
  }
  return out;
}
