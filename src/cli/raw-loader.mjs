/**
 * Node module hooks for Vite-style `?raw` imports (`import src from './x.wgsl?raw'`),
 * so engine code that imports WGSL shaders runs unchanged under Node/tsx.
 * Vite and vitest handle `?raw` themselves; this is for the CLI only.
 *
 * Use: `node --import ./src/cli/raw-loader.mjs --import tsx src/cli/main.ts`, or
 * `await import('./raw-loader.mjs')` in the launcher before the first import of engine code
 * (importing this file on the main thread registers it as a hooks module).
 */
import { readFile } from 'node:fs/promises';
import { register } from 'node:module';
import { isMainThread } from 'node:worker_threads';

const RAW = /\?raw$/;

/** Resolves `./file.ext?raw` relative to the importer, keeping the query. */
export async function resolve(specifier, context, nextResolve) {
  if (RAW.test(specifier) && context.parentURL && /^(\.{1,2}\/|\/|file:)/.test(specifier)) {
    return { url: new URL(specifier, context.parentURL).href, shortCircuit: true };
  }
  return nextResolve(specifier, context);
}

/** Loads a `?raw` URL as an ES module whose default export is the file's text. */
export async function load(url, context, nextLoad) {
  if (RAW.test(url) && url.startsWith('file:')) {
    const file = new URL(url);
    file.search = '';
    const text = await readFile(file, 'utf8');
    return { format: 'module', source: `export default ${JSON.stringify(text)};\n`, shortCircuit: true };
  }
  return nextLoad(url, context);
}

// Hooks run on their own thread in Node ≥ 20.6; register only from the main thread.
if (isMainThread) register(import.meta.url);
