import type { Server } from 'node:http';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { startApiServer, type ApiServer } from '../../src/main/api-server.js';
import { launchChromium } from '../e2e/browser.js';
import { serveStatic } from '../e2e/static-server.js';
import { startStack, uniqueKey, type Stack } from './harness.js';
import { createFlag, createToken, onForEveryone } from './serving-helpers.js';

// OpenFeature's official web provider (@openfeature/ofrep-web-provider 0.4, pinned in package.json)
// with its DEFAULT options, in headless Chromium: it polls no more, so it sees a kill only through
// the OFREP 0.3 event stream the bulk answer advertises.

const source = fileURLToPath(new URL('../clients/web/', import.meta.url));
const artifacts = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const appDir = join(artifacts, 'ofrep-web');

let stack: Stack;
/** The API process the page talks to: its own, so the test can stop and restart it on the same port. */
let api: ApiServer;
let clientToken: string;
let browser: Browser;
let web: Server;
let pageUrl: string;

const startPageApi = (port: number) => startApiServer({ ...stack.config, PORT: port }, createLogger('silent'));

beforeAll(async () => {
  mkdirSync(appDir, { recursive: true });
  stack = await startStack();
  api = await startPageApi(0);
  clientToken = await createToken(stack.db, 'client');
  await build({ entryPoints: [join(source, 'main.js')], bundle: true, format: 'esm', target: 'chrome120', outfile: join(appDir, 'main.js'), logLevel: 'warning' });
  copyFileSync(join(source, 'index.html'), join(appDir, 'index.html'));
  ({ server: web, url: pageUrl } = await serveStatic(appDir));
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => web?.close(resolve));
  await api?.close();
  await stack?.close();
});

const killFlag = (key: string) => stack.request('POST', `/api/v1/flags/${key}/environments/production/kill-switch`, { body: { reason: 'web provider test' } });

/**
 * Kills a flag and waits, at most `boundMs` from sending the kill, for the page to show it; returns
 * how long the page took. The figure (about 200–400 ms here) is recorded and printed; the bound is
 * generous on purpose — speed belongs in figures, and a 1 s bound failed a CI run on a loaded 2-core
 * machine. With default options the provider does not poll, so any arrival proves the stream.
 */
async function killAndSee(page: Page, id: string, key: string, boundMs: number): Promise<number> {
  const sentAt = Date.now();
  const killed = killFlag(key);
  await page.waitForSelector(`#${id}[data-value="false"]`, { timeout: boundMs });
  expect((await killed).status).toBe(201);
  return Number(await page.locator(`#${id}`).getAttribute('data-changed-at')) - sentAt;
}

describe('@openfeature/ofrep-web-provider with default options, in headless Chromium', () => {
  it('shows a kill without a reload (time recorded), and keeps working after the API process restarts', async () => {
    const keys = [uniqueKey('web-kill'), uniqueKey('web-while-down'), uniqueKey('web-after-return')] as const;
    for (const key of keys) await createFlag(stack, key, onForEveryone);
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') console.warn('page:', message.text());
    });
    let streamsOpened = 0;
    page.on('response', (response) => {
      if (response.url().includes('/ofrep/v1/event-stream') && response.status() === 200) streamsOpened += 1;
    });

    const query = new URLSearchParams({ api: api.url, token: clientToken, user: 'browser-user-1' });
    for (const key of keys) query.append('flag', key);
    await page.goto(`${pageUrl}?${query}`);
    await page.waitForSelector('#status:text("ready")');
    for (let i = 0; i < keys.length; i++) await page.waitForSelector(`#flag-${i}[data-value="true"]`);
    // A marker that a reload would wipe.
    await page.evaluate(() => Object.assign(globalThis, { sameDocument: true }));
    const sameDocument = () => page.evaluate(() => (globalThis as { sameDocument?: boolean }).sameDocument === true);
    await expect.poll(() => streamsOpened, { timeout: 5_000 }).toBeGreaterThan(0);

    const killMs = await killAndSee(page, 'flag-0', keys[0], 10_000);
    expect(await sameDocument()).toBe(true);

    // The stream drops: the API process stops (every connection cut), a flag is killed meanwhile
    // (through another process), and the API comes back on the same port. EventSource reconnects by
    // itself with Last-Event-ID and is told to re-fetch.
    const opened = streamsOpened;
    const port = api.port;
    await api.close();
    expect((await killFlag(keys[1])).status).toBe(201);
    api = await startPageApi(port);
    await page.waitForSelector('#flag-1[data-value="false"]', { timeout: 15_000 });
    await expect.poll(() => streamsOpened, { timeout: 15_000 }).toBeGreaterThan(opened);

    // And a change after the return arrives as before, in the same document.
    const afterReturnMs = await killAndSee(page, 'flag-2', keys[2], 10_000);
    expect(await sameDocument()).toBe(true);
    expect(errors).toEqual([]);
    await page.close();

    const figures = { killToPageMs: killMs, killToPageAfterRestartMs: afterReturnMs };
    writeFileSync(join(artifacts, 'ofrep-web-figures.json'), `${JSON.stringify(figures, null, 2)}\n`);
    console.info('OFREP web provider, kill → page:', figures);
  });
});
