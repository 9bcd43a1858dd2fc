import { describe, expect, it, onTestFailed } from 'vitest';
import { ADMIN_TOKEN, uniqueKey } from '../integration/harness.js';
import { openPage, shot, sidewaysOverflow, signIn, unexpected } from './browser.js';
import { browserSuite } from './browser-suite.js';

/**
 * The guard editor of the release-template form, in headless Chromium: a phase's rollout gets a guard
 * as the rollouts API takes it (an error rate of reported events, or a Prometheus query against a
 * threshold; interval, roll back or kill); a bad number is refused at its field before anything is
 * sent; a stored guard comes back into the form and can be changed; the list says what guards a phase.
 */
describe('admin UI: guards in release templates', () => {
  const suite = browserSuite();

  it('adds an events guard, refuses a bad rate at its field, switches it to a Prometheus query, and lists it in words', async () => {
    const errors: string[] = [];
    const { context, page } = await openPage(suite.browser, errors);
    onTestFailed(async () => {
      await shot(page, 'failure-template-guard');
    });
    let posts = 0;
    page.on('request', (r) => {
      if (r.method() === 'POST' && r.url().endsWith('/api/v1/release-templates')) posts++;
    });
    await signIn(page, suite.stack.api.url, ADMIN_TOKEN);
    await page.goto(`${suite.stack.api.url}/release-templates/new`);
    const name = uniqueKey('guarded').toLowerCase();
    await page.getByLabel('Template name').fill(name);
    const production = page.getByTestId('phase-editor').nth(2);
    await production.getByLabel('Rollout').selectOption('gradual');
    const guard = production.getByTestId('guard-fields');
    await guard.getByLabel('Guard source').selectOption('events');
    await guard.getByLabel('Max error rate (0–1)').fill('1.5');
    await guard.getByLabel('On breach').selectOption('kill');
    await page.getByRole('button', { name: 'Create template' }).click();
    const rateError = page.locator('[data-field-error="phases.2.guard.max_error_rate"]');
    await rateError.waitFor();
    expect(await rateError.textContent()).toMatch(/1/);
    expect(posts).toBe(0);
    await guard.getByLabel('Max error rate (0–1)').fill('0.05');
    await page.getByRole('button', { name: 'Create template' }).click();
    const card = page.locator(`[data-template="${name}"]`);
    await card.waitFor();
    expect(posts).toBe(1);
    const created = (await suite.stack.request('GET', `/api/v1/release-templates/${name}`)).body;
    expect(created.phases[2].guard).toEqual({ source: 'events', interval: '1 minute', action: 'kill', min_samples: 100, max_error_rate: 0.05 });
    expect(created.phases[0].guard).toBeUndefined();
    expect(await card.locator('li').nth(2).textContent()).toBe('production: an editor approves, then 10% → 50% → 100%, then guarded by an error rate above 5 % (kill)');

    // Back in the form: the stored guard is there; a Prometheus query with a threshold that is not a number is refused at it.
    await card.getByRole('link', { name }).click();
    await page.getByRole('heading', { name: `Release template ${name}` }).waitFor();
    expect(await guard.getByLabel('Guard source').inputValue()).toBe('events');
    expect(await guard.getByLabel('Max error rate (0–1)').inputValue()).toBe('0.05');
    await guard.getByLabel('Guard source').selectOption('prometheus');
    await guard.getByLabel('PromQL query').fill('sum(rate(http_requests_total{code=~"5.."}[5m]))');
    await guard.getByLabel('Threshold').fill('lots');
    await guard.getByLabel('On breach').selectOption('rollback');
    await page.getByRole('button', { name: 'Save template' }).click();
    await page.locator('[data-field-error="phases.2.guard.threshold"]').waitFor();
    await guard.getByLabel('Threshold').fill('2.5');
    await guard.getByLabel('Breach when').selectOption('above');
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await sidewaysOverflow(page), 'the guard fields at 390 px').toBeLessThanOrEqual(0);
    await shot(page, '97-template-guard-phone');
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.getByRole('button', { name: 'Save template' }).click();
    await card.waitFor();
    const edited = (await suite.stack.request('GET', `/api/v1/release-templates/${name}`)).body;
    expect(edited.version).toBe(2);
    expect(edited.phases[2].guard).toEqual({ source: 'prometheus', interval: '1 minute', action: 'rollback', query: 'sum(rate(http_requests_total{code=~"5.."}[5m]))', threshold: 2.5, comparison: 'above' });
    expect(await card.locator('li').nth(2).textContent()).toContain('guarded by sum(rate(http_requests_total{code=~"5.."}[5m])) above 2.5 (roll back)');
    await context.close();
    expect(unexpected(errors)).toEqual([]);
  });
});
