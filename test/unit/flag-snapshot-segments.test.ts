import { describe, expect, it } from 'vitest';
import { FlagSnapshot } from '../../src/cache/flag-snapshot.js';
import { defaultConfigFor, type FlagDefinition } from '../../src/domain/flag.js';
import type { Segment } from '../../src/domain/segment.js';
import { evaluate } from '../../src/engine/index.js';

const targeted = (version: number, segments: string[]): FlagDefinition => ({
  key: 'beta-feature', type: 'boolean', environment: 'production', version,
  config: { ...defaultConfigFor('boolean'), enabled: true, targeting: [{ segments, percentage: 100, enabled: true }], rollout: { percentage: 0, strategy: 'gradual' } },
});
const list = (members: string[]): Segment => ({ key: 'beta', kind: 'list', members });
const valueFor = (snapshot: FlagSnapshot, targetingKey: string) => evaluate(snapshot.get('production', 'beta-feature')!, { targetingKey }, Date.now()).value;

describe('FlagSnapshot with segments', () => {
  it('compiles flags against the installed segments', () => {
    const snapshot = new FlagSnapshot();
    snapshot.setSegments(new Map([['beta', list(['ada'])]]));
    snapshot.apply(targeted(1, ['beta']));
    expect(valueFor(snapshot, 'ada')).toBe(true);
    expect(valueFor(snapshot, 'bob')).toBe(false);
  });

  it('recompiles the flags that use a changed segment, at the same version', () => {
    const snapshot = new FlagSnapshot();
    snapshot.apply(targeted(1, ['beta']));
    expect(valueFor(snapshot, 'ada')).toBe(false); // unknown segment matches nobody
    snapshot.setSegments(new Map([['beta', list(['ada'])]]));
    expect(valueFor(snapshot, 'ada')).toBe(true);
    snapshot.setSegments(new Map([['beta', list(['bob'])]]));
    expect(valueFor(snapshot, 'ada')).toBe(false);
    expect(valueFor(snapshot, 'bob')).toBe(true);
    expect(snapshot.get('production', 'beta-feature')!.version).toBe(1);
  });

  it('leaves flags alone when other segments change', () => {
    const snapshot = new FlagSnapshot();
    const beta = list(['ada']);
    snapshot.setSegments(new Map([['beta', beta]]));
    snapshot.apply(targeted(1, ['beta']));
    const compiled = snapshot.get('production', 'beta-feature');
    snapshot.setSegments(new Map<string, Segment>([['beta', beta], ['other', { key: 'other', kind: 'list', members: [] }]]));
    expect(snapshot.get('production', 'beta-feature')).toBe(compiled);
  });
});

describe('FlagSnapshot with archived flags', () => {
  it('drops a flag on its tombstone and keeps older definitions out', () => {
    const snapshot = new FlagSnapshot();
    snapshot.apply(targeted(1, []));
    expect(snapshot.apply({ ...targeted(2, []), archived: true })).toBe('flag.archived');
    expect(snapshot.get('production', 'beta-feature')).toBeUndefined();
    expect([...snapshot.flags('production')]).toHaveLength(0);
    expect(snapshot.apply(targeted(1, []))).toBeNull();
    expect(snapshot.get('production', 'beta-feature')).toBeUndefined();
    // Unarchived: a newer definition brings it back.
    expect(snapshot.apply(targeted(3, []))).toBe('flag.updated');
    expect(snapshot.get('production', 'beta-feature')!.version).toBe(3);
  });
});
