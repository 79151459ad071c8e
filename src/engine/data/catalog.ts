/**
 * The standard datasets Distillery knows by name: official download URLs,
 * checksums (md5, as published by the dataset authors and used by
 * torchvision), class names, image size and the normalisation constants the
 * field uses, plus the generated built-in dataset (no download).
 */
import { BUILTIN_CLASS_NAMES } from './builtin';
import type { Normalization } from './types';

export type CatalogFormat = 'builtin' | 'cifar10-binary' | 'cifar100-binary' | 'idx';

export interface CatalogFile {
  /** File name in the cache folder and in `/api/dataset/<id>/<name>`. */
  name: string;
  /** Official URL first, then mirrors; tried in order. */
  urls: string[];
  /** md5 of the file as downloaded (hex, lower case). */
  md5: string;
  /** Size in bytes, when known (used for progress when the server sends no length). */
  bytes?: number;
}

export interface CatalogEntry {
  id: string;
  /** Other names accepted by findCatalogEntry (case-insensitive). */
  aliases: string[];
  title: string;
  description: string;
  homepage: string;
  format: CatalogFormat;
  files: CatalogFile[];
  classNames: string[];
  height: number;
  width: number;
  channels: 1 | 3;
  trainCount: number;
  testCount: number;
  /** Published per-channel constants; null = computed from the training split when loaded. */
  normalization: Normalization | null;
}

export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

/** CIFAR-100 fine labels in official index order (= fine_label_names.txt). */
export const CIFAR100_CLASSES = [
  'apple', 'aquarium_fish', 'baby', 'bear', 'beaver', 'bed', 'bee', 'beetle', 'bicycle', 'bottle',
  'bowl', 'boy', 'bridge', 'bus', 'butterfly', 'camel', 'can', 'castle', 'caterpillar', 'cattle',
  'chair', 'chimpanzee', 'clock', 'cloud', 'cockroach', 'couch', 'crab', 'crocodile', 'cup', 'dinosaur',
  'dolphin', 'elephant', 'flatfish', 'forest', 'fox', 'girl', 'hamster', 'house', 'kangaroo', 'keyboard',
  'lamp', 'lawn_mower', 'leopard', 'lion', 'lizard', 'lobster', 'man', 'maple_tree', 'motorcycle', 'mountain',
  'mouse', 'mushroom', 'oak_tree', 'orange', 'orchid', 'otter', 'palm_tree', 'pear', 'pickup_truck', 'pine_tree',
  'plain', 'plate', 'poppy', 'porcupine', 'possum', 'rabbit', 'raccoon', 'ray', 'road', 'rocket',
  'rose', 'sea', 'seal', 'shark', 'shrew', 'skunk', 'skyscraper', 'snail', 'snake', 'spider',
  'squirrel', 'streetcar', 'sunflower', 'sweet_pepper', 'table', 'tank', 'telephone', 'television', 'tiger', 'tractor',
  'train', 'trout', 'tulip', 'turtle', 'wardrobe', 'whale', 'willow_tree', 'wolf', 'woman', 'worm',
];

export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
];
/** Kuzushiji-MNIST: romanised readings of the ten hiragana (torchvision's names). */
export const KMNIST_CLASSES = ['o', 'ki', 'su', 'tsu', 'na', 'ha', 'ma', 'ya', 're', 'wo'];

/** The four IDX files of an MNIST-style dataset, with their md5s in this order. */
function idxFiles(bases: string[], md5s: [string, string, string, string], sizes?: [number, number, number, number]): CatalogFile[] {
  const names = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'];
  return names.map((name, i) => ({ name, urls: bases.map((b) => b + name), md5: md5s[i], ...(sizes ? { bytes: sizes[i] } : {}) }));
}

