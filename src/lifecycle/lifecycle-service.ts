import { deriveLifecycle, servingOf, type Lifecycle, type LifecycleStage, type LifecycleThresholds } from '../domain/lifecycle.js';
import { NotFoundError } from '../errors.js';
import type { Queryable } from '../connections/database.js';
import { digestAlreadyPosted, lifecycleRows, ownersByUserId, recordDigestPosted, referencedFileCounts, type LifecycleRow } from './last-evaluated-store.js';

/** A flag's lifecycle in the API's shape (`lifecycle` of GET /flags and /flags/{key}). */
export interface FlagLifecycle {
  stage: LifecycleStage;
  since: string;
  reason: string;
  /** The one value served to everyone in every environment, or null. */
  serves: { variant: string; value: unknown } | null;
  environments: Record<string, { last_evaluated: string | null; serves: { variant: string; value: unknown } | null; diverts: string | null }>;
}

/** A flag on the "ready to remove" list. */
export interface RemovalCandidate {
  key: string;
  tags: string[];
  owner: string;
  lifecycle: FlagLifecycle;
  /** Files (per repository) that mention the flag, from the last `ripcord refs --upload`; 0: safe to delete. */
  referenced_files: number;
}

/** One digest message: to an owner's Slack DM, or to the fallback channel for owners without a link. */
export interface DigestMessage {
  /** A Slack user id (a DM) or a channel. */
  recipient: string;
  kind: 'owner' | 'channel';
  /** Names of the owners whose flags it lists. */
  owners: string[];
  flags: Array<{ key: string; owner: string; stage: LifecycleStage; reason: string; referenced_files: number; last_evaluated: Record<string, string | null> }>;
  /** Flags beyond the first DIGEST_MAX_FLAGS, counted but not listed (a Slack message holds 50 blocks). */
  more: number;
}

export const DIGEST_MAX_FLAGS = 40;

/** Stages on the "ready to remove" list: serving one value for long, or not used at all. */
const REMOVABLE: ReadonlySet<LifecycleStage> = new Set(['launched', 'stale']);

function present(row: LifecycleRow, lifecycle: Lifecycle): FlagLifecycle {
  return {
    stage: lifecycle.stage,
    since: new Date(lifecycle.since).toISOString(),
    reason: lifecycle.reason,
    serves: lifecycle.serves,
    environments: Object.fromEntries(row.environments.map((env) => {
      const serving = servingOf(env.config);
      return [env.environment, {
        last_evaluated: row.lastEvaluated[env.environment] ?? null,
        serves: serving.uniform ? { variant: serving.variant, value: serving.value } : null,
        diverts: serving.uniform ? null : serving.why,
      }];
    })),
  };
}

/**
 * Flag lifecycle stages from configs and the durable last-evaluated times; the "ready to remove" list;
 * what the weekly digest says to whom. `now` is injectable so tests can move the clock.
 */
export function createLifecycleService(deps: { db: Queryable; thresholds: LifecycleThresholds; now?: () => number }) {
  const { db, thresholds } = deps;
  const now = deps.now ?? Date.now;
  const lifecycleOf = (row: LifecycleRow, at: number) => present(row, deriveLifecycle(row, thresholds, at));

  async function candidates(): Promise<RemovalCandidate[]> {
    const at = now();
    const rows = (await lifecycleRows(db, { includeArchived: false })).map((row) => ({ row, lifecycle: lifecycleOf(row, at) }))
      .filter(({ lifecycle }) => REMOVABLE.has(lifecycle.stage));
    const files = await referencedFileCounts(db, rows.map(({ row }) => row.key));
    return rows.map(({ row, lifecycle }) => ({
      key: row.key, tags: row.tags, owner: row.createdBy, lifecycle, referenced_files: files.get(row.key) ?? 0,
    }));
  }

  return {
    thresholds,

    /** Lifecycles of the given flags (archived ones too), by key. */
    async ofFlags(keys: readonly string[]): Promise<Map<string, FlagLifecycle>> {
      if (keys.length === 0) return new Map();
      const at = now();
      return new Map((await lifecycleRows(db, { keys, includeArchived: true })).map((row) => [row.key, lifecycleOf(row, at)]));
    },

    async ofFlag(key: string): Promise<FlagLifecycle> {
      const lifecycle = (await this.ofFlags([key])).get(key);
      if (!lifecycle) throw new NotFoundError(`Flag '${key}' does not exist`);
      return lifecycle;
    },

    /** Launched and stale flags, stale first, then by key. */
    async readyToRemove(): Promise<RemovalCandidate[]> {
      return (await candidates()).sort((a, b) => (a.lifecycle.stage === b.lifecycle.stage ? a.key.localeCompare(b.key) : a.lifecycle.stage === 'stale' ? -1 : 1));
    },

    /**
     * The week's digest: one message per owner with a linked Slack account (a DM), and one to
     * `channel` listing the flags of every other owner (creators that are not users, users without a
     * link). Without a channel those flags are left out (and counted in `unrouted`).
     */
    async digest(channel: string | undefined): Promise<{ messages: DigestMessage[]; unrouted: number }> {
      const flags = await this.readyToRemove();
      const owners = await ownersByUserId(db, [...new Set(flags.map((f) => f.owner))]);
      const messages = new Map<string, DigestMessage>();
      let unrouted = 0;
      for (const flag of flags) {
        const owner = owners.get(flag.owner);
        const recipient = owner?.slackUserId ?? channel;
        if (!recipient) {
          unrouted++;
          continue;
        }
        const ownerName = owner?.name ?? flag.owner;
        let message = messages.get(recipient);
        if (!message) messages.set(recipient, (message = { recipient, kind: owner?.slackUserId ? 'owner' : 'channel', owners: [], flags: [], more: 0 }));
        if (!message.owners.includes(ownerName)) message.owners.push(ownerName);
        if (message.flags.length >= DIGEST_MAX_FLAGS) {
          message.more++;
          continue;
        }
        message.flags.push({
          key: flag.key, owner: ownerName, stage: flag.lifecycle.stage, reason: flag.lifecycle.reason, referenced_files: flag.referenced_files,
          last_evaluated: Object.fromEntries(Object.entries(flag.lifecycle.environments).map(([env, e]) => [env, e.last_evaluated])),
        });
      }
      return { messages: [...messages.values()], unrouted };
    },

    /** Whether that week's digest went out to this recipient already. */
    digestPosted(week: string, recipient: string): Promise<boolean> {
      return digestAlreadyPosted(deps.db, week, recipient);
    },

    /** Records a week's digest to a recipient as sent (once; a second record changes nothing). */
    recordDigestPosted(week: string, recipient: string, flags: number): Promise<void> {
      return recordDigestPosted(deps.db, week, recipient, flags);
    },
  };
}

export type LifecycleService = ReturnType<typeof createLifecycleService>;
