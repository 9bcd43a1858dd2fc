/**
 * Soak: the fleet of test/chaos (3 API processes behind a load balancer, 2 workers, its own
 * redis-server and database, the stack's Temporal) under mixed traffic for SOAK_MINUTES (default
 * 30): evaluations at SOAK_RATE a second (default 100), a config change every 2 s, a kill and its
 * restore every 10 s, a rollout every minute, and SSE clients connecting and leaving. Each minute
 * it samples every process's memory (RSS) and open file descriptors, the APIs' event-loop lag (p99)
 * and the evaluations' latency; at the end it prints the table and whether each series stayed flat
 * (last third against the first, after the first minute's warm-up).
 *
 *   npm run bench:soak            SOAK_MINUTES=5 SOAK_RATE=50 npm run bench:soak
 */
import { readFileSync, readdirSync } from 'node:fs';
import { request, type ClientRequest } from 'node:http';
import { EvaluationLoad } from '../test/chaos/fleet/evaluation-load.js';
import { FLEET_ADMIN_TOKEN, Fleet } from '../test/chaos/fleet/fleet.js';
import { stackEnv } from './lib/bench-stack.js';

const MINUTES = Number(process.env.SOAK_MINUTES ?? 30);
const RATE = Number(process.env.SOAK_RATE ?? 100);
const FLAGS = Array.from({ length: 20 }, (_, i) => `soak-${i}`);
const ROLLOUT_FLAGS = FLAGS.slice(15);
const STREAM_CLIENTS = 20;

interface Sample {
  minute: number;
  apiRssMb: number;
  apiFds: number;
  workerRssMb: number;
  workerFds: number;
  loopLagP99Ms: number;
  evalP50Ms: number;
  evalP99Ms: number;
  evaluations: number;
  failed: number;
  changes: number;
  kills: number;
  rollouts: number;
  streamsOpened: number;
}

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const fds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;

async function loopLagP99Ms(fleet: Fleet): Promise<number> {
  let worst = 0;
  for (const api of fleet.apis) {
    const text = await (await fleet.direct(api.name, '/metrics')).text();
    const value = Number(/^nodejs_eventloop_lag_p99_seconds (\S+)$/m.exec(text)?.[1] ?? 0) * 1000;
    worst = Math.max(worst, value);
  }
  return worst;
}

function openStream(url: string): ClientRequest {
  const req = request(`${url}/api/v1/stream`, { headers: { authorization: `Bearer ${FLEET_ADMIN_TOKEN}` } }, (res) => res.resume());
  req.on('error', () => undefined);
  req.end();
  return req;
}

