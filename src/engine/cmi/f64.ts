/**
 * CMI and its gradient in plain float64 TypeScript — the independent oracle
 * for tests (no tfjs, no shared code with the f32 paths beyond the formulae of
 * ../../../../shared/design/cmi.md).
 *
 *   p_j = softmax(z_j / T),  q_c = mean_{j in c} p_j,
 *   KL_j = sum_k p_jk (log p_jk - log q_ck),  CMI = (1/N) sum_j KL_j,
 *   dCMI/dz_jk = (1/(N T)) p_jk (log p_jk - log q_ck - KL_j).
 *
 * log q is a log-sum-exp over the class members, so it never underflows.
 */

export interface CmiF64Result {
  value: number;
  /** Mean KL over each class's members (0 for an empty class). */
  perClass: Float64Array;
  /** KL_j per row. */
  kl: Float64Array;
  /** dCMI/dz, row-major [N, M]. */
  grad: Float64Array;
}

/** z is row-major [n, m]; labels in [0, numClasses). */
export function cmiF64(
  z: ArrayLike<number>,
  n: number,
  m: number,
  labels: ArrayLike<number>,
  opts: { temperature?: number; numClasses?: number } = {},
): CmiF64Result {
  const T = opts.temperature ?? 1;
  let C = opts.numClasses ?? 0;
  for (let i = 0; i < n; i++) C = Math.max(C, labels[i] + 1);

  // log p per row
  const logp = new Float64Array(n * m);
  for (let j = 0; j < n; j++) {
    let mx = -Infinity;
    for (let k = 0; k < m; k++) mx = Math.max(mx, z[j * m + k] / T);
    let s = 0;
    for (let k = 0; k < m; k++) s += Math.exp(z[j * m + k] / T - mx);
    const lse = mx + Math.log(s);
    for (let k = 0; k < m; k++) logp[j * m + k] = z[j * m + k] / T - lse;
  }

  // log q per class: log-sum-exp over members minus log n_c
  const counts = new Float64Array(C);
  for (let j = 0; j < n; j++) counts[labels[j]]++;
  const logq = new Float64Array(C * m);
  const mx = new Float64Array(C * m).fill(-Infinity);
  for (let j = 0; j < n; j++) {
    const c = labels[j];
    for (let k = 0; k < m; k++) mx[c * m + k] = Math.max(mx[c * m + k], logp[j * m + k]);
  }
  for (let j = 0; j < n; j++) {
    const c = labels[j];
    for (let k = 0; k < m; k++) logq[c * m + k] += Math.exp(logp[j * m + k] - mx[c * m + k]);
  }
  for (let c = 0; c < C; c++) {
    if (counts[c] === 0) continue;
    for (let k = 0; k < m; k++) logq[c * m + k] = mx[c * m + k] + Math.log(logq[c * m + k]) - Math.log(counts[c]);
  }

  const kl = new Float64Array(n);
  const grad = new Float64Array(n * m);
  const perClass = new Float64Array(C);
  let total = 0;
  for (let j = 0; j < n; j++) {
    const c = labels[j];
    let s = 0;
    for (let k = 0; k < m; k++) s += Math.exp(logp[j * m + k]) * (logp[j * m + k] - logq[c * m + k]);
    kl[j] = s;
    total += s;
    perClass[c] += s;
    for (let k = 0; k < m; k++) {
      const lp = logp[j * m + k];
      grad[j * m + k] = (Math.exp(lp) * (lp - logq[c * m + k] - s)) / (n * T);
    }
  }
  for (let c = 0; c < C; c++) perClass[c] = counts[c] > 0 ? perClass[c] / counts[c] : 0;
  return { value: total / n, perClass, kl, grad };
}
