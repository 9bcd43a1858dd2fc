import type { FlagDefinition } from '../../../src/domain/flag.js';
import type { Segment } from '../../../src/domain/segment.js';
import { compileFlag, evaluate, type CompiledFlag, type EvaluationResult } from '../../../src/engine/index.js';
import type { ChangeEventData, DefinitionsPayload } from '../../../src/protocol/definitions.js';
import type { EvaluationContext, EvaluationDetails, FlagValue } from './types.js';

interface Entry {
  definition: FlagDefinition;
  compiled: CompiledFlag;
  /** Evaluations since the last read of the counters, by variant. */
  counts: Map<string, number>;
  /**
   * The flag compiled in each on/off and kill state it was served in since its rules last changed:
   * a restore after a kill (or a kill after a restore) takes the state's compiled form back instead of
   * compiling the flag again. Dropped with the entry when a fetch installs another definition.
   */
  states?: Map<string, CompiledFlag>;
}

const stateOf = (enabled: boolean, killed: boolean) => `${enabled ? 'on' : 'off'}/${killed ? 'killed' : 'live'}`;

const EMPTY_CONTEXT: EvaluationContext = Object.freeze({});
const VALUE_TYPES = { boolean: 'boolean', string: 'string', number: 'number' } as const;

/** What changed when definitions were installed. */
export interface StoreChange {
  /** Keys whose definition changed, appeared or went away. */
  changed: string[];
  version: number;
}

/**
 * A local-mode client's compiled flags: installed from the definitions endpoint, a bootstrap or a
 * stream event, never moving a flag back to an older version, and evaluated in process.
 */
export class FlagStore {
  private readonly entries = new Map<string, Entry>();
  private segments = new Map<string, Segment>();
  private segmentsJson = '[]';
  /** The environment version held: the last full install's, or the last change applied whole after it. */
  version = 0;
  environment: string | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  get size(): number {
    return this.entries.size;
  }

  keys(): string[] {
    return [...this.entries.keys()].sort();
  }

  /** The definition a key is served from. */
  definition(key: string): FlagDefinition | undefined {
    return this.entries.get(key)?.definition;
  }

  /** Installs a full set of definitions; returns what changed. Older versions of held flags are ignored. */
  install(payload: DefinitionsPayload): StoreChange {
    const changed: string[] = [];
    const segmentsJson = JSON.stringify(payload.segments);
    const segmentsChanged = segmentsJson !== this.segmentsJson;
    if (segmentsChanged) {
      this.segments = new Map(payload.segments.map((s) => [s.key, s]));
      this.segmentsJson = segmentsJson;
    }
    const seen = new Set<string>();
    for (const raw of payload.flags) {
      const definition = raw as FlagDefinition;
      seen.add(definition.key);
      const held = this.entries.get(definition.key);
      const newer = !held || definition.version > held.definition.version;
      const resegmented = held && segmentsChanged && held.definition.config.targeting?.length > 0 && definition.version >= held.definition.version;
      if (!newer && !resegmented) continue;
      this.entries.set(definition.key, { definition, compiled: compileFlag(definition, this.segments), counts: held?.counts ?? new Map() });
      changed.push(definition.key);
    }
    // A flag missing from a set at least as new as it is gone (deleted or archived).
    for (const [key, entry] of this.entries) {
      if (!seen.has(key) && payload.version >= entry.definition.version) {
        this.entries.delete(key);
        changed.push(key);
      }
    }
    this.environment = payload.environment;
    if (payload.version > this.version) this.version = payload.version;
    return { changed, version: this.version };
  }

  /**
   * Applies a kill announced by the stream before the new definitions arrive: the flag serves its
   * off value at once, at the announced version, so a later fetch of an older set cannot undo it.
   */
  applyKill(key: string, version: number): boolean {
    const held = this.entries.get(key);
    if (!held || held.definition.version >= version) return false;
    const definition: FlagDefinition = {
      ...held.definition,
      version,
      config: { ...held.definition.config, kill_switch: { ...held.definition.config.kill_switch, enabled: true } },
    };
    this.entries.set(key, { definition, compiled: compileFlag(definition, this.segments), counts: held.counts });
    return true;
  }

