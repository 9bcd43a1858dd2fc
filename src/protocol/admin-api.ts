import { z } from 'zod';
import { INSTANCE_KINDS, MAX_NAMED_BEHIND } from '../domain/sdk-instances.js';
import { actionSchema, roleSchema } from '../auth/rbac.js';
import { ALERT_SOURCES } from '../domain/alert-sources.js';
import { conditionSchema, flagConfigSchema, flagTypeSchema, killSwitchSchema } from '../domain/flag.js';
import { LIFECYCLE_STAGES } from '../domain/lifecycle.js';
import { rolloutPlanSchema } from '../domain/rollout-plan.js';
import { text } from '../domain/text.js';
import { splitEntrySchema } from '../domain/variants.js';

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
    rollout_id: z.string(),
    flag_key: z.string(),
    environment: z.string(),
    status: z.enum(['running', 'paused', 'waiting_approval']),
    /** 1-based: the step being worked on. */
    step: z.number().int(),
    total_steps: z.number().int(),
    percentage: z.union([z.number(), z.literal('off')]).nullable(),
    next_change_at: z.string().nullable(),
    approval_deadline: z.string().nullable().meta({ description: 'while waiting for an approval: when the wait times out and the rollout pauses' }),
    paused_reason: z.string().nullable(),
    started_by: z.string().nullable(),
    workflow_id: z.string(),
    url: z.string(),
    updated_at: z.string(),
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
  /** The flag's lifecycle stage and why (src/domain/lifecycle.ts). */
  lifecycle: z.object({ stage: z.enum(LIFECYCLE_STAGES), reason: z.string() }).optional(),
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
    seq: z.number().int(), id: z.uuid(), timestamp: z.string(), user_id: z.string(), action: z.string(),
    resource_type: z.string(), resource_id: z.string(), environment: z.string().nullable(), old_value: z.unknown(), new_value: z.unknown(),
    reason: z.string().nullable(), ip_address: z.string().nullable(), user_agent: z.string().nullable(),
    metadata: z.record(z.string(), z.unknown()), prev_hash: z.string(), hash: z.string(),
    actor_name: z.string().nullable().meta({ description: "the acting user's name (or the name the event recorded)" }),
    actor_email: z.string().nullable(),
  })
  .meta({ id: 'AuditEvent' });

export const auditPageSchema = z.object({ events: z.array(auditEventSchema), next_cursor: z.string().nullable() });

/** Breaks of the audit chain listed by /audit/verify at most (all are counted). */
export const MAX_REPORTED_BREAKS = 1_000;

const brokenLinkSchema = z.object({
  seq: z.number().int(), id: z.uuid(),
  problem: z.enum(['hash_mismatch', 'prev_hash_mismatch']).meta({
    description: "hash_mismatch: the event's content no longer gives its hash (it was altered); prev_hash_mismatch: it does not point at the event before it (one was removed, inserted or re-chained)",
  }),
  expected: z.string(), actual: z.string(),
});

