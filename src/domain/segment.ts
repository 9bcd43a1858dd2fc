import { z } from 'zod';
import { text } from './text.js';
import { conditionSchema } from './flag.js';

const segmentBase = {
  key: text(128).min(1),
  name: text(256).optional(),
  description: text(2048).optional(),
};

/** A rule segment: a user is in it when all its conditions match the context. */
export const ruleSegmentSchema = z.object({
  ...segmentBase,
  kind: z.literal('rule'),
  conditions: z.array(conditionSchema).min(1).max(50),
});

/** A list segment: a user is in it when their targeting key is a member. */
export const listSegmentSchema = z.object({
  ...segmentBase,
  kind: z.literal('list'),
  members: z.array(text(256).min(1)).max(1_000_000),
});

/** A named group of users that targeting rules refer to by key. */
export const segmentSchema = z.discriminatedUnion('kind', [ruleSegmentSchema, listSegmentSchema]);
export type Segment = z.infer<typeof segmentSchema>;
export type RuleSegment = z.infer<typeof ruleSegmentSchema>;
export type ListSegment = z.infer<typeof listSegmentSchema>;
