/**
 * `distillery` — the headless command line on the same engine as the browser
 * app. Commands: datasets, distill, eval, bench. Errors print one line on stderr
 * (`distillery: error: …`) and exit 2 for usage errors, 1 otherwise; a stack
 * trace only with --verbose. Command modules load lazily so that help and
 * usage errors answer before tfjs is imported.
 */
import { EXIT_OK, EXIT_USAGE, UsageError, exitCodeFor, oneLine } from './errors';
import { UserError } from '../engine/data/types';
import { USAGE } from './help';
import { packageVersion } from './versions';

export async function main(argv: string[]): Promise<number> {
  const verbose = argv.includes('--verbose');
  try {
    const [command, ...rest] = argv;
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      if (command === 'help' && rest[0]) return main([rest[0], '--help']);
      console.log(USAGE);
      return command === undefined ? EXIT_USAGE : EXIT_OK;
    }
    if (command === '--version' || command === '-v') {
      console.log(packageVersion());
      return EXIT_OK;
    }
    switch (command) {
      case 'datasets':
        return await (await import('./datasets-cmd')).datasetsCommand(rest);
      case 'distill':
        return await (await import('./distill-cmd')).distillCommand(rest);
      case 'eval':
        return await (await import('./eval-cmd')).evalCommand(rest);
      case 'bench':
        return await (await import('./bench-cmd')).benchCommand(rest);
      default:
        throw new UsageError(
          command.startsWith('-')
            ? `unknown option ${command} before a command (see distillery --help)`
            : `unknown command '${command}' (expected datasets, distill, eval or bench; see distillery --help)`,
        );
    }
  } catch (err) {
    reportError(err, verbose);
    return exitCodeFor(err);
  }
}

export function reportError(err: unknown, verbose: boolean): void {
  clearProgressLine();
  // Bad input (UserError) is explained by its message; anything else is a
  // bug or an environment failure, for which --verbose shows the stack.
  const hint = err instanceof UserError || verbose ? '' : ' (run with --verbose for details)';
  process.stderr.write(`distillery: error: ${oneLine(err)}${hint}\n`);
  if (verbose && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
}

/** A \r progress line left on a terminal would run into the error message. */
function clearProgressLine(): void {
  if (process.stdout.isTTY) process.stdout.write('\r\x1b[K');
}
