import { createContext, useContext } from 'react';
import { decide, type AccessRequest, type Decision, type Grant, type Role } from '../../src/auth/rbac.ts';
import type { Api } from './api.ts';

export interface Me {
  id: string;
  email: string;
  name: string;
  role: Role;
  grants: Grant[];
}

export interface Session {
  api: Api;
  me: Me;
  environments: string[];
  /** The same decision the API makes (src/auth/rbac.ts), so the UI disables what would be refused, with the reason. */
  can(request: AccessRequest): Decision;
  signOut(): void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in page');
  return session;
}

export const TOKEN_KEY = 'ripcord.token';

export function makeCan(me: Me): (request: AccessRequest) => Decision {
  const subject = { kind: 'user' as const, role: me.role, grants: me.grants };
  return (request) => decide(subject, request);
}
