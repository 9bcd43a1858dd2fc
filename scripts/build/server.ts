/**
 * `npm run build:server`: the server compiled to dist/ (tsc), its SQL migrations beside it, and the
 * Temporal workflow bundle built ahead of time into dist/workflow-bundle.js, which the worker loads
 * instead of running webpack and swc at start-up.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflows, WORKFLOW_BUNDLE_FILE } from '../../src/main/worker-process.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dist = join(root, 'dist');

const t0 = performance.now();
rmSync(dist, { recursive: true, force: true });
execFileSync(join(root, 'node_modules/.bin/tsc'), ['-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
cpSync(join(root, 'migrations'), join(dist, 'migrations'), { recursive: true });
// flagd's sync API definition, loaded at run time by src/flagd/sync-server.ts.
cpSync(join(root, 'src/flagd/proto'), join(dist, 'src/flagd/proto'), { recursive: true });
const bundle = await bundleWorkflows();
writeFileSync(join(dist, WORKFLOW_BUNDLE_FILE), bundle.code);
console.log(`build:server: dist/ in ${Math.round(performance.now() - t0)} ms (workflow bundle ${Math.round(bundle.code.length / 1024)} kB)`);
