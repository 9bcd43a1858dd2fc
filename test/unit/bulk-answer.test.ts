import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FlagDefinition } from '../../src/domain/flag.js';
import { compileFlag, evaluate, type CompiledFlag } from '../../src/engine/index.js';
import { parseConfigInput } from '../../src/flags/config-validation.js';
import { bulkItem, bulkPlanOf, renderBulk } from '../../src/serving/bulk-answer.js';

const SHAPES = {
  on: { enabled: true, value: true, off_value: false },
  disabled: { enabled: false, value: true, off_value: false },
  none: { enabled: true, value: true, off_value: false, rollout: { percentage: 0, strategy: 'immediate' } },
  half: { enabled: true, value: true, off_value: false, rollout: { percentage: 50, strategy: 'immediate' } },
  vip: {
    enabled: true, value: true, off_value: false,
    rules: [{ id: 'vip', type: 'user_attribute', priority: 1, action: 'enable', conditions: [{ field: 'tier', operator: 'equals', value: 'vip' }] }],
  },
} as const;
type Shape = keyof typeof SHAPES;

/** Compiled flags in key order, as the snapshot hands them to a bulk answer. */
function flagsOf(shapes: readonly Shape[], keyPad: number): CompiledFlag[] {
  return shapes.map((shape, i) => {
    const definition: FlagDefinition = {
      key: `flag-${String(i).padStart(5, '0')}-${'k'.repeat(keyPad)}`, type: 'boolean', environment: 'production', version: i + 1,
      config: { ...parseConfigInput('boolean', SHAPES[shape], 'config'), kill_switch: { enabled: false } },
    };
    return compileFlag(definition);
  });
}

/** The answer rendered naively: every flag evaluated and its item joined. */
function expected(flags: readonly CompiledFlag[], context: Record<string, string>, tail: string): string {
  return `{"flags":[${flags.map((flag) => bulkItem(flag, evaluate(flag, context, 0))).join(',')}]${tail}`;
}

function rendered(flags: readonly CompiledFlag[], context: Record<string, string>, tail: string) {
  const plan = bulkPlanOf('production', flags);
  const items = plan.dynamic.map((flag) => bulkItem(flag, evaluate(flag, context, 0)));
  return renderBulk(plan, items, tail);
}

const shapes = fc.array(fc.constantFrom<Shape>('on', 'disabled', 'none', 'half', 'vip'), { maxLength: 300 });
const contexts = fc.record({ targetingKey: fc.string({ minLength: 1, maxLength: 12 }), tier: fc.constantFrom('vip', 'free') });
const tails = fc.constantFrom('}', ',"eventStreams":[{"type":"sse"}]}');

describe('the OFREP bulk answer from a plan', () => {
  it('is byte for byte the naive answer, whatever the mix of pre-rendered and evaluated flags (runs long enough to be kept encoded included)', () => {
    fc.assert(fc.property(shapes, contexts, tails, fc.integer({ min: 0, max: 60 }), (list, context, tail, pad) => {
      const flags = flagsOf(list, pad);
      const { body } = rendered(flags, context, tail);
      expect(Buffer.isBuffer(body)).toBe(true);
      expect(body.toString('utf8')).toBe(expected(flags, context, tail));
    }), { numRuns: 150 });
  });

  it('has an entity tag that changes exactly when the body does', () => {
    fc.assert(fc.property(shapes, contexts, contexts, tails, tails, (list, a, b, tailA, tailB) => {
      const flags = flagsOf(list, 40);
      const first = rendered(flags, a, tailA);
      const second = rendered(flags, b, tailB);
      expect(first.etag === second.etag).toBe(first.body.equals(second.body));
    }), { numRuns: 150 });
  });

  it('renders a plan whose every flag answers everyone alike once per tail, and anew when the flags change', () => {
    const flags = flagsOf(Array.from({ length: 500 }, (_, i) => (['on', 'disabled', 'none'] as const)[i % 3]!), 20);
    const plan = bulkPlanOf('production', flags);
    expect(plan.dynamic).toHaveLength(0);
    const once = renderBulk(plan, [], '}');
    expect(renderBulk(plan, [], '}')).toBe(once);
    expect(once.body.toString()).toBe(expected(flags, { targetingKey: 'anyone' }, '}'));
    const withStreams = renderBulk(plan, [], ',"eventStreams":[]}');
    expect(withStreams).not.toBe(once);
    expect(withStreams.body.toString()).toBe(expected(flags, {}, ',"eventStreams":[]}'));
    const changed = flagsOf(Array.from({ length: 500 }, (_, i) => (i === 7 ? 'on' : (['on', 'disabled', 'none'] as const)[i % 3]!)), 20);
    const again = renderBulk(bulkPlanOf('production', changed), [], '}');
    expect(again.etag).not.toBe(once.etag);
    expect(again.body.toString()).toBe(expected(changed, {}, '}'));
  });
});
