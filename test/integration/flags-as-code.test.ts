import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFlagsFile, renderFlagsFile, sha256Of } from '../../packages/node/src/flags-as-code/flags-yaml.js';
import type { CommandIo } from '../../packages/node/src/flags-as-code/command.js';
import { runCli } from '../../packages/node/src/typegen/cli.js';
import { createUser, type TestUser } from './governance-helpers.js';
import { ADMIN_TOKEN, startStack, type Stack } from './harness.js';
import { scratchDatabase } from './scratch-db.js';
import { guardedRedisUrl } from './test-target.js';

/**
 * `ripcord flags export | plan | apply` against the real API, on a database of its own so that the
 * environment holds exactly the flags this file creates: export → apply → export is byte-identical,
 * plan's exit codes and per-field diff, If-Match conflicts reported and not overwritten, a flag
 * applied whole or not at all, change requests where a policy covers the environment, one audit
 * event per change naming the file's SHA-256, --prune, and malformed files.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = join(root, 'test-artifacts', 'flags-as-code');
const scratch = scratchDatabase('ripcord_flags_as_code_test');
// The file's own Redis index (the test worker's, emptied before the file), flushed again here only
// through the wipe guard: the projection of another database's flags must not mix with this one's.
const redisUrl = guardedRedisUrl();

let stack: Stack;
let editor: TestUser;

interface Run { code: number; out: string; err: string }

/** Runs the CLI in process, as `ripcord …` with RIPCORD_URL and RIPCORD_TOKEN; `fetch` may be wrapped to act between the plan's read and a write. */
async function ripcord(args: string[], options: { token?: string; fetch?: typeof fetch } = {}): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CommandIo = {
    env: { RIPCORD_URL: stack.api.url, RIPCORD_TOKEN: options.token ?? editor.token },
    fetch: options.fetch ?? globalThis.fetch,
    writeFile: async (path, text) => writeFileSync(path, text),
    readFile: async (path) => readFileSync(path, 'utf8'),
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    progress: { isTTY: false, write: (text) => err.push(text.trimEnd()) },
  };
  const code = await runCli(args, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const file = (name: string) => join(dir, name);

beforeAll(async () => {
  mkdirSync(dir, { recursive: true });
  await scratch.createMigrated();
  const redis = new Redis(redisUrl);
  await redis.flushdb();
  redis.disconnect();
  stack = await startStack({ DATABASE_URL: scratch.appUrl, MIGRATION_DATABASE_URL: scratch.ownerUrl, REDIS_URL: redisUrl }, { worker: false });
  editor = await createUser(stack, 'editor');
  const put = (path: string, body: unknown) => stack.request('PUT', path, { body });
  expect((await stack.request('POST', '/api/v1/segments', { body: { key: 'vip', kind: 'list', members: ['u2', 'u1'] } })).status).toBe(201);
  expect((await stack.request('POST', '/api/v1/segments', { body: { key: 'staff', kind: 'rule', name: 'Staff', conditions: [{ field: 'email', operator: 'ends_with', value: '@corp.com' }] } })).status).toBe(201);
  for (const [key, type] of [['checkout', 'string'], ['dark-mode', 'boolean'], ['limits', 'json']] as const) {
    expect((await stack.request('POST', '/api/v1/flags', { body: { key, name: key, type, tags: ['web'] } })).status).toBe(201);
  }
  expect((await put('/api/v1/flags/checkout/environments/production', {
    enabled: true, variants: [{ name: 'control', value: 'old' }, { name: 'treatment', value: 'new' }], on_variant: 'treatment', off_variant: 'control',
    rules: [{ id: 'staff-first', type: 'custom', conditions: [{ field: 'email', operator: 'ends_with', value: '@corp.com' }], action: 'serve', variant: 'treatment', priority: 0 }],
    targeting: [{ segments: ['vip'], percentage: 100 }], split: [{ variant: 'control', weight: 50 }, { variant: 'treatment', weight: 50 }],
  })).status).toBe(200);
  expect((await put('/api/v1/flags/dark-mode/environments/production', { enabled: true, value: true, off_value: false, rollout: { percentage: 10, strategy: 'gradual' } })).status).toBe(200);
  expect((await put('/api/v1/flags/limits/environments/production', { enabled: true, value: { max: 5, burst: { size: 2 } }, off_value: {}, targeting: [{ segments: ['staff'] }] })).status).toBe(200);
}, 180_000);

afterAll(async () => {
  await stack?.close();
  await scratch.drop();
});

describe('ripcord flags', () => {
  it('exports a stable file that plans nothing, and export → apply → export is byte-identical', async () => {
    const exported = await ripcord(['flags', 'export', '--environment', 'production', '--out', file('flags.yaml')]);
    expect(exported.code, exported.err).toBe(0);
    const text = readFileSync(file('flags.yaml'), 'utf8');
    expect(text).toContain('key: checkout');
    expect(text).toMatch(/- key: vip\n\s+kind: list\n\s+members:\n\s+- u1\n\s+- u2/);
    expect(text).not.toContain('kill_switch');
    const again = await ripcord(['flags', 'export', '--environment', 'production']);
    expect(`${again.out}\n`).toBe(text);

    const plan = await ripcord(['flags', 'plan', '--file', file('flags.yaml')]);
    expect(plan.code, plan.out + plan.err).toBe(0);
    expect(plan.out).toContain('0 flag(s) to create, 0 to update, 0 to archive, 3 unchanged');

    // Change two fields and add a flag; apply; export again: the same bytes as the applied file.
    const read = readFlagsFile('flags.yaml', text);
    if ('errors' in read) throw new Error(read.errors.join('\n'));
    const changed = structuredClone(read.file);
    changed.flags.find((f) => f.key === 'dark-mode')!.config.rollout!.percentage = 25;
    changed.flags.find((f) => f.key === 'checkout')!.config.split = [{ variant: 'control', weight: 20 }, { variant: 'treatment', weight: 80 }];
    changed.flags.push({ key: 'new-nav', name: 'New nav', type: 'boolean', config: { enabled: true, variants: [{ name: 'on', value: true }, { name: 'off', value: false }], on_variant: 'on', off_variant: 'off' } });
    const changedText = renderFlagsFile(changed);
    writeFileSync(file('changed.yaml'), changedText);

    const planned = await ripcord(['flags', 'plan', '--file', file('changed.yaml')]);
    expect(planned.code).toBe(2);
    expect(planned.out).toContain('~ flag dark-mode: update');
    expect(planned.out).toContain('config.rollout.percentage: 10 → 25');
    expect(planned.out).toContain('config.split[0].weight: 50 → 20');
    expect(planned.out).toContain('+ flag new-nav (boolean): create');

    const refused = await ripcord(['flags', 'apply', '--file', file('changed.yaml')]);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('--auto-approve');

    const applied = await ripcord(['flags', 'apply', '--file', file('changed.yaml'), '--auto-approve']);
    expect(applied.code, applied.out + applied.err).toBe(0);
    expect(applied.out).toContain('Applied 3, requested 0, conflicts 0, failed 0, skipped 0.');
    expect(applied.err).toContain('applying: 3/3');

    const after = await ripcord(['flags', 'export', '--environment', 'production']);
    expect(`${after.out}\n`).toBe(changedText);
    expect((await ripcord(['flags', 'plan', '--file', file('changed.yaml')])).code).toBe(0);

    // One audit event per change, by the editor, whose reason names the file and its SHA-256.
    const events = (await stack.request('GET', '/api/v1/audit?limit=50')).body.events as Array<{ action: string; resource_id: string; reason: string; user_id: string }>;
    const fromApply = events.filter((e) => e.reason?.includes(`sha256:${sha256Of(changedText)}`));
    expect(fromApply.map((e) => e.action).sort()).toEqual(['flag.config.updated', 'flag.config.updated', 'flag.config.updated', 'flag.created']);
    expect(fromApply.every((e) => e.user_id === editor.id && e.reason.startsWith(`ripcord flags apply ${file('changed.yaml')}`))).toBe(true);
  });

  it('reports a concurrent change instead of overwriting it, and undoes a half-applied flag', async () => {
    const exported = await ripcord(['flags', 'export', '--environment', 'production', '--out', file('base.yaml')]);
    expect(exported.code).toBe(0);
    const read = readFlagsFile('base.yaml', readFileSync(file('base.yaml'), 'utf8'));
    if ('errors' in read) throw new Error(read.errors.join('\n'));
    const edited = structuredClone(read.file);
    edited.flags.find((f) => f.key === 'dark-mode')!.config.rollout!.percentage = 50;
    const limits = edited.flags.find((f) => f.key === 'limits')!;
    limits.config.enabled = false;
    limits.name = 'Limits';
    writeFileSync(file('edited.yaml'), renderFlagsFile(edited));

    // Between the plan's read and the writes, someone else changes dark-mode's config and limits' name.
    let interfered = false;
    const racing: typeof fetch = async (input, init) => {
      if (!interfered && init?.method === 'PUT') {
        interfered = true;
        expect((await stack.request('PUT', '/api/v1/flags/dark-mode/environments/production', { body: { enabled: true, value: true, off_value: false, rollout: { percentage: 33, strategy: 'gradual' } } })).status).toBe(200);
        expect((await stack.request('PATCH', '/api/v1/flags/limits', { body: { name: 'limits (renamed elsewhere)' } })).status).toBe(200);
      }
      return globalThis.fetch(input, init);
    };
    const applied = await ripcord(['flags', 'apply', '--file', file('edited.yaml'), '--auto-approve'], { fetch: racing });
    expect(applied.code).toBe(1);
    expect(applied.out).toMatch(/flag dark-mode: conflict: config: changed on the server since the plan read it; nothing was overwritten/);
    expect(applied.out).toMatch(/flag limits: conflict: name, description or tags: changed on the server .*; its config was put back/);
    const dark = (await stack.request('GET', '/api/v1/flags/dark-mode/environments/production')).body;
    expect(dark.rollout.percentage).toBe(33);
    const limitsNow = (await stack.request('GET', '/api/v1/flags/limits')).body;
    expect(limitsNow.name).toBe('limits (renamed elsewhere)');
    expect(limitsNow.environments.production.enabled).toBe(true);
  });

  it('turns writes a change policy covers into change requests and prints their links', async () => {
    const exported = await ripcord(['flags', 'export', '--environment', 'staging', '--out', file('staging.yaml')]);
    expect(exported.code).toBe(0);
    const read = readFlagsFile('staging.yaml', readFileSync(file('staging.yaml'), 'utf8'));
    if ('errors' in read) throw new Error(read.errors.join('\n'));
    read.file.flags.find((f) => f.key === 'dark-mode')!.config.enabled = true;
    writeFileSync(file('staging.yaml'), renderFlagsFile(read.file));
    expect((await stack.request('PUT', '/api/v1/environments/staging/change-policy', { body: { required_approvals: 1, reason: 'gitops test' } })).status).toBe(200);
    try {
      const applied = await ripcord(['flags', 'apply', '--file', file('staging.yaml'), '--auto-approve']);
      expect(applied.code, applied.out + applied.err).toBe(0);
      const link = /flag dark-mode: requested: config waits as a change request (\S+)/.exec(applied.out)?.[1];
      expect(link).toMatch(new RegExp(`^${stack.api.url}/change-requests/[\\w-]+$`));
      const id = link!.split('/').at(-1)!;
      const request = (await stack.request('GET', `/api/v1/change-requests/${id}`)).body;
      expect(request).toMatchObject({ status: 'pending', flag: 'dark-mode', environment: 'staging' });
      expect(request.reason).toContain('sha256:');
      expect((await stack.request('GET', '/api/v1/flags/dark-mode/environments/staging')).body.enabled).toBe(false);
    } finally {
      expect((await stack.request('PUT', '/api/v1/environments/staging/change-policy', { body: { required_approvals: 0 } })).status).toBe(200);
    }
  });

  it('archives flags the file lacks only with --prune', async () => {
    const exported = await ripcord(['flags', 'export', '--environment', 'production', '--out', file('prune.yaml')]);
    expect(exported.code).toBe(0);
    const read = readFlagsFile('prune.yaml', readFileSync(file('prune.yaml'), 'utf8'));
    if ('errors' in read) throw new Error(read.errors.join('\n'));
    read.file.flags = read.file.flags.filter((f) => f.key !== 'new-nav');
    writeFileSync(file('prune.yaml'), renderFlagsFile(read.file));
    const kept = await ripcord(['flags', 'plan', '--file', file('prune.yaml')]);
    expect(kept.code).toBe(0);
    expect(kept.out).toContain('Not in the file, left alone (--prune archives them): new-nav');
    const pruned = await ripcord(['flags', 'apply', '--file', file('prune.yaml'), '--prune', '--auto-approve']);
    expect(pruned.code, pruned.out).toBe(0);
    expect(pruned.out).toContain('flag new-nav: archived (--prune)');
    expect((await stack.request('GET', '/api/v1/flags/new-nav')).body.archived).toBe(true);
  });

  it('refuses a malformed file naming the line and the path, with no stack trace', async () => {
    writeFileSync(file('bad.yaml'), readFileSync(file('prune.yaml'), 'utf8').replace(/enabled: (true|false)/, 'enabled: maybe'));
    const bad = await ripcord(['flags', 'plan', '--file', file('bad.yaml')]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/bad\.yaml:\d+:\d+ flags\[0\]\.config\.enabled: Invalid input: expected boolean/);
    expect(bad.err).not.toMatch(/\n\s+at /);
    const missing = await ripcord(['flags', 'apply', '--file', file('nope.yaml')]);
    expect(missing).toMatchObject({ code: 1, err: expect.stringContaining('cannot read') });
    const wrongToken = await ripcord(['flags', 'export', '--environment', 'production'], { token: 'not-a-token' });
    expect(wrongToken.code).toBe(1);
    expect(wrongToken.err).toMatch(/^Error: GET \/api\/v1\/flags\?.* answered 401/);
    expect(ADMIN_TOKEN).toBeTruthy();
  });
});
