/*
 * The server as it ships, for benchmarks that judge its speed: TypeScript compiled to JavaScript file by
 * file (what `npm run build:server` does with tsc, done here by esbuild in about a second), run by node
 * itself. Running the sources under tsx instead costs more per request than the build does: tsx
 * compiles with esbuild's keepNames, which wraps every function created at run time (a few closures
 * per request on the hot path) in a call that redefines its `name`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { ADMIN_TOKEN, track, waitFor } from './bench-stack.js';

/** The folders the build compiles (tsconfig.build.json's `include`). */
const SOURCE_FOLDERS = ['src', 'api', 'activities', 'workflows', 'slack'];
/** Where the compiled server goes, inside the checkout so that its packages and relative paths resolve. */
export const BUILD_FOLDER = '.bench-build';

/** Compiles `checkout`'s server into `<checkout>/.bench-build` and returns the API entry point to run with node. */
export async function buildServer(checkout: string): Promise<string> {
  const outdir = join(checkout, BUILD_FOLDER);
  rmSync(outdir, { recursive: true, force: true });
  const entryPoints = SOURCE_FOLDERS.filter((folder) => existsSync(join(checkout, folder))).flatMap((folder) =>
    readdirSync(join(checkout, folder), { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
      .map((file) => join(checkout, folder, file)));
  await build({ entryPoints, outdir, outbase: checkout, format: 'esm', platform: 'node', target: 'node20', logLevel: 'warning' });
  return join(outdir, 'src/main/api.js');
}

/**
 * Starts the API of `checkout`, run by node itself (its pid is the server's), and waits for /readyz;
 * builds it first unless given the entry point of a build already made.
 */
export async function startBuiltApi(checkout: string, port: number, env: Record<string, string>, built?: string): Promise<ChildProcess> {
  const entry = built ?? (await buildServer(checkout));
  // BENCH_CPU_PROF=<folder>: the API writes a V8 CPU profile there when it stops (open it in Chrome's DevTools).
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const child = track(spawn(process.execPath, [...profile, entry], {
    cwd: checkout,
    env: { ...process.env, ...env, PORT: String(port), RIPCORD_ADMIN_TOKEN: ADMIN_TOKEN, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
  }));
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, `the API of ${checkout}`, 180_000);
  return child;
}
