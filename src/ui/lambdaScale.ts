/**
 * The λ slider's log scale: position 0 is λ = 0 (CMI off as a loss, still
 * measured), positions 1…STEPS are 10^x for x evenly spaced over [−1, 5]
 * (0.1 … 100 000, which covers the paper's 500 … 80 000).
 */
export const LAMBDA_STEPS = 120;
export const LAMBDA_MIN_EXP = -1;
export const LAMBDA_MAX_EXP = 5;

export function lambdaFromPosition(pos: number): number {
  const p = Math.round(pos);
  if (p <= 0) return 0;
  const q = Math.min(p, LAMBDA_STEPS);
  const x = LAMBDA_MIN_EXP + ((q - 1) * (LAMBDA_MAX_EXP - LAMBDA_MIN_EXP)) / (LAMBDA_STEPS - 1);
  // 3 significant digits: positions give tidy values (10^(1/… ) noise would only clutter the URL)
  return Number(Math.pow(10, x).toPrecision(3));
}

/** Nearest slider position of λ (λ ≤ 0 → 0; beyond the ends → the ends). */
export function positionFromLambda(lambda: number): number {
  if (!(lambda > 0)) return 0;
  const x = Math.log10(lambda);
  const p = Math.round(((x - LAMBDA_MIN_EXP) * (LAMBDA_STEPS - 1)) / (LAMBDA_MAX_EXP - LAMBDA_MIN_EXP)) + 1;
  return Math.max(1, Math.min(LAMBDA_STEPS, p));
}
