// Evaluations per second on one core: Ripcord's engine next to unleash-client's isEnabled for the
// closest equivalent flags, measured in the same process and run. `npm run bench:engine`.
import { InMemStorageProvider, startUnleash, type ClientFeaturesResponse, type Context } from 'unleash-client';
import type { Constraint } from 'unleash-client/lib/strategy/strategy.js';
import type { FlagDefinition } from '../src/domain/flag.js';
import type { Segment } from '../src/domain/segment.js';
import { compileFlag, evaluate, type CompiledFlag, type EvaluationContext } from '../src/engine/index.js';

const DURATION_MS = Number(process.env.BENCH_MS ?? 2000);
const POOL = 1024; // distinct users, cycled, so branch predictors and caches see realistic variety

const BLOCKED = ['XX', 'YY', 'KP', 'IR', 'SY', 'CU', 'RU', 'BY', 'VE', 'MM', 'AF', 'IQ', 'LY', 'SD', 'SO', 'YE', 'ZW', 'NI', 'ER', 'SS'];
const BETA_TESTERS = Array.from({ length: 500 }, (_, i) => `user-${i * 7}`);
const base = { environment: 'production', version: 1, type: 'boolean' as const };
const config = { enabled: true, value: true, off_value: false, rules: [], targeting: [], kill_switch: { enabled: false } };

/** The three reference flags (DESIGN's benchmark): simple on/off; five rules with mixed operators; three segments and a 25% rollout. */
const FLAGS: FlagDefinition[] = [
  { ...base, key: 'simple-on-off', config },
  {
    ...base,
    key: 'five-rules',
    config: {
      ...config,
      rules: [
        { id: 'blocked', type: 'user_attribute', priority: 1, action: 'disable', conditions: [{ field: 'country', operator: 'in', value: BLOCKED }] },
        { id: 'staff', type: 'user_attribute', priority: 2, action: 'enable', conditions: [{ field: 'email', operator: 'ends_with', value: '@ripcord.dev' }] },
        { id: 'old-apps', type: 'custom', priority: 3, action: 'disable', conditions: [{ field: 'app.version', operator: 'semver_less_than', value: '1.5.0' }] },
        { id: 'enterprise', type: 'user_attribute', priority: 4, action: 'enable', conditions: [{ field: 'plan', operator: 'equals', value: 'enterprise' }, { field: 'age', operator: 'greater_or_equal', value: 21 }] },
        { id: 'regional-canary', type: 'percentage', priority: 5, action: 'enable', percentage: 25, conditions: [{ field: 'region', operator: 'in', value: ['eu-west', 'us-east'] }] },
      ],
      rollout: { percentage: 0, strategy: 'gradual' },
    },
  },
  {
    ...base,
    key: 'three-segments',
    config: {
      ...config,
      targeting: [{ id: 'early-access', segments: ['beta-testers', 'eu-pros', 'adults-jp'], percentage: 100, enabled: true }],
      rollout: { percentage: 25, strategy: 'gradual' },
    },
  },
];

const SEGMENTS: Segment[] = [
  { key: 'beta-testers', kind: 'list', members: BETA_TESTERS },
  { key: 'eu-pros', kind: 'rule', conditions: [{ field: 'region', operator: 'equals', value: 'eu-west' }, { field: 'plan', operator: 'equals', value: 'pro' }] },
  { key: 'adults-jp', kind: 'rule', conditions: [{ field: 'country', operator: 'equals', value: 'JP' }, { field: 'age', operator: 'greater_or_equal', value: 18 }] },
];

