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
