import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './harness.js';
import { createToken } from './serving-helpers.js';
import { createClientFlags, runClient } from './openfeature-clients.js';

// OpenFeature's official Python OFREP provider (openfeature-provider-ofrep 0.3.0 with
// openfeature-sdk 0.10.0, pinned in test/clients/python/requirements.txt and installed into
// .tools/venv-openfeature by scripts/test.sh) against the real API.

const python = fileURLToPath(new URL('../../.tools/venv-openfeature/bin/python', import.meta.url));
const script = fileURLToPath(new URL('../clients/python/ofrep_client.py', import.meta.url));

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

describe('Python: openfeature-provider-ofrep 0.3.0', () => {
  it('evaluates every type, reports FLAG_NOT_FOUND and TYPE_MISMATCH, and sees a kill', async () => {
    const flags = await createClientFlags(stack, 'py');
    const token = await createToken(stack.db, 'server');
    const { first, second } = await runClient(python, [script, stack.api.url, JSON.stringify(flags)], { RIPCORD_TOKEN: token }, async () => {
      const kill = await stack.request('POST', `/api/v1/flags/${flags.killed}/environments/production/kill-switch`, { body: { reason: 'python provider test' } });
      expect(kill.status).toBe(201);
    });

    expect(first.provider).toBe('OpenFeature Remote Evaluation Protocol Provider');
    expect(first.boolean).toMatchObject({ value: true, variant: 'on', errorCode: null });
    expect(first.string).toMatchObject({ value: 'dark', variant: 'on', reason: 'STATIC', errorCode: null });
    expect(first.integer).toMatchObject({ value: 42, errorCode: null });
    expect(first.float).toMatchObject({ value: 2.5, errorCode: null });
    expect(first.object).toMatchObject({ value: { theme: 'dark', columns: 3 }, errorCode: null });
    expect(first.unknown).toMatchObject({ value: true, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' });
    expect(first.mismatch).toMatchObject({ value: 'fallback', reason: 'ERROR', errorCode: 'TYPE_MISMATCH' });
    expect(first.beforeKill).toMatchObject({ value: true, errorCode: null });
    expect(second.afterKill).toMatchObject({ value: false, reason: 'DISABLED', variant: 'off', errorCode: null });
  });
});
