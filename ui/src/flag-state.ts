import type { Json } from './api.ts';
import type { FlagState } from './components.tsx';

/** What a flag serves in one environment, from its config: killed, off, a percentage, or on. */
export function stateOf(config: Json): { state: FlagState; percentage?: number } {
  if (!config) return { state: 'off' };
  if (config.kill_switch?.enabled) return { state: 'killed' };
  if (!config.enabled) return { state: 'off' };
  if (config.rollout && typeof config.rollout.percentage === 'number' && config.rollout.percentage < 100) {
    return { state: 'percentage', percentage: config.rollout.percentage };
  }
  return { state: 'on' };
}

export const RUNNING = new Set(['running', 'paused', 'waiting_approval']);

// Evaluation counts seen per flag (kept for the tab's life) to draw rates between polls.
const samples = new Map<string, Array<{ t: number; count: number }>>();

/** Records a flag's total evaluation count and answers its recent evaluations per second. */
export function recordEvaluations(key: string, count: number, now = Date.now()): number[] {
  const list = samples.get(key) ?? [];
  list.push({ t: now, count });
  while (list.length > 31) list.shift();
  samples.set(key, list);
  return ratesOf(key);
}

export function ratesOf(key: string): number[] {
  const list = samples.get(key) ?? [];
  const rates: number[] = [];
  for (let i = 1; i < list.length; i++) {
    const dt = (list[i]!.t - list[i - 1]!.t) / 1000;
    rates.push(dt > 0 ? Math.max(0, list[i]!.count - list[i - 1]!.count) / dt : 0);
  }
  return rates;
}
