import { z } from 'zod';
import { INSTANCE_KINDS } from '../domain/sdk-instances.js';

/** One SDK instance as GET /api/v1/instances lists it (the admin UI's fleet view reads this). */
export const instanceViewSchema = z.object({
  id: z.string(),
  kind: z.enum(INSTANCE_KINDS),
  environment: z.string(),
  app: z.string().nullable(),
  app_version: z.string().nullable(),
  host: z.string().nullable(),
  sdk_version: z.string().nullable(),
  version: z.number().int().meta({ description: 'the environment version it holds (flagd: the one last written to its stream)' }),
  connected_since: z.iso.datetime(),
  last_seen: z.iso.datetime(),
  versions_behind: z.number().int().meta({ description: 'versions its replica serves that it does not hold' }),
  lag_ms: z.number().int().meta({ description: 'how long it has been behind (0 when current)' }),
  replica: z.string(),
  counted_as: z.enum(['confirmed', 'delivered', 'not_counted']).meta({
    description: 'how a kill\'s confirmation counts it: flagd sync streams are delivered (no acknowledgement); remote-mode SDKs hold no copy',
  }),
});

/** The answer of GET /api/v1/instances. */
export const fleetSchema = z.object({
  environment: z.string(),
  instances: z.array(instanceViewSchema).meta({ description: 'laggards first, at most `limit`' }),
  total: z.number().int(),
  replicas: z.object({ answered: z.number().int(), asked: z.number().int() }).meta({ description: 'replicas that listed their instances in time, of those asked' }),
}).meta({ id: 'Fleet' });

export type Fleet = z.infer<typeof fleetSchema>;
export type InstanceListing = z.infer<typeof instanceViewSchema>;
