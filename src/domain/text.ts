import { z } from 'zod';

/**
 * The one schema for text that crosses the trust boundary. PostgreSQL refuses NUL in `text` and
 * `jsonb`, and a lone UTF-16 surrogate has no UTF-8 form (jsonb refuses its `\ud800` escape), so
 * both would fail deep in a store; they are refused here, at parse time, with the field's path.
 */

/** Longest free text any field accepts unless it says less. */
export const MAX_TEXT = 64 * 1024;
/** Deepest nesting a JSON value (a json flag's value, a context) may have. */
export const MAX_JSON_DEPTH = 32;
/** Deepest nesting a request body may have (a config holds rules, conditions and json values). */
export const MAX_BODY_DEPTH = 64;

const BAD_TEXT_MESSAGE = 'must not contain NUL characters or unpaired UTF-16 surrogates';

const BAD_CHARACTER = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True for text PostgreSQL and UTF-8 can hold: no NUL, no lone surrogate. */
export function isCleanText(value: string): boolean {
  return !BAD_CHARACTER.test(value);
}

// The same rule as patterns, so that the OpenAPI document carries it (JSON Schema `pattern`): one
// character is anything but NUL and surrogates, or a surrogate pair. Without the `u` flag JavaScript
// sees a pair as two code units (the second branch); with it, and in other languages, as one
// character (the first branch). Both match in linear time.
const CLEAN_CHARACTER = String.raw`(?:[^\u0000\uD800-\uDFFF]|[\uD800-\uDBFF][\uDC00-\uDFFF])`;
const CLEAN_TEXT = new RegExp(`^${CLEAN_CHARACTER}*$`);
const CLEAN_LINE = new RegExp(String.raw`^(?:[^\r\n\u0000\uD800-\uDFFF]|[\uD800-\uDBFF][\uDC00-\uDFFF])+$`);
const CLEAN_NON_BLANK = new RegExp(String.raw`^\s*(?:[^\s\u0000\uD800-\uDFFF]|[\uD800-\uDBFF][\uDC00-\uDFFF])${CLEAN_CHARACTER}*$`);

/** A string of at most `max` characters without NUL or lone surrogates. */
export function text(max: number = MAX_TEXT) {
  return z.string().max(max).regex(CLEAN_TEXT, BAD_TEXT_MESSAGE);
}

/** Text that must say something: at most `max` characters, not only white space, trimmed, and clean as text() is. */
export function nonBlankText(max: number = MAX_TEXT) {
  return z.string().max(max).regex(CLEAN_NON_BLANK, `must not be blank, and ${BAD_TEXT_MESSAGE}`).trim();
}

/**
 * Characters that show nothing on their own: white space, controls, format characters (zero-width
 * space, joiners, word joiner, soft hyphen, bidi marks, the Mongolian vowel separator), variation
 * selectors, the Hangul fillers and the blank Braille pattern, as code-unit ranges (no `\p{}`), so the
 * OpenAPI document's pattern means the same to generators in other languages.
 */
const INVISIBLE = String.raw`\u0000-\u0020\u007F-\u00A0\u00AD\u034F\u061C\u115F\u1160\u1680\u17B4\u17B5\u180B-\u180F\u2000-\u200F\u2028-\u202F\u205F-\u206F\u2800\u3000\u3164\uFE00-\uFE0F\uFEFF\uFFA0\uFFF0-\uFFF8`;
/**
 * Contains one visible character: a BMP character outside INVISIBLE (and not a surrogate), or a
 * surrogate pair outside the tag and variation-selector planes (U+E0000–U+E0FFF, high surrogates
 * DB40–DB43). Unanchored, as JSON Schema patterns are.
 */
const VISIBLE_CHARACTER = new RegExp(String.raw`[^${INVISIBLE}\uD800-\uDFFF]|[\uD800-\uDB3F\uDB44-\uDBFF][\uDC00-\uDFFF]`);

/** True when `value` shows something: at least one character that is not white space or otherwise invisible. */
export function hasVisibleCharacter(value: string): boolean {
  return VISIBLE_CHARACTER.test(value);
}

/**
 * Text where a reason is required (a kill, a bypass, a rejection, a pause): clean as text() is,
 * trimmed, and with at least one visible character, so "\u200b" or a blank Braille pattern is no reason.
 */
export function visibleText(max: number = MAX_TEXT) {
  return z.string().max(max).regex(CLEAN_TEXT, BAD_TEXT_MESSAGE).regex(VISIBLE_CHARACTER, 'must contain a visible character').trim();
}

/** One non-empty line (a list member): at most `max` characters, no line break, clean as text() is. */
export function oneLineText(max: number = MAX_TEXT) {
  return z.string().max(max).regex(CLEAN_LINE, `one non-empty line, and ${BAD_TEXT_MESSAGE}`);
}

/**
 * A string of at most `max` characters matching `pattern`, which must admit only printable ASCII (a
 * key, a tag, a cursor): such a pattern already refuses NUL and surrogates, and one pattern per field
 * is what lets a generator (and a reader) of the OpenAPI document satisfy it.
 */
export function textMatching(max: number, pattern: RegExp, message: string) {
  return z.string().max(max).regex(pattern, message);
}

/** Depth of nested arrays and objects in a parsed JSON value, counted without recursion. */
export function jsonDepth(value: unknown, stopAt = Number.POSITIVE_INFINITY): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length) {
    const [current, depth] = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    const level = depth + 1;
    if (level > deepest) deepest = level;
    if (deepest > stopAt) return deepest;
    for (const child of Array.isArray(current) ? current : Object.values(current)) stack.push([child, level]);
  }
  return deepest;
}

/** The first key or string inside a JSON value that is not clean text, as a path, or undefined. */
function firstBadText(value: unknown): Array<string | number> | undefined {
  const stack: Array<[unknown, Array<string | number>]> = [[value, []]];
  while (stack.length) {
    const [current, path] = stack.pop()!;
    if (typeof current === 'string') {
      if (!isCleanText(current)) return path;
    } else if (Array.isArray(current)) {
      current.forEach((item, i) => stack.push([item, [...path, i]]));
    } else if (current !== null && typeof current === 'object') {
      for (const [key, item] of Object.entries(current)) {
        if (!isCleanText(key)) return [...path, key];
        stack.push([item, [...path, key]]);
      }
    }
  }
  return undefined;
}

/**
 * Any JSON value (a json flag's value) at most MAX_JSON_DEPTH deep whose keys and strings are clean
 * text. Depth is checked first and iteratively, so a hostile depth cannot exhaust the stack of the
 * recursive z.json() that follows.
 */
export const jsonValueSchema = z
  .unknown()
  .superRefine((value, ctx) => {
    if (jsonDepth(value, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
      ctx.addIssue({ code: 'custom', message: `nested deeper than ${MAX_JSON_DEPTH} levels` });
      return;
    }
    const bad = firstBadText(value);
    if (bad) ctx.addIssue({ code: 'custom', path: bad, message: BAD_TEXT_MESSAGE });
  })
  .pipe(z.json());

/** A JSON object of arbitrary fields (an evaluation context, a rollout step body), checked as jsonValueSchema is. */
export const jsonObjectSchema = jsonValueSchema.pipe(z.record(z.string(), z.json())).meta({ type: 'object' });

/** A UUID as users' ids are (the bootstrap admin's id is not one). */
export const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An environment's key, wherever one is read (routes, SDK reports). */
export const environmentKeySchema = textMatching(63, /^[a-z0-9][a-z0-9_-]{0,62}$/, 'an environment key such as production');
