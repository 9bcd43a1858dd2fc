import type { SplitEntry } from '../../src/domain/variants.ts';

/** What a config serves, as the summary reads it: its variants by name, on/off, a split or a percentage rollout. */
export interface ServingFacts {
  enabled: boolean;
  killed: boolean;
  variants: Array<{ name: string; value: unknown }>;
  on_variant: string;
  off_variant: string;
  split: readonly SplitEntry[] | null;
  /** A percentage rollout's share (below 100: the rest get the off variant). */
  rolloutPercentage: number | null;
}

/**
 * One sentence for people: who gets which variant, with its value. "Killed: everyone gets off (false).",
 * "On: 50 % control, 50 % treatment.", "On for 10 %: they get on (true), the rest off (false)."
 */
export function servingSentence(f: ServingFacts): string {
  const valueOf = (name: string) => JSON.stringify(f.variants.find((v) => v.name === name)?.value);
  const named = (name: string) => `${name} (${valueOf(name)})`;
  if (f.killed) return `Killed: everyone gets ${named(f.off_variant)}.`;
  if (!f.enabled) return `Off: everyone gets ${named(f.off_variant)}.`;
  if (f.split?.length) return `On: ${f.split.map((s) => `${s.weight} % ${s.variant}`).join(', ')}.`;
  if (f.rolloutPercentage !== null && f.rolloutPercentage < 100) {
    return `On for ${f.rolloutPercentage} %: they get ${named(f.on_variant)}, the rest ${named(f.off_variant)}.`;
  }
  return `On: everyone gets ${named(f.on_variant)}.`;
}

/**
 * The steps a new split rollout starts with. From the split served now (a second split rollout), the
 * off variant's share moves to the first other variant in two steps (half, then all), every other
 * variant keeping its weight; with no split yet, 10 % then 50 % of traffic moves from the off variant
 * to the first other one. `order` is the split order, the off variant last.
 */
export function defaultSplitWeights(order: readonly string[], current: readonly SplitEntry[] | null | undefined): Array<Record<string, number>> {
  const [first, ...rest] = order;
  const off = rest.at(-1);
  if (!first || !off) return [first ? { [first]: 100 } : {}];
  const now = Object.fromEntries(order.map((v) => [v, current?.find((e) => e.variant === v)?.weight ?? 0]));
  const known = current?.length && current.every((e) => order.includes(e.variant));
  if (!known) return [{ [first]: 10, [off]: 90 }, { [first]: 50, [off]: 50 }];
  const offShare = now[off]!;
  if (offShare === 0) return [now];
  const half = Math.round((offShare / 2) * 1000) / 1000;
  return [
    { ...now, [first]: now[first]! + half, [off]: offShare - half },
    { ...now, [first]: now[first]! + offShare, [off]: 0 },
  ];
}
