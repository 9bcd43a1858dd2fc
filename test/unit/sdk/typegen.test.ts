import { describe, expect, it } from 'vitest';
import { generateDeclarations, typeOfJson, variantNames } from '../../../packages/node/src/typegen/generate.js';

const flag = (key: string, type: 'boolean' | 'string' | 'number' | 'json', config: Record<string, unknown>) => ({ key, type, environment: 'production', version: 3, config });

describe('typegen', () => {
  it('types json values by shape, not by literal', () => {
    expect(typeOfJson({ a: 1, 'b-c': ['x'], d: null, e: {} })).toBe('{ a: number; "b-c": string[]; d: null; e: { [key: string]: RipcordJson } }');
    expect(typeOfJson([1, 'a'])).toBe('Array<number | string>');
    expect(typeOfJson([])).toBe('RipcordJson[]');
  });

  it('declares every key with its value type, json flags as the union of the shapes they can serve', () => {
    const text = generateDeclarations({
      environment: 'production', version: 9, segments: [],
      flags: [
        flag('z-last', 'boolean', { value: true, off_value: false }),
        flag('a-json', 'json', { value: { on: true }, off_value: { on: false }, rules: [{ id: 'r', action: 'override_value', value: 'legacy' }] }),
        flag('limit', 'number', { value: 1, off_value: 0 }),
      ],
    }, 'http://api');
    expect(text).toContain('environment production, version 9');
    expect(text).toMatch(/"a-json": \{ on: boolean \} \| string;[\s\S]*"limit": number;[\s\S]*"z-last": boolean;/);
    expect(text).toContain('interface RipcordFlagTypes {');
  });

  it('declares each key\'s variant names as a union: declared variants, on/off without them, and override rule ids', () => {
    const layout = flag('layout', 'json', {
      variants: [{ name: 'control', value: { cols: 1 } }, { name: 'compact', value: { cols: 2 } }, { name: 'wide', value: { cols: 3, dense: true } }],
      on_variant: 'control', off_variant: 'control', value: { cols: 1 }, off_value: { cols: 1 },
    });
    const legacy = flag('legacy', 'string', { value: 'a', off_value: 'b', rules: [{ id: 'vip', action: 'override_value', value: 'c' }] });
    expect(variantNames(layout)).toEqual(['control', 'compact', 'wide']);
    expect(variantNames(legacy)).toEqual(['on', 'off', 'vip']);
    const text = generateDeclarations({ environment: 'production', version: 2, segments: [], flags: [layout, legacy] }, 'http://api');
    expect(text).toMatch(/interface RipcordFlagVariants \{\n {4}"layout": "control" \| "compact" \| "wide";\n {4}"legacy": "on" \| "off" \| "vip";\n {2}\}/);
    // A json flag's type covers every variant's shape, not only the on and off values.
    expect(text).toContain('"layout": { cols: number } | { cols: number; dense: boolean };');
  });
});
