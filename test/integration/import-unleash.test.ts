import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { startUnleash, type Unleash } from 'unleash-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandIo } from '../../packages/node/src/flags-as-code/command.js';
import { runCli } from '../../packages/node/src/typegen/cli.js';
import { createUser, type TestUser } from './governance-helpers.js';
import { eventually, startStack, type Stack } from './harness.js';
import { scratchDatabase } from './scratch-db.js';
import { guardedRedisUrl } from './test-target.js';
import { createToken } from './serving-helpers.js';

/**
 * `ripcord import unleash` against the real Unleash: unleash-server from npm (pinned in
 * scripts/stack-lib.sh, ensure_unleash_server) on a database of its own holds toggles, its
 * environment export (features-batch/export) feeds the importer, and unleash-client, synced from
 * that server, agrees with Ripcord's OFREP answers for 1,000 users on every imported toggle: on
 * isEnabled for all of them (partial rollouts included: the importer asks for Unleash's bucketing),
 * and on the variant where the report says the cohorts are kept.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = join(root, 'test-artifacts', 'import');
const SERVER = `${root}/.tools/unleash/node_modules/unleash-server/dist/server.js`;
const ADMIN = '*:*.ripcord-import-test-admin';
const CLIENT = 'default:development.ripcord-import-test-client';
const USERS = 1000;
const peerDb = scratchDatabase('ripcord_unleash_peer_test');
const scratch = scratchDatabase('ripcord_import_unleash_test');
// The file's own Redis index (the test worker's), flushed only through the wipe guard.
const redisUrl = guardedRedisUrl();

let stack: Stack;
let editor: TestUser;
let clientToken: string;
let server: ChildProcess | undefined;
let unleashUrl: string;
let client: Unleash | undefined;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

async function admin(method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${unleashUrl}${path}`, { method, headers: { authorization: ADMIN, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  expect(response.status, `${method} ${path}: ${text}`).toBeLessThan(300);
  return text ? JSON.parse(text) : undefined;
}

async function ripcord(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CommandIo = {
    env: { RIPCORD_URL: stack.api.url, RIPCORD_TOKEN: editor.token }, fetch: globalThis.fetch,
    writeFile: async (path, text) => writeFileSync(path, text), readFile: async (path) => readFileSync(path, 'utf8'),
    out: (line) => out.push(line), err: (line) => err.push(line),
  };
  const code = await runCli(args, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

beforeAll(async () => {
  if (!existsSync(SERVER)) throw new Error(`${SERVER} is missing: npm test installs it (ensure_unleash_server in scripts/stack-lib.sh)`);
  mkdirSync(dir, { recursive: true });
  await Promise.all([peerDb.create(), scratch.createMigrated()]);
  const redis = new Redis(redisUrl);
  await redis.flushdb();
  redis.disconnect();
  const port = await freePort();
  unleashUrl = `http://127.0.0.1:${port}`;
  server = spawn(process.execPath, [SERVER], {
    cwd: dirname(SERVER),
    env: {
      ...process.env, DATABASE_URL: peerDb.ownerUrl, DATABASE_SSL: 'false', HTTP_PORT: String(port), HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'error',
      INIT_ADMIN_API_TOKENS: ADMIN, INIT_CLIENT_API_TOKENS: CLIENT, UNLEASH_TELEMETRY_DISABLED: 'true', CHECK_VERSION: 'false', SEND_TELEMETRY: 'false',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await eventually(async () => (await fetch(`${unleashUrl}/health`).catch(() => undefined))?.status === 200, 'unleash-server to start', 240_000);
  stack = await startStack({ DATABASE_URL: scratch.appUrl, MIGRATION_DATABASE_URL: scratch.ownerUrl, REDIS_URL: redisUrl, MAX_SNAPSHOT_LAG_SECONDS: '60' }, { worker: false });
  editor = await createUser(stack, 'editor');
  clientToken = await createToken(stack.db, 'client', 'production');
}, 360_000);

afterAll(async () => {
  client?.destroy();
  server?.kill();
  await stack?.close();
  await scratch.drop();
  await peerDb.drop().catch(() => undefined);
});

function dirname(path: string): string {
  return path.slice(0, path.lastIndexOf('/'));
}

describe('ripcord import unleash, against unleash-server and unleash-client', () => {
  it('agrees with unleash-client for 1,000 users on every imported toggle', async () => {
    const env = 'development';
    const toggles: Record<string, Array<Record<string, unknown>>> = {
      'u-default': [{ name: 'default' }],
      'u-users': [
        // unleash-server 8 offers flexibleRollout and default only (userWithId and gradualRolloutUserId are gone): user ids as a constraint.
        { name: 'flexibleRollout', parameters: { rollout: '100', stickiness: 'default', groupId: 'u-users' }, constraints: [{ contextName: 'userId', operator: 'IN', values: ['user-1', 'user-2', 'user-3'] }] },
        { name: 'flexibleRollout', parameters: { rollout: '30', stickiness: 'default', groupId: 'u-users' }, constraints: [{ contextName: 'tier', operator: 'IN', values: ['pro', 'team'] }] },
      ],
      'u-rollout': [{ name: 'flexibleRollout', parameters: { rollout: '25', stickiness: 'default', groupId: 'u-rollout' } }],
      'u-sticky': [{ name: 'flexibleRollout', parameters: { rollout: '40', stickiness: 'userId', groupId: 'shared-group' } }],
      'u-variants': [{ name: 'default', variants: [{ name: 'blue', weight: 500, weightType: 'variable', stickiness: 'default' }, { name: 'red', weight: 500, weightType: 'variable', stickiness: 'default' }] }],
      'u-remote': [{ name: 'remoteAddress', parameters: { IPs: '10.0.0.1' } }],
    };
    await admin('POST', '/api/admin/context', { name: 'tier', description: 'the user tier', legalValues: [], stickiness: false });
    for (const [name, strategies] of Object.entries(toggles)) {
      await admin('POST', '/api/admin/projects/default/features', { name, type: 'release' });
      for (const strategy of strategies) await admin('POST', `/api/admin/projects/default/features/${name}/environments/${env}/strategies`, strategy);
      await admin('POST', `/api/admin/projects/default/features/${name}/environments/${env}/on`);
    }
    await admin('POST', '/api/admin/projects/default/features', { name: 'u-off', type: 'release' });
    await admin('POST', `/api/admin/projects/default/features/u-off/environments/${env}/strategies`, { name: 'default' });
    const names = [...Object.keys(toggles), 'u-off'];
    const exported = await admin('POST', '/api/admin/features-batch/export', { features: names, environment: env });
    const path = join(dir, 'unleash-export.json');
    writeFileSync(path, JSON.stringify(exported, null, 2));

    const imported = await ripcord(['import', 'unleash', '--file', path, '--environment', 'production', '--auto-approve']);
    expect(imported.code, imported.out + imported.err).toBe(0);
    const kept = [...imported.out.matchAll(/✓ (\S+): maps; keeps its cohorts/g)].map((m) => m[1]!).sort();
    const changed = [...imported.out.matchAll(/✓ (\S+): maps; cohorts will change/g)].map((m) => m[1]!);
    expect(kept).toEqual(['u-default', 'u-off', 'u-rollout', 'u-sticky', 'u-users']);
    expect(changed).toEqual(['u-variants']);
    expect(imported.out).toMatch(/✗ u-remote: can't be imported\n\s+can't map: the strategy remoteAddress has no Ripcord equivalent/);

    client = await startUnleash({ appName: 'ripcord-import-test', url: `${unleashUrl}/api/`, customHeaders: { Authorization: CLIENT }, disableMetrics: true, refreshInterval: 60_000 });
    const users = Array.from({ length: USERS }, (_, i) => ({ id: `user-${i}`, tier: ['free', 'pro', 'team', 'enterprise'][i % 4]! }));
    const keys = [...kept, ...changed];
    await eventually(async () => {
      const answer = await stack.request('POST', '/ofrep/v1/evaluate/flags', { body: { context: { targetingKey: 'probe' } }, token: clientToken });
      const served = new Set((answer.body.flags as Array<{ key: string }>).map((f) => f.key));
      return keys.every((k) => served.has(k));
    }, 'the snapshot to serve the imported flags');
    const enabledDisagree = new Map<string, number>();
    const variantDisagree = new Map<string, number>();
    let enabledCount = 0;
    for (const user of users) {
      const answer = await stack.request('POST', '/ofrep/v1/evaluate/flags', { body: { context: { targetingKey: user.id, tier: user.tier } }, token: clientToken });
      const ours = new Map((answer.body.flags as Array<{ key: string; value: unknown; variant: string }>).map((f) => [f.key, f]));
      const context = { userId: user.id, properties: { tier: user.tier } };
      for (const key of keys) {
        const mine = ours.get(key)!;
        const variant = key === 'u-variants';
        const mineEnabled = variant ? mine.variant !== 'disabled' : mine.value === true;
        const theirs = client.isEnabled(key, context);
        if (theirs) enabledCount++;
        if (theirs !== mineEnabled) enabledDisagree.set(key, (enabledDisagree.get(key) ?? 0) + 1);
        if (variant && client.getVariant(key, context).name !== mine.variant) variantDisagree.set(key, (variantDisagree.get(key) ?? 0) + 1);
      }
    }
    console.log(`[import] unleash-client vs Ripcord, ${USERS} users, isEnabled: ${keys.map((k) => `${k} ${USERS - (enabledDisagree.get(k) ?? 0)}/${USERS}`).join(', ')}; `
      + `u-variants variant (cohorts will change): ${USERS - (variantDisagree.get('u-variants') ?? 0)}/${USERS}`);
    expect([...enabledDisagree.keys()]).toEqual([]);
    // Partial rollouts were decided by buckets: some users in, some out.
    expect(enabledCount).toBeGreaterThan(USERS);
    expect(enabledCount).toBeLessThan(USERS * keys.length);
  }, 600_000);
});
