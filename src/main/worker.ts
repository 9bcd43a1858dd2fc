import { loadConfigOrExit } from '../config.js';
import { createLogger } from '../logger.js';
import { startWorkerProcess } from './worker-process.js';

const config = loadConfigOrExit();
const logger = createLogger(config.LOG_LEVEL, 'ripcord-worker');
const worker = await startWorkerProcess(config, logger);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    // The worker stops polling at once; running activities get WORKER_SHUTDOWN_GRACE_SECONDS to finish.
    logger.info({ signal, graceSeconds: config.WORKER_SHUTDOWN_GRACE_SECONDS }, 'shutting down');
    setTimeout(() => process.exit(1), (config.WORKER_SHUTDOWN_GRACE_SECONDS + 15) * 1000).unref();
    void worker.close().then(() => process.exit(0));
  });
}
await worker.done;
