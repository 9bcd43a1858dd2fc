/* Runs wrk (Debian's `wrk` package, installed by bench/setup.sh) and reads its figures. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface LoadResult {
  name: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: string;
}

function toMs(value: string): number {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(value.trim());
  if (!match) return Number.NaN;
  const n = Number(match[1]);
  return match[2] === 'us' ? n / 1000 : match[2] === 'ms' ? n : match[2] === 's' ? n * 1000 : n * 60_000;
}

/** Runs wrk with 50 connections against one request; `method` POST sends `body`. */
export function wrk(
  name: string,
  url: string,
  options: { method?: 'GET' | 'POST'; body?: string; headers?: Record<string, string>; connections?: number; seconds?: number; threads?: number } = {},
): LoadResult {
  const dir = mkdtempSync(join(tmpdir(), 'ripcord-wrk-'));
  const script = join(dir, 'request.lua');
  const headers = Object.entries(options.headers ?? {})
    .map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`)
    .join('\n');
  writeFileSync(script, `wrk.method = ${JSON.stringify(options.method ?? 'GET')}\n${options.body === undefined ? '' : `wrk.body = ${JSON.stringify(options.body)}\n`}${headers}\n`);
  const args = ['-t', String(options.threads ?? 2), '-c', String(options.connections ?? 50), '-d', `${options.seconds ?? 10}s`, '--latency', '-s', script, url];
  const output = execFileSync('wrk', args, { encoding: 'utf8' });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1] ?? Number.NaN);
  const p50 = toMs(/^\s+50%\s+(\S+)/m.exec(output)?.[1] ?? '');
  const p99 = toMs(/^\s+99%\s+(\S+)/m.exec(output)?.[1] ?? '');
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(output)?.[1] ?? 0);
  const errors = /Socket errors:.*$/m.exec(output)?.[0] ?? '';
  return { name, requestsPerSecond: rps, p50Ms: p50, p99Ms: p99, non2xx, errors };
}

export function printTable(results: LoadResult[], baseline?: LoadResult): void {
  const rows = results.map((r) => ({
    target: r.name,
    'req/s': Math.round(r.requestsPerSecond),
    'p50 ms': r.p50Ms.toFixed(2),
    'p99 ms': r.p99Ms.toFixed(2),
    ...(baseline ? { 'ripcord ÷ this (req/s)': (baseline.requestsPerSecond / r.requestsPerSecond).toFixed(2) } : {}),
    'non-2xx': r.non2xx,
    ...(r.errors ? { errors: r.errors } : {}),
  }));
  console.table(rows);
}
