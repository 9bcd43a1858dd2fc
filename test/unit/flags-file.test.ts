import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalConfig, canonicalFile, flagsFileJsonSchema, FORMAT, type FlagsFile } from '../../packages/node/src/flags-as-code/flags-file.js';
import { readFlagsFile, renderFlagsFile, sha256Of } from '../../packages/node/src/flags-as-code/flags-yaml.js';

const schemaFile = new URL('../../packages/node/schema/flags-file.schema.json', import.meta.url);

const sample: FlagsFile = {
  format: FORMAT,
  environment: 'production',
  segments: [
    { key: 'vip', kind: 'list', members: ['u3', 'u1', 'u2'] },
    { key: 'beta', kind: 'rule', name: 'Beta testers', conditions: [{ field: 'plan', operator: 'in', value: ['pro', 'team'] }] },
  ],
  flags: [
    {
      key: 'zeta', name: 'Zeta', type: 'json', tags: ['b', 'a'],
      config: { enabled: true, variants: [{ name: 'on', value: { z: 1, a: [{ y: 2, b: 3 }] } }, { name: 'off', value: {} }], on_variant: 'on', off_variant: 'off' },
    },
    {
      key: 'checkout', name: 'New checkout', description: 'the new flow', type: 'string',
      config: {
        enabled: true,
        variants: [{ name: 'control', value: 'old' }, { name: 'treatment', value: 'new' }],
        on_variant: 'treatment', off_variant: 'control',
        rules: [{ id: 'staff', type: 'custom', conditions: [{ field: 'email', operator: 'ends_with', value: '@corp.com' }], action: 'serve', variant: 'treatment', priority: 0 }],
        targeting: [{ segments: ['vip', 'beta'], percentage: 50 }],
        split: [{ variant: 'control', weight: 33.333 }, { variant: 'treatment', weight: 66.667 }],
      },
    },
  ],
};

