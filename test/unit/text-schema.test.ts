import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isCleanText, nonBlankText, oneLineText, text } from '../../src/domain/text.js';

/**
 * The shared text schema is a pattern (so that the OpenAPI document carries it); it must refuse
 * exactly what isCleanText refuses (NUL, lone surrogates) and be fast on the longest text allowed.
 */

/** Strings rich in the characters that matter: NUL, high and low surrogates, pairs, white space. */
const tricky = fc.array(fc.constantFrom('a', ' ', '\t', '\u0000', '\ud800', '\udbff', '\udc00', '\udfff', '\ud83d\ude00', 'é', '\uffff'), { maxLength: 12 }).map((parts) => parts.join(''));

describe('text() as a pattern', () => {
  it('accepts exactly the clean strings', () => {
    fc.assert(fc.property(fc.oneof(tricky, fc.string({ unit: 'binary' })), (value) => {
      expect(text().safeParse(value).success).toBe(isCleanText(value));
    }), { numRuns: 300 });
  });

  it('nonBlankText() also refuses blank text and trims', () => {
    fc.assert(fc.property(tricky, (value) => {
      expect(nonBlankText().safeParse(value).success).toBe(isCleanText(value) && value.trim() !== '');
    }), { numRuns: 2_000 });
    expect(nonBlankText().parse('  name ')).toBe('name');
  });

  it('oneLineText() also refuses empty text and line breaks', () => {
    fc.assert(fc.property(fc.oneof(tricky, tricky.map((t) => `${t}\n${t}`), tricky.map((t) => `${t}\r`)), (value) => {
      expect(oneLineText().safeParse(value).success).toBe(isCleanText(value) && value !== '' && !/[\r\n]/.test(value));
    }), { numRuns: 1_000 });
  });

  it('puts the rule in the JSON Schema as one pattern that refuses NUL and lone surrogates', () => {
    const schema = z.toJSONSchema(text(100)) as { pattern: string; maxLength: number };
    expect(schema.maxLength).toBe(100);
    const pattern = new RegExp(schema.pattern, 'u');
    expect(pattern.test('plain \ud83d\ude00 text')).toBe(true);
    expect(pattern.test('nul \u0000')).toBe(false);
    expect(pattern.test('lone \ud800')).toBe(false);
  });

  it('checks the longest text in linear time (no catastrophic backtracking)', () => {
    const long = `${'x '.repeat(32 * 1024 - 1)}\u0000`;
    expect(text(64 * 1024).safeParse(long).success).toBe(false);
    expect(nonBlankText(64 * 1024).safeParse(' '.repeat(64 * 1024)).success).toBe(false);
    expect(text(64 * 1024).safeParse('\ud83d\ude00'.repeat(32 * 1024)).success).toBe(true);
  });
});
