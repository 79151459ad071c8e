/**
 * The page's state (zustand): what the worker reported, reduced to what the
 * page shows. Components read it with useApp(selector); src/ui/session.ts is
 * the only writer (it turns worker events into these fields).
 */
import { create } from 'zustand';

export type RunState = 'idle' | 'starting' | 'running' | 'paused' | 'stopping' | 'done' | 'stopped' | 'error';

export interface BackendLine {
  name: string;
  /** e.g. "google swiftshader" */
  adapter: string;
  /** One line: why this backend (and what was tried before). */
  why: string;
}

/** The synthetic set as 8-bit pixels, ready to draw. */
export interface ImageSnapshot {
  iteration: number;
  /** NHWC, count·height·width·channels bytes. */
  pixels: Uint8Array;
  labels: Int32Array;
  classNames: string[];
  height: number;
  width: number;
  channels: number;
}

export interface LossPoint {
  iteration: number;
  loss: number;
}

export interface AppState {
  state: RunState;
  backend: BackendLine | null;
  /** Set while the backend is being chosen or when it could not be. */
  backendNote: string;
  iteration: number;
  totalIterations: number;
  /** Free text about what the run is doing (loading data, evaluating…). */
  activity: string;
  losses: LossPoint[];
  snapshot: ImageSnapshot | null;
  /** Latest evaluation accuracy, when the run evaluated. */
  accuracy: number | null;
  error: string | null;
  canExport: boolean;
}

export const initialState: AppState = {
  state: 'idle',
  backend: null,
  backendNote: 'choosing a backend…',
  iteration: 0,
  totalIterations: 0,
  activity: '',
  losses: [],
  snapshot: null,
  accuracy: null,
  error: null,
  canExport: false,
};

export const useApp = create<AppState>()(() => ({ ...initialState }));

/** Shorthand for writers. */
export const setApp = (patch: Partial<AppState> | ((s: AppState) => Partial<AppState>)): void => useApp.setState(patch);
