// cmi_class.wgsl — fused CMI pass: ONE WORKGROUP PER CLASS.
//
// Body of a tfjs-backend-webgpu program (CmiClassProgram, src/engine/cmi/webgpu/programs.ts):
// tfjs' makeShader prepends the bindings, the Uniforms struct and the private
// builtins (localId, workgroupId…) and calls `main(index)`. Placeholders
// substituted in getUserCode(): __WG__ (workgroup size, a power of two),
// __R__ (rows reduced together per round) and __WRITE_GRAD__ (bool).
//
// Bindings (declared by tfjs from the program object):
//   result  : array<f32>, read_write — the flat "parts" buffer:
//               [0, N*M)                  dCMI/dz rows, ORIGINAL row order          (only when WRITE_GRAD)
//               [lseOffset,  +2N)         (a_i, b_i) of sorted position i, see (1)  (scratch)
//               [logqOffset, +C*M)        log q_{c,k}                               (scratch)
//               [sumOffset,  +C)          S_c = Σ_{j∈c} KL_j      (read by cmi_reduce / cmi_class_mean)
//   z       : array<f32>, [N, M] row-major logits / features
//   perm    : array<i32>, [N]   sorted position → original row (stable sort by label, done on the CPU)
//   offsets : array<i32>, [C+1] CSR: class c owns sorted positions offsets[c] .. offsets[c+1]-1
//   uniforms: invTemp (1/T), numRows (N), numCols (M), lseOffset, logqOffset, sumOffset
//
// Math, with x = z / T (sums in f32, tree reductions in workgroup memory):
//   (1) a_j = max_k x_jk,  b_j = log Σ_k exp(x_jk − a_j)   online (max, Σ) per thread, pair tree-merge
//       l_jk = (x_jk − a_j) − b_j = log p_jk — kept as two numbers: lse = a + b itself (|x|/T up to
//       hundreds) would cost ulp(lse) ≈ 3e-5 absolute in every l
//   (2) log q_ck = logsumexp_{j∈c} l_jk − log n_c   online per column: never underflows
//   (3) KL_j     = Σ_k p_jk (l_jk − log q_ck),  p = exp(l)
//       grad_jk  = (1/(N T)) p_jk (l_jk − log q_ck − KL_j)
//   (4) S_c      = Σ_{j∈c} KL_j
//
// Layout of the work: threads stride over the M columns (any M, coalesced
// reads); rows go R at a time through one tree reduction of R × WG partials,
// so a class of n rows costs about n/R · log2(WG) barriers, not n · log2(WG).
// Online log-sum-exp updates are branch-free with a single exp.

const WG : i32 = __WG__;
const R : i32 = __R__;
const WRITE_GRAD : bool = __WRITE_GRAD__;
const LOWEST : f32 = -3.402823e+38f;

// partials of row block r, thread t at [r * WG + t]
var<workgroup> bufA : array<f32, __WG_R__>;
var<workgroup> bufB : array<f32, __WG_R__>;
var<workgroup> classRange : vec2<i32>;

// Natural log to ~1 ulp. Vulkan lets a driver's log() be off by 2^-21
// absolute on [0.5, 2] (SwiftShader's is), and (log p − log q − KL) cancels;
// these logs are per row and per column, not per element, so this costs nothing.
fn preciseLog(x : f32) -> f32 {
  let f = frexp(x);
  var m = f.fract;
  var e = f32(f.exp);
  if (m < 0.70710678) {
    m = m * 2.0;
    e = e - 1.0;
  }
  // log m = 2 atanh(s), s = (m − 1)/(m + 1), |s| ≤ 0.172: the series to s^11 is exact in f32
  let s = (m - 1.0) / (m + 1.0);
  let s2 = s * s;
  let tail = s2 * (0.33333333 + s2 * (0.2 + s2 * (0.14285714 + s2 * (0.11111111 + s2 * 0.09090909))));
  return e * 0.693145751953125 + (2.0 * s + (2.0 * s * tail + e * 1.428606765330187e-06));
}

// Tree-merge of the (max, Σexp) pairs of R rows; row r's result lands in slot r * WG.
fn reduceLse(tid : i32) {
  for (var s = WG / 2; s > 0; s = s / 2) {
    if (tid < s) {
      for (var r = 0; r < R; r++) {
        let i = r * WG + tid;
        let m1 = bufA[i];
        let m2 = bufA[i + s];
        let mx = max(m1, m2);
        bufB[i] = bufB[i] * exp(m1 - mx) + bufB[i + s] * exp(m2 - mx);
        bufA[i] = mx;
      }
    }
    workgroupBarrier();
  }
}

