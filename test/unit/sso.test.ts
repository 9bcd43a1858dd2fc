import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { ROLES, type Grant } from '../../src/auth/rbac.js';
import { ssoCookies } from '../../src/sso/cookies.js';
import { decodeLoginState, encodeLoginState, LOGIN_STATE_MAX_AGE_SECONDS, safeReturnPath } from '../../src/sso/login-state.js';
import { emailDomainAllowed, emailVerified, mapGroups } from '../../src/sso/role-mapping.js';
import type { GroupRule } from '../../src/sso/schemas.js';
import { csrfTokenFor, csrfTokenMatches, newSessionSecret, openWithSession, sealWithSession, SESSION_SECRET_PATTERN } from '../../src/sso/session-secret.js';
import { sessionSettings, ssoSettings } from '../../src/sso/settings.js';

const killPayments: Grant = { resource: 'flag', action: 'kill_switch', conditions: { environments: ['production'], flag_tags: ['payments'] } };
const writeStaging: Grant = { resource: 'flag', action: 'write', conditions: { environments: ['staging'] } };
const RULES: GroupRule[] = [
  { group: 'admins', role: 'admin' },
  { group: 'oncall', role: 'emergency_responder' },
  { group: 'devs', role: 'editor', grants: [writeStaging] },
  { group: 'payments', grants: [killPayments] },
];

describe('mapGroups', () => {
  it('gives the role of the first matching rule with a role, in configured order, and the grants of every matching rule', () => {
    expect(mapGroups(['oncall', 'admins'], RULES, 'viewer')).toEqual({ role: 'admin', grants: [], matched: ['admins', 'oncall'] });
    expect(mapGroups(['payments', 'oncall'], RULES, 'viewer')).toEqual({ role: 'emergency_responder', grants: [killPayments], matched: ['oncall', 'payments'] });
    expect(mapGroups(['devs', 'payments'], RULES, 'viewer')).toEqual({ role: 'editor', grants: [writeStaging, killPayments], matched: ['devs', 'payments'] });
  });

  it('gives the default role to someone in no group with a role (grants still apply), and refuses them when the default is none', () => {
    expect(mapGroups(['payments'], RULES, 'viewer')).toEqual({ role: 'viewer', grants: [killPayments], matched: ['payments'] });
    expect(mapGroups([], RULES, 'viewer')).toEqual({ role: 'viewer', grants: [], matched: [] });
    expect(mapGroups(['payments', 'elsewhere'], RULES, 'none')).toBeNull();
    expect(mapGroups([], [], 'none')).toBeNull();
  });

  it('matches group names exactly (no case folding, no prefixes)', () => {
    expect(mapGroups(['Admins', 'admins-old', ' admins'], RULES, 'none')).toBeNull();
  });

  it('for any groups: the role is the first matching role rule or the default; grants are exactly the matching rules\' (once each)', () => {
    const rule = fc.record({
      group: fc.constantFrom('a', 'b', 'c', 'd'),
      role: fc.option(fc.constantFrom(...ROLES), { nil: undefined }),
      grants: fc.option(fc.subarray([killPayments, writeStaging]), { nil: undefined }),
    });
    fc.assert(fc.property(fc.array(rule, { maxLength: 8 }), fc.subarray(['a', 'b', 'c', 'd', 'e']), fc.constantFrom(...ROLES, 'none' as const), (rules, groups, fallback) => {
      const result = mapGroups(groups, rules, fallback);
      const matching = rules.filter((r) => groups.includes(r.group));
      const expectedRole = matching.find((r) => r.role)?.role ?? (fallback === 'none' ? undefined : fallback);
      if (expectedRole === undefined) return result === null;
      const expectedGrants = [killPayments, writeStaging].filter((g) => matching.some((r) => r.grants?.includes(g)));
      return result !== null && result.role === expectedRole
        && result.grants.length === expectedGrants.length && expectedGrants.every((g) => result.grants.includes(g))
        && result.matched.every((g) => groups.includes(g));
    }));
  });
});

describe('email rules', () => {
  it('allows listed domains only (case-insensitively; subdomains are not included), or any when none are listed', () => {
    expect(emailDomainAllowed('a@example.com', [])).toBe(true);
    expect(emailDomainAllowed('a@Example.COM', ['example.com'])).toBe(true);
    expect(emailDomainAllowed('a@eu.example.com', ['example.com'])).toBe(false);
    expect(emailDomainAllowed('a@example.com.evil.test', ['example.com'])).toBe(false);
    expect(emailDomainAllowed('"x@example.com"@evil.test', ['example.com'])).toBe(false);
    expect(emailDomainAllowed('no-at-sign', ['example.com'])).toBe(false);
  });

  it('reads email_verified as true, false or unknown', () => {
    expect([true, 'true', false, 'false', undefined, 1, 'yes'].map(emailVerified)).toEqual([true, true, false, false, undefined, undefined, undefined]);
  });
});

