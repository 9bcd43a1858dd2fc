import { describe, expect, it } from 'vitest';
import {
  gatesSatisfied, phaseApprovalCounts, phaseChanges, phaseSchema, policyGateSummary, type PhaseApproval, type PolicyGate,
} from '../../src/domain/release-pipeline.js';

// A phase's gates (ADR 0006 "Under change policies"): its own role gate and its policy gate, and which one an approval counts for.

const gate = (requiredApprovals: number): PolicyGate => ({ environment: 'production', requiredApprovals, approverUserIds: [], approverRole: null, covers: ['rollouts'] });
const approval = (by: string, counts?: PhaseApproval['counts']): PhaseApproval => ({ by, name: by, role: 'editor', at: '2026-01-01T00:00:00Z', ...(counts ? { counts } : {}) });
const editor = (id: string) => ({ id, role: 'editor' as const });

describe('release pipeline phase gates', () => {
  it('says which writes a phase makes, as a change policy names them', () => {
    const changes = (phase: unknown) => phaseChanges(phaseSchema.parse(phase));
    expect(changes({ environment: 'production', plan: { strategy: 'immediate', percentage: 100 } })).toEqual(['rollouts']);
    expect(changes({ environment: 'production', audience: { segments: ['beta'] } })).toEqual(['configs']);
    expect(changes({ environment: 'production', audience: { segments: ['beta'] }, plan: { strategy: 'immediate', percentage: 100 } })).toEqual(['configs', 'rollouts']);
    expect(policyGateSummary(gate(1))).toBe('needs 1 approval under production’s change policy');
    expect(policyGateSummary(gate(3))).toBe('needs 3 approvals under production’s change policy');
  });

  it('counts N distinct policy approvals; approvals from before policy gates (no counts) are the role gate’s', () => {
    const phase = { approval: null, policy: gate(2), approvals: [approval('a', ['policy'])] };
    expect(gatesSatisfied(phase)).toBe(false);
    expect(gatesSatisfied({ ...phase, approvals: [...phase.approvals, approval('b', ['policy'])] })).toBe(true);
    expect(gatesSatisfied({ approval: { role: 'editor' }, approvals: [approval('a')] })).toBe(true);
    expect(gatesSatisfied({ approval: { role: 'editor' }, approvals: [] })).toBe(false);
    // Both gates: the role gate's approval alone does not open the policy gate.
    expect(gatesSatisfied({ approval: { role: 'editor' }, policy: gate(1), approvals: [approval('a', ['role'])] })).toBe(false);
    expect(gatesSatisfied({ approval: { role: 'editor' }, policy: gate(1), approvals: [approval('a', ['role', 'policy'])] })).toBe(true);
  });

  it('refuses the starter, a second approval by one person, and an approver no open gate takes, naming the policy', () => {
    const both = { approval: { role: 'admin' as const }, policy: gate(2), approvals: [] as PhaseApproval[] };
    expect(phaseApprovalCounts(both, editor('starter'), 'starter', true)).toEqual({ refusal: expect.stringMatching(/self-approval is refused/) });
    expect(phaseApprovalCounts(both, editor('e'), 'starter', false)).toEqual({
      refusal: 'production’s change policy takes approvals only from users who may change flags in production; the phase’s own gate needs an admin',
    });
    expect(phaseApprovalCounts(both, editor('e'), 'starter', true)).toEqual({ counts: ['policy'] });
    expect(phaseApprovalCounts(both, { id: 'ada', role: 'admin' }, 'starter', true)).toEqual({ counts: ['role', 'policy'] });
    expect(phaseApprovalCounts({ ...both, approvals: [approval('e', ['policy'])] }, editor('e'), 'starter', true))
      .toEqual({ refusal: expect.stringMatching(/already approved this phase/) });
    // The policy gate full, the role gate open: an editor counts for nothing and is told what the role gate needs.
    const policyDone = { ...both, approvals: [approval('a', ['policy']), approval('b', ['policy'])] };
    expect(phaseApprovalCounts(policyDone, editor('c'), 'starter', true)).toEqual({ refusal: 'this gate needs a admin (or an admin) to approve it, not a editor' });
    expect(phaseApprovalCounts({ ...gate(1), approval: null, policy: { ...gate(1), approverUserIds: ['u1'] }, approvals: [] }, editor('e'), 'starter', false))
      .toEqual({ refusal: 'production’s change policy takes approvals only from the users the policy lists' });
  });
});