// Tree sum of R rows of bufA; row r's result lands in bufA[r * WG].
fn reduceSum(tid : i32) {
  for (var s = WG / 2; s > 0; s = s / 2) {
    if (tid < s) {
      for (var r = 0; r < R; r++) {
        let i = r * WG + tid;
        bufA[i] = bufA[i] + bufA[i + s];
      }
    }
    workgroupBarrier();
  }
}

fn main(index : i32) {
  let tid = i32(localId.x);
  let cls = i32(workgroupId.x);
  // workgroupUniformLoad makes the member range provably uniform, so the
  // barriers inside the member loops are in uniform control flow.
  if (tid == 0) {
    classRange = vec2<i32>(offsets[cls], offsets[cls + 1]);
  }
  let bounds = workgroupUniformLoad(&classRange);
  let start = bounds.x;
  let end = bounds.y;
  let M = uniforms.numCols;
  let invT = uniforms.invTemp;
  let lseBase = uniforms.lseOffset;
  let logqBase = uniforms.logqOffset + cls * M;

  // (1) max and log-sum-exp of each member row, R rows per round
  for (var i0 = start; i0 < end; i0 += R) {
    for (var r = 0; r < R; r++) {
      var mx = LOWEST;
      var sm = 0.0;
      if (i0 + r < end) {
        let rowBase = perm[i0 + r] * M;
        for (var k = tid; k < M; k += WG) {
          let x = z[rowBase + k] * invT;
          let e = exp(-abs(x - mx));
          sm = select(sm + e, sm * e + 1.0, x > mx);
          mx = max(mx, x);
        }
      }
      bufA[r * WG + tid] = mx;
      bufB[r * WG + tid] = sm;
    }
    workgroupBarrier();
    reduceLse(tid);
    if (tid < R && i0 + tid < end) {
      result[lseBase + 2 * (i0 + tid)] = bufA[tid * WG];
      result[lseBase + 2 * (i0 + tid) + 1] = preciseLog(bufB[tid * WG]);
    }
    workgroupBarrier();
  }
  // (a, b) were written by threads < R; every thread reads them below.
  storageBarrier();

  // (2) class centroid in log space; column k belongs to thread k mod WG here and in (3)
  let logN = preciseLog(f32(max(end - start, 1)));
  for (var k = tid; k < M; k += WG) {
    var mx = LOWEST;
    var sm = 0.0;
    for (var i = start; i < end; i++) {
      let l = (z[perm[i] * M + k] * invT - result[lseBase + 2 * i]) - result[lseBase + 2 * i + 1];
      let e = exp(-abs(l - mx));
      sm = select(sm + e, sm * e + 1.0, l > mx);
      mx = max(mx, l);
    }
    result[logqBase + k] = mx + preciseLog(max(sm, 1.0)) - logN;
  }

  // (3) KL per row and the gradient rows, R rows per round; (4) class sum
  let scale = invT / f32(uniforms.numRows);
  var classSum = 0.0;
  for (var i0 = start; i0 < end; i0 += R) {
    for (var r = 0; r < R; r++) {
      var acc = 0.0;
      if (i0 + r < end) {
        let i = i0 + r;
        let rowBase = perm[i] * M;
        let rowMax = result[lseBase + 2 * i];
        let rowLogSum = result[lseBase + 2 * i + 1];
        for (var k = tid; k < M; k += WG) {
          let l = (z[rowBase + k] * invT - rowMax) - rowLogSum;
          acc = acc + exp(l) * (l - result[logqBase + k]);
        }
      }
      bufA[r * WG + tid] = acc;
    }
    workgroupBarrier();
    reduceSum(tid);
    for (var r = 0; r < R; r++) {
      if (i0 + r < end) {
        let i = i0 + r;
        let kl = bufA[r * WG];
        classSum = classSum + kl;
        if (WRITE_GRAD) {
          let rowBase = perm[i] * M;
          let rowMax = result[lseBase + 2 * i];
          let rowLogSum = result[lseBase + 2 * i + 1];
          for (var k = tid; k < M; k += WG) {
            let l = (z[rowBase + k] * invT - rowMax) - rowLogSum;
            result[rowBase + k] = scale * exp(l) * (l - result[logqBase + k] - kl);
          }
        }
      }
    }
    // bufA is refilled by the next round
    workgroupBarrier();
  }
  if (tid == 0) {
    result[uniforms.sumOffset + cls] = classSum;
  }
}
