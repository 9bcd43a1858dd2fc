import { z } from 'zod';
import { roleSchema, type Role } from './role.js';
import { describePlan, duration, guardSchema, rolloutPlanSchema, type GuardReading, type RolloutPlan } from './rollout-plan.js';
import { text, textMatching } from './text.js';
import { variantNameSchema } from './variants.js';

// Release templates and the pipelines that run them (docs/change-requests-and-pipelines.md,
// docs/decisions/0006-release-pipelines.md). Pure: the releasePipeline workflow imports it.

/** Most phases a template may have: bounds the pipeline workflow's history (no continue-as-new needed). */
export const MAX_PHASES = 10;

export const templateNameSchema = textMatching(64, /^[a-z0-9][a-z0-9._-]{0,63}$/, 'a template name of lower-case letters, digits, dot, dash or underscore; at most 64');

const environmentKey = textMatching(63, /^[a-z0-9][a-z0-9_-]{0,62}$/, 'an environment key such as production');

/** Most segments one audience may name (a targeting rule's own bound). */
export const MAX_AUDIENCE_SEGMENTS = 100;

/**
 * Who a phase releases to before (or instead of) its rollout: the flag serves `variant` (the config's
 * on variant when absent) to the users of these segments, through a targeting rule the pipeline writes.
 */
export const audienceSchema = z.strictObject({
  segments: z.array(text(128).min(1)).min(1).max(MAX_AUDIENCE_SEGMENTS)
    .refine((keys) => new Set(keys).size === keys.length, 'a segment is named twice'),
  variant: variantNameSchema.optional(),
});
export type Audience = z.infer<typeof audienceSchema>;

export const phaseSchema = z.strictObject({
  /** What people call the phase (default: its environment). */
  name: text(100).trim().min(1).optional(),
  environment: environmentKey,
  /** Segments the phase serves the new variant to first (before its plan, when it has both). */
  audience: audienceSchema.optional(),
  /** The phase's rollout: the same plan POST …/rollouts takes (steps, holds, approvals of steps, guard). */
  plan: rolloutPlanSchema.optional(),
  /** A guard for the phase's rollout (the rollout guard); or put it in the plan, not both. */
  guard: guardSchema.optional(),
  /** A person with this role (or an admin), other than whoever started the pipeline, must approve before the phase starts. */
  approval: z.strictObject({ role: roleSchema }).optional(),
  /** How long to wait after the phase's rollout completes before the next phase (a soak). */
  soak: duration.optional(),
});
export type Phase = z.infer<typeof phaseSchema>;

const phasesSchema = z.array(phaseSchema).min(1, 'a template needs at least one phase').max(MAX_PHASES)
  .superRefine((phases, ctx) => phases.forEach((phase, i) => {
    if (!phase.plan && !phase.audience) ctx.addIssue({ code: 'custom', path: [i, 'plan'], message: 'a phase needs a plan (a rollout), an audience (segments), or both' });
    if (phase.guard && phase.plan?.guard) ctx.addIssue({ code: 'custom', path: [i, 'guard'], message: 'set the guard on the phase or in its plan, not both' });
    // A guard watches a rollout's cohorts; an audience-only phase has no rollout for it to watch.
    if (phase.guard && !phase.plan) ctx.addIssue({ code: 'custom', path: [i, 'guard'], message: 'a guard watches the phase’s rollout: give the phase a plan, or drop the guard' });
  }));

/** A template's content (PUT replaces it). */
export const templateBodySchema = z.strictObject({ description: text(1000).trim().optional(), phases: phasesSchema });
export type TemplateBody = z.infer<typeof templateBodySchema>;

export const newTemplateSchema = z.strictObject({ name: templateNameSchema, description: text(1000).trim().optional(), phases: phasesSchema });
export type NewTemplate = z.infer<typeof newTemplateSchema>;

/** The rollout a phase runs (null for an audience-only phase): its plan, with the phase's guard when the guard is set on the phase. */
export function phasePlan(phase: Phase): RolloutPlan | null {
  if (!phase.plan) return null;
  return phase.guard ? { ...phase.plan, guard: phase.guard } : phase.plan;
}

