import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFailed } from 'vitest';
import { parse } from 'yaml';
import { ADMIN_TOKEN, uniqueKey } from '../integration/harness.js';
import { openPage, shot, sidewaysOverflow, signIn, unexpected } from './browser.js';
import { browserSuite } from './browser-suite.js';

/**
 * An alert trigger set up and tested from the UI, in headless Chromium against the real stack: at
 * creation the Alertmanager route and receiver and a curl command carry the trigger's URL (YAML that
 * reads back, a command the shell runs and that fires the trigger); "Send test alert" asks first, goes
 * through the hook's own path and says what it did — nothing, with the reason, for a trigger waiting
 * for more alerts; a kill, shown live, for one that fires on any alert.
 */
describe('admin UI: alert trigger set-up and test alerts', () => {
  const suite = browserSuite();

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
