/**
 * The CLI's error kinds and exit codes: a usage error (bad flag, bad value,
 * unknown command) exits 2, any other failure 1. Both print one line.
 */
import { UserError } from '../engine/data/types';

export class UsageError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
/** Conventional code for a run ended by Ctrl-C (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;

/** Error messages are one line: the first non-empty line of whatever was thrown. */
export function oneLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n').find((l) => l.trim() !== '')?.trim() ?? 'unknown error';
}

export function exitCodeFor(err: unknown): number {
  return err instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
}
