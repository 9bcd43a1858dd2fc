import { beforeAll, describe, expect, it, onTestFailed, onTestFinished } from 'vitest';
import { sampleAlertPayload } from '../../src/domain/alert-samples.js';
import { createUser } from '../integration/governance-helpers.js';
import { ADMIN_TOKEN, eventually, uniqueKey } from '../integration/harness.js';
import { openPage, shot, sidewaysOverflow, signIn, unexpected } from './browser.js';
import { browserSuite } from './browser-suite.js';
import { person, VIEWPORTS, walk, type Person } from './journey.js';

/**
 * The walkthrough's journeys between people, clicked through the real UI against the real API, worker,
 * Postgres and Temporal, at 1280 and 390 px: a change request from one editor approved by another; a
 * release pipeline across three environments from a template made in the UI, approved by someone other
 * than its starter; the audit log read by a viewer. Each asserts what the people must see and counts their
 * clicks, which may not exceed LaunchDarkly's for the same journey (docs/admin-ui.md). The screens' own
 * tests that share this file's stack and browser follow the journeys.
 */
describe('admin UI journeys: change request, release pipeline, audit log', () => {
  const suite = browserSuite();
  let rosa: Person;
  let priya: Person;
  let dana: Person;
  let sam: Person;

  beforeAll(async () => {
    rosa = await person(suite.stack, 'admin', 'Rosa Diaz');
    priya = await person(suite.stack, 'editor', 'Priya Shah');
    dana = await person(suite.stack, 'editor', 'Dana Kim');
    sam = await person(suite.stack, 'viewer', 'Sam Lee');
  });

  const api = (method: string, path: string, body?: unknown, token?: string) => suite.stack.request(method, path, { body, token });
  const newFlag = async (prefix: string) => {
    const key = uniqueKey(prefix);
    expect((await api('POST', '/api/v1/flags', { key, name: prefix, type: 'string' })).status).toBe(201);
    expect((await api('PUT', `/api/v1/flags/${key}/environments/production`, { enabled: true, value: 'new', off_value: 'old' })).status).toBe(200);
    return key;
  };

  describe.each(VIEWPORTS)('at $width px', (viewport) => {
    it('4. a change request between two people: Save says "Request approval", the reviewer sees a rename as a rename, approval applies it', async () => {
      const errors: string[] = [];
      const policy = '/api/v1/environments/production/change-policy';
      const key = await newFlag('greeting');
      expect((await api('PUT', policy, { required_approvals: 1, covers: ['configs'] })).status).toBe(200);
      onTestFinished(async () => {
        await api('PUT', policy, { required_approvals: 0 });
      });

      // Priya renames the variant "on" to "control": under the policy, saving asks for approval.
      const author = await walk(suite.browser, viewport, errors, suite.stack.api.url, priya.token);
      onTestFailed(async () => {
        await shot(author.page, `failure-journey-4-author-${viewport.width}`).catch(() => undefined); // the page may be closed already
      });
      await author.page.keyboard.press('/');
      await author.page.keyboard.type(key);
      await author.click(author.page.getByRole('link', { name: key, exact: true }));
      await author.click(author.page.getByRole('tab', { name: 'Targeting & variants' }));
      const variants = author.page.getByTestId('variants-editor');
      await variants.getByLabel('Variant 1 name').fill('control');
      await author.click(author.page.getByRole('button', { name: 'Review changes' }));
      const review = author.page.getByLabel('Review the change');
      expect(await review.textContent()).toContain('renamed to control');
      expect(await review.getByTestId('creates-request').textContent()).toBe('Saving creates a change request needing 1 approval in production: nothing changes until it is approved.');
      expect(await author.page.getByRole('button', { name: 'Save', exact: true }).count()).toBe(0);
      await review.getByLabel('Reason (for the audit log)').fill('name the variants for the experiment');
      await author.click(author.page.getByRole('button', { name: 'Request approval', exact: true }));
      const created = author.page.getByTestId('change-request-created');
      await created.waitFor();
      const id = await created.getAttribute('data-change-request');
      await author.look('4-cr-requested');
      expect((await api('GET', `/api/v1/flags/${key}/environments/production`)).body.variants.map((v: { name: string }) => v.name)).toEqual(['on', 'off']);
      await author.context.close();

      // Dana: the menu counts what she may decide; the request's diff reads as a rename, by whom and why.
      const reviewer = await walk(suite.browser, viewport, errors, suite.stack.api.url, dana.token);
      onTestFailed(async () => {
        await shot(reviewer.page, `failure-journey-4-reviewer-${viewport.width}`).catch(() => undefined); // the page may be closed already
      });
      await reviewer.menu('Change requests');
      const row = reviewer.page.locator(`tr[data-change-request="${id}"]`);
      await reviewer.click(row.getByRole('link'));
      const detail = reviewer.page.getByTestId('change-request');
      await detail.and(reviewer.page.locator('[data-status="pending"]')).waitFor();
      const text = (await detail.textContent())!;
      expect(text).toContain('variants[on] renamed to control');
      expect(text).toContain('Priya Shah');
      expect(text).toContain('name the variants for the experiment');
      expect(text).toMatch(/ago\), by a config edit, on version \d+/);
      expect(text).not.toContain(priya.id);
      await reviewer.look('4-cr-review');
      await reviewer.click(detail.getByRole('button', { name: 'Approve' }));
      await reviewer.page.locator('[data-testid="change-request"][data-status="applied"]').waitFor({ timeout: 30_000 });
      expect((await api('GET', `/api/v1/flags/${key}/environments/production`)).body.variants.map((v: { name: string }) => v.name)).toEqual(['control', 'off']);
      const clicks = author.clicks + reviewer.clicks;
      expect(clicks).toBeLessThanOrEqual(CLICK_BUDGET.changeRequest);
      await reviewer.context.close();
      expect(unexpected(errors)).toEqual([]);
      record('changeRequest', viewport.width, clicks);
    });

    it('6. a release pipeline across three environments from a template made in the UI, with a guard; another person approves production', async () => {
      const errors: string[] = [];
      const key = await newFlag('onboarding');
      const name = uniqueKey('standard').toLowerCase();

      // Rosa makes the template: the form starts with each environment in turn, production behind an editor's approval.
      const manager = await walk(suite.browser, viewport, errors, suite.stack.api.url, rosa.token);
      onTestFailed(async () => {
        await shot(manager.page, `failure-journey-6-manager-${viewport.width}`).catch(() => undefined); // the page may be closed already
      });
      await manager.menu('Release templates');
      await manager.click(manager.page.getByRole('button', { name: 'New template' }));
      await manager.page.getByLabel('Template name').fill(name);
      const production = manager.page.getByTestId('phase-editor').nth(2);
      expect(await production.getByLabel('Environment').inputValue()).toBe('production');
      const guard = production.getByTestId('guard-fields');
      await manager.choose(guard.getByLabel('Guard source'), 'events');
      await guard.getByLabel('Max error rate (0–1)').fill('0.05');
      await manager.click(manager.page.getByRole('button', { name: 'Create template' }));
      const card = manager.page.locator(`[data-template="${name}"]`);
      await card.waitFor();
      expect(await card.locator('li').allTextContents()).toEqual([
        'development: 100% at once', 'staging: 100% at once', 'production: an editor approves, then 100% at once, then guarded by an error rate above 5 % (roll back)',
      ]);
      await manager.look('6-template-made');

      // Applied to the flag: development and staging go at once, production waits for someone else's approval.
      await manager.menu('Dashboard');
      await manager.page.keyboard.press('/');
      await manager.page.keyboard.type(key);
      await manager.click(manager.page.getByRole('link', { name: key, exact: true }));
      await manager.click(manager.page.getByRole('tab', { name: 'Rollouts' }));
      const panel = manager.page.getByTestId('pipelines');
      await manager.choose(panel.getByLabel('Release template'), name);
      await manager.click(panel.getByRole('button', { name: 'Apply template' }));
      await panel.locator('[data-testid="pipeline"][data-status="waiting_approval"]').waitFor({ timeout: 30_000 });
      expect(await panel.locator('li[data-phase="1"]').getAttribute('data-status')).toBe('completed');
      expect(await panel.locator('li[data-phase="2"]').getAttribute('data-status')).toBe('completed');
      // "started … by" names the starter once /api/v1/names answers (the id shows until then).
      await expect.poll(() => panel.textContent()).toContain('Rosa Diaz');
      // Her own approval is not offered: the button says who may give it.
      expect(await panel.getByRole('button', { name: 'Approve phase' }).isDisabled()).toBe(true);
      await manager.look('6-pipeline-waiting');
      await manager.context.close();

      // Dana finds it on her dashboard, which says whose approval it needs, and approves.
      const approver = await walk(suite.browser, viewport, errors, suite.stack.api.url, dana.token);
      onTestFailed(async () => {
        await shot(approver.page, `failure-journey-6-approver-${viewport.width}`).catch(() => undefined); // the page may be closed already
      });
      const waiting = approver.page.locator(`li[data-pipeline="${key}"]`);
      await waiting.waitFor();
      expect(await waiting.textContent()).toContain('waiting for approval at phase 3 of 3 (production) · needs an editor, not whoever started it');
      await approver.click(waiting.getByRole('link', { name: key }));
      const phases = approver.page.getByTestId('pipelines');
      await approver.click(phases.getByRole('button', { name: 'Approve phase' }));
      await phases.locator('[data-testid="pipeline"][data-status="completed"]').waitFor({ timeout: 30_000 });
      expect(await phases.locator('li[data-phase="3"]').textContent()).toContain('Dana Kim');
      await approver.look('6-pipeline-completed');
      // Production's phase ran as a rollout carrying the template's guard.
      const pipeline = (await api('GET', `/api/v1/flags/${key}/pipelines`)).body.pipelines[0];
      const rollouts = (await api('GET', `/api/v1/flags/${key}/environments/production/rollouts`)).body.rollouts;
      expect(rollouts.find((r: { id: string }) => r.id === pipeline.phases[2].rollout_id).plan.guard).toEqual({ source: 'events', interval: '1 minute', action: 'rollback', min_samples: 100, max_error_rate: 0.05 });
      const clicks = manager.clicks + approver.clicks;
      expect(clicks).toBeLessThanOrEqual(CLICK_BUDGET.pipeline);
      await approver.context.close();
      expect(unexpected(errors)).toEqual([]);
      record('pipeline', viewport.width, clicks);
    });

    it('7. the audit log: a word finds the kills, a trigger and a token by name (deleted and revoked too), a rename reads as a rename', async () => {
      const errors: string[] = [];
      const key = await newFlag('search-box');
      const tag = uniqueKey('pager').slice(-8);
      // An alert trigger fired by its alerting system, then deleted; a token made and revoked; a variant renamed.
      const trigger = await api('POST', `/api/v1/flags/${key}/environments/production/triggers`, { name: `Pager ${tag}`, source: 'alertmanager' });
      expect(trigger.status, JSON.stringify(trigger.body)).toBe(201);
      const fired = await fetch(`${suite.stack.api.url}${trigger.body.path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(sampleAlertPayload('alertmanager', { name: 'HighErrorRate', id: 'a1', status: 'firing' })) });
      expect(fired.status).toBe(200);
      expect((await api('DELETE', `/api/v1/triggers/${trigger.body.id}`)).status).toBe(204);
      const token = await api('POST', '/api/v1/tokens', { name: `ci ${tag}`, kind: 'server', environment: 'staging' });
      expect((await api('DELETE', `/api/v1/tokens/${token.body.id}`)).status).toBe(200);
      const renamed = await api('PUT', `/api/v1/flags/${key}/environments/staging`, {
        enabled: true, variants: [{ name: 'control', value: 'new' }, { name: 'off', value: 'old' }], on_variant: 'control', off_variant: 'off',
      }, priya.token);
      expect(renamed.status, JSON.stringify(renamed.body)).toBe(200);

      const w = await walk(suite.browser, viewport, errors, suite.stack.api.url, sam.token);
      onTestFailed(async () => {
        await shot(w.page, `failure-journey-7-${viewport.width}`).catch(() => undefined); // the page may be closed already
      });
      await w.menu('Audit log');
      await w.page.getByTestId('chain-status').getByText(/chain verified/).waitFor();
      const filters = w.page.getByRole('search', { name: 'Filter audit events' });
      // A word is enough, as one types: "kill" finds the trigger's kill, named as the trigger was.
      await filters.getByLabel('Flag').fill(key);
      await filters.getByLabel('Action').fill('kill');
      const kill = w.page.locator(`li.event[data-action="kill_switch.activated"][data-resource="${key}"]`);
      await kill.waitFor();
      await expect.poll(() => kill.locator('summary').textContent()).toContain(`by Pager ${tag} (alert trigger)`); // names arrive after the ids
      await w.click(kill.locator('summary'));
      expect(await kill.textContent()).toContain('enabled: false → true');
      await w.look('7-audit-kill');
      // On the side: the trigger itself, deleted since, and the revoked token, by name; Priya's rename, found by her name, reads as a rename.
      await w.aside(async () => {
        await filters.getByLabel('Flag').fill('');
        await filters.getByLabel('Action').fill('');
        await filters.getByLabel('Resource').selectOption('trigger');
        const deleted = w.page.locator(`li.event[data-action="trigger.deleted"][data-resource="${trigger.body.id}"]`);
        await expect.poll(() => deleted.locator('summary').textContent()).toContain(`trigger Pager ${tag} (alert trigger, deleted)`);
        await filters.getByLabel('Resource').selectOption('token');
        const revoked = w.page.locator(`li.event[data-action="token.revoked"][data-resource="${token.body.id}"]`);
        await expect.poll(() => revoked.locator('summary').textContent()).toContain(`token ci ${tag} (server token, revoked)`);
        await filters.getByLabel('Resource').selectOption('');
        await filters.getByLabel('Actor (name, email or id)').fill('Priya');
        await filters.getByLabel('Flag').fill(key);
        const change = w.page.locator(`li.event[data-action="flag.config.updated"][data-resource="${key}"]`).filter({ hasText: 'by Priya Shah' });
        await change.locator('summary').click();
        expect(await change.textContent()).toContain('variants[on] renamed to control');
        const summaries = (await w.page.locator('li.event summary').allTextContents()).join('\n');
        expect(summaries).not.toContain(priya.id);
      });
      await w.look('7-audit-rename');
      expect(w.clicks).toBeLessThanOrEqual(CLICK_BUDGET.audit);
      await w.context.close();
      expect(unexpected(errors)).toEqual([]);
      record('audit', viewport.width, w.clicks);
    });
  });

  /**
   * The flag page's release pipeline panel in headless Chromium: apply a template from the form, follow the
   * timeline through an approval gate and staging's policy gate (refused for whoever started it, given by
   * another editor) to the end.
   */
  describe('flag page: release pipelines', () => {
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

      // Whoever started it can't approve it (the button says why); another editor can.
      expect(await panel.getByRole('button', { name: 'Approve phase' }).isDisabled()).toBe(true);
      await panel.getByText(/never whoever started the pipeline/).waitFor();
      await shot(page, '50-pipeline-waiting-approval');
      expect((await suite.stack.request('POST', `/api/v1/flags/${key}/pipelines/current/approve`, { body: {}, token: editor.token })).status).toBe(200);

      await panel.locator('[data-testid="pipeline"][data-status="completed"]').waitFor({ timeout: 20_000 });
      expect(await panel.locator('li[data-phase="2"]').getAttribute('data-status')).toBe('completed');
      expect(await panel.locator('li[data-phase="2"]').textContent()).toContain('Approval by an editor (or an admin): Test editor');
      // One editor's approval counted for both gates.
      expect(await panel.locator('li[data-phase="2"] [data-testid="policy-gate"]').textContent()).toMatch(/^Policy gate: needs 1 approval under staging’s change policy \(1 of 1: Test editor \(/);
      await shot(page, '51-pipeline-completed');
      expect(unexpected(errors)).toEqual([]);
      await context.close();
    });
  });

  /**
   * Names, not ids, in headless Chromium: what a (non-bootstrap) editor did shows their name on the flag's
   * settings, its alert triggers, its rollout's outcome, its release pipeline, the release templates and
   * the dashboard; an alert trigger's audit events name the trigger, a deleted one by the name its events
   * recorded; an API token's events name the token and its kind, a revoked one too; a viewer sees the names too.
   */
  describe('admin UI: names where the API answers ids', () => {
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

  /**
   * Results that stay, in headless Chromium: a paused rollout keeps its bar and says "paused"; an aborted
   * or completed one shows its outcome until dismissed; the dashboard lists a release pipeline waiting for
   * an approval, and says which recent kills still hold.
   */
  describe('admin UI: outcomes that stay', () => {
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
});

/**
 * Clicks each journey may take: LaunchDarkly's count for the same journey, as its documentation walks it
 * (docs/admin-ui.md, "Journeys and clicks"). A click is 1, a drop-down choice 2; typing is not counted.
 */
const CLICK_BUDGET = { changeRequest: 12, pipeline: 20, audit: 4 } as const;

function record(journey: keyof typeof CLICK_BUDGET, width: number, clicks: number) {
  if (process.env.RIPCORD_JOURNEY_CLICKS) console.log(`[clicks] ${journey} at ${width} px: ${clicks} (budget ${CLICK_BUDGET[journey]})`);
}
