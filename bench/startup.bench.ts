/**
 * `npm run bench:startup`: cold start of the API (process start -> /readyz 200) and of the worker
 * (process start -> its "worker running" log line, when it polls) run from the sources with tsx
 * (the worker bundling workflows with webpack/swc at start-up) and from the build with plain node
 * (the prebuilt workflow bundle). BENCH_RUNS (default 3) runs of each, one at a time.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ADMIN_TOKEN, root, stackEnv } from './lib/bench-stack.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const TIMEOUT_MS = 180_000;

const env = stackEnv();
if (!existsSync(join(root, 'dist/workflow-bundle.js'))) execFileSync('npm', ['run', '--silent', 'build:server'], { cwd: root, stdio: 'inherit' });
const cli = join(root, 'dist/src/main/cli.js');
const tsx = join(root, 'node_modules/tsx/dist/cli.mjs');
execFileSync(process.execPath, [cli, 'migrate'], { cwd: root, env: { ...process.env, ...env }, stdio: 'ignore' });

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts a process, returns the ms until `ready` holds, then stops it. */
async function coldStart(args: string[], ready: (port: number, output: () => string) => Promise<boolean>): Promise<number> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, ...env, PORT: String(port), RIPCORD_ADMIN_TOKEN: ADMIN_TOKEN, LOG_LEVEL: 'info', TEMPORAL_TASK_QUEUE: `bench-startup-${port}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    while (!(await ready(port, () => output).catch(() => false))) {
      if (child.exitCode !== null) throw new Error(`exited early:\n${output}`);
      if (performance.now() - started > TIMEOUT_MS) throw new Error(`not ready after ${TIMEOUT_MS} ms:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return performance.now() - started;
  } finally {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
}

type Ready = (port: number, output: () => string) => Promise<boolean>;
const apiReady: Ready = async (port) => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200;
const workerReady: Ready = async (_port, output) => output().includes('worker running');

const cases: Array<[string, string[], Ready]> = [
  ['API, tsx (sources)', [tsx, 'src/main/api.ts'], apiReady],
  ['API, node (build)', [cli, 'api'], apiReady],
  ['worker, tsx (bundles workflows at start-up)', [tsx, 'src/main/worker.ts'], workerReady],
  ['worker, node (prebuilt bundle)', [cli, 'worker'], workerReady],
];

const rows: string[] = [];
for (const [name, args, ready] of cases) {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) times.push(await coldStart(args, ready));
  times.sort((a, b) => a - b);
  const line = `${name.padEnd(46)} median ${Math.round(times[Math.floor(times.length / 2)]!)} ms  (min ${Math.round(times[0]!)}, max ${Math.round(times.at(-1)!)}; ${RUNS} runs)`;
  console.log(line);
  rows.push(line);
}
console.log(`\nCold start, process start -> ready (${RUNS} runs each):\n${rows.join('\n')}`);
