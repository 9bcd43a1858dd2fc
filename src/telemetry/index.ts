import type { Logger } from '../logger.js';

/**
 * OpenTelemetry for the API and the worker, with the `feature_flag.*` semantic conventions. Off
 * (and free: no SDK module is even loaded) unless `OTEL_EXPORTER_OTLP_ENDPOINT` is set; then spans
 * and metrics go over OTLP/HTTP (JSON) to `<endpoint>/v1/traces` and `<endpoint>/v1/metrics`.
 */
export interface Telemetry {
  /** One evaluation answered (OFREP single flag): a span and the evaluation counter. */
  evaluation(record: EvaluationRecord): void;
  /** A bulk answer: one span for the request, the counter once per flag. */
  bulkEvaluation(environment: string, records: readonly EvaluationRecord[]): void;
  /** Runs a workflow activity (kill switch, rollout, webhook) inside a span, counting it. */
  activity<T>(record: ActivityRecord, run: () => Promise<T>): Promise<T>;
  /** Exports what is pending and stops. */
  shutdown(): Promise<void>;
}

export interface EvaluationRecord {
  key: string;
  environment: string;
  variant: string | null | undefined;
  reason: string;
  version?: number;
  errorCode?: string;
}

export interface ActivityRecord {
  activityType: string;
  workflowType: string;
  workflowId: string;
  /** The flag the activity acts on, when its input names one. */
  flagKey?: string;
  environment?: string;
}

export interface TelemetrySettings {
  OTEL_EXPORTER_OTLP_ENDPOINT?: string;
  OTEL_SERVICE_NAME?: string;
  /** Milliseconds between metric exports (the SDK's own variable). */
  OTEL_METRIC_EXPORT_INTERVAL?: number;
  /** Milliseconds between span batch exports (the SDK's own variable). */
  OTEL_BSP_SCHEDULE_DELAY?: number;
}

/** The provider name Ripcord reports as `feature_flag.provider.name`. */
export const PROVIDER_NAME = 'ripcord';

/** Starts OpenTelemetry when an OTLP endpoint is configured; undefined (nothing loaded) otherwise. */
export async function startTelemetry(settings: TelemetrySettings, process: 'api' | 'worker', logger: Logger): Promise<Telemetry | undefined> {
  if (!settings.OTEL_EXPORTER_OTLP_ENDPOINT) return undefined;
  // Lazy: the SDK and exporters are loaded only here.
  const { createOtelTelemetry } = await import('./otel-sdk.js');
  const telemetry = createOtelTelemetry({
    endpoint: settings.OTEL_EXPORTER_OTLP_ENDPOINT,
    serviceName: settings.OTEL_SERVICE_NAME ?? `ripcord-${process}`,
    metricIntervalMs: settings.OTEL_METRIC_EXPORT_INTERVAL ?? 60_000,
    spanDelayMs: settings.OTEL_BSP_SCHEDULE_DELAY ?? 5_000,
  });
  logger.info({ endpoint: settings.OTEL_EXPORTER_OTLP_ENDPOINT }, 'OpenTelemetry export on');
  return telemetry;
}
