import { describe, expect, it } from 'vitest';
import { decide, grantCovers, grantSchema, isAllowed, ROLES, type AccessRequest, type Action, type Grant, type Resource, type Role, type Subject } from '../../src/auth/rbac.js';

const RESOURCES: Resource[] = ['flag', 'environment', 'audit', 'segment', 'user'];
const ACTIONS: Action[] = ['read', 'write', 'delete', 'kill_switch'];
const ENVIRONMENTS = [undefined, 'development', 'staging', 'production'];

// The expected table, written out by hand (not derived from the implementation).
const EXPECTED: Record<Role, string[]> = {
  viewer: ['flag:read', 'environment:read', 'audit:read', 'segment:read'],
  editor: ['flag:read', 'flag:write', 'flag:delete', 'environment:read', 'environment:write', 'audit:read', 'segment:read', 'segment:write', 'segment:delete'],
  emergency_responder: ['flag:read', 'flag:kill_switch', 'environment:read', 'audit:read', 'segment:read'],
  admin: RESOURCES.flatMap((r) => ACTIONS.map((a) => `${r}:${a}`)),
};

const user = (role: Role, grants: Grant[] = []): Subject => ({ kind: 'user', role, grants });
const grant = (input: unknown): Grant => grantSchema.parse(input);

describe('roles', () => {
  for (const role of ROLES) {
    for (const resource of RESOURCES) {
      for (const action of ACTIONS) {
        const expected = EXPECTED[role].includes(`${resource}:${action}`);
        it(`${role} ${expected ? 'may' : 'may not'} ${action} ${resource} in every environment`, () => {
          for (const environment of ENVIRONMENTS) {
            for (const tags of [undefined, [], ['payments']]) {
              expect(isAllowed(user(role), { resource, action, environment, tags })).toBe(expected);
            }
          }
        });
      }
    }
  }

  it('explains a denial with the role and what was asked', () => {
    const decision = decide(user('viewer'), { resource: 'flag', action: 'write', environment: 'production' });
    expect(decision).toEqual({ allowed: false, reason: "role 'viewer' and its grants do not allow write on flag in 'production'" });
  });
});

