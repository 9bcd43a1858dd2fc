// Evaluations per second on one core: Ripcord's engine next to unleash-client's isEnabled for the
// closest equivalent flags, measured in the same process and run. `npm run bench:engine`.
// ENGINE-ONLY: Ripcord's side is evaluate() on an already compiled flag; unleash-client's isEnabled()
// also looks the flag up by name and counts metrics. The ratio is not a like-for-like comparison;
// `npm run bench:sdk` compares client to client (lookup, evaluation and bookkeeping on both sides).
import { InMemStorageProvider, startUnleash, type Context } from 'unleash-client';
import type { Segment } from '../src/domain/segment.js';
import { compileFlag, evaluate, type CompiledFlag, type EvaluationContext } from '../src/engine/index.js';
import { checkEqualWork, pinnedPercentages } from './equal-work.js';
import { referenceFlags, SEGMENTS, UNLEASH_FEATURES, UNLEASH_SEGMENTS, unleashContext, userAttributes } from './reference-flags.js';

const DURATION_MS = Number(process.env.BENCH_MS ?? 2000);
const POOL = 1024; // distinct users, cycled, so branch predictors and caches see realistic variety

const FLAGS = referenceFlags('app.version');

interface User {
  ripcord: EvaluationContext;
  unleash: Context;
}

function users(): User[] {
  return Array.from({ length: POOL }, (_, i) => {
    const attributes = userAttributes(i);
    return {
      ripcord: { targetingKey: `user-${i}`, ...attributes, app: { version: attributes.appVersion } },
      unleash: unleashContext(i, attributes),
    };
  });
}

interface Rate {
  /** Operations per second of wall-clock time. */
  wall: number;
  /** Operations per second of CPU time used by this process: what one core does, even on a busy machine. */
  cpu: number;
}

/** Runs `fn` over the pool for about `ms` of wall-clock time. */
function measure(ms: number, pool: User[], fn: (user: User) => boolean): Rate {
  let ops = 0;
  let checksum = 0;
  const cpuStart = process.cpuUsage();
  const started = performance.now();
  const end = started + ms;
  let now = started;
  while (now < end) {
    // Whole passes over the pool keep the clock out of the measured loop.
    for (let i = 0; i < pool.length; i++) if (fn(pool[i]!)) checksum++;
    ops += pool.length;
    now = performance.now();
  }
  const cpu = process.cpuUsage(cpuStart);
  if (checksum > ops) throw new Error('unreachable'); // keeps the results observable
  // CPU time counts every thread of the process (GC helpers too), so the CPU rate errs low.
  return { wall: ops / ((now - started) / 1000), cpu: ops / ((cpu.user + cpu.system) / 1e6) };
}

const ROUNDS = 5;

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
}

/** Warms the JIT up, then measures ROUNDS rounds; returns the median of each rate. */
function time(pool: User[], fn: (user: User) => boolean): Rate {
  measure(Math.min(500, DURATION_MS / 2), pool, fn);
  const rounds = Array.from({ length: ROUNDS }, () => measure(DURATION_MS / ROUNDS, pool, fn));
  return { wall: median(rounds.map((r) => r.wall)), cpu: median(rounds.map((r) => r.cpu)) };
}

function format(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : `${(n / 1e3).toFixed(0)}k`;
}

async function main(): Promise<void> {
  const pool = users();
  const now = Date.now();
  const segments = new Map<string, Segment>(SEGMENTS.map((s) => [s.key, s]));
  const compiled = new Map<string, CompiledFlag>(FLAGS.map((def) => [def.key, compileFlag(def, segments)]));
  for (const flag of compiled.values()) if (flag.compileError) throw new Error(`${flag.key}: ${flag.compileError}`);
  const unleash = await startUnleash({
    appName: 'ripcord-bench',
    url: 'http://127.0.0.1:9/api/', // never contacted: refreshInterval 0 disables polling
    refreshInterval: 0,
    disableMetrics: true,
    storageProvider: new InMemStorageProvider(),
    bootstrap: { data: UNLEASH_FEATURES, segments: UNLEASH_SEGMENTS },
    skipInstanceCountWarning: true,
  });

  // The flags must answer alike before their timings mean anything (bench/equal-work.ts).
  const [none, all] = ([0, 100] as const).map((to) => new Map(pinnedPercentages(FLAGS, to).map((def) => [def.key, compileFlag(def, segments)])));
  const served = (flags: Map<string, CompiledFlag>, key: string, i: number) => evaluate(flags.get(key)!, pool[i]!.ripcord, now).value === true;
  const agreed = await checkEqualWork([...compiled.keys()], pool.length, (key, i) => ({
    value: served(compiled, key, i), hashed: served(none!, key, i) !== served(all!, key, i),
  }), { unleash: (key, i) => unleash.isEnabled(key, pool[i]!.unleash) });

  const rows: Array<{ flag: string; ripcord: Rate; unleash: Rate }> = [];
  for (const [name, flag] of compiled) {
    const ripcord = time(pool, (u) => evaluate(flag, u.ripcord, now).value === true);
    const theirs = time(pool, (u) => unleash.isEnabled(name, u.unleash));
    rows.push({ flag: name, ripcord, unleash: theirs });
  }
  unleash.destroy();

  const load = (await import('node:os')).loadavg()[0]!.toFixed(2);
  console.log('\nENGINE-ONLY figures: ripcord = evaluate() on a pre-compiled flag; unleash-client = isEnabled(), which also looks the');
  console.log('flag up and counts metrics. Not the same level of work: for a like-for-like ratio see `npm run bench:sdk` (client to client).');
  console.log(`evaluations per second on one core, median of ${ROUNDS} rounds over ${DURATION_MS} ms per cell, ${POOL} users cycled,`);
  console.log(`node ${process.version}, load average ${load}. "per CPU-s" divides by the CPU time the process used; "wall" by elapsed time.\n`);
  console.log('| flag | ripcord engine per CPU-s | unleash-client isEnabled per CPU-s | ratio (engine-only) | ripcord wall | unleash-client wall | ripcord ns/eval (CPU) | agreement |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const { flag, ripcord, unleash: theirs } of rows) {
    console.log(
      `| ${flag} | ${format(ripcord.cpu)}/s | ${format(theirs.cpu)}/s | ${(ripcord.cpu / theirs.cpu).toFixed(1)}× ` +
        `| ${format(ripcord.wall)}/s | ${format(theirs.wall)}/s | ${(1e9 / ripcord.cpu).toFixed(0)} | ${(agreed[flag]!.unleash! * 100).toFixed(0)}% |`,
    );
  }
}

await main();
