/**
 * ConvNet family of the dataset-distillation literature (ConvNet-3 by default),
 * written functionally: parameters are a plain named map of tensors, so a
 * method can wrap them in tf.Variable to train, or differentiate through
 * training steps by passing ordinary tensors.
 *
 * Architecture (../shared/design/protocol.md "Backbone"):
 *   depth × [conv 3×3 (pad 1, `net.width` channels) → norm → ReLU → 2×2 pool stride 2]
 *   → flatten → linear(numClasses).
 * Layout: NHWC everywhere. The flatten is tfjs' NHWC order (index = (h·W' + w)·C + c),
 * not PyTorch's CHW order; only a fixed permutation of the features, so any
 * statistic over the embedding (DM's mean matching, CMI) is unaffected.
 *
 * Parameter names (d = block index 0..depth-1):
 *   conv{d}.weight [3, 3, in, width]   conv{d}.bias [width]
 *   norm{d}.weight [width]             norm{d}.bias [width]      (norm ≠ 'none')
 *   fc.weight [embedDim, numClasses]   fc.bias [numClasses]
 * Batch-norm running statistics are not parameters; they live in a separate
 * BatchNormState: norm{d}.runningMean / norm{d}.runningVar.
 */
import * as tf from '@tensorflow/tfjs';
import type { NetConfig } from '../config';
import type { Rng } from '../rng';
import { conv2dPadded } from './conv';

export interface ConvNetSpec {
  /** Image channels (3 for CIFAR, 1 for MNIST). */
  channels: number;
  /** Image height and width in pixels. */
  height: number;
  width: number;
  numClasses: number;
  /** Conv width (channels), depth, norm, pooling. */
  net: NetConfig;
  /**
   * Zero padding of the first conv (default 1). The reference code uses 3 for
   * 1-channel 28×28 images (28 → 32, so MNIST also embeds to 2048); the
   * protocol's 1152-d MNIST embedding is the default 1.
   */
  firstConvPadding?: number;
}

export type ConvNetParams = Record<string, tf.Tensor>;
/** Running mean/var of each batch-norm layer (PyTorch convention, momentum 0.1). */
export type BatchNormState = Record<string, tf.Tensor>;

export interface ConvNetForwardOptions {
  /**
   * Training mode (default true, like a fresh PyTorch module). Only batch norm
   * cares: training uses batch statistics, evaluation uses `bnState`.
   */
  training?: boolean;
  /**
   * Batch-norm running statistics. In training mode they are updated in place
   * (old tensors disposed, new ones kept out of any tidy); required when
   * evaluating a batch-norm net.
   */
  bnState?: BatchNormState;
}

const EPS = 1e-5;
const BN_MOMENTUM = 0.1;

function checkSpec(spec: ConvNetSpec): void {
  const { net } = spec;
  for (const [name, v] of [
    ['channels', spec.channels],
    ['height', spec.height],
    ['width', spec.width],
    ['numClasses', spec.numClasses],
    ['net.width', net.width],
    ['net.depth', net.depth],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`ConvNet: ${name} must be a positive integer (got ${v})`);
  }
  if (!['instance', 'batch', 'none'].includes(net.norm)) throw new Error(`ConvNet: unknown norm '${net.norm}'`);
  if (!['avg', 'max'].includes(net.pooling)) throw new Error(`ConvNet: unknown pooling '${net.pooling}'`);
}

/** Spatial size after each block: conv keeps size (+2·(pad−1) for the first), pool floors by 2. */
export function featureShape(spec: ConvNetSpec): [number, number, number] {
  checkSpec(spec);
  const extra = 2 * ((spec.firstConvPadding ?? 1) - 1);
  let h = spec.height + extra;
  let w = spec.width + extra;
  for (let d = 0; d < spec.net.depth; d++) {
    h = Math.floor(h / 2);
    w = Math.floor(w / 2);
    if (h < 1 || w < 1) {
      throw new Error(
        `ConvNet: depth ${spec.net.depth} is too deep for ${spec.height}×${spec.width} images (pooling reaches 0 pixels)`,
      );
    }
  }
  return [h, w, spec.net.width];
}

