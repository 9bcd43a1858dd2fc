import { z } from 'zod';
import { killSwitchSchema } from '../domain/flag.js';

/**
 * Answers of the management API that the admin UI reads, as zod schemas: the routes document
 * themselves with these (OpenAPI) and the UI takes its types from them (`z.infer`), so a server
 * change that breaks the UI fails `tsc -p ui/tsconfig.json`.
 */

/** What a flag serves in one environment, as the dashboard shows it. */
export const flagStateSchema = z.enum(['on', 'off', 'killed', 'percentage']);

export const dashboardEnvironmentSchema = z.object({
  state: flagStateSchema,
  enabled: z.boolean(),
  killed: z.boolean(),
  percentage: z.number().nullable().meta({ description: 'the rollout percentage when one is set' }),
  version: z.number().int(),
});

export const runningRolloutSchema = z
  .object({
    rolloutId: z.string(),
    flagKey: z.string(),
    environment: z.string(),
    status: z.enum(['running', 'paused', 'waiting_approval']),
    /** 1-based: the step being worked on. */
    step: z.number().int(),
    totalSteps: z.number().int(),
    percentage: z.union([z.number(), z.literal('off')]).nullable(),
    nextChangeAt: z.string().nullable(),
    approvalDeadline: z.string().nullable().meta({ description: 'while waiting for an approval: when the wait times out and the rollout pauses' }),
    pausedReason: z.string().nullable(),
    startedBy: z.string().nullable(),
    workflowId: z.string(),
    url: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'RunningRollout' });

export const dashboardFlagSchema = z.object({
  key: z.string(),
  name: z.string(),
  tags: z.array(z.string()),
  archived: z.boolean(),
  updated_at: z.string(),
  /** Changes to this flag (identity and configs), counted per flag: not the environment-wide version. */
  revision: z.number().int(),
  environments: z.record(z.string(), dashboardEnvironmentSchema),
  rollouts: z.array(runningRolloutSchema),
  /** Evaluations per minute over the last minutes, oldest first (all environments, every replica). */
  evaluations_per_minute: z.array(z.number()),
});

export const dashboardSortSchema = z.enum(['key', '-key', 'updated', '-updated']);

export const dashboardPageSchema = z
  .object({
    flags: z.array(dashboardFlagSchema),
    next_cursor: z.string().nullable(),
    total: z.number().int().meta({ description: 'flags matching the filters' }),
  })
  .meta({ id: 'DashboardPage' });

export const runningRolloutsSchema = z.object({ rollouts: z.array(runningRolloutSchema) });

export const auditEventSchema = z
  .object({
    seq: z.number().int(), id: z.uuid(), timestamp: z.string(), userId: z.string(), action: z.string(),
    resourceType: z.string(), resourceId: z.string(), environment: z.string().nullable(), oldValue: z.unknown(), newValue: z.unknown(),
    reason: z.string().nullable(), ipAddress: z.string().nullable(), userAgent: z.string().nullable(),
    metadata: z.record(z.string(), z.unknown()), prevHash: z.string(), hash: z.string(),
    actorName: z.string().nullable().meta({ description: "the acting user's name (or the name the event recorded)" }),
    actorEmail: z.string().nullable(),
  })
  .meta({ id: 'AuditEvent' });

export const auditPageSchema = z.object({ events: z.array(auditEventSchema), next_cursor: z.string().nullable() });

