/**
 * selectBackend with what only Node can give it: Dawn's WebGPU (with the
 * SwiftShader fallback) and the on-disk location of the wasm binaries.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BackendName } from '../engine/config';
import { selectBackend, type BackendChoice } from '../engine/backend';
import { installNodeWebGPU } from './webgpu-node';

const WASM_DIR = fileURLToPath(new URL('../../node_modules/@tensorflow/tfjs-backend-wasm/dist/', import.meta.url));

let bannerFiltered = false;

/**
 * tfjs' cpu backend prints a banner recommending tfjs-node on first use in
 * Node; it is noise in the CLI's output (and tfjs-node is not an option:
 * it is a native build for one platform), so that one message is dropped.
 */
export function silenceTfjsNodeBanner(): void {
  if (bannerFiltered) return;
  bannerFiltered = true;
  const warn = console.warn.bind(console);
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].includes('looks like you are running TensorFlow.js in Node.js')) return;
    warn(...args);
  };
}

/**
 * Vulkan's loader prints "XDG_RUNTIME_DIR is invalid or not set" on every
 * adapter probe when the variable is missing (containers, CI, cron): give it
 * a private folder so that the CLI's stderr stays for real errors.
 */
function ensureXdgRuntimeDir(): void {
  const cur = process.env.XDG_RUNTIME_DIR;
  if (cur && existsSync(cur)) return;
  try {
    // one folder per user, reused by every run (nothing accumulates in /tmp)
    const dir = join(tmpdir(), `distillery-xdg-${process.getuid?.() ?? 'user'}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    process.env.XDG_RUNTIME_DIR = dir;
  } catch {
    /* only cosmetic */
  }
}

export async function selectNodeBackend(pref: BackendName): Promise<BackendChoice> {
  silenceTfjsNodeBanner();
  if (pref === 'auto' || pref === 'webgpu') ensureXdgRuntimeDir();
  return selectBackend(pref, { nodeWebGPU: installNodeWebGPU, wasmPaths: WASM_DIR });
}

/** "webgpu (google swiftshader, SwiftShader driver 5.0.0)". */
export function describeBackend(choice: BackendChoice): string {
  const a = choice.adapter;
  const detail = a ? ` (${[a.vendor, a.architecture].filter((s) => s && s !== 'unknown').join(' ')}${a.description ? `, ${a.description}` : ''})` : '';
  return `${choice.name}${detail}`;
}
