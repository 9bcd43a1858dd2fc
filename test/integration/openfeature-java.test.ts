import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './harness.js';
import { createToken } from './serving-helpers.js';
import { createClientFlags, runClient } from './openfeature-clients.js';

// OpenFeature's official Java OFREP provider (dev.openfeature.contrib.providers:ofrep 0.0.2 with
// dev.openfeature:sdk 1.22.0, pinned in test/clients/java/pom.xml; the jars are fetched from Maven
// Central into .tools/java-openfeature/lib by scripts/test.sh) against the real API.

const lib = fileURLToPath(new URL('../../.tools/java-openfeature/lib/', import.meta.url));
const source = fileURLToPath(new URL('../clients/java/OfrepClient.java', import.meta.url));

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

describe('Java: dev.openfeature.contrib.providers:ofrep 0.0.2', () => {
  it('evaluates every type, reports FLAG_NOT_FOUND and TYPE_MISMATCH, and sees a kill', async () => {
    const flags = await createClientFlags(stack, 'java');
    const token = await createToken(stack.db, 'server');
    const args = ['-cp', `${lib}*`, source, stack.api.url, JSON.stringify(flags)];
    const { first, second } = await runClient('java', args, { RIPCORD_TOKEN: token }, async () => {
      const kill = await stack.request('POST', `/api/v1/flags/${flags.killed}/environments/production/kill-switch`, { body: { reason: 'java provider test' } });
      expect(kill.status).toBe(201);
    }, 120_000);

    expect(first.provider).toBe('ofrep');
    expect(first.boolean).toMatchObject({ value: true, variant: 'on', errorCode: null });
    expect(first.string).toMatchObject({ value: 'dark', variant: 'on', reason: 'STATIC', errorCode: null });
    expect(first.integer).toMatchObject({ value: 42, errorCode: null });
    expect(first.float).toMatchObject({ value: 2.5, errorCode: null });
    expect(first.object).toMatchObject({ value: { theme: 'dark', columns: 3 }, errorCode: null });
    expect(first.unknown).toMatchObject({ value: true, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' });
    expect(first.mismatch).toMatchObject({ value: 'fallback', reason: 'ERROR', errorCode: 'TYPE_MISMATCH' });
    expect(first.beforeKill).toMatchObject({ value: true, errorCode: null });
    expect(second.afterKill).toMatchObject({ value: false, reason: 'DISABLED', variant: 'off', errorCode: null });
  }, 180_000);
});
