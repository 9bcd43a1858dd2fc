import type { AlertNotice, AlertSource } from '../alerts/alert-payload.js';
import type { Queryable } from '../connections/database.js';
import { iso, onlyRow, touched } from '../connections/rows.js';

export interface AlertTriggerRecord {
  id: string;
  flagKey: string;
  environment: string;
  name: string;
  source: AlertSource;
  restoreOnResolved: boolean;
  minAlerts: number;
  windowSeconds: number;
  onlyDuringRollout: boolean;
  createdBy: string;
  createdAt: string;
  /** A disabled trigger's URL answers like an unknown one and never acts. */
  enabled: boolean;
  deliveriesReceived: number;
  killsFired: number;
  restoresFired: number;
  lastDeliveryAt: string | null;
  lastFiredAt: string | null;
  /** The alert names of the latest kill or restore. */
  lastFiredAlert: string | null;
}

export interface NewAlertTrigger {
  flagId: string;
  environment: string;
  name: string;
  source: AlertSource;
  secretHash: string;
  restoreOnResolved: boolean;
  minAlerts: number;
  windowSeconds: number;
  onlyDuringRollout: boolean;
  createdBy: string;
}

const COLUMNS = `t.id, f.key AS flag_key, t.environment, t.name, t.source, t.restore_on_resolved, t.min_alerts, t.window_seconds,
  t.only_during_rollout, t.created_by, t.created_at, t.enabled, t.deliveries_received, t.kills_fired, t.restores_fired, t.last_delivery_at,
  t.last_fired_at, t.last_fired_alert`;

/** A row of COLUMNS. */
interface TriggerRow {
  id: string;
  flag_key: string;
  environment: string;
  name: string;
  source: AlertSource;
  restore_on_resolved: boolean;
  min_alerts: number;
  window_seconds: number;
  only_during_rollout: boolean;
  created_by: string;
  created_at: Date;
  enabled: boolean;
  deliveries_received: number;
  kills_fired: number;
  restores_fired: number;
  last_delivery_at: Date | null;
  last_fired_at: Date | null;
  last_fired_alert: string | null;
}

function toTrigger(row: TriggerRow): AlertTriggerRecord {
  return {
    id: row.id, flagKey: row.flag_key, environment: row.environment, name: row.name,
    source: row.source, restoreOnResolved: row.restore_on_resolved, minAlerts: row.min_alerts,
    windowSeconds: row.window_seconds, onlyDuringRollout: row.only_during_rollout, createdBy: row.created_by,
    createdAt: iso(row.created_at), enabled: row.enabled,
    deliveriesReceived: row.deliveries_received, killsFired: row.kills_fired, restoresFired: row.restores_fired,
    lastDeliveryAt: iso(row.last_delivery_at), lastFiredAt: iso(row.last_fired_at), lastFiredAlert: row.last_fired_alert,
  };
}

export async function insertAlertTrigger(tx: Queryable, t: NewAlertTrigger): Promise<AlertTriggerRecord> {
  const result = await tx.query<TriggerRow>(
    `WITH t AS (INSERT INTO alert_triggers (flag_id, environment, name, source, secret_hash, restore_on_resolved, min_alerts, window_seconds, only_during_rollout, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *)
     SELECT ${COLUMNS} FROM t JOIN flags f ON f.id = t.flag_id`,
    [t.flagId, t.environment, t.name, t.source, t.secretHash, t.restoreOnResolved, t.minAlerts, t.windowSeconds, t.onlyDuringRollout, t.createdBy],
  );
  return toTrigger(onlyRow(result));
}

export async function listAlertTriggers(db: Queryable, flagKey: string, environment: string): Promise<AlertTriggerRecord[]> {
  const result = await db.query<TriggerRow>(
    `SELECT ${COLUMNS} FROM alert_triggers t JOIN flags f ON f.id = t.flag_id WHERE f.key = $1 AND t.environment = $2 ORDER BY t.created_at`,
    [flagKey, environment],
  );
  return result.rows.map(toTrigger);
}

export async function findAlertTrigger(db: Queryable, id: string): Promise<AlertTriggerRecord | null> {
  const result = await db.query<TriggerRow>(`SELECT ${COLUMNS} FROM alert_triggers t JOIN flags f ON f.id = t.flag_id WHERE t.id = $1`, [id]);
  return result.rows[0] ? toTrigger(result.rows[0]) : null;
}

/** The names of these triggers, with their flag (ids of deleted triggers are left out). */
export async function alertTriggerNames(db: Queryable, ids: readonly string[]): Promise<Array<{ id: string; name: string; flag: string; environment: string }>> {
  const result = await db.query<{ id: string; name: string; flag: string; environment: string }>(
    'SELECT t.id::text AS id, t.name, f.key AS flag, t.environment FROM alert_triggers t JOIN flags f ON f.id = t.flag_id WHERE t.id::text = ANY($1::text[])',
    [ids],
  );
  return result.rows;
}

/** The hash of a trigger's secret (what its URL is found by), for a delivery made on a user's behalf: a test alert. */
export async function alertTriggerSecretHash(db: Queryable, id: string): Promise<string | null> {
  const result = await db.query<{ secret_hash: string }>('SELECT secret_hash FROM alert_triggers WHERE id = $1', [id]);
  return result.rows[0]?.secret_hash ?? null;
}

/** Whether an enabled trigger of a live flag has this secret: one indexed read, no lock. */
export async function alertTriggerSecretExists(db: Queryable, secretHash: string): Promise<boolean> {
  const result = await db.query(
    'SELECT 1 FROM alert_triggers t JOIN flags f ON f.id = t.flag_id WHERE t.secret_hash = $1 AND t.enabled AND f.archived_at IS NULL',
    [secretHash],
  );
  return result.rowCount === 1;
}