/** Length of the embedding (the flattened features before the classifier). */
export function embedDim(spec: ConvNetSpec): number {
  const [h, w, c] = featureShape(spec);
  return h * w * c;
}

/** PyTorch default init bound for conv/linear weights (Kaiming-uniform a=√5) and biases: 1/√fan_in. */
function uniformTensor(shape: number[], bound: number, rng: Rng): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(rng.fill(n, (r) => r.uniform(-bound, bound)), shape, 'float32');
}

/**
 * Freshly initialised parameters, PyTorch defaults: conv and linear weights
 * U(−1/√fan_in, 1/√fan_in) (Kaiming-uniform with a=√5 reduces to that), biases
 * the same bound; norm weights 1, biases 0. Deterministic for the Rng's state.
 */
export function initConvNet(spec: ConvNetSpec, rng: Rng): ConvNetParams {
  checkSpec(spec);
  const { width, depth, norm } = spec.net;
  const params: ConvNetParams = {};
  let cin = spec.channels;
  for (let d = 0; d < depth; d++) {
    const b = 1 / Math.sqrt(cin * 9);
    params[`conv${d}.weight`] = uniformTensor([3, 3, cin, width], b, rng);
    params[`conv${d}.bias`] = uniformTensor([width], b, rng);
    if (norm !== 'none') {
      params[`norm${d}.weight`] = tf.ones([width]);
      params[`norm${d}.bias`] = tf.zeros([width]);
    }
    cin = width;
  }
  const dim = embedDim(spec);
  const b = 1 / Math.sqrt(dim);
  params['fc.weight'] = uniformTensor([dim, spec.numClasses], b, rng);
  params['fc.bias'] = uniformTensor([spec.numClasses], b, rng);
  return params;
}

/** Running statistics for a batch-norm net: mean 0, var 1 (PyTorch's initial values). */
export function initBatchNormState(spec: ConvNetSpec): BatchNormState {
  checkSpec(spec);
  const state: BatchNormState = {};
  if (spec.net.norm !== 'batch') return state;
  for (let d = 0; d < spec.net.depth; d++) {
    state[`norm${d}.runningMean`] = tf.zeros([spec.net.width]);
    state[`norm${d}.runningVar`] = tf.ones([spec.net.width]);
  }
  return state;
}

/** Disposes every tensor of a parameter map or batch-norm state (tf.Variables included). */
export function disposeParams(params: Record<string, tf.Tensor>): void {
  for (const t of Object.values(params)) t.dispose();
}

/** Number of trainable scalars. */
export function paramCount(spec: ConvNetSpec): number {
  checkSpec(spec);
  const { width, depth, norm } = spec.net;
  let total = 0;
  let cin = spec.channels;
  for (let d = 0; d < depth; d++) {
    total += 9 * cin * width + width + (norm === 'none' ? 0 : 2 * width);
    cin = width;
  }
  return total + embedDim(spec) * spec.numClasses + spec.numClasses;
}

/**
 * Forward cost of one image: 2 × multiply-adds of the convolutions and the
 * classifier (norm, ReLU and pooling add < 2% and are left out).
 */
export function flopsPerImage(spec: ConvNetSpec): number {
  checkSpec(spec);
  const { width, depth } = spec.net;
  const extra = 2 * ((spec.firstConvPadding ?? 1) - 1);
  let h = spec.height + extra;
  let w = spec.width + extra;
  let cin = spec.channels;
  let macs = 0;
  for (let d = 0; d < depth; d++) {
    macs += h * w * 9 * cin * width;
    h = Math.floor(h / 2);
    w = Math.floor(w / 2);
    cin = width;
  }
  macs += embedDim(spec) * spec.numClasses;
  return 2 * macs;
}

function param(params: ConvNetParams, name: string): tf.Tensor {
  const t = params[name];
  if (!t) throw new Error(`ConvNet: parameter '${name}' is missing`);
  return t;
}

function affine(x: tf.Tensor4D, params: ConvNetParams, d: number): tf.Tensor4D {
  return x.mul(param(params, `norm${d}.weight`)).add(param(params, `norm${d}.bias`));
}

