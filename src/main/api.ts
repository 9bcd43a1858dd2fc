import cluster, { type Worker } from 'node:cluster';
import { loadConfigOrExit } from '../config.js';
import { createLogger } from '../logger.js';
import type { ApiServer } from './api-server.js';

const config = loadConfigOrExit();
const logger = createLogger(config.LOG_LEVEL, 'ripcord-api');

/**
 * API processes in a row that die before they are up: past this the primary stops forking and exits
 * non-zero. A start-up error (a refused Slack token, a port in use, a dependency start-up needs)
 * fails every fork the same way; re-forking it forever only hides the cause in a loop of logs.
 */
const FAILED_STARTS_BEFORE_GIVING_UP = 3;

/** What an API process of a cluster tells the primary about its start-up. */
type StartReport = { ripcordStart: 'up' } | { ripcordStart: 'failed'; cause: string };
const isStartReport = (message: unknown): message is StartReport =>
  typeof message === 'object' && message !== null && 'ripcordStart' in message;

if (config.WEB_CONCURRENCY > 1 && cluster.isPrimary) {
  runPrimary();
} else {
  await runApiProcess();
}

/**
 * N API processes share the port (node:cluster hands out connections); each keeps its own L1,
 * subscribes to changes and publishes its own replica heartbeat. A process that dies once it is up
 * is replaced; processes that keep dying at start-up are not (FAILED_STARTS_BEFORE_GIVING_UP).
 */
function runPrimary(): void {
  let stopping = false;
  let failedStarts = 0;
  const up = new Set<number>();
  const causes = new Map<number, string>();

  const stopAll = (signal: NodeJS.Signals, exitCode: number) => {
    stopping = true;
    setTimeout(() => process.exit(1), (config.SHUTDOWN_TIMEOUT_SECONDS + 10) * 1000).unref();
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
    const exitWhenDone = () => {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(exitCode);
    };
    cluster.on('exit', exitWhenDone);
    exitWhenDone();
  };

  cluster.on('message', (worker: Worker, message: unknown) => {
    if (!isStartReport(message)) return;
    if (message.ripcordStart === 'up') {
      up.add(worker.id);
      failedStarts = 0;
    } else {
      causes.set(worker.id, message.cause);
    }
  });
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    const wasUp = up.delete(worker.id);
    const cause = causes.get(worker.id);
    causes.delete(worker.id);
    if (!wasUp && ++failedStarts >= FAILED_STARTS_BEFORE_GIVING_UP) {
      logger.fatal({ pid: worker.process.pid, code, signal, failedStarts, cause }, `API processes failed to start ${failedStarts} times in a row; giving up`);
      stopAll('SIGTERM', 1);
      return;
    }
    logger.warn({ pid: worker.process.pid, code, signal, ...(wasUp ? {} : { failedStarts, cause }) }, wasUp ? 'API process exited; starting another' : 'API process failed to start; starting another');
    cluster.fork();
  });
  for (let i = 0; i < config.WEB_CONCURRENCY; i++) cluster.fork();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      logger.info({ signal, processes: config.WEB_CONCURRENCY }, 'shutting down');
      stopAll(signal, 0);
    });
  }
}

/** One API process (alone, or one of a cluster's): starts, reports to the primary, stops on a signal. */
async function runApiProcess(): Promise<void> {
  let server: ApiServer;
  try {
    // Loaded here, not at the top: a cluster's primary only forks, and the app's modules take a
    // core-second or two to load, which delayed every fork by as much.
    const { startApiServer } = await import('./api-server.js');
    server = await startApiServer(config, logger);
  } catch (err) {
    logger.fatal({ err }, 'API start-up failed');
    const report: StartReport = { ripcordStart: 'failed', cause: err instanceof Error ? err.message : String(err) };
    if (cluster.isWorker && process.send) process.send(report, () => process.exit(1));
    else process.exit(1);
    return;
  }
  if (cluster.isWorker) process.send?.({ ripcordStart: 'up' } satisfies StartReport);
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