/** The id of the targeting rule a pipeline's audience phase writes (one per phase: a retry or a rerun replaces it). */
export const audienceRuleId = (phaseIndex: number) => `release-pipeline-phase-${phaseIndex + 1}`;

/** One line for the timeline: the audience (segments → variant), then the plan. */
export function describePhase(phase: Phase): string {
  const plan = phasePlan(phase);
  const audience = phase.audience
    ? `audience ${phase.audience.segments.join(', ')} → ${phase.audience.variant ? `variant ${phase.audience.variant}` : 'the on variant'}`
    : null;
  return [audience, plan ? describePlan(plan) : null].filter((part) => part !== null).join('; then ');
}

export const phaseName = (phase: Phase, index: number) => `phase ${index + 1} (${phase.name ?? phase.environment})`;

export type PipelineStatus = 'running' | 'paused' | 'waiting_approval' | 'soaking' | 'completed' | 'stopped' | 'aborted' | 'failed';
export type PhaseStatus = 'pending' | 'waiting_approval' | 'running' | 'soaking' | 'completed' | 'rolled_back' | 'aborted' | 'failed' | 'not_started';

const FINISHED: ReadonlySet<string> = new Set<PipelineStatus>(['completed', 'stopped', 'aborted', 'failed']);
export const isFinishedPipeline = (status: string) => FINISHED.has(status);

/** Who may approve a phase gate: a user with the gate's role, or an admin; never whoever started the pipeline. */
export function approvalRefusal(gate: { role: Role }, approver: { id: string; role: Role }, startedBy: string): string | null {
  if (approver.id === startedBy) return 'whoever started the pipeline can’t approve its phases: someone else must';
  if (approver.role !== gate.role && approver.role !== 'admin') return `this gate needs a ${gate.role} (or an admin) to approve it, not a ${approver.role}`;
  return null;
}

/**
 * A phase's policy gate: its environment's change policy (ADR 0007) covered what the phase does when the
 * pipeline started (`rollouts` for a phase with a plan, `configs` for one with an audience), so before the
 * phase starts it needs `requiredApprovals` distinct approvals from users the policy allows, never the
 * pipeline's starter. A snapshot: changing the policy later does not alter a running pipeline.
 */
export interface PolicyGate {
  environment: string;
  requiredApprovals: number;
  /** The policy's approvers when it started: its listed users, else its role (and admins), else whoever may write the flag there. */
  approverUserIds: string[];
  approverRole: Role | null;
  /** What it covered that the phase does. */
  covers: Array<'configs' | 'rollouts'>;
}

/** The writes a phase makes, as a change policy names them: a plan starts a rollout, an audience writes a config's rule. */
export function phaseChanges(phase: Phase): Array<'configs' | 'rollouts'> {
  return [...(phase.audience ? ['configs' as const] : []), ...(phase.plan ? ['rollouts' as const] : [])];
}

const roleGateApprovers = (role: Role) => (role === 'admin' ? 'an admin' : `a ${role} (or an admin)`);

/** Who a policy gate takes approvals from, in words. */
export function describePolicyApprovers(gate: PolicyGate): string {
  if (gate.approverUserIds.length > 0) return 'the users the policy lists';
  if (gate.approverRole) return roleGateApprovers(gate.approverRole);
  return `users who may change flags in ${gate.environment}`;
}

/** "needs 2 approvals under production's change policy" */
export const policyGateSummary = (gate: PolicyGate) =>
  `needs ${gate.requiredApprovals} approval${gate.requiredApprovals === 1 ? '' : 's'} under ${gate.environment}’s change policy`;

/** Which of a phase's gates an approval counts for: its role gate, its policy gate, or both. */
export type GateKind = 'role' | 'policy';

export interface PhaseApproval {
  by: string;
  name: string;
  role: Role;
  at: string;
  /** The gates it counts for (absent on pipelines started before policy gates: the role gate). */
  counts?: GateKind[];
}

/** Whether a phase's gates are all satisfied: one approval for its role gate, N for its policy gate (one approval may count for both). */
export function gatesSatisfied(phase: Pick<PhaseProgress, 'approval' | 'policy' | 'approvals'>): boolean {
  const role = !phase.approval || phase.approvals.some((a) => (a.counts ?? ['role']).includes('role'));
  const policy = !phase.policy || phase.approvals.filter((a) => a.counts?.includes('policy')).length >= phase.policy.requiredApprovals;
  return role && policy;
}

