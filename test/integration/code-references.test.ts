import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../packages/node/src/typegen/cli.js';
import { ADMIN_TOKEN, startStack, uniqueKey, type Stack } from './harness.js';
import { createFlag, onForEveryone } from './serving-helpers.js';

/**
 * Flag references: `ripcord refs` scans a fixture code base (test/fixtures/refs-app, keys
 * filled in per run) against the real API's flags, reports where each is used, which flags nothing
 * references and which call sites name unknown keys, and uploads them so the flag's page can say
 * "referenced in N files".
 */
let stack: Stack;
let app: string;
const keys = { checkout: uniqueKey('new-checkout'), dark: uniqueKey('dark-mode'), unused: uniqueKey('unused') };

function copyWithKeys(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from)) {
    const source = join(from, name);
    if (statSync(source).isDirectory()) copyWithKeys(source, join(to, name));
    else writeFileSync(join(to, name), readFileSync(source, 'utf8').replaceAll('__NEW_CHECKOUT__', keys.checkout).replaceAll('__DARK_MODE__', keys.dark));
  }
}

beforeAll(async () => {
  stack = await startStack({}, { worker: false });
  for (const key of Object.values(keys)) await createFlag(stack, key, onForEveryone);
  app = mkdtempSync(join(tmpdir(), 'ripcord-refs-'));
  copyWithKeys(fileURLToPath(new URL('../fixtures/refs-app', import.meta.url)), app);
  // Dependencies are not the app's code: a reference inside node_modules must not count.
  mkdirSync(join(app, 'node_modules/dep'), { recursive: true });
  writeFileSync(join(app, 'node_modules/dep/index.js'), `module.exports = () => client.boolean('${keys.unused}', false);\n`);
}, 120_000);

afterAll(async () => {
  await stack?.close();
  if (app) rmSync(app, { recursive: true, force: true });
});

async function refs(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(['refs', app, '--url', stack.api.url, '--token', ADMIN_TOKEN, '--environment', 'production', ...args], {
    env: {}, fetch: globalThis.fetch, writeFile: async () => undefined, out: (line) => out.push(line), err: (line) => err.push(line),
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('ripcord refs', () => {
  it('reports where each flag is used, the unreferenced flags and unknown keys at call sites', async () => {
    const result = await refs(['--json']);
    expect(result.code, result.err).toBe(0);
    const report = JSON.parse(result.out);
    const used = Object.fromEntries(report.used.map((u: { flag: string; files: unknown }) => [u.flag, u.files]));
    expect(used[keys.checkout]).toEqual([{ path: 'src/checkout.tsx', lines: [6] }, { path: 'src/server.ts', lines: [5] }]);
    expect(used[keys.dark]).toEqual([{ path: 'service/pricing.py', lines: [2] }, { path: 'src/checkout.tsx', lines: [7] }]);
    expect(report.unreferenced).toContain(keys.unused);
    expect(report.unknown).toEqual([{ flag: 'typo-flag', path: 'src/checkout.tsx', line: 8 }]);
  });

  it('uploads the references; the flag says in how many files it is used; a new upload replaces the old', async () => {
    const repository = uniqueKey('shop');
    const uploaded = await refs(['--upload', '--repository', repository]);
    expect(uploaded.code, uploaded.err).toBe(0);
    expect(uploaded.out).toContain(`Uploaded 4 references for repository ${repository}.`);
    type Reference = { repository: string; path: string; lines: number[] };
    const mine = (files: Reference[]) => files.filter((f) => f.repository === repository);
    const checkout = await stack.request('GET', `/api/v1/flags/${keys.checkout}/code-references`);
    expect(mine(checkout.body.references).map((r) => [r.path, r.lines])).toEqual([['src/checkout.tsx', [6]], ['src/server.ts', [5]]]);

    rmSync(join(app, 'src/server.ts'));
    expect((await refs(['--upload', '--repository', repository])).code).toBe(0);
    const after = await stack.request('GET', `/api/v1/flags/${keys.checkout}/code-references`);
    expect(mine(after.body.references).map((r) => r.path)).toEqual(['src/checkout.tsx']);
    const audit = await stack.request('GET', `/api/v1/audit?resource_type=code_references&resource_id=${repository}`);
    expect(audit.body.events.map((e: { action: string }) => e.action)).toEqual(['code_references.uploaded', 'code_references.uploaded']);
  });

  it('refuses an upload from a client token and names bad fields', async () => {
    const client = await stack.request('POST', '/api/v1/tokens', { body: { name: uniqueKey('c'), kind: 'client', environment: 'production' } });
    expect((await stack.request('PUT', '/api/v1/code-references', { body: { repository: 'x', references: [] }, token: client.body.token })).status).toBe(403);
    const bad = await stack.request('PUT', '/api/v1/code-references', { body: { repository: 'x', references: [{ flag: 'a', path: 'p', line: 0, kind: 'call' }] } });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body.error.details)).toContain('body.references.0.line');
  });

  it('says what is missing when run without a server', async () => {
    const out: string[] = [];
    const code = await runCli(['refs', app], { env: {}, fetch: globalThis.fetch, writeFile: async () => undefined, out: (l) => out.push(l), err: (l) => out.push(l) });
    expect(code).toBe(2);
    expect(out.join('\n')).toContain('--url and --token are required');
  });
});
