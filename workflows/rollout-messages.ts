import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { GuardReading, RolloutPlan } from '../src/domain/rollout-plan.js';
import type { SplitEntry } from '../src/domain/variants.js';
import type { SplitRolloutStart } from '../src/flags/config-change.js';
import type { RolloutStatus } from '../src/domain/rollout-status.js';

// The rollout workflow's messages: the API, the Slack bot and the tests import these constants.

export interface RolloutInput {
  rolloutId: string;
  flagKey: string;
  environment: string;
  plan: RolloutPlan;
  actor: { id: string; name: string };
  /** Carried across continue-as-new. */
  state?: RolloutState;
  /** History length after which the workflow continues as new (default 2 000 events). */
  maxHistoryEvents?: number;
}

export interface RolloutHistoryEntry {
  label: string;
  /** For a split rollout: the share of traffic moved off the starting split (see movedShare). */
  percentage: number | 'off';
  /** Split rollouts: the split this change set. */
  split?: SplitEntry[];
  at: string;
  version: number;
}

export interface RolloutState {
  status: RolloutStatus;
  stepIndex: number;
  percentage: number | 'off' | null;
  pausedReason: string | null;
  approvedThrough: number;
  guardSinceMs: number | null;
  readings: GuardReading[];
  breach: GuardReading | null;
  history: RolloutHistoryEntry[];
  abort: { rollback: boolean; reason: string } | null;
  nextChangeAt: number | null;
  /** When the approval gate being waited on times out and pauses the rollout (absent in states from before it was kept). */
  approvalDeadline?: number | null;
  /** Split rollouts: the config's split fields before the first step (what a rollback restores), and the split now served. */
  start?: SplitRolloutStart | null;
  split?: SplitEntry[] | null;
}

export interface RolloutProgress {
  rolloutId: string;
  flagKey: string;
  environment: string;
  strategy: RolloutPlan['strategy'];
  summary: string;
  status: RolloutStatus;
  /** Index of the step being worked on (equals totalSteps when all are done). */
  step: number;
  totalSteps: number;
  /** A split rollout's percentage is the share of traffic its split moved off the starting split. */
  percentage: number | 'off' | null;
  /** Split rollouts: the split served now (null before the first step and for percentage rollouts). */
  split: SplitEntry[] | null;
  /** Split rollouts: what the config served by weight before the first step (what a rollback restores). */
  startSplit: SplitEntry[] | null;
  nextChangeAt: string | null;
  /** While waiting for an approval: when the wait times out and the rollout pauses (ISO). */
  approvalDeadline: string | null;
  pausedReason: string | null;
  guard: { readings: GuardReading[]; breach: GuardReading | null } | null;
  history: RolloutHistoryEntry[];
}

/**
 * Who sent a steering update and from where: the workflow writes the update's one audit event from it
 * once it applied the update, whether or not the sender still waits for the answer. Absent from
 * updates sent before it existed and from a release pipeline steering its phase's rollout (the
 * pipeline's own update is audited).
 */
export interface UpdateAudit {
  actor: { id: string; name: string };
  ipAddress?: string | null;
  userAgent?: string | null;
  reason?: string | null;
}

/** The steering updates, and the audit action each writes once applied. */
export const STEERING_AUDIT_ACTIONS = {
  pause: 'rollout.paused', resume: 'rollout.resumed', abort: 'rollout.aborted', skip: 'rollout.skipped', approve: 'rollout.approved',
} as const;
export type SteeringAction = keyof typeof STEERING_AUDIT_ACTIONS;

export const progressQuery = defineQuery<RolloutProgress>('progress');
export const pauseUpdate = defineUpdate<RolloutProgress, [{ reason?: string; audit?: UpdateAudit }]>('pause');
/** Senders from before `audit` existed sent no argument: the handler takes none too. */
export const resumeUpdate = defineUpdate<RolloutProgress, [{ audit?: UpdateAudit }]>('resume');
export const abortUpdate = defineUpdate<RolloutProgress, [{ rollback: boolean; reason?: string; audit?: UpdateAudit }]>('abort');
export const skipUpdate = defineUpdate<RolloutProgress, [{ audit?: UpdateAudit }]>('skip');
export const approveUpdate = defineUpdate<RolloutProgress, [{ by: string; audit?: UpdateAudit }]>('approve');
/**
 * Sent by the kill-switch workflow: a kill pauses the flag's running rollout (restoring does not resume it).
 * `requestedAt` (ISO time the kill was requested; absent from kills before the patch) lets a rollout that
 * started after the kill ignore it: the kill's workflow reaches this step only after confirming the kill,
 * up to seconds later, by when the kill may be released and a new rollout started.
 */
export const killSwitchActivatedSignal = defineSignal<[{ reason: string; requestedAt?: string }]>('killSwitchActivated');

/** Whether a kill requested at `requestedAt` belongs to a run started at `startedAtMs`: only kills requested after it started do. */
export function killPrecedes(requestedAt: string | undefined, startedAtMs: number): boolean {
  return requestedAt !== undefined && Date.parse(requestedAt) < startedAtMs;
}
