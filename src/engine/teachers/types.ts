/**
 * CMI teachers: ConvNets pre-trained on the real training images of a subset,
 * frozen, one picked at random per distillation iteration
 * (../../../../shared/design/cmi.md "How the reference code uses it").
 */
import type * as tf from '@tensorflow/tfjs';
import type { Rng } from '../rng';
import type { ConvNetParams, ConvNetSpec } from '../models/convnet';

export interface Teacher {
  /** Frozen weights: plain tf.Tensors (not variables), named as in models/convnet.ts. */
  params: ConvNetParams;
  spec: ConvNetSpec;
  /** Top-1 accuracy (0..1) on the subset's test split, measured after training. */
  testAccuracy: number;
  /** Passes over the real training images it was trained for. */
  epochs: number;
  /** Seed of its initialisation and shuffling. */
  seed: number;
}

export interface TeacherPool {
  teachers: Teacher[];
  /** Cache key of the pool (see teacherPoolKey): same key ⇔ same data, net and training. */
  key: string;
  /** One teacher, uniformly at random (one rng.int draw). */
  pick(rng: Rng): Teacher;
  /** Frees every teacher's tensors. */
  dispose(): void;
}

/** tfjs model.json-style description of one teacher (weights in weights.bin). */
export interface TeacherModelJson {
  format: 'distillery-convnet';
  formatVersion: 1;
  spec: ConvNetSpec;
  testAccuracy: number;
  epochs: number;
  seed: number;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
}

export interface SerializedTeacher {
  modelJson: TeacherModelJson;
  /** The bytes of weights.bin (tf.io.encodeWeights layout). */
  weightData: ArrayBuffer;
}

/** Persistent cache of trained pools, by pool key. */
export interface TeacherStore {
  /** The pool's teachers, or null when the key is not stored. */
  get(key: string): Promise<SerializedTeacher[] | null>;
  put(key: string, items: SerializedTeacher[]): Promise<void>;
}
