/** Draws image `index` of an NHWC 8-bit array (1 or 3 channels) into a canvas of its native size. */
export function drawPixels(canvas: HTMLCanvasElement, pixels: Uint8Array, index: number, h: number, w: number, c: number): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const img = ctx.createImageData(w, h);
  const base = index * h * w * c;
  for (let p = 0; p < h * w; p++) {
    const src = base + p * c;
    img.data[p * 4] = pixels[src];
    img.data[p * 4 + 1] = pixels[c === 3 ? src + 1 : src];
    img.data[p * 4 + 2] = pixels[c === 3 ? src + 2 : src];
    img.data[p * 4 + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}
