#!/usr/bin/env node
/**
 * `npm start`: install dependencies when needed, then serve the browser app
 * with Vite's dev server on http://127.0.0.1:$PORT (default 5173).
 *
 * Plain JavaScript with only node: imports, because it must run before any
 * dependency is installed. Works offline once node_modules exists (the app's
 * default dataset is generated in code).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const lockfile = join(root, 'package-lock.json');
// npm rewrites node_modules/.package-lock.json on every install: its age is the install's age.
const installMarker = join(root, 'node_modules', '.package-lock.json');

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return null;
  }
}

/** Why an install is needed, or null when node_modules is up to date. */
function installReason() {
  if (!existsSync(join(root, 'node_modules'))) return 'node_modules is missing';
  const installed = mtime(installMarker);
  if (installed === null) return 'node_modules has no install record';
  const locked = mtime(lockfile);
  if (locked !== null && locked > installed) return 'package-lock.json is newer than node_modules';
  if (!existsSync(join(root, 'node_modules', 'vite', 'package.json'))) return 'vite is not installed';
  return null;
}

const reason = installReason();
if (reason) {
  const args = existsSync(lockfile) ? ['ci'] : ['install'];
  console.log(`${reason}: running npm ${args[0]} …`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const res = spawnSync(npm, args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (res.status !== 0) {
    console.error(`npm ${args[0]} failed (exit ${res.status ?? res.signal}); fix the error above and run npm start again.`);
    process.exit(res.status || 1);
  }
}

const port = Number(process.env.PORT || 5173);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error(`PORT must be a port number (got ${JSON.stringify(process.env.PORT)})`);
  process.exit(2);
}

// vite.config.ts pulls in TypeScript modules through extensionless imports (the
// dataset proxy and the engine code it uses), which Vite's default bundling
// config loader handles; its advisory about a future loader is only noise here.
process.env.VITE_CONFIG_NATIVE_IGNORE_WARNING ??= 'true';

// Imported only now: it may have just been installed. Resolved from the project, not from this file's folder.
const viteEntry = join(root, 'node_modules', 'vite', 'dist', 'node', 'index.js');
if (!existsSync(viteEntry)) {
  console.error('vite is not installed (node_modules/vite is missing): run npm install, then npm start again.');
  process.exit(1);
}
const vite = await import(pathToFileURL(viteEntry).href);
let server;
try {
  server = await vite.createServer({
    root,
    configFile: join(root, 'vite.config.ts'),
    // strictPort: fail loudly rather than serve on a port other than the one printed/asked for.
    server: { host: '127.0.0.1', port, strictPort: true },
  });
  await server.listen();
} catch (err) {
  const inUse = err?.code === 'EADDRINUSE' || /already in use/i.test(String(err?.message));
  const msg = inUse ? `port ${port} is in use; set PORT to another port (e.g. PORT=5174 npm start)` : String(err?.message ?? err);
  console.error(`Could not start the dev server: ${msg}`);
  process.exit(1);
}
const url = server.resolvedUrls?.local?.[0] ?? `http://127.0.0.1:${port}/`;
console.log(`\nDistillery is running at ${url}  (Ctrl+C to stop)\n`);

const stop = async () => {
  await server.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
