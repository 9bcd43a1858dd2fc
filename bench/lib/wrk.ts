/* Runs wrk (Debian's `wrk` package, installed by bench/setup.sh) and reads its figures. */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface LoadResult {
  name: string;
  /** 2xx answers a second: wrk's own Requests/sec also counts errors and refusals, which are not service. */
  requestsPerSecond: number;
  /** Every answer of the round (2xx or not). */
  requests: number;
  /** Every answer a second, as wrk reports it. */
  allPerSecond: number;
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

/**
 * Runs wrk with 50 connections against one request; `method` POST sends `body`. Asynchronously: a
 * benchmark that blocked its event loop for a round (execFileSync) left its fetch keep-alive pool
 * unattended, so the first request after the round went out on a socket the server had closed in
 * the meantime (Unleash keeps idle connections 15 s) and failed with "other side closed".
 */
export async function wrk(
  name: string,
  url: string,
  options: { method?: 'GET' | 'POST'; body?: string; headers?: Record<string, string>; connections?: number; seconds?: number; threads?: number; timeoutSeconds?: number } = {},
): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'ripcord-wrk-'));
  const script = join(dir, 'request.lua');
  const headers = Object.entries(options.headers ?? {})
    .map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`)
    .join('\n');
  writeFileSync(script, `wrk.method = ${JSON.stringify(options.method ?? 'GET')}\n${options.body === undefined ? '' : `wrk.body = ${JSON.stringify(options.body)}\n`}${headers}\n`);
  const args = ['-t', String(options.threads ?? 2), '-c', String(options.connections ?? 50), '-d', `${options.seconds ?? 10}s`, '--timeout', `${options.timeoutSeconds ?? 2}s`, '--latency', '-s', script, url];
  const { stdout: output } = await run('wrk', args, { encoding: 'utf8' });
  const all = Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1] ?? Number.NaN);
  const total = /(\d+) requests in ([\d.]+)(us|ms|s|m),/.exec(output);
  const p50 = toMs(/^\s+50%\s+(\S+)/m.exec(output)?.[1] ?? '');
  const p99 = toMs(/^\s+99%\s+(\S+)/m.exec(output)?.[1] ?? '');
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(output)?.[1] ?? 0);
  const errors = /Socket errors:.*$/m.exec(output)?.[0] ?? '';
  const ok2xx = total ? (Number(total[1]) - non2xx) / (toMs(`${total[2]}${total[3]}`) / 1000) : Number.NaN;
  return { name, requestsPerSecond: ok2xx, requests: total ? Number(total[1]) : Number.NaN, allPerSecond: all, p50Ms: p50, p99Ms: p99, non2xx, errors };
}

/** A target's rounds: the best and the median round (by 2xx req/s), and the non-2xx answers of all rounds. */
export interface RoundsResult extends LoadResult {
  median: LoadResult;
  rounds: number;
}

export function summarize(rounds: LoadResult[]): RoundsResult {
  const sorted = [...rounds].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond);
  const best = sorted.at(-1)!;
  const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
  return { ...best, median, rounds: rounds.length, non2xx: rounds.reduce((n, r) => n + r.non2xx, 0) };
}

export function printTable(results: RoundsResult[], baseline?: RoundsResult): void {
  const rows = results.map((r) => ({
    target: r.name,
    '2xx req/s (median round)': Math.round(r.median.requestsPerSecond),
    '2xx req/s (best round)': Math.round(r.requestsPerSecond),
    'p50 ms (median round)': r.median.p50Ms.toFixed(2),
    'p99 ms (median round)': r.median.p99Ms.toFixed(2),
    ...(baseline ? { 'ripcord ÷ this (median)': (baseline.median.requestsPerSecond / r.median.requestsPerSecond).toFixed(2) } : {}),
    'non-2xx (all rounds)': r.non2xx,
    ...(r.errors ? { errors: r.errors } : {}),
  }));
  console.table(rows);
}