/**
 * Which open gates of a waiting phase an approval counts for, or why it is refused: never the starter,
 * never twice by one person; the role gate takes its role or an admin, the policy gate whoever the policy
 * allows (`policyEligible`: the API decides it with the change-request service's own rule, against the
 * snapshot). An approval that counts for no open gate is refused, naming why.
 */
export function phaseApprovalCounts(
  phase: Pick<PhaseProgress, 'approval' | 'policy' | 'approvals'>, approver: { id: string; role: Role }, startedBy: string, policyEligible: boolean,
): { counts: GateKind[] } | { refusal: string } {
  if (approver.id === startedBy) return { refusal: 'whoever started the pipeline can’t approve its phases (self-approval is refused): someone else must' };
  if (phase.approvals.some((a) => a.by === approver.id)) return { refusal: 'you have already approved this phase: its gates need approvals from different people' };
  const roleOpen = phase.approval && !phase.approvals.some((a) => (a.counts ?? ['role']).includes('role'));
  const policyOpen = phase.policy && phase.approvals.filter((a) => a.counts?.includes('policy')).length < phase.policy.requiredApprovals;
  const counts: GateKind[] = [];
  if (roleOpen && approvalRefusal(phase.approval!, approver, startedBy) === null) counts.push('role');
  if (policyOpen && policyEligible) counts.push('policy');
  if (counts.length) return { counts };
  if (policyOpen) {
    return { refusal: `${phase.policy!.environment}’s change policy takes approvals only from ${describePolicyApprovers(phase.policy!)}${roleOpen ? `; the phase’s own gate needs ${roleGateApprovers(phase.approval!.role)}` : ''}` };
  }
  return { refusal: roleOpen ? approvalRefusal(phase.approval!, approver, startedBy)! : 'no gate of this phase is waiting for an approval' };
}

/** One phase on the pipeline's timeline. */
export interface PhaseProgress {
  name: string;
  environment: string;
  status: PhaseStatus;
  /** The phase's one-line summary (audience, then plan). */
  summary: string;
  /** The segments the phase serves a variant to (null: the on variant), or null when it has no audience. */
  audience?: { segments: string[]; variant: string | null } | null;
  /** When the audience's targeting rule was written (null before, or without an audience). */
  audienceAt?: string | null;
  approval: { role: Role } | null;
  /** The phase's policy gate (absent or null: none). */
  policy?: PolicyGate | null;
  approvals: PhaseApproval[];
  soakMs: number | null;
  startedAt: string | null;
  finishedAt: string | null;
  /** The child rollout workflow (rollout:<env>:<flag>) and its rollout id, once the phase started. */
  rolloutId: string | null;
  workflowId: string | null;
  /** The guard reading that tripped the phase's rollout. */
  breach: GuardReading | null;
  /** While soaking: when the soak ends (ISO). */
  soakUntil: string | null;
}

export interface PipelineProgress {
  pipelineId: string;
  flagKey: string;
  template: string;
  status: PipelineStatus;
  /** Index of the phase being worked on (equals the number of phases when all are done). */
  phase: number;
  pausedReason: string | null;
  /** Why it stopped, failed or was aborted: names the phase and the breach. */
  reason: string | null;
  startedBy: { id: string; name: string };
  phases: PhaseProgress[];
}

export interface PipelineInput {
  pipelineId: string;
  flagKey: string;
  template: string;
  phases: Phase[];
  actor: { id: string; name: string };
  /**
   * Each phase's policy gate (by index; null: none), snapshot when the pipeline started. Absent on
   * pipelines started before policy gates, and on a start that bypassed the policies.
   */
  policyGates?: Array<PolicyGate | null>;
  /**
   * Whether each phase's rollout carries the search attributes (FlagKey, Environment, Actor,
   * RolloutStrategy, ReleasePipeline); default true. The time-skipping test server never starts a
   * child that carries custom search attributes, so its tests turn this off.
   */
  tagChildren?: boolean;
}
