import { describe, expect, it, vi } from 'vitest';
import { InstanceReporter } from '../../../packages/node/src/instance-reporter.js';
import { ReportChannel } from '../../../packages/node/src/report-channel.js';

type Body = { id: string; version: number } | { reports: Array<{ id: string; version: number }> };

/** A fetch that records every request body and answers with `answer`. */
function recorder(answer: (body: Body) => Response) {
  const bodies: Body[] = [];
  const fetch: typeof globalThis.fetch = async (_url, init) => {
    const body = JSON.parse(String(init?.body)) as Body;
    bodies.push(body);
    return answer(body);
  };
  return { fetch, bodies };
}

const counted = () => Response.json({ replica: 'r1', heartbeat_seconds: 60 });

function reporters(fetch: typeof globalThis.fetch, count: number, errors: Error[] = []) {
  return Array.from({ length: count }, () => new InstanceReporter({
    url: 'http://api', token: 't', kind: 'node-local', sdkVersion: '0.1.0', requestTimeoutMs: 1_000, heartbeatMs: 60_000, fetch,
    onError: (error) => errors.push(error),
  }));
}

describe('instance reports of one process', () => {
  it('go in one request when made in the same turn, each instance its own report; a lone report goes alone', async () => {
    const { fetch, bodies } = recorder(counted);
    const fleet = reporters(fetch, 3);
    for (const reporter of fleet) reporter.serving(4);
    for (const reporter of fleet) reporter.start();
    await vi.waitFor(() => expect(fleet.map((r) => r.sent)).toEqual([1, 1, 1]), { timeout: 2_000, interval: 10 });
    expect(bodies).toEqual([{ reports: fleet.map((r) => expect.objectContaining({ id: r.id, version: 4, kind: 'node-local' })) }]);
    expect(fleet.map((r) => r.replica)).toEqual(['r1', 'r1', 'r1']);

    fleet[1]!.serving(5);
    await vi.waitFor(() => expect(fleet[1]!.sent).toBe(2), { timeout: 2_000, interval: 10 });
    expect(bodies[1]).toEqual(expect.objectContaining({ id: fleet[1]!.id, version: 5 }));
    await Promise.all(fleet.map((r) => r.close()));
    expect(bodies[2]).toEqual({ reports: fleet.map((r) => expect.objectContaining({ id: r.id, closing: true })) });
  });

  it('splits a turn\'s reports into requests of at most 100', async () => {
    const { fetch, bodies } = recorder(counted);
    const channel = new ReportChannel({ url: 'http://api', token: 't', fetch, requestTimeoutMs: 1_000 });
    const outcomes = await Promise.all(Array.from({ length: 250 }, (_, i) => channel.send({ id: `instance-${i}`, version: 1 })));
    expect(outcomes.every((o) => o.status === 200 && o.replica === 'r1')).toBe(true);
    expect(bodies.map((b) => ('reports' in b ? b.reports.length : 1))).toEqual([100, 100, 50]);
    expect(bodies.flatMap((b) => ('reports' in b ? b.reports.map((r) => r.id) : [b.id]))).toEqual(Array.from({ length: 250 }, (_, i) => `instance-${i}`));
  });

  it('fails only the refused instances of a batch; the others are counted', async () => {
    const errors: Error[] = [];
    let refusedId = '';
    const { fetch } = recorder(() => Response.json({ replica: 'r1', heartbeat_seconds: 60, refused: [{ id: refusedId, status: 429, error: { code: 'RATE_LIMITED', message: 'This address already reports 2 SDK instances' } }] }));
    const fleet = reporters(fetch, 3, errors);
    refusedId = fleet[2]!.id;
    for (const reporter of fleet) reporter.start();
    await vi.waitFor(() => expect(errors.length).toBeGreaterThan(0), { timeout: 2_000, interval: 10 });
    expect(fleet.map((r) => r.sent)).toEqual([1, 1, 0]);
    expect(errors[0]!.message).toMatch(/HTTP 429: This address already reports 2 SDK instances/);
    await Promise.all(fleet.map((r) => r.close()));
  });

  it('an API that reads one report per request (400 to a batch) gets them one by one from then on', async () => {
    const { fetch, bodies } = recorder((body) => ('reports' in body ? Response.json({ error: { code: 'VALIDATION_FAILED' } }, { status: 400 }) : counted()));
    const fleet = reporters(fetch, 2);
    for (const reporter of fleet) reporter.start();
    await vi.waitFor(() => expect(fleet.map((r) => r.sent)).toEqual([1, 1]), { timeout: 2_000, interval: 10 });
    for (const reporter of fleet) reporter.serving(2);
    await vi.waitFor(() => expect(fleet.map((r) => r.sent)).toEqual([2, 2]), { timeout: 2_000, interval: 10 });
    expect(bodies.map((b) => ('reports' in b ? `batch of ${b.reports.length}` : `${b.id === fleet[0]!.id ? 0 : 1}@${b.version}`))).toEqual(['batch of 2', '0@0', '1@0', '0@2', '1@2']);
    await Promise.all(fleet.map((r) => r.close()));
  });

  it('reports with another fetch or token go in requests of their own', async () => {
    const first = recorder(counted);
    const second = recorder(counted);
    const fleet = [...reporters(first.fetch, 2), ...reporters(second.fetch, 1)];
    for (const reporter of fleet) reporter.start();
    await vi.waitFor(() => expect(fleet.map((r) => r.sent)).toEqual([1, 1, 1]), { timeout: 2_000, interval: 10 });
    expect(first.bodies).toHaveLength(1);
    expect(second.bodies).toEqual([expect.objectContaining({ id: fleet[2]!.id })]);
    await Promise.all(fleet.map((r) => r.close()));
  });
});
