import type { FlagConfig } from '../../src/domain/flag.ts';
import type { FlagState } from './components.tsx';

/** What a flag serves in one environment, from its config: killed, off, a percentage, or on. */
export function stateOf(config: Pick<FlagConfig, 'enabled' | 'kill_switch' | 'rollout'> | undefined): { state: FlagState; percentage?: number } {
  if (!config) return { state: 'off' };
  if (config.kill_switch?.enabled) return { state: 'killed' };
  if (!config.enabled) return { state: 'off' };
  if (config.rollout && typeof config.rollout.percentage === 'number' && config.rollout.percentage < 100) {
    return { state: 'percentage', percentage: config.rollout.percentage };
  }
  return { state: 'on' };
}

export const RUNNING = new Set(['running', 'paused', 'waiting_approval']);
