import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

/** axe-core's colour-contrast rule (WCAG 2 AA: 4.5:1 for text, 3:1 for large text), run on a page. */
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const RUN_CONTRAST = `axe.run(document, { runOnly: { type: 'rule', values: ['color-contrast'] }, resultTypes: ['violations'] })
  .then((result) => result.violations.flatMap((v) => v.nodes.map((n) => n.target.join(' ') + ': ' + (n.failureSummary || '').replace(/\\s+/g, ' '))))`;

/** Every text on the page whose contrast with its background is below WCAG AA, as "selector: what failed". */
export async function contrastViolations(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol: the UI's Content-Security-Policy forbids an injected <script>.
  if (!(await page.evaluate<boolean>("'axe' in window"))) await page.evaluate(AXE);
  return page.evaluate<string[]>(RUN_CONTRAST);
}

/** The computed background colour of the page (<html>). */
export const pageBackground = (page: Page) => page.evaluate<string>('getComputedStyle(document.documentElement).backgroundColor');
