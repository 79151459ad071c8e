/**
 * One teacher ⇄ tfjs' weights format: a model.json-like object whose
 * weightsManifest describes weights.bin, and the weights.bin bytes
 * (tf.io.encodeWeights / decodeWeights), so a cached teacher is a plain
 * folder that tfjs tooling can read.
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../data/types';
import { embedDim, type ConvNetParams, type ConvNetSpec } from '../models/convnet';
import type { SerializedTeacher, Teacher, TeacherModelJson } from './types';

export const WEIGHTS_FILE = 'weights.bin';

export async function serializeTeacher(t: Teacher): Promise<SerializedTeacher> {
  // sorted names: the byte layout does not depend on insertion order
  const named = Object.keys(t.params)
    .sort()
    .map((name) => ({ name, tensor: t.params[name] }));
  const { data, specs } = await tf.io.encodeWeights(named);
  const modelJson: TeacherModelJson = {
    format: 'distillery-convnet',
    formatVersion: 1,
    spec: structuredCloneSpec(t.spec),
    testAccuracy: t.testAccuracy,
    epochs: t.epochs,
    seed: t.seed,
    weightsManifest: [{ paths: [WEIGHTS_FILE], weights: specs }],
  };
  return { modelJson, weightData: data };
}

export function deserializeTeacher(item: SerializedTeacher): Teacher {
  const j = item.modelJson;
  if (!j || j.format !== 'distillery-convnet' || j.formatVersion !== 1) {
    throw new UserError(`not a Distillery teacher (format ${JSON.stringify(j?.format)}, version ${JSON.stringify(j?.formatVersion)})`);
  }
  const specs = j.weightsManifest.flatMap((g) => g.weights);
  const expected = expectedShapes(j.spec);
  const decoded = tf.io.decodeWeights(item.weightData, specs);
  const params: ConvNetParams = {};
  try {
    for (const [name, shape] of Object.entries(expected)) {
      const t = decoded[name];
      if (!t) throw new UserError(`teacher weights lack '${name}'`);
      if (t.shape.join(',') !== shape.join(',')) {
        throw new UserError(`teacher weight '${name}' has shape [${t.shape}], expected [${shape}]`);
      }
      params[name] = t;
    }
  } catch (e) {
    tf.dispose(Object.values(decoded));
    throw e;
  }
  for (const [name, t] of Object.entries(decoded)) if (!(name in params)) t.dispose();
  return { params, spec: structuredCloneSpec(j.spec), testAccuracy: j.testAccuracy, epochs: j.epochs, seed: j.seed };
}

function structuredCloneSpec(spec: ConvNetSpec): ConvNetSpec {
  return { ...spec, net: { ...spec.net } };
}

/** Parameter shapes of a ConvNet (names as in models/convnet.ts). */
function expectedShapes(spec: ConvNetSpec): Record<string, number[]> {
  const { width, depth, norm } = spec.net;
  const out: Record<string, number[]> = {};
  let cin = spec.channels;
  for (let d = 0; d < depth; d++) {
    out[`conv${d}.weight`] = [3, 3, cin, width];
    out[`conv${d}.bias`] = [width];
    if (norm !== 'none') {
      out[`norm${d}.weight`] = [width];
      out[`norm${d}.bias`] = [width];
    }
    cin = width;
  }
  out['fc.weight'] = [embedDim(spec), spec.numClasses];
  out['fc.bias'] = [spec.numClasses];
  return out;
}
