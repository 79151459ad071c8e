// cmi_class_mean.wgsl — per-class CMI = S_c / n_c (mean KL over the class's members), 0 for an empty class.
//
// Body of a tfjs-backend-webgpu program (CmiClassMeanProgram); one invocation per class.
// Bindings (declared by tfjs from the program object):
//   result   : array<f32>, [C]
//   parts    : array<f32>       output of cmi_class.wgsl; S_c at [sumOffset, sumOffset + C)
//   offsets  : array<i32>, [C+1] CSR class offsets (n_c = offsets[c+1] − offsets[c])
//   uniforms : size (C, from program.size), sumOffset

fn main(index : i32) {
  if (index < uniforms.size) {
    let n = offsets[index + 1] - offsets[index];
    result[index] = select(0.0, parts[uniforms.sumOffset + index] / f32(max(n, 1)), n > 0);
  }
}
