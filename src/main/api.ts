import { loadConfigOrExit } from '../config.js';
import { createLogger } from '../logger.js';
import { startApiServer } from './api-server.js';

const config = loadConfigOrExit();
const logger = createLogger(config.LOG_LEVEL, 'ripcord-api');
const server = await startApiServer(config, logger);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    logger.info({ signal }, 'shutting down');
    void server.close().then(() => process.exit(0));
  });
}
