/* The peers the serving benchmarks compare with: flagd, the GO Feature Flag relay proxy and unleash-server. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { root, track, waitFor } from './bench-stack.js';

export const FLAGD_BIN = `${root}/.tools/bench/bin/flagd`;
export const UNLEASH_DIR = `${root}/.tools/bench/unleash`;
export const UNLEASH_ADMIN = '*:*.bench-unleash-admin-token';
export const UNLEASH_FRONTEND = 'default:development.bench-unleash-frontend-token';

/** A flagd flag file equivalent to the Ripcord flags: a targeting rule on `tier`, else a 50% fractional split. */
export function flagdFlags(count: number): Record<string, unknown> {
  const flags: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) {
    const key = flagKey(i);
    flags[key] = {
      state: 'ENABLED',
      variants: { on: true, off: false },
      defaultVariant: 'off',
      targeting: { if: [{ '==': [{ var: 'tier' }, 'vip'] }, 'on', { fractional: [['on', 50], ['off', 50]] }] },
    };
  }
  return { flags };
}

export const flagKey = (i: number) => `flag-${String(i).padStart(3, '0')}`;

/** The same flags for the GO Feature Flag relay proxy (its file retriever's YAML): a query on `tier`, else a 50/50 split. */
export function goffFlags(count: number): string {
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    lines.push(
      `${flagKey(i)}:`, '  variations:', '    on: true', '    off: false', '  targeting:', '    - query: tier eq "vip"', '      variation: on',
      '  defaultRule:', '    percentage:', '      on: 50', '      off: 50',
    );
  }
  return `${lines.join('\n')}\n`;
}

export async function startFlagd(count: number): Promise<ChildProcess | string> {
  if (!existsSync(FLAGD_BIN)) return 'not installed (bench/setup.sh: go install github.com/open-feature/flagd/flagd@latest was refused by the Go module proxy here)';
  const dir = `${root}/.tools/bench/flagd`;
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}/flags.json`, JSON.stringify(flagdFlags(count)));
  const child = track(spawn(FLAGD_BIN, ['start', '--uri', `file:${dir}/flags.json`, '--ofrep-port', '8016'], { stdio: 'ignore' }));
  await waitFor(async () => (await fetch('http://127.0.0.1:8016/ofrep/v1/evaluate/flags', { method: 'POST', body: '{"context":{}}' })).status < 500, 'flagd');
  return child;
}

/** Starts unleash-server on its own database; answers the process or why it couldn't. */
export async function startUnleash(databaseUrl: string, port: number): Promise<ChildProcess | string> {
  const server = `${UNLEASH_DIR}/node_modules/unleash-server/dist/server.js`;
  if (!existsSync(server)) return 'not installed (bench/setup.sh installs unleash-server from npm)';
  const child = track(spawn(process.execPath, [server], {
    cwd: UNLEASH_DIR,
    env: {
      ...process.env, DATABASE_URL: databaseUrl, DATABASE_SSL: 'false', HTTP_PORT: String(port), LOG_LEVEL: 'error',
      INIT_ADMIN_API_TOKENS: UNLEASH_ADMIN, INIT_FRONTEND_API_TOKENS: UNLEASH_FRONTEND, UNLEASH_TELEMETRY_DISABLED: 'true',
      CHECK_VERSION: 'false', SEND_TELEMETRY: 'false', TZ: 'UTC',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  }));
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/health`)).status === 200, 'unleash-server', 180_000);
  return child;
}

async function unleashAdmin(port: number, method: string, path: string, body?: unknown): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    method, headers: { authorization: UNLEASH_ADMIN, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status >= 300) throw new Error(`unleash ${method} ${path}: ${response.status} ${await response.text()}`);
}

/**
 * The same flags in Unleash, enabled in development: on for `tier` = vip (a strategy with that
 * constraint), else a 50% gradual rollout on the user id — Ripcord's rule and split, flagd's
 * `if`/`fractional`. Unleash is on when any strategy matches, so a non-vip user costs it the
 * constraint check and the rollout, as it costs the others.
 */
export async function createUnleashFlags(port: number, from: number, to: number): Promise<void> {
  if (from === 0) await unleashAdmin(port, 'POST', '/api/admin/context', { name: 'tier', description: 'the user tier', legalValues: [], stickiness: false });
  for (let i = from; i < to; i++) {
    const name = flagKey(i);
    await unleashAdmin(port, 'POST', '/api/admin/projects/default/features', { name, type: 'release' });
    await unleashAdmin(port, 'POST', `/api/admin/projects/default/features/${name}/environments/development/strategies`, {
      name: 'default',
      parameters: {},
      constraints: [{ contextName: 'tier', operator: 'IN', values: ['vip'], caseInsensitive: false, inverted: false }],
    });
    await unleashAdmin(port, 'POST', `/api/admin/projects/default/features/${name}/environments/development/strategies`, {
      name: 'flexibleRollout',
      parameters: { rollout: '50', stickiness: 'userId', groupId: name },
      constraints: [],
    });
    await unleashAdmin(port, 'POST', `/api/admin/projects/default/features/${name}/environments/development/on`);
  }
}

/**
 * Waits until Unleash's frontend API serves all `count` flags: a vip user gets every flag on (the
 * constraint strategy), so the wait ends when one sees them all. The frontend API refreshes its
 * view of new flags on a timer; a share of ordinary users seeing about half of them came too early.
 */
export async function waitForUnleashFlags(port: number, count: number): Promise<void> {
  await waitFor(async () => (await unleashEnabled(port, 'probe-vip', 'vip')).size === count, `unleash to serve ${count} flags`, 60_000);
}

/** The flags Unleash's frontend API serves as enabled for a user (its answer to a bulk evaluation). */
export async function unleashEnabled(port: number, userId: string, tier: string): Promise<Set<string>> {
  const response = await fetch(`http://127.0.0.1:${port}/api/frontend?userId=${encodeURIComponent(userId)}&tier=${encodeURIComponent(tier)}`, { headers: { authorization: UNLEASH_FRONTEND } });
  if (response.status !== 200) throw new Error(`unleash frontend answered ${response.status}`);
  return new Set(((await response.json()) as { toggles: Array<{ name: string; enabled: boolean }> }).toggles.filter((t) => t.enabled).map((t) => t.name));
}
