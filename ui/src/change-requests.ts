import { useEffect, useRef, useState } from 'react';
import type { AccessRequest, Decision } from '../../src/auth/rbac.ts';
import type { ChangePolicy, ChangeRequest, ChangeRequestCreated } from '../../src/change-requests/change-request-schemas.ts';
import { enc, type Api } from './api.ts';
import type { Me } from './session.tsx';

/** What the admin UI shares about change requests: policies, who may decide, and "something changed". */

export const policyPath = (env: string) => `/api/v1/environments/${enc(env)}/change-policy`;
export const requestPath = (id: string) => `/change-requests/${enc(id)}`;

/** A covered write's 202 answer (a change request) rather than the write's own answer. */
export function isChangeRequestCreated(answer: unknown): answer is ChangeRequestCreated {
  return typeof answer === 'object' && answer !== null && 'change_request' in answer && 'message' in answer;
}

/** Whether the environment's policy turns this kind of write into a request. */
export function covers(policy: ChangePolicy | null | undefined, write: string): boolean {
  return Boolean(policy && policy.required_approvals > 0 && (policy.covers as readonly string[]).includes(write));
}

/** Whether releasing a kill switch in this environment becomes a request. */
export function gatesRestore(policy: ChangePolicy | null | undefined): boolean {
  return Boolean(policy && policy.required_approvals > 0 && policy.restore_requires_approval);
}

/** "1 approval" / "2 approvals". */
export const approvals = (n: number) => `${n} approval${n === 1 ? '' : 's'}`;

/**
 * Whether `me` may approve or reject the request, by the rule the API applies (approvers: the
 * policy's listed users, else its role and admins, else whoever may write the flag there; never the
 * author; a segment request: every covering policy of its environments must allow them). `tags` are
 * the flag's (the request does not carry them): without them a grant limited to tags is not counted.
 * The API decides; its refusal is shown.
 */
export function mayDecide(
  request: ChangeRequest, policyOf: (env: string) => ChangePolicy | undefined, me: Me, can: (r: AccessRequest) => Decision, tags?: readonly string[],
): boolean {
  if (request.status !== 'pending' || request.author.id === me.id) return false;
  const allows = (policy: ChangePolicy) => {
    if (policy.approver_user_ids.length > 0) return policy.approver_user_ids.includes(me.id);
    if (policy.approver_role) return me.role === policy.approver_role || me.role === 'admin';
    return can({ resource: 'flag', action: 'write', environment: policy.environment, tags }).allowed;
  };
  if (request.kind === 'segment') {
    const policies = request.environments.map(policyOf);
    return policies.every((p) => p !== undefined && (p.required_approvals === 0 || !covers(p, 'segments') || allows(p)));
  }
  const policy = policyOf(request.environment);
  return policy !== undefined && allows(policy);
}

/** Every environment a request's approvers are checked against (a segment request's covering environments). */
export const environmentsOf = (request: ChangeRequest): string[] => (request.kind === 'segment' ? request.environments : [request.environment]);

/** What a request is about: its flag, or (for kinds without one) its segment, named generically. */
export function subjectOf(request: ChangeRequest): { label: string; flag: string | null } {
  if (request.flag) return { label: request.flag, flag: request.flag };
  if (request.segment) return { label: request.segment, flag: null };
  return { label: '–', flag: null };
}

/** How long ago, in words: "45 s", "12 min", "3 h", "2 d". */
export function age(iso: string, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86_400)} d`;
}

const CHANGED = 'ripcord:change-requests';

/** Tells every change-request view in the tab (nav count, lists, flag banners) to load again. */
export function announceChangeRequests(): void {
  window.dispatchEvent(new Event(CHANGED));
}

/** Calls `listener` whenever a view of this tab made, decided or withdrew a request. */
export function useChangeRequestsChanged(listener: () => void): void {
  const saved = useRef(listener);
  saved.current = listener;
  useEffect(() => {
    const call = () => saved.current();
    window.addEventListener(CHANGED, call);
    return () => window.removeEventListener(CHANGED, call);
  }, []);
}

/** An environment's policy (null while loading or when it can't be read: the write then answers for itself). */
export function usePolicy(api: Api, env: string): ChangePolicy | null {
  const [policy, setPolicy] = useState<ChangePolicy | null>(null);
  useEffect(() => {
    const controller = new AbortController();
    setPolicy(null);
    api.get<ChangePolicy>(policyPath(env), controller.signal).then(setPolicy, () => undefined);
    return () => controller.abort();
  }, [api, env]);
  return policy;
}
