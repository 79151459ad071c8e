/**
 * The playground: controls on the left, the synthetic images and live charts
 * beside them, the session's runs below. All compute runs in the worker
 * (src/worker/worker.ts); state lives in ./store, actions in ./session.
 */
import { useEffect, useRef } from 'react';
import { Charts } from './Charts';
import { Compare } from './Compare';
import { Controls } from './Controls';
import { formatDuration } from './estimate';
import { SyntheticGrid } from './SyntheticGrid';
import { continueFromImported, evaluateImported, exportRun, importFile, initApp, pauseRun, resetView, resumeRun, startRun, stopRun } from './session';
import { setApp, useApp, type TaskPhase } from './store';

export function App() {
  useEffect(() => {
    void initApp();
  }, []);
  const state = useApp((s) => s.state);
  return (
    <main data-state={state}>
      <header className="top">
        <h1>Distillery</h1>
        <p className="subtitle">Dataset distillation (DM + the class-aware CMI term) in your browser — every tensor stays in a Web Worker on your GPU.</p>
        <BackendBadge />
      </header>
      <Banners />
      <Buttons />
      <Progress />
      <div className="layout">
        <Controls />
        <div className="views">
          <SyntheticGrid />
          <Teachers />
          <Charts />
        </div>
      </div>
      <Compare />
    </main>
  );
}

function BackendBadge() {
  const backend = useApp((s) => s.backend);
  const note = useApp((s) => s.backendNote);
  const fused = useApp((s) => s.fusedCmi);
  const cmiKernels = backend ? (backend.name === 'webgpu' ? 'fused WGSL kernels' : 'reference ops') : '';
  return (
    <p className="badge" aria-label="Backend status" aria-live="polite" title={backend?.why ?? note}>
      {backend ? (
        <>
          <strong>{backend.name}</strong>
          {backend.adapter && <> on {backend.adapter}</>} · CMI: {cmiKernels}
          {fused !== null && <> ({fused ? 'in use' : 'not used by this run'})</>}
        </>
      ) : (
        <span className="why">{note}</span>
      )}
    </p>
  );
}

function Banners() {
  const backend = useApp((s) => s.backend);
  const error = useApp((s) => s.error);
  const notice = useApp((s) => s.notice);
  const urlErrors = useApp((s) => s.urlErrors);
  return (
    <>
      {backend?.fallback && (
        <p className="banner warn" role="note" aria-label="Fallback">
          {backend.fallback}
        </p>
      )}
      {urlErrors.length > 0 && (
        <p className="banner warn" role="note">
          Some settings in the link were refused: {urlErrors.join('; ')}.
        </p>
      )}
      {notice && <p className="banner">{notice}</p>}
      {error && (
        <p className="banner error" role="alert">
          {error}{' '}
          <button type="button" onClick={() => setApp({ error: null })} aria-label="Dismiss the error">
            ×
          </button>
        </p>
      )}
    </>
  );
}

function Buttons() {
  const state = useApp((s) => s.state);
  const backend = useApp((s) => s.backend);
  const dataset = useApp((s) => s.dataset);
  const hasErrors = useApp((s) => Object.keys(s.errors).length > 0);
  const activeRun = useApp((s) => s.runs.find((r) => r.id === s.activeRunId) ?? null);
  const imported = useApp((s) => s.imported);
  const importedEval = useApp((s) => s.importedEval);
  const importRef = useRef<HTMLInputElement>(null);
  const busy = state === 'starting' || state === 'running' || state === 'paused' || state === 'stopping';
  const canExport = !!activeRun && (activeRun.exportable || state === 'running' || state === 'paused');
  return (
    <div className="buttons" role="toolbar" aria-label="Run">
      <button type="button" className="primary" onClick={() => void startRun()} disabled={busy || !backend || !dataset || hasErrors} title="Start a run with these settings">
        Start
      </button>
      {state === 'paused' ? (
        <button type="button" onClick={resumeRun} title="Continue the run">
          Resume
        </button>
      ) : (
        <button type="button" onClick={pauseRun} disabled={state !== 'running'} title="Pause at the next iteration">
          Pause
        </button>
      )}
      <button type="button" onClick={stopRun} disabled={!busy || state === 'stopping'} title="End after the current iteration (the images are kept)">
        Stop
      </button>
      <button type="button" onClick={resetView} disabled={busy} title="Clear the live view (the runs list stays)">
        Reset
      </button>
      <button
        type="button"
        onClick={() => void exportRun(activeRun ? activeRun.id : -1)}
        disabled={!(canExport || (!activeRun && imported))}
        title="Download the synthetic images as a zip: a PNG per image in class folders, images.npy (lossless), labels.npy, meta.json — the CLI's format"
      >
        Export PNG zip
      </button>
      <label className="button" title="Open a zip written by Export or by the CLI and show it in the grid">
        Import…
        <input
          ref={importRef}
          type="file"
          hidden
          accept=".zip"
          disabled={busy}
          onChange={(e) => {
            const f = e.target.files?.[0];
            if (f) void importFile(f);
            e.target.value = '';
          }}
        />
      </label>
      {imported && (
        <>
          <button type="button" disabled={busy} onClick={() => void evaluateImported()} title="Train the evaluation networks on the imported images and test them on the chosen dataset's test split">
            Evaluate imported
          </button>
          <button type="button" disabled={busy} onClick={continueFromImported} title="Start a run whose synthetic images begin as the imported ones">
            Continue distilling from it
          </button>
          <span className="hint" aria-label="Imported set">
            imported: {imported.labels.length} images, {imported.classNames.length} classes ({imported.source})
            {importedEval && ` — test accuracy ${(100 * importedEval.mean).toFixed(1)} ± ${(100 * importedEval.std).toFixed(1)}%`}
          </span>
        </>
      )}
    </div>
  );
}

const PHASES: [TaskPhase, string][] = [
  ['data', 'Dataset'],
  ['teachers', 'Teachers'],
  ['distill', 'Distillation'],
  ['eval', 'Evaluation'],
  ['export', 'Export'],
  ['import', 'Import'],
];

function Progress() {
  const tasks = useApp((s) => s.tasks);
  const state = useApp((s) => s.state);
  const activity = useApp((s) => s.activity);
  return (
    <div className="progress" aria-live="polite">
      {PHASES.filter(([p]) => tasks[p]).map(([p, name]) => {
        const t = tasks[p]!;
        const frac = t.total > 0 ? t.done / t.total : 0;
        return (
          <div className="task" key={p}>
            <span className="label">{name}</span>
            <progress aria-label={`${name} progress`} value={t.done} max={Math.max(1, t.total)} />
            <span className="what">
              {Math.round(frac * 100)}% {t.what}
              {t.etaMs !== null && t.done < t.total && ` — ETA ${formatDuration(t.etaMs)}`}
            </span>
          </div>
        );
      })}
      <p className="state-line">
        State: <strong>{state}</strong>
        {activity && <span className="hint"> — {activity}</span>}
      </p>
    </div>
  );
}

function Teachers() {
  const teachers = useApp((s) => s.teachers);
  if (!teachers) return null;
  return (
    <p className="teachers" aria-label="Teacher accuracies">
      Teachers ({teachers.fromCache ? 'from this browser’s cache' : 'trained now, cached for next time'}): test accuracy{' '}
      {teachers.accuracies.map((a) => `${(100 * a).toFixed(1)}%`).join(', ')}
    </p>
  );
}
