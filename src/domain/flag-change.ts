import type { FlagDefinition } from './flag.js';

/** What a change did to a flag, as pub/sub, SSE clients, webhooks and the kill-switch steps name it. */
export type ChangeKind = 'flag.updated' | 'flag.killed' | 'flag.restored' | 'flag.archived';

/** The kind of change from one definition of a flag to the next. */
export function changeKindOf(previous: FlagDefinition | undefined, next: FlagDefinition): ChangeKind {
  if (next.archived) return 'flag.archived';
  const wasKilled = previous?.config.kill_switch.enabled === true;
  const isKilled = next.config.kill_switch.enabled === true;
  if (isKilled && !wasKilled) return 'flag.killed';
  if (wasKilled && !isKilled) return 'flag.restored';
  return 'flag.updated';
}

/**
 * The version of `previous` when `next` differs from it only in what a stream event states (`enabled`
 * and the kill switch's `enabled`; a kill's reason and author change nothing evaluated), so that a
 * client holding `previous` can apply the event as the whole change; otherwise undefined. A change of
 * nothing at all (a flag re-versioned because a segment it names changed) is not one: its news is
 * elsewhere.
 */
export function stateChangeBase(previous: FlagDefinition | undefined, next: FlagDefinition): number | undefined {
  if (!previous || previous.archived || next.archived || previous.type !== next.type || previous.key !== next.key) return undefined;
  const before = previous.config;
  const after = next.config;
  if (before.enabled === after.enabled && before.kill_switch.enabled === after.kill_switch.enabled) return undefined;
  return sortedJson({ ...before, enabled: null, kill_switch: null }) === sortedJson({ ...after, enabled: null, kill_switch: null }) ? previous.version : undefined;
}

/** JSON with object keys sorted (absent and undefined alike), so equal values give equal strings whatever their key order. */
export function sortedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    return `{${Object.keys(record).filter((k) => record[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${sortedJson(record[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
