/**
 * Cost of a run before it starts: FLOPs per iteration from the ConvNet's
 * forward cost per image (flopsPerImage, measured by the worker's probe so
 * the page never loads tfjs) × images per iteration × ~3 (forward +
 * backward), and the time at the measured speed of this device.
 */
import type { Settings } from './settings';

export interface Estimate {
  flopsPerIteration: number;
  imagesPerIteration: number;
  totalFlops: number;
}

/** `fpi`: forward FLOPs of one image through the run's ConvNet; `numClasses`: of the dataset (when classes = all). */
export function estimateRun(s: Settings, fpi: number, numClasses: number): Estimate {
  const c = s.config;
  const classes = c.classes ? c.classes.length : numClasses;
  // DM: a real batch and the synthetic set through the net each iteration
  const images = classes * (c.batchReal + c.ipc);
  let flops = 3 * fpi * images;
  // CMI: the teacher sees the synthetic set (forward+backward when λ > 0, forward only as a metric)
  if (s.cmi.teachers > 0 || s.cmi.weight > 0) flops += (s.cmi.weight > 0 ? 3 : 1) * fpi * classes * c.ipc;
  return { flopsPerIteration: flops, imagesPerIteration: images, totalFlops: flops * c.iterations };
}

export function formatFlops(f: number): string {
  const units: [number, string][] = [
    [1e15, 'PFLOP'],
    [1e12, 'TFLOP'],
    [1e9, 'GFLOP'],
    [1e6, 'MFLOP'],
    [1e3, 'kFLOP'],
  ];
  for (const [v, u] of units) if (f >= v) return `${(f / v).toPrecision(3)} ${u}`;
  return `${Math.round(f)} FLOP`;
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.round(h / 24)} days`;
}
