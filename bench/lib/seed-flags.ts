/* Writes a benchmark's flags straight through the flag store, before its API starts: a hundred flags through the API took 16 s on a busy machine, 10,000 would take many minutes. */
import { createDatabase, withTransaction } from '../../src/connections/database.js';
import { insertFlag, nextRevision, saveConfig } from '../../src/flags/flag-store.js';
import { parseConfigInput } from '../../src/flags/config-validation.js';

/**
 * Creates boolean flags with a config in `environment`, each validated as `PUT …/environments/{env}`
 * validates its body, in one transaction (no audit events: benchmark data). The API serves them from
 * its start, as it loads every definition then.
 */
export async function seedFlags(databaseUrl: string, environment: string, flags: ReadonlyArray<{ key: string; config: unknown }>): Promise<void> {
  const db = createDatabase(databaseUrl, 1);
  try {
    await withTransaction(db, async (tx) => {
      for (const { key, config } of flags) {
        const flag = await insertFlag(tx, { key, name: key, description: '', type: 'boolean', tags: [], actor: 'bench' });
        const version = await nextRevision(tx, environment);
        if (!flag || version === null) throw new Error(`could not write flag ${key} in ${environment}`);
        const stored = { ...parseConfigInput('boolean', config, 'config'), kill_switch: { enabled: false as const } };
        await saveConfig(tx, flag.id, environment, stored, version, 'bench');
      }
    });
  } finally {
    await db.end();
  }
}
