/**
 * The learning-rate schedule of the reference evaluation (DC/DSA/DM
 * `evaluate_synset`): E+1 epochs numbered 0..E; after epoch E//2+1 the lr is
 * multiplied by 0.1 and the SGD optimiser is re-created, so its momentum
 * starts again from zero.
 */

/** The epoch after which the lr drops (integer division, as in the reference). */
export function lrDropEpoch(epochs: number): number {
  return Math.floor(epochs / 2) + 1;
}

/** The lr used during epoch `epoch` (0..epochs) for a base lr. */
export function evalLrAt(epoch: number, epochs: number, lr: number): number {
  return epoch <= lrDropEpoch(epochs) ? lr : lr * 0.1;
}

/** Whether the optimiser is re-created (momentum reset) right after epoch `epoch`. */
export function resetsAfterEpoch(epoch: number, epochs: number): boolean {
  return epoch === lrDropEpoch(epochs);
}
