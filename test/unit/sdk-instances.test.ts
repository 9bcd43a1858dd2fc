import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { describeInstances, summarizeInstances, type InstanceAggregate, type InstanceKind } from '../../src/domain/sdk-instances.js';
import { InstanceRegistry, type InstanceReport } from '../../src/serving/instance-registry.js';
import { SDK_VERSION } from '../../packages/node/src/sdk-version.js';

const owner = (address = '10.0.0.1') => ({ key: 'token-1', address });
const report = (id: string, version: number, kind: InstanceKind = 'node-local', environment = 'production'): InstanceReport => ({
  id, kind, environment, app: 'checkout', app_version: '1.2.3', host: `host-${id}`, sdk_version: '0.1.0', version,
});

let registries: InstanceRegistry[] = [];
afterEach(() => {
  for (const registry of registries) registry.stop();
  registries = [];
});

function registry(options: { served?: number; now?: () => number; maxInstances?: number; maxPerAddress?: number; published?: string[][] } = {}) {
  const made = new InstanceRegistry({
    replica: 'r1', served: () => options.served ?? 10, expiryMs: 3_000, maxInstances: options.maxInstances ?? 0, maxPerAddress: options.maxPerAddress ?? 0,
    publish: (environments) => options.published?.push(environments), now: options.now, progressMs: 20,
  });
  registries.push(made);
  return made;
}

describe('the SDK confirmation of a change, from replica aggregates', () => {
  it('counts instances at the version or later, flagd streams as delivered, and names the ones behind', () => {
    const a: InstanceAggregate = { held: [[9, 1, 500], [10, 3, 1_040]], delivered: [[10, 2, 1_020]], behind: [{ id: 'x', kind: 'browser', app: 'shop', host: 'shop.example', version: 9 }] };
    const b: InstanceAggregate = { held: [[11, 4, 1_084]], delivered: [], behind: [] };
    const c = summarizeInstances([a, b], { version: 10, sinceMs: 1_000 });
    expect(c).toEqual({ confirmed: 7, delivered: 2, total: 10, laggards: [a.behind[0]], elapsed_ms: 84 });
    expect(describeInstances(c)).toBe('9/10 SDK instances (2 flagd sync streams delivered, not confirmed: flagd does not acknowledge); 1 behind: shop@shop.example (v9)');
    expect(describeInstances(summarizeInstances([b], { version: 10, sinceMs: 1_000 }))).toBe('4/4 SDK instances');
  });

  it('property: confirmed + delivered + behind = total, and laggards are only those below the version', () => {
    const aggregate = fc.record({
      held: fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 1, max: 50 }), fc.integer({ min: 0, max: 5_000 })), { maxLength: 5 }),
      delivered: fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 1, max: 50 }), fc.integer({ min: 0, max: 5_000 })), { maxLength: 3 }),
      behind: fc.array(fc.record({ id: fc.uuid(), kind: fc.constant<InstanceKind>('node-local'), app: fc.constant(null), host: fc.constant(null), version: fc.integer({ min: 0, max: 20 }) }), { maxLength: 30 }),
    });
    fc.assert(fc.property(fc.array(aggregate, { maxLength: 6 }), fc.integer({ min: 0, max: 21 }), (aggregates, version) => {
      const c = summarizeInstances(aggregates as InstanceAggregate[], { version, sinceMs: 0 });
      const total = aggregates.flatMap((a) => [...a.held, ...a.delivered]).reduce((sum, [, count]) => sum + count, 0);
      expect(c.total).toBe(total);
      expect(c.confirmed + c.delivered).toBeLessThanOrEqual(total);
      expect(c.laggards.length).toBeLessThanOrEqual(20);
      expect(c.laggards.every((l) => l.version < version)).toBe(true);
    }));
  });
});

