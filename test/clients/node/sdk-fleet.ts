/**
 * A process running INSTANCES local-mode Node SDK clients against RIPCORD_URL with RIPCORD_TOKEN
 * (the SDK as an application uses it: createClient, ready, close). It prints one JSON line when all
 * are ready ({type: 'ready', ids}), one each time a client reports holding a newer version
 * ({type: 'applied', id, version, at}: seen in the report it sends) and one per definitions fetch
 * ({type: 'fetched', at}); SIGTERM closes the clients (each says it leaves), SIGKILL makes them vanish.
 * Used by test/integration/sdk-instances.test.ts and bench/scale-instances.ts.
 */
import { createClient } from '../../../packages/node/src/index.js';

const url = process.env.RIPCORD_URL!;
const token = process.env.RIPCORD_TOKEN!;
const count = Math.max(1, Math.min(1_000, Number(process.env.INSTANCES ?? 1)));
const appName = process.env.APP_NAME ?? 'sdk-fleet';
const print = (line: unknown) => process.stdout.write(`${JSON.stringify(line)}\n`);

// The SDK's own fetch, watched: a report naming a newer version is the moment the client applied it.
const held = new Map<string, number>();
const watched: typeof fetch = (input, init) => {
  if (String(input).endsWith('/api/v1/definitions')) print({ type: 'fetched', at: Date.now() });
  if (String(input).endsWith('/api/v1/instances/report') && typeof init?.body === 'string') {
    const { id, version } = JSON.parse(init.body) as { id: string; version: number };
    if (version > (held.get(id) ?? -1)) {
      held.set(id, version);
      print({ type: 'applied', id, version, at: Date.now() });
    }
  }
  return fetch(input, init);
};
const clients = Array.from({ length: count }, () => createClient({
  url, token, appName, appVersion: '1.0.0', requestTimeoutMs: 10_000, heartbeatTimeoutMs: 120_000, eventsFlushIntervalMs: 60_000,
  // A fetch that failed (an API swamped by the fleet's own start) is tried again within 2 s.
  pollIntervalMs: 2_000, backoff: { initialMs: 200, maxMs: 2_000 }, fetch: watched,
}));
await Promise.all(clients.map((client) => client.ready(120_000)));
print({ type: 'ready', ids: clients.map((client) => client.instanceId), versions: clients.map((client) => client.status().version) });

process.on('SIGTERM', () => {
  void Promise.all(clients.map((client) => client.close())).finally(() => process.exit(0));
});
