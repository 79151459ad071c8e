/**
 * Distribution Matching (Zhao & Bilen, "Dataset Condensation with Distribution
 * Matching"; protocol.md "DM"). Every iteration draws a freshly initialised,
 * untrained ConvNet; for each class c a real batch and the IPC synthetic
 * images of c go through the same Siamese DSA transform (one seed per class
 * per iteration) and
 *
 *     L = Σ_c ‖ mean(embed(real_c)) − mean(embed(syn_c)) ‖²
 *
 * The real side needs no gradient: its mean embeddings are computed in
 * prepareStep, outside the tape (so the tape holds no activations of the real
 * batch), and kept until endStep.
 */
import * as tf from '@tensorflow/tfjs';
import type { IterationContext, Method } from './types';
import { convNetEmbed, disposeParams, initConvNet, type ConvNetParams, type ConvNetSpec } from '../models/convnet';

/** The ConvNet spec a run uses for its images and classes. */
export function specForContext(ctx: IterationContext): ConvNetSpec {
  return {
    channels: ctx.real.channels,
    height: ctx.real.height,
    width: ctx.real.width,
    numClasses: ctx.numClasses,
    net: ctx.config.net,
  };
}

export function dmMethod(): Method {
  let net: ConvNetParams | null = null;
  let spec: ConvNetSpec | null = null;
  let realMeans: tf.Tensor1D[] = [];
  let seeds: number[] = [];

  const free = () => {
    if (net) disposeParams(net);
    tf.dispose(realMeans);
    net = null;
    realMeans = [];
    seeds = [];
  };

  return {
    name: 'dm',

    prepareStep(ctx) {
      free();
      spec = specForContext(ctx);
      net = initConvNet(spec, ctx.rng);
      for (let c = 0; c < ctx.numClasses; c++) {
        const seed = ctx.rng.seed();
        seeds.push(seed);
        // the reference takes min(batch_real, |class|) distinct images
        const n = Math.min(ctx.config.batchReal, ctx.real.count(c));
        const real = ctx.real.sample(c, n, ctx.rng);
        const mean = tf.tidy(() => tf.mean(convNetEmbed(net!, spec!, ctx.augment(real, seed)), 0) as tf.Tensor1D);
        real.dispose();
        realMeans.push(mean);
      }
    },

    loss(ctx) {
      if (!net || !spec || realMeans.length !== ctx.numClasses) throw new Error('dm: loss() called without prepareStep()');
      const ipc = ctx.config.ipc;
      return tf.tidy(() => {
        let total = tf.scalar(0);
        for (let c = 0; c < ctx.numClasses; c++) {
          const syn = ctx.synthetic.slice([c * ipc, 0, 0, 0], [ipc, -1, -1, -1]) as tf.Tensor4D;
          const synMean = tf.mean(convNetEmbed(net!, spec!, ctx.augment(syn, seeds[c])), 0);
          total = tf.add(total, tf.sum(tf.square(tf.sub(realMeans[c], synMean))));
        }
        return total as tf.Scalar;
      });
    },

    endStep() {
      free();
    },

    dispose() {
      free();
    },
  };
}
