import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnvironmentToken, createUser } from '../governance-helpers.js';
import { eventually, startStack, type Stack } from '../harness.js';

// Streams are capped per token and per address (429 + Retry-After), so one client token can't hold
// hundreds open, and revoking a token or deactivating its user closes its open streams in every API
// process: no event reaches a revoked token.

let stack: Stack;
let second: Stack;
beforeAll(async () => {
  const limits = { MAX_STREAMS_PER_TOKEN: '3', MAX_STREAMS_PER_ADDRESS: '5' };
  stack = await startStack(limits);
  // Another API process on the same Postgres and Redis: revocation reaches it over pub/sub.
  second = await startStack(limits, { worker: false });
});
afterAll(async () => {
  controllers.forEach((c) => c.abort());
  await second?.close();
  await stack?.close();
});

const controllers: AbortController[] = [];

/** Opens a stream and reports when it has ended (the server closed it). */
async function openStream(url: string, token: string) {
  const controller = new AbortController();
  controllers.push(controller);
  const response = await fetch(`${url}/api/v1/stream`, { headers: { authorization: `Bearer ${token}` }, signal: controller.signal });
  let ended = false;
  if (response.status === 200) {
    const reader = response.body!.getReader();
    void (async () => {
      try {
        while (!(await reader.read()).done);
      } catch {
        // aborted or reset: ended all the same
      }
      ended = true;
    })();
  } else {
    await response.text();
  }
  return { response, ended: () => ended, close: () => controller.abort() };
}

describe('stream caps', () => {
  it('refuses a token past MAX_STREAMS_PER_TOKEN and an address past MAX_STREAMS_PER_ADDRESS with 429 and Retry-After; a closed stream frees its place', async () => {
    const a = await createEnvironmentToken(stack, 'client', 'staging');
    const b = await createEnvironmentToken(stack, 'client', 'staging');
    const held = [];
    for (let i = 0; i < 3; i++) held.push(await openStream(stack.api.url, a.token));
    expect(held.map((s) => s.response.status)).toEqual([200, 200, 200]);
    const overToken = await openStream(stack.api.url, a.token);
    expect(overToken.response.status).toBe(429);
    expect(Number(overToken.response.headers.get('retry-after'))).toBeGreaterThan(0);

    held.push(await openStream(stack.api.url, b.token), await openStream(stack.api.url, b.token));
    const overAddress = await openStream(stack.api.url, b.token);
    expect(overAddress.response.status).toBe(429);
    expect(overAddress.response.headers.get('retry-after')).not.toBeNull();

    held[0]!.close();
    await eventually(async () => (await openStream(stack.api.url, b.token)).response.status === 200, 'the freed place to be taken');
    held.forEach((s) => s.close());
  });
});

describe('streams end with their credentials', () => {
  it('closes a revoked token\'s streams in this and another API process, and leaves other tokens\' streams open', async () => {
    const doomed = await createEnvironmentToken(stack, 'server', 'staging');
    const other = await createEnvironmentToken(stack, 'server', 'staging');
    const here = await openStream(stack.api.url, doomed.token);
    const there = await openStream(second.api.url, doomed.token);
    const bystander = await openStream(stack.api.url, other.token);
    expect([here.response.status, there.response.status, bystander.response.status]).toEqual([200, 200, 200]);

    expect((await stack.request('DELETE', `/api/v1/tokens/${doomed.id}`)).status).toBe(200);
    await eventually(async () => here.ended() && there.ended(), 'both streams of the revoked token to end');
    expect(bystander.ended()).toBe(false);
    bystander.close();
  });

  it("closes a deactivated user's streams: their admin token's and those of the server tokens they made", async () => {
    const editor = await createUser(stack, 'editor');
    const made = await stack.request('POST', '/api/v1/tokens', { token: editor.token, body: { name: 'made by the editor', kind: 'server', environment: 'staging' } });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const own = await openStream(stack.api.url, editor.token);
    const theirs = await openStream(second.api.url, made.body.token);
    expect([own.response.status, theirs.response.status]).toEqual([200, 200]);

    expect((await stack.request('DELETE', `/api/v1/users/${editor.id}`)).status).toBe(200);
    await eventually(async () => own.ended() && theirs.ended(), "the deactivated user's streams to end");
    expect((await openStream(stack.api.url, made.body.token)).response.status).toBe(401);
  });
});
