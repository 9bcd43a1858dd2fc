import { describe, expect, it, onTestFailed, onTestFinished } from 'vitest';
import { ADMIN_TOKEN, uniqueKey } from '../integration/harness.js';
import { createUser } from '../integration/governance-helpers.js';
import { openPage, shot, signIn, unexpected } from './browser.js';
import { browserSuite } from './browser-suite.js';

/**
 * The flag page's release pipeline panel in headless Chromium: apply a template from the form, follow the
 * timeline through an approval gate and staging's policy gate (refused for whoever started it, given by
 * another editor) to the end.
 */
describe('flag page: release pipelines', () => {
  const suite = browserSuite();

  it('applies a template and shows the timeline (an audience phase with its segments) advance through an approval gate to completion', async () => {
    const errors: string[] = [];
    const key = uniqueKey('e2e-pipeline');
    expect((await suite.stack.request('POST', '/api/v1/flags', { body: { key, name: 'Pipeline', type: 'boolean' } })).status).toBe(201);
    const segment = uniqueKey('internal');
    expect((await suite.stack.request('POST', '/api/v1/segments', { body: { key: segment, kind: 'list', members: ['alice'] } })).status).toBe(201);
    const template = uniqueKey('ui-tpl').toLowerCase();
    expect((await suite.stack.request('POST', '/api/v1/release-templates', {
      body: {
        name: template, phases: [
          { environment: 'development', audience: { segments: [segment] }, plan: { strategy: 'immediate', percentage: 100 } },
          { environment: 'staging', approval: { role: 'editor' }, plan: { strategy: 'immediate', percentage: 100 } },
        ],
      },
    })).status).toBe(201);
    const editor = await createUser(suite.stack, 'editor');
    // Staging's change policy covers rollouts: its phase gets a policy gate beside its own editor gate.
    const policy = '/api/v1/environments/staging/change-policy';
    expect((await suite.stack.request('PUT', policy, { body: { required_approvals: 1, covers: ['rollouts'] } })).status).toBe(200);
    onTestFinished(async () => {
      await suite.stack.request('PUT', policy, { body: { required_approvals: 0 } });
    });

    const { context, page } = await openPage(suite.browser, errors);
    onTestFailed(async () => {
      await shot(page, 'failure-pipelines');
    });
    await signIn(page, suite.stack.api.url, ADMIN_TOKEN);
    await page.goto(`${suite.stack.api.url}/flags/${key}/production?tab=rollouts`);
    const panel = page.getByTestId('pipelines');
    await panel.getByTestId('no-pipelines').waitFor();
    await panel.getByLabel('Release template').selectOption(template);
    await panel.getByRole('button', { name: 'Apply template' }).click();

    // The panel follows the running pipeline: development done, staging at its gate.
    await panel.locator('[data-testid="pipeline"][data-status="waiting_approval"]').waitFor({ timeout: 20_000 });
    expect(await panel.locator('li[data-phase="1"]').getAttribute('data-status')).toBe('completed');
    expect(await panel.locator('li[data-phase="2"]').getAttribute('data-status')).toBe('waiting_approval');
    expect(await panel.locator('li[data-phase="1"] a code').textContent()).toBe(`rollout:development:${key}`);
    expect(await panel.locator('li[data-phase="2"] [data-testid="policy-gate"]').textContent()).toBe('Policy gate: needs 1 approval under staging’s change policy (0 of 1)');
    expect(await panel.locator('li[data-phase="1"] [data-testid="phase-audience"]').textContent()).toMatch(new RegExp(`^Audience: ${segment} → the on variant, served since `));

    // Whoever started it can't approve it; another editor can.
    await panel.getByRole('button', { name: 'Approve phase' }).click();
    await panel.getByText(/whoever started the pipeline/).waitFor();
    await shot(page, '50-pipeline-waiting-approval');
    expect((await suite.stack.request('POST', `/api/v1/flags/${key}/pipelines/current/approve`, { body: {}, token: editor.token })).status).toBe(200);

    await panel.locator('[data-testid="pipeline"][data-status="completed"]').waitFor({ timeout: 20_000 });
    expect(await panel.locator('li[data-phase="2"]').getAttribute('data-status')).toBe('completed');
    expect(await panel.locator('li[data-phase="2"]').textContent()).toContain('Approval by an editor (or an admin): Test editor');
    // One editor's approval counted for both gates.
    expect(await panel.locator('li[data-phase="2"] [data-testid="policy-gate"]').textContent()).toMatch(/^Policy gate: needs 1 approval under staging’s change policy \(1 of 1: Test editor \(/);
    await shot(page, '51-pipeline-completed');
    // The 403 of the refused approval is the only console error.
    expect(unexpected(errors).filter((e) => !/status of 403/.test(e))).toEqual([]);
    await context.close();
  });
});