describe('grants', () => {
  const stagingWriter = user('viewer', [grant({ resource: 'flag', action: 'write', conditions: { environments: ['staging'] } })]);

  it('lets an editor-on-staging write staging and nothing else', () => {
    for (const environment of ENVIRONMENTS) {
      expect(isAllowed(stagingWriter, { resource: 'flag', action: 'write', environment })).toBe(environment === 'staging');
    }
  });

  it('does not extend an environment grant to requests that span environments (create, archive, segments)', () => {
    expect(isAllowed(stagingWriter, { resource: 'flag', action: 'write' })).toBe(false);
    expect(isAllowed(stagingWriter, { resource: 'segment', action: 'write' })).toBe(false);
  });

  it('does not turn write into delete or kill_switch', () => {
    expect(isAllowed(stagingWriter, { resource: 'flag', action: 'delete', environment: 'staging' })).toBe(false);
    expect(isAllowed(stagingWriter, { resource: 'flag', action: 'kill_switch', environment: 'staging' })).toBe(false);
  });

  it('implies read of what it covers', () => {
    const g = grant({ resource: 'flag', action: 'kill_switch', conditions: { environments: ['production'] } });
    expect(grantCovers(g, { resource: 'flag', action: 'read', environment: 'production' })).toBe(true);
    expect(grantCovers(g, { resource: 'flag', action: 'read', environment: 'staging' })).toBe(false);
  });

  it('gives a kill_switch grant the kill switch where its conditions hold', () => {
    const responder = user('viewer', [grant({ resource: 'flag', action: 'kill_switch', conditions: { environments: ['production'], flag_tags: ['payments'] } })]);
    const kill = (environment: string, tags: string[] | undefined): AccessRequest => ({ resource: 'flag', action: 'kill_switch', environment, tags });
    expect(isAllowed(responder, kill('production', ['payments']))).toBe(true);
    expect(isAllowed(responder, kill('production', ['search', 'payments']))).toBe(true);
    expect(isAllowed(responder, kill('production', ['search']))).toBe(false);
    expect(isAllowed(responder, kill('production', []))).toBe(false);
    expect(isAllowed(responder, kill('production', undefined))).toBe(false);
    expect(isAllowed(responder, kill('staging', ['payments']))).toBe(false);
  });

  it('matches a tag condition in any environment when no environment condition is given', () => {
    const tagged = user('viewer', [grant({ resource: 'flag', action: 'write', conditions: { flag_tags: ['search'] } })]);
    for (const environment of ENVIRONMENTS) {
      expect(isAllowed(tagged, { resource: 'flag', action: 'write', environment, tags: ['search'] })).toBe(true);
      expect(isAllowed(tagged, { resource: 'flag', action: 'write', environment, tags: ['payments'] })).toBe(false);
    }
    // Segments carry no tags: a tag-scoped grant never covers them.
    expect(isAllowed(tagged, { resource: 'segment', action: 'write' })).toBe(false);
  });

  it('lets an unconditioned flag grant cover segments, and never the user resource', () => {
    const writer = user('viewer', [grant({ resource: 'flag', action: 'write' })]);
    expect(isAllowed(writer, { resource: 'segment', action: 'write' })).toBe(true);
    expect(isAllowed(writer, { resource: 'segment', action: 'delete' })).toBe(false);
    const everything = user('viewer', ACTIONS.map((action) => grant({ resource: 'flag', action })));
    for (const action of ACTIONS) expect(isAllowed(everything, { resource: 'user', action })).toBe(false);
  });

  it('grants environment rights per environment', () => {
    const tokenMaker = user('viewer', [grant({ resource: 'environment', action: 'write', conditions: { environments: ['development'] } })]);
    expect(isAllowed(tokenMaker, { resource: 'environment', action: 'write', environment: 'development' })).toBe(true);
    expect(isAllowed(tokenMaker, { resource: 'environment', action: 'write', environment: 'production' })).toBe(false);
    expect(isAllowed(tokenMaker, { resource: 'flag', action: 'write', environment: 'development' })).toBe(false);
  });

  it('adds up: any one grant that covers the request allows it', () => {
    const both = user('viewer', [
      grant({ resource: 'flag', action: 'write', conditions: { environments: ['staging'] } }),
      grant({ resource: 'flag', action: 'write', conditions: { environments: ['production'], flag_tags: ['search'] } }),
    ]);
    expect(isAllowed(both, { resource: 'flag', action: 'write', environment: 'staging', tags: [] })).toBe(true);
    expect(isAllowed(both, { resource: 'flag', action: 'write', environment: 'production', tags: ['search'] })).toBe(true);
    expect(isAllowed(both, { resource: 'flag', action: 'write', environment: 'production', tags: ['payments'] })).toBe(false);
  });

  it('refuses grants that make no sense, naming the field', () => {
    const cases: Array<[unknown, string]> = [
      [{ resource: 'audit', action: 'write' }, 'action'],
      [{ resource: 'environment', action: 'kill_switch' }, 'action'],
      [{ resource: 'environment', action: 'write', conditions: { flag_tags: ['x'] } }, 'conditions.flag_tags'],
      [{ resource: 'flag', action: 'write', conditions: { environments: [] } }, 'conditions.environments'],
      [{ resource: 'flag', action: 'write', conditions: { environments: ['Prod!'] } }, 'conditions.environments.0'],
      [{ resource: 'users', action: 'read' }, 'resource'],
      [{ resource: 'flag', action: 'read', extra: true }, ''],
    ];
    for (const [input, path] of cases) {
      const parsed = grantSchema.safeParse(input);
      expect(parsed.success, JSON.stringify(input)).toBe(false);
      expect(parsed.error!.issues.map((i) => i.path.join('.'))).toContain(path);
    }
  });
});

describe('API tokens', () => {
  it('lets a client token do nothing but evaluate', () => {
    for (const resource of RESOURCES) {
      for (const action of ACTIONS) {
        for (const environment of ENVIRONMENTS) {
          expect(isAllowed({ kind: 'client', environment: 'staging' }, { resource, action, environment })).toBe(false);
        }
      }
    }
  });

  it('lets a server token read flag definitions and segments of its own environment only', () => {
    const server: Subject = { kind: 'server', environment: 'staging' };
    for (const resource of RESOURCES) {
      for (const action of ACTIONS) {
        for (const environment of ENVIRONMENTS) {
          const expected = action === 'read' && (resource === 'flag' || resource === 'segment') && (environment === undefined || environment === 'staging');
          expect(isAllowed(server, { resource, action, environment }), `${resource}:${action}@${environment}`).toBe(expected);
        }
      }
    }
  });
});
