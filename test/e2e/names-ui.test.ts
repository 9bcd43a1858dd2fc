import { describe, expect, it, onTestFailed } from 'vitest';
import { eventually, uniqueKey } from '../integration/harness.js';
import { createUser } from '../integration/governance-helpers.js';
import { openPage, shot, signIn, unexpected } from './browser.js';
import { browserSuite } from './browser-suite.js';

/**
 * Names, not ids, in headless Chromium: what a (non-bootstrap) editor did shows their name on the flag's
 * settings, its alert triggers, its rollout's outcome, its release pipeline, the release templates and
 * the dashboard; an alert trigger's audit events name the trigger, a deleted one by the name its events
 * recorded; an API token's events name the token and its kind, a revoked one too; a viewer sees the names too.
 */
describe('admin UI: names where the API answers ids', () => {
  const suite = browserSuite();

  it('shows people and triggers by name on every screen that said an id', async () => {
    const errors: string[] = [];
    const editor = await createUser(suite.stack, 'editor', [{ resource: 'flag', action: 'kill_switch' }]);
    const viewer = await createUser(suite.stack, 'viewer');
    const as = (path: string, method: string, body?: unknown) => suite.stack.request(method, path, { token: editor.token, body });
    const key = uniqueKey('e2e-names');
    expect((await as('/api/v1/flags', 'POST', { key, name: 'Names', type: 'boolean' })).status).toBe(201);
    expect((await as(`/api/v1/flags/${key}`, 'PATCH', { description: 'who did what' })).status).toBe(200);
    const trigger = await as(`/api/v1/flags/${key}/environments/staging/triggers`, 'POST', { name: 'Error rate', source: 'generic' });
    expect(trigger.status, JSON.stringify(trigger.body)).toBe(201);
    const rollouts = `/api/v1/flags/${key}/environments/development/rollouts`;
    expect((await as(rollouts, 'POST', { plan: { strategy: 'immediate', percentage: 100 } })).status).toBe(201);
    await eventually(async () => (await suite.stack.request('GET', rollouts)).body.rollouts[0]?.status === 'completed', 'the rollout to complete', 20_000);
    const template = uniqueKey('names').toLowerCase();
    expect((await as('/api/v1/release-templates', 'POST', { name: template, phases: [{ environment: 'staging', approval: { role: 'admin' }, plan: { strategy: 'immediate', percentage: 100 } }] })).status).toBe(201);
    expect((await as(`/api/v1/flags/${key}/pipelines`, 'POST', { template })).status).toBe(201);

    const gone = await as(`/api/v1/flags/${key}/environments/staging/triggers`, 'POST', { name: 'Old pager hook', source: 'generic' });
    expect(gone.status).toBe(201);
    expect((await as(`/api/v1/triggers/${gone.body.id}`, 'DELETE')).status).toBe(204);
    const bot = await suite.stack.request('POST', '/api/v1/tokens', { body: { name: 'deploy bot', kind: 'server', environment: 'staging' } });
    expect(bot.status).toBe(201);
    expect((await suite.stack.request('DELETE', `/api/v1/tokens/${bot.body.id}`)).status).toBe(200);

    const { context, page } = await openPage(suite.browser, errors);
    onTestFailed(async () => {
      await shot(page, 'failure-names');
    });
    await signIn(page, suite.stack.api.url, viewer.token);
    const actor = (scope: ReturnType<typeof page.locator>) => scope.locator(`[data-actor="${editor.id}"]`).first();
    await page.goto(`${suite.stack.api.url}/flags/${key}/development?tab=settings`);
    await expect.poll(() => actor(page.locator('.identity')).textContent()).toBe('Test editor');
    await page.goto(`${suite.stack.api.url}/flags/${key}/staging`);
    await expect.poll(() => actor(page.getByTestId('alert-triggers')).textContent()).toBe('Test editor');
    await page.goto(`${suite.stack.api.url}/flags/${key}/development?tab=rollouts`);
    await expect.poll(() => actor(page.getByTestId('rollout-outcome')).textContent()).toBe('Test editor');
    await expect.poll(() => actor(page.getByTestId('pipeline')).textContent()).toBe('Test editor');
    await page.goto(`${suite.stack.api.url}/release-templates`);
    await expect.poll(() => actor(page.locator(`[data-template="${template}"]`)).textContent()).toBe('Test editor');
    await page.goto(`${suite.stack.api.url}/release-templates/${template}`);
    await expect.poll(() => page.locator(`[data-actor="${editor.id}"]`).count()).toBe(2);
    await shot(page, '96-names-template');

    // The trigger's own audit events name it (the resource), and the editor who made it.
    await page.goto(`${suite.stack.api.url}/audit`);
    const created = page.locator(`li[data-action="trigger.created"][data-resource="${trigger.body.id}"]`);
    await created.waitFor();
    await expect.poll(() => created.locator(`[data-actor="trigger:${trigger.body.id}"]`).textContent()).toBe('Error rate (alert trigger)');
    expect(await created.locator('.actor').last().textContent()).toBe('Test editor');
    expect(await page.locator('#main').textContent()).not.toContain(`trigger ${trigger.body.id}`);
    // A deleted trigger and a revoked token, by the names they had.
    const deleted = page.locator(`li[data-action="trigger.deleted"][data-resource="${gone.body.id}"]`);
    await expect.poll(() => deleted.locator(`[data-actor="trigger:${gone.body.id}"]`).textContent()).toBe('Old pager hook (alert trigger, deleted)');
    for (const action of ['token.created', 'token.revoked']) {
      const event = page.locator(`li[data-action="${action}"][data-resource="${bot.body.id}"]`);
      await expect.poll(() => event.locator(`[data-actor="token:${bot.body.id}"]`).textContent()).toBe('deploy bot (server token, revoked)');
    }
    const summaries = (await page.locator('li.event summary').allTextContents()).join('\n');
    expect(summaries).not.toContain(bot.body.id);
    expect(summaries).not.toContain('an alert trigger');
    await context.close();
    expect(unexpected(errors)).toEqual([]);
  });
});
