import { describe, expect, it, onTestFailed } from 'vitest';
import { ADMIN_TOKEN, uniqueKey } from '../integration/harness.js';
import { openPage, shot, sidewaysOverflow, signIn, unexpected } from './browser.js';
import { browserSuite } from './browser-suite.js';

/**
 * Flag lifecycle in the admin UI, in headless Chromium: the "Ready to remove" page
 * lists launched and stale flags with their last evaluations, served value and code references; the
 * badge follows a flag to the dashboard and its page. One page load (the sign-in), then in-app navigation.
 */
describe('admin UI: flag lifecycle', () => {
  const suite = browserSuite({}, { worker: false });

  /** A flag serving `enabled` everywhere, unchanged (and created) `days` ago. */
  async function flagUnchangedFor(prefix: string, enabled: boolean, days: number): Promise<string> {
    const key = uniqueKey(prefix);
    expect((await suite.stack.request('POST', '/api/v1/flags', { body: { key, name: key, type: 'boolean', tags: ['e2e'] } })).status).toBe(201);
    for (const env of ['development', 'staging', 'production']) {
      expect((await suite.stack.request('PUT', `/api/v1/flags/${key}/environments/${env}`, { body: { enabled, value: true, off_value: false } })).status).toBe(200);
    }
    await suite.stack.ownerDb.query(`UPDATE flags SET created_at = now() - make_interval(days => $2) WHERE key = $1`, [key, days]);
    await suite.stack.ownerDb.query(`UPDATE flag_configs SET updated_at = now() - make_interval(days => $2) WHERE flag_id = (SELECT id FROM flags WHERE key = $1)`, [key, days]);
    return key;
  }

  it('lists launched and stale flags with evaluations, value and references; the badge shows on the dashboard and the flag page', async () => {
    const stale = await flagUnchangedFor('e2e-stale', false, 45);
    const launched = await flagUnchangedFor('e2e-launched', true, 10);
    // In use in production (recorded as the replicas' flush records it), referenced from two files.
    await suite.stack.ownerDb.query(`INSERT INTO flag_last_evaluated (flag_key, environment, last_evaluated) VALUES ($1, 'production', now() - interval '1 hour')`, [launched]);
    await suite.stack.ownerDb.query(`INSERT INTO flag_last_evaluated (flag_key, environment, last_evaluated) VALUES ($1, 'production', now() - interval '1 hour')`, [stale]);
    await suite.stack.ownerDb.query(`UPDATE flag_last_evaluated SET last_evaluated = now() - interval '40 days' WHERE flag_key = $1`, [stale]);
    const upload = await suite.stack.request('PUT', '/api/v1/code-references', {
      body: { repository: uniqueKey('e2e-repo'), references: [{ flag: launched, path: 'src/a.ts', line: 1, kind: 'call' }, { flag: launched, path: 'src/b.ts', line: 2, kind: 'call' }] },
    });
    expect(upload.status).toBe(200);

    const errors: string[] = [];
    const { page } = await openPage(suite.browser, errors);
    onTestFailed(async () => {
      await shot(page, 'failure-lifecycle');
    });
    await signIn(page, suite.stack.api.url, ADMIN_TOKEN);
    await page.getByRole('link', { name: 'Ready to remove' }).click();
    const table = page.getByTestId('ready-to-remove');
    await table.waitFor();

    const staleRow = table.locator(`tr[data-flag="${stale}"]`);
    expect(await staleRow.getByTestId('lifecycle').getAttribute('data-stage')).toBe('stale');
    expect(await staleRow.textContent()).toContain('not evaluated in any environment since');
    expect(await staleRow.locator('td[data-label="serves"]').textContent()).toBe('false');
    expect(await staleRow.locator('td[data-env="development"]').textContent()).toBe('never');
    expect(await staleRow.locator('td[data-label="code references"]').textContent()).toBe('none: safe to delete');

    const launchedRow = table.locator(`tr[data-flag="${launched}"]`);
    expect(await launchedRow.getByTestId('lifecycle').getAttribute('data-stage')).toBe('launched');
    expect(await launchedRow.locator('td[data-label="serves"]').textContent()).toBe('true');
    expect(await launchedRow.locator('td[data-env="production"]').textContent()).not.toBe('never');
    expect(await launchedRow.locator('td[data-label="code references"]').textContent()).toBe('referenced in 2 files');
    // Stale flags come first.
    const rows = table.locator('tbody tr');
    const order: Array<string | null> = [];
    for (let i = 0; i < (await rows.count()); i++) order.push(await rows.nth(i).getAttribute('data-flag'));
    expect(order.indexOf(stale)).toBeLessThan(order.indexOf(launched));
    await shot(page, 'lifecycle-ready-to-remove-1280');
    await page.setViewportSize({ width: 390, height: 800 });
    expect(await sidewaysOverflow(page)).toBeLessThanOrEqual(0);
    await shot(page, 'lifecycle-ready-to-remove-390');
    await page.setViewportSize({ width: 1280, height: 800 });

    // The flag page carries the badge, with the reason for screen readers.
    await launchedRow.getByRole('link', { name: launched }).click();
    const badge = page.locator('#flag-title').getByTestId('lifecycle');
    await badge.waitFor();
    expect(await badge.getAttribute('data-stage')).toBe('launched');
    expect(await badge.textContent()).toContain('serves true to everyone in every environment');

    // So does the dashboard's flag list.
    await page.getByRole('link', { name: 'Dashboard', exact: true }).click();
    // The search filters as you type.
    await page.locator('#f-q').fill(stale);
    const dashboardBadge = page.locator(`tr[data-flag="${stale}"]`).getByTestId('lifecycle');
    await dashboardBadge.waitFor();
    expect(await dashboardBadge.getAttribute('data-stage')).toBe('stale');
    expect(unexpected(errors)).toEqual([]);
  });
});
