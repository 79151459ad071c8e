/**
 * 3×3 stride-1 convolution that can be differentiated on every tfjs backend.
 *
 * tf.conv2d's gradient with respect to the filter needs the
 * `Conv2DBackpropFilter` kernel, which the wasm backend (tfjs 4.22) does not
 * register itself, so training a network there would throw unless
 * src/engine/wasm has installed its faster replacement. Where it is missing we wrap
 * the convolution in a custom gradient whose filter gradient is a sum over the
 * kernel taps of (shifted input)ᵀ · dy — slices and matMuls only, available
 * everywhere. Backends that have the kernel use plain tf.conv2d.
 */
import * as tf from '@tensorflow/tfjs';

/** Explicit [top/bottom, left/right] zero padding used by every conv of the net. */
function padSpatial(x: tf.Tensor4D, pad: number): tf.Tensor4D {
  return pad === 0
    ? x
    : tf.pad(x, [
        [0, 0],
        [pad, pad],
        [pad, pad],
        [0, 0],
      ]);
}

/** Filter gradient dW[kh,kw] = Σ_{n,i,j} xp[n, i+kh, j+kw, :]ᵀ dy[n, i, j, :]. */
function filterGradByTaps(xp: tf.Tensor4D, dy: tf.Tensor4D, kh: number, kw: number): tf.Tensor4D {
  const [n, oh, ow, cout] = dy.shape;
  const cin = xp.shape[3];
  const dy2 = dy.reshape([n * oh * ow, cout]);
  const taps: tf.Tensor2D[] = [];
  for (let a = 0; a < kh; a++) {
    for (let b = 0; b < kw; b++) {
      const xs = tf.slice(xp, [0, a, b, 0], [n, oh, ow, cin]).reshape([n * oh * ow, cin]);
      taps.push(tf.matMul(xs as tf.Tensor2D, dy2, true, false));
    }
  }
  return tf.stack(taps).reshape([kh, kw, cin, cout]);
}

/** The custom-gradient variant, exported so tests can compare it with tf.conv2d's gradient on cpu. */
export function conv2dPortable(x: tf.Tensor4D, w: tf.Tensor4D, pad: number): tf.Tensor4D {
  const op = tf.customGrad((xIn, wIn, save) => {
    const xp = padSpatial(xIn as tf.Tensor4D, pad);
    const value = tf.conv2d(xp, wIn as tf.Tensor4D, 1, 'valid');
    (save as tf.GradSaveFunc)([xp, wIn as tf.Tensor]);
    return {
      value,
      gradFunc: (dy, saved) => {
        const [xpS, wS] = saved as [tf.Tensor4D, tf.Tensor4D];
        const dy4 = dy as tf.Tensor4D;
        const [kh, kw] = wS.shape;
        // Input gradient: Conv2DBackpropInput exists on every backend (it is what conv2dTranspose runs).
        const dxp = tf.conv2dTranspose(dy4, wS, xpS.shape as [number, number, number, number], 1, 'valid');
        const [n, hp, wp, c] = xpS.shape;
        const dx = pad === 0 ? dxp : tf.slice(dxp, [0, pad, pad, 0], [n, hp - 2 * pad, wp - 2 * pad, c]);
        return [dx, filterGradByTaps(xpS, dy4, kh, kw)];
      },
    };
  });
  return op(x, w) as tf.Tensor4D;
}

/**
 * Looked up on every call (a map lookup): src/engine/wasm registers its own
 * Conv2DBackpropFilter on wasm, possibly after the first convolution ran.
 */
function backendHasFilterGrad(): boolean {
  return tf.getKernel('Conv2DBackpropFilter', tf.getBackend()) !== undefined;
}

/** Stride-1 convolution with `pad` zero pixels on each side ('same' for 3×3 when pad = 1). */
export function conv2dPadded(x: tf.Tensor4D, w: tf.Tensor4D, pad: number): tf.Tensor4D {
  if (!backendHasFilterGrad()) return conv2dPortable(x, w, pad);
  const kh = w.shape[0];
  if (kh === 3 && w.shape[1] === 3 && pad === 1) return tf.conv2d(x, w, 1, 'same');
  return tf.conv2d(padSpatial(x, pad), w, 1, 'valid');
}
