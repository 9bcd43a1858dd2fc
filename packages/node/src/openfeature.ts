import {
  ErrorCode,
  OpenFeatureEventEmitter,
  ProviderEvents,
  type EvaluationContext as OpenFeatureContext,
  type JsonValue as OpenFeatureJson,
  type Provider,
  type ResolutionDetails,
} from '@openfeature/server-sdk';
import { createClient } from './create-client.js';
import type { LocalClient } from './local-client.js';
import type { ClientOptionsInput } from './options.js';
import type { EvaluationDetails, FlagValue } from './types.js';

/**
 * An OpenFeature server provider over a local-mode Ripcord client: evaluation in process, changes
 * announced as `ConfigurationChanged`. Switching an OpenFeature app to Ripcord is one line:
 * `await OpenFeature.setProviderAndWait(new RipcordProvider({ url, token }))`.
 */
export class RipcordProvider implements Provider {
  readonly metadata = { name: 'ripcord' } as const;
  readonly runsOn = 'server' as const;
  readonly events = new OpenFeatureEventEmitter();
  readonly client: LocalClient;
  private readonly ownsClient: boolean;
  private unsubscribe: (() => void) | undefined;

  /** Wraps an existing local client, or makes one from client options. */
  constructor(clientOrOptions: LocalClient | (ClientOptionsInput & { mode?: 'local' }), private readonly readyTimeoutMs = 5_000) {
    this.ownsClient = !('details' in clientOrOptions);
    this.client = 'details' in clientOrOptions ? clientOrOptions : createClient({ ...clientOrOptions, mode: 'local' });
  }

  /** Waits for definitions (or a bootstrap); OpenFeature reports the provider ready or in error accordingly. */
  async initialize(): Promise<void> {
    let late = false;
    this.unsubscribe = this.client.onChange((flagsChanged) => {
      // Not ready in time: OpenFeature reported the error; Ready follows once definitions arrive.
      if (late && this.client.status().source !== 'none') {
        late = false;
        this.events.emit(ProviderEvents.Ready);
      }
      this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged });
    });
    try {
      await this.client.ready(this.readyTimeoutMs);
    } catch (error) {
      late = true;
      throw error;
    }
  }

  async onClose(): Promise<void> {
    this.unsubscribe?.();
    if (this.ownsClient) await this.client.close();
  }

  async resolveBooleanEvaluation(flagKey: string, defaultValue: boolean, context: OpenFeatureContext): Promise<ResolutionDetails<boolean>> {
    return this.resolve(flagKey, defaultValue, context);
  }

  async resolveStringEvaluation(flagKey: string, defaultValue: string, context: OpenFeatureContext): Promise<ResolutionDetails<string>> {
    return this.resolve(flagKey, defaultValue, context);
  }

  async resolveNumberEvaluation(flagKey: string, defaultValue: number, context: OpenFeatureContext): Promise<ResolutionDetails<number>> {
    return this.resolve(flagKey, defaultValue, context);
  }

  async resolveObjectEvaluation<T extends OpenFeatureJson>(flagKey: string, defaultValue: T, context: OpenFeatureContext): Promise<ResolutionDetails<T>> {
    return this.resolve(flagKey, defaultValue, context);
  }

  private resolve<T>(flagKey: string, defaultValue: T, context: OpenFeatureContext): ResolutionDetails<T> {
    return toResolution(this.client.resolve(flagKey, defaultValue as FlagValue, context as Record<string, unknown>), defaultValue);
  }
}

const ERROR_CODES: Record<string, ErrorCode> = {
  FLAG_NOT_FOUND: ErrorCode.FLAG_NOT_FOUND,
  TYPE_MISMATCH: ErrorCode.TYPE_MISMATCH,
  TARGETING_KEY_MISSING: ErrorCode.TARGETING_KEY_MISSING,
  INVALID_CONTEXT: ErrorCode.INVALID_CONTEXT,
  PARSE_ERROR: ErrorCode.PARSE_ERROR,
  PROVIDER_NOT_READY: ErrorCode.PROVIDER_NOT_READY,
};

function toResolution<T>(details: EvaluationDetails, defaultValue: T): ResolutionDetails<T> {
  const flagMetadata = { ...(details.version === undefined ? {} : { version: details.version }), ...(details.ruleId ? { ruleId: details.ruleId } : {}), ...details.metadata };
  if (details.reason === 'ERROR') {
    return { value: defaultValue, reason: 'ERROR', errorCode: ERROR_CODES[details.errorCode ?? ''] ?? ErrorCode.GENERAL, errorMessage: details.errorMessage, flagMetadata };
  }
  return { value: details.value as T, variant: details.variant, reason: details.reason, flagMetadata };
}