describe('login state', () => {
  const checks = { state: 'st', nonce: 'no', codeVerifier: 'v'.repeat(43) };

  it('round-trips, and refuses a state that is too old, from the future, tampered or oversized', () => {
    const now = Date.now();
    const encoded = encodeLoginState({ ...checks, returnTo: '/flags/x', startedAt: now });
    expect(decodeLoginState(encoded, now + 1000)).toEqual({ ...checks, returnTo: '/flags/x', startedAt: now });
    expect(decodeLoginState(encoded, now + LOGIN_STATE_MAX_AGE_SECONDS * 1000 + 1)).toBeNull();
    expect(decodeLoginState(encoded, now - 1)).toBeNull();
    expect(decodeLoginState(`${encoded}x`)).toBeNull();
    expect(decodeLoginState('x'.repeat(5000))).toBeNull();
    expect(decodeLoginState(undefined)).toBeNull();
    expect(decodeLoginState(Buffer.from(JSON.stringify({ ...checks, codeVerifier: 'short', returnTo: '/', startedAt: now })).toString('base64url'), now)).toBeNull();
  });

  it('returns only to a path of this origin', () => {
    for (const path of ['/', '/flags/a/production', '/audit?x=1#y']) expect(safeReturnPath(path)).toBe(path);
    for (const bad of ['//evil.test', '/\\evil.test', 'https://evil.test/', 'javascript:alert(1)', '', '/a b', '/\u00e9', 42, undefined]) {
      expect(safeReturnPath(bad), String(bad)).toBe('/');
    }
    fc.assert(fc.property(fc.string(), (value) => {
      const path = safeReturnPath(value);
      return path.startsWith('/') && !path.startsWith('//') && new URL(path, 'https://ripcord.test').origin === 'https://ripcord.test';
    }));
    // Whatever the decoded cookie says, the return path is made safe again.
    const evil = encodeLoginState({ ...checks, returnTo: '//evil.test', startedAt: Date.now() });
    expect(decodeLoginState(evil)?.returnTo).toBe('/');
  });
});

describe('session secrets', () => {
  it('are 256 random bits in base64url, and the CSRF token is bound to one secret', () => {
    const [a, b] = [newSessionSecret(), newSessionSecret()];
    expect(a).toMatch(SESSION_SECRET_PATTERN);
    expect(a).not.toBe(b);
    expect(csrfTokenMatches(a, csrfTokenFor(a))).toBe(true);
    expect(csrfTokenMatches(a, csrfTokenFor(b))).toBe(false);
    expect(csrfTokenMatches(a, undefined)).toBe(false);
    expect(csrfTokenMatches(a, '')).toBe(false);
    expect(csrfTokenMatches(a, `${csrfTokenFor(a)}x`)).toBe(false);
  });

  it('seal the ID token so that only the same secret opens it', () => {
    const secret = newSessionSecret();
    const sealed = sealWithSession(secret, 'eyJ.id.token');
    expect(sealed).not.toContain('eyJ');
    expect(openWithSession(secret, sealed)).toBe('eyJ.id.token');
    expect(openWithSession(newSessionSecret(), sealed)).toBeNull();
    expect(openWithSession(secret, `${sealed.slice(0, -2)}AA`)).toBeNull();
  });
});

