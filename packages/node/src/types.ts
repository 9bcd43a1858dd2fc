import type { Reason } from '../../../src/engine/index.js';

/** A JSON value, as json flags serve. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
/** Any value a flag can serve. */
export type FlagValue = boolean | string | number | JsonValue;

declare global {
  /**
   * Flag keys and their value types. Empty until `npx ripcord typegen` writes a `.d.ts` that adds
   * to it; then keys and defaults are checked by the compiler everywhere the SDKs take a key.
   */
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface RipcordFlagTypes {}
  /** Flag keys and the union of their variant names, also written by typegen. */
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface RipcordFlagVariants {}
}

type Registered = keyof RipcordFlagTypes;
/** Whether typegen's declarations are present. */
export type FlagsRegistered = [Registered] extends [never] ? false : true;
/** A flag key: any string, or only the generated keys once typegen ran. */
export type FlagKey = FlagsRegistered extends true ? Registered : string;
/** Keys whose flags serve values of type V (every string before typegen ran). */
export type KeyOfType<V> = FlagsRegistered extends true ? { [K in Registered]: RipcordFlagTypes[K] extends V ? K : never }[Registered] : string;
/** The value type of a key, or the default's (widened) type when the key is not registered. */
export type ValueOf<K, D> = K extends Registered ? RipcordFlagTypes[K] : Widen<D>;
/** The variant names of a key (typegen's union), or any string. */
export type VariantOf<K> = K extends keyof RipcordFlagVariants ? RipcordFlagVariants[K] : string;
/** What a default may be for a key. */
export type DefaultOf<K> = K extends Registered ? RipcordFlagTypes[K] : FlagValue;
/** `false` → boolean, `'a'` → string, `1` → number: a default's literal type says nothing about the flag. */
export type Widen<T> = T extends boolean ? boolean : T extends string ? string : T extends number ? number : T;

/** Error codes (OpenFeature's, plus the engine's). */
export type SdkErrorCode =
  | 'FLAG_NOT_FOUND'
  | 'TYPE_MISMATCH'
  | 'TARGETING_KEY_MISSING'
  | 'INVALID_CONTEXT'
  | 'PARSE_ERROR'
  | 'PROVIDER_NOT_READY'
  | 'GENERAL';

/** The answer for one flag, with why. On any failure `value` is the caller's default and `reason` is ERROR. */
export interface EvaluationDetails<T = FlagValue, V extends string = string> {
  flagKey: string;
  value: T;
  /** The variant served (typed as the flag's variant names once typegen ran); absent on errors. */
  variant?: V;
  reason: Reason;
  errorCode?: SdkErrorCode;
  errorMessage?: string;
  ruleId?: string;
  segmentId?: string;
  /** The flag's version that answered (local mode, and remote mode when the API says it). */
  version?: number;
  metadata?: Record<string, string | number | boolean>;
}

/** An evaluation context: OFREP's targeting key and any attributes. */
export type EvaluationContext = { targetingKey?: string; [attribute: string]: unknown };

/** Why the SDK could not do something; handed to `onError`, never thrown at an evaluation. */
export class RipcordSdkError extends Error {
  constructor(
    readonly code: 'FETCH_FAILED' | 'STREAM_FAILED' | 'INVALID_PAYLOAD' | 'UNAUTHORIZED' | 'EVENTS_FAILED' | 'BOOTSTRAP_FAILED' | 'TIMEOUT' | 'INVALID_CONTEXT' | 'REPORT_FAILED',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RipcordSdkError';
  }
}

/** Where a local client's definitions came from. */
export type DefinitionsSource = 'none' | 'bootstrap' | 'server';
