/**
 * A change's announcement to the other replicas, and a replica's acknowledgement of it, go to Redis
 * before the process does the rest of the change's synchronous work (its stream fan-out to every SSE
 * client of the process). The listener runs in a process of its own, so it hears them while this one
 * is still busy.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ackChannel, ChangeAcker, parseAck } from '../../src/serving/change-acks.js';
import { createFlagPublisher } from '../../src/cache/flag-publisher.js';
import { RedisProjection } from '../../src/cache/projection.js';
import { defaultConfigFor } from '../../src/domain/flag.js';
import { createLogger } from '../../src/logger.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const config = loadConfig({ ...process.env, RIPCORD_ADMIN_TOKEN: 'change-acks-test-token-0123456789' });
const prefix = `acks-${randomBytes(4).toString('hex')}`;
const redis = new Redis(config.REDIS_URL);
const listeners: ChildProcess[] = [];

afterAll(() => {
  for (const listener of listeners) listener.kill('SIGKILL');
  redis.disconnect();
});

/** A process subscribed to `channel` (the ack channel unless named), printing each message with the moment it heard it. */
async function listen(channel = ackChannel(prefix)): Promise<Map<string, number>> {
  const source = `
    import { Redis } from 'ioredis';
    const sub = new Redis(process.env.URL);
    sub.on('message', (_channel, message) => console.log(JSON.stringify({ at: Date.now(), message })));
    await sub.subscribe(process.env.CHANNEL);
    console.log(JSON.stringify({ ready: true }));`;
  const listener = spawn(process.execPath, ['--input-type=module', '-e', source], { cwd: root, env: { ...process.env, URL: config.REDIS_URL, CHANNEL: channel }, stdio: ['ignore', 'pipe', 'inherit'] });
  listeners.push(listener);
  const heard = new Map<string, number>();
  await new Promise<void>((resolve, reject) => {
    listener.once('exit', (code) => reject(new Error(`the listener exited (${code})`)));
    createInterface({ input: listener.stdout! }).on('line', (line) => {
      const parsed = JSON.parse(line) as { ready?: boolean; at?: number; message?: string };
      if (parsed.ready) resolve();
      const ack = parsed.message ? parseAck(parsed.message) : null;
      if (ack) heard.set(`${ack.flag}@${ack.version}`, parsed.at!);
      const change = parsed.message && !ack ? (JSON.parse(parsed.message) as { definition?: { key: string; version: number } }) : undefined;
      if (change?.definition) heard.set(`${change.definition.key}@${change.definition.version}`, parsed.at!);
    });
  });
  return heard;
}

async function until(done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('a replica\'s announcement and acknowledgement of a change', () => {
  it('is on the wire before the synchronous work that follows the change (the stream fan-out) ends', async () => {
    const heard = await listen();
    const acker = new ChangeAcker({ redis, replica: 'replica-a', prefix });
    // The first ack loads the script on this connection.
    acker.ack('production', 'warm-up', 1);
    await until(() => heard.has('warm-up@1'), 'the warm-up ack');

    acker.ack('production', 'checkout', 7);
    // What a change does next on a replica: a fan-out to thousands of streams, without yielding.
    const busyUntil = Date.now() + 300;
    while (Date.now() < busyUntil) {
      // busy, as a synchronous fan-out is
    }
    await until(() => heard.has('checkout@7'), 'the ack');
    expect(heard.get('checkout@7')!).toBeLessThan(busyUntil);
    expect(acker.sent).toBe(2);
  });

  it('announces a change to the other replicas before applying it here (and fanning it out to this process\'s streams)', async () => {
    const projection = new RedisProjection(redis, prefix);
    const heard = await listen(projection.channel);
    let busyUntil = 0;
    const publisher = createFlagPublisher({
      projection, logger: createLogger('silent', 'test'),
      applyLocally: () => {
        busyUntil = Date.now() + 300;
        while (Date.now() < busyUntil) {
          // a synchronous fan-out to this process's stream clients
        }
      },
    });
    const definition = { key: 'announced', type: 'boolean' as const, environment: 'production', version: 11, config: defaultConfigFor('boolean') };
    expect(await publisher.publish(definition, 'flag.updated')).toBe(true);
    await until(() => heard.has('announced@11'), 'the announcement');
    expect(heard.get('announced@11')!).toBeLessThan(busyUntil);
  });

  it('sends the acks made while one is in flight together, the newest version of each flag', async () => {
    const heard = await listen();
    const acker = new ChangeAcker({ redis, replica: 'replica-b', prefix });
    acker.ack('production', 'a', 1);
    acker.ack('production', 'b', 1);
    acker.ack('production', 'b', 3);
    acker.ack('production', 'b', 2);
    await until(() => heard.has('a@1') && heard.has('b@3'), 'the acks');
    expect(heard.has('b@1')).toBe(false);
    expect(heard.has('b@2')).toBe(false);
    await until(() => acker.sent === 2, 'both counted');
  });
});
