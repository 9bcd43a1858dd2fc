import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { parseAlertPayload, type AlertSource } from '../alerts/alert-payload.js';
import type { Actor } from '../auth/principal.js';
import { hashToken } from '../auth/principal.js';
import { isFinishedRollout } from '../domain/rollout-status.js';
import { ConflictError, NotFoundError, RateLimitedError, ValidationError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { AuthFailureLimiter } from '../serving/auth-failure-limiter.js';
import { RateLimiter } from '../serving/rate-limiter.js';
import { TriggerSecretGuard } from './trigger-secret-guard.js';
import {
  alertTriggerNames, alertTriggerSecretExists, alertTriggerSecretHash, countDelivery, deleteAlertTrigger, findAlertTrigger, firingAlerts, anyAlertFiring, insertAlertTrigger, listAlertTriggers, lockAlertTriggerBySecret, markFired,
  markRestored, recordAlerts, setAlertTriggerEnabled, setAlertTriggerSecret, type AlertTriggerRecord,
} from './alert-trigger-store.js';
import { appendAuditEvent, auditedNames, latestKillSwitchEvent } from '../audit/audit-store.js';
import { withTransaction, type Database } from '../connections/database.js';
import { findFlag, listEnvironments } from '../flags/flag-store.js';
import { listRollouts } from '../rollouts/rollout-store.js';
import type { Caller } from '../auth/caller.js';
import type { KillSwitchCommands } from '../kill-switch/kill-switch-commands.js';
import { sampleAlertPayload, TEST_ALERT_NAME } from '../domain/alert-samples.js';
import { uuidPattern } from '../domain/text.js';
import { KeyedSerializer } from './keyed-serializer.js';

/** Where alerting systems post: the secret is the credential, so the path is never logged. */
export const TRIGGER_HOOK_PREFIX = '/hooks/v1/triggers/';
/** Deliveries one trigger accepts per minute (a burst of as many, refilled evenly); more get 429 (an alert storm must not become a DB storm). */
export const TRIGGER_DELIVERIES_PER_MINUTE = 120;

export interface TriggerInput {
  name: string;
  source: AlertSource;
  restore_on_resolved?: boolean;
  min_alerts?: number;
  window_seconds?: number;
  only_during_rollout?: boolean;
}

export interface TriggerRequestMeta {
  actor: Actor;
  ipAddress?: string | null;
  userAgent?: string | null;
}

export type TriggerDecision =
  | { action: 'kill'; alerts: Array<{ name: string; link: string | null }>; workflow: { id: string; url: string } | null; changed: boolean }
  | { action: 'restore'; workflow: { id: string; url: string } | null; changed: boolean }
  | { action: 'restore_requested'; reason: string; change_request: { id: string; status: string } }
  | { action: 'none'; reason: string };

const present = (t: AlertTriggerRecord) => ({
  id: t.id, flag: t.flagKey, environment: t.environment, name: t.name, source: t.source, restore_on_resolved: t.restoreOnResolved,
  min_alerts: t.minAlerts, window_seconds: t.windowSeconds, only_during_rollout: t.onlyDuringRollout, created_by: t.createdBy,
  created_at: t.createdAt, enabled: t.enabled, deliveries_received: t.deliveriesReceived, kills_fired: t.killsFired, restores_fired: t.restoresFired,
  last_delivery_at: t.lastDeliveryAt, last_fired_at: t.lastFiredAt, last_fired_alert: t.lastFiredAlert,
});

/** The actor a trigger's kills and restores are audited as (its role is what the kill switch requires of people). */
export const triggerActor = (t: AlertTriggerRecord): Actor => ({ id: `trigger:${t.id}`, name: triggerActorName(t.name), role: 'emergency_responder' });
/** What the audit log and the UI call a trigger acting. */
const triggerActorName = (name: string) => `${name} (alert trigger)`;

/**
 * A trigger as the caller of the kill switch's commands: it may pull and release the kill switch of
 * its environment (a kill_switch grant there) and nothing else; it cannot bypass a change policy, so
 * where releasing a kill needs approval its resolve becomes a change request it authored.
 */
export function triggerCaller(t: AlertTriggerRecord, origin: { ipAddress?: string | null; userAgent?: string | null }): Caller {
  return {
    actor: triggerActor(t),
    subject: { kind: 'user', role: 'viewer', grants: [{ resource: 'flag', action: 'kill_switch', conditions: { environments: [t.environment] } }] },
    ipAddress: origin.ipAddress ?? null, userAgent: origin.userAgent ?? null,
  };
}

/** A trigger's secret: the last part of its URL, kept only as its hash. */
const newTriggerSecret = () => `rc_trigger_${randomBytes(32).toString('base64url')}`;

/**
 * Alert triggers: an alerting system posts to a secret URL and the flag is killed through the
 * same kill switch as a person's (killSwitch workflow, audit, alerts), with the trigger as the actor.
 * Each alert fires once per firing episode (by fingerprint), optionally only when N alerts fire within a
 * window or while a rollout runs; a resolve restores only what this trigger killed, and only when asked.
 */
export function createAlertTriggerService(deps: { db: Database; killSwitch: KillSwitchCommands; logger: Logger; authFailures?: AuthFailureLimiter }) {
  const { db } = deps;
  const secrets = new TriggerSecretGuard((secretHash) => alertTriggerSecretExists(db, secretHash), deps.authFailures);
  // Per trigger (keyed by the secret's hash): the shared token bucket, a minute's worth as the burst.
  const deliveries = new RateLimiter(TRIGGER_DELIVERIES_PER_MINUTE / 60, TRIGGER_DELIVERIES_PER_MINUTE);
  // One delivery per trigger at a time in this process: the others wait without a database connection.
  const oneAtATime = new KeyedSerializer();

  const audit = (tx: Parameters<typeof appendAuditEvent>[0], meta: TriggerRequestMeta, action: string, t: AlertTriggerRecord, oldValue: unknown, newValue: unknown) =>
    appendAuditEvent(tx, {
      userId: meta.actor.id, action, resourceType: 'trigger', resourceId: t.id, environment: t.environment, oldValue, newValue,
      ipAddress: meta.ipAddress, userAgent: meta.userAgent, metadata: { actorName: meta.actor.name, flag: t.flagKey },
    });

  function rateLimit(secretHash: string): void {
    const decision = deliveries.take(secretHash);
    if (!decision.allowed) {
      throw new RateLimitedError(`This trigger accepts at most ${TRIGGER_DELIVERIES_PER_MINUTE} deliveries a minute`, decision.retryAfterSeconds);
    }
  }

  /**
   * Decides under the trigger's row lock; the kill or restore itself runs after the commit, idempotently.
   * The delivery is counted in the same transaction, a refused payload included (so "deliveries" tells an
   * operator their alerting system reaches the trigger even while its payload template is wrong).
   */
  async function decide(secretHash: string, body: unknown) {
    const outcome = await withTransaction(db, async (tx) => {
      const trigger = await lockAlertTriggerBySecret(tx, secretHash);
      if (!trigger) {
        secrets.forget(secretHash);
        throw new NotFoundError('No trigger at this address');
      }
      await countDelivery(tx, trigger.id);
      const parsed = parseAlertPayload(trigger.source, body);
      if (!parsed.ok) return { refused: parsed.issues, trigger } as const;
      await recordAlerts(tx, trigger.id, parsed.notices);
      if (trigger.onlyDuringRollout) {
        const [latest] = await listRollouts(tx, trigger.flagKey, trigger.environment, 1);
        if (!latest || isFinishedRollout(latest.status)) {
          return { trigger, decision: { action: 'none', reason: `not armed: no rollout of ${trigger.flagKey} is running in ${trigger.environment}` } as const };
        }
      }
      const firing = await firingAlerts(tx, trigger.id, trigger.windowSeconds);
      const fresh = firing.filter((alert) => !alert.fired);
      if (firing.length >= trigger.minAlerts && fresh.length > 0) return { trigger, decision: { action: 'kill', firing } as const };
      const resolved = parsed.notices.filter((n) => n.status === 'resolved');
      if (resolved.length > 0 && trigger.restoreOnResolved && !(await anyAlertFiring(tx, trigger.id))) {
        return { trigger, decision: { action: 'restore', names: [...new Set(resolved.map((n) => n.name))] } as const };
      }
      const reason = firing.length < trigger.minAlerts
        ? `${firing.length} of ${trigger.minAlerts} alerts firing within ${trigger.windowSeconds} s`
        : fresh.length === 0 && firing.length > 0 ? 'these alerts already fired this trigger' : 'nothing to do';
      return { trigger, decision: { action: 'none', reason } as const };
    });
    if ('refused' in outcome) throw new ValidationError(`Not a ${outcome.trigger.source} alert payload`, outcome.refused);
    return outcome;
  }

  return {
    async create(flagKey: string, environment: string, input: TriggerInput, meta: TriggerRequestMeta) {
      const flag = await findFlag(db, flagKey);
      if (!flag || flag.archivedAt) throw new NotFoundError(`Flag '${flagKey}' does not exist`);
      if (!(await listEnvironments(db)).some((e) => e.key === environment)) throw new NotFoundError(`Environment '${environment}' does not exist`);
      const secret = newTriggerSecret();
      const created = await withTransaction(db, async (tx) => {
        const trigger = await insertAlertTrigger(tx, {
          flagId: flag.id, environment, name: input.name, source: input.source, secretHash: hashToken(secret),
          restoreOnResolved: input.restore_on_resolved ?? false, minAlerts: input.min_alerts ?? 1, windowSeconds: input.window_seconds ?? 300,
          onlyDuringRollout: input.only_during_rollout ?? false, createdBy: meta.actor.id,
        });
        await audit(tx, meta, 'trigger.created', trigger, null, present(trigger));
        return trigger;
      });
      // The secret is in the path: shown this once, kept only as its hash.
      return { ...present(created), path: `${TRIGGER_HOOK_PREFIX}${secret}` };
    },

    /** Gives the trigger a new secret: the old URL answers 404 at once (in every process: deliveries find the trigger by it in the database); the new one is shown this once. */
    async rotateSecret(id: string, meta: TriggerRequestMeta) {
      const secret = newTriggerSecret();
      const rotated = await withTransaction(db, async (tx) => {
        const trigger = await setAlertTriggerSecret(tx, id, hashToken(secret));
        if (!trigger) throw new NotFoundError(`Trigger '${id}' does not exist`);
        await audit(tx, meta, 'trigger.secret_rotated', trigger, null, present(trigger));
        return trigger;
      });
      return { ...present(rotated), path: `${TRIGGER_HOOK_PREFIX}${secret}` };
    },

    /** Names for trigger actor ids (`trigger:<id>`), as the audit log names them: "<name> (alert trigger)". */
    async names(actorIds: readonly string[]): Promise<Array<{ id: string; name: string }>> {
      const ids = actorIds.filter((id) => id.startsWith('trigger:')).map((id) => id.slice('trigger:'.length)).filter((id) => uuidPattern.test(id));
      const live = await alertTriggerNames(db, ids);
      // A deleted trigger keeps the name its audit events recorded (its kills and restores stay in the log).
      const gone = ids.filter((id) => !live.some((t) => t.id === id));
      return [
        ...live.map((t) => ({ id: `trigger:${t.id}`, name: triggerActorName(t.name) })),
        ...(await auditedNames(db, 'trigger', gone)).map((t) => ({ id: `trigger:${t.id}`, name: `${t.name} (alert trigger, deleted)` })),
      ];
    },

    async list(flagKey: string, environment: string) {
      return { triggers: (await listAlertTriggers(db, flagKey, environment)).map(present) };
    },

    /** The trigger's flag and environment, for the route's authorization. */
    async find(id: string): Promise<AlertTriggerRecord> {
      const trigger = await findAlertTrigger(db, id);
      if (!trigger) throw new NotFoundError(`Trigger '${id}' does not exist`);
      return trigger;
    },

    /**
     * Disables or enables a trigger without deleting it (one audit event, only when it changes). While
     * disabled its URL answers exactly like an unknown one (404, same body), so an unauthenticated caller
     * learns nothing more; nothing it is sent is recorded or counted.
     */
    async setEnabled(id: string, enabled: boolean, meta: TriggerRequestMeta) {
      const changed = await withTransaction(db, async (tx) => {
        const updated = await setAlertTriggerEnabled(tx, id, enabled);
        if (updated) await audit(tx, meta, enabled ? 'trigger.enabled' : 'trigger.disabled', updated, { enabled: !enabled }, { enabled });
        return updated;
      });
      return present(changed ?? (await this.find(id)));
    },

    async remove(id: string, meta: TriggerRequestMeta) {
      const trigger = await this.find(id);
      await withTransaction(db, async (tx) => {
        if (!(await deleteAlertTrigger(tx, id))) throw new NotFoundError(`Trigger '${id}' does not exist`);
        await audit(tx, meta, 'trigger.deleted', trigger, present(trigger), null);
      });
    },

    /** One delivery from an alerting system. */
    async receive(secret: string, body: unknown, meta: { ipAddress?: string | null; userAgent?: string | null }): Promise<TriggerDecision> {
      const secretHash = hashToken(secret);
      await secrets.admit(secretHash, meta.ipAddress ?? '');
      return deliver(secretHash, body, meta);
    },

    /**
     * A firing test alert in the trigger's own format, delivered the way a real one is (rate limit, payload
     * adapter, N-of-M window, armed-only-during-rollouts, the kill switch as the trigger): whatever a real
     * alert would do now, this does. Audited as sent by the user, with what the trigger did.
     */
    async sendTestAlert(id: string, meta: TriggerRequestMeta): Promise<TriggerDecision & { test_alert: string }> {
      const trigger = await this.find(id);
      if (!trigger.enabled) throw new ConflictError(`The trigger "${trigger.name}" is disabled: enable it to send a test alert`);
      const secretHash = await alertTriggerSecretHash(db, id);
      if (!secretHash) throw new NotFoundError(`Trigger '${id}' does not exist`);
      const body = sampleAlertPayload(trigger.source, { name: TEST_ALERT_NAME, id: `ripcord-test-${randomUUID()}`, status: 'firing' });
      const decision = await deliver(secretHash, body, meta);
      await withTransaction(db, (tx) => audit(tx, meta, 'trigger.test_sent', trigger, null, { alert: TEST_ALERT_NAME, action: decision.action, ...('reason' in decision ? { reason: decision.reason } : {}) }));
      return { ...decision, test_alert: TEST_ALERT_NAME };
    },
  };

  /** A delivery to the trigger with this secret hash, from its URL or a test: decided, then acted on. */
  async function deliver(secretHash: string, body: unknown, meta: { ipAddress?: string | null; userAgent?: string | null }): Promise<TriggerDecision> {
    rateLimit(secretHash);
    const { trigger, decision } = await oneAtATime.run(secretHash, () => decide(secretHash, body));
    const actor = triggerActor(trigger);
    const caller = triggerCaller(trigger, meta);
    if (decision.action === 'kill') {
      const names = [...new Set(decision.firing.map((a) => a.name))];
      const link = decision.firing.find((a) => a.link)?.link;
      // One id per firing episode of these alerts: a retried or concurrent delivery is the same kill.
      const episode = createHash('sha256').update(decision.firing.map((a) => `${a.fingerprint}@${a.firstSeen}`).sort().join(',')).digest('hex').slice(0, 24);
      const outcome = await deps.killSwitch.pull(caller, {
        flagKey: trigger.flagKey, environment: trigger.environment, requestId: `trigger-${trigger.id.slice(0, 8)}-${episode}`,
        reason: `alert ${names.join(', ')} firing (${trigger.source}, trigger "${trigger.name}")${link ? `: ${link}` : ''}`.slice(0, 500),
      });
      await withTransaction(db, (tx) => markFired(tx, trigger.id, decision.firing.map((a) => a.fingerprint), names.join(', ').slice(0, 500)));
      return { action: 'kill', alerts: decision.firing.map(({ name, link: l }) => ({ name, link: l })), workflow: outcome.changed ? { id: outcome.workflow.id, url: outcome.workflow.url } : null, changed: outcome.changed };
    }
    if (decision.action === 'restore') {
      // Only what this trigger killed: a kill by a person (or another trigger) stays.
      const last = await latestKillSwitchEvent(db, trigger.flagKey, trigger.environment);
      if (!last || last.action !== 'kill_switch.activated' || last.userId !== actor.id) {
        return { action: 'none', reason: last?.action === 'kill_switch.activated' ? 'the kill switch was pulled by someone else: left as it is' : 'the flag is not killed' };
      }
      const released = await deps.killSwitch.release(caller, {
        flagKey: trigger.flagKey, environment: trigger.environment, requestId: `trigger-${trigger.id.slice(0, 8)}-restore-${last.seq}`,
        reason: `alerts resolved (${trigger.source}, trigger "${trigger.name}")`,
      });
      if (released.kind === 'requested') {
        const { change_request: request, message } = released.created;
        return { action: 'restore_requested', reason: message, change_request: { id: request.id, status: request.status } };
      }
      const { outcome } = released;
      await withTransaction(db, (tx) => markRestored(tx, trigger.id, decision.names.join(', ').slice(0, 500)));
      return { action: 'restore', workflow: outcome.changed ? { id: outcome.workflow.id, url: outcome.workflow.url } : null, changed: outcome.changed };
    }
    return decision;
  }
}

export type AlertTriggerService = ReturnType<typeof createAlertTriggerService>;
