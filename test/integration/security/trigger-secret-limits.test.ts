import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../../src/auth/principal.js';
import { alertTriggerSecretExists } from '../../../src/alert-triggers/alert-trigger-store.js';
import { TriggerSecretGuard } from '../../../src/alert-triggers/trigger-secret-guard.js';
import { AuthFailureLimiter } from '../../../src/serving/auth-failure-limiter.js';
import { createFlag } from '../governance-helpers.js';
import { startStack, type Stack } from '../harness.js';

/**
 * Unknown alert-trigger secrets are failed authentications of the caller's address, on the same
 * budget as bogus tokens (AUTH_FAILURES_PER_MINUTE): past it, 429 with Retry-After before any lookup,
 * and each unknown secret costs one indexed read at most, never a transaction. A trigger whose secret
 * is already known keeps working from that address.
 */

const FAILURES = 5;
let stack: Stack;
/** Two triggers' paths, made before any test spends this address's budget (which refuses the admin's token too). */
const paths: string[] = [];
beforeAll(async () => {
  stack = await startStack({ AUTH_FAILURES_PER_MINUTE: String(FAILURES) }, { worker: false });
  for (const name of ['quiet', 'guarded']) {
    const key = await createFlag(stack, 'trigger-limits');
    const created = await stack.request('POST', `/api/v1/flags/${key}/environments/production/triggers`, { body: { name, source: 'alertmanager' } });
    expect(created.status).toBe(201);
    paths.push(created.body.path);
  }
});
afterAll(async () => {
  await stack?.close();
});

const randomSecret = () => `rc_trigger_${randomBytes(32).toString('base64url')}`;
const resolved = { version: '4', status: 'resolved', alerts: [{ status: 'resolved', labels: { alertname: 'Quiet' }, annotations: {}, startsAt: '2026-11-28T10:00:00Z', fingerprint: 'fp-quiet' }] };
const deliver = (path: string) => stack.request('POST', path, { body: resolved, token: null });

describe('unknown trigger secrets from one address', () => {
  it(`answer 404 ${FAILURES} times, then 429 with Retry-After for 600 more, while the address's known trigger still works`, async () => {
    const known = paths[0]!;
    expect((await deliver(known)).body).toMatchObject({ action: 'none' });

    const statuses = new Map<number, number>();
    let retryAfter = 0;
    for (let i = 0; i < 600 + FAILURES; i++) {
      const response = await deliver(`/hooks/v1/triggers/${randomSecret()}`);
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      if (response.status === 429) retryAfter = Number(response.headers.get('retry-after'));
    }
    expect(Object.fromEntries(statuses)).toEqual({ 404: FAILURES, 429: 600 });
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Bogus bearer tokens are refused too: one budget for every credential guessed from an address.
    expect((await stack.request('GET', '/api/v1/flags', { token: `rc_admin_${'g'.repeat(40)}` })).status).toBe(429);

    const again = await deliver(known);
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body).toMatchObject({ action: 'none' });
  });
});

describe('TriggerSecretGuard against the real table', () => {
  it('costs one indexed read per unknown secret within the budget and none after it; a known secret is read once', async () => {
    let reads = 0;
    const exists = (hash: string) => ((reads += 1), alertTriggerSecretExists(stack.db, hash));
    const guard = new TriggerSecretGuard(exists, new AuthFailureLimiter(FAILURES));
    const outcomes = new Map<string, number>();
    for (let i = 0; i < 600; i++) {
      const outcome = await guard.admit(hashToken(randomSecret()), '192.0.2.7').then(() => 'admitted', (error: Error) => error.constructor.name);
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    expect(Object.fromEntries(outcomes)).toEqual({ NotFoundError: FAILURES, RateLimitedError: 600 - FAILURES });
    expect(reads).toBe(FAILURES);
    // Another address has a budget of its own.
    await expect(guard.admit(hashToken(randomSecret()), '192.0.2.8')).rejects.toThrow('No trigger at this address');

    const secretHash = hashToken(paths[1]!.split('/').pop()!);
    const before = reads;
    await guard.admit(secretHash, '192.0.2.9');
    await guard.admit(secretHash, '192.0.2.7'); // known now: passes even from the address past its budget
    expect(reads).toBe(before + 1);
  });
});
