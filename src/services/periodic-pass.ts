import type { Logger } from '../logger.js';

/** A background job that runs one pass at a time, every interval, until stopped. */
export interface PeriodicPass {
  /** One pass now; resolves to what the pass counted (0 when a pass is already running or it failed). */
  runOnce(): Promise<number>;
  start(): void;
  stop(): void;
}

/** Wraps `pass` so passes never overlap and a failed pass is logged and retried on the next tick. */
export function periodicPass(what: string, pass: () => Promise<number>, options: { logger: Logger; intervalMs: number }): PeriodicPass {
  let timer: NodeJS.Timeout | undefined;
  let running = false;

  async function runOnce(): Promise<number> {
    if (running) return 0;
    running = true;
    try {
      return await pass();
    } catch (error) {
      options.logger.warn({ err: error }, `${what} pass failed; will retry`);
      return 0;
    } finally {
      running = false;
    }
  }

  return {
    runOnce,
    start() {
      timer = setInterval(() => void runOnce(), options.intervalMs);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
    },
  };
}