describe('the flags file', () => {
  it('renders in a canonical order that reads back to the same bytes', () => {
    const text = renderFlagsFile(sample);
    const read = readFlagsFile('flags.yaml', text);
    if ('errors' in read) throw new Error(read.errors.join('\n'));
    expect(renderFlagsFile(read.file)).toBe(text);
    expect(read.sha256).toBe(sha256Of(text));
    // Flags and segments by key, tags and members sorted, JSON keys sorted, defaults left out.
    expect(text.indexOf('key: checkout')).toBeLessThan(text.indexOf('key: zeta'));
    expect(text.indexOf('key: beta')).toBeLessThan(text.indexOf('key: vip'));
    expect(canonicalFile(sample).segments?.find((s) => s.key === 'vip')).toEqual({ key: 'vip', kind: 'list', members: ['u1', 'u2', 'u3'] });
    expect(canonicalFile(sample).flags[1]!.tags).toEqual(['a', 'b']);
    expect(Object.keys(canonicalFile(sample).flags[1]!.config.variants[0]!.value as object)).toEqual(['a', 'z']);
    expect(text.startsWith('# yaml-language-server: $schema=')).toBe(true);
  });

  it('puts a stored config (old shape, defaults spelt out, kill switch) in the same form as the file', () => {
    const stored = {
      enabled: true, value: true, off_value: false, rules: [], targeting: [{ segments: ['vip'], percentage: 100, enabled: true }],
      rollout: { percentage: 10, strategy: 'gradual', start_date: null, end_date: null }, split: null, kill_switch: { enabled: true },
    };
    expect(canonicalConfig(stored)).toEqual({
      enabled: true, variants: [{ name: 'on', value: true }, { name: 'off', value: false }], on_variant: 'on', off_variant: 'off',
      targeting: [{ segments: ['vip'] }], rollout: { percentage: 10, strategy: 'gradual' },
    });
  });

  it('is byte-stable for any order of flags, tags, members and JSON keys', () => {
    const key = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/);
    fc.assert(fc.property(
      fc.uniqueArray(key, { minLength: 1, maxLength: 6 }), fc.array(fc.stringMatching(/^[a-z]{1,6}$/), { maxLength: 5 }), fc.dictionary(key, fc.integer()), fc.integer(),
      (keys, tags, json, seed) => {
        const flags = keys.map((k) => ({ key: k, name: k, type: 'json' as const, tags: [...new Set(tags)], config: { enabled: true, variants: [{ name: 'on', value: json }, { name: 'off', value: null }], on_variant: 'on', off_variant: 'off' } }));
        const shuffled = [...flags].sort(() => (seed % 2 ? 1 : -1)).map((f) => ({ ...f, tags: [...f.tags].reverse(), config: { ...f.config, variants: [{ name: 'on', value: Object.fromEntries(Object.entries(json).reverse()) }, f.config.variants[1]!] } }));
        const a = renderFlagsFile({ format: FORMAT, environment: 'staging', flags });
        const b = renderFlagsFile({ format: FORMAT, environment: 'staging', flags: shuffled });
        expect(b).toBe(a);
        const read = readFlagsFile('f.yaml', a);
        expect('file' in read && renderFlagsFile(read.file)).toBe(a);
      },
    ), { numRuns: 100 });
  });

  it('names the line, column and path of every problem, never throwing', () => {
    const text = renderFlagsFile(sample)
      .replace('enabled: true', 'enabled: yes')
      .replace('percentage: 50', 'percentage: 150')
      .replace('action: serve', 'acton: serve');
    const read = readFlagsFile('flags.yaml', text);
    expect('errors' in read).toBe(true);
    const errors = 'errors' in read ? read.errors : [];
    expect(errors).toContainEqual(expect.stringMatching(/^flags\.yaml:\d+:\d+ flags\[0\]\.config\.enabled: .*expected boolean/));
    expect(errors).toContainEqual(expect.stringMatching(/^flags\.yaml:\d+:\d+ flags\[0\]\.config\.rules\[0\]: Unrecognized key: "acton"/));
    expect(errors).toContainEqual(expect.stringMatching(/^flags\.yaml:\d+:\d+ flags\[0\]\.config\.targeting\[0\]\.percentage: a percentage from 0 to 100: not above 100/));
    const line = Number(/^flags\.yaml:(\d+):/.exec(errors.find((e) => e.includes('.enabled'))!)![1]);
    expect(text.split('\n')[line - 1]).toContain('enabled: yes');
  });

  it('checks each config against the server schema for the flag type and the file for its segments', () => {
    const bad = structuredClone(sample);
    const checkout = bad.flags[1]!; // first in the file: flags are sorted by key
    checkout.config.split = [{ variant: 'control', weight: 50 }, { variant: 'treatment', weight: 40 }];
    checkout.config.targeting = [{ segments: ['nobody'] }];
    const read = readFlagsFile('f.yaml', renderFlagsFile(bad).replace('key: zeta', 'key: checkout'));
    const errors = 'errors' in read ? read.errors.join('\n') : '';
    // Values of the wrong type are reported alone (the schema checks variant references only on well-typed configs).
    checkout.config.variants[0]!.value = 42;
    const typed = readFlagsFile('f.yaml', renderFlagsFile(bad));
    expect('errors' in typed && typed.errors.join('\n')).toMatch(/^f\.yaml:\d+:\d+ flags\[0\]\.config\.variants\[0\]\.value: .*expected string, received number/m);
    expect(errors).toMatch(/flags\[0\]\.config\.split: the weights add up to 90, not 100/);
    expect(errors).toMatch(/flags\[0\]\.config\.targeting\[0\]\.segments\[0\]: segment 'nobody' is not in the file's segments/);
    expect(errors).toMatch(/flags\[1\]\.key: flag 'checkout' appears twice/);
  });

  it('reports YAML syntax errors with their position', () => {
    const read = readFlagsFile('f.yaml', 'format: ripcord-flags/v1\nflags: [\n  - a\n');
    expect('errors' in read && read.errors[0]).toMatch(/^f\.yaml:\d+:\d+ YAML: /);
    const dup = readFlagsFile('f.yaml', 'format: ripcord-flags/v1\nformat: x\nenvironment: production\nflags: []\n');
    expect('errors' in dup && dup.errors[0]).toMatch(/^f\.yaml:2:1 YAML: Map keys must be unique/);
  });

  it('publishes the JSON Schema the code generates', () => {
    expect(JSON.parse(readFileSync(schemaFile, 'utf8'))).toEqual(flagsFileJsonSchema());
  });
});
