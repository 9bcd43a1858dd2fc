import { describe, expect, it, onTestFailed } from 'vitest';
import { ADMIN_TOKEN, eventually, uniqueKey } from '../integration/harness.js';
import { openPage, shot, signIn, unexpected } from './browser.js';
import { browserSuite } from './browser-suite.js';

/**
 * The rollout form's split strategy in headless Chromium: a weights-per-step editor that
 * refuses a step not adding up to 100 before anything is sent (the API's own schema), a split rollout
 * started from it, and the running rollout showing the split it serves. One page load.
 */
describe('admin UI: split rollouts', () => {
  const suite = browserSuite();

  it('starts a split rollout from the weights editor, refusing a step that does not add up to 100, and shows the split served', async () => {
    const errors: string[] = [];
    const key = uniqueKey('e2e-split');
    expect((await suite.stack.request('POST', '/api/v1/flags', { body: { key, name: 'Layout', type: 'string' } })).status).toBe(201);
    const put = await suite.stack.request('PUT', `/api/v1/flags/${key}/environments/production`, { body: {
      enabled: true, on_variant: 'control', off_variant: 'control', split: [{ variant: 'control', weight: 100 }],
      variants: [{ name: 'control', value: 'list' }, { name: 'compact', value: 'compact-list' }, { name: 'wide', value: 'wide-grid' }],
    } });
    expect(put.status, JSON.stringify(put.body)).toBe(200);

    const { context, page } = await openPage(suite.browser, errors);
    onTestFailed(async () => {
      await shot(page, 'failure-split-rollout');
    });
    let rolloutPosts = 0;
    page.on('request', (request) => {
      if (request.method() === 'POST' && /\/rollouts$/.test(new URL(request.url()).pathname)) rolloutPosts++;
    });
    await signIn(page, suite.stack.api.url, ADMIN_TOKEN);
    await page.goto(`${suite.stack.api.url}/flags/${key}/production?tab=rollouts`);
    const form = page.getByRole('form', { name: 'Start a rollout in production' });
    await form.getByLabel('Strategy').selectOption('split');
    const steps = form.getByTestId('split-steps');
    // The off variant (control) is listed last, so compact's range of buckets only grows.
    await steps.getByLabel('Step 1 compact', { exact: true }).fill('20');
    await steps.getByLabel('Step 1 control', { exact: true }).fill('90');
    await steps.getByLabel('Step 2 compact', { exact: true }).fill('30');
    await steps.getByLabel('Step 2 wide', { exact: true }).fill('20');
    await steps.getByLabel('Step 2 control', { exact: true }).fill('50');
    // No hold after step 1: the rollout goes straight on to step 2's approval gate.
    await steps.locator('[data-step="1"]').getByLabel('Hold').fill('');
    expect(await steps.locator('[data-step="2"]').getByLabel('needs approval').isChecked()).toBe(true);
    expect(await steps.getByTestId('split-total-1').textContent()).toBe('110%');
    await form.getByRole('button', { name: 'Start rollout' }).click();
    expect(await form.locator('[data-field-error="plan.steps.0.split"]').textContent()).toBe('the weights add up to 110, not 100');
    expect(rolloutPosts).toBe(0);

    // An emptied weight is refused at its own field (not sent as 0, which would drop the variant).
    await steps.getByLabel('Step 1 compact', { exact: true }).fill('');
    expect(await steps.getByTestId('split-total-1').textContent()).toBe('—');
    await form.getByRole('button', { name: 'Start rollout' }).click();
    expect(await form.locator('[data-field-error="plan.steps.0.split.0.weight"]').textContent()).toBe('a percentage: a number from 0 to 100');
    expect(rolloutPosts).toBe(0);
    await steps.getByLabel('Step 1 compact', { exact: true }).fill('20');

    await steps.getByLabel('Step 1 control', { exact: true }).fill('80');
    expect(await steps.getByTestId('split-total-1').textContent()).toBe('100%');
    // The guard editor is the release templates' one: a rate over 1 is refused at its field.
    const guard = form.getByTestId('guard-fields');
    await guard.getByLabel('Guard source').selectOption('events');
    expect(await guard.getByLabel('On breach').locator('option').first().textContent()).toBe('roll back to the starting split');
    await guard.getByLabel('Max error rate (0–1)').fill('1.5');
    await form.getByRole('button', { name: 'Start rollout' }).click();
    await form.locator('[data-field-error="plan.guard.max_error_rate"]').waitFor();
    expect(rolloutPosts).toBe(0);
    await guard.getByLabel('Max error rate (0–1)').fill('0.05');
    await guard.getByLabel('Min samples').fill('20');
    await form.getByRole('button', { name: 'Start rollout' }).click();
    // The second step waits for an approval (the default): the panel shows the first step's split.
    const split = page.getByTestId('rollout-split');
    await split.waitFor();
    expect(await split.textContent()).toContain('compact 20 / control 80');
    expect(await split.textContent()).toContain('20% of traffic moved from the starting split (control 100)');
    await shot(page, 'split-rollout-running');
    expect(rolloutPosts).toBe(1);

    await page.getByRole('button', { name: 'Approve next step' }).click();
    await eventually(async () => {
      const list = (await suite.stack.request('GET', `/api/v1/flags/${key}/environments/production/rollouts`)).body;
      return list.rollouts[0]?.status === 'completed';
    }, 'the rollout to complete', 30_000);
    const config = (await suite.stack.request('GET', `/api/v1/flags/${key}/environments/production`)).body;
    expect(config.split).toEqual([{ variant: 'compact', weight: 30 }, { variant: 'wide', weight: 20 }, { variant: 'control', weight: 50 }]);
    const started = (await suite.stack.request('GET', `/api/v1/flags/${key}/environments/production/rollouts`)).body.rollouts[0];
    expect(started.plan.guard).toEqual({ source: 'events', interval: '1 minute', action: 'rollback', min_samples: 20, max_error_rate: 0.05 });
    await context.close();
    expect(unexpected(errors)).toEqual([]);
  }, 90_000);
});
