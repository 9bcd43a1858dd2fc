/**
 * A process running INSTANCES local-mode Node SDK clients against RIPCORD_URL with RIPCORD_TOKEN
 * (the SDK as an application uses it: createClient, ready, close). It prints one JSON line when all
 * are ready ({type: 'ready', ids}), one each time clients report holding a newer version
 * ({type: 'applied', ids, version, at}: seen in the report request they send) and one per
 * definitions fetch ({type: 'fetched', at}). Ready means every client holds definitions and its
 * stream is connected. SIGTERM closes the clients (each says it leaves), SIGKILL makes them vanish.
 * Used by test/integration/sdk-instances.test.ts and bench/scale/instances.ts.
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
    // One instance's report, or the reports of this process's instances that applied a change in the same turn.
    const body = JSON.parse(init.body) as { id: string; version: number } | { reports: Array<{ id: string; version: number }> };
    const at = Date.now();
    // One line per version a request newly reports: the bench's reading of it stays out of the fleet's CPU per change.
    const newly = new Map<number, string[]>();
    for (const { id, version } of 'reports' in body ? body.reports : [body]) {
      if (version > (held.get(id) ?? -1)) {
        held.set(id, version);
        newly.set(version, [...(newly.get(version) ?? []), id]);
      }
    }
    for (const [version, ids] of newly) print({ type: 'applied', ids, version, at });
  }
  return fetch(input, init);
};
// SEPARATE_REPORTS=1: each client a fetch of its own, so none shares a report request (as if each ran alone in its process).
const separate = process.env.SEPARATE_REPORTS === '1';
const clients = Array.from({ length: count }, () => createClient({
  url, token, appName, appVersion: '1.0.0', requestTimeoutMs: 10_000, heartbeatTimeoutMs: 120_000, eventsFlushIntervalMs: 60_000,
  // A fetch that failed (an API swamped by the fleet's own start) is tried again within 2 s.
  pollIntervalMs: 2_000, backoff: { initialMs: 200, maxMs: 2_000 }, fetch: separate ? (input, init) => watched(input, init) : watched,
}));
await Promise.all(clients.map((client) => client.ready(120_000)));
// Ready means listening too: a client whose stream has not connected yet would learn of a change by polling.
for (let waited = 0; clients.some((client) => !client.status().streamConnected) && waited < 120_000; waited += 100) {
  await new Promise((resolve) => setTimeout(resolve, 100));
}
print({ type: 'ready', ids: clients.map((client) => client.instanceId), versions: clients.map((client) => client.status().version) });

// FLEET_CPU_PROFILE=file: a V8 CPU profile of this process from ready to SIGTERM (what applying and reporting changes costs).
const profile = process.env.FLEET_CPU_PROFILE;
let stopProfile: () => Promise<void> = async () => undefined;
if (profile) {
  const { Session } = await import('node:inspector/promises');
  const { writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  let written: Promise<void> | undefined;
  // Once, however many SIGTERMs come.
  stopProfile = () => (written ??= session.post('Profiler.stop').then(({ profile: taken }) => writeFileSync(profile, JSON.stringify(taken))));
}

process.on('SIGTERM', () => {
  void stopProfile().then(() => Promise.all(clients.map((client) => client.close()))).finally(() => process.exit(0));
});
