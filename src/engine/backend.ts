/**
 * Choosing the tfjs backend the run computes on, and saying why.
 *
 * Engine-safe (no `node:` imports): the browser worker and the Node CLI call
 * the same function; what differs between them comes in through `env`
 * (the Node WebGPU installer, the location of the wasm binaries).
 *
 * auto, browser: webgpu → webgl → wasm → cpu.
 * auto, Node: webgpu on a hardware adapter → wasm → webgpu on a software
 * adapter → cpu. Node has no WebGL, and on a machine without a GPU Dawn's only
 * adapter is SwiftShader, Vulkan emulated on the CPU. Measured on a 2-core x86
 * box (`distillery bench train`, ConvNet-3 width 32, batch 64): wasm SIMD
 * (with src/engine/wasm's kernels) 9.8 GFLOP/s, SwiftShader 0.13, the cpu
 * backend 0.04; so auto passes over a software adapter while wasm works, and
 * still prefers it to cpu. An explicit `webgpu` uses whatever adapter there
 * is (the fused CMI kernels can be tested on SwiftShader). A backend counts as
 * available only if it initialises AND a tiny probe computes correctly: a
 * forward matMul, the input gradient through conv/pool/gather (what
 * distillation needs: gradients reach the synthetic pixels) and the weight
 * gradient of a conv (what training a network for evaluation needs). tfjs'
 * wasm backend has no Conv2DBackpropFilter (nor UnsortedSegmentSum, the
 * gradient of gather); src/engine/wasm registers them when wasm is chosen, and
 * should they be missing the probe fails cleanly instead of a run crashing
 * minutes later: auto then moves on, an explicit choice reports it.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendName } from './config';
import { UserError } from './data/types';

/** What src/cli/webgpu-node.ts installNodeWebGPU() resolves to (structural, so the engine needs no Node import). */
export interface NodeWebGPU {
  adapterInfo: { vendor: string; architecture: string; device?: string; description: string };
  icd?: string | null;
}

export interface BackendEnv {
  /**
   * Node only: installs navigator.gpu (Dawn) and resolves to the adapter, or
   * null after pushing the reason onto `reasons`. Without it, Node has no webgpu.
   */
  nodeWebGPU?: (reasons: string[]) => Promise<NodeWebGPU | null>;
  /** Prefix (ending in '/') or file map for tfjs-backend-wasm's setWasmPaths. */
  wasmPaths?: string | Record<string, string>;
  /** Skip the probe computations (default false; only for callers that probe themselves). */
  skipProbe?: boolean;
}

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  description: string;
}

/** What a backend can do, from the probe. */
export interface BackendCapabilities {
  /** Gradients w.r.t. inputs through conv/pool/gather: distilling images. */
  inputGrad: boolean;
  /** Gradients w.r.t. conv weights: training networks (evaluation). */
  weightGrad: boolean;
  /** Why a capability is missing (tfjs' own message, e.g. "Kernel 'Conv2DBackpropFilter' not registered…"). */
  problems: string[];
}

export interface BackendChoice {
  name: string;
  /** One line: why this backend. */
  reason: string;
  adapter?: AdapterDescription;
  /** Extra facts about the backend (e.g. which wasm build runs). */
  detail?: string;
  /** Backends tried before (or instead of) this one and why each was not used. */
  tried: { name: string; error: string }[];
  capabilities: BackendCapabilities;
}

const isNode = (): boolean =>
  typeof process !== 'undefined' && typeof process.versions === 'object' && !!process.versions?.node;

type Attempt =
  | { ok: true; adapter?: AdapterDescription; detail?: string }
  | { ok: false; error: string; /** set when a software adapter was passed over */ software?: AdapterDescription };

