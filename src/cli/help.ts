/** Help texts of the CLI (kept apart from main.ts so that commands can print theirs). */
import { DISTILL_FLAGS, EVAL_FLAGS, flagHelp } from './args';

export const USAGE = `distillery — dataset distillation (DM, DSA augmentation, ConvNet) on tfjs: WebGPU, WASM or CPU

Usage:
  distillery datasets                      list the builtin and downloadable datasets
  distillery distill [flags]               distil a synthetic set, evaluate it, export it
  distillery eval --synthetic FILE.zip     evaluate an exported synthetic set
  distillery <command> --help              every flag of a command, with defaults
  distillery --version

Examples:
  distillery distill --preset quick --classes 0,1,2 --out out/quick
  distillery distill --dataset cifar10 --ipc 10 --backend webgpu
  distillery distill --dataset ./my-images.zip --preset quick
  distillery eval --synthetic out/quick/synthetic.zip --eval-models 3 --eval-epochs 300`;

export const DISTILL_HELP = `Usage: distillery distill [flags]

Distils IPC synthetic images per class with Distribution Matching, evaluates
them (networks trained from scratch on the synthetic set, accuracy on the real
test split) and writes to --out:
  metrics.jsonl   one JSON object per logged iteration, appended as the run goes
  evals.jsonl     one JSON object per evaluation
  summary.json    config, backend, final accuracy (mean, std, values), timings, versions
  synthetic.zip   the synthetic images (PNG + .npy) with labels and metadata
  snapshots/      PNG grids of the synthetic set (a row per class) every --snapshot-every iterations
Ctrl-C stops after the current iteration and still writes summary.json and
synthetic.zip (the final evaluation is skipped); a second Ctrl-C quits at once.
Defaults follow the standard protocol ("paper"); it is slow without a GPU:
--preset quick gives small settings for a CPU.

Flags:
${flagHelp(DISTILL_FLAGS)}`;

export const EVAL_HELP = `Usage: distillery eval --synthetic FILE.zip [flags]

Trains --eval-models networks from scratch on an exported synthetic set and
reports their accuracy on the real test split of the dataset it came from.
Dataset, classes, network and evaluation settings default to those recorded in
the zip by \`distillery distill\` (with the same seed and backend, the run's own
final accuracy is reproduced); flags override them. Prints the result as JSON
on stdout.

Flags:
${flagHelp(EVAL_FLAGS)}`;
