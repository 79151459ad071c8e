/**
 * Snapshots of the synthetic set as one PNG grid each (a row per class, IPC
 * images per row, 1-pixel gaps), so a run's progress can be looked at without
 * the browser UI: DIR/snapshots/iter-000100.png.
 */
import { encode } from 'fast-png';

export function snapshotGrid(s: {
  pixels: Uint8Array;
  labels: Int32Array;
  height: number;
  width: number;
  channels: number;
  numClasses: number;
}): Uint8Array {
  const { pixels, labels, height: h, width: w, channels: c, numClasses } = s;
  const perClass = new Array<number>(numClasses).fill(0);
  for (const l of labels) perClass[l]++;
  const cols = Math.max(1, ...perClass);
  const gap = 1;
  const W = cols * (w + gap) - gap;
  const H = numClasses * (h + gap) - gap;
  const out = new Uint8Array(W * H * c).fill(255); // white gaps
  const col = new Array<number>(numClasses).fill(0);
  const size = h * w * c;
  for (let i = 0; i < labels.length; i++) {
    const k = labels[i];
    const x0 = col[k]++ * (w + gap);
    const y0 = k * (h + gap);
    for (let y = 0; y < h; y++) {
      const src = pixels.subarray(i * size + y * w * c, i * size + (y + 1) * w * c);
      out.set(src, ((y0 + y) * W + x0) * c);
    }
  }
  return encode({ width: W, height: H, channels: c, depth: 8, data: out });
}
