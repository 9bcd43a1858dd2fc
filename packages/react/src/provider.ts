import { createContext, createElement, useContext, useEffect, useMemo, useSyncExternalStore, type ReactNode } from 'react';
import type { DefaultOf, EvaluationDetails, FlagKey, FlagValue, ValueOf, VariantOf } from '../../node/src/types.js';
import { BrowserFlagClient, stableJson, type BrowserClientOptions, type FlagsSnapshot, type FlagState } from './browser-client.js';

const ClientContext = createContext<BrowserFlagClient | null>(null);

/** The browser client's options (a `fetch` of its own aside), and what renders below the provider. */
export type RipcordProviderProps = Omit<BrowserClientOptions, 'fetch'> & { children?: ReactNode };

/**
 * Makes flags available to `useFlag` and `useFlags` below it. Renders on a server without touching
 * browser APIs; in the browser the first render uses the last values cached in localStorage, then
 * the API's answer, then every change pushed over SSE.
 */
export function RipcordProvider(props: RipcordProviderProps): ReactNode {
  const { url, token, context, initialFlags, live, pollIntervalMs, storage, onError, appName, appVersion, reportInstance, children } = props;
  const contextKey = stableJson(context ?? {});
  // A new client only when what is evaluated changes: the context is compared by value, and
  // initialFlags and onError matter only to the first client.
  const client = useMemo(
    () => new BrowserFlagClient({ url, token, context, initialFlags, live, pollIntervalMs, storage, onError, appName, appVersion, reportInstance }),
    [url, token, contextKey, live, pollIntervalMs, storage, appName, appVersion, reportInstance],
  );
  useEffect(() => {
    client.start();
    return () => client.stop();
  }, [client]);
  return createElement(ClientContext.Provider, { value: client }, children);
}

const NO_FLAGS: FlagsSnapshot = Object.freeze({ flags: Object.freeze({}), status: 'loading' });
const noSubscription = () => () => undefined;

function useSnapshot(): FlagsSnapshot {
  const client = useContext(ClientContext);
  return useSyncExternalStore(
    client ? client.subscribe : noSubscription,
    client ? client.getSnapshot : () => NO_FLAGS,
    client ? client.getServerSnapshot : () => NO_FLAGS,
  );
}

function typeOf(value: unknown): string {
  return value === null || Array.isArray(value) || typeof value === 'object' ? 'json' : typeof value;
}

function detailsOf<T>(key: string, state: FlagState | undefined, defaultValue: T): EvaluationDetails<T> {
  if (!state) return { flagKey: key, value: defaultValue, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND', errorMessage: `flag '${key}' is not known (yet)` };
  if (state.errorCode || state.value === undefined) {
    return { flagKey: key, value: defaultValue, reason: 'ERROR', errorCode: (state.errorCode as EvaluationDetails['errorCode']) ?? 'GENERAL', errorMessage: 'evaluation failed' };
  }
  const expected = typeOf(defaultValue);
  if (expected !== 'json' && typeOf(state.value) !== expected) {
    return { flagKey: key, value: defaultValue, reason: 'ERROR', errorCode: 'TYPE_MISMATCH', errorMessage: `flag '${key}' serves ${typeOf(state.value)}, not ${expected}` };
  }
  return { flagKey: key, value: state.value as T, variant: state.variant, reason: (state.reason ?? 'STATIC') as EvaluationDetails['reason'] };
}

/**
 * A flag's value for the provider's context, re-rendering when it changes. Answers `defaultValue`
 * before the first answer, without a provider, for an unknown flag or one of another type.
 */
export function useFlag<K extends FlagKey, D extends DefaultOf<K>>(key: K, defaultValue: D): ValueOf<K, D> {
  const snapshot = useSnapshot();
  return detailsOf(key, snapshot.flags[key], defaultValue).value as ValueOf<K, D>;
}

/** Like useFlag, with the variant (typed as the flag's variant names once typegen ran), reason and error code. */
export function useFlagDetails<K extends FlagKey, D extends DefaultOf<K>>(key: K, defaultValue: D): EvaluationDetails<ValueOf<K, D>, VariantOf<K>> {
  const snapshot = useSnapshot();
  return detailsOf(key, snapshot.flags[key], defaultValue) as EvaluationDetails<ValueOf<K, D>, VariantOf<K>>;
}

/** The variant a flag serves for the provider's context (`undefined` before the first answer, without a provider, or on an error). */
export function useVariant<K extends FlagKey>(key: K): VariantOf<K> | undefined {
  const state = useSnapshot().flags[key];
  return state && !state.errorCode ? (state.variant as VariantOf<K> | undefined) : undefined;
}

/** Every flag's value (flags that failed to evaluate are left out), and where the values stand. */
export function useFlags(): { flags: Readonly<Record<string, FlagValue>>; status: FlagsSnapshot['status']; ready: boolean } {
  const snapshot = useSnapshot();
  return useMemo(() => {
    const flags: Record<string, FlagValue> = {};
    for (const [key, state] of Object.entries(snapshot.flags)) if (!state.errorCode && state.value !== undefined) flags[key] = state.value;
    return { flags, status: snapshot.status, ready: snapshot.status === 'ready' };
  }, [snapshot]);
}
