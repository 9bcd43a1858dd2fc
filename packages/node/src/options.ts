import { z } from 'zod';
import type { RipcordSdkError } from './types.js';

const callback = <T>(what: string) => z.custom<T>((value) => typeof value === 'function', { message: `${what} must be a function` });

/** The options of `createClient`, checked when the client is made (the one place the SDK throws). */
export const clientOptionsSchema = z
  .object({
    /** The Ripcord API, e.g. `https://flags.example.com` (no trailing path). */
    url: z.url().transform((u) => u.replace(/\/+$/, '')).optional(),
    /** A server token for local mode; any token for remote mode. */
    token: z.string().min(1).optional(),
    /** `local` evaluates in process from definitions kept fresh over SSE; `remote` asks the API per call. */
    mode: z.enum(['local', 'remote']).default('local'),
    /** Definitions to start with: a `GET /api/v1/definitions` payload, or the path of a JSON file holding one. */
    bootstrap: z.union([z.string().min(1), z.record(z.string(), z.unknown())]).optional(),
    /** A file the client writes its last good definitions to and starts from when the API is unreachable. */
    cacheFile: z.string().min(1).optional(),
    /** No network at all: serve the bootstrap only (tests, benchmarks, air-gapped runs). */
    offline: z.boolean().default(false),
    /** Listen to the change stream (else poll). */
    stream: z.boolean().default(true),
    pollIntervalMs: z.number().int().min(100).default(30_000),
    heartbeatTimeoutMs: z.number().int().min(100).default(60_000),
    requestTimeoutMs: z.number().int().min(50).default(10_000),
    backoff: z.object({ initialMs: z.number().int().min(1).default(500), maxMs: z.number().int().min(1).default(30_000) }).default({ initialMs: 500, maxMs: 30_000 }),
    /** Your application's name, shown with this instance in Ripcord's fleet view and kill confirmations. */
    appName: z.string().min(1).max(100).optional(),
    /** Your application's version, shown beside its name. */
    appVersion: z.string().min(1).max(64).optional(),
    /**
     * Report the environment version this instance serves (after every change it applies, and as a
     * heartbeat) so that kills are confirmed on it. Sends a random id, the SDK's kind and version,
     * appName/appVersion and the host name: never a user or a context.
     */
    reportInstance: z.boolean().default(true),
    /** How often outcome counts are sent to `/api/v1/events`. */
    eventsFlushIntervalMs: z.number().int().min(10).default(10_000),
    /** Told about every failure (fetch, stream, events, bad payloads); evaluation itself never throws. */
    onError: callback<(error: RipcordSdkError) => void>('onError').optional(),
    /** The fetch implementation (default: the global one). */
    fetch: callback<typeof fetch>('fetch').optional(),
    /** The clock rules and schedules are evaluated at (default Date.now). */
    clock: callback<() => number>('clock').optional(),
  })
  .superRefine((o, ctx) => {
    if (!o.offline && !o.url) ctx.addIssue({ code: 'custom', path: ['url'], message: 'url is required unless offline' });
    if (!o.offline && !o.token) ctx.addIssue({ code: 'custom', path: ['token'], message: 'token is required unless offline' });
    if (o.offline && o.mode === 'remote') ctx.addIssue({ code: 'custom', path: ['offline'], message: 'remote mode needs the network' });
  });

export type ClientOptionsInput = z.input<typeof clientOptionsSchema>;
export type ClientOptions = z.output<typeof clientOptionsSchema>;

/** Parses client options; a bad option throws at once with every problem named. */
export function parseClientOptions(input: ClientOptionsInput): ClientOptions {
  const parsed = clientOptionsSchema.safeParse(input);
  if (!parsed.success) {
    throw new TypeError(`Invalid Ripcord client options: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}
