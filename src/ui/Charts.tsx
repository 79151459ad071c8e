/**
 * Live charts (recharts): loss terms, CMI(S) against the real-data
 * reference, test accuracy (mean ± std band), iterations per second and the
 * per-class CMI. Series are downsampled to MAX_POINTS and the store itself is
 * updated at most 4 times a second (session.ts), so drawing never slows the run.
 * Live changes (λ, learning rate, space) are vertical reference lines.
 */
import { memo, useEffect, useMemo, useState, type ReactNode } from 'react';
import { Area, Bar, BarChart, CartesianGrid, ComposedChart, Legend, Line, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { useApp, type Marker, type RunRecord, type SeriesPoint } from './store';

export const MAX_POINTS = 400;

/** Every k-th point (k chosen so at most `max` remain) and always the last one. */
export function downsample<T>(xs: T[], max = MAX_POINTS): T[] {
  if (xs.length <= max) return xs;
  const k = Math.ceil(xs.length / max);
  const out: T[] = [];
  for (let i = 0; i < xs.length; i += k) out.push(xs[i]);
  if (out[out.length - 1] !== xs[xs.length - 1]) out.push(xs[xs.length - 1]);
  return out;
}

const H = 170;

/**
 * Mounts its children `delay` ms after itself: the charts' first mount (recharts
 * builds a lot) is spread over several short tasks instead of one long one
 * right after Start.
 */
function Deferred({ delay, children }: { delay: number; children: ReactNode }) {
  const [ready, setReady] = useState(false);
  useEffect(() => {
    const t = setTimeout(() => setReady(true), delay);
    return () => clearTimeout(t);
  }, [delay]);
  return ready ? <>{children}</> : <div style={{ height: H }} />;
}
const fmt = (v: unknown) => (typeof v === 'number' ? (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : v.toPrecision(4)) : String(v));

function markerLines(markers: Marker[]) {
  return markers.map((m, i) => (
    <ReferenceLine key={`${m.it}-${i}`} x={m.it} stroke="#b45309" strokeDasharray="4 3" label={{ value: m.label, position: 'insideTopLeft', fontSize: 10, fill: '#b45309' }} ifOverflow="extendDomain" />
  ));
}

export function Charts() {
  const activeId = useApp((s) => s.activeRunId);
  const run = useApp((s) => s.runs.find((r) => r.id === activeId) ?? null);
  const settings = useApp((s) => s.settings);
  const perClass = useApp((s) => s.perClassCmi);
  const classNames = useApp((s) => s.classNames);
  // Before any run: empty charts, mounted now (not on Start, where recharts' first mount would be a long task).
  const empty = useMemo<RunRecord>(
    () => ({ id: 0, label: '', settings, state: 'idle', series: [], evals: [], markers: [], finalAccuracy: null, classNames: [], startedAt: 0, exportable: false }),
    [settings],
  );
  return <RunCharts run={run ?? empty} perClass={run ? perClass : null} classNames={classNames} />;
}

const RunCharts = memo(function RunCharts({ run, perClass, classNames }: { run: RunRecord; perClass: number[] | null; classNames: string[] }) {
  const data = useMemo(() => downsample(run.series), [run.series]);
  const hasCmi = data.some((p) => p.cmi !== null);
  const bars = useMemo(() => (perClass ? perClass.map((v, k) => ({ name: classNames[k] ?? String(k), cmi: v })) : []), [perClass, classNames]);
  const ips = useMemo(() => smoothIps(data), [data]);
  const domain: [number, number] = [0, Math.max(1, run.settings.config.iterations)];
  return (
    <section className="charts" aria-label="Charts" data-points={run.series.length} data-markers={run.markers.length}>
      <figure aria-label="Loss chart">
        <figcaption>Loss terms</figcaption>
        <Deferred delay={40}>
        <ResponsiveContainer width="100%" height={H}>
          <LineChart data={data} margin={{ top: 8, right: 12, bottom: 0, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" stroke="#e5e7eb" />
            <XAxis dataKey="it" type="number" domain={domain} tick={{ fontSize: 10 }} />
            <YAxis tick={{ fontSize: 10 }} tickFormatter={fmt} width={56} />
            <Tooltip formatter={fmt} />
            <Legend wrapperStyle={{ fontSize: 11 }} />
            <Line dataKey="method" name="method loss (DM)" stroke="#2563eb" dot={false} isAnimationActive={false} />
            {run.series.some((p) => p.cmiLoss !== null) && <Line dataKey="cmiLoss" name="λ·CMI" stroke="#dc2626" dot={false} isAnimationActive={false} />}
            {markerLines(run.markers)}
          </LineChart>
        </ResponsiveContainer>
        </Deferred>
      </figure>
      <figure aria-label="CMI chart">
        <figcaption>CMI(S) {hasCmi || data.length === 0 ? 'and the real-data reference' : '(no teachers: not measured)'}</figcaption>
        <Deferred delay={80}>
        <ResponsiveContainer width="100%" height={H}>
          <LineChart data={data} margin={{ top: 8, right: 12, bottom: 0, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" stroke="#e5e7eb" />
            <XAxis dataKey="it" type="number" domain={domain} tick={{ fontSize: 10 }} />
            <YAxis tick={{ fontSize: 10 }} tickFormatter={fmt} width={56} />
            <Tooltip formatter={fmt} />
            <Legend wrapperStyle={{ fontSize: 11 }} />
            <Line dataKey="cmi" name="CMI(S)" stroke="#7c3aed" dot={false} isAnimationActive={false} />
            <Line dataKey="cmiReal" name="CMI(real)" stroke="#059669" strokeDasharray="5 4" dot={false} isAnimationActive={false} />
            {markerLines(run.markers)}
          </LineChart>
        </ResponsiveContainer>
        </Deferred>
      </figure>
      <figure aria-label="Accuracy chart">
        <figcaption>Test accuracy (mean ± std over the evaluation models)</figcaption>
        <Deferred delay={120}>
        <ResponsiveContainer width="100%" height={H}>
          <ComposedChart data={run.evals} margin={{ top: 8, right: 12, bottom: 0, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" stroke="#e5e7eb" />
            <XAxis dataKey="it" type="number" domain={domain} tick={{ fontSize: 10 }} />
            <YAxis tick={{ fontSize: 10 }} domain={[0, 1]} tickFormatter={(v: number) => `${Math.round(v * 100)}%`} width={40} />
            <Tooltip formatter={(v: unknown) => (Array.isArray(v) ? v.map((x) => `${(100 * x).toFixed(1)}%`).join(' – ') : `${(100 * Number(v)).toFixed(1)}%`)} />
            <Area dataKey="band" name="± std" fill="#93c5fd" stroke="none" fillOpacity={0.5} isAnimationActive={false} />
            <Line dataKey="mean" name="mean" stroke="#1d4ed8" isAnimationActive={false} />
            {markerLines(run.markers)}
          </ComposedChart>
        </ResponsiveContainer>
        </Deferred>
      </figure>
      <figure aria-label="Speed chart">
        <figcaption>Iterations per second</figcaption>
        <Deferred delay={160}>
        <ResponsiveContainer width="100%" height={H}>
          <LineChart data={ips} margin={{ top: 8, right: 12, bottom: 0, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" stroke="#e5e7eb" />
            <XAxis dataKey="it" type="number" domain={domain} tick={{ fontSize: 10 }} />
            <YAxis tick={{ fontSize: 10 }} tickFormatter={fmt} width={56} />
            <Tooltip formatter={fmt} />
            <Line dataKey="ips" name="it/s" stroke="#0f766e" dot={false} isAnimationActive={false} />
          </LineChart>
        </ResponsiveContainer>
        </Deferred>
      </figure>
      {bars.length > 0 && (
        <figure aria-label="Per-class CMI chart">
          <figcaption>CMI per class (latest iteration)</figcaption>
          <Deferred delay={200}>
        <ResponsiveContainer width="100%" height={H}>
            <BarChart data={bars} margin={{ top: 8, right: 12, bottom: 0, left: 0 }}>
              <CartesianGrid strokeDasharray="3 3" stroke="#e5e7eb" />
              <XAxis dataKey="name" tick={{ fontSize: 10 }} interval={0} />
              <YAxis tick={{ fontSize: 10 }} tickFormatter={fmt} width={56} />
              <Tooltip formatter={fmt} />
              <Bar dataKey="cmi" name="CMI" fill="#7c3aed" isAnimationActive={false} />
            </BarChart>
          </ResponsiveContainer>
        </Deferred>
        </figure>
      )}
    </section>
  );
});

/** it/s averaged over a short window (single iterations jitter). */
function smoothIps(data: SeriesPoint[]): { it: number; ips: number }[] {
  const w = 5;
  return data.map((p, i) => {
    const from = Math.max(0, i - w + 1);
    let s = 0;
    for (let j = from; j <= i; j++) s += data[j].ips;
    return { it: p.it, ips: s / (i - from + 1) };
  });
}
