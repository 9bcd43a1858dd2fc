/* Segment members: 10k → 1M in one list segment; upload, memory, membership lookups. */
import { performance } from 'node:perf_hooks';
import { admin, ADMIN_TOKEN, CLIENT_TOKEN } from '../lib/bench-stack.js';
import { dimensionEnv, load, rssMiB, startApi, stopProc, type DimensionResult } from './harness.js';

export async function segmentsDimension(stack: Record<string, string>, sizes: number[]): Promise<DimensionResult> {
  const rows: DimensionResult['rows'] = [];
  for (const size of sizes) {
    const env = await dimensionEnv(stack, `segments_${size}`, 9);
    const api = await startApi(env);
    const key = 'scale-members';
    const flag = 'scale-segment-flag';
    await admin(api.base, 'POST', '/api/v1/segments', { key, name: key, kind: 'list', members: ['seed-member'] });
    await admin(api.base, 'POST', '/api/v1/flags', { key: flag, name: flag, type: 'boolean' });
    await admin(api.base, 'PUT', `/api/v1/flags/${flag}/environments/production`, {
      enabled: true, value: true, off_value: false, rollout: { percentage: 0, strategy: 'immediate' },
      targeting: [{ id: 'members', segments: [key], percentage: 100, enabled: true }],
    });
    const rssBefore = rssMiB(api.pid);
    const body = Array.from({ length: size }, (_, i) => `member-${i}`).join('\n');
    const started = performance.now();
    const upload = await fetch(`${api.base}/api/v1/segments/${key}/members`, {
      method: 'PUT', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'text/plain' }, body,
    });
    if (upload.status !== 200) throw new Error(`upload answered ${upload.status}: ${(await upload.text()).slice(0, 300)}`);
    // Uploaded = the API serves the last member as a member.
    const last = `member-${size - 1}`;
    for (let i = 0; ; i++) {
      const answer = await fetch(`${api.base}/ofrep/v1/evaluate/flags/${flag}`, {
        method: 'POST', headers: { authorization: `Bearer ${CLIENT_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ context: { targetingKey: last } }),
      });
      if (((await answer.json()) as { value?: boolean }).value === true) break;
      if (i > 3_000) throw new Error('the upload never reached the API');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const uploadSeconds = (performance.now() - started) / 1000;
    await new Promise((resolve) => setTimeout(resolve, 500));
    const memoryMiB = rssMiB(api.pid) - rssBefore;
    const member = await load(`${api.base}/ofrep/v1/evaluate/flags/${flag}`, CLIENT_TOKEN, { context: { targetingKey: `member-${Math.floor(size / 2)}` } }, 50, 5);
    const stranger = await load(`${api.base}/ofrep/v1/evaluate/flags/${flag}`, CLIENT_TOKEN, { context: { targetingKey: 'not-a-member' } }, 50, 5);
    await stopProc(api);
    rows.push({ size, values: { 'upload → served': uploadSeconds, 'API memory': memoryMiB, 'member p50': member.p50, 'member p99': member.p99, 'non-member p99': stranger.p99, 'member rps': member.rps } });
    console.log(`  segment members ${size}: ${JSON.stringify(rows.at(-1)!.values)}`);
  }
  return {
    dimension: 'Members of one list segment (text/plain upload; lookups at 50 connections, 5 s)', sizeLabel: 'members',
    measures: [
      { name: 'upload → served', unit: 's', budget: 30 }, { name: 'API memory', unit: 'MiB' },
      { name: 'member p50', unit: 'ms' }, { name: 'member p99', unit: 'ms' }, { name: 'non-member p99', unit: 'ms' }, { name: 'member rps', unit: 'req/s', better: 'higher' },
    ],
    rows,
    notes: ['upload → served: from sending the PUT until the API answers the last member as a member'],
  };
}
