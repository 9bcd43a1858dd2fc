/* bench:scale's stream clients: one in the benchmark's process, or a fleet in processes of their own. */
import { fork, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { track } from '../lib/bench-stack.js';
import { openEventStream, type EventStream } from '../lib/event-stream.js';
import type { ToParent } from './stream-client-process.js';

export interface StreamClient {
  stream: EventStream;
  /** `event name:flag key:version` → when this client read it (performance.now()). */
  seen: Map<string, number>;
}

export async function openStream(port: number, token: string): Promise<StreamClient> {
  const seen = new Map<string, number>();
  const stream = await openEventStream(`http://127.0.0.1:${port}`, token, (event, data, at) => {
    if (!event.startsWith('flag.')) return;
    const parsed = JSON.parse(data) as { key?: string; version?: number };
    seen.set(`${event}:${parsed.key}:${parsed.version}`, at);
  });
  return { stream, seen };
}

export async function waitUntil(done: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** Stream clients in processes of their own (not the benchmark's): when all of them have read an event. */
export interface StreamFleet {
  readonly processes: number;
  /** The client processes' ids (for their CPU time). */
  readonly pids: number[];
  /** Resolves with the moment (monotonicMs) the last client read event `id` (`event name:flag key:version`). */
  lastArrival(id: string, timeoutMs?: number): Promise<number>;
  close(): Promise<void>;
}

/** CLOCK_MONOTONIC in ms: the same clock in every process of the machine (performance.now() is per process). */
export const monotonicMs = () => Number(process.hrtime.bigint()) / 1e6;

/** Opens `count` streams spread over `processes` forked client processes and waits until all are open. */
export async function openStreamFleet(port: number, token: string, count: number, processes: number): Promise<StreamFleet> {
  const n = Math.max(1, Math.min(processes, count));
  const children: ChildProcess[] = [];
  // id → the last arrival reported by each process so far.
  const reports = new Map<string, number[]>();
  const waiters = new Map<string, () => void>();
  const ready: Array<Promise<void>> = [];
  for (let i = 0; i < n; i++) {
    const share = Math.floor(count / n) + (i < count % n ? 1 : 0);
    const child = track(fork(fileURLToPath(new URL('./stream-client-process.ts', import.meta.url)), [`http://127.0.0.1:${port}`, token, String(share)], {
      execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }));
    children.push(child);
    ready.push(new Promise<void>((resolve, reject) => {
      child.on('message', (message: ToParent) => {
        if (message.type === 'ready') resolve();
        else if (message.type === 'failed') reject(new Error(`a stream client process failed: ${message.message}`));
        else {
          const list = reports.get(message.id) ?? [];
          list.push(message.last);
          reports.set(message.id, list);
          if (list.length === n) waiters.get(message.id)?.();
        }
      });
      child.once('exit', (code) => reject(new Error(`a stream client process exited (${code})`)));
    }));
  }
  await Promise.all(ready);
  return {
    processes: n,
    pids: children.map((child) => child.pid!),
    async lastArrival(id, timeoutMs = 60_000) {
      if ((reports.get(id)?.length ?? 0) < n) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`timed out waiting for ${count} clients to read ${id} (${reports.get(id)?.length ?? 0}/${n} processes)`)), timeoutMs);
          waiters.set(id, () => {
            clearTimeout(timer);
            resolve();
          });
        });
        waiters.delete(id);
      }
      const last = Math.max(...reports.get(id)!);
      reports.delete(id);
      return last;
    },
    async close() {
      await Promise.all(children.map((child) => new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.send({ type: 'close' });
      })));
    },
  };
}
