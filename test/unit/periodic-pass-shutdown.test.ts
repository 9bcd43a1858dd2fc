import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { periodicPass } from '../../src/periodic-pass.js';
import { createWorkflowStarter, type WorkflowStartRequest, type WorkflowStarter } from '../../src/temporal/workflow-starter.js';

/**
 * A Temporal outage as the client sees it: nothing listens on the address, so each start fails
 * UNAVAILABLE and the client's retry interceptor tries again on a timer until the start's deadline.
 * Closing the connection while such a retry is pending throws `Channel has been shut down` from that
 * timer, uncaught (CI run 2 of the fourth session, temporal-outage.test.ts's teardown).
 */
async function deadAddress(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `127.0.0.1:${port}`;
}

const request: WorkflowStartRequest = {
  workflowType: 'killSwitch', workflowId: 'periodic-pass-shutdown', args: [], flagKey: 'f', environment: 'production', actor: 'test',
};

// Vitest fails the run on an uncaught error too; collecting them here names the cause in this file.
const uncaught: unknown[] = [];
const collect = (error: unknown) => uncaught.push(error);
beforeAll(() => {
  process.on('uncaughtException', collect);
});
afterAll(() => {
  process.off('uncaughtException', collect);
});

describe('shutting down a pass that is waiting on an unreachable Temporal', () => {
  let starter: WorkflowStarter;
  beforeAll(async () => {
    starter = createWorkflowStarter({ address: await deadAddress(), namespace: 'default', taskQueue: 'none', timeoutMs: 1_500 });
  });

  it('stop() resolves only after the running pass ended, and closing the starter then throws nothing', async () => {
    const attempts: Array<'failed' | 'started'> = [];
    const pass = periodicPass('outage', async () => {
      attempts.push(await starter.start(request).then(() => 'started' as const, () => 'failed' as const));
      return 1;
    }, { logger: createLogger('silent'), intervalMs: 60_000 });
    let passEnded = false;
    const running = pass.runOnce().then((counted) => {
      passEnded = true;
      return counted;
    });

    await pass.stop();
    expect(passEnded).toBe(true);
    expect(attempts).toEqual(['failed']);
    expect(await running).toBe(1);
    // Stopped: no new pass runs, so nothing can use the connection closed next.
    expect(await pass.runOnce()).toBe(0);
    expect(attempts).toHaveLength(1);

    await starter.close();
    expect(uncaught).toEqual([]);
  });
});

describe("closing the starter while a start nobody awaits is retrying (Slack's kill answers at once)", () => {
  it('waits for that start to end before closing the connection', async () => {
    const starter = createWorkflowStarter({ address: await deadAddress(), namespace: 'default', taskQueue: 'none', timeoutMs: 1_500 });
    let startEnded = false;
    void starter.start(request).catch(() => (startEnded = true));

    await starter.close();
    expect(startEnded).toBe(true);
    expect(uncaught).toEqual([]);
  });
});
