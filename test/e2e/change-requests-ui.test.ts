import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import { ADMIN_TOKEN, eventually, uniqueKey } from '../integration/harness.js';
import { createFlag, createUser } from '../integration/governance-helpers.js';
import { openPage, shot, sidewaysOverflow, signIn, unexpected } from './browser.js';
import { browserSuite } from './browser-suite.js';

/**
 * Change requests in the admin UI, in headless Chromium against the real API,
 * worker, Postgres and Temporal: an admin sets production's policy in the policy editor; an editor's
 * save becomes a change request (OFREP keeps serving the old value) and their own request offers no
 * Approve; a second user's reject without a comment is refused at the field, their approval applies
 * the change through the changeRequest workflow, and the page follows it to `applied`.
 */
describe('change requests page', () => {
  const suite = browserSuite();
  const POLICY = '/api/v1/environments/production/change-policy';

  afterAll(async () => {
    // Later files write production configs as the bootstrap admin: the policy must not outlive this file.
    if (suite.stack) expect((await suite.stack.request('PUT', POLICY, { body: { required_approvals: 0 } })).status).toBe(200);
  });

  const served = async (key: string) => {
    const answer = await suite.stack.request('POST', `/ofrep/v1/evaluate/flags/${key}`, { headers: { 'x-environment': 'production' }, body: { context: { targetingKey: 'u1' } } });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return answer.body.value as boolean;
  };

  it('policy editor, an editor’s save becoming a request, no self-approval, a refused empty reject, another user’s approval applying it', async () => {
    const errors: string[] = [];
    const key = await createFlag(suite.stack, 'e2e-cr');
    const author = await createUser(suite.stack, 'editor');
    const approver = await createUser(suite.stack, 'editor');
    expect(await served(key)).toBe(false);

    // 1. The admin sets production's policy in the editor: a bad count is refused at its field before any request.
    const admin = await openPage(suite.browser, errors);
    onTestFailed(async () => {
      await shot(admin.page, 'failure-cr-admin').catch(() => undefined); // the page may be closed already
    });
    let policyPuts = 0;
    admin.page.on('request', (request) => {
      if (request.method() === 'PUT' && request.url().endsWith('/change-policy')) policyPuts++;
    });
    await signIn(admin.page, suite.stack.api.url, ADMIN_TOKEN);
    await admin.page.goto(`${suite.stack.api.url}/change-requests`);
    const policy = admin.page.getByTestId('change-policy');
    expect(await policy.getByLabel('Environment').inputValue()).toBe('production');
    await policy.getByLabel('Required approvals').fill('11');
    await policy.getByRole('button', { name: 'Save policy of production' }).click();
    await admin.page.locator('[data-field-error="required_approvals"]').waitFor();
    expect(policyPuts).toBe(0);
    await policy.getByLabel('Required approvals').fill('1');
    // Whatever the enum holds is offered; configs stays covered.
    expect(await policy.getByLabel('config edits').isChecked()).toBe(true);
    await policy.getByLabel('Reason (for the audit log)').fill('e2e: four eyes in production');
    await policy.getByRole('button', { name: 'Save policy of production' }).click();
    await policy.getByTestId('policy-saved').waitFor();
    expect(policyPuts).toBe(1);
    const stored = (await suite.stack.request('GET', POLICY)).body;
    expect(stored).toMatchObject({ required_approvals: 1, approver_role: null, approver_user_ids: [], restore_requires_approval: false });
    expect(stored.covers).toContain('configs');
    await admin.context.close();

    // 2. The editor saves a config: the page says it became a change request, not "saved"; nothing is served yet.
    const editor = await openPage(suite.browser, errors);
    onTestFailed(async () => {
      await shot(editor.page, 'failure-cr-editor').catch(() => undefined); // the page may be closed already
    });
    await signIn(editor.page, suite.stack.api.url, author.token);
    await editor.page.goto(`${suite.stack.api.url}/flags/${key}/production?tab=targeting`);
    await editor.page.getByLabel('Enabled').selectOption('true');
    await editor.page.getByRole('button', { name: 'Review changes' }).click();
    expect(await editor.page.getByLabel('Review the change').getByTestId('creates-request').textContent()).toBe('Saving creates a change request needing 1 approval in production: nothing changes until it is approved.');
    // An editor holds no bypass right: the option is not offered.
    expect(await editor.page.getByLabel('Bypass the change policy (emergency)').count()).toBe(0);
    await editor.page.getByLabel('Reason (for the audit log)').fill('launch to everyone');
    // Under the policy the button says what it does.
    expect(await editor.page.getByRole('button', { name: 'Save', exact: true }).count()).toBe(0);
    await editor.page.getByRole('button', { name: 'Request approval', exact: true }).click();
    const created = editor.page.getByTestId('change-request-created');
    await created.waitFor();
    expect(await created.textContent()).toMatch(/'production' requires 1 approval from users who may change flags in 'production': the change was not applied/);
    expect(await editor.page.getByTestId('saved').count()).toBe(0);
    const id = await created.getAttribute('data-change-request');
    expect(id).toBeTruthy();
    expect(await served(key)).toBe(false);
    // The flag page's banner lists it.
    await editor.page.getByTestId('waiting-change-requests').waitFor();
    await shot(editor.page, '60-cr-created');

    // Their own request: its diff and reason, Withdraw, but no Approve or Reject; the API refuses self-approval too.
    await created.getByRole('link', { name: 'Open the change request' }).click();
    const detail = editor.page.getByTestId('change-request');
    await detail.and(editor.page.locator('[data-status="pending"]')).waitFor();
    expect(await detail.locator('[data-field="enabled"] pre').allTextContents()).toEqual(['false', 'true']);
    expect(await detail.getByText('launch to everyone').count()).toBe(1);
    expect(await detail.getByRole('button', { name: 'Withdraw' }).count()).toBe(1);
    expect(await detail.getByRole('button', { name: 'Approve' }).count()).toBe(0);
    expect(await detail.getByRole('button', { name: 'Reject' }).count()).toBe(0);
    expect(await detail.getByRole('note').textContent()).toBe('You made this request: someone else must approve it.');
    const self = await suite.stack.request('POST', `/api/v1/change-requests/${id}/approve`, { token: author.token, body: {} });
    expect(self.status).toBe(403);
    expect(self.body.error.message).toMatch(/self-approval is refused/);
    await editor.context.close();

    // 3. The approver: the nav counts what they may decide; the list (at phone width too) links the request.
    const second = await openPage(suite.browser, errors);
    onTestFailed(async () => {
      await shot(second.page, 'failure-cr-approver').catch(() => undefined); // the page may be closed already
    });
    const decisions: string[] = [];
    second.page.on('request', (request) => {
      if (request.method() === 'POST' && request.url().includes('/change-requests/')) decisions.push(request.url().split('/').at(-1)!);
    });
    await signIn(second.page, suite.stack.api.url, approver.token);
    await second.page.goto(`${suite.stack.api.url}/change-requests?flag=${key}`);
    expect(Number(await second.page.getByTestId('pending-decisions').textContent())).toBeGreaterThanOrEqual(1);
    const row = second.page.locator(`tr[data-change-request="${id}"]`);
    await row.waitFor();
    expect(await row.getAttribute('data-status')).toBe('pending');
    expect(await row.locator('td[data-label="Approvals"]').textContent()).toBe('0/1');
    expect(await row.locator('td[data-label="Kind"]').textContent()).toBe('config put');
    await second.page.setViewportSize({ width: 390, height: 844 });
    expect(await sidewaysOverflow(second.page), 'the change requests page at 390 px scrolls sideways').toBeLessThanOrEqual(0);
    await shot(second.page, '61-cr-list-390');
    await row.getByRole('link').click();
    const page = second.page.getByTestId('change-request');
    await page.and(second.page.locator('[data-status="pending"]')).waitFor();
    expect(await sidewaysOverflow(second.page), 'a change request at 390 px scrolls sideways').toBeLessThanOrEqual(0);
    await shot(second.page, '62-cr-detail-390');
    await second.page.setViewportSize({ width: 1280, height: 800 });

    // A reject needs a comment: refused at the field, nothing sent.
    await page.getByRole('button', { name: 'Reject' }).click();
    expect(await second.page.locator('[data-field-error="comment"]').textContent()).toMatch(/must contain a visible character/);
    expect(decisions).toEqual([]);

    // The approval applies it: the page follows the request to applied, and OFREP serves the change.
    await page.getByLabel('Comment (optional to approve, required to reject)').fill('looks right');
    await page.getByRole('button', { name: 'Approve' }).click();
    await eventually(async () => (await suite.stack.request('GET', `/api/v1/change-requests/${id}`)).body.status === 'applied', `change request ${id} to apply`, 30_000);
    await second.page.locator('[data-testid="change-request"][data-status="applied"]').waitFor({ timeout: 15_000 });
    expect(decisions).toEqual(['approve']);
    expect(await page.getByTestId('cr-approval-list').textContent()).toContain('looks right');
    const version = (await suite.stack.request('GET', `/api/v1/flags/${key}/environments/production`)).body.version;
    expect(await page.getByTestId('cr-applied-version').textContent()).toBe(`version ${version}`);
    expect(await page.getByTestId('cr-outcome').textContent()).toMatch(/^Outcome: applied/);
    expect(await page.getByTestId('workflow-id').textContent()).toBe(`change-request:production:${key}:${id}`);
    expect(await page.getByTestId('workflow-link').getAttribute('href')).toBe(
      `${suite.stack.config.TEMPORAL_UI_URL}/namespaces/${suite.stack.config.TEMPORAL_NAMESPACE}/workflows/${encodeURIComponent(`change-request:production:${key}:${id}`)}`,
    );
    expect(await page.getByRole('button', { name: 'Approve' }).count()).toBe(0);
    await eventually(async () => (await served(key)) === true, 'OFREP to serve the approved change');
    await shot(second.page, '63-cr-applied');
    await second.context.close();
    expect(unexpected(errors)).toEqual([]);
  }, 120_000);

  it('a covered rollout start and segment edit become requests; an admin’s bypass needs a reason at the field, then saves at once', async () => {
    const errors: string[] = [];
    const key = await createFlag(suite.stack, 'e2e-cr-bypass');
    expect((await suite.stack.request('PUT', POLICY, { body: { required_approvals: 0 } })).status).toBe(200);
    // A segment the flag's production config targets: a policy covering segments gates its edits.
    const segment = uniqueKey('e2e-cr-seg').toLowerCase();
    expect((await suite.stack.request('POST', '/api/v1/segments', { body: { key: segment, kind: 'list', members: ['u-1'] } })).status).toBe(201);
    expect((await suite.stack.request('PUT', `/api/v1/flags/${key}/environments/production`, { body: { enabled: false, value: true, off_value: false, targeting: [{ segments: [segment], percentage: 100 }] } })).status).toBe(200);
    expect((await suite.stack.request('PUT', POLICY, { body: { required_approvals: 2, covers: ['configs', 'rollouts', 'segments'] } })).status).toBe(200);
    const { context, page } = await openPage(suite.browser, errors);
    onTestFailed(async () => {
      await shot(page, 'failure-cr-bypass').catch(() => undefined); // the page may be closed already
    });
    let puts = 0;
    page.on('request', (request) => {
      if (request.method() === 'PUT' && request.url().includes(`/flags/${key}/`)) puts++;
    });
    await signIn(page, suite.stack.api.url, ADMIN_TOKEN);
    await page.goto(`${suite.stack.api.url}/flags/${key}/production?tab=rollouts`);

    // Starting a rollout: the form says it becomes a request; the answer links it; no rollout runs.
    const rollouts = page.getByRole('form', { name: 'Start a rollout in production' });
    await rollouts.getByLabel('Strategy').selectOption('immediate');
    expect(await rollouts.getByTestId('creates-request').textContent()).toBe('Starting this rollout creates a change request needing 2 approvals in production: nothing changes until it is approved.');
    await rollouts.getByRole('button', { name: 'Start rollout' }).click();
    const created = rollouts.getByTestId('change-request-created');
    await created.waitFor();
    const id = await created.getAttribute('data-change-request');
    expect((await suite.stack.request('GET', `/api/v1/change-requests/${id}`)).body).toMatchObject({ kind: 'rollout', status: 'pending', required_approvals: 2 });
    await page.getByTestId('waiting-change-requests').waitFor();

    // The admin's emergency bypass: refused at the reason field until there is one, then applied at once.
    await page.getByRole('tab', { name: 'Targeting & variants' }).click();
    await page.getByLabel('Enabled').selectOption('true');
    await page.getByRole('button', { name: 'Review changes' }).click();
    const review = page.getByLabel('Review the change');
    await review.getByLabel('Bypass the change policy (emergency)').check();
    await review.getByTestId('bypass-notice').waitFor();
    await review.getByRole('button', { name: 'Save', exact: true }).click();
    expect(await page.locator('[data-field-error="reason"]').textContent()).toBe('required to bypass the change policy (it is audited)');
    expect(puts).toBe(0);
    await review.getByLabel('Reason (for the audit log)').fill('incident 7: force it on');
    await review.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByTestId('saved').waitFor();
    expect(puts).toBe(1);
    expect(await served(key)).toBe(true);
    const [event] = (await suite.stack.request('GET', `/api/v1/audit?flag=${key}&action=flag.config.updated`)).body.events;
    expect(event).toMatchObject({ reason: 'incident 7: force it on', metadata: expect.objectContaining({ changePolicyBypass: true }) });

    // A segment edit: the segments page shows the API's message and links the request, whose diff names the members.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Segments' }).click();
    await page.locator('tr', { hasText: segment }).getByRole('button', { name: 'Edit' }).click();
    await page.getByLabel('Add members (one per line)').fill('u-2');
    await page.getByRole('form', { name: `Edit segment ${segment}` }).getByRole('button', { name: 'Save' }).click();
    const segmentRequest = page.getByTestId('change-request-created');
    await segmentRequest.waitFor();
    await segmentRequest.getByRole('link', { name: 'Open the change request' }).click();
    const detail = page.getByTestId('change-request');
    await detail.and(page.locator('[data-status="pending"]')).waitFor();
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(`segment ${segment} in production`);
    expect(await detail.locator('[data-field="members"]').count()).toBe(1);
    // An admin other than the author may decide it.
    expect(await detail.getByRole('button', { name: 'Withdraw' }).count()).toBe(1);
    await context.close();
    expect(unexpected(errors)).toEqual([]);
  }, 60_000);
});
