import { loadConfigOrExit } from '../config.js';
import { createLogger } from '../logger.js';
import { startWorkerProcess } from './worker-process.js';

const config = loadConfigOrExit();
const logger = createLogger(config.LOG_LEVEL, 'ripcord-worker');
const worker = await startWorkerProcess(config, logger);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    logger.info({ signal }, 'shutting down');
    void worker.close().then(() => process.exit(0));
  });
}
await worker.done;
