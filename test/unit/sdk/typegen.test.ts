import { describe, expect, it } from 'vitest';
import { generateDeclarations, typeOfJson } from '../../../packages/node/src/typegen/generate.js';

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
});
