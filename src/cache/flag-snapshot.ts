import type { FlagDefinition } from '../domain/flag.js';
import type { Segment } from '../domain/segment.js';
import { changeKindOf, type ChangeKind } from '../domain/flag-change.js';
import { compileFlag, type CompiledFlag } from '../engine/index.js';

interface EnvironmentSnapshot {
  /** Highest version applied: a flag's version, or the projection's version at the last full read. */
  version: number;
  /** The projection's change counter at the last full read. */
  changes: number;
  flags: Map<string, CompiledFlag>;
  definitions: Map<string, FlagDefinition>;
  /** The flags ordered by key, rebuilt on the first read after a change. */
  sorted: CompiledFlag[] | undefined;
}

/** L1: compiled flags per environment, in process. Evaluation reads only this. */
export class FlagSnapshot {
  private readonly environments = new Map<string, EnvironmentSnapshot>();
  /** The segments targeting rules resolve against (kept current by SegmentSync). */
  private segments: ReadonlyMap<string, Segment> = new Map();

  /** The compiled flag, or undefined when the environment or the flag is unknown. */
  get(environment: string, key: string): CompiledFlag | undefined {
    return this.environments.get(environment)?.flags.get(key);
  }

  /** The definition the compiled flag was built from. */
  definition(environment: string, key: string): FlagDefinition | undefined {
    return this.environments.get(environment)?.definitions.get(key);
  }

  flags(environment: string): Iterable<CompiledFlag> {
    return this.environments.get(environment)?.flags.values() ?? [];
  }

  /** The environment's flags ordered by key, so every replica answers a bulk request identically. */
  sortedFlags(environment: string): readonly CompiledFlag[] {
    const env = this.environments.get(environment);
    if (!env) return [];
    env.sorted ??= [...env.flags.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return env.sorted;
  }

  definitions(environment: string): Iterable<FlagDefinition> {
    return this.environments.get(environment)?.definitions.values() ?? [];
  }

  /** The segments targeting rules resolve against (the definitions endpoint ships them to local-mode SDKs). */
  currentSegments(): ReadonlyMap<string, Segment> {
    return this.segments;
  }

  hasEnvironment(environment: string): boolean {
    return this.environments.has(environment);
  }

  environmentKeys(): string[] {
    return [...this.environments.keys()];
  }

  /** The highest version this process has applied for the environment (0 when none). */
  version(environment: string): number {
    return this.environments.get(environment)?.version ?? 0;
  }

  /**
   * Compiles and installs a definition unless the installed one is as new.
   * Returns the kind of change it made, or null when it changed nothing.
   */
  apply(definition: FlagDefinition): ChangeKind | null {
    const env = this.ensure(definition.environment);
    const current = env.definitions.get(definition.key);
    if (current && current.version >= definition.version) return null;
    // An archived flag's tombstone keeps its version (so older definitions stay out) but serves nothing.
    if (definition.archived) env.flags.delete(definition.key);
    else env.flags.set(definition.key, compileFlag(definition, this.segments));
    env.definitions.set(definition.key, definition);
    env.sorted = undefined;
    if (definition.version > env.version) env.version = definition.version;
    return changeKindOf(current, definition);
  }

  /** The projection's change counter as of the last full read (-1 before the first). */
  changes(environment: string): number {
    return this.environments.get(environment)?.changes ?? -1;
  }

  /**
   * Applies a full read of an environment taken at change counter `changes` and projected
   * version `version`; returns the definitions that changed something, with the kind of change.
   */
  applyAll(environment: string, changes: number, definitions: FlagDefinition[], version = 0): Array<{ event: ChangeKind; definition: FlagDefinition }> {
    const env = this.ensure(environment);
    const applied: Array<{ event: ChangeKind; definition: FlagDefinition }> = [];
    for (const definition of definitions) {
      const event = this.apply(definition);
      if (event) applied.push({ event, definition });
    }
    env.changes = changes;
    if (version > env.version) env.version = version;
    return applied;
  }

  /** Installs the segments targeting rules resolve against and recompiles the flags whose segments changed. */
  setSegments(segments: ReadonlyMap<string, Segment>): void {
    const previous = this.segments;
    this.segments = segments;
    for (const env of this.environments.values()) {
      for (const [key, definition] of env.definitions) {
        if (definition.archived) continue;
        const changed = definition.config.targeting.some((t) => t.segments.some((s) => previous.get(s) !== segments.get(s)));
        if (changed) {
          env.flags.set(key, compileFlag(definition, segments));
          env.sorted = undefined;
        }
      }
    }
  }

  private ensure(environment: string): EnvironmentSnapshot {
    let env = this.environments.get(environment);
    if (!env) {
      env = { version: 0, changes: -1, flags: new Map(), definitions: new Map(), sorted: undefined };
      this.environments.set(environment, env);
    }
    return env;
  }
}
