import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Builds the admin UI once per test run, so the API under test serves the current ui/ at `/`. */
export async function buildUi(): Promise<void> {
  const vite = fileURLToPath(new URL('../../node_modules/vite/bin/vite.js', import.meta.url));
  // vitest sets NODE_ENV=test, which would make Vite bundle React's development build (StrictMode's
  // double effects, twice the requests): the browser tests test what production serves.
  await promisify(execFile)(process.execPath, [vite, 'build', '--config', 'ui/vite.config.ts', '--logLevel', 'warn'], {
    cwd: root, timeout: 120_000, env: { ...process.env, NODE_ENV: 'production' },
  });
}
