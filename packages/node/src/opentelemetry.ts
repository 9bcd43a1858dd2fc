import { metrics, trace, type Attributes, type AttributeValue, type Counter, type MeterProvider } from '@opentelemetry/api';
import {
  createEvaluationEvent,
  StandardResolutionReasons,
  TelemetryAttribute,
  type EvaluationDetails,
  type FlagValue,
  type Hook,
  type HookContext,
} from '@openfeature/server-sdk';

/**
 * OpenTelemetry for OpenFeature evaluations in the app, with the `feature_flag.*` semantic
 * conventions: `OpenFeature.addHooks(new OpenTelemetryHook())`. Its own entry point
 * (`@ripcord/node/opentelemetry`): apps that never import it never load `@opentelemetry/api`.
 *
 * Per evaluation (any provider, Ripcord's or not):
 * - a `feature_flag.evaluation` event on the active span, when there is one (the evaluation belongs
 *   to that request), and on the Logs API logger given as `logger` (the conventions now name the
 *   log-based event as the way to record evaluations; span events remain the common practice);
 * - the counter `feature_flag.evaluations`, the name Ripcord's server counts its own answers under.
 *   The conventions define no metric for flags; its attributes leave out `feature_flag.context.id`
 *   and the value, which would give one series per user.
 * With no SDK registered, OpenTelemetry's API is a no-op and so is this hook.
 */
export interface OpenTelemetryHookOptions {
  /** Where the counter is created; default: the global meter provider. */
  meterProvider?: MeterProvider;
  /**
   * Add `feature_flag.result.value` even when the provider names a variant (the conventions make it
   * opt-in then: values may carry data). Without a variant, the value is always recorded.
   */
  includeValue?: boolean;
  /** Also emit the event as a log record here (e.g. `logs.getLogger('app')` from `@opentelemetry/api-logs`). */
  logger?: EventLogger;
}

/** The part of OpenTelemetry's Logs API `Logger` this hook uses. */
export interface EventLogger {
  emit(record: { eventName?: string; attributes?: Attributes }): void;
}

/** The instrumentation scope the counter is created under. */
export const INSTRUMENTATION_SCOPE = '@ripcord/node/opentelemetry';
/** The counter of evaluations (unit `{evaluation}`). */
export const EVALUATIONS_METRIC = 'feature_flag.evaluations';

/** Attributes low in cardinality enough for the counter. */
const METRIC_ATTRIBUTES: readonly string[] = [
  TelemetryAttribute.KEY, TelemetryAttribute.PROVIDER, TelemetryAttribute.VARIANT, TelemetryAttribute.REASON,
  TelemetryAttribute.ERROR_CODE, TelemetryAttribute.FLAG_SET_ID,
];

export class OpenTelemetryHook implements Hook {
  private readonly evaluations: Counter;

  constructor(private readonly options: OpenTelemetryHookOptions = {}) {
    const meter = (options.meterProvider ?? metrics).getMeter(INSTRUMENTATION_SCOPE);
    this.evaluations = meter.createCounter(EVALUATIONS_METRIC, { description: 'Feature flag evaluations, by flag, variant, reason and error', unit: '{evaluation}' });
  }

  /** After every evaluation, successful or not (`finally` sees the final details either way). */
  finally(hookContext: Readonly<HookContext>, details: EvaluationDetails<FlagValue>): void {
    const event = createEvaluationEvent(hookContext, details);
    const attributes = toAttributes(event.attributes);
    // OpenFeature records the value always; the conventions only when there is no variant (else opt-in).
    if (details.variant && !this.options.includeValue) delete attributes[TelemetryAttribute.VALUE];
    // An error answer's value is the caller's default, not a result.
    if (details.reason === StandardResolutionReasons.ERROR) delete attributes[TelemetryAttribute.VALUE];
    trace.getActiveSpan()?.addEvent(event.name, attributes);
    this.options.logger?.emit({ eventName: event.name, attributes });
    const counted: Attributes = {};
    for (const name of METRIC_ATTRIBUTES) if (attributes[name] !== undefined) counted[name] = attributes[name];
    this.evaluations.add(1, counted);
  }
}

/** OpenFeature's event attributes as OpenTelemetry attribute values (strings, numbers, booleans). */
function toAttributes(source: Record<string, unknown>): Attributes {
  const attributes: Attributes = {};
  for (const [name, value] of Object.entries(source)) {
    if (value === undefined || value === null) continue;
    attributes[name] = (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? value : JSON.stringify(value)) as AttributeValue;
  }
  return attributes;
}
