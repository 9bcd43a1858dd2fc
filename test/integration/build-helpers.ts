/* Builds for the tests of the production build and the SDK packages: built once, rebuilt only when a source changed. */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const root = fileURLToPath(new URL('../..', import.meta.url));

/** Runs a command; its output comes back (and with a failure, in the error). */
export async function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeout?: number }): Promise<{ stdout: string; stderr: string }> {
  return promisify(execFile)(command, args, { maxBuffer: 64 * 1024 * 1024, timeout: 300_000, ...options });
}

function newest(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).filter((name) => name !== 'node_modules' && name !== 'dist').map((name) => newest(join(path, name))));
}

/**
 * Holds an exclusive lock on `path` (flock(1), in a child that keeps it until released, or until
 * this process dies and the child's stdin closes).
 */
function lock(path: string, timeoutSeconds = 900): Promise<{ release(): Promise<void> }> {
  mkdirSync(dirname(path), { recursive: true });
  return new Promise((resolve, reject) => {
    const holder = spawn('flock', ['-w', String(timeoutSeconds), path, '-c', 'echo locked && exec cat'], { stdio: ['pipe', 'pipe', 'inherit'] });
    holder.once('exit', (code) => reject(new Error(`could not lock ${path} (flock exited ${code})`)));
    holder.stdout.once('data', () => resolve({
      release: () => new Promise<void>((released) => {
        holder.once('exit', () => released());
        holder.stdin.end();
      }),
    }));
  });
}

/**
 * Runs `npm run <script>` unless `output` is newer than every file under `sources`. One build at a
 * time per checkout: files in other test workers asking for the same build wait, then find it fresh.
 */
async function buildUnlessFresh(script: string, output: string, sources: string[]): Promise<void> {
  const fresh = () => (existsSync(output) ? statSync(output).mtimeMs : 0) > Math.max(...sources.map((s) => newest(join(root, s))));
  if (fresh()) return;
  const held = await lock(join(root, '.stack', `${script.replace(/\W/g, '-')}.lock`));
  try {
    if (!fresh()) await run('npm', ['run', '--silent', script], { cwd: root });
  } finally {
    await held.release();
  }
}

const SERVER_SOURCES = ['src', 'api', 'activities', 'workflows', 'slack', 'migrations', 'tsconfig.json', 'tsconfig.build.json', 'package.json'];

/** `npm run build:server` (dist/, the workflow bundle last). */
export const buildServer = () => buildUnlessFresh('build:server', join(root, 'dist', 'workflow-bundle.js'), SERVER_SOURCES);

/** `npm run build:packages` (@ripcord/node and @ripcord/react into packages/x/dist). */
export const buildPackages = () =>
  buildUnlessFresh('build:packages', join(root, 'packages/react/dist/index.d.ts'), ['packages', 'src/engine', 'src/domain', 'src/protocol', 'tsconfig.json']);

/** A child process whose output is kept, so a test can wait for a line and show it on failure. */
export interface Child {
  process: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

export function startChild(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Child {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { process: child, output: () => output, exited };
}

/** Ends a child and waits for it (SIGKILL after a bounded grace period). */
export async function stopChild(child: Child | undefined): Promise<void> {
  if (!child || child.process.exitCode !== null || child.process.signalCode !== null) return;
  child.process.kill('SIGTERM');
  const timer = setTimeout(() => child.process.kill('SIGKILL'), 10_000);
  await child.exited;
  clearTimeout(timer);
}
