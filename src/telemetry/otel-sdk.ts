import { SpanKind, SpanStatusCode, type Attributes, type Span } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { PROVIDER_NAME, type EvaluationRecord, type Telemetry } from './index.js';

// Loaded only when OTEL_EXPORTER_OTLP_ENDPOINT is set (see index.ts). Under vitest's resolver the
// SDK's "module" builds do not load (extensionless imports), so its test runs the API and worker as
// processes of their own, as in production.

/** The `feature_flag.*` attributes of an evaluation (OpenTelemetry semantic conventions). */
function evaluationAttributes(record: EvaluationRecord): Attributes {
  const attributes: Attributes = {
    'feature_flag.key': record.key,
    'feature_flag.provider.name': PROVIDER_NAME,
    'feature_flag.set.id': record.environment,
    'feature_flag.result.reason': record.reason.toLowerCase(),
  };
  if (record.variant) attributes['feature_flag.result.variant'] = record.variant;
  if (record.version !== undefined) attributes['feature_flag.version'] = String(record.version);
  if (record.errorCode) attributes['error.type'] = record.errorCode.toLowerCase();
  return attributes;
}

export function createOtelTelemetry(options: { endpoint: string; serviceName: string; metricIntervalMs: number; spanDelayMs: number }): Telemetry {
  const base = options.endpoint.replace(/\/+$/, '');
  const resource = resourceFromAttributes({ 'service.name': options.serviceName });
  const tracerProvider = new TracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: `${base}/v1/traces` }), scheduledDelayMillis: options.spanDelayMs })],
  });
  const meterProvider = new MeterProvider({
    resource,
    readers: [new PeriodicExportingMetricReader({
      exporter: new OTLPMetricExporter({ url: `${base}/v1/metrics` }),
      exportIntervalMillis: options.metricIntervalMs,
      exportTimeoutMillis: Math.min(30_000, options.metricIntervalMs),
    })],
  });
  const tracer = tracerProvider.getTracer('ripcord');
  const meter = meterProvider.getMeter('ripcord');
  const evaluations = meter.createCounter('feature_flag.evaluations', { description: 'Flag evaluations answered', unit: '{evaluation}' });
  const activities = meter.createCounter('ripcord.workflow.activities', { description: 'Workflow activities run (kill switch, rollouts, webhooks)', unit: '{activity}' });

  return {
    evaluation(record) {
      const attributes = evaluationAttributes(record);
      evaluations.add(1, attributes);
      tracer.startSpan('feature_flag.evaluation', { kind: SpanKind.SERVER, attributes }).end();
    },
    bulkEvaluation(environment, records) {
      for (const record of records) evaluations.add(1, evaluationAttributes(record));
      tracer.startSpan('feature_flag.evaluation.bulk', {
        kind: SpanKind.SERVER,
        attributes: { 'feature_flag.provider.name': PROVIDER_NAME, 'feature_flag.set.id': environment, 'ripcord.flag.count': records.length },
      }).end();
    },
    async activity(record, run) {
      const attributes: Attributes = {
        'ripcord.activity.type': record.activityType,
        'ripcord.workflow.type': record.workflowType,
        'ripcord.workflow.id': record.workflowId,
        'feature_flag.provider.name': PROVIDER_NAME,
      };
      if (record.flagKey) attributes['feature_flag.key'] = record.flagKey;
      if (record.environment) attributes['feature_flag.set.id'] = record.environment;
      return tracer.startActiveSpan(`${record.workflowType}.${record.activityType}`, { kind: SpanKind.INTERNAL, attributes }, async (span: Span) => {
        try {
          const result = await run();
          activities.add(1, { ...attributes, outcome: 'completed' });
          return result;
        } catch (error) {
          activities.add(1, { ...attributes, outcome: 'failed' });
          span.recordException(error as Error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
          throw error;
        } finally {
          span.end();
        }
      });
    },
    async shutdown() {
      await Promise.allSettled([tracerProvider.shutdown(), meterProvider.shutdown()]);
    },
  };
}
