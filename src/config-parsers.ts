import ipaddr from 'ipaddr.js';
import proxyaddr from 'proxy-addr';
import { z } from 'zod';
import { grantSchema } from './auth/rbac.js';
import { roleSchema } from './domain/role.js';
import { text } from './domain/text.js';

// The settings whose syntax src/config.ts checks at start (so a bad value fails loudly, beside the
// others) and that their users parse again into the value they work with. Here, and not in those
// users, so that config.ts imports no layer of the application.

export type TrustProxy = (address: string, hop: number) => boolean;

/**
 * Which proxies may tell us the client's address in X-Forwarded-For: TRUSTED_PROXIES, a comma-separated
 * list of addresses, CIDR ranges or proxy-addr's names (`loopback`, `linklocal`, `uniquelocal`). Empty
 * (the default): none, so the address is the socket's peer and a forged header changes nothing.
 */
export function trustProxies(setting: string): TrustProxy {
  const list = setting.split(',').map((part) => part.trim()).filter(Boolean);
  return proxyaddr.compile(list);
}

/** A 32-byte key given as 64 hex digits or as base64 (what `openssl rand -base64 32` prints); throws otherwise. */
export function parseSecretKey(value: string): Buffer {
  const text = value.trim();
  if (/^[0-9a-f]{64}$/i.test(text)) return Buffer.from(text, 'hex');
  // 43 base64 digits (plus one '=') carry exactly 32 bytes.
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) return Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  throw new Error('must be 32 bytes: 64 hex digits or base64 (openssl rand -base64 32)');
}

/** The webhook destinations allowed although not public (src/webhooks/webhook-destination.ts applies it). */
export interface DestinationPolicy {
  /** Lower-case host names allowed whatever they resolve to. */
  hosts: ReadonlySet<string>;
  /** Address ranges allowed although not public. */
  ranges: ReadonlyArray<[ipaddr.IPv4 | ipaddr.IPv6, number]>;
}

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/;

/** Parses WEBHOOK_ALLOWED_HOSTS (comma-separated host names, addresses, CIDRs); throws naming a bad entry. */
export function parseAllowedHosts(value: string): DestinationPolicy {
  const hosts = new Set<string>();
  const ranges: Array<[ipaddr.IPv4 | ipaddr.IPv6, number]> = [];
  for (const raw of value.split(',').map((entry) => entry.trim()).filter(Boolean)) {
    const entry = raw.replace(/^\[(.*)\]$/, '$1');
    if (entry.includes('/')) {
      try {
        ranges.push(ipaddr.parseCIDR(entry));
      } catch {
        throw new Error(`'${raw}' is not a CIDR range`);
      }
    } else if (ipaddr.isValid(entry)) {
      const address = ipaddr.parse(entry);
      ranges.push([address, address.kind() === 'ipv4' ? 32 : 128]);
    } else if (HOST_NAME.test(entry.toLowerCase())) {
      hosts.add(entry.toLowerCase().replace(/\.$/, ''));
    } else {
      throw new Error(`'${raw}' is neither a host name, an address nor a CIDR range`);
    }
  }
  return { hosts, ranges };
}

// Single sign-on (src/sso/): OIDC_* and RIPCORD_PUBLIC_URL.

/** One rule of OIDC_ROLE_MAPPING: members of `group` get `role` (the first matching rule with a role wins) and `grants` (all matching rules add theirs). */
export const groupRuleSchema = z
  .strictObject({
    group: text(256).min(1),
    role: roleSchema.optional(),
    grants: z.array(grantSchema).max(100).optional(),
  })
  .refine((rule) => rule.role !== undefined || (rule.grants?.length ?? 0) > 0, 'a rule gives a role, grants, or both');
export type GroupRule = z.infer<typeof groupRuleSchema>;

/** OIDC_ROLE_MAPPING: a JSON array of group rules, in order. */
export const roleMappingSchema = z
  .string()
  .transform((value, ctx) => {
    try {
      return JSON.parse(value) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON array such as [{"group":"ripcord-admins","role":"admin"}]' });
      return z.NEVER;
    }
  })
  .pipe(z.array(groupRuleSchema).max(500));

/** OIDC_DEFAULT_ROLE: the role of someone in none of the mapped groups, or `none` to refuse them. */
export const defaultRoleSchema = z.union([roleSchema, z.literal('none')], {
  error: 'must be viewer, editor, admin, emergency_responder, or none (refuse people in no mapped group)',
});

/** OIDC_SCOPES: space-separated, and OpenID Connect needs `openid`. */
export const scopesSchema = z
  .string()
  .regex(/^[\x21-\x7e]+( [\x21-\x7e]+)*$/, 'space-separated scopes such as "openid email profile"')
  .refine((value) => value.split(' ').includes('openid'), 'must include openid');

/** OIDC_ALLOWED_EMAIL_DOMAINS: comma-separated domains, lower-cased; empty allows any. */
export const emailDomainsSchema = z
  .string()
  .transform((value) => value.split(',').map((d) => d.trim().toLowerCase().replace(/^@/, '')).filter(Boolean))
  .pipe(z.array(z.string().regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/, 'each must be a domain such as example.com')));

/** http is only for an identity provider or Ripcord on this machine (development, tests). */
export function isLoopbackUrl(url: URL): boolean {
  return ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname) || url.hostname.endsWith('.localhost');
}

export const httpsUnlessLoopback = (what: string) =>
  z.url({ protocol: /^https?$/ }).refine((value) => {
    const url = new URL(value);
    return url.protocol === 'https:' || isLoopbackUrl(url);
  }, `${what} must use https (http only on localhost or 127.0.0.1)`);
