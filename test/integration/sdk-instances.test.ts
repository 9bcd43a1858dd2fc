/**
 * SDK instances report what they hold and are counted: a real Node SDK process (local mode, the
 * package's source as an application imports it) and the React SDK in headless Chromium report to
 * the API; GET /api/v1/instances lists them; a kill is confirmed on them, an instance that never
 * applies it is named as a laggard, and one whose process dies leaves the count after the expiry.
 * The stack has a Redis prefix of its own, so the replicas and instances of other test files running
 * at the same time are not counted here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Server } from 'node:http';
import { copyFileSync, mkdirSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { build } from 'esbuild';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReactApp } from '../e2e/react/build-app.js';
import { launchChromium } from '../e2e/browser.js';
import { serveStatic } from '../e2e/static-server.js';
import { readInstanceConfirmation } from '../../src/serving/instance-confirmation.js';
import { describeConfirmation, type Confirmation } from '../../src/domain/confirmation.js';
import { eventually, startedWorkflow, startStack, uniqueKey, type Stack } from './harness.js';
import { createFlag, createToken, onForEveryone, putConfig } from './serving-helpers.js';
import { createClient } from '../../packages/node/src/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const artifacts = join(root, 'test-artifacts');
const appDir = join(artifacts, 'react-app-instances');
const ofrepDir = join(artifacts, 'ofrep-web-instances');
const HEARTBEAT_SECONDS = 0.5;

let stack: Stack;
let redis: Redis;
let serverToken: string;
let clientToken: string;
let browser: Browser;
let web: Server;
let pageUrl: string;
let ofrepWeb: Server;
let ofrepPageUrl: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  stack = await startStack({ INSTANCE_HEARTBEAT_SECONDS: String(HEARTBEAT_SECONDS), REDIS_PREFIX: `instances-${randomBytes(4).toString('hex')}`, FLAGD_SYNC_PORT: '0' });
  redis = new Redis(stack.config.REDIS_URL);
  serverToken = await createToken(stack.db, 'server');
  clientToken = await createToken(stack.db, 'client');
  await buildReactApp(appDir);
  ({ server: web, url: pageUrl } = await serveStatic(appDir));
  // OpenFeature's official OFREP web provider (test/clients/web), as openfeature-web.test.ts builds it.
  mkdirSync(ofrepDir, { recursive: true });
  const ofrepSource = join(root, 'test/clients/web');
  await build({ entryPoints: [join(ofrepSource, 'main.js')], bundle: true, format: 'esm', target: 'chrome120', outfile: join(ofrepDir, 'main.js'), logLevel: 'warning' });
  copyFileSync(join(ofrepSource, 'index.html'), join(ofrepDir, 'index.html'));
  ({ server: ofrepWeb, url: ofrepPageUrl } = await serveStatic(ofrepDir));
  browser = await launchChromium();
}, 120_000);
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await browser?.close();
  await new Promise((resolve) => web?.close(resolve));
  await new Promise((resolve) => ofrepWeb?.close(resolve));
  redis?.disconnect();
  await stack?.close();
});

interface FleetLine { type: 'ready' | 'applied'; ids?: string[]; version?: number }

/** A process of `count` Node SDK clients; resolves with their instance ids once all are ready. */
async function startNodeFleet(appName: string, count = 1): Promise<{ child: ChildProcess; ids: string[]; lines: FleetLine[] }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/clients/node/sdk-fleet.ts'], {
    cwd: root, env: { ...process.env, RIPCORD_URL: stack.api.url, RIPCORD_TOKEN: serverToken, INSTANCES: String(count), APP_NAME: appName },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const lines: FleetLine[] = [];
  const ready = new Promise<string[]>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the SDK process exited (${code}) before it was ready`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const parsed = JSON.parse(line) as FleetLine;
      lines.push(parsed);
      if (parsed.type === 'ready') resolve(parsed.ids!);
    });
  });
  return { child, ids: await ready, lines };
}

async function openBrowser(appName: string, flag: string): Promise<Page> {
  const page = await browser.newPage();
  const query = new URLSearchParams({ api: stack.api.url, token: clientToken, flag, app: appName, user: 'someone' });
  await page.goto(`${pageUrl}?${query}`);
  await page.waitForSelector('#status:text("ready")');
  return page;
}

interface Listed { id: string; kind: string; app: string | null; app_version: string | null; host: string | null; sdk_version: string | null; version: number; versions_behind: number; lag_ms: number; counted_as: string; connected_since: string; last_seen: string }

async function fleet(): Promise<{ instances: Listed[]; total: number; replicas: { answered: number; asked: number } }> {
  const listed = await stack.request('GET', '/api/v1/instances?environment=production');
  expect(listed.status).toBe(200);
  return listed.body;
}

const environmentVersion = () => stack.api.snapshot.version('production');

describe('SDK instances', () => {
  it('a Node SDK process and a browser report the version they hold; the API lists them with app, host and SDK version', async () => {
    const key = uniqueKey('instances-list');
    await createFlag(stack, key, onForEveryone);
    const node = await startNodeFleet('checkout-api');
    const page = await openBrowser('storefront', key);

    const listed = await eventually(async () => {
      const current = environmentVersion();
      const { instances } = await fleet();
      const nodeInstance = instances.find((i) => i.id === node.ids[0] && i.version >= current);
      const browserInstance = instances.find((i) => i.app === 'storefront' && i.version >= current);
      return nodeInstance && browserInstance ? { nodeInstance, browserInstance } : undefined;
    }, 'both instances to report the current version');
    expect(listed.nodeInstance).toMatchObject({
      kind: 'node-local', app: 'checkout-api', app_version: '1.0.0', sdk_version: '0.1.0', versions_behind: 0, lag_ms: 0, counted_as: 'confirmed',
    });
    expect(listed.nodeInstance.host).toEqual(expect.any(String));
    expect(Date.parse(listed.nodeInstance.connected_since)).toBeLessThanOrEqual(Date.parse(listed.nodeInstance.last_seen));
    // The browser says the page's host, never anything about its user.
    expect(listed.browserInstance).toMatchObject({ kind: 'browser', app_version: '2.0.0', host: new URL(pageUrl).host, counted_as: 'confirmed' });
    expect(JSON.stringify(listed.browserInstance)).not.toContain('someone');
    expect((await fleet()).replicas).toEqual({ answered: 1, asked: 1 });
    await page.close();
    node.child.kill('SIGTERM');
  });

  it('counts a kill on a Node SDK process and a browser, names a laggard, and drops a vanished process after the expiry', async () => {
    const key = uniqueKey('instances-kill');
    await createFlag(stack, key, onForEveryone);
    const node = await startNodeFleet('payments-worker', 3);
    const page = await openBrowser('shop-frontend', key);
    // An instance that reported once and then never applies anything (its heartbeat still comes).
    const stuck = { id: `stuck-${randomBytes(6).toString('hex')}`, kind: 'node-local', app: 'stuck-cron', host: 'cron-1', version: 1 };
    const report = () => stack.request('POST', '/api/v1/instances/report', { token: serverToken, body: stuck });
    expect((await report()).status).toBe(200);
    const beat = setInterval(() => void report(), HEARTBEAT_SECONDS * 500);
    try {
      // Current, and alone: the first case's instances have left (its page closed without a word).
      await eventually(async () => {
        const { instances, total } = await fleet();
        return total === 5 && instances.filter((i) => i.app !== 'stuck-cron' && i.version >= environmentVersion()).length === 4;
      }, 'the four instances to be current and the others gone');

      const killedAt = Date.now();
      const killed = await stack.request('POST', `/api/v1/flags/${key}/environments/production/kill-switch`, { body: { reason: 'instances test' } });
      expect(killed.status).toBe(201);
      const version: number = killed.body.version;
      await page.waitForSelector('#flag[data-value="false"]', { timeout: 10_000 });

      const confirmation = await eventually(async () => {
        const c = await readInstanceConfirmation(redis, { environment: 'production', version, sinceMs: killedAt }, stack.config.REDIS_PREFIX);
        return c.confirmed === 4 ? c : undefined;
      }, 'the kill to be confirmed on the three Node SDK instances and the browser');
      expect(confirmation).toMatchObject({ confirmed: 4, delivered: 0, total: 5 });
      expect(confirmation.laggards).toEqual([{ id: stuck.id, kind: 'node-local', app: 'stuck-cron', host: 'cron-1', version: 1 }]);
      expect(confirmation.elapsed_ms).toBeGreaterThanOrEqual(0);
      expect(confirmation.elapsed_ms).toBeLessThan(10_000);
      // Each Node SDK instance reported the kill's version after applying it.
      await eventually(async () => node.ids.every((id) => node.lines.some((line) => line.type === 'applied' && line.ids!.includes(id) && line.version! >= version)), 'each Node SDK client to print that it applied the kill', 5_000);
      // The kill's confirmation (GET …/kill-switch) and its workflow's result count them and name the laggard.
      const state = await stack.request('GET', `/api/v1/flags/${key}/environments/production/kill-switch`);
      expect(state.status).toBe(200);
      expect(state.body.confirmation).toMatchObject({ confirmed_replicas: 1, total_replicas: 1, sdk_instances: { confirmed: 4, delivered: 0, total: 5, laggards: [{ id: stuck.id }] } });
      const result = await (await startedWorkflow(stack.temporal, killed.body.workflow.id)).result() as { convergence: Confirmation };
      expect(result.convergence).toMatchObject({ converged: true, confirmedReplicas: 1, sdk_instances: { confirmed: 4, total: 5, laggards: [{ id: stuck.id, app: 'stuck-cron' }] } });
      expect(describeConfirmation(result.convergence)).toMatch(/^confirmed on 1\/1 replicas in \d+ ms; 4\/5 SDK instances; 1 behind: stuck-cron@cron-1 \(v1\)$/);
      const { instances } = await fleet();
      expect(instances[0]).toMatchObject({ id: stuck.id, versions_behind: environmentVersion() - 1 });
      expect(instances[0]!.lag_ms).toBeGreaterThan(0);

      // The Node process dies without a word: its instances leave the count after three heartbeats.
      node.child.kill('SIGKILL');
      const diedAt = Date.now();
      await eventually(async () => {
        const c = await readInstanceConfirmation(redis, { environment: 'production', version, sinceMs: killedAt }, stack.config.REDIS_PREFIX);
        return c.total === 2 && c.confirmed === 1;
      }, 'the vanished process to leave the count', 10_000);
      expect(Date.now() - diedAt).toBeGreaterThanOrEqual(HEARTBEAT_SECONDS * 1000);
      expect((await fleet()).instances.some((i) => node.ids.includes(i.id))).toBe(false);
    } finally {
      clearInterval(beat);
      await page.close();
    }
  });

  it('counts OpenFeature\'s OFREP web provider by its re-fetch with flagConfigEtag, and a flagd sync stream as delivered', async () => {
    const key = uniqueKey('instances-ofrep');
    await createFlag(stack, key, onForEveryone);
    await eventually(async () => (await fleet()).total === 0, 'the earlier cases\' instances to leave');
    const page = await browser.newPage();
    await page.goto(`${ofrepPageUrl}?${new URLSearchParams({ api: stack.api.url, token: clientToken, flag: key })}`);
    await page.waitForSelector('#flag-0[data-value="true"]');
    const loaded = grpc.loadPackageDefinition(protoLoader.loadSync(join(root, 'src/flagd/proto/flagd/sync/v1/sync.proto'), { keepCase: true })) as unknown as {
      flagd: { sync: { v1: { FlagSyncService: new (address: string, credentials: grpc.ChannelCredentials) => grpc.Client & { syncFlags(request: object, metadata: grpc.Metadata): grpc.ClientReadableStream<{ flag_configuration: string }> } } } };
    };
    const client = new loaded.flagd.sync.v1.FlagSyncService(`127.0.0.1:${stack.api.flagdSyncPort}`, grpc.credentials.createInsecure());
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${serverToken}`);
    const documents: string[] = [];
    const sync = client.syncFlags({}, metadata);
    sync.on('data', (message: { flag_configuration: string }) => documents.push(message.flag_configuration));
    sync.on('error', () => undefined);
    try {
      const listed = await eventually(async () => {
        const { instances } = await fleet();
        return instances.some((i) => i.kind === 'ofrep-stream') && instances.some((i) => i.kind === 'flagd-sync') ? instances : undefined;
      }, 'the OFREP stream and the flagd sync stream to be listed');
      expect(listed.find((i) => i.kind === 'flagd-sync')).toMatchObject({ counted_as: 'delivered', app: null, host: null });
      expect(listed.find((i) => i.kind === 'ofrep-stream')).toMatchObject({ counted_as: 'confirmed' });

      const killedAt = Date.now();
      const killed = await stack.request('POST', `/api/v1/flags/${key}/environments/production/kill-switch`, { body: { reason: 'ofrep instances' } });
      expect(killed.status).toBe(201);
      await page.waitForSelector('#flag-0[data-value="false"]', { timeout: 10_000 });
      const confirmation = await eventually(async () => {
        const c = await readInstanceConfirmation(redis, { environment: 'production', version: killed.body.version, sinceMs: killedAt }, stack.config.REDIS_PREFIX);
        return c.confirmed === 1 && c.delivered === 1 ? c : undefined;
      }, 'the provider\'s re-fetch to confirm the kill and the flagd stream to have it delivered');
      expect(confirmation).toMatchObject({ total: 2, laggards: [] });
      const result = await (await startedWorkflow(stack.temporal, killed.body.workflow.id)).result() as { convergence: Confirmation };
      expect(describeConfirmation(result.convergence)).toMatch(/^confirmed on 1\/1 replicas and 2\/2 SDK instances \(1 flagd sync stream delivered, not confirmed: flagd does not acknowledge\) in \d+ ms$/);
      expect(documents.some((document) => document.includes(key))).toBe(true);
      // A release is counted the same way.
      const restored = await stack.request('DELETE', `/api/v1/flags/${key}/environments/production/kill-switch`);
      expect(restored.status).toBe(200);
      const released = await stack.temporal.workflow.getHandle(restored.body.workflow.id).result() as { convergence: Confirmation };
      expect(released.convergence.sdk_instances).toMatchObject({ confirmed: 1, delivered: 1, total: 2, laggards: [] });
    } finally {
      sync.cancel();
      client.close();
      await page.close();
    }
    // Streams leave the count when they close, without waiting for an expiry.
    await eventually(async () => (await fleet()).instances.every((i) => i.kind !== 'flagd-sync' && i.kind !== 'ofrep-stream'), 'the closed streams to leave', 5_000);
  });

  it('a Node SDK applies a kill and a restore from the stream event and reports at once, without a re-fetch; a missed version or a rule change makes it re-fetch', async () => {
    const key = uniqueKey('instances-event');
    await createFlag(stack, key, onForEveryone);
    const fetched: number[] = [];
    const reported: number[] = [];
    const streamed: string[] = [];
    let dropNext = false;
    // The SDK's own fetch, watched: definitions fetches and reports are counted, the stream's text kept,
    // and one flag event can be lost on the way (as one a replica skipped).
    const watched: typeof fetch = async (input, init) => {
      const url = String(input);
      if (url.endsWith('/api/v1/definitions')) fetched.push(Date.now());
      if (url.endsWith('/api/v1/instances/report')) reported.push((JSON.parse(String(init?.body)) as { version: number }).version);
      const response = await fetch(input, init);
      if (!url.endsWith('/api/v1/stream') || !response.body) return response;
      const decoder = new TextDecoder();
      const encoder = new TextEncoder();
      let buffer = '';
      const body = response.body.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          buffer += decoder.decode(chunk, { stream: true });
          const blocks = buffer.split('\n\n');
          buffer = blocks.pop()!;
          for (const block of blocks) {
            streamed.push(block);
            if (dropNext && block.includes(`"key":"${key}"`)) {
              dropNext = false;
              continue;
            }
            controller.enqueue(encoder.encode(`${block}\n\n`));
          }
        },
      }));
      return new Response(body, { status: response.status, headers: response.headers });
    };
    const client = createClient({ url: stack.api.url, token: serverToken, mode: 'local', appName: 'event-applier', pollIntervalMs: 600_000, fetch: watched });
    try {
      await client.ready();
      await eventually(async () => client.status().streamConnected && reported.some((v) => v >= environmentVersion()), 'connected and reported');
      const held = (await stack.request('GET', `/api/v1/flags/${key}/environments/production`)).body.version as number;
      const fetchesBefore = fetched.length;

      const killed = await stack.request('POST', `/api/v1/flags/${key}/environments/production/kill-switch`, { body: { reason: 'event applied' } });
      expect(killed.status).toBe(201);
      await eventually(async () => reported.includes(killed.body.version), 'the kill\'s version reported');
      expect(client.boolean(key, true, { targetingKey: 'u' })).toBe(false);
      expect(client.status().version).toBe(killed.body.version);
      // The event said what the kill was a change from; the SDK applied it and fetched nothing.
      const killEvent = streamed.find((block) => block.includes('event: flag.killed') && block.includes(`"key":"${key}"`))!;
      expect(JSON.parse(killEvent.split('data: ')[1]!)).toMatchObject({ version: killed.body.version, kill_switch: true, from_version: held });
      const restored = await stack.request('DELETE', `/api/v1/flags/${key}/environments/production/kill-switch`);
      expect(restored.status).toBe(200);
      await eventually(async () => reported.includes(restored.body.version), 'the restore\'s version reported');
      expect(client.boolean(key, false, { targetingKey: 'u' })).toBe(true);
      expect(fetched.length).toBe(fetchesBefore);

      // A lost event: the next one is not the environment's next version, so the SDK re-fetches.
      dropNext = true;
      const killedAgain = await stack.request('POST', `/api/v1/flags/${key}/environments/production/kill-switch`, { body: { reason: 'event lost' } });
      expect(killedAgain.status).toBe(201);
      await eventually(async () => !dropNext, 'the kill event to be dropped');
      expect(client.boolean(key, true, { targetingKey: 'u' })).toBe(true);
      const restoredAgain = await stack.request('DELETE', `/api/v1/flags/${key}/environments/production/kill-switch`);
      expect(restoredAgain.status).toBe(200);
      await eventually(async () => fetched.length > fetchesBefore && reported.includes(restoredAgain.body.version), 'a re-fetch and the restore reported');
      expect(client.boolean(key, false, { targetingKey: 'u' })).toBe(true);

      // A change of more than the switches (a new value) is never applied from the event: re-fetched.
      const fetchesBeforeUpdate = fetched.length;
      const updated = await putConfig(stack, key, { ...onForEveryone, value: false, off_value: true });
      await eventually(async () => reported.includes(updated), 'the update reported');
      expect(fetched.length).toBeGreaterThan(fetchesBeforeUpdate);
      expect(client.boolean(key, true, { targetingKey: 'u' })).toBe(false);
    } finally {
      await client.close();
    }
  });

  it('refuses reports with bad fields (400 naming them) and another environment than the token\'s (403)', async () => {
    const bad = await stack.request('POST', '/api/v1/instances/report', { token: serverToken, body: { id: 'x', kind: 'mainframe', version: -1 } });
    expect(bad.status).toBe(400);
    const paths = bad.body.error.details.map((d: { path: string }) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['body.id', 'body.kind', 'body.version']));
    const elsewhere = await stack.request('POST', '/api/v1/instances/report', { token: clientToken, body: { id: 'abcdefgh', kind: 'browser', version: 1, environment: 'staging' } });
    expect(elsewhere.status).toBe(403);
    const listedByToken = await stack.request('GET', '/api/v1/instances?environment=production', { token: serverToken });
    expect(listedByToken.status).toBe(403);
    expect((await stack.request('GET', '/api/v1/instances?environment=Not%20An%20Env')).status).toBe(400);
  });

  it('counts each report of a batch as if it came alone, names the refused ones, and refuses a bad batch naming the field', async () => {
    const held = environmentVersion();
    const [counted, otherEnvironment] = [`batch-${randomBytes(6).toString('hex')}`, `batch-${randomBytes(6).toString('hex')}`];
    const batch = await stack.request('POST', '/api/v1/instances/report', {
      token: serverToken,
      body: { reports: [
        { id: counted, kind: 'node-local', version: held, app: 'batched-app', host: 'batch-host' },
        { id: otherEnvironment, kind: 'node-local', version: held, environment: 'staging' },
      ] },
    });
    expect(batch.status).toBe(200);
    expect(batch.body.refused).toEqual([{ id: otherEnvironment, status: 403, error: { code: 'FORBIDDEN', message: expect.stringMatching(/not 'staging'/) } }]);
    const listed = (await fleet()).instances;
    expect(listed.find((i) => i.id === counted)).toMatchObject({ app: 'batched-app', host: 'batch-host', version: held, counted_as: 'confirmed' });
    expect(listed.some((i) => i.id === otherEnvironment)).toBe(false);
    const closed = await stack.request('POST', '/api/v1/instances/report', { token: serverToken, body: { reports: [{ id: counted, kind: 'node-local', version: held, closing: true }] } });
    expect(closed.status).toBe(200);
    expect((await fleet()).instances.some((i) => i.id === counted)).toBe(false);

    const bad = await stack.request('POST', '/api/v1/instances/report', { token: serverToken, body: { reports: [{ id: counted, kind: 'node-local', version: 1 }, { id: counted, kind: 'node-local', version: -1 }] } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.map((d: { path: string }) => d.path)).toEqual(['body.reports.1.version']);
    const tooMany = Array.from({ length: 101 }, (_, i) => ({ id: `too-many-${i}`, kind: 'node-local', version: 1 }));
    const refusedWhole = await stack.request('POST', '/api/v1/instances/report', { token: serverToken, body: { reports: tooMany } });
    expect(refusedWhole.status).toBe(400);
    expect(refusedWhole.body.error.details.map((d: { path: string }) => d.path)).toEqual(['body.reports']);
    expect((await stack.request('POST', '/api/v1/instances/report', { token: serverToken, body: { reports: [] } })).status).toBe(400);
  });
});
