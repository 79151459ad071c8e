#!/usr/bin/env node
/**
 * Entry point of `npx distillery …` and `npm run cli -- …`: registers tsx so
 * that Node runs the TypeScript sources directly (no build step), and the
 * `?raw` hook for the WGSL shaders the engine imports the Vite way, then hands
 * over to main.ts.
 */
import { register } from 'tsx/esm/api';

register();
// Registered after tsx so that it sees `?raw` specifiers first (later hooks run first).
await import('./raw-loader.mjs');
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
