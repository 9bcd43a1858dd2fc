/**
 * SDK instances (Node SDK processes, browser clients, OFREP event-stream providers, flagd sync streams)
 * and what they hold, as API replicas aggregate them. Pure, so that workflows can word it too.
 *
 * Each replica keeps its own instances in memory and publishes one aggregate per environment: how many
 * instances hold each version and which are furthest behind. A change's SDK confirmation is read
 * from those aggregates, so the shared store holds one small record per replica, never one per instance.
 */

/** What kind of client an instance is; flagd sync streams are `delivered` (written to), never confirmed. */
export const INSTANCE_KINDS = ['node-local', 'node-remote', 'browser', 'ofrep-stream', 'flagd-sync'] as const;
export type InstanceKind = (typeof INSTANCE_KINDS)[number];

/** Kinds whose reported version counts in a change's confirmation: they say what they apply. */
export const CONFIRMING_KINDS: ReadonlySet<InstanceKind> = new Set(['node-local', 'browser', 'ofrep-stream']);
/** Kinds counted as delivered when the change is written to them: flagd's sync protocol has no acknowledgement. */
export const DELIVERED_KINDS: ReadonlySet<InstanceKind> = new Set(['flagd-sync']);

/** An instance behind, as aggregates and confirmations name it (no user data: ids are random, hosts are the app's). */
export interface InstanceLaggard {
  id: string;
  kind: InstanceKind;
  app: string | null;
  host: string | null;
  /** The version it holds (or, for flagd, the one last written to it). */
  version: number;
}

/** `[version, instances holding it, latest ms-since-epoch an instance reached it]`, ascending by version. */
export type VersionCount = [version: number, count: number, at: number];

/** One replica's instances of one environment. Remote-mode SDKs are not counted: they hold no copy. */
export interface InstanceAggregate {
  /** Instances that report what they apply, by version held. */
  held: VersionCount[];
  /** flagd sync streams, by version last written to them. */
  delivered: VersionCount[];
  /** The counted instances furthest behind the replica, lowest version first (at most MAX_NAMED_BEHIND). */
  behind: InstanceLaggard[];
}

/** How many laggards an aggregate and a confirmation name; the rest are counted. */
export const MAX_NAMED_BEHIND = 20;

/** A change's SDK confirmation (snake_case: it is part of the API's kill-switch confirmation). */
export interface SdkInstancesConfirmation {
  /** Instances that reported holding the change (or a later version). */
  confirmed: number;
  /** flagd sync streams the change was written to: delivered, with no acknowledgement in flagd's protocol. */
  delivered: number;
  total: number;
  /** Instances behind, lowest version first, at most MAX_NAMED_BEHIND (`total - confirmed - delivered` are behind in all). */
  laggards: InstanceLaggard[];
  /** From the change to the last instance counted (null when none has). */
  elapsed_ms: number | null;
}

export interface InstanceChangeRef {
  /** The environment version the change produced: holding it or a later one counts. */
  version: number;
  /** When the change was made (ms since epoch). */
  sinceMs: number;
}

/** The SDK confirmation of a change from every replica's aggregate of its environment. */
export function summarizeInstances(aggregates: Iterable<InstanceAggregate>, change: InstanceChangeRef): SdkInstancesConfirmation {
  let confirmed = 0;
  let delivered = 0;
  let total = 0;
  let lastAt: number | null = null;
  const laggards: InstanceLaggard[] = [];
  for (const aggregate of aggregates) {
    for (const [list, isDelivered] of [[aggregate.held, false], [aggregate.delivered, true]] as const) {
      for (const [version, count, at] of list) {
        total += count;
        if (version < change.version) continue;
        if (isDelivered) delivered += count;
        else confirmed += count;
        if (count > 0 && (lastAt === null || at > lastAt)) lastAt = at;
      }
    }
    for (const laggard of aggregate.behind) if (laggard.version < change.version) laggards.push(laggard);
  }
  laggards.sort((a, b) => a.version - b.version || a.id.localeCompare(b.id));
  return {
    confirmed, delivered, total,
    laggards: laggards.slice(0, MAX_NAMED_BEHIND),
    elapsed_ms: lastAt === null ? null : Math.max(0, lastAt - change.sinceMs),
  };
}

/** Whether every counted instance holds the change (confirmed or, for flagd, delivered). */
export function instancesConverged(c: SdkInstancesConfirmation): boolean {
  return c.confirmed + c.delivered >= c.total;
}

/** How people read one laggard: its app and host when it said them, else its kind and id. */
export function describeLaggard(l: InstanceLaggard): string {
  const who = l.app ? `${l.app}${l.host ? `@${l.host}` : ''}` : `${l.kind} ${l.id.slice(0, 8)}`;
  return `${who} (v${l.version})`;
}

/** "412/412 SDK instances", "2/2 flagd streams delivered", or who is behind. */
export function describeInstances(c: SdkInstancesConfirmation): string {
  let text = `${c.confirmed + c.delivered}/${c.total} SDK instances`;
  if (c.delivered > 0) text += ` (${c.delivered} flagd sync stream${c.delivered === 1 ? '' : 's'} delivered, not confirmed: flagd does not acknowledge)`;
  if (instancesConverged(c)) return text;
  const behind = c.total - c.confirmed - c.delivered;
  const named = c.laggards.map(describeLaggard).join(', ');
  return `${text}; ${behind} behind: ${named}${behind > c.laggards.length ? ` and ${behind - c.laggards.length} more` : ''}`;
}
