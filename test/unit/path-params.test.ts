import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { undecodableParams } from '../../api/path-params.js';

const TEMPLATES = [
  '/api/v1/flags/{key}',
  '/api/v1/flags/{key}/environments/{env}',
  '/api/v1/flags/{key}/archive',
  '/api/v1/segments/{key}/members/{member}',
  '/hooks/v1/triggers/{secret}',
  '/ofrep/v1/evaluate/flags/{key}',
];

/** Escapes decodeURIComponent refuses: invalid bytes, lone surrogates, overlong and truncated sequences, bad hex. */
const BAD_ESCAPES = ['%FF', '%ED%A0%80', '%ED%BF%BF', '%C0%AF', '%E0%80%80', '%F0%80%80%80', '%F4%90%80%80', '%F8%88%80%80%80', '%80', '%C3', '%E2%82', '%', '%G1', '%4', '%%'];

/** A segment as a client would send it: any text, percent-encoded. */
const encodedSegment = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }).map(encodeURIComponent);
const badSegment = fc.tuple(fc.string({ maxLength: 4 }).map(encodeURIComponent), fc.constantFrom(...BAD_ESCAPES), fc.string({ maxLength: 4 }).map(encodeURIComponent))
  // A letter on each side, so that a neighbour never completes a truncated escape (`%C3` + `%A9`).
  .map(([before, bad, after]) => `${before}x${bad}x${after}`);

describe('undecodableParams', () => {
  it('is empty for every path whose segments were encoded by encodeURIComponent', () => {
    fc.assert(fc.property(fc.array(encodedSegment, { minLength: 1, maxLength: 6 }), (segments) => {
      expect(undecodableParams(`/${segments.join('/')}`, TEMPLATES)).toEqual([]);
    }), { numRuns: 2_000 });
  });

  it('names the parameter a bad escape sits in, for every template and parameter', () => {
    const cases = TEMPLATES.flatMap((template) => template.split('/').flatMap((part, index) => (/^\{\w+\}$/.test(part) ? [{ template, index, name: part.slice(1, -1) }] : [])));
    fc.assert(fc.property(fc.constantFrom(...cases), badSegment, encodedSegment, ({ template, index, name }, bad, good) => {
      const path = template.split('/').map((part, i) => (i === index ? bad : /^\{\w+\}$/.test(part) ? good : part)).join('/');
      expect(undecodableParams(path, TEMPLATES)).toEqual([name]);
    }), { numRuns: 3_000 });
  });

  it('names every bad parameter once, and `path` when no template fits or a literal segment is bad', () => {
    expect(undecodableParams('/api/v1/flags/%FF/environments/%C0%AF', TEMPLATES)).toEqual(['key', 'env']);
    expect(undecodableParams('/api/v1/nothing/%FF', TEMPLATES)).toEqual(['path']);
    expect(undecodableParams('/api/v1/fl%FFags/x', TEMPLATES)).toEqual(['path']);
    expect(undecodableParams('/api/v1/flags/%FF/unknown', TEMPLATES)).toEqual(['path']);
  });

  it('never returns the value itself (a trigger path is its secret)', () => {
    fc.assert(fc.property(badSegment, (bad) => {
      const secret = `rc_trigger_${'x'.repeat(43)}${bad}`;
      expect(JSON.stringify(undecodableParams(`/hooks/v1/triggers/${secret}`, TEMPLATES))).toBe('["secret"]');
    }), { numRuns: 500 });
  });
});