describe('cookies', () => {
  it('are httpOnly and SameSite=Lax; Secure with the __Host- prefix over https only', () => {
    const plain = ssoCookies({ secureCookies: false });
    expect(plain.session('s3cret', 60)).toBe('ripcord_session=s3cret; Max-Age=60; Path=/; HttpOnly; SameSite=Lax');
    const secure = ssoCookies({ secureCookies: true });
    expect(secure.session('s3cret', 60)).toBe('__Host-ripcord_session=s3cret; Max-Age=60; Path=/; HttpOnly; Secure; SameSite=Lax');
    expect(secure.login('v')).toMatch(/^__Host-ripcord_sso_login=v; Max-Age=600; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    expect(secure.clearSession()).toMatch(/^__Host-ripcord_session=; Max-Age=0;/);
    expect(plain.read('a=1; ripcord_session=xyz', plain.sessionName)).toBe('xyz');
    expect(secure.read('ripcord_session=xyz', secure.sessionName)).toBeUndefined();
    expect(plain.read(undefined, plain.sessionName)).toBeUndefined();
  });
});

describe('single sign-on configuration', () => {
  const base = {
    OIDC_ISSUER: 'https://idp.example.com/oauth2/default', OIDC_CLIENT_ID: 'ripcord', OIDC_CLIENT_SECRET: 's', RIPCORD_PUBLIC_URL: 'https://ripcord.example.com',
  };
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig(env);
      return '';
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as Error).message;
    }
  };

  it('is off without OIDC_ISSUER, and derives the redirect URI and cookie security from RIPCORD_PUBLIC_URL', () => {
    expect(ssoSettings(loadConfig({}))).toBeUndefined();
    const config = loadConfig({
      ...base, OIDC_ROLE_MAPPING: '[{"group":"a","role":"admin"},{"group":"b","grants":[{"resource":"audit","action":"read"}]}]', OIDC_ALLOWED_EMAIL_DOMAINS: 'Example.com, @corp.example',
    });
    expect(ssoSettings(config)).toMatchObject({
      client: { issuer: base.OIDC_ISSUER, redirectUri: 'https://ripcord.example.com/api/v1/sso/callback', postLogoutRedirectUri: 'https://ripcord.example.com/', scopes: 'openid email profile' },
      groupsClaim: 'groups', defaultRole: 'viewer', allowedEmailDomains: ['example.com', 'corp.example'],
      rules: [{ group: 'a', role: 'admin' }, { group: 'b', grants: [{ resource: 'audit', action: 'read', conditions: {} }] }],
    });
    expect(sessionSettings(config)).toEqual({ idleSeconds: 3600, absoluteSeconds: 43_200, secureCookies: true });
    expect(sessionSettings(loadConfig({ ...base, OIDC_ISSUER: 'http://127.0.0.1:9000', RIPCORD_PUBLIC_URL: 'http://localhost:8080' })).secureCookies).toBe(false);
    expect(ssoSettings(loadConfig({ ...base, OIDC_GROUPS_CLAIM: 'none' }))?.groupsClaim).toBeNull();
  });

  it('names every bad variable with what it should be', () => {
    expect(problems({ OIDC_ISSUER: base.OIDC_ISSUER })).toMatch(/OIDC_CLIENT_ID: must be set with OIDC_ISSUER[\s\S]*RIPCORD_PUBLIC_URL: must be set with OIDC_ISSUER/);
    expect(problems({ OIDC_CLIENT_ID: 'x' })).toContain('OIDC_CLIENT_ID: needs OIDC_ISSUER');
    expect(problems({ ...base, OIDC_ISSUER: 'http://idp.example.com' })).toContain('OIDC_ISSUER: OIDC_ISSUER must use https (http only on localhost or 127.0.0.1)');
    expect(problems({ ...base, RIPCORD_PUBLIC_URL: 'https://ripcord.example.com/admin' })).toContain('RIPCORD_PUBLIC_URL: must be an origin');
    expect(problems({ ...base, OIDC_SCOPES: 'email profile' })).toContain('OIDC_SCOPES: must include openid');
    expect(problems({ ...base, OIDC_ROLE_MAPPING: '{not json' })).toContain('OIDC_ROLE_MAPPING: must be a JSON array');
    expect(problems({ ...base, OIDC_ROLE_MAPPING: '[{"group":"a","role":"root"}]' })).toMatch(/OIDC_ROLE_MAPPING\.0\.role/);
    expect(problems({ ...base, OIDC_ROLE_MAPPING: '[{"group":"a"}]' })).toContain('a rule gives a role, grants, or both');
    expect(problems({ ...base, OIDC_ROLE_MAPPING: '[{"group":"a","grants":[{"resource":"audit","action":"write"}]}]' })).toContain('the audit log can only be read');
    expect(problems({ ...base, OIDC_DEFAULT_ROLE: 'superuser' })).toContain('OIDC_DEFAULT_ROLE: must be viewer, editor, admin, emergency_responder, or none');
    expect(problems({ ...base, OIDC_ALLOWED_EMAIL_DOMAINS: 'example.com, not a domain' })).toContain('OIDC_ALLOWED_EMAIL_DOMAINS.1: each must be a domain');
    expect(problems({ ...base, SESSION_IDLE_TIMEOUT_SECONDS: '7200', SESSION_ABSOLUTE_TIMEOUT_SECONDS: '3600' })).toContain('SESSION_ABSOLUTE_TIMEOUT_SECONDS: must be at least SESSION_IDLE_TIMEOUT_SECONDS (7200)');
    expect(problems({ SLACK_LINK_BY_VERIFIED_EMAIL: 'on' })).toContain('SLACK_LINK_BY_VERIFIED_EMAIL: needs OIDC_ISSUER');
  });
});