export async function selectBackend(pref: BackendName, env: BackendEnv = {}): Promise<BackendChoice> {
  const node = isNode();
  const known: BackendName[] = ['auto', 'webgpu', 'webgl', 'wasm', 'cpu'];
  if (!known.includes(pref)) throw new UserError(`unknown backend '${pref}' (expected one of ${known.join(', ')})`);

  // Node auto: a software WebGPU adapter is passed over at first and comes back after wasm (see the header)
  type Step = { name: Exclude<BackendName, 'auto'>; skipSoftware?: boolean; onlyIfSoftware?: boolean };
  const chain: Step[] =
    pref !== 'auto'
      ? [{ name: pref }]
      : node
        ? [{ name: 'webgpu', skipSoftware: true }, { name: 'wasm' }, { name: 'webgpu', onlyIfSoftware: true }, { name: 'cpu' }]
        : [{ name: 'webgpu' }, { name: 'webgl' }, { name: 'wasm' }, { name: 'cpu' }];
  const tried: { name: string; error: string }[] = [];
  let softwareAdapter: AdapterDescription | null = null;

  for (const { name, skipSoftware = false, onlyIfSoftware = false } of chain) {
    if (onlyIfSoftware && !softwareAdapter) continue;
    const attempt = await activate(name, env, node, skipSoftware);
    if (!attempt.ok) {
      if (attempt.software) softwareAdapter = attempt.software;
      tried.push({ name, error: attempt.error });
      continue;
    }
    const capabilities = env.skipProbe ? { inputGrad: true, weightGrad: true, problems: [] } : await probe();
    const usable = capabilities.inputGrad && capabilities.weightGrad;
    // auto wants a backend that can do the whole job; an explicit choice is
    // kept with its limits stated so that the caller can refuse what it cannot do.
    if (!usable && pref === 'auto' && name !== 'cpu') {
      tried.push({ name, error: `cannot train: ${capabilities.problems.join('; ')}` });
      continue;
    }
    const reason = pref === 'auto' ? autoReason(name, attempt, tried, softwareAdapter) : requestedReason(name, attempt);
    return { name, reason, adapter: attempt.adapter, detail: attempt.detail, tried, capabilities };
  }

  const why = tried.map((t) => `${t.name}: ${t.error}`).join('; ');
  throw new UserError(pref === 'auto' ? `no usable tfjs backend (${why})` : `backend ${pref} is not available (${tried[0]?.error ?? 'unknown reason'})`);
}

/** "auto: wasm (simd build, 1 thread) — WebGPU adapter is SwiftShader (software); …". */
function autoReason(
  name: string,
  attempt: Extract<Attempt, { ok: true }>,
  tried: { name: string; error: string }[],
  software: AdapterDescription | null,
): string {
  const what = `auto: ${name}${attempt.detail ? ` (${attempt.detail})` : ''}`;
  const others = tried.filter((t) => !(software && t.name === 'webgpu')).map((t) => `${t.name} unavailable`);
  if (attempt.adapter && isSoftwareAdapter(attempt.adapter))
    return `${what} — software adapter ${adapterName(attempt.adapter)}${others.length ? `, used because ${others.join(', ')}` : ''}: expect CPU speed`;
  if (tried.length === 0) return `${what} — first choice, available`;
  if (software && name === 'wasm')
    return `${what} — WebGPU adapter is ${adapterName(software)} (software, on the CPU); wasm is tens of times faster there`;
  return `${what} — ${tried.map((t) => `${t.name} unavailable`).join(', ')}`;
}

function requestedReason(name: string, attempt: Extract<Attempt, { ok: true }>): string {
  // A software adapter runs WebGPU on the CPU: correct, but slow (wasm is far faster there).
  const soft = attempt.adapter && isSoftwareAdapter(attempt.adapter) ? ` (software adapter ${adapterName(attempt.adapter)}: expect CPU speed)` : '';
  return `${name}: requested${soft}`;
}

/** "SwiftShader", "llvmpipe", or the vendor/architecture as reported. */
function adapterName(a: AdapterDescription): string {
  const m = /swiftshader|llvmpipe|lavapipe|softpipe|warp/i.exec(`${a.architecture} ${a.vendor} ${a.description}`);
  if (m) return m[0].toLowerCase() === 'swiftshader' ? 'SwiftShader' : m[0];
  return [a.vendor, a.architecture].filter((s) => s && s !== 'unknown').join(' ') || a.description || 'unknown';
}

/**
 * Throws a one-line UserError when the chosen backend cannot do what the run
 * needs (e.g. wasm asked to train evaluation networks).
 */
export function assertCapabilities(choice: BackendChoice, needs: { distill?: boolean; train?: boolean }): void {
  const c = choice.capabilities;
  const why = c.problems.length ? ` (${c.problems.join('; ')})` : '';
  if (needs.distill && !c.inputGrad)
    throw new UserError(`backend ${choice.name} cannot compute the image gradients distillation needs${why}; choose another --backend`);
  if (needs.train && !c.weightGrad)
    throw new UserError(
      `backend ${choice.name} cannot train networks, so it cannot evaluate${why}; use --eval-models 0 or another --backend`,
    );
}

