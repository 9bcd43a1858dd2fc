import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sameJson } from '../../src/domain/variants.js';
import { canonicalFlag, canonicalSegment, FORMAT, type FlagEntry, type FlagsFile } from '../../packages/node/src/flags-as-code/flags-file.js';
import { computePlan, diffJson, planChanges, renderPlan } from '../../packages/node/src/flags-as-code/plan.js';
import type { ServerState } from '../../packages/node/src/flags-as-code/server-state.js';

const flag = (key: string, percentage = 10, extra: Partial<FlagEntry> = {}): FlagEntry => canonicalFlag({
  key, name: key, type: 'boolean',
  config: { enabled: true, variants: [{ name: 'on', value: true }, { name: 'off', value: false }], on_variant: 'on', off_variant: 'off', rollout: { percentage, strategy: 'gradual' } },
  ...extra,
});

function state(flags: FlagEntry[], options: { archived?: string[] } = {}): ServerState {
  return {
    environment: 'production',
    flags: new Map(flags.map((entry, i) => [entry.key, { entry, flagVersion: 1, configVersion: 10 + i, archived: options.archived?.includes(entry.key) ?? false }])),
    segments: new Map([['vip', { entry: canonicalSegment({ key: 'vip', kind: 'list', members: ['a', 'b'] }), version: 3 }]]),
  };
}

const file = (flags: FlagEntry[], segments: FlagsFile['segments'] = []): FlagsFile => ({ format: FORMAT, environment: 'production', flags, segments });

describe('diffJson', () => {
  const json = fc.jsonValue({ maxDepth: 3 });
  it('is empty exactly when the two values are the same JSON', () => {
    fc.assert(fc.property(json, json, (a, b) => {
      expect(diffJson(a, b).length === 0).toBe(sameJson(a, b));
      expect(diffJson(a, a)).toEqual([]);
    }), { numRuns: 300 });
  });

  it('names the deepest field that changed, with both values', () => {
    expect(diffJson({ rules: [{ id: 'a', percentage: 5 }], x: 1 }, { rules: [{ id: 'a', percentage: 7 }], x: 1 }, 'config'))
      .toEqual([{ path: 'config.rules[0].percentage', before: 5, after: 7 }]);
    expect(diffJson({ a: 1 }, { b: 2 })).toEqual([{ path: 'b', before: undefined, after: 2 }, { path: 'a', before: 1, after: undefined }]);
    expect(diffJson({ list: [1] }, { list: [1, 2] })).toEqual([{ path: 'list', before: [1], after: [1, 2] }]);
  });

  it('applying every change of a diff to the old value gives the new one', () => {
    const set = (target: unknown, path: string, value: unknown): unknown => {
      if (path === '') return value;
      const parts = path.match(/[^.[\]]+/g)!.map((p) => (/^\d+$/.test(p) ? Number(p) : p));
      const root = structuredClone(target) as Record<string | number, unknown>;
      let node = root;
      parts.slice(0, -1).forEach((p) => {
        node = node[p] as Record<string | number, unknown>;
      });
      const last = parts.at(-1)!;
      if (value === undefined) delete node[last];
      else node[last] = value;
      return root;
    };
    // Keys as the file has them (paths are for reading; a key with a dot would read as two).
    const { value } = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: 'small' }, fc.integer(), fc.string(), fc.boolean(), fc.constant(null), fc.array(tie('value'), { maxLength: 3 }), fc.dictionary(fc.constantFrom('a', 'b', 'c'), tie('value'), { maxKeys: 3 })),
    }));
    const obj = fc.dictionary(fc.constantFrom('a', 'b', 'c'), value);
    fc.assert(fc.property(obj, obj, (a, b) => {
      const patched = diffJson(a, b).reduce<unknown>((acc, c) => set(acc, c.path, c.after), a);
      expect(sameJson(patched, b)).toBe(true);
    }), { numRuns: 300 });
  });
});

describe('computePlan', () => {
  it('plans nothing for a file equal to the server', () => {
    const plan = computePlan(file([flag('a'), flag('b')]), state([flag('b'), flag('a')]));
    expect(planChanges(plan)).toBe(false);
    expect(plan.unchanged).toEqual(['a', 'b']);
  });

  it('creates, updates field by field, and leaves flags the file lacks unless pruning', () => {
    const server = state([flag('a'), flag('b'), flag('gone')]);
    const plan = computePlan(file([flag('a', 25, { tags: ['x'] }), flag('b'), flag('new')]), server);
    expect(plan.flags.map((f) => [f.kind, f.key])).toEqual([['update', 'a'], ['create', 'new']]);
    const update = plan.flags[0]!;
    expect(update.kind === 'update' && update.identity).toEqual([{ path: 'tags', before: undefined, after: ['x'] }]);
    expect(update.kind === 'update' && update.config).toEqual([{ path: 'config.rollout.percentage', before: 10, after: 25 }]);
    expect(plan.notInFile).toEqual(['gone']);
    expect(renderPlan(plan).join('\n')).toContain('config.rollout.percentage: 10 → 25');
    const pruned = computePlan(file([flag('a'), flag('b')]), server, { prune: true });
    expect(pruned.flags.map((f) => [f.kind, f.key])).toEqual([['archive', 'gone']]);
  });

  it('refuses a type change and an archived flag, touching neither', () => {
    const plan = computePlan(file([canonicalFlag({ ...flag('a'), type: 'string', config: { enabled: false, variants: [{ name: 'x', value: 'x' }], on_variant: 'x', off_variant: 'x' } }), flag('b')]), state([flag('a'), flag('b', 5)], { archived: ['b'] }));
    expect(plan.flags).toEqual([]);
    expect(plan.problems).toEqual([
      expect.stringContaining("flag 'a' is of type boolean on the server and string in the file"),
      expect.stringContaining("flag 'b' is archived on the server"),
    ]);
  });

  it('compares list members as sets', () => {
    const plan = computePlan(file([], [{ key: 'vip', kind: 'list', members: ['c', 'b'] }]), state([]));
    expect(plan.segments).toHaveLength(1);
    expect(plan.segments[0]!.changes).toEqual([{ path: 'members', before: { removed: ['a'] }, after: { added: ['c'] } }]);
    expect(renderPlan(plan).join('\n')).toContain('members: +1 -1');
    expect(planChanges(computePlan(file([], [{ key: 'vip', kind: 'list', members: ['b', 'a'] }]), state([])))).toBe(false);
  });
});
