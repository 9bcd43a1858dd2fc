import type { Logger } from './logger.js';

/** A background job that runs one pass at a time, every interval, until stopped. */
export interface PeriodicPass {
  /** One pass now; resolves to what the pass counted (0 when a pass is already running, it failed, or the job is stopped). */
  runOnce(): Promise<number>;
  start(): void;
  /**
   * Stops the timer, refuses new passes and resolves once a pass already running has finished, so the
   * caller may then close what passes use (a Temporal connection closed under a retrying start throws
   * an uncaught `Channel has been shut down` from the client's retry timer).
   */
  stop(): Promise<void>;
}

/** Wraps `pass` so passes never overlap and a failed pass is logged and retried on the next tick. */
export function periodicPass(what: string, pass: () => Promise<number>, options: { logger: Logger; intervalMs: number }): PeriodicPass {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running: Promise<number> | undefined;

  async function guarded(): Promise<number> {
    try {
      return await pass();
    } catch (error) {
      options.logger.warn({ err: error }, `${what} pass failed; will retry`);
      return 0;
    } finally {
      running = undefined;
    }
  }

  function runOnce(): Promise<number> {
    if (stopped || running) return Promise.resolve(0);
    running = guarded();
    return running;
  }

  return {
    runOnce,
    start() {
      stopped = false;
      timer = setInterval(() => void runOnce(), options.intervalMs);
      timer.unref();
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
