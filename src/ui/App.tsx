/**
 * Minimal page (a full UI comes later): start/pause/stop a tiny DM
 * distillation, see the backend, progress, losses and the synthetic images,
 * download them as a zip. All state lives in ./store; all actions in ./session.
 */
import { useEffect } from 'react';
import { SyntheticGrid } from './SyntheticGrid';
import { PAGE_CONFIG, describeConfig } from './pageConfig';
import { useApp } from './store';
import { exportZip, initBackend, pauseRun, resumeRun, startRun, stopRun } from './session';

export function App() {
  const s = useApp();
  useEffect(() => {
    void initBackend();
  }, []);

  const busy = s.state === 'starting' || s.state === 'running' || s.state === 'paused' || s.state === 'stopping';
  const lastLosses = s.losses.slice(-12);
  return (
    <main data-state={s.state}>
      <h1>Distillery</h1>
      <p className="subtitle">Dataset distillation in your browser. Tiny demo run: {describeConfig(PAGE_CONFIG)}.</p>

      <div className="controls">
        <button
          type="button"
          className="primary"
          onClick={() => void startRun(PAGE_CONFIG)}
          disabled={busy || !s.backend}
          aria-label="Start"
        >
          Start
        </button>
        {s.state === 'paused' ? (
          <button type="button" onClick={resumeRun} aria-label="Resume">
            Resume
          </button>
        ) : (
          <button type="button" onClick={pauseRun} disabled={s.state !== 'running'} aria-label="Pause">
            Pause
          </button>
        )}
        <button type="button" onClick={stopRun} disabled={!busy || s.state === 'stopping'} aria-label="Stop">
          Stop
        </button>
        <button type="button" onClick={() => void exportZip()} disabled={!s.canExport || busy} aria-label="Export zip">
          Export zip
        </button>
      </div>

      <p className="line" aria-label="Backend" aria-live="polite">
        <span className="label">Backend:</span>
        {s.backend ? (
          <>
            <strong>{s.backend.name}</strong>
            {s.backend.adapter && <> on {s.backend.adapter}</>} <span className="why">— {s.backend.why}</span>
          </>
        ) : (
          <span className="why">{s.backendNote}</span>
        )}
      </p>
      <p className="line">
        <span className="label">Progress:</span>
        <progress aria-label="Progress" value={s.iteration} max={Math.max(1, s.totalIterations)} />
        <span aria-live="polite">
          {s.state === 'idle' ? 'not started' : `iteration ${s.iteration} / ${s.totalIterations} — ${s.state}`}
          {s.activity && ` (${s.activity})`}
          {s.accuracy !== null && ` — test accuracy ${(100 * s.accuracy).toFixed(1)}%`}
        </span>
      </p>
      {s.error && (
        <p className="error" role="alert">
          {s.error}
        </p>
      )}

      <div className="panels">
        <section className="losses">
          <h2>Loss</h2>
          <ol aria-label="Loss values">
            {lastLosses.map((p) => (
              <li key={p.iteration}>
                {p.iteration}: {formatLoss(p.loss)}
              </li>
            ))}
          </ol>
        </section>
        {s.snapshot && <SyntheticGrid snapshot={s.snapshot} />}
      </div>
    </main>
  );
}

function formatLoss(x: number): string {
  return Math.abs(x) >= 1e-3 && Math.abs(x) < 1e5 ? x.toFixed(4) : x.toExponential(3);
}
