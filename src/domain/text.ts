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