function batchNorm(
  x: tf.Tensor4D,
  params: ConvNetParams,
  d: number,
  training: boolean,
  state: BatchNormState | undefined,
): tf.Tensor4D {
  const meanKey = `norm${d}.runningMean`;
  const varKey = `norm${d}.runningVar`;
  if (!training) {
    if (!state?.[meanKey] || !state[varKey]) {
      throw new Error('ConvNet: evaluating a batch-norm net needs its running statistics (opts.bnState)');
    }
    return affine(x.sub(state[meanKey]).mul(tf.rsqrt(state[varKey].add(EPS))), params, d);
  }
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  if (state) {
    // Running statistics as PyTorch keeps them: momentum 0.1, unbiased batch variance.
    const n = x.shape[0] * x.shape[1] * x.shape[2];
    const unbiased = n > 1 ? n / (n - 1) : 1;
    const oldMean = state[meanKey] ?? tf.zeros(mean.shape);
    const oldVar = state[varKey] ?? tf.ones(variance.shape);
    const newMean = tf.keep(oldMean.mul(1 - BN_MOMENTUM).add(mean.mul(BN_MOMENTUM)));
    const newVar = tf.keep(oldVar.mul(1 - BN_MOMENTUM).add(variance.mul(BN_MOMENTUM * unbiased)));
    oldMean.dispose();
    oldVar.dispose();
    state[meanKey] = newMean;
    state[varKey] = newVar;
  }
  return affine(x.sub(mean).mul(tf.rsqrt(variance.add(EPS))), params, d);
}

/**
 * Instance normalisation before the affine step: GroupNorm with groups =
 * channels, i.e. statistics over H, W per sample and channel (biased variance, eps 1e-5).
 */
export function instanceNormalize(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, [1, 2], true);
    return x.sub(mean).mul(tf.rsqrt(variance.add(EPS)));
  });
}

function instanceNorm(x: tf.Tensor4D, params: ConvNetParams, d: number): tf.Tensor4D {
  return affine(instanceNormalize(x), params, d);
}

/** Flattened features before the classifier, [N, embedDim(spec)]. x: normalised NHWC. */
export function convNetEmbed(
  params: ConvNetParams,
  spec: ConvNetSpec,
  x: tf.Tensor4D,
  opts: ConvNetForwardOptions = {},
): tf.Tensor2D {
  const [, h, w, c] = x.shape;
  if (h !== spec.height || w !== spec.width || c !== spec.channels) {
    throw new Error(
      `ConvNet: input is ${h}×${w}×${c} but the net was built for ${spec.height}×${spec.width}×${spec.channels}`,
    );
  }
  const training = opts.training ?? true;
  const { depth, norm, pooling } = spec.net;
  return tf.tidy(() => {
    let out = x;
    for (let d = 0; d < depth; d++) {
      const pad = d === 0 ? (spec.firstConvPadding ?? 1) : 1;
      out = conv2dPadded(out, param(params, `conv${d}.weight`) as tf.Tensor4D, pad).add(
        param(params, `conv${d}.bias`),
      );
      if (norm === 'instance') out = instanceNorm(out, params, d);
      else if (norm === 'batch') out = batchNorm(out, params, d, training, opts.bnState);
      out = tf.relu(out);
      out = pooling === 'max' ? tf.maxPool(out, 2, 2, 'valid') : tf.avgPool(out, 2, 2, 'valid');
    }
    return out.reshape([out.shape[0], -1]) as tf.Tensor2D;
  });
}

/** Class logits [N, numClasses]. */
export function convNetLogits(
  params: ConvNetParams,
  spec: ConvNetSpec,
  x: tf.Tensor4D,
  opts: ConvNetForwardOptions = {},
): tf.Tensor2D {
  return tf.tidy(() => {
    const z = convNetEmbed(params, spec, x, opts);
    return tf.matMul(z, param(params, 'fc.weight') as tf.Tensor2D).add(param(params, 'fc.bias')) as tf.Tensor2D;
  });
}
