import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { hasVisibleCharacter, isCleanText, visibleText } from '../../src/domain/text.js';

/**
 * Where a reason is required (a kill, a bypass, a rejection, a pause), the shared text rule asks for
 * a visible character: text made only of white space, zero-width and other invisible characters
 * says nothing, however long.
 */

/** Characters that show nothing: the ones reported (U+200B, U+2060, U+00AD, U+200C, U+200D, U+180E, U+2800) and their kin. */
const INVISIBLE = [
  '\u200b', '\u2060', '\u00ad', '\u200c', '\u200d', '\u180e', '\u2800', '\ufeff', '\u200e', '\u200f', '\u202a', '\u202e', '\u2061', '\u2064',
  '\u034f', '\u061c', '\u115f', '\u1160', '\u3164', '\uffa0', '\ufe0f', '\u17b4', ' ', '\t', '\n', '\u00a0', '\u3000', '\u2028', '\u0007', '\u0085',
  '\udb40\udc01', '\udb40\udc20', '\udb40\udd00',
];
/** Characters anyone sees. */
const VISIBLE = ['a', 'Z', '0', '.', 'é', 'ß', 'ж', '中', '\u{1F525}', '\u{1D400}', '!', '\u00e9'];

const invisibleText = fc.array(fc.constantFrom(...INVISIBLE), { maxLength: 20 }).map((parts) => parts.join(''));

describe('visible text where a reason is required', () => {
  it('refuses every reported invisible reason', () => {
    for (const reason of ['\u200b', '\u2060', '\u00ad', '\u200c\u200d', '\u180e', '\u2800', '\u2800\u2800 \u200b']) {
      expect(hasVisibleCharacter(reason), JSON.stringify(reason)).toBe(false);
      expect(visibleText(500).safeParse(reason).success, JSON.stringify(reason)).toBe(false);
    }
  });

  it('refuses any text made only of invisible characters', () => {
    fc.assert(fc.property(invisibleText, (value) => {
      expect(hasVisibleCharacter(value)).toBe(false);
      expect(visibleText().safeParse(value).success).toBe(false);
    }), { numRuns: 2_000 });
  });

  it('accepts the same text with one visible character anywhere in it, trimmed', () => {
    fc.assert(fc.property(invisibleText, invisibleText, fc.constantFrom(...VISIBLE), (before, after, visible) => {
      const value = `${before}${visible}${after}`;
      expect(hasVisibleCharacter(value)).toBe(true);
      const parsed = visibleText().safeParse(value);
      expect(parsed.success).toBe(true);
      expect(parsed.data).toBe(value.trim());
    }), { numRuns: 2_000 });
  });

  it('is still the clean-text rule: NUL and lone surrogates are refused even beside visible text', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 30 }), (value) => {
      expect(visibleText().safeParse(value).success).toBe(isCleanText(value) && hasVisibleCharacter(value));
    }), { numRuns: 2_000 });
    expect(visibleText().safeParse('reason \u0000').success).toBe(false);
    expect(visibleText().safeParse('reason \ud800').success).toBe(false);
  });

  it('carries the rule into the JSON Schema, where a pattern engine in another language reads it the same way', () => {
    const schema = z.toJSONSchema(visibleText(500)) as { allOf?: Array<{ pattern: string }>; pattern?: string };
    const patterns = (schema.allOf ?? [schema]).map((s) => s.pattern).filter((p): p is string => typeof p === 'string');
    expect(patterns.length).toBe(2);
    const visible = patterns.map((p) => new RegExp(p, 'u')).find((p) => !p.test('\u200b'))!;
    expect(visible).toBeDefined();
    expect(visible.test('\u2800\u200d')).toBe(false);
    expect(visible.test('\u200b ok')).toBe(true);
    expect(visible.source).not.toMatch(/\\p\{/);
  });

  it('checks the longest reason in linear time', () => {
    expect(visibleText(64 * 1024).safeParse('\u200b'.repeat(64 * 1024)).success).toBe(false);
  });
});
