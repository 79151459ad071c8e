/**
 * The session's runs: each with its settings and final accuracy, exportable;
 * two selected ones are overlaid (e.g. λ = 0 against λ = 8000, same seed).
 */
import { useMemo } from 'react';
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { downsample } from './Charts';
import { exportRun, runBaseline } from './session';
import { setApp, useApp, type RunRecord } from './store';

const COLORS = ['#2563eb', '#dc2626'];

export function Compare() {
  const runs = useApp((s) => s.runs);
  const compare = useApp((s) => s.compare);
  const state = useApp((s) => s.state);
  const busy = state === 'starting' || state === 'running' || state === 'paused' || state === 'stopping';
  if (runs.length === 0) return null;
  const picked = compare.map((id) => runs.find((r) => r.id === id) ?? null).filter((r): r is RunRecord => !!r);
  const toggle = (id: number, on: boolean) =>
    setApp((s) => {
      const cur = s.compare.filter((x): x is number => x !== null && x !== id);
      const next = on ? [...cur, id].slice(-2) : cur;
      return { compare: [next[0] ?? null, next[1] ?? null] };
    });
  return (
    <section className="compare" aria-label="Runs">
      <h2>Runs of this session</h2>
      <table>
        <thead>
          <tr>
            <th>Compare</th>
            <th>Run</th>
            <th>State</th>
            <th>Final accuracy</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {runs.map((r) => (
            <tr key={r.id} data-run={r.id}>
              <td>
                <input type="checkbox" aria-label={`compare run ${r.id}`} checked={compare.includes(r.id)} onChange={(e) => toggle(r.id, e.target.checked)} />
              </td>
              <td title={JSON.stringify({ ...r.settings.config, cmi: r.settings.cmi })}>{r.label}</td>
              <td>{r.state}</td>
              <td>{r.finalAccuracy ? `${(100 * r.finalAccuracy.mean).toFixed(1)} ± ${(100 * r.finalAccuracy.std).toFixed(1)}%` : '—'}</td>
              <td className="row-actions">
                <button type="button" disabled={!r.exportable} onClick={() => void exportRun(r.id)} aria-label={`Export run ${r.id}`}>
                  Export
                </button>
                <button type="button" disabled={busy || r.settings.cmi.weight === 0} onClick={() => runBaseline(r.id)} title="Start the same settings with λ = 0 (CMI still measured) as the baseline">
                  Run the same with λ = 0
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {picked.length === 2 && <Overlay a={picked[0]} b={picked[1]} />}
      {picked.length < 2 && runs.length > 1 && <p className="hint">Tick two runs to overlay their curves.</p>}
    </section>
  );
}

function Overlay({ a, b }: { a: RunRecord; b: RunRecord }) {
  const sa = useMemo(() => downsample(a.series), [a.series]);
  const sb = useMemo(() => downsample(b.series), [b.series]);
  const both = [
    { r: a, s: sa },
    { r: b, s: sb },
  ];
  return (
    <div className="overlay" aria-label="Comparison">
      <figure>
        <figcaption>CMI(S): {a.label} vs {b.label}</figcaption>
        <ResponsiveContainer width="100%" height={180}>
          <LineChart margin={{ top: 8, right: 12, bottom: 0, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" stroke="#e5e7eb" />
            <XAxis dataKey="it" type="number" allowDuplicatedCategory={false} tick={{ fontSize: 10 }} />
            <YAxis tick={{ fontSize: 10 }} width={56} />
            <Tooltip />
            <Legend wrapperStyle={{ fontSize: 11 }} />
            {both.map(({ r, s }, i) => (
              <Line key={r.id} data={s} dataKey="cmi" name={`${r.label}`} stroke={COLORS[i]} dot={false} isAnimationActive={false} />
            ))}
          </LineChart>
        </ResponsiveContainer>
      </figure>
      <figure>
        <figcaption>Method loss and test accuracy</figcaption>
        <ResponsiveContainer width="100%" height={180}>
          <LineChart margin={{ top: 8, right: 12, bottom: 0, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" stroke="#e5e7eb" />
            <XAxis dataKey="it" type="number" allowDuplicatedCategory={false} tick={{ fontSize: 10 }} />
            <YAxis yAxisId="loss" tick={{ fontSize: 10 }} width={56} />
            <YAxis yAxisId="acc" orientation="right" domain={[0, 1]} tick={{ fontSize: 10 }} width={40} />
            <Tooltip />
            <Legend wrapperStyle={{ fontSize: 11 }} />
            {both.map(({ r, s }, i) => (
              <Line key={`l${r.id}`} yAxisId="loss" data={s} dataKey="method" name={`loss ${r.label}`} stroke={COLORS[i]} dot={false} isAnimationActive={false} />
            ))}
            {both.map(({ r }, i) => (
              <Line key={`a${r.id}`} yAxisId="acc" data={r.evals} dataKey="mean" name={`accuracy ${r.label}`} stroke={COLORS[i]} strokeDasharray="5 3" isAnimationActive={false} />
            ))}
          </LineChart>
        </ResponsiveContainer>
      </figure>
    </div>
  );
}
