import { describe, expect, it } from 'vitest';
import type { FlagDefinition } from '../../../src/domain/flag.js';
import { segmentSchema, type Segment } from '../../../src/domain/segment.js';
import { bucketOf, compileFlag, evaluate, type EvaluationResult } from '../../../src/engine/index.js';
import { murmur3 } from '../../../src/engine/bucketing.js';
import bucketing from '../../vectors/bucketing.json' with { type: 'json' };
import errors from '../../vectors/errors.json' with { type: 'json' };
import operators from '../../vectors/operators.json' with { type: 'json' };
import precedence from '../../vectors/precedence.json' with { type: 'json' };
import schedule from '../../vectors/schedule.json' with { type: 'json' };
import variants from '../../vectors/variants.json' with { type: 'json' };
import unleashBucketing from '../../vectors/unleash-bucketing.json' with { type: 'json' };

interface VectorFile {
  description: string;
  flags: Record<string, unknown>;
  segments?: unknown[];
  cases: Array<{ name: string; flag: string; context: Record<string, unknown>; now: string; expected: Partial<EvaluationResult> }>;
}

const files: Record<string, VectorFile> = { precedence, operators, schedule, bucketing, errors, variants, 'unleash-bucketing': unleashBucketing } as Record<string, VectorFile>;

function withoutMessage(result: EvaluationResult): Omit<EvaluationResult, 'errorMessage'> {
  const { errorMessage: _ignored, ...rest } = result;
  return rest;
}

describe.each(Object.entries(files))('vectors: %s', (_name, file) => {
  const segments = new Map<string, Segment>((file.segments ?? []).map((s) => segmentSchema.parse(s)).map((s) => [s.key, s]));
  const compiled = new Map(Object.entries(file.flags).map(([id, def]) => [id, compileFlag(def as FlagDefinition, segments)]));

  it('names only flags it defines', () => {
    for (const c of file.cases) expect(compiled.has(c.flag), c.name).toBe(true);
  });

  it.each(file.cases.map((c) => [c.name, c] as const))('%s', (_caseName, c) => {
    const result = evaluate(compiled.get(c.flag)!, c.context, Date.parse(c.now));
    expect(withoutMessage(result)).toEqual(c.expected);
    if (result.reason === 'ERROR') expect(result.errorMessage).toBeTruthy();
  });
});

describe('vectors: bucketing of known keys', () => {
  it.each(bucketing.buckets.map((b) => [b.flagKey, b.targetingKey, b] as const))('%j + %j', (flagKey, targetingKey, b) => {
    expect(murmur3(flagKey + targetingKey)).toBe(b.hash);
    expect(bucketOf(flagKey, targetingKey)).toBe(b.bucket);
  });
});
