/** Versions recorded in summary.json and the zip's metadata, so results can be traced to code. */
import { readFileSync } from 'node:fs';

function readJson(url: URL): { version?: string } | null {
  try {
    return JSON.parse(readFileSync(url, 'utf8')) as { version?: string };
  } catch {
    return null;
  }
}

export function packageVersion(): string {
  return readJson(new URL('../../package.json', import.meta.url))?.version ?? 'unknown';
}

/** distillery, tfjs (core and the backend packages), node, and the Dawn bindings when present. */
export function versions(tfVersion: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = { distillery: packageVersion(), node: process.version };
  for (const [k, v] of Object.entries(tfVersion)) out[k] = v;
  for (const pkg of ['@tensorflow/tfjs-backend-webgpu', '@tensorflow/tfjs-backend-wasm', 'webgpu']) {
    const v = readJson(new URL(`../../node_modules/${pkg}/package.json`, import.meta.url))?.version;
    if (v) out[pkg.replace('@tensorflow/', '')] = v;
  }
  return out;
}
