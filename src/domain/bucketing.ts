import { z } from 'zod';
import { text } from './text.js';

/**
 * How a config buckets users, when not Ripcord's own way (murmur3 of flag key + targetingKey over
 * 100,000 buckets, ADR 0004). `unleash` buckets as Unleash's flexibleRollout and gradualRolloutUserId
 * do: murmur3 of `group_id:targetingKey` (seed 0) mod 100, so that a flag imported from Unleash keeps
 * its users in and out of each rollout. Its buckets are whole percents, so every percentage of such a
 * config must be a whole number.
 */
export const bucketingSchema = z.strictObject({
  scheme: z.literal('unleash'),
  group_id: text(256).meta({ description: "Unleash's groupId (by default the toggle's name)" }),
}).meta({ description: "absent: Ripcord's bucketing; {scheme: 'unleash', group_id}: Unleash's (murmur3 of 'group_id:targetingKey' mod 100; percentages whole)" });
export type Bucketing = z.infer<typeof bucketingSchema>;

interface Percentages {
  bucketing?: Bucketing | null;
  rules: ReadonlyArray<{ percentage?: number | undefined }>;
  targeting: ReadonlyArray<{ percentage?: number | undefined }>;
  rollout?: { percentage: number } | null;
  split?: ReadonlyArray<{ weight: number }> | null;
}

/** With Unleash's bucketing, every percentage must be whole: its buckets are whole percents. */
export function checkBucketing(config: Percentages, ctx: z.RefinementCtx): void {
  if (!config.bucketing) return;
  const whole = (p: number | undefined, path: PropertyKey[]) => {
    if (p !== undefined && !Number.isInteger(p)) ctx.addIssue({ code: 'custom', path, message: 'a whole percentage: unleash bucketing has whole-percent buckets' });
  };
  config.rules.forEach((r, i) => whole(r.percentage, ['rules', i, 'percentage']));
  config.targeting.forEach((t, i) => whole(t.percentage, ['targeting', i, 'percentage']));
  if (config.rollout) whole(config.rollout.percentage, ['rollout', 'percentage']);
  config.split?.forEach((s, i) => whole(s.weight, ['split', i, 'weight']));
}
