import { createRequire } from 'node:module';
import { context, trace, type Tracer } from '@opentelemetry/api';
import { OpenFeature, type Client } from '@openfeature/server-sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createClient } from '@ripcord/node';
import { RipcordProvider } from '@ripcord/node/openfeature';
import { EVALUATIONS_METRIC, OpenTelemetryHook } from '@ripcord/node/opentelemetry';

// The real OpenTelemetry SDK with its in-memory exporters. Its packages' "module" builds use
// extensionless imports that vitest's resolver can't load, so they come in through their CommonJS
// builds; the API (ESM here, CommonJS inside the SDK) shares one global registry across both.
const require = createRequire(import.meta.url);
const { TracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace') as typeof import('@opentelemetry/sdk-trace');
const { MeterProvider, InMemoryMetricExporter, PeriodicExportingMetricReader, AggregationTemporality } = require('@opentelemetry/sdk-metrics') as typeof import('@opentelemetry/sdk-metrics');
const { LoggerProvider, InMemoryLogRecordExporter, SimpleLogRecordProcessor } = require('@opentelemetry/sdk-logs') as typeof import('@opentelemetry/sdk-logs');
const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks') as typeof import('@opentelemetry/context-async-hooks');

const definition = (key: string, type: 'boolean' | 'string', config: Record<string, unknown>) => ({
  key, type, environment: 'production', version: 7,
  config: { enabled: true, rules: [], targeting: [], kill_switch: { enabled: false }, ...config },
});
const bootstrap = {
  environment: 'production', version: 7, segments: [],
  flags: [
    definition('new-nav', 'boolean', { value: true, off_value: false }),
    definition('layout', 'string', {
      on_variant: 'wide', off_variant: 'control',
      variants: [{ name: 'control', value: 'control' }, { name: 'wide', value: 'wide-layout' }],
    }),
  ],
};

const spans = new InMemorySpanExporter();
const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: spans })] });
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
const meterProvider = new MeterProvider({ readers: [reader] });
const contextManager = new AsyncLocalStorageContextManager();
let tracer: Tracer;
let client: Client;

beforeAll(async () => {
  context.setGlobalContextManager(contextManager.enable());
  trace.setGlobalTracerProvider(tracerProvider);
  tracer = trace.getTracer('app');
  OpenFeature.addHooks(new OpenTelemetryHook({ meterProvider }));
  await OpenFeature.setProviderAndWait('otel-test', new RipcordProvider(createClient({ offline: true, bootstrap })));
  client = OpenFeature.getClient('otel-test');
});

afterAll(async () => {
  await OpenFeature.close();
  OpenFeature.clearHooks();
  await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()]);
  trace.disable();
  context.disable();
});

beforeEach(() => spans.reset());

/** Evaluates inside a request span, as a handler would; returns that span's events once it ended. */
async function inRequestSpan(evaluate: () => Promise<unknown>) {
  await tracer.startActiveSpan('GET /checkout', async (span) => {
    await evaluate();
    span.end();
  });
  const [request] = spans.getFinishedSpans();
  expect(request?.name).toBe('GET /checkout');
  return request!.events;
}

