/**
 * The contract between the run loop and distillation methods (DM now; DSA,
 * MTT, IDM, IDC later) and plug-in loss terms (CMI, MIM4DD). The loop owns the
 * synthetic images and their optimiser; a method only says how to score them.
 *
 * One iteration:
 *   method.prepareStep?(ctx)            outside the gradient tape: no-grad work (real embeddings…)
 *   plugin.prepareStep?(ctx)            for every plugin, also at weight 0 (its metrics still run)
 *   total = method.loss(ctx) + Σ plugin.weight · plugin.loss(ctx)    inside tf.variableGrads
 *   images ← SGD-momentum step on total
 *   method.endStep?(), plugin.endStep?() frees what prepareStep kept
 * A plugin whose weight is 0 gets no loss() call that step.
 */
import type * as tf from '@tensorflow/tfjs';
import type { DistillConfig } from '../config';
import type { Rng } from '../rng';
import type { RealPool } from '../data/subset';

export interface IterationContext {
  iteration: number;
  /** Seeded from (run seed, iteration): use it for every random choice of the step. */
  rng: Rng;
  config: DistillConfig;
  /** Synthetic images, normalised, NHWC [N, H, W, C]; class-major order (ipc per class). */
  synthetic: tf.Variable;
  /** Label (0..numClasses-1, in the subset's numbering) of each synthetic image. */
  syntheticLabels: Int32Array;
  numClasses: number;
  /** Real training images of the subset, by class. */
  real: RealPool;
  /**
   * DSA augmentation with one shared seed ("Siamese": same family and parameters
   * for every image of the batch and for any other batch given the same seed);
   * the identity when augmentation is off.
   */
  augment(x: tf.Tensor4D, seed: number): tf.Tensor4D;
}

export interface Method {
  readonly name: string;
  /** Once before the first iteration (e.g. load expert trajectories). */
  prepare?(ctx: IterationContext): Promise<void>;
  /** Outside the tape: work that needs no gradient. Keep what loss() needs. */
  prepareStep?(ctx: IterationContext): void;
  /** The method's loss for this iteration, a scalar, computed inside the tape. */
  loss(ctx: IterationContext): tf.Scalar;
  /** Frees anything kept since prepareStep. */
  endStep?(): void;
  dispose?(): void;
}

/** A term added to any method's loss: total = L_method + weight · term. */
export interface LossPlugin {
  readonly name: string;
  /** May change between iterations while a run goes on (λ slider). */
  weight: number;
  prepare?(ctx: IterationContext): Promise<void>;
  prepareStep?(ctx: IterationContext): void;
  /** The unweighted term, inside the tape. */
  loss(ctx: IterationContext): tf.Scalar;
  endStep?(): void;
  /** Extra metrics for the last step (e.g. raw CMI, per-class CMI). */
  metrics?(): Record<string, number | number[]>;
  /** The same metrics, awaited (preferred when present: no synchronous GPU read). */
  readMetrics?(): Promise<Record<string, number | number[]>>;
  dispose?(): void;
}
