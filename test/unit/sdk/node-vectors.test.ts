import { afterAll, describe, expect, it } from 'vitest';
import { createClient, type LocalClient } from '../../../packages/node/src/index.js';
import bucketing from '../../vectors/bucketing.json' with { type: 'json' };
import errors from '../../vectors/errors.json' with { type: 'json' };
import operators from '../../vectors/operators.json' with { type: 'json' };
import precedence from '../../vectors/precedence.json' with { type: 'json' };
import schedule from '../../vectors/schedule.json' with { type: 'json' };
import variants from '../../vectors/variants.json' with { type: 'json' };
import unleashBucketing from '../../vectors/unleash-bucketing.json' with { type: 'json' };

interface VectorFile {
  flags: Record<string, { key: string; type: string; environment: string; version: number }>;
  segments?: unknown[];
  cases: Array<{ name: string; flag: string; context: Record<string, unknown>; now: string; expected: Record<string, unknown> }>;
}

const files = { precedence, operators, schedule, bucketing, errors, variants, 'unleash-bucketing': unleashBucketing } as unknown as Record<string, VectorFile>;
const DEFAULTS: Record<string, unknown> = { boolean: false, string: 'caller-default', number: -1, json: { caller: 'default' } };
const clients: LocalClient[] = [];
afterAll(async () => {
  for (const client of clients) await client.close();
});

describe.each(Object.entries(files))('Node SDK local mode: vectors %s', (_name, file) => {
  // Vector flags of one file may share a key, so each gets a client of its own, bootstrapped offline.
  let now = 0;
  const clientOf = new Map(
    Object.entries(file.flags).map(([id, flag]) => {
      const client = createClient({
        offline: true,
        clock: () => now,
        bootstrap: { environment: flag.environment ?? 'production', version: 1, flags: [flag], segments: file.segments ?? [] },
      });
      clients.push(client);
      return [id, client] as const;
    }),
  );

  it.each(file.cases.map((c) => [c.name, c] as const))('%s', (_caseName, c) => {
    const flag = file.flags[c.flag]!;
    const fallback = DEFAULTS[flag.type] ?? null;
    now = Date.parse(c.now);
    const details = clientOf.get(c.flag)!.details(flag.key, fallback as never, c.context);
    const { bucket: _bucket, value: expectedValue, ...expected } = c.expected;
    const { flagKey, version: _version, errorMessage, value, ...rest } = details;
    expect(flagKey).toBe(flag.key);
    expect(rest).toEqual(expected);
    // On an error the caller's default is served (OpenFeature's rule); otherwise exactly the engine's value.
    expect(value).toEqual(c.expected.reason === 'ERROR' ? fallback : expectedValue);
    if (details.reason === 'ERROR') expect(errorMessage).toBeTruthy();
    // The typed getters agree with details().
    const typed = flag.type === 'json' ? clientOf.get(c.flag)!.json(flag.key, fallback as never, c.context)
      : (clientOf.get(c.flag)![flag.type as 'boolean'] as (k: string, d: unknown, x: unknown) => unknown)(flag.key, fallback, c.context);
    expect(typed).toEqual(value);
  });
});
