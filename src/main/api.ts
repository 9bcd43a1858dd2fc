import cluster from 'node:cluster';
import { loadConfigOrExit } from '../config.js';
import { createLogger } from '../logger.js';
import { startApiServer } from './api-server.js';

const config = loadConfigOrExit();
const logger = createLogger(config.LOG_LEVEL, 'ripcord-api');

if (config.WEB_CONCURRENCY > 1 && cluster.isPrimary) {
  // N API processes share the port (node:cluster hands out connections); each keeps its own L1,
  // subscribes to changes and publishes its own replica heartbeat. A process that dies is replaced.
  let stopping = false;
  for (let i = 0; i < config.WEB_CONCURRENCY; i++) cluster.fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    logger.warn({ pid: worker.process.pid, code, signal }, 'API process exited; starting another');
    cluster.fork();
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      stopping = true;
      logger.info({ signal, processes: config.WEB_CONCURRENCY }, 'shutting down');
      setTimeout(() => process.exit(1), (config.SHUTDOWN_TIMEOUT_SECONDS + 10) * 1000).unref();
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
      const exitWhenDone = () => {
        if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      };
      cluster.on('exit', exitWhenDone);
      exitWhenDone();
    });
  }
} else {
  const server = await startApiServer(config, logger);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'shutting down');
      // A backstop past the graceful stop's own bound: never hang a deploy.
      setTimeout(() => process.exit(1), (config.SHUTDOWN_TIMEOUT_SECONDS + 5) * 1000).unref();
      void server.shutdown().then(() => process.exit(0), (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      });
    });
  }
}
