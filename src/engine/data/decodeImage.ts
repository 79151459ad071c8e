/**
 * PNG (fast-png) and JPEG (jpeg-js) decoding to 8-bit pixels, pure JS so it
 * runs the same in a browser worker and in Node. Output is greyscale (1
 * channel) when the file is greyscale, else RGB (alpha is dropped).
 */
import { convertIndexedToRgb, decode as decodePng } from 'fast-png';
import jpeg from 'jpeg-js';
import { isJpeg, isPng } from './bytes';
import { UserError } from './types';

export interface DecodedImage {
  width: number;
  height: number;
  channels: 1 | 3;
  /** height × width × channels bytes, row-major. */
  data: Uint8Array;
}

/** Unpack 1/2/4-bit greyscale rows (each row starts on a byte boundary) to 0..255. */
function unpackBits(src: Uint8Array, width: number, height: number, depth: number): Uint8Array {
  const out = new Uint8Array(width * height);
  const rowBytes = Math.ceil((width * depth) / 8);
  const max = (1 << depth) - 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const bit = x * depth;
      const byte = src[y * rowBytes + (bit >> 3)];
      const v = (byte >> (8 - depth - (bit & 7))) & max;
      out[y * width + x] = Math.round((v * 255) / max);
    }
  }
  return out;
}

function fromPng(bytes: Uint8Array, path: string): DecodedImage {
  let png;
  try {
    png = decodePng(bytes);
  } catch (e) {
    throw new UserError(`${path}: corrupt PNG (${(e as Error).message})`);
  }
  const { width, height } = png;
  let data: Uint8Array;
  let ch: number;
  if (png.palette) {
    data = convertIndexedToRgb(png);
    ch = png.palette[0]?.length ?? 3;
  } else if (png.depth === 16) {
    const d16 = png.data as Uint16Array;
    data = new Uint8Array(d16.length);
    for (let i = 0; i < d16.length; i++) data[i] = d16[i] >> 8;
    ch = png.channels;
  } else if (png.depth < 8) {
    data = unpackBits(png.data as Uint8Array, width, height, png.depth);
    ch = 1;
  } else {
    data = png.data as Uint8Array;
    ch = png.channels;
  }
  const n = width * height;
  if (data.length < n * ch) throw new UserError(`${path}: truncated PNG pixel data`);
  if (ch === 1) return { width, height, channels: 1, data: data.length === n ? data : data.subarray(0, n) };
  if (ch === 2) {
    // grey + alpha: keep grey
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = data[2 * i];
    return { width, height, channels: 1, data: out };
  }
  if (ch === 3) return { width, height, channels: 3, data: data.length === 3 * n ? data : data.subarray(0, 3 * n) };
  const out = new Uint8Array(3 * n);
  for (let i = 0; i < n; i++) {
    out[3 * i] = data[ch * i];
    out[3 * i + 1] = data[ch * i + 1];
    out[3 * i + 2] = data[ch * i + 2];
  }
  return { width, height, channels: 3, data: out };
}

/** Number of colour components in the JPEG's frame header (SOFn), or 0 when none is found. */
export function jpegComponents(b: Uint8Array): number {
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return 0;
    const m = b[i + 1];
    if (m === 0xff) {
      i++; // fill byte
      continue;
    }
    // SOF0..SOF15 except DHT (C4), JPG (C8), DAC (CC)
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) return b[i + 9];
    if (m === 0xd8 || (m >= 0xd0 && m <= 0xd7) || m === 0x01) {
      i += 2;
      continue;
    }
    if (m === 0xda) return 0; // start of scan before any frame header
    i += 2 + ((b[i + 2] << 8) | b[i + 3]);
  }
  return 0;
}

function fromJpeg(bytes: Uint8Array, path: string): DecodedImage {
  const comps = jpegComponents(bytes);
  if (comps === 0) throw new UserError(`${path}: corrupt JPEG (no frame header)`);
  let img;
  try {
    // tolerantDecoding off: a truncated or damaged file must fail, not yield garbage pixels
    img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, tolerantDecoding: false, maxResolutionInMP: 64, maxMemoryUsageInMB: 512 });
  } catch (e) {
    throw new UserError(`${path}: corrupt JPEG (${(e as Error).message})`);
  }
  const { width, height, data } = img;
  if (comps === 1) {
    const n = width * height;
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = data[3 * i];
    return { width, height, channels: 1, data: out };
  }
  return { width, height, channels: 3, data };
}

/** Decode a PNG or JPEG (recognised by its magic bytes, not its name). */
export function decodeImage(bytes: Uint8Array, path: string): DecodedImage {
  if (isPng(bytes)) return fromPng(bytes, path);
  if (isJpeg(bytes)) return fromJpeg(bytes, path);
  throw new UserError(`${path}: not a PNG or JPEG image`);
}
