import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Shared by the admin UI's browser tests: launching Chromium, pages that record errors, signing in, screenshots. */

export const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/ui/', import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}

/** A page that records console errors and uncaught exceptions, so the test can assert there were none. */
export async function openPage(browser: Browser, errors: string[], viewport = { width: 1280, height: 800 }, timezoneId?: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport, timezoneId });
  const page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`${page.url()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`${page.url()}: uncaught ${error.message}`));
  return { context, page };
}

export async function signIn(page: Page, url: string, token: string) {
  await page.goto(url);
  await page.getByLabel('Admin token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('role').waitFor();
}

export const shot = (page: Page, name: string) => page.screenshot({ path: `${ARTIFACTS}${name}.png`, fullPage: true });

/** Console errors other than the browser's note of a 400 answer, which these tests provoke on purpose. */
export const unexpected = (errors: string[]) => errors.filter((e) => !/status of 400/.test(e));

/** How far the page scrolls sideways (0 or less: it fits the viewport's width). */
export const sidewaysOverflow = (page: Page) => page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
