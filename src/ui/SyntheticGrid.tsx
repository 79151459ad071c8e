/**
 * The synthetic images as a grid of <canvas>: one row per class (labelled with
 * the class name), IPC columns, each image drawn at its native size and
 * upscaled by CSS with `image-rendering: pixelated`. A scrubber shows earlier
 * snapshots (the store keeps the last MAX_SNAPSHOTS).
 */
import { memo, useEffect, useRef } from 'react';
import { drawPixels } from './draw';
import { setApp, useApp, type ImageSnapshot } from './store';

export function SyntheticGrid() {
  const snapshots = useApp((s) => s.snapshots);
  const scrub = useApp((s) => s.scrub);
  if (snapshots.length === 0) {
    return (
      <section className="grid empty" aria-label="Synthetic images (none yet)">
        <h2>Synthetic images</h2>
        <p className="hint">Start a run (or import a zip) to see the synthetic images here.</p>
      </section>
    );
  }
  const index = scrub === null ? snapshots.length - 1 : Math.min(scrub, snapshots.length - 1);
  const snap = snapshots[index];
  return (
    <section className="grid" aria-label="Synthetic images" data-iteration={snap.iteration}>
      <h2>
        Synthetic images <span className="hint">(iteration {snap.iteration}{scrub !== null ? ', earlier snapshot' : ''})</span>
      </h2>
      <label className="scrubber" title="Show earlier snapshots of this run (the last 50 are kept); far right follows the run">
        Snapshot
        <input
          type="range"
          min={0}
          max={snapshots.length - 1}
          value={index}
          onChange={(e) => {
            const v = Number(e.target.value);
            setApp({ scrub: v >= snapshots.length - 1 ? null : v });
          }}
        />
        <span>
          {index + 1} / {snapshots.length}
        </span>
      </label>
      <Grid snapshot={snap} />
    </section>
  );
}

const Grid = memo(function Grid({ snapshot }: { snapshot: ImageSnapshot }) {
  const numClasses = Math.max(snapshot.classNames.length, ...Array.from(snapshot.labels, (l) => l + 1));
  const rows = Array.from({ length: numClasses }, (_, k) => ({
    name: snapshot.classNames[k] ?? `class ${k}`,
    indices: [...snapshot.labels.keys()].filter((i) => snapshot.labels[i] === k),
  }));
  const scale = Math.max(2, Math.floor(96 / snapshot.height));
  return (
    <div className="grid-rows">
      {rows.map((row) => (
        <div className="grid-row" key={row.name} role="group" aria-label={`class ${row.name}`}>
          <span className="class-name" title={row.name}>
            {row.name}
          </span>
          {row.indices.map((i, j) => (
            <ImageCanvas key={i} snapshot={snapshot} index={i} scale={scale} label={`${row.name}, image ${j + 1} (index ${i})`} />
          ))}
        </div>
      ))}
    </div>
  );
});

function ImageCanvas({ snapshot, index, label, scale }: { snapshot: ImageSnapshot; index: number; label: string; scale: number }) {
  const ref = useRef<HTMLCanvasElement>(null);
  const { height: h, width: w, channels: c, pixels } = snapshot;
  useEffect(() => {
    if (ref.current) drawPixels(ref.current, pixels, index, h, w, c);
  }, [pixels, index, h, w, c]);
  return <canvas ref={ref} width={w} height={h} role="img" aria-label={label} title={label} style={{ width: w * scale, height: h * scale }} />;
}
