/**
 * Vite config for the browser app (dev server, build, preview).
 *
 * - Cross-origin isolation (COOP same-origin + COEP require-corp) on dev and
 *   preview: SharedArrayBuffer, hence tfjs-backend-wasm's threads, needs it.
 *   Everything the app loads is same-origin (the dataset proxy below exists so
 *   that remote datasets are fetched same-origin too).
 * - /api/dataset/*: the catalog proxy (src/devserver/datasetProxy.ts) on dev and preview.
 * - Workers are ES modules (the compute worker imports tfjs and the engine).
 * - `?raw` imports of shaders and `?url` imports of tfjs' .wasm files are Vite
 *   built-ins; the worker hands the .wasm URLs to tfjs with setWasmPaths.
 */
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';
import { datasetProxyPlugin } from './src/devserver/datasetProxy';

const port = Number(process.env.PORT || 5173);
const host = '127.0.0.1';

const isolationHeaders = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  // Our own responses may be embedded by our own (isolated) page and its workers.
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export default defineConfig({
  // the catalog datasets, fetched same-origin by the worker (src/engine/data/browserFetch.ts)
  plugins: [react(), datasetProxyPlugin()],
  worker: { format: 'es' },
  server: { host, port, headers: isolationHeaders },
  preview: { host, port, headers: isolationHeaders },
  build: {
    target: 'es2022',
    // tfjs is large by nature; the warning at 500 kB would only be noise.
    chunkSizeWarningLimit: 4000,
  },
});
