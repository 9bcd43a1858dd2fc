import { describe, expect, it } from 'vitest';
import type { Segment } from '../../../src/domain/segment.js';
import { compileFlag, explain } from '../../../src/engine/index.js';
import { definition } from './helpers.js';

const NOW = Date.parse('2025-06-01T12:00:00Z');
const segments = new Map<string, Segment>([['pros', { key: 'pros', kind: 'rule', conditions: [{ field: 'plan', operator: 'equals', value: 'pro' }] }]]);
const flag = compileFlag(
  definition({
    rules: [
      { id: 'adults', type: 'user_attribute', conditions: [{ field: 'country', operator: 'equals', value: 'NL' }, { field: 'age', operator: 'greater_or_equal', value: 18 }], action: 'disable', priority: 1 },
    ],
    targeting: [{ id: 'pro-users', segments: ['gone', 'pros'], percentage: 100, enabled: true }],
    rollout: { percentage: 20, strategy: 'scheduled', start_date: '2025-01-01T00:00:00Z', end_date: '2025-12-31T00:00:00Z' },
  }),
  segments,
);

describe('explain', () => {
  it('names the condition that failed and the value it saw', () => {
    const { trace } = explain(flag, { targetingKey: 'u1', country: 'NL', age: 17 }, NOW);
    expect(trace).toContainEqual({ step: 'condition', id: 'adults', matched: true, message: 'country equals "NL" (actual: "NL")' });
    expect(trace).toContainEqual({ step: 'condition', id: 'adults', matched: false, message: 'age greater_or_equal 18 (actual: 17)' });
    expect(trace).toContainEqual(expect.objectContaining({ step: 'rule', id: 'adults', matched: false }));
  });

  it('reports a missing attribute as missing', () => {
    const { trace } = explain(flag, { targetingKey: 'u1' }, NOW);
    expect(trace).toContainEqual({ step: 'condition', id: 'adults', matched: false, message: 'country equals "NL" (actual: missing)' });
  });

  it('walks segments in order, flags unknown ones, and says which one matched', () => {
    const { result, trace } = explain(flag, { targetingKey: 'u1', plan: 'pro' }, NOW);
    expect(result).toMatchObject({ reason: 'SPLIT', segmentId: 'pros' });
    const segmentSteps = trace.filter((s) => s.step === 'segment');
    expect(segmentSteps).toEqual([
      { step: 'segment', id: 'gone', matched: false, message: "segment 'gone' does not exist" },
      { step: 'segment', id: 'pros', matched: true, message: "segment 'pros' (rule) matched" },
    ]);
    expect(trace.at(-1)).toMatchObject({ step: 'targeting', id: 'pro-users', matched: true });
  });

  it('explains a schedule miss', () => {
    const { result, trace } = explain(flag, { targetingKey: 'u1' }, Date.parse('2026-01-01T00:00:00Z'));
    expect(result.reason).toBe('DEFAULT');
    expect(trace.at(-1)).toEqual({ step: 'schedule', matched: false, message: 'now (2026-01-01T00:00:00.000Z) is outside the scheduled window' });
  });

  it('shows the bucket against the threshold in thousandths of a percent', () => {
    const rollout = compileFlag(definition({ rollout: { percentage: 12.5, strategy: 'gradual' } }));
    const { result, trace } = explain(rollout, { targetingKey: 'u1' }, NOW);
    const sign = result.bucket! < 12_500 ? '<' : '>=';
    expect(trace.at(-1)).toEqual({ step: 'rollout', matched: result.reason === 'SPLIT', message: `rollout: bucket ${result.bucket} ${sign} 12500 (12.5%)` });
  });

  it('explains an instant that is not a date without failing', () => {
    expect(explain(flag, { targetingKey: 'u1' }, Number.NaN).result).toEqual({ value: false, variant: 'off', reason: 'DEFAULT' });
    expect(explain(flag, { targetingKey: 'u1' }, 9e15).trace.at(-1)?.message).toBe('now (9000000000000000) is outside the scheduled window');
  });

  it('stops at the kill switch', () => {
    const killed = compileFlag(definition({ kill_switch: { enabled: true } }));
    expect(explain(killed, {}, NOW).trace).toEqual([{ step: 'kill_switch', matched: true, message: 'the kill switch is on: serving off_value' }]);
  });

  it('explains a compile error', () => {
    const broken = compileFlag(definition({ off_value: 3 }));
    const { result, trace } = explain(broken, {}, NOW);
    expect(result.errorCode).toBe('PARSE_ERROR');
    expect(trace[0]).toMatchObject({ step: 'error', matched: true });
    expect(trace[0]?.message).toContain('off_value');
  });
});
