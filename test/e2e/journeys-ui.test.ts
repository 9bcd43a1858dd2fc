import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { parse } from 'yaml';
import { ADMIN_TOKEN, eventually, uniqueKey } from '../integration/harness.js';
import { openPage, shot, sidewaysOverflow, signIn, unexpected } from './browser.js';
import { browserSuite } from './browser-suite.js';
import { person, VIEWPORTS, walk, type Person } from './journey.js';

/**
 * The walkthrough's first journeys, clicked through the real UI against the real API, worker, Postgres and
 * Temporal, at 1280 and 390 px: sign in and read a flag; kill and restore at 3 a.m.; a three-variant split
 * rollout with an approval gate and a guard that trips; an alert trigger made in the UI and fired by curl.
 * Each asserts what the person must see (names, not ids; outcomes that stay; what a restore serves) and
 * counts the clicks, which may not exceed LaunchDarkly's for the same journey (docs/admin-ui.md). The
 * screens' own tests that share this file's stack and browser follow the journeys.
 */
describe('admin UI journeys: read, kill and restore, split rollout, alert trigger', () => {
  const suite = browserSuite();
  let priya: Person;
  let sam: Person;
  let omar: Person;

  beforeAll(async () => {
    priya = await person(suite.stack, 'editor', 'Priya Shah');
    sam = await person(suite.stack, 'viewer', 'Sam Lee');
    omar = await person(suite.stack, 'emergency_responder', 'Omar Haddad');
  });

  const api = (method: string, path: string, body?: unknown, token?: string) => suite.stack.request(method, path, { body, token });

  describe.each(VIEWPORTS)('at $width px', (viewport) => {
    it('1. signs in and reads a flag: found as one types, what it serves in words, its history by name', async () => {
      const errors: string[] = [];
      const key = uniqueKey('checkout-redesign');
      expect((await api('POST', '/api/v1/flags', { key, name: 'Checkout redesign', type: 'string' }, priya.token)).status).toBe(201);
      const put = await api('PUT', `/api/v1/flags/${key}/environments/production`, {
        enabled: true, on_variant: 'treatment', off_variant: 'control', split: [{ variant: 'control', weight: 50 }, { variant: 'treatment', weight: 50 }],
        variants: [{ name: 'control', value: 'classic' }, { name: 'treatment', value: 'one-page' }],
      }, priya.token);
      expect(put.status, JSON.stringify(put.body)).toBe(200);

      const w = await walk(suite.browser, viewport, errors, suite.stack.api.url, sam.token);
      onTestFailed(async () => {
        await shot(w.page, `failure-journey-1-${viewport.width}`).catch(() => undefined); // the page may be closed already
      });
      // "/" jumps to the search; the list narrows while typing, no Enter.
      await w.page.keyboard.press('/');
      await w.page.keyboard.type(key);
      await w.page.getByText('1 flag matches.').waitFor();
      await w.click(w.page.getByRole('link', { name: key, exact: true }));
      await w.page.getByRole('tab', { name: 'Overview', selected: true }).waitFor();
      await w.page.getByRole('tab', { name: /^production/, selected: true }).waitFor();
      expect(await w.page.getByTestId('served-summary').textContent()).toBe('On: 50 % control, 50 % treatment.');
      await w.look('1-read-overview');
      await w.click(w.page.getByRole('tab', { name: 'History' }));
      const history = w.page.getByTestId('flag-history');
      const configured = history.locator('li[data-action="flag.config.updated"]');
      await configured.waitFor();
      await expect.poll(() => configured.locator('summary').textContent()).toContain('by Priya Shah'); // names arrive after the ids
      expect(await history.textContent()).not.toContain(priya.id);
      await w.look('1-read-history');
      expect(w.clicks).toBeLessThanOrEqual(CLICK_BUDGET.read);
      await w.context.close();
      expect(unexpected(errors)).toEqual([]);
      record('read', viewport.width, w.clicks);
    });

    it('2. kills and restores at 3 a.m.: typed confirmation, confirmed on the replicas, the dialog names what comes back, the dashboard says which kills are still on', async () => {
      const errors: string[] = [];
      const key = uniqueKey('payments-v2');
      expect((await api('POST', '/api/v1/flags', { key, name: 'Payments v2', type: 'boolean' })).status).toBe(201);
      expect((await api('PUT', `/api/v1/flags/${key}/environments/production`, { enabled: true, value: true, off_value: false, rollout: { percentage: 10, strategy: 'gradual' } })).status).toBe(200);

      const w = await walk(suite.browser, viewport, errors, suite.stack.api.url, omar.token);
      onTestFailed(async () => {
        await shot(w.page, `failure-journey-2-${viewport.width}`).catch(() => undefined); // the page may be closed already
      });
      await w.page.keyboard.press('/');
      await w.page.keyboard.type(key);
      await w.click(w.page.getByRole('link', { name: key, exact: true }));
      await w.click(w.page.getByRole('button', { name: 'Pull kill switch in production' }));
      const form = w.page.getByRole('form', { name: `Pull the kill switch of ${key} in production` });
      await form.getByLabel('Reason (required, goes to the audit log and the alert)').fill('checkout 5xx at 3 a.m.');
      await form.getByLabel(`Type ${key} to confirm`).fill(key);
      await w.click(form.getByRole('button', { name: `Kill ${key} in production` }));
      const banner = w.page.getByTestId('killed-banner');
      await banner.waitFor();
      await expect.poll(() => banner.textContent()).toContain('by Omar Haddad: “checkout 5xx at 3 a.m.”'); // names arrive after the ids
      await w.page.getByTestId('kill-confirmation').getByText(/^Confirmed on \d+\/\d+ replicas/).waitFor();
      expect((await api('GET', `/api/v1/flags/${key}/environments/production`)).body.kill_switch.enabled).toBe(true);
      await w.look('2-killed');

      // On the side: the dashboard lists the kill as still on, by name.
      await w.aside(async () => {
        await w.menu('Dashboard');
        const kill = w.page.locator(`li[data-kill="${key}:production"]`);
        await kill.waitFor();
        await expect.poll(() => kill.textContent()).toContain('by Omar Haddad'); // names arrive after the ids
        expect(await kill.getByTestId('kill-state').textContent()).toBe('still killed');
        await kill.getByRole('link', { name: key }).click();
      });

      // Restoring asks first and names what production will serve again.
      await w.click(w.page.getByRole('button', { name: `Restore ${key} in production` }));
      const dialog = w.page.getByRole('dialog', { name: `Restore ${key} in production?` });
      expect((await dialog.getByTestId('restore-serves').textContent())?.trim()).toBe('After the restore: On for 10 %: they get on (true), the rest off (false).');
      await w.look('2-restore-dialog');
      await w.click(dialog.getByRole('button', { name: `Restore ${key} in production` }));
      await w.page.getByRole('button', { name: 'Pull kill switch in production' }).waitFor();
      expect(await w.page.getByTestId('served-summary').textContent()).toBe('On for 10 %: they get on (true), the rest off (false).');
      expect((await api('GET', `/api/v1/flags/${key}/environments/production`)).body.kill_switch.enabled).toBe(false);
      expect(w.clicks).toBeLessThanOrEqual(CLICK_BUDGET.killRestore);
      await w.context.close();
      expect(unexpected(errors)).toEqual([]);
      record('killRestore', viewport.width, w.clicks);
    });

    it('3. rolls out a three-variant split behind an approval gate with a guard; the guard trips and the outcome stays on screen', async () => {
      const errors: string[] = [];
      const key = uniqueKey('layout');
      expect((await api('POST', '/api/v1/flags', { key, name: 'Layout', type: 'string' })).status).toBe(201);
      const put = await api('PUT', `/api/v1/flags/${key}/environments/production`, {
        enabled: true, on_variant: 'control', off_variant: 'control', split: [{ variant: 'control', weight: 100 }],
        variants: [{ name: 'control', value: 'list' }, { name: 'compact', value: 'compact-list' }, { name: 'wide', value: 'wide-grid' }],
      });
      expect(put.status, JSON.stringify(put.body)).toBe(200);
      let rolloutPosts = 0;

      const w = await walk(suite.browser, viewport, errors, suite.stack.api.url, priya.token);
      onTestFailed(async () => {
        await shot(w.page, `failure-journey-3-${viewport.width}`).catch(() => undefined); // the page may be closed already
      });
      w.page.on('request', (request) => {
        if (request.method() === 'POST' && /\/rollouts$/.test(new URL(request.url()).pathname)) rolloutPosts++;
      });
      await w.page.keyboard.press('/');
      await w.page.keyboard.type(key);
      await w.click(w.page.getByRole('link', { name: key, exact: true }));
      await w.click(w.page.getByRole('tab', { name: 'Rollouts' }));
      const form = w.page.getByRole('form', { name: 'Start a rollout in production' });
      await w.choose(form.getByLabel('Strategy'), 'split');
      const steps = form.getByTestId('split-steps');
      // The off variant (control) is listed last, so compact's range of buckets only grows.
      await steps.getByLabel('Step 1 compact', { exact: true }).fill('20');
      await steps.getByLabel('Step 1 control', { exact: true }).fill('90');
      await steps.getByLabel('Step 2 compact', { exact: true }).fill('30');
      await steps.getByLabel('Step 2 wide', { exact: true }).fill('20');
      await steps.getByLabel('Step 2 control', { exact: true }).fill('50');
      // No hold after step 1: straight on to step 2's approval gate; step 2 then holds while the guard watches.
      await steps.locator('[data-step="1"]').getByLabel('Hold').fill('');
      await steps.locator('[data-step="2"]').getByLabel('Hold').fill('1 hour');
      expect(await steps.locator('[data-step="2"]').getByLabel('needs approval').isChecked()).toBe(true);
      expect(await steps.getByTestId('split-total-1').textContent()).toBe('110%');
      // On the side: an emptied weight is refused at its own field (not sent as 0, which would drop the variant).
      await w.aside(async () => {
        await steps.getByLabel('Step 1 compact', { exact: true }).fill('');
        expect(await steps.getByTestId('split-total-1').textContent()).toBe('—');
        await form.getByRole('button', { name: 'Start rollout' }).click();
        expect(await form.locator('[data-field-error="plan.steps.0.split.0.weight"]').textContent()).toBe('a percentage: a number from 0 to 100');
        await steps.getByLabel('Step 1 compact', { exact: true }).fill('20');
      });
      // The guard editor is the release templates' one.
      const guard = form.getByTestId('guard-fields');
      await w.choose(guard.getByLabel('Guard source'), 'events');
      expect(await guard.getByLabel('On breach').locator('option').first().textContent()).toBe('roll back to the starting split');
      await guard.getByLabel('Max error rate (0–1)').fill('1.5');
      await guard.getByLabel('Min samples').fill('10');
      await guard.getByLabel('Interval').fill('1 second');
      await w.click(form.getByRole('button', { name: 'Start rollout' }));
      // Both mistakes at their fields, in the API's words, and nothing sent.
      expect(await form.locator('[data-field-error="plan.steps.0.split"]').textContent()).toBe('the weights add up to 110, not 100');
      await form.locator('[data-field-error="plan.guard.max_error_rate"]').waitFor();
      expect(rolloutPosts).toBe(0);
      await steps.getByLabel('Step 1 control', { exact: true }).fill('80');
      await guard.getByLabel('Max error rate (0–1)').fill('0.2');
      await w.click(form.getByRole('button', { name: 'Start rollout' }));

      const split = w.page.getByTestId('rollout-split');
      await split.waitFor();
      expect(await split.textContent()).toContain('compact 20 / control 80');
      expect(await split.textContent()).toContain('20% of traffic moved from the starting split (control 100)');
      await w.page.getByTestId('rollout-current').and(w.page.locator('[data-status="waiting_approval"]')).waitFor();
      await w.look('3-split-waiting-approval');
      await w.click(w.page.getByRole('button', { name: 'Approve next step' }));
      await eventually(async () => (await api('GET', `/api/v1/flags/${key}/environments/production`)).body.split?.length === 3, 'step 2 to apply');
      expect(rolloutPosts).toBe(1);

      // Errors reported by the treated variants: the guard rolls back to the starting split.
      const reported = await api('POST', '/api/v1/events', { environment: 'production', events: [{ flag: key, variant: 'compact', outcome: 'error', count: 8 }, { flag: key, variant: 'compact', outcome: 'success', count: 12 }] }, priya.token);
      expect(reported.status).toBe(202);
      const outcome = w.page.getByTestId('rollout-outcome');
      await outcome.and(w.page.locator('[data-status="rolled_back"]')).waitFor({ timeout: 30_000 });
      await expect.poll(() => outcome.textContent()).toContain('by Priya Shah'); // names arrive after the ids
      expect(await outcome.getByTestId('outcome-summary').textContent()).toBe('2 of 2 steps applied; it had reached compact 30 / wide 20 / control 50. Now in production: control 100.');
      // Whose errors tripped it, by name (the server's detail says user:<id>).
      await expect.poll(() => outcome.getByRole('note').textContent()).toMatch(/^Guard breached: treated error rate 40\.00% is above 20\.00%; errors from Priya Shah \(8 errors\)$/);
      const rollout = (await api('GET', `/api/v1/flags/${key}/environments/production/rollouts`)).body.rollouts[0];
      expect(rollout.plan.guard).toEqual({ source: 'events', interval: '1 second', action: 'rollback', min_samples: 10, max_error_rate: 0.2 });
      expect((await api('GET', `/api/v1/flags/${key}/environments/production`)).body.split).toEqual([{ variant: 'control', weight: 100 }]);
      // Still there after a reload: the outcome stays until dismissed.
      await w.page.reload();
      await outcome.waitFor();
      await w.look('3-split-rolled-back');
      expect(w.clicks).toBeLessThanOrEqual(CLICK_BUDGET.splitRollout);
      await w.context.close();
      expect(unexpected(errors)).toEqual([]);
      record('splitRollout', viewport.width, w.clicks);
    });

    it('5. makes an alert trigger in the UI and fires it with curl: the kill shows live, named after the trigger, and the resolved alert restores', async () => {
      const errors: string[] = [];
      const key = uniqueKey('search-ranking');
      expect((await api('POST', '/api/v1/flags', { key, name: 'Search ranking', type: 'boolean' })).status).toBe(201);
      expect((await api('PUT', `/api/v1/flags/${key}/environments/staging`, { enabled: true, value: true, off_value: false })).status).toBe(200);

      const w = await walk(suite.browser, viewport, errors, suite.stack.api.url, ADMIN_TOKEN);
      onTestFailed(async () => {
        await shot(w.page, `failure-journey-5-${viewport.width}`).catch(() => undefined); // the page may be closed already
      });
      await w.page.keyboard.press('/');
      await w.page.keyboard.type(key);
      await w.click(w.page.getByRole('link', { name: `${key} in staging: on` }));
      const panel = w.page.getByTestId('alert-triggers');
      await w.click(panel.getByRole('button', { name: 'New alert trigger' }));
      const form = panel.getByRole('form', { name: 'New alert trigger in staging' });
      await form.getByLabel('Name').fill('Search 5xx');
      await w.choose(form.getByLabel('Action'), 'kill-restore');
      await w.click(form.getByRole('button', { name: 'Create trigger' }));
      const secret = panel.getByTestId('trigger-secret');
      await secret.waitFor();
      const curl = (await secret.getByTestId('curl-example').textContent())!;
      await w.look('5-trigger-created');
      await w.click(secret.getByRole('button', { name: 'I have stored it' }));

      // The alerting system's POST, made by curl as the set-up says: the page shows the kill without a reload.
      const { stdout } = await promisify(execFile)('bash', ['-c', `${curl} --silent --show-error --max-time 10`], { timeout: 15_000 });
      expect(JSON.parse(stdout)).toMatchObject({ action: 'kill', changed: true });
      const banner = w.page.getByTestId('killed-banner');
      await banner.waitFor();
      await expect.poll(() => banner.textContent()).toContain('by Search 5xx (alert trigger)'); // names arrive after the ids
      await panel.locator('tr[data-deliveries="1"]').waitFor();
      // The panel reads the triggers again on the kill's broadcast, which the service sends before it
      // records when the trigger fired (a transaction of its own after the kill): that read may still
      // say "never", and the panel's next read (every 10 s while a trigger is enabled) has the time.
      await expect.poll(() => panel.locator('td[data-field="last-fired"]').textContent(), { timeout: 15_000 }).not.toBe('never');
      await w.look('5-trigger-fired');

      // The same command with status "resolved" (as the snippet's receiver sends with send_resolved) restores.
      const resolved = curl.replace(/"status":\s*"firing"/g, '"status": "resolved"');
      expect(resolved).not.toBe(curl);
      const restored = await promisify(execFile)('bash', ['-c', `${resolved} --silent --show-error --max-time 10`], { timeout: 15_000 });
      expect(JSON.parse(restored.stdout)).toMatchObject({ action: 'restore' });
      await w.page.getByRole('button', { name: 'Pull kill switch in staging' }).waitFor();
      expect(w.clicks).toBeLessThanOrEqual(CLICK_BUDGET.alertTrigger);
      await w.context.close();
      expect(unexpected(errors)).toEqual([]);
      record('alertTrigger', viewport.width, w.clicks);
    });
  });

  /**
   * Restoring a killed flag says what will be served, in headless Chromium: beside the Restore button in
   * every environment, and in production's confirmation dialog before anyone confirms — the environment's
   * configured answer (a 10 % rollout, a split, off), not a generic "its configured value".
   */
  describe('admin UI: what a restore serves', () => {
    it('names each environment’s configured answer before the restore, and the dialog in production before confirming', async () => {
      const errors: string[] = [];
      const key = uniqueKey('e2e-restore');
      const env = (e: string) => `/api/v1/flags/${key}/environments/${e}`;
      expect((await suite.stack.request('POST', '/api/v1/flags', { body: { key, name: 'Restore', type: 'boolean' } })).status).toBe(201);
      // production: on for 10 %, with a rule; staging: a 50/50 split of two named variants; development: off.
      const production = await suite.stack.request('PUT', env('production'), {
        body: {
          enabled: true, value: true, off_value: false, rollout: { percentage: 10, strategy: 'gradual' },
          rules: [{ id: 'staff', type: 'user_attribute', priority: 1, conditions: [{ field: 'email', operator: 'ends_with', value: '@example.com' }], action: 'enable' }],
        },
      });
      expect(production.status, JSON.stringify(production.body)).toBe(200);
      const staging = await suite.stack.request('PUT', env('staging'), {
        body: {
          enabled: true, variants: [{ name: 'control', value: false }, { name: 'treatment', value: true }], on_variant: 'treatment', off_variant: 'control',
          split: [{ variant: 'control', weight: 50 }, { variant: 'treatment', weight: 50 }],
        },
      });
      expect(staging.status, JSON.stringify(staging.body)).toBe(200);
      for (const e of ['production', 'staging', 'development']) {
        expect((await suite.stack.request('POST', `${env(e)}/kill-switch`, { body: { reason: '5xx spike' } })).status).toBeLessThan(300);
      }

      const { context, page } = await openPage(suite.browser, errors);
      onTestFailed(async () => {
        await shot(page, 'failure-restore-dialog');
      });
      await signIn(page, suite.stack.api.url, ADMIN_TOKEN);
      const preview = page.getByTestId('restore-preview');
      for (const [e, serves] of [
        ['staging', 'Restoring serves staging its configured answer — On: 50 % control, 50 % treatment.'],
        ['development', 'Restoring serves development its configured answer — Off: everyone gets off (false).'],
        ['production', 'Restoring serves production its configured answer — On for 10 %: they get on (true), the rest off (false). 1 rule is matched first again.'],
      ] as const) {
        await page.goto(`${suite.stack.api.url}/flags/${key}/${e}`);
        await page.getByTestId('killed-banner').waitFor();
        expect((await preview.textContent())?.trim()).toBe(serves);
      }

      // Production asks first, naming what will be served; Cancel changes nothing.
      const restore = page.getByRole('button', { name: `Restore ${key} in production` });
      await restore.click();
      const dialog = page.getByRole('dialog', { name: `Restore ${key} in production?` });
      await dialog.waitFor();
      expect((await dialog.getByTestId('restore-serves').textContent())?.trim()).toBe('After the restore: On for 10 %: they get on (true), the rest off (false). 1 rule is matched first again.');
      expect(await dialog.textContent()).toContain('It was killed because “5xx spike”.');
      await shot(page, '92-restore-dialog-names-answer');
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'hidden' });
      expect((await suite.stack.request('GET', env('production'))).body.kill_switch.enabled).toBe(true);

      // At phone width the dialog fits; confirming restores, and the flag serves what the dialog said.
      await page.setViewportSize({ width: 390, height: 844 });
      await restore.click();
      await dialog.waitFor();
      expect(await sidewaysOverflow(page)).toBeLessThanOrEqual(0);
      await shot(page, '93-restore-dialog-phone');
      await dialog.getByRole('button', { name: `Restore ${key} in production` }).click();
      await page.getByRole('button', { name: 'Pull kill switch in production' }).waitFor();
      const config = (await suite.stack.request('GET', env('production'))).body;
      expect(config.kill_switch.enabled).toBe(false);
      expect(config.rollout.percentage).toBe(10);
      expect(await page.getByTestId('served-summary').textContent()).toBe('On for 10 %: they get on (true), the rest off (false).');
      await context.close();
      expect(unexpected(errors)).toEqual([]);
    });
  });

  /**
   * An alert trigger set up and tested from the UI, in headless Chromium against the real stack: at
   * creation the Alertmanager route and receiver and a curl command carry the trigger's URL (YAML that
   * reads back, a command the shell runs and that fires the trigger); "Send test alert" asks first, goes
   * through the hook's own path and says what it did — nothing, with the reason, for a trigger waiting
   * for more alerts; a kill, shown live, for one that fires on any alert.
   */
  describe('admin UI: alert trigger set-up and test alerts', () => {
    it('gives Alertmanager and curl snippets with the URL, and a test alert that does what a real one would, with a clear result', async () => {
      const errors: string[] = [];
      const key = uniqueKey('e2e-trig');
      expect((await suite.stack.request('POST', '/api/v1/flags', { body: { key, name: 'Trigger test', type: 'boolean' } })).status).toBe(201);
      expect((await suite.stack.request('PUT', `/api/v1/flags/${key}/environments/staging`, { body: { enabled: true, value: true, off_value: false } })).status).toBe(200);
      // A trigger that needs three alerts: its test counts one and kills nothing.
      expect((await suite.stack.request('POST', `/api/v1/flags/${key}/environments/staging/triggers`, { body: { name: 'Slow burn', source: 'datadog', min_alerts: 3, window_seconds: 600 } })).status).toBe(201);

      const { context, page } = await openPage(suite.browser, errors);
      onTestFailed(async () => {
        await shot(page, 'failure-trigger-test');
      });
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: suite.stack.api.url });
      await signIn(page, suite.stack.api.url, ADMIN_TOKEN);
      await page.goto(`${suite.stack.api.url}/flags/${key}/staging`);
      const panel = page.getByTestId('alert-triggers');
      const result = panel.getByTestId('test-alert-result');

      // The test alert to "Slow burn": the dialog says it counts toward three; the result says nothing happened, and why.
      await panel.getByRole('button', { name: 'Send test alert to Slow burn' }).click();
      const dialog = page.getByRole('dialog', { name: 'Send a test alert to “Slow burn”?' });
      await dialog.waitFor();
      expect(await dialog.textContent()).toContain('it counts as 1 of the 3 alerts needed within 600 s');
      await dialog.getByRole('button', { name: 'Send test alert' }).click();
      await result.waitFor();
      expect(await result.getAttribute('data-action')).toBe('none');
      expect(await result.locator('p').first().textContent()).toBe('Test alert RipcordTestAlert delivered; the trigger did nothing: 1 of 3 alerts firing within 600 s.');
      await panel.locator('tr[data-deliveries="1"]').waitFor();
      expect((await suite.stack.request('GET', `/api/v1/flags/${key}/environments/staging`)).body.kill_switch.enabled).toBe(false);

      // A new trigger: the URL, Alertmanager's config and a curl command, all with that URL.
      await panel.getByRole('button', { name: 'New alert trigger' }).click();
      const form = panel.getByRole('form', { name: 'New alert trigger in staging' });
      await form.getByLabel('Name').fill('Checkout 5xx');
      await form.getByLabel('Action').selectOption('kill-restore');
      await form.getByRole('button', { name: 'Create trigger' }).click();
      const secret = panel.getByTestId('trigger-secret');
      await secret.waitFor();
      const url = (await secret.getByTestId('trigger-url').textContent())!;
      const snippet = (await secret.getByTestId('alertmanager-snippet').textContent())!;
      const config = parse(snippet);
      expect(config.receivers[0].webhook_configs).toEqual([{ url, send_resolved: true }]);
      expect(config.route.routes[0].receiver).toBe(config.receivers[0].name);
      await secret.getByRole('button', { name: 'Copy alertmanager config' }).click();
      await secret.getByRole('button', { name: 'Copied' }).waitFor();
      expect(await page.evaluate<string>('navigator.clipboard.readText()')).toBe(snippet);
      const curl = (await secret.getByTestId('curl-example').textContent())!;
      expect(curl).toContain(url);
      await shot(page, '94-trigger-setup');
      await page.setViewportSize({ width: 390, height: 844 });
      expect(await sidewaysOverflow(page), 'the set-up snippets at 390 px').toBeLessThanOrEqual(0);
      await page.setViewportSize({ width: 1280, height: 800 });
      await secret.getByRole('button', { name: 'I have stored it' }).click();
      // Listed later, the set-up has a placeholder where the secret URL goes (the list never has it).
      const listed = panel.locator('details[data-trigger-setup="Checkout 5xx"]');
      await listed.locator('summary').click();
      expect(await listed.getByTestId('alertmanager-snippet').textContent()).toContain('/hooks/v1/triggers/<the URL shown once when the trigger was created>');
      expect(await panel.textContent()).not.toContain(url.split('/').at(-1));

      // Its test alert kills the flag in staging, as a real alert would; the page shows the kill live.
      await panel.getByRole('button', { name: 'Send test alert to Checkout 5xx' }).click();
      expect(await dialog.count()).toBe(0);
      const killDialog = page.getByRole('dialog', { name: 'Send a test alert to “Checkout 5xx”?' });
      expect(await killDialog.textContent()).toContain(`it pulls the kill switch of ${key} in staging: every staging user gets the off value until someone restores it`);
      await killDialog.getByRole('button', { name: 'Send test alert' }).click();
      await result.and(page.locator('[data-action="kill"]')).waitFor();
      expect(await result.locator('p').first().textContent()).toBe(`Test alert RipcordTestAlert delivered: the trigger pulled the kill switch — ${key} is killed in staging. Restore it when you are done.`);
      await page.getByTestId('killed-banner').waitFor();
      expect(await page.getByTestId('killed-banner').textContent()).toContain('RipcordTestAlert');
      await shot(page, '95-trigger-test-killed');

      // Restored, then the curl command from the set-up, run by the shell, fires the trigger again.
      await page.getByRole('button', { name: `Restore ${key} in staging` }).click();
      await page.getByRole('button', { name: 'Pull kill switch in staging' }).waitFor();
      const { stdout } = await promisify(execFile)('bash', ['-c', `${curl} --silent --show-error --max-time 10`], { timeout: 15_000 });
      expect(JSON.parse(stdout)).toMatchObject({ action: 'kill', changed: true });
      await page.getByTestId('killed-banner').waitFor();
      await context.close();
      expect(unexpected(errors)).toEqual([]);
    });
  });
});

/**
 * Clicks each journey may take: LaunchDarkly's count for the same journey, as its documentation walks it
 * (docs/admin-ui.md, "Journeys and clicks"). A click is 1, a drop-down choice 2; typing is not counted.
 */
const CLICK_BUDGET = { read: 3, killRestore: 8, splitRollout: 12, alertTrigger: 9 } as const;

/** Prints the count when RIPCORD_JOURNEY_CLICKS is set (to update the doc). */
function record(journey: keyof typeof CLICK_BUDGET, width: number, clicks: number) {
  if (process.env.RIPCORD_JOURNEY_CLICKS) console.log(`[clicks] ${journey} at ${width} px: ${clicks} (budget ${CLICK_BUDGET[journey]})`);
}