// Unleash's closest equivalents. Its strategies are OR-ed and cannot serve "off" on a match, so a
// rule becomes a flexibleRollout strategy with the same constraints (same checks, same order).
const constraint = (contextName: string, operator: string, values: string[], value?: string): Constraint => ({
  contextName,
  operator: operator as Constraint['operator'],
  inverted: false,
  values,
  ...(value === undefined ? {} : { value }),
});
const rollout = (percentage: number, constraints: Constraint[] = [], segments: number[] = []) => ({
  name: 'flexibleRollout',
  parameters: { rollout: String(percentage), stickiness: 'default', groupId: '' },
  constraints,
  segments,
});
const UNLEASH_FEATURES: ClientFeaturesResponse['features'] = [
  { name: 'simple-on-off', enabled: true, strategies: [{ name: 'default', parameters: {}, constraints: [] }] },
  {
    name: 'five-rules',
    enabled: true,
    strategies: [
      rollout(100, [constraint('country', 'IN', BLOCKED)]),
      rollout(100, [constraint('email', 'STR_ENDS_WITH', ['@ripcord.dev'])]),
      rollout(100, [constraint('appVersion', 'SEMVER_LT', [], '1.5.0')]),
      rollout(100, [constraint('plan', 'IN', ['enterprise']), constraint('age', 'NUM_GTE', [], '21')]),
      rollout(25, [constraint('region', 'IN', ['eu-west', 'us-east'])]),
    ],
  },
  { name: 'three-segments', enabled: true, strategies: [rollout(100, [], [1]), rollout(100, [], [2]), rollout(100, [], [3]), rollout(25)] },
].map((f) => ({ ...f, type: 'release', project: 'default', stale: false, variants: [], impressionData: false }));
const UNLEASH_SEGMENTS: ClientFeaturesResponse['segments'] = [
  { id: 1, constraints: [constraint('userId', 'IN', BETA_TESTERS)] },
  { id: 2, constraints: [constraint('region', 'IN', ['eu-west']), constraint('plan', 'IN', ['pro'])] },
  { id: 3, constraints: [constraint('country', 'IN', ['JP']), constraint('age', 'NUM_GTE', [], '18')] },
];

interface User {
  ripcord: EvaluationContext;
  unleash: Context;
}

function users(): User[] {
  const countries = ['NL', 'DE', 'US', 'FR', 'BR', 'JP'];
  const plans = ['free', 'pro', 'enterprise'];
  const regions = ['eu-west', 'us-east', 'ap-south'];
  return Array.from({ length: POOL }, (_, i) => {
    const attributes = {
      country: countries[i % countries.length]!,
      email: i % 10 === 0 ? `u${i}@ripcord.dev` : `u${i}@example.com`,
      appVersion: `${1 + (i % 3)}.${i % 7}.0`,
      plan: plans[i % plans.length]!,
      age: 12 + (i % 60),
      region: regions[i % regions.length]!,
    };
    return {
      ripcord: { targetingKey: `user-${i}`, ...attributes, app: { version: attributes.appVersion } },
      unleash: { userId: `user-${i}`, properties: Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, String(v)])) },
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

  const rows: Array<{ flag: string; ripcord: Rate; unleash: Rate }> = [];
  for (const [name, flag] of compiled) {
    const ripcord = time(pool, (u) => evaluate(flag, u.ripcord, now).value === true);
    const theirs = time(pool, (u) => unleash.isEnabled(name, u.unleash));
    rows.push({ flag: name, ripcord, unleash: theirs });
  }
  unleash.destroy();

  const load = (await import('node:os')).loadavg()[0]!.toFixed(2);
  console.log(`\nevaluations per second on one core, median of ${ROUNDS} rounds over ${DURATION_MS} ms per cell, ${POOL} users cycled,`);
  console.log(`node ${process.version}, load average ${load}. "per CPU-s" divides by the CPU time the process used; "wall" by elapsed time.\n`);
  console.log('| flag | ripcord per CPU-s | unleash-client per CPU-s | ratio | ripcord wall | unleash-client wall | ripcord ns/eval (CPU) |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const { flag, ripcord, unleash: theirs } of rows) {
    console.log(
      `| ${flag} | ${format(ripcord.cpu)}/s | ${format(theirs.cpu)}/s | ${(ripcord.cpu / theirs.cpu).toFixed(1)}× ` +
        `| ${format(ripcord.wall)}/s | ${format(theirs.wall)}/s | ${(1e9 / ripcord.cpu).toFixed(0)} |`,
    );
  }
}

await main();
