/**
 * Per-channel normalisation statistics of 8-bit NHWC pixels.
 */
import type { ImageSplit, Normalization } from './types';

/**
 * Mean and (population) standard deviation of each channel over all pixels of
 * `split`, with pixels scaled to [0,1] — the numbers torchvision's Normalize
 * expects. Sums are accumulated per channel in float64 via a 256-bin
 * histogram, which is exact and fast even for 150 M pixels. A channel with
 * zero spread gets std 1 so normalising never divides by zero.
 */
export function computeNormalization(split: ImageSplit, channels: number): Normalization {
  const hist = Array.from({ length: channels }, () => new Float64Array(256));
  const px = split.images;
  if (channels === 1) {
    const h = hist[0];
    for (let i = 0; i < px.length; i++) h[px[i]]++;
  } else {
    for (let i = 0; i < px.length; i += channels) {
      for (let c = 0; c < channels; c++) hist[c][px[i + c]]++;
    }
  }
  const mean: number[] = [];
  const std: number[] = [];
  for (let c = 0; c < channels; c++) {
    const h = hist[c];
    let n = 0;
    let s = 0;
    for (let v = 0; v < 256; v++) {
      n += h[v];
      s += h[v] * (v / 255);
    }
    const m = n > 0 ? s / n : 0;
    let ss = 0;
    for (let v = 0; v < 256; v++) {
      const d = v / 255 - m;
      ss += h[v] * d * d;
    }
    const sd = n > 0 ? Math.sqrt(ss / n) : 0;
    mean.push(m);
    std.push(sd > 0 ? sd : 1);
  }
  return { mean, std };
}
