import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer, root, run, startChild, stopChild, type Child } from './build-helpers.js';
import { eventually, uniqueKey } from './harness.js';
import { scratchDatabase } from './scratch-db.js';

/**
 * The production path: `npm run build`, then only production dependencies (`npm ci --omit=dev`,
 * offline from the npm cache) and plain `node` on the build: migrate, seed, API, worker, a rollout.
 */
const ADMIN = 'production-build-admin-token';
const scratch = scratchDatabase('ripcord_prod_build_test');
/** Stands in for webpack: loading it is harmless, using any part of it fails the worker loudly. */
const WEBPACK_STUB = `module.exports = new Proxy({}, { get(_, name) { if (typeof name === 'string') throw new Error('webpack used at run time: ' + name); } });`;
const DEV_ONLY = ['tsx', 'vite', 'typescript', 'vitest', 'tsup', 'esbuild', 'eslint', 'playwright-core', '@temporalio/testing'];

let app: string;
let databaseUrl: string;
let migrationDatabaseUrl: string;
let api: Child | undefined;
let worker: Child | undefined;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}


beforeAll(async () => {
  await buildServer();
  app = mkdtempSync(join(tmpdir(), 'ripcord-prod-'));
  cpSync(join(root, 'dist'), join(app, 'dist'), { recursive: true });
  for (const file of ['package.json', 'package-lock.json', 'packages/node/package.json', 'packages/react/package.json']) {
    mkdirSync(join(app, file, '..'), { recursive: true });
    cpSync(join(root, file), join(app, file));
  }
  await run('npm', ['ci', '--omit=dev', '--offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: app });
  // @temporalio/worker depends on @swc/core and swc-loader for bundling at start-up; the build
  // bundles ahead of time, so a production image may drop them: the worker below runs without them.
  for (const unused of ['@swc', 'swc-loader']) rmSync(join(app, 'node_modules', unused), { recursive: true, force: true });
  // @temporalio/worker also `require`s webpack when it loads, even with a prebuilt bundle, so npm
  // cannot leave it out. Replace it with a stub that throws on any use: webpack's code is absent
  // and the worker below proves it never needs it.
  rmSync(join(app, 'node_modules/webpack'), { recursive: true, force: true });
  mkdirSync(join(app, 'node_modules/webpack'));
  writeFileSync(join(app, 'node_modules/webpack/package.json'), JSON.stringify({ name: 'webpack', version: '0.0.0-absent', main: 'index.js' }));
  writeFileSync(join(app, 'node_modules/webpack/index.js'), WEBPACK_STUB);

  await scratch.create();
  databaseUrl = scratch.appUrl;
  migrationDatabaseUrl = scratch.ownerUrl;
}, 300_000);

afterAll(async () => {
  await stopChild(api);
  await stopChild(worker);
  if (databaseUrl) await scratch.drop();
  if (app) rmSync(app, { recursive: true, force: true });
});

describe('the production build', () => {
  it('installs without dev dependencies', () => {
    expect(existsSync(join(app, 'node_modules/@temporalio/worker'))).toBe(true);
    expect(DEV_ONLY.filter((name) => existsSync(join(app, 'node_modules', name)))).toEqual([]);
    expect(JSON.parse(readFileSync(join(app, 'node_modules/webpack/package.json'), 'utf8')).version).toBe('0.0.0-absent');
  });

  it('runs migrate, seed, the API and the worker with plain node: serves OFREP and completes a rollout', async () => {
    const cli = join(app, 'dist/src/main/cli.js');
    const port = await freePort();
    const env = {
      PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production',
      // Two roles, as in production: migrate as the owner, run as the application role.
      DATABASE_URL: databaseUrl, MIGRATION_DATABASE_URL: migrationDatabaseUrl, REDIS_URL: process.env.REDIS_URL, TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS,
      TEMPORAL_TASK_QUEUE: uniqueKey('prod-build'), RIPCORD_ADMIN_TOKEN: ADMIN, PORT: String(port), LOG_LEVEL: 'info',
    };
    await expect(run(process.execPath, [cli, 'nonsense'], { cwd: app, env })).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('unknown command "nonsense"') });
    expect((await run(process.execPath, [cli, 'migrate'], { cwd: app, env })).stdout).toContain('migrations: up to date');
    expect((await run(process.execPath, [cli, 'seed'], { cwd: app, env })).stdout).toContain('seeded flag checkout-v2');

    api = startChild(process.execPath, [cli, 'api'], { cwd: app, env });
    worker = startChild(process.execPath, [cli, 'worker'], { cwd: app, env });
    const base = `http://127.0.0.1:${port}`;
    await eventually(async () => (await fetch(`${base}/readyz`)).status === 200, `the API to be ready:\n${api.output()}`, 60_000);
    await eventually(async () => worker!.output().includes('"workflows":"prebuilt bundle"'), `the worker to run the prebuilt bundle:\n${worker.output()}`, 60_000);

    const call = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${base}${path}`, {
        method, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
      });
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the API's JSON, asserted below
      return { status: response.status, body: (await response.json()) as any };
    };
    const key = uniqueKey('prod');
    expect((await call('POST', '/api/v1/flags', { key, name: key, type: 'boolean' })).status).toBe(201);
    const put = await call('PUT', `/api/v1/flags/${key}/environments/production`, { enabled: true, value: true, off_value: false, rollout: { percentage: 0, strategy: 'gradual' } });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const before = await call('POST', `/ofrep/v1/evaluate/flags/${key}`, { context: { targetingKey: 'user-1' } });
    expect(before).toMatchObject({ status: 200, body: { key, value: false } });

    const plan = { strategy: 'gradual', steps: [{ percentage: 50, hold: '1 second' }, { percentage: 100 }] };
    expect((await call('POST', `/api/v1/flags/${key}/environments/production/rollouts`, { plan })).status).toBe(201);
    const done = await eventually(async () => {
      const list = await call('GET', `/api/v1/flags/${key}/environments/production/rollouts`);
      return list.body.rollouts[0]?.status === 'completed' ? list.body.rollouts[0] : undefined;
    }, 'the rollout to complete', 60_000);
    expect(done.progress.history.map((h: { percentage: number }) => h.percentage)).toEqual([50, 100]);
    expect(await call('POST', `/ofrep/v1/evaluate/flags/${key}`, { context: { targetingKey: 'user-1' } })).toMatchObject({ status: 200, body: { value: true } });
    expect(api.process.exitCode).toBeNull();
    expect(worker.process.exitCode).toBeNull();
  }, 180_000);
});