export const auditVerificationSchema = z.object({
  ok: z.boolean().meta({ description: 'the chain holds and every checkpoint checked out' }),
  checks: z.array(z.string()).meta({ description: 'what was checked, in words' }),
  checkpoints: z.object({
    key_configured: z.boolean().meta({ description: 'AUDIT_CHECKPOINT_KEY is set, so signatures can be checked' }),
    checked: z.number().int(),
    newest: z.object({ seq: z.number().int(), at: z.string() }).nullable(),
    first_failed: z
      .object({
        source: z.union([z.number().int(), z.literal('query')]).meta({ description: "the checkpoint event's seq, or query for ?checkpoint=" }),
        seq: z.number().int().nullable(),
        problem: z.enum(['signature_invalid', 'hash_mismatch', 'row_missing', 'malformed']),
        expected: z.string().nullable(),
        actual: z.string().nullable(),
      })
      .nullable(),
  }),
  checked: z.number().int().meta({ description: 'events whose digest and link were recomputed' }),
  gaps: z.number().int().meta({
    description: 'sequence numbers up to last_seq that no event holds (taken by writes that rolled back or were idempotent repeats; the chain links events, not numbers)',
  }),
  last_seq: z.number().int().nullable(),
  last_hash: z.string().nullable(),
  first_broken: z
    .object({ seq: z.number().int(), id: z.uuid(), problem: z.enum(['hash_mismatch', 'prev_hash_mismatch']), expected: z.string(), actual: z.string() })
    .nullable(),
});

/** The answer of GET …/kill-switch: the switch, the last kill or release, and which replicas acknowledge it. */
export const killSwitchStateSchema = z
  .object({
    flag: z.string(),
    environment: z.string(),
    version: z.number().int(),
    kill_switch: killSwitchSchema,
    latest: z.object({
      action: z.enum(['activated', 'deactivated']), at: z.string(), actor: z.string().nullable(), reason: z.string().nullable(),
      workflow_id: z.string().nullable(),
      workflow_url: z.string().nullable().meta({ description: 'the workflow in the Temporal Web UI' }),
    }).nullable(),
    confirmation: z.object({
      status: z.enum(['confirmed', 'pending', 'unconfirmed']),
      confirmedReplicas: z.number().int(),
      totalReplicas: z.number().int(),
      elapsedMs: z.number().nullable().meta({ description: 'from the change to the last acknowledgement counted' }),
      laggards: z.array(z.string()).meta({ description: 'live replicas that have not acknowledged the current version' }),
    }).nullable().meta({ description: 'null before any kill, or while Redis is unreachable' }),
  })
  .meta({ id: 'KillSwitchState' });

export const metricsWindowSchema = z.enum(['hour', 'day']);

export const flagMetricsHistorySchema = z
  .object({
    flag_key: z.string(),
    window: metricsWindowSchema,
    bucket_seconds: z.number().int(),
    from: z.string(),
    to: z.string(),
    /** Evaluations per environment and variant, bucketed; buckets with no evaluations are absent. */
    series: z.array(z.object({
      environment: z.string(),
      variant: z.string(),
      points: z.array(z.object({ at: z.string(), evaluations: z.number(), errors: z.number() })),
    })),
    last_evaluated: z.record(z.string(), z.string()).meta({ description: 'per environment, ISO time of the last evaluation' }),
    /** Outcomes reported by SDKs (POST /api/v1/events) per environment in the window: what event guards judge. */
    outcomes: z.array(z.object({
      environment: z.string(),
      treated: z.object({ samples: z.number(), errors: z.number(), error_rate: z.number() }),
      untreated: z.object({ samples: z.number(), errors: z.number(), error_rate: z.number() }),
    })),
  })
  .meta({ id: 'FlagMetricsHistory' });

export const streamTicketSchema = z
  .object({
    ticket: z.string().meta({ description: 'single use, for GET /api/v1/stream?ticket=' }),
    expires_at: z.string(),
  })
  .meta({ id: 'StreamTicket' });

export type FlagState = z.infer<typeof flagStateSchema>;
export type DashboardFlag = z.infer<typeof dashboardFlagSchema>;
export type DashboardPage = z.infer<typeof dashboardPageSchema>;
export type DashboardSort = z.infer<typeof dashboardSortSchema>;
export type RunningRollout = z.infer<typeof runningRolloutSchema>;
export type AuditEventView = z.infer<typeof auditEventSchema>;
export type AuditPage = z.infer<typeof auditPageSchema>;
export type AuditVerification = z.infer<typeof auditVerificationSchema>;
export type KillSwitchState = z.infer<typeof killSwitchStateSchema>;
export type FlagMetricsHistory = z.infer<typeof flagMetricsHistorySchema>;
export type StreamTicket = z.infer<typeof streamTicketSchema>;
