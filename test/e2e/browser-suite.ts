import { mkdirSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { startStack, type Stack } from '../integration/harness.js';
import { ARTIFACTS, launchChromium } from './browser.js';

/**
 * A describe block's stack and Chromium, started before its tests and closed after them (the set-up
 * every admin UI browser test shares). Read `suite.stack` and `suite.browser` inside tests and hooks.
 */
export function browserSuite(...stackArgs: Parameters<typeof startStack>): { readonly stack: Stack; readonly browser: Browser } {
  const suite = {} as { stack: Stack; browser: Browser };
  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    suite.stack = await startStack(...stackArgs);
    suite.browser = await launchChromium();
  });
  afterAll(async () => {
    await suite.browser?.close();
    await suite.stack?.close();
  });
  return suite;
}
