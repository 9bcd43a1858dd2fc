import { readdirSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FlagDefinition } from '../../src/domain/flag.js';
import { compileFlag, evaluate } from '../../src/engine/index.js';
import { loadDefinitions } from '../../src/flags/flag-store.js';
import { migrateUp } from '../../src/connections/migrations.js';
import { scratchDatabase } from './scratch-db.js';

// A database of its own, built as it was before variants, so the shared test database is untouched.
const scratch = scratchDatabase('ripcord_variants_migration_test');
const VARIANTS_MIGRATION = '1732490200000_variants.sql';
const NOW = Date.parse('2025-06-01T12:00:00Z');
const USERS = Array.from({ length: 300 }, (_, i) => ({ targetingKey: `user-${i}`, plan: i % 7 === 0 ? 'beta' : 'free', country: i % 11 === 0 ? 'XX' : 'NL' }));


/** Configs as the API wrote them before variants: value / off_value, override values, percentages. */
const OLD_CONFIGS: Array<{ key: string; type: string; config: Record<string, unknown> }> = [
  { key: 'old-rollout', type: 'boolean', config: { enabled: true, value: true, off_value: false, rules: [], targeting: [], rollout: { percentage: 30, strategy: 'gradual' } } },
  {
    key: 'old-overrides', type: 'string',
    config: {
      enabled: true, value: 'new', off_value: 'old', targeting: [],
      rules: [
        { id: 'beta', type: 'custom', conditions: [{ field: 'plan', operator: 'equals', value: 'beta' }], action: 'override_value', value: 'beta-ui', priority: 1 },
        { id: 'blocked', type: 'user_attribute', conditions: [{ field: 'country', operator: 'equals', value: 'XX' }], action: 'disable', priority: 0 },
        { id: 'canary', type: 'percentage', conditions: [], percentage: 10, action: 'override_value', value: 'canary-ui', priority: 2 },
      ],
      rollout: { percentage: 50, strategy: 'immediate' },
    },
  },
  { key: 'old-off', type: 'number', config: { enabled: false, value: 5, off_value: 1, rules: [], targeting: [] } },
  { key: 'old-killed', type: 'json', config: { enabled: true, value: { a: 1 }, off_value: { a: 0 }, rules: [], targeting: [], kill_switch: { enabled: true, reason: 'broken' } } },
];

let db: pg.Pool;
beforeAll(async () => {
  await scratch.create();
  const migrations = readdirSync(new URL('../../migrations', import.meta.url)).filter((f) => f.endsWith('.sql')).sort();
  await migrateUp(scratch.ownerUrl, undefined, migrations.indexOf(VARIANTS_MIGRATION));
  db = new pg.Pool({ connectionString: scratch.ownerUrl, max: 1 });
}, 60_000);

afterAll(async () => {
  await db?.end();
  await scratch.drop();
});

describe('the variants migration', () => {
  it('keeps every evaluation of configs written before it, and reads them as variants on and off', async () => {
    const before = new Map<string, unknown[]>();
    for (const [i, { key, type, config }] of OLD_CONFIGS.entries()) {
      const { rows: [flag] } = await db.query(`INSERT INTO flags (key, name, type, created_by, updated_by) VALUES ($1, $1, $2, 'test', 'test') RETURNING id`, [key, type]);
      await db.query(
        `INSERT INTO flag_configs (flag_id, environment, enabled, value, off_value, rules, targeting, rollout, kill_switch, version, updated_by)
         VALUES ($1, 'production', $2, $3, $4, $5, $6, $7, $8, $9, 'test')`,
        [flag.id, config.enabled, JSON.stringify(config.value), JSON.stringify(config.off_value), JSON.stringify(config.rules), JSON.stringify(config.targeting),
          config.rollout ? JSON.stringify(config.rollout) : null, JSON.stringify(config.kill_switch ?? { enabled: false }), i + 1],
      );
      // What the engine served from the stored shape before the migration.
      const stored: FlagDefinition = { key, type: type as FlagDefinition['type'], environment: 'production', version: i + 1, config: { kill_switch: { enabled: false }, ...config } as FlagDefinition['config'] };
      before.set(key, USERS.map((user) => evaluate(compileFlag(stored), user, NOW)));
    }

    await migrateUp(scratch.ownerUrl);

    const after = await loadDefinitions(db, 'production');
    expect(after.map((d) => d.key).sort()).toEqual(OLD_CONFIGS.map((c) => c.key).sort());
    for (const definition of after) {
      const old = OLD_CONFIGS.find((c) => c.key === definition.key)!.config;
      expect(definition.config).toMatchObject({
        variants: [{ name: 'on', value: old.value }, { name: 'off', value: old.off_value }], on_variant: 'on', off_variant: 'off', value: old.value, off_value: old.off_value,
      });
      const flag = compileFlag(definition);
      expect(flag.compileError).toBeUndefined();
      expect(USERS.map((user) => evaluate(flag, user, NOW))).toEqual(before.get(definition.key));
    }
    // The comparison covered every kind of answer the old shape gives.
    const variants = new Set([...before.values()].flat().map((r) => (r as { variant: string }).variant));
    expect([...variants].sort()).toEqual(['beta', 'canary', 'off', 'on']);
  });
});
