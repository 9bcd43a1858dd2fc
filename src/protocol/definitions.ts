import { z } from 'zod';
import { flagTypeSchema } from '../domain/flag.js';
import { segmentSchema } from '../domain/segment.js';

/**
 * The wire format of `GET /api/v1/definitions`: everything a local-mode SDK needs to evaluate an
 * environment's flags in process. Configs are checked when compiled (a bad one answers ERROR), so
 * the envelope is checked here and each config by the engine.
 */
export const definitionsPayloadSchema = z.object({
  environment: z.string().min(1),
  /** The environment's highest applied version: it grows with every change. */
  version: z.number().int().nonnegative(),
  flags: z.array(
    z.object({
      key: z.string().min(1),
      type: flagTypeSchema,
      environment: z.string().min(1),
      version: z.number().int().nonnegative(),
      config: z.record(z.string(), z.unknown()),
    }),
  ),
  /** The segments the flags' targeting rules name (list segments with their members). */
  segments: z.array(segmentSchema).default([]),
});
export type DefinitionsPayload = z.infer<typeof definitionsPayloadSchema>;

/** The `data` of a `flag.updated` / `flag.killed` / `flag.restored` / `flag.archived` SSE event. */
export const changeEventSchema = z.object({
  key: z.string().min(1),
  environment: z.string().min(1),
  version: z.number().int().nonnegative(),
  event: z.string().optional(),
  enabled: z.boolean().optional(),
  kill_switch: z.boolean().optional(),
  /**
   * The flag's version before this change, when the change only switched `enabled` or the kill
   * switch: applied as the whole change by a client holding that flag version and `version - 1`.
   */
  from_version: z.number().int().nonnegative().optional(),
});
export type ChangeEventData = z.infer<typeof changeEventSchema>;
