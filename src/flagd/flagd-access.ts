import type { Principal } from '../auth/principal.js';
import { decide, type Subject } from '../auth/rbac.js';
import { DEFAULT_ENVIRONMENT } from '../serving/evaluation-endpoints.js';

const ENVIRONMENT_KEY = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/**
 * The environment a flagd selector names: `production` or `environment=production`; empty means
 * none. Returns an error message for anything else.
 */
export function environmentOfSelector(selector: string | undefined): { environment?: string } | { error: string } {
  const raw = selector?.trim() ?? '';
  if (raw === '') return {};
  const key = raw.startsWith('environment=') ? raw.slice('environment='.length) : raw;
  return ENVIRONMENT_KEY.test(key) ? { environment: key } : { error: `selector '${raw.slice(0, 80)}' is not an environment key (production, or environment=production)` };
}

/**
 * Which environment a caller may sync: a server token its own (a selector naming another is refused),
 * a user with flag:read the one asked for (default production); client tokens never (a flag document
 * carries every rule and segment member, which browsers must not see).
 */
export function flagdEnvironmentFor(principal: Principal, asked: string | undefined): { environment: string } | { denied: string } {
  if (principal.kind === 'client') return { denied: 'a client token cannot read flag definitions; use a server token' };
  if (principal.kind !== 'user') {
    if (asked !== undefined && asked !== principal.environment) return { denied: `this server token reads environment '${principal.environment}', not '${asked}'` };
    return { environment: principal.environment };
  }
  const environment = asked ?? DEFAULT_ENVIRONMENT;
  const subject: Subject = { kind: 'user', role: principal.actor.role, grants: principal.grants };
  const decision = decide(subject, { resource: 'flag', action: 'read', environment });
  return decision.allowed ? { environment } : { denied: decision.reason };
}
