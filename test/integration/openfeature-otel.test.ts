import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startStack, uniqueKey, type Stack } from './harness.js';
import { freePort, InfraProcesses } from './infra-processes.js';
import { createFlag, createToken, onForEveryone } from './serving-helpers.js';

// OpenTelemetry export: the API and the worker, given OTEL_EXPORTER_OTLP_ENDPOINT,
// send spans and metrics with the feature_flag.* semantic conventions over OTLP/HTTP (JSON). A
// loopback fake collector receives them. The API and worker run as processes of their own (plain
// Node module resolution, as in production), on the test stack's Postgres, Redis and task queue.

interface KeyValue { key: string; value: { stringValue?: string; intValue?: string | number; boolValue?: boolean } }
interface OtlpSpan { name: string; attributes?: KeyValue[] }
interface OtlpDataPoint { attributes?: KeyValue[]; asInt?: string | number; asDouble?: number }
interface OtlpMetric { name: string; sum?: { dataPoints: OtlpDataPoint[] } }

const spans: Array<OtlpSpan & { service?: string }> = [];
const metrics: OtlpMetric[] = [];
let collector: Server;
let stack: Stack;
let token: string;
let apiUrl: string;
const processes = new InfraProcesses();

const attributesOf = (list: KeyValue[] | undefined): Record<string, string | number | boolean | undefined> =>
  Object.fromEntries((list ?? []).map(({ key, value }) => [key, value.stringValue ?? (value.intValue === undefined ? value.boolValue : Number(value.intValue))]));

beforeAll(async () => {
  collector = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const parsed = JSON.parse(body);
      if (req.url === '/v1/traces') {
        for (const resource of parsed.resourceSpans ?? []) {
          const service = attributesOf(resource.resource?.attributes)['service.name'] as string | undefined;
          for (const scope of resource.scopeSpans ?? []) for (const span of scope.spans ?? []) spans.push({ ...span, service });
        }
      } else if (req.url === '/v1/metrics') {
        for (const resource of parsed.resourceMetrics ?? []) for (const scope of resource.scopeMetrics ?? []) metrics.push(...(scope.metrics ?? []));
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  // The stack's own API makes the changes; its workflows run on the telemetry worker below.
  stack = await startStack({}, { worker: false });
  const otel = {
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(collector.address() as AddressInfo).port}`,
    OTEL_METRIC_EXPORT_INTERVAL: '200',
    OTEL_BSP_SCHEDULE_DELAY: '50',
    TEMPORAL_TASK_QUEUE: stack.config.TEMPORAL_TASK_QUEUE,
  };
  const port = await freePort();
  processes.start('worker', process.execPath, ['--import', 'tsx', 'src/main/worker.ts'], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)), env: { ...process.env, LOG_LEVEL: 'warn', ...otel },
  });
  await processes.startApi(port, otel);
  apiUrl = `http://127.0.0.1:${port}`;
  token = await createToken(stack.db, 'server');
});
afterAll(async () => {
  await processes.stopAll();
  await stack?.close();
  await new Promise((resolve) => collector?.close(resolve));
});

const ofrep = (path: string) => fetch(`${apiUrl}${path}`, {
  method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ context: { targetingKey: 'otel-user' } }),
});

describe('OpenTelemetry export', () => {
  it('sends evaluation spans and counters with feature_flag.* attributes, and spans for the kill workflow\'s activities', { timeout: 150_000 }, async () => {
    const key = uniqueKey('otel');
    await createFlag(stack, key, onForEveryone);
    expect((await ofrep(`/ofrep/v1/evaluate/flags/${key}`)).status).toBe(200);
    expect((await ofrep('/ofrep/v1/evaluate/flags')).status).toBe(200);
    const kill = await stack.request('POST', `/api/v1/flags/${key}/environments/production/kill-switch`, { body: { reason: 'otel test' } });
    expect(kill.status).toBe(201);

    const evaluation = await eventually(async () =>
      spans.find((span) => span.name === 'feature_flag.evaluation' && attributesOf(span.attributes)['feature_flag.key'] === key), 'the evaluation span');
    expect(evaluation.service).toBe('ripcord-api');
    expect(attributesOf(evaluation.attributes)).toMatchObject({
      'feature_flag.key': key,
      'feature_flag.provider.name': 'ripcord',
      'feature_flag.result.variant': 'on',
      'feature_flag.result.reason': 'split',
      'feature_flag.set.id': 'production',
      'feature_flag.version': expect.any(String),
    });
    await eventually(async () => spans.find((span) => span.name === 'feature_flag.evaluation.bulk'), 'the bulk evaluation span');

    // The counter counts the single and the bulk evaluation of the flag.
    const counted = await eventually(async () => {
      const points = metrics.filter((metric) => metric.name === 'feature_flag.evaluations')
        .flatMap((metric) => metric.sum?.dataPoints ?? [])
        .filter((point) => attributesOf(point.attributes)['feature_flag.key'] === key);
      const total = Math.max(0, ...points.map((point) => Number(point.asInt ?? point.asDouble ?? 0)));
      return total >= 2 ? points : undefined;
    }, 'two evaluations of the flag counted');
    expect(attributesOf(counted[0]!.attributes)).toMatchObject({ 'feature_flag.provider.name': 'ripcord', 'feature_flag.result.variant': 'on' });

    // The kill-switch workflow's activities, from the worker, name the flag.
    const disable = await eventually(async () =>
      spans.find((span) => span.name === 'killSwitch.disableFlag' && attributesOf(span.attributes)['feature_flag.key'] === key), 'the kill workflow\'s disableFlag span', 90_000);
    expect(disable.service).toBe('ripcord-worker');
    expect(attributesOf(disable.attributes)).toMatchObject({ 'feature_flag.set.id': 'production', 'ripcord.workflow.type': 'killSwitch' });
    await eventually(async () => metrics.some((metric) => metric.name === 'ripcord.workflow.activities'), 'the activity counter');
  });
});
