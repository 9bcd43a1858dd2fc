import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { expect } from 'vitest';
import { uniqueKey, type Stack } from '../integration/harness.js';
import { openPage, shot, sidewaysOverflow, signIn } from './browser.js';

/**
 * What the journey tests share: a person with a name of their own, a page at a viewport that counts the
 * clicks a person makes (a click is 1, picking from a drop-down 2: open it, choose), and the main menu,
 * which at phone width sits behind its Menu button.
 */

export const VIEWPORTS = [{ width: 1280, height: 800 }, { width: 390, height: 844 }] as const;
export type Viewport = (typeof VIEWPORTS)[number];

export interface Person { id: string; name: string; token: string; tokenId: string }

/** A user with this role and name, and an admin token acting as them. */
export async function person(stack: Stack, role: string, name: string, grants: unknown[] = []): Promise<Person> {
  const user = await stack.request('POST', '/api/v1/users', { body: { email: `${uniqueKey(role)}@example.com`.toLowerCase(), name, role, grants } });
  expect(user.status, JSON.stringify(user.body)).toBe(201);
  const token = await stack.request('POST', '/api/v1/tokens', { body: { name: `${name}'s laptop`, kind: 'admin', user_id: user.body.id } });
  expect(token.status, JSON.stringify(token.body)).toBe(201);
  return { id: user.body.id, name, token: token.body.token, tokenId: token.body.id };
}

export interface Walk {
  context: BrowserContext;
  page: Page;
  /** Clicks made so far. */
  readonly clicks: number;
  click(target: Locator): Promise<void>;
  choose(select: Locator, value: string): Promise<void>;
  /** Opens a page of the main menu (through the Menu button when the menu is folded). */
  menu(label: string): Promise<void>;
  /** Something the person looks at on the side (not part of the journey's path): its clicks are not counted. */
  aside(steps: () => Promise<void>): Promise<void>;
  /** Asserts the page fits the viewport's width and keeps a screenshot named for the journey and viewport. */
  look(name: string): Promise<void>;
}

export async function walk(browser: Browser, viewport: Viewport, errors: string[], url: string, token: string): Promise<Walk> {
  const { context, page } = await openPage(browser, errors, { ...viewport });
  let clicks = 0;
  const w: Walk = {
    context, page,
    get clicks() { return clicks; },
    async click(target) {
      clicks++;
      await target.click();
    },
    async choose(select, value) {
      clicks += 2;
      await select.selectOption(value);
    },
    async menu(label) {
      const toggle = page.getByRole('button', { name: 'Menu' });
      if (await toggle.isVisible()) await w.click(toggle);
      // A link's name may go on after the label ("Change requests 1 waiting for your decision").
      await w.click(page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: new RegExp(`^${label}\\b`) }));
    },
    async aside(steps) {
      const before = clicks;
      await steps();
      clicks = before;
    },
    async look(name) {
      expect(await sidewaysOverflow(page), `${name} at ${viewport.width} px scrolls sideways`).toBeLessThanOrEqual(0);
      await shot(page, `journey-${name}-${viewport.width}`);
    },
  };
  await signIn(page, url, token);
  clicks = 1; // the Sign in button
  return w;
}
