/** The cost of the configured run, before it starts: FLOPs per iteration and time at this device's measured speed. */
import { estimateRun, formatDuration, formatFlops } from './estimate';
import { useApp } from './store';

export function Estimate() {
  const settings = useApp((s) => s.settings);
  const dataset = useApp((s) => s.dataset);
  const speed = useApp((s) => s.speed);
  const errors = useApp((s) => s.errors);
  if (!dataset) return null;
  if (Object.keys(errors).length) return <p className="estimate">Estimate: fix the settings marked above.</p>;
  if (!speed) return <p className="estimate">Estimated cost: measuring this device's speed…</p>;
  const e = estimateRun(settings, speed.flopsPerImage, dataset.classNames.length);
  const ms = (e.totalFlops / speed.flopsPerSecond) * 1000;
  return (
    <div className="estimate" aria-label="Estimated cost">
      <strong>Estimated cost:</strong> {formatFlops(e.flopsPerIteration)} per iteration ({e.imagesPerIteration} images, forward + backward ≈ 3 × {formatFlops(speed.flopsPerImage)} each), {formatFlops(e.totalFlops)} for{' '}
      {settings.config.iterations} iterations ≈ <strong>{formatDuration(ms)}</strong> of distillation at {formatFlops(speed.flopsPerSecond)}/s, measured on {speed.backend} by a short probe in the worker (ConvNet forward + backward on 16 images, width{' '}
      {settings.config.net.width}, depth {settings.config.net.depth}). Teachers and evaluations come on top.
    </div>
  );
}
