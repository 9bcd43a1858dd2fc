/* Flags per environment: 100 → 1,000 → 10,000. */
import { performance } from 'node:perf_hooks';
import { admin, CLIENT_TOKEN, percentile } from '../lib/bench-stack.js';
import { createFlags, dimensionEnv, load, rssMiB, startApi, stopProc, type DimensionResult } from './harness.js';
import { openStream, waitUntil } from './stream-client.js';

const CONTEXT = { context: { targetingKey: 'user-42', plan: 'pro' } };

export async function flagsDimension(stack: Record<string, string>, sizes: number[]): Promise<DimensionResult> {
  const rows: DimensionResult['rows'] = [];
  for (const size of sizes) {
    const env = await dimensionEnv(stack, `flags_${size}`, 6);
    const writer = await startApi(env);
    const keys = Array.from({ length: size }, (_, i) => `scale-flag-${String(i).padStart(5, '0')}`);
    const created = performance.now();
    await createFlags(writer.base, keys);
    const createSeconds = (performance.now() - created) / 1000;
    const server = (await admin(writer.base, 'POST', '/api/v1/tokens', { name: 'scale', kind: 'server', environment: 'production' })).token as string;
    await stopProc(writer);

    // A restart: the snapshot is built from the projection before /readyz turns 200.
    const api = await startApi(env);
    const rss = rssMiB(api.pid);
    const single = await load(`${api.base}/ofrep/v1/evaluate/flags/${keys[0]}`, CLIENT_TOKEN, CONTEXT);
    const bulk = await load(`${api.base}/ofrep/v1/evaluate/flags`, CLIENT_TOKEN, CONTEXT, 50, 8);
    const t0 = performance.now();
    const definitions = await fetch(`${api.base}/api/v1/definitions`, { headers: { authorization: `Bearer ${server}` } });
    const body = await definitions.arrayBuffer();
    const definitionsMs = performance.now() - t0;
    if (definitions.status !== 200) throw new Error(`definitions answered ${definitions.status}`);

    // One change's propagation: request sent → an SSE client has the event; median of 10.
    const stream = await openStream(api.port, CLIENT_TOKEN);
    const propagation: number[] = [];
    const updates = () => [...stream.seen.entries()].filter(([event]) => event.startsWith(`flag.updated:${keys[0]}:`)).map(([, at]) => at);
    for (let i = 0; i < 10; i++) {
      const before = updates().length;
      const sent = performance.now();
      await admin(api.base, 'PUT', `/api/v1/flags/${keys[0]}/environments/production`, {
        enabled: true, value: true, off_value: false, rollout: { percentage: 10 + i, strategy: 'immediate' },
      });
      await waitUntil(() => updates().length > before, `change ${i} on the stream`);
      propagation.push(Math.max(...updates()) - sent);
    }
    stream.stream.close();
    await stopProc(api);
    rows.push({
      size,
      values: {
        'start-up': api.readyMs, 'RSS': rss, 'single p50': single.p50, 'single p99': single.p99, 'single rps': single.rps,
        'bulk p50': bulk.p50, 'bulk p99': bulk.p99, 'bulk rps': bulk.rps,
        'definitions size': body.byteLength / 1024, 'definitions time': definitionsMs, 'propagation p50': percentile(propagation, 50),
        'create flags/s': size / createSeconds,
      },
    });
    console.log(`  flags ${size}: ${JSON.stringify(rows.at(-1)!.values, (_, v: unknown) => (typeof v === 'number' ? +v.toFixed(2) : v))}${single.non2xx + bulk.non2xx ? ` (non-2xx: ${single.non2xx + bulk.non2xx})` : ''}`);
  }
  return {
    dimension: 'Flags per environment (one API process, 50 connections, 8 s per load)', sizeLabel: 'flags',
    measures: [
      { name: 'start-up', unit: 'ms', budget: 5_000 }, { name: 'RSS', unit: 'MiB' },
      { name: 'single p50', unit: 'ms' }, { name: 'single p99', unit: 'ms', budget: 5 }, { name: 'single rps', unit: 'req/s', better: 'higher' },
      { name: 'bulk p50', unit: 'ms' }, { name: 'bulk p99', unit: 'ms', budget: 50 }, { name: 'bulk rps', unit: 'req/s', better: 'higher' },
      { name: 'definitions size', unit: 'KiB' }, { name: 'definitions time', unit: 'ms' }, { name: 'propagation p50', unit: 'ms' },
      { name: 'create flags/s', unit: 'flags/s', better: 'higher' },
    ],
    rows,
    notes: ['start-up is process start → /readyz 200 of the production build (`node dist/src/main/cli.js api`), the snapshot built from the Redis projection',
      'single p99 budget (< 5 ms) is the issue\'s one-process goal; bulk evaluates every flag of the environment'],
  };
}
