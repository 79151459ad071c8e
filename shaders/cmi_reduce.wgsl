// cmi_reduce.wgsl — CMI = (1/N) Σ_c S_c: one workgroup, tree reduction.
//
// Body of a tfjs-backend-webgpu program (CmiReduceProgram); __WG__ (power of
// two) is substituted in getUserCode().
// Bindings (declared by tfjs from the program object):
//   result   : array<f32>, [1]  the CMI value (exposed as a scalar)
//   parts    : array<f32>       output of cmi_class.wgsl; S_c at [sumOffset, sumOffset + C)
//   uniforms : sumOffset, numClasses (C), invRows (1/N)

const WG : i32 = __WG__;
var<workgroup> buf : array<f32, __WG__>;

fn main(index : i32) {
  let tid = i32(localId.x);
  var acc = 0.0;
  for (var c = tid; c < uniforms.numClasses; c += WG) {
    acc = acc + parts[uniforms.sumOffset + c];
  }
  buf[tid] = acc;
  workgroupBarrier();
  for (var s = WG / 2; s > 0; s = s / 2) {
    if (tid < s) {
      buf[tid] = buf[tid] + buf[tid + s];
    }
    workgroupBarrier();
  }
  if (tid == 0) {
    result[0] = buf[0] * uniforms.invRows;
  }
}
