/**
 * The page's state (zustand). Components read it with useApp(selector);
 * src/ui/session.ts writes what the worker reports, the controls write the
 * settings (through setSettings, which validates per field).
 */
import { create } from 'zustand';
import type { DatasetInfo, ImageSnapshot, ImportedSet, SpeedProbe } from '../worker/protocol';

export type { ImageSnapshot };
import { DEFAULT_SETTINGS, cloneSettings, fieldErrors, type FieldKey, type Settings } from './settings';

export type RunState = 'idle' | 'starting' | 'running' | 'paused' | 'stopping' | 'done' | 'stopped' | 'error';

export interface BackendLine {
  name: string;
  /** e.g. "google swiftshader" */
  adapter: string;
  /** One line: why this backend (and what was tried before). */
  why: string;
  /** Set when WebGPU was wanted but not available: why, and what it costs. */
  fallback: string | null;
}


/** One iteration's numbers (what the charts plot). */
export interface SeriesPoint {
  it: number;
  /** The method's loss (DM). */
  method: number;
  /** λ·CMI as added to the loss. */
  cmiLoss: number | null;
  cmi: number | null;
  cmiReal: number | null;
  /** Iterations per second (from the iteration's wall time). */
  ips: number;
}

export interface EvalPoint {
  it: number;
  mean: number;
  std: number;
  /** [mean − std, mean + std] for the band. */
  band: [number, number];
}

/** A live change during a run, drawn as a vertical line on the charts. */
export interface Marker {
  it: number;
  label: string;
}

export interface RunRecord {
  id: number;
  label: string;
  settings: Settings;
  state: RunState;
  series: SeriesPoint[];
  evals: EvalPoint[];
  markers: Marker[];
  finalAccuracy: { mean: number; std: number } | null;
  classNames: string[];
  startedAt: number;
  /** Whether its synthetic set can be exported (kept in the worker). */
  exportable: boolean;
}

export interface TaskLine {
  done: number;
  total: number;
  what: string;
  startedAt: number;
  etaMs: number | null;
}

export type TaskPhase = 'data' | 'teachers' | 'distill' | 'eval' | 'export' | 'import';

export interface AppState {
  settings: Settings;
  errors: Partial<Record<FieldKey, string>>;
  /** Problems with the URL the page was opened with (values refused). */
  urlErrors: string[];
  dataset: DatasetInfo | null;
  datasetLoading: boolean;
  backend: BackendLine | null;
  backendNote: string;
  fusedCmi: boolean | null;
  state: RunState;
  activeRunId: number | null;
  iteration: number;
  totalIterations: number;
  tasks: Partial<Record<TaskPhase, TaskLine>>;
  activity: string;
  runs: RunRecord[];
  perClassCmi: number[] | null;
  /** Class names of the current run (the per-class chart and the grid). */
  classNames: string[];
  /** Bounded history of snapshots (the scrubber); the last is the newest. */
  snapshots: ImageSnapshot[];
  /** Index into snapshots shown by the scrubber; null = follow the newest. */
  scrub: number | null;
  teachers: { accuracies: number[]; fromCache: boolean } | null;
  imported: ImportedSet | null;
  importedEval: { mean: number; std: number } | null;
  speed: SpeedProbe | null;
  error: string | null;
  notice: string | null;
  compare: [number | null, number | null];
}

export const initialState: AppState = {
  settings: cloneSettings(DEFAULT_SETTINGS),
  errors: {},
  urlErrors: [],
  dataset: null,
  datasetLoading: false,
  backend: null,
  backendNote: 'choosing a backend…',
  fusedCmi: null,
  state: 'idle',
  activeRunId: null,
  iteration: 0,
  totalIterations: 0,
  tasks: {},
  activity: '',
  runs: [],
  perClassCmi: null,
  classNames: [],
  snapshots: [],
  scrub: null,
  teachers: null,
  imported: null,
  importedEval: null,
  speed: null,
  error: null,
  notice: null,
  compare: [null, null],
};

export const useApp = create<AppState>()(() => ({ ...initialState }));

/** Shorthand for writers. */
export const setApp = (patch: Partial<AppState> | ((s: AppState) => Partial<AppState>)): void => useApp.setState(patch);

/** Replaces the settings (the caller builds a new object) and re-validates every field. */
export function setSettings(next: Settings): void {
  setApp({ settings: next, errors: fieldErrors(next) });
}

/** Edits a copy of the settings. */
export function editSettings(edit: (s: Settings) => void): void {
  const next = cloneSettings(useApp.getState().settings);
  edit(next);
  setSettings(next);
}

export function updateRun(id: number, patch: Partial<RunRecord> | ((r: RunRecord) => Partial<RunRecord>)): void {
  setApp((s) => ({
    runs: s.runs.map((r) => (r.id === id ? { ...r, ...(typeof patch === 'function' ? patch(r) : patch) } : r)),
  }));
}

export const MAX_SNAPSHOTS = 50;
