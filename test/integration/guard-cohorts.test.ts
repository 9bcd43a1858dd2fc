import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cohortRatesByEnvironment, guardCohorts } from '../../src/flag-metrics/event-store.js';
import { startStack, uniqueKey, type Stack } from './harness.js';

/**
 * Events guards compare the treated cohort with the untreated one. With named variants, "untreated"
 * is the config's off variant (here `control`), not a variant literally named `off`: events from the
 * control group must never count as the treatment's errors.
 */
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({}, { worker: false });
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

describe('guard cohorts with named variants', () => {
  it('counts the off variant as untreated, whatever its name', async () => {
    const key = uniqueKey('cohorts');
    expect((await stack.request('POST', '/api/v1/flags', { body: { key, name: key, type: 'boolean' } })).status).toBe(201);
    const put = await stack.request('PUT', `/api/v1/flags/${key}/environments/production`, {
      body: { enabled: true, variants: [{ name: 'control', value: false }, { name: 'treatment', value: true }], on_variant: 'treatment', off_variant: 'control' },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const since = new Date(Date.now() - 60_000);
    await stack.db.query(
      `INSERT INTO flag_events (flag_key, environment, variant, minute, successes, errors, reporter)
       VALUES ($1, 'production', 'control', date_trunc('minute', now()), 90, 10, 'token:a'), ($1, 'production', 'treatment', date_trunc('minute', now()), 99, 1, 'token:a')`,
      [key],
    );
    const cohorts = await guardCohorts(stack.db, key, 'production', since, 0);
    expect(cohorts.treated).toEqual({ samples: 100, errors: 1 });
    expect(cohorts.untreated).toEqual({ samples: 100, errors: 10 });
    const rates = await cohortRatesByEnvironment(stack.db, key, ['production'], since);
    expect(rates.get('production')).toEqual({ treated: { samples: 100, errors: 1 }, untreated: { samples: 100, errors: 10 } });
  });
});