describe('@ripcord/node/opentelemetry: the OpenFeature hook', () => {
  it('adds a feature_flag.evaluation event with the semantic-convention attributes to the active span', async () => {
    const events = await inRequestSpan(async () => {
      expect(await client.getBooleanValue('new-nav', false, { targetingKey: 'user-42' })).toBe(true);
      expect(await client.getStringValue('layout', 'control', { targetingKey: 'user-43' })).toBe('wide-layout');
    });
    expect(events.map((e) => e.name)).toEqual(['feature_flag.evaluation', 'feature_flag.evaluation']);
    expect(events[0]!.attributes).toEqual({
      'feature_flag.key': 'new-nav',
      'feature_flag.provider.name': 'ripcord',
      'feature_flag.result.variant': 'on',
      'feature_flag.result.reason': 'static',
      'feature_flag.context.id': 'user-42',
      'feature_flag.version': 7,
    });
    // A variant names the result, so the value (opt-in then) is left out.
    expect(events[1]!.attributes).toMatchObject({ 'feature_flag.key': 'layout', 'feature_flag.result.variant': 'wide', 'feature_flag.context.id': 'user-43' });
    expect(events[1]!.attributes).not.toHaveProperty('feature_flag.result.value');
  });

  it('records errors as error.type, without the default as a result value', async () => {
    const events = await inRequestSpan(async () => {
      expect(await client.getBooleanValue('no-such-flag', false, { targetingKey: 'user-1' })).toBe(false);
      expect(await client.getNumberValue('new-nav', 3, { targetingKey: 'user-1' })).toBe(3);
    });
    expect(events.map((e) => [e.attributes?.['feature_flag.key'], e.attributes?.['feature_flag.result.reason'], e.attributes?.['error.type']])).toEqual([
      ['no-such-flag', 'error', 'flag_not_found'],
      ['new-nav', 'error', 'type_mismatch'],
    ]);
    for (const event of events) expect(event.attributes).not.toHaveProperty('feature_flag.result.value');
  });

  it('records the value when asked to, and adds nothing when no span is active', async () => {
    const hook = new OpenTelemetryHook({ meterProvider, includeValue: true });
    const events = await inRequestSpan(() => client.getStringValue('layout', 'control', { targetingKey: 'u' }, { hooks: [hook] }));
    // The invocation's hook (finally hooks run innermost first) carries the value, the global one not.
    expect(events.map((e) => e.attributes?.['feature_flag.result.value'])).toEqual(['wide-layout', undefined]);
    spans.reset();
    expect(await client.getBooleanValue('new-nav', false)).toBe(true);
    expect(spans.getFinishedSpans()).toEqual([]);
  });

  it('emits the event as a log record on the Logs API logger it is given', async () => {
    const records = new InMemoryLogRecordExporter();
    const loggerProvider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter: records })] });
    const hook = new OpenTelemetryHook({ meterProvider, logger: loggerProvider.getLogger('app') });
    await client.getStringValue('layout', 'control', { targetingKey: 'logged' }, { hooks: [hook] });
    await loggerProvider.forceFlush();
    expect(records.getFinishedLogRecords().map((r) => [r.eventName, r.attributes['feature_flag.key'], r.attributes['feature_flag.result.variant'], r.attributes['feature_flag.context.id']]))
      .toEqual([['feature_flag.evaluation', 'layout', 'wide', 'logged']]);
    await loggerProvider.shutdown();
  });

  it('counts evaluations in feature_flag.evaluations, by flag, variant, reason and error (no per-user series)', async () => {
    for (let i = 0; i < 5; i++) await client.getBooleanValue('new-nav', false, { targetingKey: `counted-${i}` });
    await reader.forceFlush();
    const exported = metricExporter.getMetrics().at(-1)!;
    const metric = exported.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === EVALUATIONS_METRIC)!;
    expect(metric.descriptor.unit).toBe('{evaluation}');
    const series = metric.dataPoints.map((p) => ({ attributes: p.attributes, value: p.value }));
    const newNav = series.find((s) => s.attributes['feature_flag.key'] === 'new-nav' && s.attributes['feature_flag.result.reason'] === 'static')!;
    expect(newNav.attributes).toEqual({ 'feature_flag.key': 'new-nav', 'feature_flag.provider.name': 'ripcord', 'feature_flag.result.variant': 'on', 'feature_flag.result.reason': 'static' });
    // Every evaluation of new-nav in this file that answered on: 1 + 1 (no span) + 5.
    expect(newNav.value).toBe(7);
    expect(series.find((s) => s.attributes['error.type'] === 'flag_not_found')?.value).toBe(1);
    for (const s of series) expect(s.attributes).not.toHaveProperty('feature_flag.context.id');
  });
});
