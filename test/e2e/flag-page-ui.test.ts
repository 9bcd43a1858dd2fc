import type { Page } from 'playwright-core';
import { describe, expect, it, onTestFailed } from 'vitest';
import { ADMIN_TOKEN, uniqueKey } from '../integration/harness.js';
import { createFlag, onForEveryone } from '../integration/serving-helpers.js';
import { openPage, shot, sidewaysOverflow, signIn, unexpected } from './browser.js';
import { browserSuite } from './browser-suite.js';

/**
 * The flag page's newer panels in headless Chromium (issues 16 and 18): the variant editor with its
 * weighted split, checked with the API's own schema before anything is sent; alert triggers (URL shown
 * once, fired from outside, the kill shown live, counters, disable/enable); code references; and the
 * admin forms answering in the API's words at the field where the browser's own checks used to block
 * the submit. One page load per scenario.
 */
describe('flag page: variants, alert triggers, code references', () => {
  const suite = browserSuite();

  const ofrep = async (key: string, context: Record<string, unknown>) => {
    const answer = await suite.stack.request('POST', `/ofrep/v1/evaluate/flags/${key}`, { headers: { 'x-environment': 'production' }, body: { context } });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return answer.body as { value: unknown; variant: string; reason: string };
  };

  /** The form's message at one field (the editor marks it with data-field-error). */
  const fieldError = (page: Page, path: string) => page.locator(`[data-field-error="${path}"]`).textContent();

  it('edits variants, on/off, a weighted split, a serve rule and targeting; refuses bad drafts at the field; OFREP serves the variants', async () => {
    const errors: string[] = [];
    const key = uniqueKey('e2e-variants');
    expect((await suite.stack.request('POST', '/api/v1/flags', { body: { key, name: 'Layout', type: 'string', tags: ['e2e'] } })).status).toBe(201);
    // Written in the shape before variants (value / off_value only): the editor shows it as variants on and off.
    const legacy = await suite.stack.request('PUT', `/api/v1/flags/${key}/environments/production`, { body: { enabled: false, value: 'old-on', off_value: 'old-off' } });
    expect(legacy.status, JSON.stringify(legacy.body)).toBe(200);
    const beta = uniqueKey('beta-testers');
    expect((await suite.stack.request('POST', '/api/v1/segments', { body: { key: beta, kind: 'list', members: Array.from({ length: 20 }, (_, i) => `beta-${i}`) } })).status).toBe(201);

    const { context, page } = await openPage(suite.browser, errors);
    onTestFailed(async () => {
      await shot(page, 'failure-flag-variants');
    });
    let puts = 0;
    page.on('request', (request) => {
      if (request.method() === 'PUT') puts++;
    });
    await signIn(page, suite.stack.api.url, ADMIN_TOKEN);
    // No references uploaded for this flag: the Insights tab says so.
    await page.goto(`${suite.stack.api.url}/flags/${key}/production?tab=insights`);
    await page.getByTestId('no-references').waitFor();
    await page.getByRole('tab', { name: 'Targeting & variants' }).click();
    expect(new URL(page.url()).search).toBe('?tab=targeting');
    const editor = page.getByTestId('variants-editor');
    await editor.waitFor();
    expect(await editor.getByLabel('Variant 1 name').inputValue()).toBe('on');
    expect(await editor.getByLabel('Variant 1 value (string)').inputValue()).toBe('old-on');
    expect(await editor.getByLabel('Variant 2 name').inputValue()).toBe('off');
    expect(await editor.getByLabel('Variant 2 value (string)').inputValue()).toBe('old-off');
    expect(await page.getByTestId('served-variants').getAttribute('data-serving')).toBe('off');

    // Rename "on": the on/off choice follows the name. Add two variants, the second with a duplicate name.
    await editor.getByLabel('Variant 1 name').fill('control');
    await editor.getByLabel('Variant 1 value (string)').fill('classic');
    expect(await editor.getByLabel('Served when on').inputValue()).toBe('control');
    await editor.getByRole('button', { name: 'Add variant' }).click();
    await editor.getByLabel('Variant 3 name').fill('compact');
    await editor.getByLabel('Variant 3 value (string)').fill('compact-ui');
    await editor.getByRole('button', { name: 'Add variant' }).click();
    await editor.getByLabel('Variant 4 name').fill('compact');
    await editor.getByLabel('Variant 4 value (string)').fill('wide-ui');
    await page.getByLabel('Enabled').selectOption('true');
    await page.getByRole('button', { name: 'Review changes' }).click();
    expect(await fieldError(page, 'variants.3.name')).toBe("duplicate variant name 'compact'");
    expect(await page.getByLabel('Diff of the production config').count()).toBe(0);
    await editor.getByLabel('Variant 4 name').fill('wide');
    await page.locator('[data-field-error="variants.3.name"]').waitFor({ state: 'detached' });

    // A split across the variants: the total is shown, and a sum other than 100 is refused at the split.
    await editor.getByRole('button', { name: 'Split traffic across variants' }).click();
    expect(await page.getByTestId('split-total').getAttribute('data-total')).toBe('100');
    await editor.getByRole('button', { name: 'Remove split 2' }).click(); // "off" gets no traffic
    await editor.getByLabel('Split 1 weight (%)').fill('50');
    await editor.getByLabel('Split 2 weight (%)').fill('30');
    await editor.getByLabel('Split 3 weight (%)').fill('10');
    expect(await editor.getByLabel('Split 2 variant').inputValue()).toBe('compact');
    expect(await page.getByTestId('split-total').textContent()).toBe('90% (must be 100)');
    await page.getByRole('button', { name: 'Review changes' }).click();
    expect(await fieldError(page, 'split')).toBe('the weights add up to 90, not 100');
    await editor.getByLabel('Split 3 weight (%)').fill('20');
    await page.locator('[data-field-error="split"]').waitFor({ state: 'detached' });

    // A rule that serves a named variant to one country.
    await page.getByRole('button', { name: 'Add rule' }).click();
    const rule = page.locator('fieldset[data-rule]').first();
    await rule.getByLabel('Id', { exact: true }).fill('dutch-wide');
    await rule.getByLabel('Field', { exact: true }).fill('country');
    await rule.getByLabel('Value', { exact: true }).fill('NL');
    await rule.getByLabel('Action').selectOption('serve');
    await rule.getByLabel('Variant', { exact: true }).selectOption('wide');

    // Targeting that serves a named variant to a segment.
    await page.getByRole('button', { name: 'Add targeting rule' }).click();
    await page.getByLabel('Segments').fill(beta);
    await page.getByLabel('Serves').selectOption('compact');

    // Removing a variant that the split and the rule still serve is refused at both references.
    await editor.getByRole('button', { name: 'Remove variant wide' }).click();
    await page.getByRole('button', { name: 'Review changes' }).click();
    expect(await fieldError(page, 'split.2.variant')).toBe("unknown variant 'wide'");
    expect(await fieldError(page, 'rules.0.variant')).toBe("unknown variant 'wide'");
    await shot(page, '40-variants-refused');
    expect(puts).toBe(0);
    // Declared again, the references resolve.
    await editor.getByRole('button', { name: 'Add variant' }).click();
    await editor.getByLabel('Variant 4 name').fill('wide');
    await editor.getByLabel('Variant 4 value (string)').fill('wide-ui');

    // The panels fit a phone: nothing scrolls sideways with the editor, split and rule open.
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await sidewaysOverflow(page), 'the variant editor at 390 px scrolls sideways').toBeLessThanOrEqual(0);
    await shot(page, '41-variants-390');
    await page.setViewportSize({ width: 1280, height: 800 });

    await page.getByRole('button', { name: 'Review changes' }).click();
    expect(await page.getByLabel('Diff of the production config').textContent()).toContain('"compact"');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByTestId('saved').waitFor();
    expect(puts).toBe(1);

    // The page shows what is served, by variant name.
    const served = page.getByTestId('served-variants');
    await served.and(page.locator('[data-serving="control"]')).waitFor();
    expect(await page.getByTestId('served-on').textContent()).toBe('control');
    expect(await page.getByTestId('served-off').textContent()).toBe('off');
    // In plain words, right for a split: who gets what.
    expect(await page.getByTestId('served-summary').textContent()).toBe('On: 50 % control, 30 % compact, 20 % wide.');
    expect(await page.getByTestId('served-rules').textContent()).toBe(`Before that: rule dutch-wide → wide; segment ${beta} → compact`);
    await shot(page, '42-variants-saved');

    // The flag's History shows the save field by field: the rename as a rename, no "rollout: null" the editor never set.
    await page.getByRole('tab', { name: 'History' }).click();
    const saved = page.getByTestId('flag-history').locator('li[data-action="flag.config.updated"]').first();
    await saved.locator('summary').click();
    const lines = saved.locator('.field-diff li');
    await lines.first().waitFor();
    const diff = await lines.allTextContents();
    expect(diff).toContain('variants[on] renamed to control');
    expect(diff).toContain('variants[control].value: "old-on" → "classic"');
    expect(diff).toContain('on_variant: "on" → "control"');
    expect(diff).toContain('enabled: false → true');
    expect(diff.filter((line) => /rollout|split: null/.test(line))).toEqual([]);
    await shot(page, '45-history-field-diff');
    await context.close();

    // The API stored it, and OFREP answers with the variant names and values.
    const stored = (await suite.stack.request('GET', `/api/v1/flags/${key}/environments/production`)).body;
    expect(stored).toMatchObject({
      enabled: true, on_variant: 'control', off_variant: 'off', value: 'classic', off_value: 'old-off',
      variants: [{ name: 'control', value: 'classic' }, { name: 'off', value: 'old-off' }, { name: 'compact', value: 'compact-ui' }, { name: 'wide', value: 'wide-ui' }],
      split: [{ variant: 'control', weight: 50 }, { variant: 'compact', weight: 30 }, { variant: 'wide', weight: 20 }],
      rules: [{ id: 'dutch-wide', action: 'serve', variant: 'wide' }],
      targeting: [{ segments: [beta], variant: 'compact' }],
    });
    // Every member of the segment gets "compact" (the split alone would give all 20 of them compact with p ≈ 3e-11).
    for (let i = 0; i < 20; i++) expect(await ofrep(key, { targetingKey: `beta-${i}` })).toMatchObject({ value: 'compact-ui', variant: 'compact' });
    expect(await ofrep(key, { targetingKey: 'nl-user', country: 'NL' })).toMatchObject({ value: 'wide-ui', variant: 'wide', reason: 'TARGETING_MATCH' });
    const valueOf: Record<string, string> = { control: 'classic', compact: 'compact-ui', wide: 'wide-ui' };
    const seen = new Map<string, number>();
    // 200 users outside the rule and the segment: the split decides.
    for (let i = 0; i < 200; i++) {
      const answer = await ofrep(key, { targetingKey: `user-${i}` });
      expect(answer.value, `user-${i} got ${answer.variant}`).toBe(valueOf[answer.variant]);
      seen.set(answer.variant, (seen.get(answer.variant) ?? 0) + 1);
    }
    // Every split variant serves someone out of 200 (the smallest share, 20 %, misses all 200 with p ≈ 1e-19); "off" serves no one.
    expect([...seen.keys()].sort()).toEqual(['compact', 'control', 'wide']);
    expect(unexpected(errors)).toEqual([]);
  }, 120_000);

  it('creates an alert trigger whose URL is shown once; an Alertmanager alert to it kills the flag live and moves its counters; disables, enables and deletes after a confirm; lists code references', async () => {
    const errors: string[] = [];
    const key = uniqueKey('e2e-trigger');
    await createFlag(suite.stack, key, onForEveryone);
    const repository = `acme/checkout-${uniqueKey('r')}`;
    const upload = await suite.stack.request('PUT', '/api/v1/code-references', {
      body: {
        repository,
        references: [
          { flag: key, path: 'src/checkout/pay.ts', line: 12, kind: 'call' },
          { flag: key, path: 'src/checkout/pay.ts', line: 40, kind: 'call' },
          { flag: key, path: 'web/components/CheckoutButton.tsx', line: 7, kind: 'literal' },
        ],
      },
    });
    expect(upload.status, JSON.stringify(upload.body)).toBe(200);

    const { context, page } = await openPage(suite.browser, errors);
    onTestFailed(async () => {
      await shot(page, 'failure-flag-triggers');
    });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: suite.stack.api.url });
    let posts = 0;
    page.on('request', (request) => {
      if (request.method() === 'POST' && request.url().includes('/triggers')) posts++;
    });
    await signIn(page, suite.stack.api.url, ADMIN_TOKEN);
    await page.goto(`${suite.stack.api.url}/flags/${key}/production?tab=insights`);

    // Code references: the count, each file with its lines, the repository and when it was uploaded.
    const refs = page.getByTestId('code-references');
    await refs.and(page.locator('[data-files="2"]')).waitFor();
    expect(await refs.getByTestId('reference-count').textContent()).toBe('Referenced in 2 files.');
    const repo = refs.locator(`[data-repository="${repository}"]`);
    expect(await repo.locator('h4').textContent()).toMatch(new RegExp(`^${repository} uploaded `));
    expect(await repo.locator('li[data-path="src/checkout/pay.ts"]').textContent()).toBe('src/checkout/pay.ts lines 12, 40');
    expect(await repo.locator('li[data-path="web/components/CheckoutButton.tsx"]').textContent()).toBe('web/components/CheckoutButton.tsx line 7');

    // A trigger (on the Overview tab, beside the kill switch): a bad number is refused at its field before anything is sent.
    await page.getByRole('tab', { name: 'Overview' }).click();
    const panel = page.getByTestId('alert-triggers');
    await panel.getByTestId('no-triggers').waitFor();
    await panel.getByRole('button', { name: 'New alert trigger' }).click();
    const form = panel.getByRole('form', { name: 'New alert trigger in production' });
    await form.getByLabel('Name').fill('checkout 5xx');
    await form.getByLabel('Alerting system').selectOption('alertmanager');
    await form.getByLabel('Action').selectOption('kill');
    await form.getByLabel('Alerts needed').fill('0');
    await form.getByRole('button', { name: 'Create trigger' }).click();
    expect(await fieldError(page, 'min_alerts')).toMatch(/>=1|at least 1|too small/i);
    expect(posts).toBe(0);
    await form.getByLabel('Alerts needed').fill('1');
    await form.getByRole('button', { name: 'Create trigger' }).click();

    // The URL, once, with a copy button and the warning.
    const secret = panel.getByTestId('trigger-secret');
    await secret.waitFor();
    expect(await secret.textContent()).toContain('you will not see it again');
    const url = (await secret.getByTestId('trigger-url').textContent())!;
    expect(url).toMatch(new RegExp(`^${suite.stack.api.url}/hooks/v1/triggers/rc_trigger_[A-Za-z0-9_-]{43}$`));
    await secret.getByRole('button', { name: 'Copy URL' }).click();
    await secret.getByRole('button', { name: 'Copied' }).waitFor();
    expect(await page.evaluate<string>('navigator.clipboard.readText()')).toBe(url);
    // The URL shows as soon as the API answers; the list reloads after it.
    const row = panel.locator('tr[data-trigger]');
    await row.waitFor();
    expect(await row.count()).toBe(1);
    expect(await row.locator('[data-field="source"]').textContent()).toBe('Prometheus Alertmanager');
    expect(await row.locator('[data-field="condition"]').textContent()).toBe('any firing alert');
    expect(await row.locator('[data-field="last-fired"]').textContent()).toBe('never');
    // The list (the API's and the page's) never carries the secret.
    const secretPart = url.split('/').at(-1)!;
    expect(await panel.locator('table').textContent()).not.toContain(secretPart);
    expect(JSON.stringify((await suite.stack.request('GET', `/api/v1/flags/${key}/environments/production/triggers`)).body)).not.toContain(secretPart);

    // At phone width the panels (the long URL included) fit: nothing scrolls sideways.
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await sidewaysOverflow(page), 'triggers and code references at 390 px scroll sideways').toBeLessThanOrEqual(0);
    await shot(page, '43-triggers-390');
    await page.setViewportSize({ width: 1280, height: 800 });

    // Alertmanager calls the URL: the flag is killed, and the page shows it without a reload.
    const firing = JSON.stringify({
      version: '4', status: 'firing', receiver: 'ripcord', externalURL: 'http://alertmanager:9093',
      alerts: [{ status: 'firing', labels: { alertname: 'Checkout5xx', service: 'checkout' }, annotations: { summary: 'errors' }, startsAt: '2026-11-29T03:00:00Z', generatorURL: 'http://prometheus:9090/graph', fingerprint: 'e2e-fp-1' }],
    });
    const fired = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: firing });
    expect(fired.status).toBe(200);
    expect(await fired.json()).toMatchObject({ action: 'kill', changed: true });
    await page.getByTestId('killed-banner').waitFor({ timeout: 10_000 });
    expect(await page.getByTestId('killed-banner').textContent()).toContain('Checkout5xx');
    // The row reads again after the kill (or, at the latest, at its 10 s refresh): counts and the alert's name.
    await panel.locator('tr[data-trigger][data-fired="yes"]').waitFor({ timeout: 20_000 });
    expect(await page.getByTestId('served-variants').getAttribute('data-serving')).toBe('off');
    expect(await ofrep(key, { targetingKey: 'u1' })).toMatchObject({ value: false });
    expect(await row.locator('[data-field="counts"]').textContent()).toBe('1 delivery, 1 kill, 0 restores');
    expect(await row.locator('[data-field="last-fired"]').textContent()).toMatch(/\(Checkout5xx\)$/);
    expect(await row.locator('[data-field="last-delivery"]').textContent()).not.toBe('never');
    await shot(page, '44-trigger-fired');

    // A repeat changes nothing on the flag, yet the counters move on the page without a reload.
    const repeat = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: firing });
    expect(await repeat.json()).toMatchObject({ action: 'none' });
    await panel.locator('tr[data-trigger][data-deliveries="2"]').waitFor({ timeout: 20_000 });
    expect(await row.locator('[data-field="counts"]').textContent()).toBe('2 deliveries, 1 kill, 0 restores');

    // Disable asks first; disabled, the URL answers 404 like an unknown one; enabled again, it works.
    await row.getByRole('button', { name: 'Disable checkout 5xx' }).click();
    const disableDialog = page.getByRole('dialog', { name: 'Disable the trigger “checkout 5xx”?' });
    await disableDialog.waitFor();
    expect(await disableDialog.textContent()).toContain('answers as if it did not exist (404)');
    await disableDialog.getByRole('button', { name: 'Disable trigger' }).click();
    await panel.locator('tr[data-trigger][data-enabled="no"]').waitFor();
    expect(await row.locator('[data-field="state"]').textContent()).toBe('disabled: its URL answers 404');
    expect((await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(404);
    await row.getByRole('button', { name: 'Enable checkout 5xx' }).click();
    await page.getByRole('dialog', { name: 'Enable the trigger “checkout 5xx”?' }).getByRole('button', { name: 'Enable trigger' }).click();
    await panel.locator('tr[data-trigger][data-enabled="yes"]').waitFor();
    expect((await suite.stack.request('GET', `/api/v1/flags/${key}/environments/production/triggers`)).body.triggers[0]).toMatchObject({ enabled: true, deliveries_received: 2, kills_fired: 1 });
    const toggles = (await suite.stack.request('GET', `/api/v1/audit?resource_type=trigger&resource_id=${(await row.getAttribute('data-trigger'))!}`)).body.events.map((e: { action: string }) => e.action);
    expect(toggles.slice(0, 2)).toEqual(['trigger.enabled', 'trigger.disabled']);

    // Delete asks first; Cancel keeps it; confirmed, the URL stops working.
    await row.getByRole('button', { name: 'Delete checkout 5xx' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete the trigger “checkout 5xx”?' });
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('Its URL stops working at once');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect((await suite.stack.request('GET', `/api/v1/flags/${key}/environments/production/triggers`)).body.triggers).toHaveLength(1);
    await row.getByRole('button', { name: 'Delete checkout 5xx' }).click();
    await dialog.getByRole('button', { name: 'Delete trigger' }).click();
    await panel.getByTestId('no-triggers').waitFor();
    expect((await suite.stack.request('GET', `/api/v1/flags/${key}/environments/production/triggers`)).body.triggers).toHaveLength(0);
    expect((await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(404);
    await context.close();
    expect(unexpected(errors)).toEqual([]);
  }, 120_000);
  it("forms the browser would have blocked (url, required) send, and the API's refusal shows at the field in its words", async () => {
    const errors: string[] = [];
    const { page } = await openPage(suite.browser, errors);
    onTestFailed(async () => {
      await shot(page, 'failure-forms-api-words');
    });
    let posts = 0;
    page.on('request', (request) => {
      if (request.method() === 'POST' && request.url().includes('/api/v1/')) posts++;
    });
    /** The API's own message for a body (the form must show the same one at the field). */
    const apiSays = async (path: string, body: unknown, field: string) => {
      const answer = await suite.stack.request('POST', path, { body });
      expect(answer.status).toBe(400);
      return (answer.body.error.details as Array<{ path: string; message: string }>).find((d) => d.path === `body.${field}`)!.message;
    };
    await signIn(page, suite.stack.api.url, ADMIN_TOKEN);
    const nav = page.getByRole('navigation', { name: 'Main' });

    // Webhooks: a URL the browser's type=url check would have stopped with its own bubble.
    await nav.getByRole('link', { name: 'Webhooks' }).click();
    const webhook = page.getByRole('form', { name: 'New webhook' });
    await webhook.getByLabel('URL').fill('not a url');
    await webhook.getByLabel('flag.killed').check();
    const sentBefore = posts;
    await webhook.getByRole('button', { name: 'Create webhook' }).click();
    await page.locator('[data-field-error="url"]').waitFor();
    expect(posts).toBe(sentBefore + 1);
    expect(await fieldError(page, 'url')).toBe(await apiSays('/api/v1/webhooks', { url: 'not a url', events: ['flag.killed'] }, 'url'));

    // Tokens: an empty (required) name.
    await nav.getByRole('link', { name: 'Tokens' }).click();
    const token = page.getByRole('form', { name: 'New token' });
    await token.getByRole('button', { name: 'Create token' }).click();
    await page.locator('[data-field-error="name"]').waitFor();
    expect(await fieldError(page, 'name')).toBe(await apiSays('/api/v1/tokens', { name: '', kind: 'server', environment: 'production' }, 'name'));

    // Segments: conditions that are not JSON are refused at their field before anything is sent; then an empty (required) key.
    await nav.getByRole('link', { name: 'Segments' }).click();
    const segment = page.getByRole('form', { name: 'New segment' });
    await segment.getByLabel('Key').fill('not-sent');
    await segment.getByLabel(/^Conditions/).fill('[{"field": "country",');
    const beforeJson = posts;
    await segment.getByRole('button', { name: 'Create segment' }).click();
    expect(await fieldError(page, 'conditions')).toMatch(/^not JSON: /);
    expect(posts).toBe(beforeJson);
    await segment.getByLabel('Key').fill('');
    await segment.getByLabel('Kind').selectOption('list');
    await segment.getByRole('button', { name: 'Create segment' }).click();
    await page.locator('[data-field-error="key"]').waitFor();
    expect(await fieldError(page, 'key')).toBe(await apiSays('/api/v1/segments', { key: '', kind: 'list', members: [] }, 'key'));
    expect(unexpected(errors)).toEqual([]);
  }, 60_000);
});
