import type { Server } from 'node:http';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReactApp } from '../e2e/react/build-app.js';
import { launchChromium } from '../e2e/browser.js';
import { serveStatic } from '../e2e/static-server.js';
import { startStack, uniqueKey, type Stack } from './harness.js';
import { createFlag, createToken, onForEveryone } from './serving-helpers.js';

const artifacts = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const appDir = join(artifacts, 'react-app');

let stack: Stack;
let clientToken: string;
let browser: Browser;
let web: Server;
let pageUrl: string;

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  stack = await startStack();
  clientToken = await createToken(stack.db, 'client');
  await buildReactApp(appDir);
  ({ server: web, url: pageUrl } = await serveStatic(appDir));
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => web?.close(resolve));
  await stack?.close();
});

function open(page: Page, params: Record<string, string>): Promise<unknown> {
  const query = new URLSearchParams({ api: stack.api.url, token: clientToken, ...params });
  return page.goto(`${pageUrl}?${query}`);
}

const flagText = (page: Page) => page.locator('#flag').getAttribute('data-value');

describe('React SDK in a Vite-built page, in headless Chromium', () => {
  it('renders the flag and its variant, and shows the off value and variant after a kill without a reload', async () => {
    const key = uniqueKey('react-nav');
    const theme = uniqueKey('react-theme');
    await createFlag(stack, key, {
      ...onForEveryone, on_variant: 'new-nav', off_variant: 'classic',
      variants: [{ name: 'new-nav', value: true }, { name: 'classic', value: false }],
    });
    await createFlag(stack, theme, { enabled: true, value: 'dark', off_value: 'light' }, { type: 'string' });
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await open(page, { flag: key, theme, user: 'browser-user-1' });

    await page.waitForSelector('#flag[data-value="true"]');
    await page.waitForSelector('#status:text("ready")');
    expect(await page.locator('#theme').textContent()).toBe('dark');
    expect(await page.locator('#reason').textContent()).toBe('SPLIT');
    // The variant's name, from useFlagDetails and from useVariant.
    expect(await page.locator('#variant').textContent()).toBe('new-nav');
    expect(await page.locator('#use-variant').textContent()).toBe('new-nav');
    await page.screenshot({ path: join(artifacts, 'react-sdk-on.png') });
    // A marker that a reload would wipe.
    await page.evaluate(() => Object.assign(globalThis, { ripcordMarker: 'same-document' }));

    const kill = await stack.request('POST', `/api/v1/flags/${key}/environments/production/kill-switch`, { body: { reason: 'react test' } });
    expect(kill.status).toBe(201);
    await page.waitForSelector('#flag[data-value="false"]', { timeout: 10_000 });
    expect(await page.locator('#reason').textContent()).toBe('DISABLED');
    expect(await page.locator('#use-variant').textContent()).toBe('classic');
    expect(await page.evaluate(() => (globalThis as { ripcordMarker?: string }).ripcordMarker)).toBe('same-document');
    await page.screenshot({ path: join(artifacts, 'react-sdk-killed.png') });
    expect(errors).toEqual([]);

    // The next visit's first render comes from localStorage, before the API answers.
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    await page.route('**/ofrep/v1/evaluate/flags', async (route) => {
      await held;
      await route.continue();
    });
    await page.reload();
    await page.waitForSelector('#status:text("cached")');
    expect(await flagText(page)).toBe('false');
    expect(await page.locator('#theme').textContent()).toBe('dark');
    release();
    await page.waitForSelector('#status:text("ready")');
    await page.close();
  });

  it('gives an anonymous visitor a stable targeting key kept in localStorage', async () => {
    const key = uniqueKey('react-anon');
    await createFlag(stack, key, onForEveryone);
    const context = await browser.newContext();
    const page = await context.newPage();
    await open(page, { flag: key });
    await page.waitForSelector('#flag[data-value="true"]');
    const anonymous = await page.evaluate(() => (globalThis as unknown as { localStorage: { getItem(k: string): string | null } }).localStorage.getItem('ripcord:anonymous-key'));
    expect(anonymous).toMatch(/^anon-/);
    await page.reload();
    await page.waitForSelector('#flag[data-value="true"]');
    expect(await page.evaluate(() => (globalThis as unknown as { localStorage: { getItem(k: string): string | null } }).localStorage.getItem('ripcord:anonymous-key'))).toBe(anonymous);
    await context.close();
  });
});