export const auditVerificationSchema = z.object({
  ok: z.boolean().meta({ description: 'the chain holds and every checkpoint checked out' }),
  checks: z.array(z.string()).meta({ description: 'what was checked, in words' }),
  checkpoints: z.object({
    key_configured: z.boolean().meta({ description: 'AUDIT_CHECKPOINT_KEY is set, so signatures can be checked' }),
    checked: z.number().int(),
    newest: z.object({ seq: z.number().int(), at: z.string() }).nullable(),
    first_failed: z
      .object({
        source: z.union([z.number().int(), z.literal('query'), z.literal('anchor')]).meta({
          description: "the checkpoint event's seq, query for ?checkpoint=, or anchor for a checkpoint kept in Redis",
        }),
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
  first_broken: brokenLinkSchema.nullable().meta({ description: 'the first of `broken`, or null' }),
  broken: z.array(brokenLinkSchema).meta({ description: `every link that does not hold, in chain order (the first ${MAX_REPORTED_BREAKS.toLocaleString('en')} when there are more)` }),
  broken_count: z.number().int().meta({ description: 'how many links do not hold, all of them counted' }),
});

/** The SDK instances' part of a kill's confirmation (src/domain/sdk-instances.ts computes it). */
export const sdkInstancesConfirmationSchema = z.object({
  confirmed: z.number().int().meta({ description: 'instances that reported holding the current version (or a later one)' }),
  delivered: z.number().int().meta({ description: 'flagd sync streams the version was written to: delivered, not confirmed (flagd does not acknowledge)' }),
  total: z.number().int().meta({ description: 'instances counted (remote-mode SDKs hold no copy and are not)' }),
  laggards: z.array(z.object({
    id: z.string(), kind: z.enum(INSTANCE_KINDS), app: z.string().nullable(), host: z.string().nullable(), version: z.number().int(),
  })).meta({ description: `instances behind, lowest version first (at most ${MAX_NAMED_BEHIND}; total − confirmed − delivered are behind in all)` }),
  elapsed_ms: z.number().nullable().meta({ description: 'from the change to the last instance counted' }),
}).meta({ id: 'SdkInstancesConfirmation' });

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
      confirmed_replicas: z.number().int(),
      total_replicas: z.number().int(),
      elapsed_ms: z.number().nullable().meta({ description: 'from the change to the last acknowledgement counted' }),
      laggards: z.array(z.string()).meta({ description: 'live replicas that have not acknowledged the current version' }),
      sdk_instances: sdkInstancesConfirmationSchema,
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

/** A flag's identity, shared by all environments. */
const flagIdentity = {
  id: z.uuid(), key: z.string(), name: z.string(), description: z.string(), type: flagTypeSchema, tags: z.array(z.string()),
  version: z.number().int(), archived: z.boolean(), archived_at: z.string().nullable(),
  created_by: z.string(), created_at: z.string(), updated_by: z.string(), updated_at: z.string(),
};

/** A flag's config in one environment, with that environment's version (GET /flags/{key} `environments`). */
export const environmentConfigSchema = z.intersection(flagConfigSchema, z.object({ version: z.number().int() }));

/** A flag's lifecycle stage (src/domain/lifecycle.ts), with the evaluation data it was derived from. */
const servedValueSchema = z.object({ variant: z.string(), value: z.unknown() });
export const flagLifecycleSchema = z
  .object({
    stage: z.enum(LIFECYCLE_STAGES),
    since: z.string().meta({ description: 'when the flag entered the stage (active: its last config change)' }),
    reason: z.string().meta({ description: 'why, in words' }),
    serves: servedValueSchema.nullable().meta({ description: 'the one value served to everyone in every environment, or null' }),
    environments: z.record(z.string(), z.object({
      last_evaluated: z.string().nullable(),
      serves: servedValueSchema.nullable(),
      diverts: z.string().nullable().meta({ description: 'why this environment does not serve one value to everyone' }),
    })),
  })
  .meta({ id: 'FlagLifecycle' });

export const flagSchema = z
  .object({
    ...flagIdentity,
    lifecycle: flagLifecycleSchema.optional().meta({ description: 'GET only: the lifecycle stage' }),
    environments: z.record(z.string(), environmentConfigSchema),
    revision: z.number().int().optional().meta({ description: "GET only: this flag's recorded changes, counted per flag" }),
  })
  .meta({ id: 'Flag' });

/** A page of the flag list: each flag with a summary of its config per environment. */
export const flagListPageSchema = z.object({
  flags: z.array(z.object({
    ...flagIdentity,
    lifecycle: flagLifecycleSchema.optional(),
    environments: z.record(z.string(), z.object({ enabled: z.boolean(), killed: z.boolean(), version: z.number().int() })),
  })),
  next_cursor: z.string().nullable(),
});

/** FeatureFlag: one flag in one environment, its config fields inlined, with its version. */
export const featureFlagSchema = z
  .intersection(
    z.object({
      id: z.uuid(), key: z.string(), name: z.string(), description: z.string(), type: flagTypeSchema,
      version: z.number().int(), archived: z.boolean(),
      metadata: z.object({
        created_by: z.string(), created_at: z.string(), updated_by: z.string(), updated_at: z.string(), tags: z.array(z.string()), environment: z.string(),
      }),
    }),
    flagConfigSchema,
  )
  .meta({ id: 'FeatureFlag', description: "One flag in one environment with its config fields inlined: enabled, value, off_value, rules, targeting, rollout, kill_switch, version" });

/** What a kill or a release answers; the workflow carries the rest. */
export const killOutcomeSchema = z.object({
  flag: z.string(), environment: z.string(), version: z.number().int(), kill_switch: killSwitchSchema,
  changed: z.boolean(), already_active: z.boolean(), projected: z.boolean(),
  workflow: z.object({
    id: z.string(), url: z.string(),
    status: z.enum(['started', 'starting', 'pending', 'none']).meta({
      description: 'started: Temporal accepted it; starting: a kill answers before Temporal does, its start recorded with the kill (the outbox); pending: Temporal was unreachable, the outbox starts it later; none: no workflow ran for this request (already in the asked state)',
    }),
  }),
});

/** "Evaluate as…": the result and the trace of which rule or segment matched, which failed and why. */
export const explainAnswerSchema = z.object({
  flag: z.string(), environment: z.string(), version: z.number().int(), at: z.string(),
  result: z.object({
    value: z.unknown(), variant: z.string(), reason: z.string(), rule_id: z.string().optional(), segment_id: z.string().optional(),
    bucket: z.number().optional(), error_code: z.string().optional(), error_message: z.string().optional(),
  }),
  trace: z.array(z.object({ step: z.string(), id: z.string().optional(), matched: z.boolean(), message: z.string() })),
});

const guardReadingSchema = z.object({
  at: z.string(), source: z.enum(['events', 'prometheus']), breached: z.boolean(), detail: z.string(),
  value: z.number().optional(), treated_error_rate: z.number().optional(), untreated_error_rate: z.number().optional(),
  samples: z.object({ treated: z.number(), untreated: z.number() }).optional(),
  reporters: z.array(z.object({
    reporter: z.string(), samples: z.number(), errors: z.number(),
    counted_samples: z.number(), counted_errors: z.number(),
  })).optional().meta({ description: "events guards: whose errors the treated rate counts, most first (counted_*: after the per-reporter cap)" }),
});

/** A running rollout's live progress (the workflow's query). `step` is 0-based here: the step being worked on. */
export const rolloutProgressSchema = z
  .object({
    rollout_id: z.string(), flag_key: z.string(), environment: z.string(), strategy: z.enum(['immediate', 'scheduled', 'gradual', 'split']),
    summary: z.string(), status: z.enum(['running', 'paused', 'waiting_approval', 'completed', 'aborted', 'rolled_back', 'failed']),
    step: z.number().int().meta({ description: 'index of the step being worked on (total_steps when all are done)' }),
    total_steps: z.number().int(),
    percentage: z.union([z.number(), z.literal('off')]).nullable()
      .meta({ description: 'the rollout percentage; for a split rollout, the share of traffic its split moved off the starting split' }),
    split: z.array(splitEntrySchema).nullish().meta({ description: 'split rollouts: the weighted split served now (null before the first step)' }),
    start_split: z.array(splitEntrySchema).nullish().meta({ description: 'split rollouts: what the config served by weight before the first step, which a rollback restores' }),
    next_change_at: z.string().nullable(),
    approval_deadline: z.string().nullable().meta({ description: 'while waiting for an approval: when the wait times out and the rollout pauses' }),
    paused_reason: z.string().nullable(),
    guard: z.object({ readings: z.array(guardReadingSchema), breach: guardReadingSchema.nullable() }).nullable(),
    history: z.array(z.object({
      label: z.string(), percentage: z.union([z.number(), z.literal('off')]), split: z.array(splitEntrySchema).optional(), at: z.string(), version: z.number().int(),
    })),
  })
  .meta({ id: 'RolloutProgress' });

/** A rollout of the read model (the rollouts table), with its workflow in the Temporal UI. */
export const rolloutRecordSchema = z.object({
  id: z.string(), flag_key: z.string(), environment: z.string(), workflow_id: z.string(), url: z.string(),
  plan: rolloutPlanSchema, status: rolloutProgressSchema.shape.status, progress: z.unknown(),
  created_by: z.string(), created_at: z.string(), updated_at: z.string(), finished_at: z.string().nullable(),
});

export const rolloutListSchema = z.object({ current: rolloutProgressSchema.nullable(), rollouts: z.array(rolloutRecordSchema) });
export const rolloutStartedSchema = z.object({ rollout_id: z.string(), workflow_id: z.string(), url: z.string(), summary: z.string() });

export const scheduledChangeSchema = z.object({
  id: z.string(), workflow_id: z.string(),
  status: z.string().meta({ description: "the workflow's status: RUNNING, COMPLETED, CANCELLED, FAILED, TERMINATED, TIMED_OUT" }),
  at: z.string().nullable(), reason: z.string().nullable(), scheduled_by: z.string().nullable(), url: z.string(),
});
export const scheduledChangeListSchema = z.object({ changes: z.array(scheduledChangeSchema) });
export const scheduledChangeCreatedSchema = z.object({ id: z.string(), workflow_id: z.string(), at: z.string(), url: z.string() });

export const segmentSchema = z
  .object({
    id: z.uuid(), key: z.string(), name: z.string(), description: z.string(), kind: z.enum(['rule', 'list']),
    conditions: z.array(conditionSchema).optional(), user_count: z.number().int().nullable().meta({ description: 'members of a list segment; null for rule segments' }),
    version: z.number().int(), created_by: z.string(), created_at: z.string(), updated_by: z.string(), updated_at: z.string(),
  })
  .meta({ id: 'Segment' });
export const segmentPageSchema = z.object({ segments: z.array(segmentSchema), next_cursor: z.string().nullable() });

export const webhookSchema = z
  .object({
    id: z.string(), url: z.string(), events: z.array(z.string()), enabled: z.boolean(), created_by: z.string(), created_at: z.string(), updated_at: z.string(),
  })
  .meta({ id: 'Webhook' });
export const webhookListSchema = z.object({ webhooks: z.array(webhookSchema) });
export const webhookCreatedSchema = webhookSchema.extend({ secret: z.string().meta({ description: 'the signing secret, in this answer only' }) });
export const webhookDeliveriesSchema = z.object({
  deliveries: z.array(z.object({
    id: z.string(), event: z.string(), status: z.enum(['pending', 'succeeded', 'failed']), attempts: z.number().int(),
    last_status_code: z.number().int().nullable(), last_error: z.string().nullable(), created_at: z.string(), delivered_at: z.string().nullable(),
    payload: z.record(z.string(), z.unknown()),
  })),
});

export const grantOutputSchema = z.object({
  resource: z.enum(['flag', 'environment', 'audit']),
  action: actionSchema,
  conditions: z.object({ environments: z.array(z.string()).optional(), flag_tags: z.array(z.string()).optional() }),
});

export const userSchema = z
  .object({
    id: z.uuid(),
    email: z.string(),
    name: z.string(),
    role: roleSchema,
    slack_user_id: z.string().nullable(),
    grants: z.array(grantOutputSchema),
    created_at: z.string(),
    updated_at: z.string(),
    deactivated_at: z.string().nullable(),
  })
  .meta({ id: 'User' });
export const userPageSchema = z.object({ users: z.array(userSchema), next_cursor: z.string().nullable() });

export const tokenSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    kind: z.enum(['client', 'server', 'admin']),
    environment: z.string().nullable(),
    user_id: z.uuid().nullable(),
    created_by: z.string().nullable(),
    prefix: z.string().nullable().meta({ description: 'the first characters of the secret, to tell tokens apart' }),
    created_at: z.string(),
    last_used_at: z.string().nullable().meta({ description: 'written in batches every few seconds, not per request' }),
    revoked_at: z.string().nullable(),
  })
  .meta({ id: 'Token' });
export const tokenPageSchema = z.object({ tokens: z.array(tokenSchema), next_cursor: z.string().nullable() });
export const tokenCreatedSchema = tokenSchema.extend({ token: z.string().meta({ description: 'the secret (e.g. rc_server_…), in this answer only' }) });

/** The body that creates an alert trigger (the admin UI checks its form with it before sending). */
export const alertTriggerInputSchema = z.strictObject({
  name: text(200).trim().min(1, 'a name is required'),
  source: z.enum(ALERT_SOURCES).meta({ description: 'the payload format: alertmanager, grafana, datadog, pagerduty or generic' }),
  restore_on_resolved: z.boolean().optional().meta({ description: 'restore the flag when every alert has resolved, if this trigger killed it (default false)' }),
  min_alerts: z.number().int().min(1).max(100).optional().meta({ description: 'fire only when this many distinct alerts fire within the window (default 1)' }),
  window_seconds: z.number().int().min(10).max(86_400).optional().meta({ description: 'the window for min_alerts (default 300)' }),
  only_during_rollout: z.boolean().optional().meta({ description: 'armed only while a rollout of the flag runs in the environment (default false)' }),
});
/** An alert trigger as listed: never its secret. */
export const alertTriggerSchema = z.object({
  id: z.uuid(), flag: z.string(), environment: z.string(), name: z.string(), source: z.enum(ALERT_SOURCES), restore_on_resolved: z.boolean(),
  min_alerts: z.number().int(), window_seconds: z.number().int(), only_during_rollout: z.boolean(), created_by: z.string(), created_at: z.string(),
  enabled: z.boolean().meta({ description: 'a disabled trigger keeps its URL, which answers 404 like an unknown one and never acts' }),
  deliveries_received: z.number().int().meta({ description: 'deliveries that reached the trigger while enabled, refused payloads included' }),
  kills_fired: z.number().int().meta({ description: 'times it pulled the kill switch' }),
  restores_fired: z.number().int().meta({ description: 'times it restored the flag on resolved' }),
  last_delivery_at: z.string().nullable(),
  last_fired_at: z.string().nullable().meta({ description: 'when it last killed or restored' }),
  last_fired_alert: z.string().nullable().meta({ description: 'the alert names of that kill or restore' }),
});
/** The body that disables or enables an alert trigger. */
export const alertTriggerPatchSchema = z.strictObject({
  enabled: z.boolean().meta({ description: 'false disables the trigger (its URL then answers like an unknown one); true enables it again' }),
});
export const alertTriggerListSchema = z.object({ triggers: z.array(alertTriggerSchema) });
export const alertTriggerCreatedSchema = alertTriggerSchema.extend({
  path: z.string().meta({ description: 'where the alerting system posts, with the secret: in this answer only' }),
});

/** Where a flag is used in code: per repository and file, from `ripcord refs --upload`. */
export const flagCodeReferencesSchema = z.object({
  flag: z.string(), files: z.number().int(),
  references: z.array(z.object({ repository: z.string(), path: z.string(), lines: z.array(z.number().int()), uploaded_at: z.string() })),
});

export type FlagState = z.infer<typeof flagStateSchema>;
export type DashboardFlag = z.infer<typeof dashboardFlagSchema>;
export type DashboardPage = z.infer<typeof dashboardPageSchema>;
export type DashboardSort = z.infer<typeof dashboardSortSchema>;
export type RunningRollout = z.infer<typeof runningRolloutSchema>;
export type RunningRollouts = z.infer<typeof runningRolloutsSchema>;
export type AuditEventView = z.infer<typeof auditEventSchema>;
export type AuditPage = z.infer<typeof auditPageSchema>;
export type AuditVerification = z.infer<typeof auditVerificationSchema>;
export type KillSwitchState = z.infer<typeof killSwitchStateSchema>;
export type FlagMetricsHistory = z.infer<typeof flagMetricsHistorySchema>;
export type StreamTicket = z.infer<typeof streamTicketSchema>;
export type EnvironmentConfig = z.infer<typeof environmentConfigSchema>;
export type Flag = z.infer<typeof flagSchema>;
export type FlagListPage = z.infer<typeof flagListPageSchema>;
export type FeatureFlag = z.infer<typeof featureFlagSchema>;
export type KillOutcome = z.infer<typeof killOutcomeSchema>;
export type ExplainAnswer = z.infer<typeof explainAnswerSchema>;
export type RolloutProgressView = z.infer<typeof rolloutProgressSchema>;
export type RolloutRecordView = z.infer<typeof rolloutRecordSchema>;
export type RolloutList = z.infer<typeof rolloutListSchema>;
export type RolloutStarted = z.infer<typeof rolloutStartedSchema>;
export type ScheduledChange = z.infer<typeof scheduledChangeSchema>;
export type ScheduledChangeList = z.infer<typeof scheduledChangeListSchema>;
export type ScheduledChangeCreated = z.infer<typeof scheduledChangeCreatedSchema>;
export type Segment = z.infer<typeof segmentSchema>;
export type SegmentPage = z.infer<typeof segmentPageSchema>;
export type Webhook = z.infer<typeof webhookSchema>;
export type WebhookList = z.infer<typeof webhookListSchema>;
export type WebhookCreated = z.infer<typeof webhookCreatedSchema>;
export type WebhookDeliveries = z.infer<typeof webhookDeliveriesSchema>;
export type User = z.infer<typeof userSchema>;
export type UserPage = z.infer<typeof userPageSchema>;
export type Token = z.infer<typeof tokenSchema>;
export type TokenPage = z.infer<typeof tokenPageSchema>;
export type TokenCreated = z.infer<typeof tokenCreatedSchema>;
export type AlertTriggerInput = z.input<typeof alertTriggerInputSchema>;
export type AlertTrigger = z.infer<typeof alertTriggerSchema>;
export type AlertTriggerList = z.infer<typeof alertTriggerListSchema>;
export type AlertTriggerPatch = z.infer<typeof alertTriggerPatchSchema>;
export type AlertTriggerCreated = z.infer<typeof alertTriggerCreatedSchema>;
export type FlagCodeReferences = z.infer<typeof flagCodeReferencesSchema>;

/** GET /api/v1/lifecycle/ready-to-remove: launched and stale flags with their evaluations and code references. */
export const readyToRemoveSchema = z
  .object({
    flags: z.array(z.object({
      key: z.string(),
      tags: z.array(z.string()),
      owner: z.string().meta({ description: "the flag's owner: its creator (a user id, or the actor that created it)" }),
      lifecycle: flagLifecycleSchema,
      referenced_files: z.number().int().meta({ description: 'files that mention the flag in the last `ripcord refs --upload` of each repository; 0: no known reference' }),
    })),
    thresholds: z.object({
      new_days: z.number(), launched_days: z.number(), stale_launched_days: z.number(), unused_days: z.number(), production_environment: z.string(),
    }),
  })
  .meta({ id: 'ReadyToRemove' });
export type ReadyToRemove = z.infer<typeof readyToRemoveSchema>;
export type FlagLifecycleView = z.infer<typeof flagLifecycleSchema>;

// Release templates and pipelines (api/routes/release-pipelines.ts).
export const releaseTemplateSchema = z.object({
  name: z.string(), description: z.string(), version: z.number().int(),
  phases: z.array(z.looseObject({
    environment: z.string(),
    audience: z.object({ segments: z.array(z.string()), variant: z.string().optional() }).optional()
      .meta({ description: 'segments served the variant (default: the on variant) before the plan' }),
    plan: z.looseObject({ strategy: z.string() }).optional(),
  })),
  created_by: z.string(), updated_by: z.string(), created_at: z.string(), updated_at: z.string(),
});
const pipelinePhaseSchema = z.object({
  name: z.string(), environment: z.string(),
  status: z.enum(['pending', 'waiting_approval', 'running', 'soaking', 'completed', 'rolled_back', 'aborted', 'failed', 'not_started']),
  summary: z.string(), approval: z.object({ role: roleSchema }).nullable(),
  audience: z.object({ segments: z.array(z.string()), variant: z.string().nullable() }).nullish()
    .meta({ description: 'the segments the phase serves a variant to (variant null: the on variant)' }),
  audience_at: z.string().nullish().meta({ description: 'when the audience’s targeting rule was written' }),
  policy: z.object({
    environment: z.string(), required_approvals: z.number().int(), approver_user_ids: z.array(z.string()), approver_role: roleSchema.nullable(),
    covers: z.array(z.enum(['configs', 'rollouts'])),
  }).nullish().meta({ description: 'the policy gate: the environment’s change policy as it was when the pipeline started, when it covered what the phase does; the phase needs required_approvals distinct approvals from users it allows' }),
  approvals: z.array(z.object({
    by: z.string(), name: z.string(), role: roleSchema, at: z.string(),
    counts: z.array(z.enum(['role', 'policy'])).optional().meta({ description: 'the gates the approval counts for: role (the phase’s own gate), policy (its policy gate)' }),
  })),
  soak_ms: z.number().nullable(), started_at: z.string().nullable(), finished_at: z.string().nullable(), soak_until: z.string().nullable(),
  rollout_id: z.string().nullable(), workflow_id: z.string().nullable().meta({ description: "the phase's child rollout workflow (rollout:<env>:<flag>)" }),
  url: z.string().nullable().meta({ description: 'the child rollout in the Temporal UI' }), breach: guardReadingSchema.nullable().meta({ description: "the guard reading that tripped the phase's rollout" }),
});
export const pipelineSchema = z.object({
  id: z.string(), flag: z.string(), template: z.string(),
  status: z.enum(['running', 'paused', 'waiting_approval', 'soaking', 'completed', 'stopped', 'aborted', 'failed']),
  workflow_id: z.string(), url: z.string(), started_by: z.string(), created_at: z.string(), updated_at: z.string(), finished_at: z.string().nullable(),
  phase: z.number().int().meta({ description: 'index of the phase being worked on (0-based)' }),
  paused_reason: z.string().nullable(), reason: z.string().nullable().meta({ description: 'why it stopped: names the phase and the breach' }),
  phases: z.array(pipelinePhaseSchema),
});
export const pipelineStartedSchema = z.object({ id: z.string(), workflow_id: z.string(), url: z.string(), template: z.string() });

export type ReleaseTemplate = z.infer<typeof releaseTemplateSchema>;
export type Pipeline = z.infer<typeof pipelineSchema>;
export type PipelineStarted = z.infer<typeof pipelineStartedSchema>;
