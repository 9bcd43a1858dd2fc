import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Redis } from 'ioredis';
import { createApp } from '../../api/create-app.js';
import { createAuthenticator } from '../auth/principal.js';
import { FlagSnapshot } from '../cache/flag-snapshot.js';
import { SnapshotSync } from '../cache/snapshot-sync.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { createMetrics } from '../metrics.js';
import { createFlagPublisher } from '../services/flag-publisher.js';
import { createFlagService } from '../services/flag-service.js';
import { createKillSwitchService } from '../services/kill-switch-service.js';
import { createDatabase } from '../stores/database.js';
import { listEnvironments, loadDefinitions } from '../stores/flag-store.js';
import { RedisProjection } from '../stores/projection.js';
import { createWorkflowStarter } from '../temporal/workflow-starter.js';

export interface ApiServer {
  url: string;
  port: number;
  snapshot: FlagSnapshot;
  sync: SnapshotSync;
  close(): Promise<void>;
}

/** Wires the API process together and listens; used by the entry point and by integration tests (port 0). */
export async function startApiServer(config: Config, logger: Logger): Promise<ApiServer> {
  const db = createDatabase(config.DATABASE_URL);
  // Commands fail fast while Redis is down instead of queueing: evaluation never waits on Redis anyway.
  const redisOptions = { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false } as const;
  const redis = new Redis(config.REDIS_URL, redisOptions);
  const subscriber = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 1 });
  for (const connection of [redis, subscriber]) connection.on('error', () => undefined);

  const projection = new RedisProjection(redis);
  const snapshot = new FlagSnapshot();
  const sync = new SnapshotSync({
    snapshot, projection, subscriber, logger,
    loadRevisions: async () => new Map((await listEnvironments(db)).map((env) => [env.key, env.revision])),
    loadFromDatabase: async (environment, sinceVersion) => ({ definitions: await loadDefinitions(db, environment, { sinceVersion }) }),
  });
  await sync.start();

  const starter = createWorkflowStarter({
    address: config.TEMPORAL_ADDRESS, namespace: config.TEMPORAL_NAMESPACE, taskQueue: config.TEMPORAL_TASK_QUEUE,
  });
  const publisher = createFlagPublisher({ projection, logger, applyLocally: (definition) => snapshot.apply(definition) });
  const metrics = createMetrics();
  const app = createApp({
    db,
    authenticator: createAuthenticator(db, config.RIPCORD_ADMIN_TOKEN),
    snapshot,
    flags: createFlagService({ db, publisher }),
    killSwitch: createKillSwitchService({
      db, publisher, starter, logger, temporalUiUrl: config.TEMPORAL_UI_URL, namespace: config.TEMPORAL_NAMESPACE,
    }),
    metrics,
    logger,
    checks: {
      postgres: () => db.query('SELECT 1'),
      redis: () => redis.ping(),
      temporal: () => starter.client.connection.withDeadline(Date.now() + 1_500, () => starter.client.workflowService.getSystemInfo({})),
    },
  });

  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(config.PORT, '127.0.0.1', () => resolve(listening));
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ port }, 'API listening');

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    snapshot,
    sync,
    async close() {
      sync.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await starter.close();
      redis.disconnect();
      subscriber.disconnect();
      await db.end();
    },
  };
}