/**
 * The enabled trigger a secret belongs to, locked for the rest of the transaction (deliveries for one
 * trigger take turns). A disabled trigger is not found: its URL answers like an unknown one.
 */
export async function lockAlertTriggerBySecret(tx: Queryable, secretHash: string): Promise<AlertTriggerRecord | null> {
  const result = await tx.query<TriggerRow>(
    `SELECT ${COLUMNS} FROM alert_triggers t JOIN flags f ON f.id = t.flag_id WHERE t.secret_hash = $1 AND t.enabled AND f.archived_at IS NULL FOR UPDATE OF t`,
    [secretHash],
  );
  return result.rows[0] ? toTrigger(result.rows[0]) : null;
}

/** Enables or disables a trigger; answers it as changed, or null when it does not exist or already was so (one statement: concurrent toggles change it once). */
export async function setAlertTriggerEnabled(tx: Queryable, id: string, enabled: boolean): Promise<AlertTriggerRecord | null> {
  const result = await tx.query<TriggerRow>(
    `WITH t AS (UPDATE alert_triggers SET enabled = $2 WHERE id = $1 AND enabled <> $2 RETURNING *)
     SELECT ${COLUMNS} FROM t JOIN flags f ON f.id = t.flag_id`,
    [id, enabled],
  );
  return result.rows[0] ? toTrigger(result.rows[0]) : null;
}

/** Gives a trigger a new secret (its old URL stops working at once); null when it does not exist. */
export async function setAlertTriggerSecret(tx: Queryable, id: string, secretHash: string): Promise<AlertTriggerRecord | null> {
  const result = await tx.query<TriggerRow>(
    `WITH t AS (UPDATE alert_triggers SET secret_hash = $2 WHERE id = $1 RETURNING *)
     SELECT ${COLUMNS} FROM t JOIN flags f ON f.id = t.flag_id`,
    [id, secretHash],
  );
  return result.rows[0] ? toTrigger(result.rows[0]) : null;
}

/** Counts one delivery that reached an enabled trigger (committed even when its payload is refused). */
export async function countDelivery(tx: Queryable, triggerId: string): Promise<void> {
  await tx.query('UPDATE alert_triggers SET deliveries_received = deliveries_received + 1, last_delivery_at = now() WHERE id = $1', [triggerId]);
}

/** Counts a restore the trigger fired, naming the alerts that resolved. */
export async function markRestored(tx: Queryable, triggerId: string, alertNames: string): Promise<void> {
  await tx.query('UPDATE alert_triggers SET restores_fired = restores_fired + 1, last_fired_at = now(), last_fired_alert = $2 WHERE id = $1', [triggerId, alertNames]);
}

export async function deleteAlertTrigger(tx: Queryable, id: string): Promise<boolean> {
  return touched(await tx.query('DELETE FROM alert_triggers WHERE id = $1', [id]));
}

/** Records what a delivery said of each alert; a resolved alert's next firing is a new episode. */
export async function recordAlerts(tx: Queryable, triggerId: string, notices: AlertNotice[]): Promise<void> {
  for (const notice of notices) {
    await tx.query(
      `INSERT INTO alert_trigger_alerts (trigger_id, fingerprint, status, name, link) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (trigger_id, fingerprint) DO UPDATE SET
         fired = CASE WHEN EXCLUDED.status = 'resolved' THEN false ELSE alert_trigger_alerts.fired END,
         first_seen = CASE WHEN alert_trigger_alerts.status = 'resolved' AND EXCLUDED.status = 'firing' THEN now() ELSE alert_trigger_alerts.first_seen END,
         status = EXCLUDED.status, name = EXCLUDED.name, link = EXCLUDED.link, last_seen = now()`,
      [triggerId, notice.fingerprint, notice.status, notice.name, notice.link],
    );
  }
}

export interface FiringAlert {
  fingerprint: string;
  name: string;
  link: string | null;
  fired: boolean;
  /** When this firing episode began (a resolve and a new firing start another). */
  firstSeen: string;
}

/** Alerts firing that were (re)announced within the window. */
export async function firingAlerts(tx: Queryable, triggerId: string, windowSeconds: number): Promise<FiringAlert[]> {
  const result = await tx.query<{ fingerprint: string; name: string; link: string | null; fired: boolean; first_seen: Date }>(
    `SELECT fingerprint, name, link, fired, first_seen FROM alert_trigger_alerts
      WHERE trigger_id = $1 AND status = 'firing' AND last_seen > now() - make_interval(secs => $2) ORDER BY first_seen`,
    [triggerId, windowSeconds],
  );
  return result.rows.map((row) => ({ fingerprint: row.fingerprint, name: row.name, link: row.link, fired: row.fired, firstSeen: iso(row.first_seen) }));
}

/** Marks these alerts' episodes as spent and counts the kill, naming the alerts. */
export async function markFired(tx: Queryable, triggerId: string, fingerprints: string[], alertNames: string): Promise<void> {
  await tx.query('UPDATE alert_trigger_alerts SET fired = true WHERE trigger_id = $1 AND fingerprint = ANY($2)', [triggerId, fingerprints]);
  await tx.query('UPDATE alert_triggers SET kills_fired = kills_fired + 1, last_fired_at = now(), last_fired_alert = $2 WHERE id = $1', [triggerId, alertNames]);
}

export async function anyAlertFiring(tx: Queryable, triggerId: string): Promise<boolean> {
  return touched(await tx.query(`SELECT 1 FROM alert_trigger_alerts WHERE trigger_id = $1 AND status = 'firing' LIMIT 1`, [triggerId]));
}
