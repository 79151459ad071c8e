// cmi_grad_scale.wgsl — backward of the fused CMI: dz = dy · (saved dCMI/dz).
//
// Body of a tfjs-backend-webgpu program (CmiGradScaleProgram); one invocation per element.
// The forward pass (cmi_class.wgsl) already wrote the full gradient rows, in
// original row order, at the start of its "parts" buffer; this pass only
// scales by the incoming dy and cuts them out, in one dispatch.
// Bindings (declared by tfjs from the program object):
//   result   : array<f32>, [N, M]
//   parts    : array<f32>  dCMI/dz at [0, N*M)
//   dy       : array<f32>, scalar upstream gradient
//   uniforms : size (N*M, from program.size)

fn main(index : i32) {
  if (index < uniforms.size) {
    result[index] = parts[index] * dy[0];
  }
}
