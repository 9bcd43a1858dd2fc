import type { FlagDefinition } from '../domain/flag.js';
import { compileFlag, type CompiledFlag } from '../engine/index.js';

interface EnvironmentSnapshot {
  /** Highest flag version applied. */
  version: number;
  /** The projection's change counter at the last full read. */
  changes: number;
  flags: Map<string, CompiledFlag>;
}

/** L1: compiled flags per environment, in process. Evaluation reads only this. */
export class FlagSnapshot {
  private readonly environments = new Map<string, EnvironmentSnapshot>();

  /** The compiled flag, or undefined when the environment or the flag is unknown. */
  get(environment: string, key: string): CompiledFlag | undefined {
    return this.environments.get(environment)?.flags.get(key);
  }

  flags(environment: string): Iterable<CompiledFlag> {
    return this.environments.get(environment)?.flags.values() ?? [];
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

  /** Compiles and installs a definition unless the installed one is as new; returns whether it changed. */
  apply(definition: FlagDefinition): boolean {
    const env = this.ensure(definition.environment);
    const current = env.flags.get(definition.key);
    if (current && current.version >= definition.version) return false;
    env.flags.set(definition.key, compileFlag(definition));
    if (definition.version > env.version) env.version = definition.version;
    return true;
  }

  /** The projection's change counter as of the last full read (-1 before the first). */
  changes(environment: string): number {
    return this.environments.get(environment)?.changes ?? -1;
  }

  /** Applies a full read of an environment taken at change counter `changes`. */
  applyAll(environment: string, changes: number, definitions: FlagDefinition[]): void {
    const env = this.ensure(environment);
    for (const definition of definitions) this.apply(definition);
    env.changes = changes;
  }

  private ensure(environment: string): EnvironmentSnapshot {
    let env = this.environments.get(environment);
    if (!env) {
      env = { version: 0, changes: -1, flags: new Map() };
      this.environments.set(environment, env);
    }
    return env;
  }
}
