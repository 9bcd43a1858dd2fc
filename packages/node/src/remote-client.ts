import { z } from 'zod';
import { stableJson } from './stable-json.js';
import { typeOfDefault } from './local-client.js';
import type { ClientOptions } from './options.js';
import { OutcomeReporter, type Outcome } from './outcome-reporter.js';
import { hostname } from 'node:os';
import { InstanceReporter } from './instance-reporter.js';
import { SDK_VERSION } from './sdk-version.js';
import {
  RipcordSdkError,
  type DefaultOf,
  type EvaluationContext,
  type EvaluationDetails,
  type FlagKey,
  type FlagValue,
  type JsonValue,
  type KeyOfType,
  type SdkErrorCode,
  type ValueOf,
} from './types.js';

const answerSchema = z.object({
  environment: z.string(),
  flags: z.array(
    z.object({
      key: z.string(),
      value: z.unknown(),
      variant: z.string().nullable(),
      reason: z.enum(['STATIC', 'DEFAULT', 'TARGETING_MATCH', 'SPLIT', 'DISABLED', 'ERROR']),
      version: z.number().optional(),
      rule_id: z.string().optional(),
      error_code: z.string().optional(),
      error_message: z.string().optional(),
      metadata: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
    }),
  ),
});
type Answer = z.infer<typeof answerSchema>['flags'][number];

// Last answers per context, to serve through an outage and to make bulk re-reads 304s.
const MAX_CACHED_CONTEXTS = 1000;

/**
 * A remote-mode client: every call asks `POST /api/v1/evaluate` (bulk reads send the last ETag for
 * that context). When the API can't be reached it answers the last value it got for that context
 * and flag, else the default — never throws.
 */
export class RemoteClient {
  readonly mode = 'remote' as const;
  private readonly fetch: typeof fetch;
  private readonly url: string;
  private readonly token: string;
  private readonly cache = new Map<string, { etag?: string; flags: Map<string, Answer> }>();
  private readonly reporter: OutcomeReporter;
  private readonly instance: InstanceReporter | undefined;

  constructor(private readonly options: ClientOptions) {
    this.fetch = options.fetch ?? globalThis.fetch;
    this.url = options.url!;
    this.token = options.token!;
    this.reporter = new OutcomeReporter({
      url: this.url, token: this.token, fetch: this.fetch, flushIntervalMs: options.eventsFlushIntervalMs,
      requestTimeoutMs: options.requestTimeoutMs, onError: (error) => this.report(error),
    });
    this.reporter.start();
    // Listed in the fleet view with the newest flag version it was answered; a remote client holds no
    // copy (every answer comes from a replica), so kill confirmations do not count it.
    if (options.reportInstance) {
      this.instance = new InstanceReporter({
        url: this.url, token: this.token, fetch: this.fetch, kind: 'node-remote', app: options.appName, appVersion: options.appVersion,
        host: hostname(), sdkVersion: SDK_VERSION, requestTimeoutMs: options.requestTimeoutMs,
        onError: (error) => this.report(new RipcordSdkError('REPORT_FAILED', `could not report this instance: ${error.message}`, { cause: error })),
      });
      this.instance.start();
    }
  }

  /** This instance's id in Ripcord's fleet view (undefined when it does not report). */
  get instanceId(): string | undefined {
    return this.instance?.id;
  }

  async boolean<K extends KeyOfType<boolean>>(key: K, defaultValue: boolean, context?: EvaluationContext): Promise<boolean> {
    return (await this.resolve(key, defaultValue, context)).value as boolean;
  }

  async string<K extends KeyOfType<string>>(key: K, defaultValue: string, context?: EvaluationContext): Promise<string> {
    return (await this.resolve(key, defaultValue, context)).value as string;
  }

  async number<K extends KeyOfType<number>>(key: K, defaultValue: number, context?: EvaluationContext): Promise<number> {
    return (await this.resolve(key, defaultValue, context)).value as number;
  }

  async json<T extends JsonValue, K extends FlagKey = FlagKey>(key: K, defaultValue: T, context?: EvaluationContext): Promise<T> {
    return (await this.resolve(key, defaultValue, context)).value as T;
  }

  async details<K extends FlagKey, D extends DefaultOf<K>>(key: K, defaultValue: D, context?: EvaluationContext): Promise<EvaluationDetails<ValueOf<K, D>>> {
    return (await this.resolve(key, defaultValue as FlagValue, context)) as EvaluationDetails<ValueOf<K, D>>;
  }

  /** details() without the generated key types, for adapters that pass keys through. */
  async resolve(key: string, defaultValue: FlagValue, context?: EvaluationContext): Promise<EvaluationDetails> {
    const contextKey = stableJson(context ?? {});
    let answer: Answer | undefined;
    try {
      const answers = await this.request(context ?? {}, [key], undefined);
      answer = answers?.flags[0];
      if (answer) this.remember(contextKey, [answer]);
    } catch (error) {
      this.report(toSdkError(error));
      answer = this.cache.get(contextKey)?.flags.get(key);
      if (!answer) return fallback(key, defaultValue, 'GENERAL', `the API is unreachable: ${String(error instanceof Error ? error.message : error)}`);
    }
    return toDetails(key, defaultValue, answer);
  }

