/** The class-aware CMI term: public surface of src/engine/cmi. */
export { cmi, cmiForward, type CmiOptions } from './cmi';
export { cmiF64, type CmiF64Result } from './f64';
export { classLayout, type ClassLayout, type CmiLabels } from './labels';
export { cmiReferenceAutodiff, cmiReferenceForward, cmiReferenceParts, type CmiParts } from './reference';
export { cmiClosedFormGrad } from './gradient';
export { countCmiDispatches, type DispatchCount } from './dispatches';
export { registerCmiWebGPUKernels, cmiKernelTuning, CMI_FUSED, CMI_FORWARD, CMI_GRAD_SCALE } from './webgpu/kernels';
export { benchCmi, type BenchCmiOptions, type BenchCmiResult } from './bench';
export { createCmiPlugin, checkSpace, type CmiPlugin, type CmiSpace, type CmiMetrics } from './plugin';