export const CATALOG: CatalogEntry[] = [
  {
    id: 'builtin',
    aliases: ['builtin-shapes', 'shapes'],
    title: 'Built-in shapes (generated, no download)',
    description:
      '10 classes of procedurally drawn shapes and textures, 32×32 RGB, with random colours, positions, sizes, ' +
      'rotations, noise and distractors. Generated in code from a seed; works offline.',
    homepage: '',
    format: 'builtin',
    files: [],
    classNames: BUILTIN_CLASS_NAMES,
    height: 32,
    width: 32,
    channels: 3,
    trainCount: 5000,
    testCount: 1000,
    normalization: null,
  },
  {
    id: 'cifar10',
    aliases: ['cifar-10'],
    title: 'CIFAR-10',
    description: '60,000 32×32 colour images in 10 classes (50,000 train, 10,000 test). Binary version, 162 MB.',
    homepage: 'https://www.cs.toronto.edu/~kriz/cifar.html',
    format: 'cifar10-binary',
    files: [
      {
        name: 'cifar-10-binary.tar.gz',
        urls: ['https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz'],
        md5: 'c32a1d4ab5d03f1284b67883e8d87530',
        bytes: 170052171,
      },
    ],
    classNames: CIFAR10_CLASSES,
    height: 32,
    width: 32,
    channels: 3,
    trainCount: 50000,
    testCount: 10000,
    normalization: { mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.201] },
  },
  {
    id: 'cifar100',
    aliases: ['cifar-100'],
    title: 'CIFAR-100',
    description: '60,000 32×32 colour images in 100 fine classes (50,000 train, 10,000 test). Binary version, 161 MB.',
    homepage: 'https://www.cs.toronto.edu/~kriz/cifar.html',
    format: 'cifar100-binary',
    files: [
      {
        name: 'cifar-100-binary.tar.gz',
        urls: ['https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz'],
        md5: '03b5dce01913d631647c71ecec9e9cb8',
      },
    ],
    classNames: CIFAR100_CLASSES,
    height: 32,
    width: 32,
    channels: 3,
    trainCount: 50000,
    testCount: 10000,
    // the constants of the DC/DSA/DM reference code (utils.get_dataset)
    normalization: { mean: [0.5071, 0.4866, 0.4409], std: [0.2673, 0.2564, 0.2762] },
  },
  {
    id: 'mnist',
    aliases: [],
    title: 'MNIST',
    description: '70,000 28×28 greyscale handwritten digits (60,000 train, 10,000 test). IDX files, 11 MB.',
    homepage: 'http://yann.lecun.com/exdb/mnist/',
    format: 'idx',
    // yann.lecun.com often refuses downloads; torchvision's S3 mirror comes first.
    files: idxFiles(
      ['https://ossci-datasets.s3.amazonaws.com/mnist/', 'http://yann.lecun.com/exdb/mnist/'],
      ['f68b3c2dcbeaaa9fbdd348bbdeb94873', 'd53e105ee54ea40749a09fcbcd1e9432', '9fb629c4189551a2d022fa330f9573f3', 'ec29112dd5afa0611ce80d1b7f02629c'],
      [9912422, 28881, 1648877, 4542],
    ),
    classNames: MNIST_CLASSES,
    height: 28,
    width: 28,
    channels: 1,
    trainCount: 60000,
    testCount: 10000,
    normalization: { mean: [0.1307], std: [0.3081] },
  },
  {
    id: 'fashion-mnist',
    aliases: ['fashionmnist', 'fmnist'],
    title: 'Fashion-MNIST',
    description: '70,000 28×28 greyscale images of clothing in 10 classes (60,000 train, 10,000 test). IDX files, 30 MB.',
    homepage: 'https://github.com/zalandoresearch/fashion-mnist',
    format: 'idx',
    files: idxFiles(
      ['http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/'],
      ['8d4fb7e6c68d591d4c3dfef9ec88bf0d', '25c81989df183df01b3e8a0aad5dffbe', 'bef4ecab320f06d8554ea6380940ec79', 'bb300cfdad3c16e7a12a480ee83cd310'],
      [26421880, 29515, 4422102, 5148],
    ),
    classNames: FASHION_MNIST_CLASSES,
    height: 28,
    width: 28,
    channels: 1,
    trainCount: 60000,
    testCount: 10000,
    normalization: { mean: [0.2861], std: [0.353] },
  },
  {
    id: 'kmnist',
    aliases: ['kuzushiji-mnist'],
    title: 'Kuzushiji-MNIST',
    description: '70,000 28×28 greyscale cursive Japanese characters in 10 classes (60,000 train, 10,000 test). IDX files, 20 MB.',
    homepage: 'https://github.com/rois-codh/kmnist',
    format: 'idx',
    files: idxFiles(
      ['http://codh.rois.ac.jp/kmnist/dataset/kmnist/'],
      ['bdb82020997e1d708af4cf47b453dcf7', 'e144d726b3acfaa3e44228e80efcd344', '5c965bf0a639b31b8f53240b1b52f4d7', '7320c461ea6c1c855c0b718fb2a4b134'],
    ),
    classNames: KMNIST_CLASSES,
    height: 28,
    width: 28,
    channels: 1,
    trainCount: 60000,
    testCount: 10000,
    // the reference code publishes no constants for KMNIST: computed from the training split
    normalization: null,
  },
];

/** The catalog entry for an id or alias (case-insensitive), or undefined. */
export function findCatalogEntry(id: string): CatalogEntry | undefined {
  const key = id.trim().toLowerCase();
  return CATALOG.find((e) => e.id === key || e.aliases.includes(key));
}
