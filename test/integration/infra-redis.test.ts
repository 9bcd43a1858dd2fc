import { readFileSync } from 'node:fs';
import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createRedis } from '../../src/connections/redis.js';
import { eventually, startStack, uniqueKey, type Stack } from './harness.js';
import { evaluateOnce, evaluationLoad, freePort, InfraProcesses, makeCertificates, type Managed } from './infra-processes.js';
import { createFlag, onForEveryone } from './serving-helpers.js';

/**
 * Redis as production runs it. TLS (rediss:// with our CA) against a TLS-only
 * redis-server, and Sentinel failover for real with Debian's redis-sentinel: a primary, a replica
 * and three sentinels on loopback ports; the primary is killed under evaluation load on two API
 * processes, and a kill issued after the failover reaches both.
 */
const procs = new InfraProcesses();
const MASTER = 'ripcord-test';
const redisArgs = (port: number, extra: string[] = []) => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', procs.dir, ...extra];

async function waitForRedis(port: number, options: RedisOptions = {}): Promise<void> {
  await eventually(async () => {
    const probe = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, ...options });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      return (await probe.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      probe.disconnect();
    }
  }, `redis on ${port}`, 15_000);
}

afterAll(async () => {
  await procs.stopAll();
});

describe('Redis over TLS', () => {
  let port = 0;
  let certs: ReturnType<typeof makeCertificates>;

  beforeAll(async () => {
    certs = makeCertificates(procs.path(''), 'localhost');
    port = await freePort();
    procs.start('redis-tls', 'redis-server', redisArgs(0, [
      '--tls-port', String(port), '--tls-cert-file', certs.serverCert, '--tls-key-file', certs.serverKey,
      '--tls-ca-cert-file', certs.ca, '--tls-auth-clients', 'optional',
    ]));
    await waitForRedis(port, { tls: { ca: [readFileSync(certs.ca)], servername: 'localhost' } });
  });

  it('commands and pub/sub work over rediss:// with the configured CA; an untrusted server is refused', async () => {
    const settings = loadConfig({ REDIS_URL: `rediss://localhost:${port}/1`, REDIS_TLS_CA: certs.ca });
    const redis = createRedis(settings, { maxRetriesPerRequest: 1 });
    const subscriber = createRedis(settings);
    try {
      expect(await redis.set('tls-probe', 'over tls')).toBe('OK');
      expect(await redis.get('tls-probe')).toBe('over tls');
      const received = new Promise<string>((resolve) => subscriber.on('message', (_channel: string, message: string) => resolve(message)));
      await subscriber.subscribe('tls-channel');
      await redis.publish('tls-channel', 'hello');
      expect(await received).toBe('hello');
    } finally {
      redis.disconnect();
      subscriber.disconnect();
    }
    // Without our CA the server's certificate is not trusted: the connection fails, it is not downgraded.
    const untrusted = createRedis(loadConfig({ REDIS_URL: `rediss://localhost:${port}/1` }), { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
    const errors: string[] = [];
    untrusted.on('error', (error: Error) => errors.push(error.message));
    await expect(untrusted.connect()).rejects.toThrow();
    untrusted.disconnect();
    expect(errors.join('\n')).toMatch(/self[- ]signed|unable to verify|certificate/i);
  });
});

describe('Redis Sentinel failover', () => {
  let stack: Stack;
  let primaryPort = 0;
  let replicaPort = 0;
  let primary: Managed;
  const sentinelPorts: number[] = [];
  const apiPorts: number[] = [];
  let sentinelEnv: Record<string, string>;

  const sentinel = () => new Redis({ host: '127.0.0.1', port: sentinelPorts[0]!, maxRetriesPerRequest: 1 });

  beforeAll(async () => {
    primaryPort = await freePort();
    replicaPort = await freePort();
    primary = procs.start('redis-primary', 'redis-server', redisArgs(primaryPort));
    procs.start('redis-replica', 'redis-server', redisArgs(replicaPort, ['--replicaof', '127.0.0.1', String(primaryPort)]));
    await waitForRedis(primaryPort);
    await waitForRedis(replicaPort);
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      sentinelPorts.push(port);
      // Sentinel rewrites its config file, so each has its own.
      const conf = procs.write(`sentinel-${i}.conf`, [
        `port ${port}`, 'bind 127.0.0.1', `dir ${procs.dir}`,
        `sentinel monitor ${MASTER} 127.0.0.1 ${primaryPort} 2`,
        `sentinel down-after-milliseconds ${MASTER} 1000`,
        `sentinel failover-timeout ${MASTER} 10000`,
        `sentinel parallel-syncs ${MASTER} 1`, '',
      ].join('\n'));
      procs.start(`sentinel-${i}`, 'redis-sentinel', [conf]);
    }
    // Ready when every sentinel knows the replica and the two other sentinels.
    for (const port of sentinelPorts) {
      await eventually(async () => {
        const s = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 0, retryStrategy: () => null });
        s.on('error', () => undefined);
        try {
          const replicas = (await s.call('SENTINEL', 'REPLICAS', MASTER)) as unknown[];
          const others = (await s.call('SENTINEL', 'SENTINELS', MASTER)) as unknown[];
          return replicas.length === 1 && others.length === 2;
        } catch {
          return false;
        } finally {
          s.disconnect();
        }
      }, `sentinel ${port} to know the replica and its peers`, 30_000);
    }
    sentinelEnv = {
      REDIS_URL: 'redis://sentinel-managed/1',
      REDIS_SENTINELS: sentinelPorts.map((port) => `127.0.0.1:${port}`).join(','),
      REDIS_SENTINEL_MASTER: MASTER,
    };
    stack = await startStack(sentinelEnv, { worker: false });
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      await procs.startApi(port, sentinelEnv);
      apiPorts.push(port);
    }
  }, 180_000);

  afterAll(async () => {
    await stack?.close();
  });

  it('keeps evaluating through the primary\'s death, resumes pub/sub on the new primary, and delivers a later kill to every API process', async () => {
    const key = uniqueKey('failover');
    await createFlag(stack, key, onForEveryone);
    for (const port of apiPorts) {
      await eventually(async () => JSON.parse((await evaluateOnce(port, key)).text).value === true, `API ${port} to serve the flag`);
    }
    const isAnswer = (text: string) => typeof JSON.parse(text).value === 'boolean';
    const loads = apiPorts.map((port) => evaluationLoad(port, key, isAnswer, { concurrency: 2, maxMs: 120_000 }));
    const s = sentinel();
    let figures: Record<string, unknown> = {};
    try {
      // Every API process (two spawned, one in this test) holds a subscription on the primary.
      const subscribers = async (port: number) => {
        const r = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 0, retryStrategy: () => null });
        r.on('error', () => undefined);
        try {
          const [, count] = (await r.call('PUBSUB', 'NUMSUB', `${stack.config.REDIS_PREFIX}:changes`)) as [string, number];
          return Number(count);
        } finally {
          r.disconnect();
        }
      };
      expect(await subscribers(primaryPort)).toBeGreaterThanOrEqual(3);

      const killedAt = Date.now();
      primary.child.kill('SIGKILL');
      const promoted = await eventually(async () => {
        const [, port] = (await s.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER)) as [string, string];
        return Number(port) === replicaPort ? Date.now() : undefined;
      }, 'the sentinels to promote the replica', 60_000);
      const subscribed = await eventually(async () => ((await subscribers(replicaPort)) >= 3 ? Date.now() : undefined), 'every subscription to move to the new primary', 30_000);

      // A kill issued after the failover is written to the new primary and reaches every API process.
      const kill = await eventually(async () => {
        const response = await stack.request('POST', `/api/v1/flags/${key}/environments/production/kill-switch`, { body: { reason: 'after failover' } });
        return response.status === 201 ? response : undefined;
      }, 'the kill to be accepted', 30_000);
      expect(kill.body.kill_switch).toMatchObject({ enabled: true });
      const killIssued = Date.now();
      for (const port of apiPorts) {
        await eventually(async () => JSON.parse((await evaluateOnce(port, key)).text).value === false, `API ${port} to serve the kill`, 10_000);
      }
      const allServeKill = Date.now();
      const newPrimary = new Redis({ host: '127.0.0.1', port: replicaPort, db: 1 });
      try {
        expect(await newPrimary.call('ROLE').then((role) => (role as unknown[])[0])).toBe('master');
      } finally {
        newPrimary.disconnect();
      }
      figures = {
        promotedAfterMs: promoted - killedAt,
        pubsubResumedAfterMs: subscribed - killedAt,
        killReachedEveryProcessMs: allServeKill - killIssued,
      };
    } finally {
      s.disconnect();
      const results = await Promise.all(loads.map((load) => load.stop()));
      figures = {
        ...figures,
        evaluations: results.reduce((n, r) => n + r.requests, 0),
        failedEvaluations: results.reduce((n, r) => n + r.failures, 0),
        maxLatencyMs: Math.max(...results.map((r) => r.maxLatencyMs)),
        failureSamples: results.flatMap((r) => r.failureSamples),
      };
      console.log(`[sentinel failover] ${JSON.stringify(figures)}`);
    }
    expect(figures.failureSamples).toEqual([]);
    expect(figures.failedEvaluations).toBe(0);
    expect(figures.evaluations).toBeGreaterThan(100);
  }, 150_000);
});
