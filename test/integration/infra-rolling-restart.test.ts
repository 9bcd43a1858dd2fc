import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startStack, uniqueKey, type Stack } from './harness.js';
import { evaluateOnce, evaluationLoad, freePort, httpCall, InfraProcesses, type Managed } from './infra-processes.js';
import { createFlag, onForEveryone } from './serving-helpers.js';
import { ADMIN_TOKEN } from './harness.js';

/**
 * A rolling restart of a two-process deployment behind nginx (Debian's; round robin,
 * passive health checks; the configuration is deploy/nginx.conf) under constant evaluation load
 * loses no evaluation.
 *
 * nginx OSS has no active health checks, so it learns that a process went away from a refused
 * connection (max_fails=1, fail_timeout=2s) and passes that request to the other process
 * (proxy_next_upstream error). A refused connect never reached the API, so that retry is safe for
 * any request. For the evaluation routes only, `non_idempotent` also retries a POST whose connection
 * broke after it was sent: an evaluation changes nothing (it is a read that happens to be a POST,
 * as OFREP says), so evaluating twice is harmless; writes never get that retry.
 */
const procs = new InfraProcesses();
let stack: Stack;
const apis: Array<{ port: number; process: Managed }> = [];
let lbPort = 0;
// A stopping process answers for 3 s after it reports not ready: the window in which the test below
// checks that it still serves, wide enough for one request on a loaded machine.
const apiEnv = { SHUTDOWN_READINESS_DELAY_SECONDS: '3', SHUTDOWN_TIMEOUT_SECONDS: '10', STREAM_HEARTBEAT_SECONDS: '1' };

beforeAll(async () => {
  stack = await startStack({}, { worker: false });
  const ports = [await freePort(), await freePort()];
  lbPort = await freePort();
  for (const port of ports) apis.push({ port, process: await procs.startApi(port, apiEnv) });
  // The load balancer of deploy/nginx.conf, with this run's ports.
  const block = readFileSync(fileURLToPath(new URL('../../deploy/nginx.conf', import.meta.url)), 'utf8')
    .replace('@API_1@', `127.0.0.1:${ports[0]}`).replace('@API_2@', `127.0.0.1:${ports[1]}`).replace('@LISTEN@', `127.0.0.1:${lbPort}`);
  await procs.startNginx('lb', block, lbPort);
}, 180_000);

afterAll(async () => {
  await procs.stopAll();
  await stack?.close();
});

/** Reads an SSE response until it ends (bounded); resolves with everything it sent. */
function readStream(port: number): Promise<{ opened: Promise<void>; text: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 60_000);
    fetch(`http://127.0.0.1:${port}/api/v1/stream`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, signal: controller.signal }).then((response) => {
      const reader = response.body!.getReader();
      let text = '';
      let markOpened!: () => void;
      const opened = new Promise<void>((r) => (markOpened = r));
      const all = (async () => {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          text += Buffer.from(value).toString();
          if (text.includes('event: ready')) markOpened();
        }
        clearTimeout(timer);
        return text;
      })();
      resolve({ opened, text: all });
    }, reject);
  });
}

describe('rolling restart behind nginx', () => {
  it('restarts every API process one at a time under evaluation load with zero failed evaluations', async () => {
    const key = uniqueKey('rolling');
    await createFlag(stack, key, onForEveryone);
    for (const { port } of apis) {
      let last = '';
      await eventually(async () => {
        const answer = await evaluateOnce(port, key);
        last = `${answer.status} ${answer.text}`;
        return answer.status === 200 && JSON.parse(answer.text).value === true;
      }, `${port} to serve the flag`, 30_000).catch((error: Error) => {
        throw new Error(`${error.message}; last answer: ${last}`);
      });
    }
    await eventually(async () => (await evaluateOnce(lbPort, key)).status === 200, 'nginx to pass evaluations');

    const load = evaluationLoad(lbPort, key, (text) => JSON.parse(text).value === true, { concurrency: 4, maxMs: 150_000 });
    const restarts: Array<{ port: number; stopMs: number }> = [];
    try {
      for (const api of apis) {
        const stream = await readStream(api.port);
        await stream.opened;
        const before = load.figures.requests;
        const stopStarted = Date.now();
        api.process.child.kill('SIGTERM');
        // Not ready first, while still answering evaluations.
        const readyz = await eventually(async () => {
          const answer = await httpCall(api.port, 'GET', '/readyz');
          return answer.status === 503 ? answer : undefined;
        }, `${api.port} to report not ready`, 5_000);
        expect(JSON.parse(readyz.text)).toMatchObject({ status: 'shutting_down' });
        const during = await evaluateOnce(api.port, key);
        expect(during.status).toBe(200);
        expect(JSON.parse(during.text).value).toBe(true);
        // SSE clients are told when to reconnect, then their stream ends.
        const sent = await stream.text;
        expect(sent).toMatch(/retry: 500\n\n$/);
        expect(await api.process.exited).toBe(0);
        restarts.push({ port: api.port, stopMs: Date.now() - stopStarted });
        api.process = await procs.startApi(api.port, apiEnv);
        // The other process kept serving while this one was away.
        expect(load.figures.requests).toBeGreaterThan(before);
        // As a deploy would, go on only once the balancer sends traffic to the new process: nginx's
        // passive check keeps a server out for fail_timeout after its last refused connection.
        const upstream = `127.0.0.1:${api.port}`;
        const servedBefore = load.figures.servedBy[upstream] ?? 0;
        await eventually(async () => (load.figures.servedBy[upstream] ?? 0) > servedBefore + 10, `nginx to send traffic to the new ${upstream}`, 20_000);
      }
    } finally {
      const figures = await load.stop();
      console.log(`[rolling restart] ${JSON.stringify({ ...figures, restarts })}`);
    }
    const figures = load.figures;
    expect(figures.failureSamples).toEqual([]);
    expect(figures.failures).toBe(0);
    expect(figures.requests).toBeGreaterThan(100);
  }, 180_000);
});
