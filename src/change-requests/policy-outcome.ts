import type { ChangeRequestCreated } from './change-request-schemas.js';
import type { GateOutcome } from './change-request-service.js';

/**
 * What a write command did under the environment's change policy: applied (with what the write
 * returned), or turned into a change request that waits for approvals (an HTTP 202).
 */
export type PolicyOutcome<T> = { kind: 'applied'; value: T } | { kind: 'requested'; created: ChangeRequestCreated };

/**
 * Runs the write a gate let through: not at all when the gate made a request; with the bypass's
 * audit marks (the write's one audit event records them) when the caller bypassed the policy.
 */
export async function writeUnlessRequested<T>(gate: GateOutcome, write: (auditMetadata: Record<string, unknown> | undefined) => Promise<T>): Promise<PolicyOutcome<T>> {
  if (gate.kind === 'request') return { kind: 'requested', created: gate.created };
  return { kind: 'applied', value: await write(gate.kind === 'bypass' ? gate.auditMetadata : undefined) };
}
