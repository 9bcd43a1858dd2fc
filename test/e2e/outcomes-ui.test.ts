import { describe, expect, it, onTestFailed } from 'vitest';
import { ADMIN_TOKEN, eventually, uniqueKey } from '../integration/harness.js';
import { openPage, shot, sidewaysOverflow, signIn, unexpected } from './browser.js';
import { browserSuite } from './browser-suite.js';

/**
 * Results that stay, in headless Chromium: a paused rollout keeps its bar and says "paused"; an aborted
 * or completed one shows its outcome until dismissed; the dashboard lists a release pipeline waiting for
 * an approval, and says which recent kills still hold.
 */
describe('admin UI: outcomes that stay', () => {
  const suite = browserSuite();
  const rollouts = (key: string, env: string) => `/api/v1/flags/${key}/environments/${env}/rollouts`;
  const latestStatus = async (key: string, env: string) => (await suite.stack.request('GET', rollouts(key, env))).body.rollouts[0]?.status as string | undefined;

  it('keeps a paused rollout’s progress, an ended one’s outcome until dismissed, and shows waiting pipelines and live kills on the dashboard', async () => {
    const errors: string[] = [];
    const key = uniqueKey('e2e-outcome');
    expect((await suite.stack.request('POST', '/api/v1/flags', { body: { key, name: 'Outcome', type: 'boolean' } })).status).toBe(201);
    const started = await suite.stack.request('POST', rollouts(key, 'production'), { body: { plan: { strategy: 'gradual', steps: [{ percentage: 10, hold: '1 hour' }, { percentage: 100 }] } } });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    await eventually(async () => (await suite.stack.request('GET', rollouts(key, 'production'))).body.current?.history?.length === 1, 'the first step', 20_000);
    expect((await suite.stack.request('POST', `${rollouts(key, 'production')}/current/pause`, { body: { reason: 'checking dashboards' } })).status).toBe(200);

    const { context, page } = await openPage(suite.browser, errors);
    onTestFailed(async () => {
      await shot(page, 'failure-outcomes');
    });
    await signIn(page, suite.stack.api.url, ADMIN_TOKEN);
    await page.goto(`${suite.stack.api.url}/flags/${key}/production?tab=rollouts`);
    const current = page.locator('[data-testid="rollout-current"][data-status="paused"]');
    await current.waitFor({ timeout: 20_000 });
    // The bar keeps the step it reached (1 of 2 applied), and the step says paused, not "holding until".
    const bar = current.getByRole('progressbar');
    expect(await bar.getAttribute('aria-valuenow')).toBe('1');
    expect(await bar.getAttribute('aria-valuemax')).toBe('2');
    expect(await bar.getAttribute('aria-label')).toBe('step 1 of 2, paused: 1 of 2 steps applied');
    const step = current.locator('li[data-step="1"]');
    expect(await step.textContent()).toMatch(/— paused$/);
    expect(await step.textContent()).not.toContain('holding until');
    await shot(page, '80-rollout-paused');

    // Aborted (with roll back) elsewhere: the outcome stays on the page, live, until dismissed.
    expect((await suite.stack.request('POST', `${rollouts(key, 'production')}/current/abort`, { body: { rollback: true, reason: 'bad numbers' } })).status).toBe(200);
    const outcome = page.getByTestId('rollout-outcome');
    await outcome.waitFor({ timeout: 20_000 });
    const ended = (await latestStatus(key, 'production'))!;
    expect(['aborted', 'rolled_back']).toContain(ended);
    expect(await outcome.getAttribute('data-status')).toBe(ended);
    expect(await outcome.getByTestId('outcome-summary').textContent()).toBe('1 of 2 steps applied; it had reached 10%. Now in production: 0%.');
    expect(await page.getByRole('form', { name: 'Start a rollout in production' }).count()).toBe(0);
    await shot(page, '81-rollout-outcome-aborted');
    await page.reload();
    await outcome.waitFor();
    await outcome.getByRole('button', { name: 'Dismiss and start another' }).click();
    await page.getByRole('form', { name: 'Start a rollout in production' }).waitFor();
    await page.reload();
    await page.getByRole('form', { name: 'Start a rollout in production' }).waitFor();
    expect(await outcome.count()).toBe(0);

    // A completed one says so.
    expect((await suite.stack.request('PUT', `/api/v1/flags/${key}/environments/staging`, { body: { enabled: true, value: true, off_value: false } })).status).toBe(200);
    expect((await suite.stack.request('POST', rollouts(key, 'staging'), { body: { plan: { strategy: 'immediate', percentage: 100 } } })).status).toBe(201);
    await eventually(async () => (await latestStatus(key, 'staging')) === 'completed', 'the immediate rollout to complete', 20_000);
    await page.goto(`${suite.stack.api.url}/flags/${key}/staging?tab=rollouts`);
    const done = page.locator('[data-testid="rollout-outcome"][data-status="completed"]');
    await done.waitFor();
    expect(await done.textContent()).toContain('Completed');
    expect(await done.getByTestId('outcome-summary').textContent()).toBe('1 of 1 step applied; it had reached 100%. Now in staging: on.');

    // The dashboard: a pipeline waiting for an approval, and kills that hold or were released.
    const template = uniqueKey('gate').toLowerCase();
    expect((await suite.stack.request('POST', '/api/v1/release-templates', {
      body: { name: template, phases: [{ environment: 'development', approval: { role: 'editor' }, plan: { strategy: 'immediate', percentage: 100 } }] },
    })).status).toBe(201);
    const pipeline = await suite.stack.request('POST', `/api/v1/flags/${key}/pipelines`, { body: { template } });
    expect(pipeline.status, JSON.stringify(pipeline.body)).toBe(201);
    await eventually(async () => (await suite.stack.request('GET', '/api/v1/release-pipelines')).body.pipelines
      .some((p: { flag: string; status: string }) => p.flag === key && p.status === 'waiting_approval'), 'the pipeline at its gate', 20_000);
    const held = uniqueKey('e2e-held');
    const released = uniqueKey('e2e-released');
    for (const k of [held, released]) {
      expect((await suite.stack.request('POST', '/api/v1/flags', { body: { key: k, name: k, type: 'boolean' } })).status).toBe(201);
      expect((await suite.stack.request('POST', `/api/v1/flags/${k}/environments/staging/kill-switch`, { body: { reason: 'outcomes test' } })).status).toBeLessThan(300);
    }
    expect((await suite.stack.request('DELETE', `/api/v1/flags/${released}/environments/staging/kill-switch`, { body: { reason: 'fixed' } })).status).toBeLessThan(300);

    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: 844 });
      await page.goto(suite.stack.api.url);
      const waiting = page.locator(`li[data-pipeline="${key}"][data-status="waiting_approval"]`);
      await waiting.waitFor();
      expect(await waiting.textContent()).toBe(`${key} — release pipeline ${template}, waiting for approval at phase 1 of 1 (development) · needs an editor, not whoever started it`);
      expect(await page.locator(`li[data-kill="${held}:staging"] [data-testid="kill-state"]`).textContent()).toBe('still killed');
      expect(await page.locator(`li[data-kill="${released}:staging"] [data-testid="kill-state"]`).textContent()).toBe('restored');
      expect(await sidewaysOverflow(page), `the dashboard at ${width} px scrolls sideways`).toBeLessThanOrEqual(0);
      await shot(page, `82-dashboard-pipelines-kills-${width}`);
    }
    expect((await suite.stack.request('POST', `/api/v1/flags/${key}/pipelines/current/abort`, { body: { rollback: false } })).status).toBe(200);
    await context.close();
    expect(unexpected(errors)).toEqual([]);
  }, 120_000);
});
