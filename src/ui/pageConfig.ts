/**
 * The page's run until the full UI brings its own settings: a tiny DM
 * distillation on the builtin dataset that finishes in well under a minute
 * even on a software GPU (SwiftShader).
 */
import { QUICK_CONFIG, type DistillConfig } from '../engine/config';

export const PAGE_CONFIG: DistillConfig = {
  ...QUICK_CONFIG,
  dataset: 'builtin',
  classes: [0, 1, 2],
  realPerClass: 64,
  method: 'dm',
  ipc: 2,
  iterations: 20,
  batchReal: 16,
  net: { width: 16, depth: 3, norm: 'instance', pooling: 'avg' },
  // no evaluation: training networks would dominate the time of such a tiny run
  evalEvery: 0,
  evalModels: 0,
  snapshotEvery: 2,
  backend: 'auto',
};

export function describeConfig(c: DistillConfig): string {
  const classes = c.classes ? c.classes.length : 'all';
  return `${c.method.toUpperCase()} on the ${c.dataset} dataset, ${classes} classes, ${c.ipc} image${c.ipc > 1 ? 's' : ''} per class, ConvNet width ${c.net.width} depth ${c.net.depth}, ${c.iterations} iterations`;
}
