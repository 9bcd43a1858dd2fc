/** Ripcord's React SDK: a provider, `useFlag`/`useFlags` with live updates, SSR-safe. */
export { RipcordProvider, useFlag, useFlagDetails, useFlags, useVariant, type RipcordProviderProps } from './provider.js';
export { BrowserFlagClient, type BrowserClientOptions, type FlagsSnapshot, type FlagState, type StorageLike } from './browser-client.js';
export type { EvaluationContext, EvaluationDetails, FlagKey, FlagValue, JsonValue } from '../../node/src/types.js';
