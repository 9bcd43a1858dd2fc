/* `npm run bench`: the serving benchmark (throughput/latency next to the peers) and kill propagation. */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
for (const bench of ['bench/serving.bench.ts', 'bench/propagation.bench.ts', 'bench/convergence.bench.ts']) {
  console.log(`\n=== ${bench}`);
  execFileSync(process.execPath, [`${root}/node_modules/tsx/dist/cli.mjs`, bench], { cwd: root, stdio: 'inherit' });
}