Object.assign(process.env, stackEnv());
console.log(`soak: ${MINUTES} min, ${RATE} evaluations/s, ${FLAGS.length} flags, ${STREAM_CLIENTS} stream clients churning`);
const fleet = await Fleet.start({ apis: 3, workers: 2, maxLagSeconds: 3, database: 'ripcord_soak_fleet', logLevel: 'error' });
console.log(`fleet up (logs in ${fleet.logDir})`);
const timers: NodeJS.Timeout[] = [];
const streams: ClientRequest[] = [];
const counts = { changes: 0, kills: 0, rollouts: 0, streamsOpened: 0, writeErrors: 0 };
const load = new EvaluationLoad({ url: fleet.url, token: FLEET_ADMIN_TOKEN, flag: () => pick(FLAGS), ratePerSecond: RATE, concurrency: 4 });
const samples: Sample[] = [];
try {
  for (const key of FLAGS) {
    await fleet.request('POST', '/api/v1/flags', { key, name: key, type: 'boolean' });
    await fleet.request('PUT', `/api/v1/flags/${key}/environments/production`, { enabled: true, value: true, off_value: false });
  }
  load.start();
  for (let i = 0; i < STREAM_CLIENTS; i++) streams.push(openStream(fleet.url));
  const every = (ms: number, action: () => Promise<void>) => {
    timers.push(setInterval(() => void action().catch(() => void counts.writeErrors++), ms));
  };
  every(2_000, async () => {
    const key = pick(FLAGS.slice(0, 15));
    const answer = await fleet.request('PUT', `/api/v1/flags/${key}/environments/production`, {
      enabled: true, value: true, off_value: false, rollout: { percentage: Math.floor(Math.random() * 100), strategy: 'immediate' },
    });
    if (answer.status === 200) counts.changes++;
  });
  every(10_000, async () => {
    const key = pick(FLAGS.slice(0, 15));
    const path = `/api/v1/flags/${key}/environments/production/kill-switch`;
    if ((await fleet.request('POST', path, { reason: 'soak' })).status === 201) counts.kills++;
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await fleet.request('DELETE', path);
  });
  let nextRollout = 0;
  every(60_000, async () => {
    const key = ROLLOUT_FLAGS[nextRollout++ % ROLLOUT_FLAGS.length]!;
    const answer = await fleet.request('POST', `/api/v1/flags/${key}/environments/production/rollouts`, {
      plan: { strategy: 'gradual', steps: [{ percentage: 10, hold: '10 seconds' }, { percentage: 50, hold: '10 seconds' }, { percentage: 100 }] },
    });
    if (answer.status === 201) counts.rollouts++;
    else console.log(`rollout of ${key} refused: ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`);
  });
  every(5_000, async () => {
    for (let i = 0; i < 2 && streams.length > 0; i++) streams.splice(Math.floor(Math.random() * streams.length), 1)[0]!.destroy();
    while (streams.length < STREAM_CLIENTS) {
      streams.push(openStream(fleet.url));
      counts.streamsOpened++;
    }
  });

  // SIGINT/SIGTERM end the run early, still stopping the fleet and printing what was sampled.
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void (stopping = true));
  let previous = { ...counts };
  for (let minute = 1; minute <= MINUTES && !stopping; minute++) {
    for (let waited = 0; waited < 60 && !stopping; waited++) await new Promise((resolve) => setTimeout(resolve, 1_000));
    if (stopping) break;
    const figures = load.read();
    load.reset();
    const apis = fleet.apis.map((p) => p.child.pid!);
    const workers = fleet.workers.map((p) => p.child.pid!);
    const sample: Sample = {
      minute,
      apiRssMb: apis.reduce((sum, pid) => sum + rssMb(pid), 0),
      apiFds: apis.reduce((sum, pid) => sum + fds(pid), 0),
      workerRssMb: workers.reduce((sum, pid) => sum + rssMb(pid), 0),
      workerFds: workers.reduce((sum, pid) => sum + fds(pid), 0),
      loopLagP99Ms: await loopLagP99Ms(fleet),
      evalP50Ms: figures.p50Ms,
      evalP99Ms: figures.p99Ms,
      evaluations: figures.requests,
      failed: figures.failed,
      changes: counts.changes - previous.changes,
      kills: counts.kills - previous.kills,
      rollouts: counts.rollouts - previous.rollouts,
      streamsOpened: counts.streamsOpened - previous.streamsOpened,
    };
    previous = { ...counts };
    samples.push(sample);
    console.log(JSON.stringify(sample));
  }
} finally {
  for (const timer of timers) clearInterval(timer);
  await load.stop();
  for (const stream of streams) stream.destroy();
  await fleet.stop();
}

const columns: Array<[keyof Sample, string]> = [
  ['minute', 'min'], ['apiRssMb', 'API RSS MB (3)'], ['apiFds', 'API fds'], ['workerRssMb', 'worker RSS MB (2)'], ['workerFds', 'worker fds'],
  ['loopLagP99Ms', 'loop lag p99 ms'], ['evalP50Ms', 'eval p50 ms'], ['evalP99Ms', 'eval p99 ms'], ['evaluations', 'evals'], ['failed', 'failed'],
  ['changes', 'changes'], ['kills', 'kills'], ['rollouts', 'rollouts'], ['streamsOpened', 'streams opened'],
];
const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(1));
console.log(`\n| ${columns.map(([, title]) => title).join(' | ')} |`);
console.log(`|${columns.map(() => '---').join('|')}|`);
for (const sample of samples) console.log(`| ${columns.map(([key]) => fmt(sample[key])).join(' | ')} |`);

// Flat: the mean of the last third within 15 % (and a small absolute margin) of the first third's, minute 1 (warm-up) left out.
const steady = samples.slice(1);
if (steady.length >= 3) {
  const third = Math.max(1, Math.floor(steady.length / 3));
  const mean = (xs: Sample[], key: keyof Sample) => xs.reduce((sum, s) => sum + s[key], 0) / xs.length;
  console.log('\nflat? (last third vs first third, minute 1 left out)');
  for (const [key, margin] of [['apiRssMb', 15], ['apiFds', 5], ['workerRssMb', 15], ['workerFds', 5], ['loopLagP99Ms', 5], ['evalP99Ms', 5]] as Array<[keyof Sample, number]>) {
    const first = mean(steady.slice(0, third), key);
    const last = mean(steady.slice(-third), key);
    const flat = last <= first * 1.15 + margin;
    console.log(`  ${String(key).padEnd(14)} ${fmt(first).padStart(8)} → ${fmt(last).padStart(8)}  ${flat ? 'flat' : 'GROWS'}`);
  }
}
console.log(`\nfailed evaluations in total: ${samples.reduce((sum, s) => sum + s.failed, 0)} of ${samples.reduce((sum, s) => sum + s.evaluations, 0)}; write errors: ${counts.writeErrors}`);
