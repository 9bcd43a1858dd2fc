import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { expect } from 'vitest';
import { uniqueKey, type Stack } from './harness.js';
import { createFlag, onForEveryone } from './serving-helpers.js';

// Shared by the tests that run OpenFeature's official providers in other languages as child
// processes (test/clients/<language>): the flags they read, and the run itself.

/** Results as the clients print them: OpenFeature evaluation details per case. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

export interface ClientFlags {
  boolean: string;
  string: string;
  integer: string;
  float: string;
  object: string;
  unknown: string;
  killed: string;
}

/** Creates one flag of each type (and one to kill) through the API. */
export async function createClientFlags(stack: Stack, prefix: string): Promise<ClientFlags> {
  const flags: ClientFlags = {
    boolean: uniqueKey(`${prefix}-bool`),
    string: uniqueKey(`${prefix}-string`),
    integer: uniqueKey(`${prefix}-int`),
    float: uniqueKey(`${prefix}-float`),
    object: uniqueKey(`${prefix}-object`),
    unknown: uniqueKey(`${prefix}-missing`),
    killed: uniqueKey(`${prefix}-kill`),
  };
  await createFlag(stack, flags.boolean, onForEveryone);
  await createFlag(stack, flags.string, { enabled: true, value: 'dark', off_value: 'light' }, { type: 'string' });
  await createFlag(stack, flags.integer, { enabled: true, value: 42, off_value: 0 }, { type: 'number' });
  await createFlag(stack, flags.float, { enabled: true, value: 2.5, off_value: 0.5 }, { type: 'number' });
  await createFlag(stack, flags.object, { enabled: true, value: { theme: 'dark', columns: 3 }, off_value: {} }, { type: 'json' });
  await createFlag(stack, flags.killed, onForEveryone);
  return flags;
}

/**
 * Runs a client: it prints one JSON line of results, then waits for a line on stdin; meanwhile
 * `between` runs (the test kills a flag), then the client prints a second line and exits. The whole
 * run is bounded by `timeoutMs` (the child is killed past it).
 */
export async function runClient(
  command: string, args: string[], env: Record<string, string>, between: () => Promise<void>, timeoutMs = 60_000,
): Promise<{ first: Json; second: Json }> {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  try {
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const read = async (): Promise<Json> => {
      // Client libraries may print their own lines: results are the JSON objects.
      for (;;) {
        const next = await lines.next();
        if (next.done) throw new Error(`${command} ended early (exit ${await exited}): ${stderr.slice(-4000)}`);
        if (next.value.startsWith('{')) return JSON.parse(next.value);
      }
    };
    const first = await read();
    await between();
    child.stdin.write('go\n');
    const second = await read();
    expect(await exited, stderr.slice(-4000)).toBe(0);
    return { first, second };
  } finally {
    clearTimeout(timer);
    child.kill('SIGKILL');
  }
}
