/**
 * How Ripcord's cost grows with size. For each dimension, the real stack at several
 * sizes: a table of cost against size with a growth verdict per measure (log-log exponent: flat,
 * sub-linear, linear, super-linear), the budgets checked at the largest size, and a PNG chart.
 *
 *   npm run bench:scale                      # every dimension, full sizes (~20-30 min on 2 cores)
 *   npm run bench:scale -- flags audit       # some dimensions
 *   BENCH_SCALE_QUICK=1 npm run bench:scale  # small sizes: a smoke run of the benchmark itself
 *   BENCH_SCALE_SIZES=10000 npm run bench:scale -- streams  # only the sizes named (comma-separated)
 *
 * Writes bench/results/scale.md and bench/results/scale-<dimension>.png (git-ignored).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { root, stackEnv, stopAll } from './lib/bench-stack.js';
import { auditDimension } from './scale/audit.js';
import { writeChart } from './scale/chart.js';
import { flagsDimension } from './scale/flags.js';
import { instancesDimension } from './scale/instances.js';
import { report, type DimensionResult } from './scale/harness.js';
import { rolloutsDimension } from './scale/rollouts.js';
import { replicasDimension } from './scale/replicas.js';
import { segmentsDimension } from './scale/segments.js';
import { streamsDimension } from './scale/streams.js';
import { writesDimension } from './scale/writes.js';

const QUICK = process.env.BENCH_SCALE_QUICK === '1';
// A bounded run of one dimension: only these sizes (the growth verdict then needs at least two).
const ONLY_SIZES = process.env.BENCH_SCALE_SIZES?.split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0);
const sizesOf = (dimension: { sizes: number[]; quick: number[] }) => (ONLY_SIZES?.length ? ONLY_SIZES : QUICK ? dimension.quick : dimension.sizes);
const DIMENSIONS: Record<string, { sizes: number[]; quick: number[]; run: (stack: Record<string, string>, sizes: number[]) => Promise<DimensionResult> }> = {
  flags: { sizes: [100, 1_000, 10_000], quick: [10, 100], run: flagsDimension },
  streams: { sizes: [100, 1_000, 10_000], quick: [10, 100], run: streamsDimension },
  instances: { sizes: [100, 1_000], quick: [10, 100], run: instancesDimension },
  rollouts: { sizes: [10, 100, 1_000], quick: [2, 10], run: rolloutsDimension },
  replicas: { sizes: [1, 2, 3], quick: [1, 2], run: replicasDimension },
  audit: { sizes: [10_000, 100_000, 1_000_000], quick: [1_000, 10_000], run: auditDimension },
  segments: { sizes: [10_000, 100_000, 1_000_000], quick: [1_000, 10_000], run: segmentsDimension },
  writes: { sizes: [1, 5, 20, 50], quick: [1, 5], run: writesDimension },
};

const asked = process.argv.slice(2);
const unknown = asked.filter((name) => !(name in DIMENSIONS));
if (unknown.length) {
  console.error(`unknown dimension(s) ${unknown.join(', ')}; choose from ${Object.keys(DIMENSIONS).join(', ')}`);
  process.exit(2);
}
const chosen = asked.length ? asked : Object.keys(DIMENSIONS);
const out = `${root}/bench/results`;
mkdirSync(out, { recursive: true });

const stack = stackEnv();
// Every process runs the production build, as deployed (start-up figures are the production ones).
console.log('building the server (npm run build:server) …');
execFileSync('npm', ['run', '--silent', 'build:server'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
const sections: string[] = [
  `# bench:scale — ${new Date().toISOString()}${ONLY_SIZES?.length ? ` (sizes ${ONLY_SIZES.join(', ')} only)` : QUICK ? ' (QUICK sizes)' : ''}`, '',
  `Machine: load average at start ${loadavg().map((l) => l.toFixed(1)).join(' ')}. The rate limiter and the stream caps are OFF in every API process.`, '',
];
try {
  for (const name of chosen) {
    const dimension = DIMENSIONS[name]!;
    console.log(`\n=== ${name} (${sizesOf(dimension).join(', ')})`);
    const result = await dimension.run(stack, sizesOf(dimension));
    const { markdown, series } = report(result);
    console.log(`\n${markdown}`);
    sections.push(markdown);
    if (await writeChart(`${out}/scale-${name}.png`, result.dimension, result.sizeLabel, series)) sections.push(`![${name}](scale-${name}.png)`, '');
    writeFileSync(`${out}/scale.md`, sections.join('\n'));
  }
  console.log(`\nwrote ${out}/scale.md and the charts beside it`);
} finally {
  await stopAll();
}
