/**
 * Confirmation of a change by the API replicas: who has acknowledged serving it, and (after the
 * replicas) how many SDK instances hold it. Pure, so that workflows can word it too.
 */
import { describeInstances, instancesConverged, type SdkInstancesConfirmation } from './sdk-instances.js';

/** Whether every live API replica acknowledged serving a change, and how long that took. */
export interface Confirmation {
  /** Every live replica has acknowledged the change. */
  converged: boolean;
  confirmedReplicas: number;
  totalReplicas: number;
  /** From the change to the last acknowledgement counted (null when none has come). */
  elapsedMs: number | null;
  /** Live replicas that have not acknowledged it (yet). */
  laggards: string[];
  /** The same as totalReplicas (the name older workflow results used). */
  replicas: number;
  /** The SDK instances holding the change (kills recorded before instances were counted have none). */
  sdk_instances?: SdkInstancesConfirmation;
}

export interface ChangeRef {
  environment: string;
  flag: string;
  /** The version the change produced: an acknowledgement of it or a later one counts. */
  version: number;
  /** When the change was made (ms since epoch). */
  sinceMs: number;
}

/** What each replica has acknowledged: replica → highest version and when. */
export type Acks = Map<string, { version: number; at: number }>;

/** The confirmation as of now: live replicas (heartbeats) against their acknowledgements. */
export function summarize(live: readonly string[], acks: Acks, change: ChangeRef): Confirmation {
  const laggards: string[] = [];
  let lastAt: number | null = null;
  for (const replica of live) {
    const ack = acks.get(replica);
    if (!ack || ack.version < change.version) {
      laggards.push(replica);
      continue;
    }
    if (lastAt === null || ack.at > lastAt) lastAt = ack.at;
  }
  const confirmedReplicas = live.length - laggards.length;
  return {
    converged: laggards.length === 0,
    confirmedReplicas,
    totalReplicas: live.length,
    elapsedMs: lastAt === null ? null : Math.max(0, lastAt - change.sinceMs),
    laggards: laggards.sort(),
    replicas: live.length,
  };
}

/**
 * One line for people: "confirmed on 3/3 replicas and 412/412 SDK instances in 84 ms", or who is
 * behind. The time is to the last replica or instance counted; instances appear once any report.
 */
export function describeConfirmation(c: Confirmation): string {
  const sdk = c.sdk_instances && c.sdk_instances.total > 0 ? c.sdk_instances : undefined;
  if (c.converged && (!sdk || instancesConverged(sdk))) {
    const elapsed = [c.elapsedMs, sdk?.elapsed_ms ?? null].filter((ms): ms is number => ms !== null);
    const time = elapsed.length > 0 ? ` in ${Math.max(...elapsed)} ms` : '';
    return `confirmed on ${c.confirmedReplicas}/${c.totalReplicas} replicas${sdk ? ` and ${describeInstances(sdk)}` : ''}${time}`;
  }
  const replicas = c.converged
    ? `confirmed on ${c.confirmedReplicas}/${c.totalReplicas} replicas${c.elapsedMs === null ? '' : ` in ${c.elapsedMs} ms`}`
    : `confirmed on ${c.confirmedReplicas}/${c.totalReplicas} replicas; not acknowledged by ${c.laggards.join(', ')}`;
  return sdk ? `${replicas}; ${describeInstances(sdk)}` : replicas;
}