async function activate(name: Exclude<BackendName, 'auto'>, env: BackendEnv, node: boolean, skipSoftware: boolean): Promise<Attempt> {
  try {
    switch (name) {
      case 'cpu':
        return (await setBackendQuietly('cpu')) ?? { ok: true };
      case 'webgl':
        if (node) return { ok: false, error: 'WebGL exists only in browsers' };
        if (!tf.findBackendFactory('webgl')) return { ok: false, error: 'the webgl backend is not bundled' };
        return (await setBackendQuietly('webgl')) ?? { ok: true, adapter: webglAdapter() };
      case 'wasm': {
        const wasm = await import('@tensorflow/tfjs-backend-wasm');
        if (env.wasmPaths && !tf.findBackend('wasm')) {
          // setWasmPaths must come before the backend initialises; the bare
          // string form is a prefix, the object form a per-file map.
          if (typeof env.wasmPaths === 'string') wasm.setWasmPaths(env.wasmPaths);
          else wasm.setWasmPaths(env.wasmPaths);
        }
        const failed = await setBackendQuietly('wasm');
        if (failed) return failed;
        // tfjs' wasm backend lacks the kernels training needs (Conv2DBackpropFilter,
        // UnsortedSegmentSum); the project supplies them. The probe below checks the result.
        const kernels = await import('./wasm');
        kernels.registerWasmKernels();
        const v = kernels.wasmVariant();
        return { ok: true, detail: v ? `${v.variant} build, ${v.threads} thread${v.threads === 1 ? '' : 's'}` : undefined };
      }
      case 'webgpu':
        return await activateWebGPU(env, node, skipSoftware);
    }
  } catch (err) {
    return { ok: false, error: firstLine(err) };
  }
}

async function activateWebGPU(env: BackendEnv, node: boolean, skipSoftware: boolean): Promise<Attempt> {
  let adapter: AdapterDescription | undefined;
  if (node) {
    if (!env.nodeWebGPU) return { ok: false, error: 'no WebGPU in this Node process (no installer given)' };
    const reasons: string[] = [];
    const found = await env.nodeWebGPU(reasons);
    if (!found) return { ok: false, error: reasons.join('; ') || 'no WebGPU adapter' };
    adapter = pickAdapter(found.adapterInfo);
    // decided before tfjs-backend-webgpu initialises: nothing to undo when passing over it
    if (skipSoftware && isSoftwareAdapter(adapter))
      return {
        ok: false,
        error: `the only adapter is ${adapterName(adapter)}, a software driver on the CPU (choose it with --backend webgpu)`,
        software: adapter,
      };
  } else {
    const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
    if (!gpu) return { ok: false, error: 'this browser does not expose WebGPU (navigator.gpu is missing)' };
    const a = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!a) return { ok: false, error: 'the browser offers no WebGPU adapter (blocklisted GPU or WebGPU disabled)' };
    adapter = pickAdapter(a.info);
  }
  // The webgpu package registers its backend at import time only if
  // navigator.gpu exists then, which is why the import comes after the install.
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!tf.findBackendFactory('webgpu'))
    return { ok: false, error: 'tfjs-backend-webgpu was loaded before navigator.gpu existed and did not register' };
  return (await setBackendQuietly('webgpu')) ?? { ok: true, adapter };
}

/** SwiftShader (Chromium's Vulkan on the CPU), Mesa's llvmpipe/lavapipe, WARP: no GPU behind them. */
export function isSoftwareAdapter(a: AdapterDescription): boolean {
  return /swiftshader|llvmpipe|lavapipe|softpipe|microsoft basic render|warp/i.test(`${a.vendor} ${a.architecture} ${a.description}`);
}

function pickAdapter(info: { vendor?: string; architecture?: string; description?: string } | undefined): AdapterDescription {
  return {
    vendor: info?.vendor || 'unknown',
    architecture: info?.architecture || 'unknown',
    description: info?.description || '',
  };
}

function webglAdapter(): AdapterDescription | undefined {
  try {
    const gl = (tf.backend() as unknown as { gpgpu?: { gl?: WebGLRenderingContext } }).gpgpu?.gl;
    if (!gl) return undefined;
    const ext = gl.getExtension('WEBGL_debug_renderer_info');
    const vendor = ext ? String(gl.getParameter(ext.UNMASKED_VENDOR_WEBGL)) : String(gl.getParameter(gl.VENDOR));
    const renderer = ext ? String(gl.getParameter(ext.UNMASKED_RENDERER_WEBGL)) : String(gl.getParameter(gl.RENDERER));
    return { vendor, architecture: 'webgl', description: renderer };
  } catch {
    return undefined;
  }
}

