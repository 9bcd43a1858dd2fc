import { describe, expect, it, onTestFailed } from 'vitest';
import { ADMIN_TOKEN, uniqueKey } from '../integration/harness.js';
import { createUser } from '../integration/governance-helpers.js';
import { openPage, shot, sidewaysOverflow, signIn, unexpected } from './browser.js';
import { browserSuite } from './browser-suite.js';

/**
 * Release templates made and edited in the admin UI, in headless Chromium: from the flag page's empty
 * Template select (which says why it is empty and links to the form) to a template the flag can apply;
 * a bad step refused at its field before anything is sent; an edit (a phase moved, an audience added)
 * saved with PUT; a viewer sees why they can't; every screen at 1280 and 390 px without sideways scroll.
 */
describe('admin UI: release templates', () => {
  const suite = browserSuite();

  it('creates a template from the flag page’s empty state, refuses a bad step at its field, edits it, and the flag can apply it', async () => {
    const errors: string[] = [];
    // The empty state needs no templates at all: earlier files' templates are removed (nothing else runs meanwhile).
    const existing = await suite.stack.request('GET', '/api/v1/release-templates');
    for (const t of existing.body.templates as Array<{ name: string }>) {
      expect((await suite.stack.request('DELETE', `/api/v1/release-templates/${t.name}`)).status).toBe(204);
    }
    const key = uniqueKey('e2e-tpl-flag');
    expect((await suite.stack.request('POST', '/api/v1/flags', { body: { key, name: 'Template flag', type: 'boolean' } })).status).toBe(201);
    const segment = uniqueKey('beta');
    expect((await suite.stack.request('POST', '/api/v1/segments', { body: { key: segment, kind: 'list', members: ['ada'] } })).status).toBe(201);

    const { context, page } = await openPage(suite.browser, errors);
    onTestFailed(async () => {
      await shot(page, 'failure-release-templates');
    });
    await signIn(page, suite.stack.api.url, ADMIN_TOKEN);
    await page.goto(`${suite.stack.api.url}/flags/${key}/production?tab=rollouts`);
    const panel = page.getByTestId('pipelines');
    const empty = panel.getByTestId('no-templates');
    await empty.waitFor();
    expect(await empty.textContent()).toMatch(/^No release templates yet: a template lists the phases/);
    expect(await panel.getByLabel('Release template').isDisabled()).toBe(true);
    await shot(page, '60-flag-no-templates');
    await empty.getByRole('link', { name: 'Create one' }).click();
    await page.getByRole('heading', { name: 'New release template' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/release-templates/new');

    // The new form starts with one phase per environment, production behind an editor's approval.
    const phases = page.getByTestId('phase-editor');
    expect(await phases.count()).toBe(3);
    expect(await phases.nth(2).getByLabel('Environment').inputValue()).toBe('production');
    expect(await phases.nth(2).getByLabel('Approval before it starts').inputValue()).toBe('editor');
    const name = uniqueKey('standard').toLowerCase();
    await page.getByLabel('Template name').fill(name);
    await page.getByLabel('Description').fill('dev, then staging, then production in steps');
    const production = phases.nth(2);
    await production.getByLabel('Rollout').selectOption('gradual');
    await production.getByLabel('Step 2 percentage').fill('150');
    await production.getByLabel('Soak after it').fill('1 hour');
    await page.getByRole('button', { name: 'Create template' }).click();
    // Refused at the step's field, in the API's words, and nothing was sent.
    const stepError = page.locator('[data-field-error="phases.2.plan.steps.1.percentage"]');
    await stepError.waitFor();
    expect(await stepError.textContent()).toBe('a percentage from 0 to 100: not above 100');
    expect((await suite.stack.request('GET', `/api/v1/release-templates/${name}`)).status).toBe(404);
    await shot(page, '61-template-form-refused');

    await production.getByLabel('Step 2 percentage').fill('50');
    await page.getByRole('button', { name: 'Create template' }).click();
    await page.getByRole('heading', { name: 'Release templates' }).waitFor();
    const card = page.locator(`[data-template="${name}"]`);
    await card.waitFor();
    expect(await card.locator('li').allTextContents()).toEqual([
      'development: 100% at once',
      'staging: 100% at once',
      'production: an editor approves, then 10% → 50% → 100%, then soak 1 hour',
    ]);
    const created = await suite.stack.request('GET', `/api/v1/release-templates/${name}`);
    expect(created.body).toMatchObject({
      name, description: 'dev, then staging, then production in steps', version: 1,
      phases: [
        { environment: 'development', plan: { strategy: 'immediate', percentage: 100 } },
        { environment: 'staging', plan: { strategy: 'immediate', percentage: 100 } },
        {
          environment: 'production', approval: { role: 'editor' }, soak: '1 hour',
          plan: { strategy: 'gradual', steps: [{ percentage: 10, hold: '1 hour' }, { percentage: 50, hold: '1 hour' }, { percentage: 100 }] },
        },
      ],
    });
    expect(created.body.phases[0].approval).toBeUndefined();
    await shot(page, '62-templates-list');

    // Edit: staging first goes to a segment (an audience) and gets a name; development moves after it.
    await card.getByRole('link', { name }).click();
    await page.getByRole('heading', { name: `Release template ${name}` }).waitFor();
    expect(await page.getByLabel('Template name').getAttribute('readonly')).not.toBeNull();
    const staging = phases.nth(1);
    await staging.getByLabel('Phase name').fill('beta testers');
    await staging.getByLabel('Audience first (segments)').fill(segment);
    await staging.getByRole('button', { name: 'Move up' }).click();
    expect(await phases.nth(0).getByLabel('Environment').inputValue()).toBe('staging');
    await page.getByRole('button', { name: 'Save template' }).click();
    await card.waitFor();
    const edited = await suite.stack.request('GET', `/api/v1/release-templates/${name}`);
    expect(edited.body.version).toBe(2);
    expect(edited.body.phases.map((p: { environment: string }) => p.environment)).toEqual(['staging', 'development', 'production']);
    expect(edited.body.phases[0]).toMatchObject({ name: 'beta testers', audience: { segments: [segment] }, plan: { strategy: 'immediate', percentage: 100 } });
    // The production phase's plan came back unchanged through the form.
    expect(edited.body.phases[2]).toEqual(created.body.phases[2]);
    expect(await card.locator('li').first().textContent()).toBe(`beta testers (staging): ${segment} gets the on variant, then 100% at once`);

    // The flag's Template select now offers it.
    await page.goto(`${suite.stack.api.url}/flags/${key}/production?tab=rollouts`);
    const select = panel.getByLabel('Release template');
    await expect.poll(() => select.isDisabled()).toBe(false);
    expect(await select.locator('option').allTextContents()).toEqual([`${name} (staging: ${segment} → development → production)`]);
    expect(await panel.getByTestId('no-templates').count()).toBe(0);

    // At phone width: the list and the form fit without sideways scrolling.
    const phone = await openPage(suite.browser, errors, { width: 390, height: 800 });
    await signIn(phone.page, suite.stack.api.url, ADMIN_TOKEN);
    await phone.page.goto(`${suite.stack.api.url}/release-templates`);
    await phone.page.locator(`[data-template="${name}"]`).waitFor();
    expect(await sidewaysOverflow(phone.page)).toBeLessThanOrEqual(0);
    await shot(phone.page, '63-templates-list-phone');
    await phone.page.goto(`${suite.stack.api.url}/release-templates/${name}`);
    await phone.page.getByTestId('phase-editor').first().waitFor();
    await phone.page.getByTestId('phase-editor').nth(2).getByLabel('Rollout').waitFor();
    expect(await sidewaysOverflow(phone.page)).toBeLessThanOrEqual(0);
    await shot(phone.page, '64-template-form-phone');
    await phone.context.close();

    // A viewer reads templates but is told why they can't change them.
    const viewer = await createUser(suite.stack, 'viewer');
    const reader = await openPage(suite.browser, errors);
    await signIn(reader.page, suite.stack.api.url, viewer.token);
    await reader.page.goto(`${suite.stack.api.url}/release-templates/${name}`);
    const saveButton = reader.page.getByRole('button', { name: 'Save template' });
    await saveButton.waitFor();
    expect(await saveButton.isDisabled()).toBe(true);
    expect(await reader.page.locator('.denied .reason').first().textContent()).toBe('only editors and admins change release templates; you are a viewer');
    await reader.context.close();

    expect(unexpected(errors)).toEqual([]);
    await context.close();
  });
});
