import { BOOTSTRAP_ACTOR } from '../auth/principal.js';
import { loadConfigOrExit } from '../config.js';
import { postgresPoolConfig } from '../connections/postgres.js';
import { createRedis } from '../connections/redis.js';
import { createLogger } from '../logger.js';
import { createFlagPublisher } from '../cache/flag-publisher.js';
import { createFlagService, type NewFlagInput } from '../flags/flag-service.js';
import { createDatabase } from '../connections/database.js';
import { findFlag } from '../flags/flag-store.js';
import { RedisProjection } from '../cache/projection.js';

/** Demo flags for `npm run dev`; flags that already exist are left as they are. */
const DEMO_FLAGS: Array<NewFlagInput & { configs: Record<string, Record<string, unknown>> }> = [
  {
    key: 'checkout-v2', name: 'New checkout', type: 'boolean', tags: ['payments'],
    description: 'The rewritten checkout flow',
    configs: {
      development: { enabled: true, value: true, off_value: false },
      staging: { enabled: true, value: true, off_value: false, rollout: { percentage: 50, strategy: 'immediate' } },
      production: { enabled: true, value: true, off_value: false, rollout: { percentage: 10, strategy: 'gradual' } },
    },
  },
  {
    key: 'new-search', name: 'New search backend', type: 'boolean', tags: ['search'],
    configs: {
      development: { enabled: true, value: true, off_value: false },
      production: { enabled: true, value: true, off_value: false, rollout: { percentage: 100, strategy: 'immediate' } },
    },
  },
  {
    key: 'homepage-banner', name: 'Homepage banner text', type: 'string', tags: ['marketing'],
    configs: {
      development: { enabled: true, value: 'Winter sale!', off_value: '' },
      production: { enabled: true, value: 'Winter sale!', off_value: '' },
    },
  },
  {
    key: 'search-page-size', name: 'Search results per page', type: 'number', tags: ['search'],
    configs: { production: { enabled: true, value: 25, off_value: 10 } },
  },
];

const config = loadConfigOrExit();
const logger = createLogger(config.LOG_LEVEL, 'ripcord-seed');
const db = createDatabase(postgresPoolConfig(config, { max: 2 }));
const redis = createRedis(config, { maxRetriesPerRequest: 1 });
const flags = createFlagService({ db, publisher: createFlagPublisher({ projection: new RedisProjection(redis, config.REDIS_PREFIX), logger }) });
const meta = { actor: BOOTSTRAP_ACTOR, userAgent: 'ripcord seed' };

try {
  for (const { configs, ...flag } of DEMO_FLAGS) {
    if (await findFlag(db, flag.key)) continue;
    await flags.createFlag(flag, meta);
    for (const [environment, body] of Object.entries(configs)) await flags.updateConfig(flag.key, environment, body, undefined, meta);
    console.log(`seeded flag ${flag.key}`);
  }
  console.log('seed: demo data in place');
} finally {
  redis.disconnect();
  await db.end();
}