describe('a replica\'s registry of SDK instances', () => {
  it('keeps counts by version as instances report, and lists laggards first', () => {
    const r = registry();
    r.report(report('a', 10), owner());
    r.report(report('b', 8), owner());
    r.report(report('c', 9), owner());
    r.report(report('remote', 3, 'node-remote'), owner());
    expect(r.aggregate('production')).toMatchObject({ held: [[8, 1, expect.any(Number)], [9, 1, expect.any(Number)], [10, 1, expect.any(Number)]], delivered: [] });
    expect(r.aggregate('production').behind.map((l) => l.id)).toEqual(['b', 'c']);
    r.report(report('b', 10), owner());
    expect(r.aggregate('production').held.map(([version, count]) => [version, count])).toEqual([[9, 1], [10, 2]]);
    const listed = r.list('production', 10);
    expect(listed.total).toBe(4);
    expect(listed.instances.map((i) => i.id)).toEqual(['remote', 'c', 'a', 'b']);
    expect(listed.instances[0]).toMatchObject({ counted_as: 'not_counted', versions_behind: 7, replica: 'r1' });
    // A report never lowers the version held (a late heartbeat of an older state).
    r.report(report('a', 4), owner());
    expect(r.list('production', 10).instances.find((i) => i.id === 'a')!.version).toBe(10);
  });

  it('publishes at once when every instance holds what the replica serves, and on a progress tick while some lag', async () => {
    const published: string[][] = [];
    const r = registry({ published });
    r.report(report('a', 9), owner());
    await new Promise((resolve) => setImmediate(resolve));
    expect(published).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(published).toEqual([['production']]);
    r.report(report('a', 10), owner());
    r.report(report('b', 10), owner());
    await new Promise((resolve) => setImmediate(resolve));
    // One aggregate for the burst, not one per report.
    expect(published).toEqual([['production'], ['production']]);
  });

  it('sweeps out instances silent past the expiry, but not stream-bound ones', () => {
    let now = 1_000_000;
    const r = registry({ now: () => now });
    r.report(report('quiet', 10), owner());
    r.report(report('stream', 10, 'ofrep-stream'), owner(), { bound: true });
    now += 2_000;
    r.report(report('chatty', 10), owner());
    now += 1_500;
    expect(r.sweep()).toBe(1);
    expect(r.list('production', 10).instances.map((i) => i.id).sort()).toEqual(['chatty', 'stream']);
    expect(r.size).toBe(2);
  });

  it('refuses new instances past the caps, naming the setting, but keeps hearing known ones', () => {
    const r = registry({ maxPerAddress: 2, maxInstances: 3 });
    expect(r.report(report('a', 1), owner())).toBe(true);
    expect(r.report(report('b', 1), owner())).toBe(true);
    expect(r.refusal('c', 'production', owner())).toContain('INSTANCES_MAX_PER_ADDRESS');
    expect(r.report(report('c', 1), owner())).toBe(false);
    expect(r.report(report('a', 2), owner())).toBe(true);
    expect(r.report(report('d', 1), owner('10.0.0.2'))).toBe(true);
    expect(r.refusal('e', 'production', owner('10.0.0.3'))).toContain('INSTANCES_MAX_PER_PROCESS');
    r.remove('a', 'production');
    expect(r.report(report('c', 1), owner())).toBe(true);
  });

  it('property: the aggregate always equals a recount of the instances held', () => {
    const op = fc.oneof(
      fc.record({ type: fc.constant('report' as const), id: fc.integer({ min: 0, max: 8 }), version: fc.integer({ min: 0, max: 12 }), kind: fc.constantFrom<InstanceKind>('node-local', 'browser', 'flagd-sync', 'node-remote'), env: fc.constantFrom('production', 'staging') }),
      fc.record({ type: fc.constant('remove' as const), id: fc.integer({ min: 0, max: 8 }), env: fc.constantFrom('production', 'staging') }),
    );
    fc.assert(fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      const r = registry();
      for (const o of ops) {
        if (o.type === 'report') r.report(report(`i${o.id}`, o.version, o.kind, o.env), owner());
        else r.remove(`i${o.id}`, o.env);
      }
      for (const env of ['production', 'staging']) {
        const listed = r.list(env, 100).instances;
        const recount = (kinds: InstanceKind[]) => {
          const counts = new Map<number, number>();
          for (const i of listed) if (kinds.includes(i.kind)) counts.set(i.version, (counts.get(i.version) ?? 0) + 1);
          return [...counts].sort((a, b) => a[0] - b[0]);
        };
        const aggregate = r.aggregate(env);
        expect(aggregate.held.map(([v, c]) => [v, c])).toEqual(recount(['node-local', 'browser', 'ofrep-stream']));
        expect(aggregate.delivered.map(([v, c]) => [v, c])).toEqual(recount(['flagd-sync']));
      }
      expect(r.size).toBe(r.list('production', 100).total + r.list('staging', 100).total);
      r.stop();
    }));
  });
});

describe('the SDK version instances report', () => {
  it('is the Node package\'s version', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../packages/node/package.json', import.meta.url), 'utf8')) as { version: string };
    expect(SDK_VERSION).toBe(pkg.version);
  });
});
