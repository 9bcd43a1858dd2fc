import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { withNamedVariants } from '../../ui/src/config-shape.js';
import { changeText, diffValues, identityField, pathText, sameValue, type Change } from '../../ui/src/field-diff.js';

/** The admin UI's field-level diff (ui/src/field-diff.ts): what reviewers of a change read. */

const json = fc.jsonValue({ maxDepth: 4 });
const names = fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/), { minLength: 1, maxLength: 6 });
const variantsOf = (keys: string[]) => fc.tuple(...keys.map(() => fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), fc.boolean())))
  .map((values) => keys.map((name, i) => ({ name, value: values[i] })));
const variants = names.chain(variantsOf);

describe('field-level diff', () => {
  it('finds no change between a value and itself, and only then (property: empty ⇔ sameValue)', () => {
    fc.assert(fc.property(json, (value) => {
      expect(diffValues(value, structuredClone(value))).toEqual([]);
    }));
    fc.assert(fc.property(json, json, (a, b) => {
      expect(diffValues(a, b).length === 0).toBe(sameValue(a, b));
    }));
  });

  it('reads a field set to null as a field not set: no spurious "+ rollout: null"', () => {
    const stored = { enabled: false, rules: [], targeting: [] };
    expect(diffValues(stored, { ...stored, rollout: null, split: null })).toEqual([]);
    expect(diffValues({ a: null }, {})).toEqual([]);
    expect(diffValues({ rollout: null }, { rollout: { percentage: 10 } })).toEqual([{ kind: 'added', path: ['rollout'], after: { percentage: 10 } }]);
    expect(diffValues({ rollout: { percentage: 10 } }, { rollout: null })).toEqual([{ kind: 'removed', path: ['rollout'], before: { percentage: 10 } }]);
  });

  it('names the one field that changed, however deep (property)', () => {
    fc.assert(fc.property(fc.dictionary(fc.stringMatching(/^[a-z]{1,6}$/), fc.integer(), { minKeys: 1 }), fc.nat(), fc.integer(), (record, pick, bump) => {
      const keys = Object.keys(record);
      const key = keys[pick % keys.length]!;
      const after = { outer: { ...record, [key]: record[key]! + (bump === 0 ? 1 : bump) } };
      expect(diffValues({ outer: record }, after)).toEqual([{ kind: 'changed', path: ['outer', key], before: record[key], after: after.outer[key] }]);
    }));
  });

  it('matches variants by name: reordering them is no change (property)', () => {
    fc.assert(fc.property(variants, fc.nat(), (list, seed) => {
      const shuffled = [...list].sort((a, b) => ((a.name.charCodeAt(0) * 31 + seed) % 7) - ((b.name.charCodeAt(0) * 31 + seed) % 7));
      expect(diffValues({ variants: list }, { variants: shuffled })).toEqual([]);
    }));
  });

  it('shows a renamed variant as a rename, its value change under its new name, never as an add and a remove (property)', () => {
    fc.assert(fc.property(variants, fc.nat(), fc.boolean(), (list, pick, alsoChangeValue) => {
      const i = pick % list.length;
      const from = list[i]!.name;
      const to = `${from}-renamed`;
      fc.pre(!list.some((v) => v.name === to));
      const after = list.map((v, j) => (j === i ? { name: to, value: alsoChangeValue ? ['new', v.value] : v.value } : v));
      const changes = diffValues({ variants: list }, { variants: after });
      expect(changes[0]).toEqual({ kind: 'renamed', path: ['variants', { id: from }], field: 'name', from, to });
      expect(changes.filter((c) => c.kind === 'added' || c.kind === 'removed')).toEqual([]);
      expect(changes).toHaveLength(alsoChangeValue ? 2 : 1);
      if (alsoChangeValue) expect(changes[1]).toMatchObject({ kind: 'changed', path: ['variants', { id: to }, 'value'] });
    }));
  });

  it('reads the config editor’s rename of "on" to "control" (value and references changed too) in words', () => {
    const before = { variants: [{ name: 'on', value: 'old-on' }, { name: 'off', value: 'old-off' }], on_variant: 'on', off_variant: 'off', rollout: undefined };
    const after = { variants: [{ name: 'control', value: 'classic' }, { name: 'off', value: 'old-off' }, { name: 'compact', value: 'compact-ui' }], on_variant: 'control', off_variant: 'off', rollout: null };
    expect(diffValues(before, after).map(changeText)).toEqual([
      'variants[on] renamed to control',
      'variants[control].value: "old-on" → "classic"',
      '+ variants[compact]: {"name":"compact","value":"compact-ui"}',
      'on_variant: "on" → "control"',
    ]);
  });

  it('matches rules by id and split entries by variant; a rule replaced by another is a remove and an add', () => {
    const rule = (id: string, value: string) => ({ id, action: 'disable', conditions: [{ field: 'country', operator: 'equals', value }] });
    expect(diffValues({ rules: [rule('a', 'NL'), rule('b', 'DE')] }, { rules: [rule('b', 'FR'), rule('a', 'NL')] }).map(changeText))
      .toEqual(['rules[b].conditions[0].value: "DE" → "FR"']);
    expect(diffValues({ rules: [rule('a', 'NL')] }, { rules: [rule('c', 'BE')] }).map((c) => c.kind)).toEqual(['removed', 'added']);
    // The same rule under a new id is a rename.
    expect(diffValues({ rules: [rule('a', 'NL')] }, { rules: [rule('no-nl', 'NL')] }).map(changeText)).toEqual(['rules[a] renamed to no-nl']);
    expect(diffValues({ split: [{ variant: 'a', weight: 50 }, { variant: 'b', weight: 50 }] }, { split: [{ variant: 'b', weight: 70 }, { variant: 'a', weight: 30 }] }).map(changeText))
      .toEqual(['split[a].weight: 50 → 30', 'split[b].weight: 50 → 70']);
  });

  it('lists what left and arrived in lists of plain values (tags, segment keys); the same values reordered are one change (property)', () => {
    expect(diffValues({ tags: ['a', 'b'] }, { tags: ['b', 'a'] })).toEqual([{ kind: 'changed', path: ['tags'], before: ['a', 'b'], after: ['b', 'a'] }]);
    fc.assert(fc.property(fc.uniqueArray(fc.string({ maxLength: 5 }), { maxLength: 8 }), fc.uniqueArray(fc.string({ maxLength: 5 }), { maxLength: 8 }), (a, b) => {
      fc.pre(a.some((x) => !b.includes(x)) || b.some((x) => !a.includes(x)));
      const changes = diffValues({ tags: a }, { tags: b });
      const removed = changes.filter((c): c is Extract<Change, { kind: 'removed' }> => c.kind === 'removed').map((c) => c.before);
      const added = changes.filter((c): c is Extract<Change, { kind: 'added' }> => c.kind === 'added').map((c) => c.after);
      expect(new Set(removed)).toEqual(new Set(a.filter((x) => !b.includes(x))));
      expect(new Set(added)).toEqual(new Set(b.filter((x) => !a.includes(x))));
      expect(changes.every((c) => c.kind === 'added' || c.kind === 'removed')).toBe(true);
    }));
  });

  it('is symmetric: the diff back lists the same fields, adds as removes and renames reversed (property)', () => {
    const flip = (c: Change): string => c.kind === 'added' ? `removed ${pathText(c.path)}`
      : c.kind === 'removed' ? `added ${pathText(c.path)}`
        : c.kind === 'renamed' ? `renamed ${c.to}→${c.from}` : `changed ${pathText(c.path)}`;
    const key = (c: Change): string => c.kind === 'renamed' ? `renamed ${c.from}→${c.to}` : `${c.kind} ${pathText(c.path)}`;
    fc.assert(fc.property(fc.record({ a: json, b: fc.option(json), tags: fc.array(fc.integer({ max: 5, min: 0 }), { maxLength: 4 }) }), fc.record({ a: json, b: fc.option(json), tags: fc.array(fc.integer({ max: 5, min: 0 }), { maxLength: 4 }) }), (x, y) => {
      fc.pre(!diffValues(x, y).some((c) => c.kind === 'renamed'));
      const forth = diffValues(x, y).filter((c) => c.kind !== 'renamed').map(flip).sort();
      const back = diffValues(y, x).filter((c) => c.kind !== 'renamed').map(key).sort();
      expect(new Set(back)).toEqual(new Set(forth));
    }));
  });

  it('picks an identity only when every item has it, unique on each side', () => {
    expect(identityField([{ name: 'a' }, { name: 'b' }], [{ name: 'b' }])).toBe('name');
    expect(identityField([{ id: 'r1', name: 'x' }], [{ id: 'r2', name: 'x' }])).toBe('id');
    expect(identityField([{ name: 'a' }, { name: 'a' }], [])).toBeNull();
    expect(identityField([{ name: 'a' }, { other: 1 }], [])).toBeNull();
    expect(identityField([1, 2], [3])).toBeNull();
    expect(identityField([], [])).toBeNull();
  });

  it('words every kind of change with its path', () => {
    expect(pathText([])).toBe('(the value)');
    expect(pathText(['rules', { id: 'no-nl' }, 'conditions', 0, 'value'])).toBe('rules[no-nl].conditions[0].value');
    expect(changeText({ kind: 'changed', path: ['enabled'], before: false, after: true })).toBe('enabled: false → true');
    expect(changeText({ kind: 'removed', path: ['tags'], before: 'beta' })).toBe('− tags: "beta"');
    expect(changeText({ kind: 'added', path: ['x'], after: 'y'.repeat(300) })).toMatch(/^\+ x: "y+…$/);
    expect(changeText({ kind: 'added', path: ['x'], after: 'y'.repeat(300) }).length).toBeLessThanOrEqual(125);
    expect(diffValues(1, 'a')).toEqual([{ kind: 'changed', path: [], before: 1, after: 'a' }]);
    expect(diffValues(undefined, { a: 1 })).toEqual([{ kind: 'added', path: [], after: { a: 1 } }]);
  });

  it('gives a config stored before variants its implicit on and off, so renaming on reads as a rename', () => {
    const legacy = { enabled: false, value: 'old-on', off_value: 'old-off', rules: [] };
    const saved = { enabled: true, variants: [{ name: 'control', value: 'classic' }, { name: 'off', value: 'old-off' }], on_variant: 'control', off_variant: 'off', value: 'classic', off_value: 'old-off', rules: [] };
    expect(diffValues(withNamedVariants(legacy), withNamedVariants(saved)).map(changeText)).toEqual([
      'enabled: false → true',
      'value: "old-on" → "classic"',
      'variants[on] renamed to control',
      'variants[control].value: "old-on" → "classic"',
      'on_variant: "on" → "control"',
    ]);
    // Anything else passes through unchanged.
    for (const other of [null, undefined, 3, 'x', [1], { archived_at: null }, saved]) expect(withNamedVariants(other)).toBe(other);
  });
});
