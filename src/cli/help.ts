/** Help texts of the CLI (kept apart from main.ts so that commands can print theirs). */
import { DISTILL_FLAGS, EVAL_FLAGS, flagHelp, type FlagSpec } from './args';

export const USAGE = `distillery — dataset distillation (DM, DSA augmentation, ConvNet) on tfjs: WebGPU, WASM or CPU

Usage:
  distillery datasets                      list the builtin and downloadable datasets
  distillery distill [flags]               distil a synthetic set, evaluate it, export it
  distillery eval --synthetic FILE.zip     evaluate an exported synthetic set
  distillery bench cmi|train|overhead      micro-benchmarks (one JSON object on stdout)
  distillery <command> --help              every flag of a command, with defaults
  distillery --version

Examples:
  distillery distill --preset quick --classes 0,1,2 --out out/quick
  distillery distill --dataset cifar10 --ipc 10 --backend webgpu
  distillery distill --dataset ./my-images.zip --preset quick
  distillery distill --preset quick --classes 0,1,2 --cmi-weight 8000 --teachers 1 --teacher-epochs 20
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
CMI: --cmi-weight λ > 0 adds λ·CMI(S) to the loss, CMI measured by a teacher
network trained first on the real training images (--teachers, --teacher-epochs;
kept in the teacher cache and reused by later runs on the same data and
settings). With λ = 0, --teachers K still reports the CMI of every iteration.
metrics.jsonl then carries cmi (raw CMI of the synthetic set), cmi_real (the
same for as many real images), cmi_per_class, and losses.cmi = λ·cmi;
summary.json the teachers' test accuracies and final.cmi / final.cmi_real.
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


export const BENCH_HELP = `Usage: distillery bench <benchmark> [flags]

Micro-benchmarks for scripts: each prints exactly one JSON object on stdout
(logs and progress go to stderr).

  distillery bench cmi --n 100 --m 2048 --classes 10 --backend webgpu
      fused WebGPU CMI kernels vs the reference from ordinary tfjs ops
  distillery bench train --backend wasm --width 128 --batch 256
      GFLOP/s of a ConvNet forward + backward on 32×32×3
  distillery bench overhead --backend wasm --width 128 --batch-real 256
      ms of a DM iteration with and without CMI, and of its parts alone

distillery bench <benchmark> --help lists its flags.`;

export function benchSubHelp(name: string, summary: string, specs: FlagSpec[]): string {
  return `Usage: distillery bench ${name} [flags]

${summary}.
Prints one JSON object on stdout.

Flags:
${flagHelp(specs)}`;
}
