/**
 * Progress output on stdout. On a terminal: one line rewritten in place
 * (\r, at most ~10 times a second). Otherwise (a pipe, a log file, CI): a
 * plain line now and then, so logs stay readable. stderr is kept for errors.
 */
export interface ProgressOptions {
  tty?: boolean;
  /** Non-TTY: at most one progress line per this many ms (default 10 s). */
  plainIntervalMs?: number;
  write?: (s: string) => void;
  now?: () => number;
}

export class Progress {
  private readonly tty: boolean;
  private readonly plainIntervalMs: number;
  private readonly write: (s: string) => void;
  private readonly now: () => number;
  private lastDraw = -Infinity;
  private live = false;

  constructor(opts: ProgressOptions = {}) {
    this.tty = opts.tty ?? !!process.stdout.isTTY;
    this.plainIntervalMs = opts.plainIntervalMs ?? 10_000;
    this.write = opts.write ?? ((s) => void process.stdout.write(s));
    this.now = opts.now ?? (() => Date.now());
  }

  /** A transient status; `force` draws it even if one was drawn just now (e.g. the last iteration). */
  update(text: string, force = false): void {
    const t = this.now();
    if (this.tty) {
      if (!force && t - this.lastDraw < 100) return;
      const cols = process.stdout.columns || 120;
      this.write(`\r${text.length >= cols ? text.slice(0, cols - 1) : text}\x1b[K`);
      this.live = true;
    } else {
      if (!force && t - this.lastDraw < this.plainIntervalMs) return;
      this.write(`${text}\n`);
    }
    this.lastDraw = t;
  }

  /** A permanent line (an evaluation result, a notice), printed above the status line. */
  log(text: string): void {
    this.clear();
    this.write(`${text}\n`);
  }

  /** Removes the status line (before an error message or at the end). */
  clear(): void {
    if (this.tty && this.live) this.write('\r\x1b[K');
    this.live = false;
  }
}

/** "1h02m", "3m05s", "12s". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** "146.9 ms", "238.6 s". */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '? ms';
  return ms < 1000 ? `${ms.toFixed(1)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** Loss values: short, readable over many orders of magnitude. */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(3);
  return v.toPrecision(4);
}

/** iteration i/N, loss, it/s, ETA (from the rate unless given). */
export function iterationLine(i: number, n: number, losses: Record<string, number>, itPerSec: number, etaMs?: number): string {
  const lossText = Object.entries(losses)
    .map(([k, v]) => `${k} ${formatNumber(v)}`)
    .join('  ');
  const known = Number.isFinite(itPerSec) && itPerSec > 0;
  const eta = etaMs !== undefined && Number.isFinite(etaMs) ? formatDuration(etaMs) : known ? formatDuration(((n - i) / itPerSec) * 1000) : '?';
  const rate = !known ? '? it/s' : itPerSec >= 1 ? `${itPerSec.toFixed(1)} it/s` : `${(1 / itPerSec).toFixed(1)} s/it`;
  return `iteration ${i}/${n}  ${lossText}  ${rate}  ETA ${eta}`;
}