  /** Every flag for one context (bulk, with ETag per context); the last answer when the API is unreachable. */
  async all(context?: EvaluationContext): Promise<Record<string, EvaluationDetails>> {
    const contextKey = stableJson(context ?? {});
    const cached = this.cache.get(contextKey);
    try {
      const answers = await this.request(context ?? {}, undefined, cached?.etag);
      if (answers) this.remember(contextKey, answers.flags, answers.etag, true);
    } catch (error) {
      this.report(toSdkError(error));
    }
    const out: Record<string, EvaluationDetails> = {};
    for (const [key, answer] of this.cache.get(contextKey)?.flags ?? []) out[key] = toDetails(key, null, answer, false);
    return out;
  }

  track(key: FlagKey, outcome: Outcome, context?: EvaluationContext): void {
    const answer = this.cache.get(stableJson(context ?? {}))?.flags.get(key);
    if (answer?.variant) this.reporter.record(key, answer.variant, outcome);
  }

  recordOutcome(key: string, variant: string, outcome: Outcome, count = 1): void {
    this.reporter.record(key, variant, outcome, count);
  }

  /** A remote client is ready at once: each call asks the API. */
  ready(): Promise<'server'> {
    return Promise.resolve('server');
  }

  async flush(): Promise<void> {
    await this.reporter.flush();
  }

  async close(): Promise<void> {
    await Promise.all([this.reporter.close(), this.instance?.close()]);
  }

  /** The evaluation answer, or undefined on 304 (the cached one stands). */
  private async request(context: EvaluationContext, flags: string[] | undefined, etag: string | undefined): Promise<{ flags: Answer[]; etag?: string } | undefined> {
    const response = await this.fetch(`${this.url}/api/v1/evaluate`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${this.token}`, 'content-type': 'application/json', 'user-agent': 'ripcord-node-sdk',
        ...(etag ? { 'if-none-match': etag } : {}),
      },
      body: JSON.stringify({ context: wireContext(context), ...(flags ? { flags } : {}) }),
      signal: AbortSignal.timeout(this.options.requestTimeoutMs),
    });
    if (response.status === 304) return undefined;
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      throw new RipcordSdkError(response.status === 401 || response.status === 403 ? 'UNAUTHORIZED' : 'FETCH_FAILED', `evaluation answered HTTP ${response.status}`);
    }
    const parsed = answerSchema.safeParse(await response.json());
    if (!parsed.success) throw new RipcordSdkError('INVALID_PAYLOAD', 'the evaluation answer could not be read');
    for (const flag of parsed.data.flags) if (flag.version !== undefined) this.instance?.serving(flag.version);
    return { flags: parsed.data.flags, etag: response.headers.get('etag') ?? undefined };
  }

  private remember(contextKey: string, answers: Answer[], etag?: string, whole = false): void {
    let entry = this.cache.get(contextKey);
    if (!entry) {
      if (this.cache.size >= MAX_CACHED_CONTEXTS) this.cache.delete(this.cache.keys().next().value!);
      entry = { flags: new Map() };
      this.cache.set(contextKey, entry);
    }
    if (whole) {
      entry.flags = new Map();
      entry.etag = etag;
    }
    for (const answer of answers) if (answer.error_code !== 'FLAG_NOT_FOUND') entry.flags.set(answer.key, answer);
  }

  private report(error: RipcordSdkError): void {
    try {
      this.options.onError?.(error);
    } catch {
      // onError must not break the client
    }
  }
}

function fallback(key: string, value: unknown, errorCode: SdkErrorCode, errorMessage: string): EvaluationDetails {
  return { flagKey: key, value: value as FlagValue, reason: 'ERROR', errorCode, errorMessage };
}

/** The context as /api/v1/evaluate takes it: the targeting key is `targeting_key` on the wire (snake_case like all of /api/v1). */
function wireContext({ targetingKey, ...attributes }: EvaluationContext): Record<string, unknown> {
  return targetingKey === undefined ? attributes : { ...attributes, targeting_key: targetingKey };
}

const KNOWN_CODES = new Set<SdkErrorCode>(['FLAG_NOT_FOUND', 'TYPE_MISMATCH', 'TARGETING_KEY_MISSING', 'INVALID_CONTEXT', 'PARSE_ERROR', 'PROVIDER_NOT_READY', 'GENERAL']);

function toDetails(key: string, defaultValue: FlagValue, answer: Answer | undefined, checkType = true): EvaluationDetails {
  if (!answer) return fallback(key, defaultValue, 'FLAG_NOT_FOUND', `flag '${key}' was not found`);
  const base = {
    flagKey: key,
    ...(answer.version === undefined ? {} : { version: answer.version }),
    ...(answer.rule_id ? { ruleId: answer.rule_id } : {}),
    ...(answer.metadata ? { metadata: answer.metadata } : {}),
  };
  if (answer.reason === 'ERROR') {
    const code = KNOWN_CODES.has(answer.error_code as SdkErrorCode) ? (answer.error_code as SdkErrorCode) : 'GENERAL';
    return { ...base, value: defaultValue, reason: 'ERROR', errorCode: code, errorMessage: answer.error_message ?? 'evaluation failed' };
  }
  const expected = typeOfDefault(defaultValue);
  if (checkType && expected !== 'json' && typeof answer.value !== expected) {
    return { ...base, value: defaultValue, reason: 'ERROR', errorCode: 'TYPE_MISMATCH', errorMessage: `flag '${key}' serves ${typeof answer.value}, not ${expected}` };
  }
  return { ...base, value: answer.value as FlagValue, ...(answer.variant ? { variant: answer.variant } : {}), reason: answer.reason };
}

function toSdkError(error: unknown): RipcordSdkError {
  return error instanceof RipcordSdkError ? error : new RipcordSdkError('FETCH_FAILED', `evaluation request failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}