/**
 * tf.setBackend resolves to false on failure and only logs the cause through
 * console.warn; catch that text so the user sees the actual reason.
 * Returns null on success, a failed Attempt otherwise.
 */
async function setBackendQuietly(name: string): Promise<Attempt | null> {
  const warnings: string[] = [];
  const original = console.warn;
  console.warn = (...args: unknown[]) => {
    warnings.push(args.map(String).join(' '));
  };
  let ok = false;
  try {
    ok = await tf.setBackend(name);
    await tf.ready();
  } catch (err) {
    warnings.push(firstLine(err));
  } finally {
    console.warn = original;
  }
  if (ok && tf.getBackend() === name) {
    // Replay warnings that were not about a failure (e.g. tfjs' notices).
    for (const w of warnings) original(w);
    return null;
  }
  const cause = warnings.find((w) => !/^Initialization of backend/.test(w));
  return { ok: false, error: cause ? firstLine(cause) : `tfjs could not initialise the ${name} backend` };
}

/** Small computations with known answers; each failure names what is missing. */
async function probe(): Promise<BackendCapabilities> {
  const problems: string[] = [];
  let forward = false;
  let inputGrad = false;
  let weightGrad = false;

  try {
    const m = tf.tidy(() => tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5, 6], [7, 8]])));
    const v = await m.data();
    m.dispose();
    forward = [19, 22, 43, 50].every((e, i) => Math.abs(v[i] - e) < 1e-4);
    if (!forward) problems.push(`matMul gave wrong values [${Array.from(v).join(', ')}]`);
  } catch (err) {
    problems.push(`forward: ${firstLine(err)}`);
  }

  // d/dx Σ gather(avgPool(conv(x, w))) with w = all ones (3×3 'same'): every
  // interior-adjacent pixel's gradient is a known count; we only check it is
  // finite and positive, the shape of the chain being what is probed.
  try {
    const g = tf.tidy(() => {
      const x = tf.ones([1, 4, 4, 1]) as tf.Tensor4D;
      const w = tf.ones([3, 3, 1, 2]) as tf.Tensor4D;
      const f = (xx: tf.Tensor) => {
        const y = tf.avgPool(tf.relu(tf.conv2d(xx as tf.Tensor4D, w, 1, 'same')), 2, 2, 'valid');
        return tf.gather(y.reshape([-1]), tf.tensor1d([0, 3, 5], 'int32')).sum();
      };
      return tf.grad(f)(x);
    });
    const v = await g.data();
    g.dispose();
    // Hand count: output pixels 0,3,5 of the flattened [1,2,2,2] pool are
    // pool cell (0,0) ch0, (0,1) ch1, (1,0) ch1. Each pool cell averages 4
    // conv outputs, each conv output sums a 3×3 neighbourhood. Pixel (0,0)
    // of x feeds conv outputs (0,0),(0,1),(1,0),(1,1), all in pool cell
    // (0,0): grad = 4 · 1/4 = 1 from ch0, and nothing from the others.
    inputGrad = Math.abs(v[0] - 1) < 1e-4 && v.every((e) => Number.isFinite(e));
    if (!inputGrad) problems.push(`input gradient gave wrong values [${Array.from(v).join(', ')}]`);
  } catch (err) {
    problems.push(firstLine(err));
  }

  try {
    const g = tf.tidy(() => {
      const x = tf.ones([1, 3, 3, 1]) as tf.Tensor4D;
      const f = (w: tf.Tensor) => tf.conv2d(x, w as tf.Tensor4D, 1, 'valid').sum();
      return tf.grad(f)(tf.zeros([3, 3, 1, 1]));
    });
    const v = await g.data();
    g.dispose();
    weightGrad = v.length === 9 && v.every((e) => Math.abs(e - 1) < 1e-4);
    if (!weightGrad) problems.push(`weight gradient gave wrong values [${Array.from(v).join(', ')}]`);
  } catch (err) {
    problems.push(firstLine(err));
  }

  return { inputGrad: forward && inputGrad, weightGrad: forward && weightGrad, problems };
}

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n').find((l) => l.trim() !== '')?.trim() ?? msg;
}
