import { z } from 'zod';
import { roleSchema, type Role } from '../auth/rbac.js';
import { duration, guardSchema, rolloutPlanSchema, type GuardReading, type RolloutPlan } from './rollout-plan.js';
import { text, textMatching } from './text.js';

// Release templates and the pipelines that run them (README "Release pipelines",
// docs/decisions/0006-release-pipelines.md). Pure: the releasePipeline workflow imports it.

/** Most phases a template may have: bounds the pipeline workflow's history (no continue-as-new needed). */
export const MAX_PHASES = 10;

export const templateNameSchema = textMatching(64, /^[a-z0-9][a-z0-9._-]{0,63}$/, 'a template name of lower-case letters, digits, dot, dash or underscore; at most 64');

const environmentKey = textMatching(63, /^[a-z0-9][a-z0-9_-]{0,62}$/, 'an environment key such as production');

export const phaseSchema = z.strictObject({
  /** What people call the phase (default: its environment). */
  name: text(100).trim().min(1).optional(),
  environment: environmentKey,
  /** The phase's rollout: the same plan POST …/rollouts takes (steps, holds, approvals of steps, guard). */
  plan: rolloutPlanSchema,
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
    if (phase.guard && phase.plan.guard) ctx.addIssue({ code: 'custom', path: [i, 'guard'], message: 'set the guard on the phase or in its plan, not both' });
  }));

/** A template's content (PUT replaces it). */
export const templateBodySchema = z.strictObject({ description: text(1000).trim().optional(), phases: phasesSchema });
export type TemplateBody = z.infer<typeof templateBodySchema>;

export const newTemplateSchema = z.strictObject({ name: templateNameSchema, description: text(1000).trim().optional(), phases: phasesSchema });
export type NewTemplate = z.infer<typeof newTemplateSchema>;

/** The rollout a phase runs: its plan, with the phase's guard when the guard is set on the phase. */
export function phasePlan(phase: Phase): RolloutPlan {
  return phase.guard ? { ...phase.plan, guard: phase.guard } : phase.plan;
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

export interface PhaseApproval {
  by: string;
  name: string;
  role: Role;
  at: string;
}

/** One phase on the pipeline's timeline. */
export interface PhaseProgress {
  name: string;
  environment: string;
  status: PhaseStatus;
  /** The plan's one-line summary. */
  summary: string;
  approval: { role: Role } | null;
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
   * Whether each phase's rollout carries the search attributes (FlagKey, Environment, Actor,
   * RolloutStrategy, ReleasePipeline); default true. The time-skipping test server never starts a
   * child that carries custom search attributes, so its tests turn this off.
   */
  tagChildren?: boolean;
}
