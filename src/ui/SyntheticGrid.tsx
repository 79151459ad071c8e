/**
 * The synthetic images as a grid of <canvas>: one row per class (labelled with
 * the class name), each image drawn at its native size and upscaled by CSS
 * with `image-rendering: pixelated`, so every pixel stays a crisp square.
 */
import { useEffect, useRef } from 'react';
import type { ImageSnapshot } from './store';

const SCALE = 4;

export function SyntheticGrid({ snapshot }: { snapshot: ImageSnapshot }) {
  const rows = snapshot.classNames.map((name, k) => ({
    name,
    indices: [...snapshot.labels.keys()].filter((i) => snapshot.labels[i] === k),
  }));
  return (
    <section className="grid" aria-label="Synthetic images" data-iteration={snapshot.iteration}>
      <h2>Synthetic images (iteration {snapshot.iteration})</h2>
      {rows.map((row) => (
        <div className="grid-row" key={row.name} role="group" aria-label={`class ${row.name}`}>
          <span className="class-name">{row.name}</span>
          {row.indices.map((i, j) => (
            <ImageCanvas key={i} snapshot={snapshot} index={i} label={`${row.name}, image ${j + 1}`} />
          ))}
        </div>
      ))}
    </section>
  );
}

function ImageCanvas({ snapshot, index, label }: { snapshot: ImageSnapshot; index: number; label: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  const { height: h, width: w, channels: c, pixels } = snapshot;
  useEffect(() => {
    const ctx = ref.current?.getContext('2d');
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
  }, [pixels, index, h, w, c]);
  return (
    <canvas
      ref={ref}
      width={w}
      height={h}
      role="img"
      aria-label={label}
      style={{ width: w * SCALE, height: h * SCALE }}
    />
  );
}