  /**
   * Applies a change the stream carried whole: only `enabled` or the kill switch changed, from the
   * flag version this store holds, and it is the environment's next version (none missed between).
   * Returns false, changing nothing, when it can't be applied so (the caller re-fetches).
   */
  applyChange(change: ChangeEventData): boolean {
    const { key, version, from_version: from, enabled, kill_switch: killed } = change;
    if (from === undefined || enabled === undefined || killed === undefined) return false;
    if (version !== this.version + 1) return false;
    const held = this.entries.get(key);
    if (!held || held.definition.version !== from) return false;
    // A kill's reason and author are not evaluated, nor in the event: they come with the next full fetch.
    const definition: FlagDefinition = { ...held.definition, version, config: { ...held.definition.config, enabled, kill_switch: { enabled: killed } } };
    const states = held.states ?? new Map([[stateOf(held.definition.config.enabled, held.definition.config.kill_switch.enabled), held.compiled]]);
    const known = states.get(stateOf(enabled, killed));
    // Only the state differs from a form compiled from this same config: its version is the one thing to set.
    const compiled = known ? Object.freeze({ ...known, version }) : compileFlag(definition, this.segments);
    states.set(stateOf(enabled, killed), compiled);
    this.entries.set(key, { definition, compiled, counts: held.counts, states });
    this.version = version;
    return true;
  }

  /** What the store holds, as a definitions payload (for the cache file). */
  toPayload(): DefinitionsPayload {
    return {
      environment: this.environment ?? '', version: this.version,
      flags: [...this.entries.values()].map((entry) => entry.definition), segments: [...this.segments.values()],
    };
  }

  /** Evaluates one flag, counting the evaluation by variant; `undefined` when the key is unknown. */
  evaluate(key: string, context: EvaluationContext | undefined): { result: EvaluationResult; version: number; type: string } | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    const result = evaluate(entry.compiled, context ?? EMPTY_CONTEXT, this.now());
    entry.counts.set(result.variant, (entry.counts.get(result.variant) ?? 0) + 1);
    return { result, version: entry.compiled.version, type: entry.compiled.type };
  }

  /**
   * The hot path of `client.boolean()` and friends: the served value when it has the expected type,
   * else the default. Allocates nothing beyond what the engine does.
   */
  value<T extends FlagValue>(key: string, fallback: T, context: EvaluationContext | undefined, type: 'boolean' | 'string' | 'number' | 'json'): T {
    const entry = this.entries.get(key);
    if (!entry) return fallback;
    const result = evaluate(entry.compiled, context ?? EMPTY_CONTEXT, this.now());
    const counts = entry.counts;
    counts.set(result.variant, (counts.get(result.variant) ?? 0) + 1);
    if (result.reason === 'ERROR' || entry.compiled.type !== type) return fallback;
    const value = result.value;
    if (type === 'json') return value === undefined ? fallback : (value as T);
    return typeof value === VALUE_TYPES[type] ? (value as T) : fallback;
  }

  /** Evaluation counts per flag and variant since the last call, which resets them. */
  drainCounts(): Array<{ flag: string; variant: string; count: number }> {
    const out: Array<{ flag: string; variant: string; count: number }> = [];
    for (const [flag, entry] of this.entries) {
      for (const [variant, count] of entry.counts) out.push({ flag, variant, count });
      entry.counts.clear();
    }
    return out;
  }
}

/** Shapes an engine result as SDK details, with the caller's default on any error or type mismatch. */
export function toDetails<T extends FlagValue>(
  key: string,
  fallback: T,
  expected: 'boolean' | 'string' | 'number' | 'json' | undefined,
  found: { result: EvaluationResult; version: number; type: string } | undefined,
): EvaluationDetails<T> {
  if (!found) return { flagKey: key, value: fallback, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND', errorMessage: `flag '${key}' was not found` };
  const { result, version, type } = found;
  // One object literal of a fixed shape and then optional fields: spreads cost microseconds here.
  let details: EvaluationDetails<T>;
  if (result.reason === 'ERROR') {
    details = { flagKey: key, value: fallback, variant: result.variant, reason: 'ERROR', version, errorCode: result.errorCode ?? 'GENERAL', errorMessage: result.errorMessage ?? 'evaluation failed' };
  } else if (expected && expected !== type) {
    details = { flagKey: key, value: fallback, reason: 'ERROR', version, errorCode: 'TYPE_MISMATCH', errorMessage: `flag '${key}' is a ${type} flag, not ${expected}` };
  } else {
    details = { flagKey: key, value: result.value as T, variant: result.variant, reason: result.reason, version };
  }
  if (result.ruleId !== undefined) details.ruleId = result.ruleId;
  if (result.segmentId !== undefined) details.segmentId = result.segmentId;
  if (result.metadata !== undefined) details.metadata = result.metadata;
  return details;
}
