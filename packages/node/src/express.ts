import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { z } from 'zod';
import type { RipcordClient } from './create-client.js';
import { typeOfDefault } from './local-client.js';
import {
  RipcordSdkError,
  type DefaultOf,
  type EvaluationContext,
  type EvaluationDetails,
  type FlagKey,
  type FlagValue,
  type JsonValue,
  type KeyOfType,
  type ValueOf,
} from './types.js';

/** A request's evaluation context: a string targeting key (when present) and any attributes. */
export const evaluationContextSchema = z
  .object({ targetingKey: z.string().min(1).max(256).optional() })
  .catchall(z.unknown());

const optionsSchema = z.object({
  client: z.custom<RipcordClient>((c) => typeof c === 'object' && c !== null && 'details' in c && 'mode' in c, { message: 'client must be a Ripcord client' }),
  context: z.custom<(req: Request) => EvaluationContext | Promise<EvaluationContext>>((f) => typeof f === 'function', { message: 'context must be a function of the request' }),
  /** After the response, report each evaluated flag's variant with outcome error (5xx) or success. Default true. */
  reportOutcomes: z.boolean().default(true),
  onError: z.custom<(error: RipcordSdkError) => void>((f) => typeof f === 'function').optional(),
});
export type FlagsMiddlewareOptions = z.input<typeof optionsSchema>;

/** The evaluator on `req.flags`: the request's context is already applied; answers synchronously, never throws. */
export interface RequestFlags {
  readonly context: EvaluationContext;
  boolean<K extends KeyOfType<boolean>>(key: K, defaultValue: boolean): boolean;
  string<K extends KeyOfType<string>>(key: K, defaultValue: string): string;
  number<K extends KeyOfType<number>>(key: K, defaultValue: number): number;
  json<T extends JsonValue, K extends FlagKey = FlagKey>(key: K, defaultValue: T): T;
  details<K extends FlagKey, D extends DefaultOf<K>>(key: K, defaultValue: D): EvaluationDetails<ValueOf<K, D>>;
  /** Every flag for this request's context. */
  all(): Record<string, EvaluationDetails>;
  /** The flags this request evaluated and the variant each served. */
  readonly evaluated: ReadonlyMap<string, string>;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set by Ripcord's `flags()` middleware. */
      flags: RequestFlags;
    }
  }
}

type Resolve = (key: string, defaultValue: FlagValue) => EvaluationDetails;

function evaluator(context: EvaluationContext, resolve: Resolve, listAll: () => Record<string, EvaluationDetails>): RequestFlags {
  const evaluated = new Map<string, string>();
  const details = (key: string, defaultValue: FlagValue): EvaluationDetails => {
    let answer: EvaluationDetails;
    try {
      answer = resolve(key, defaultValue);
    } catch (error) {
      answer = { flagKey: key, value: defaultValue, reason: 'ERROR', errorCode: 'GENERAL', errorMessage: String(error) };
    }
    if (answer.variant && answer.reason !== 'ERROR') evaluated.set(key, answer.variant);
    return answer;
  };
  return {
    context,
    evaluated,
    boolean: (key, defaultValue) => details(key, defaultValue).value as boolean,
    string: (key, defaultValue) => details(key, defaultValue).value as string,
    number: (key, defaultValue) => details(key, defaultValue).value as number,
    json: <T extends JsonValue>(key: string, defaultValue: T) => details(key, defaultValue).value as T,
    details: <K extends FlagKey, D extends DefaultOf<K>>(key: K, defaultValue: D) => details(key, defaultValue as FlagValue) as EvaluationDetails<ValueOf<K, D>>,
    all: () => {
      try {
        return listAll();
      } catch {
        return {};
      }
    },
  };
}

/** Picks one flag out of a bulk answer, with the default on error, absence or a type mismatch. */
function fromBulk(all: Record<string, EvaluationDetails>, key: string, defaultValue: FlagValue): EvaluationDetails {
  const found = all[key];
  if (!found) return { flagKey: key, value: defaultValue, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND', errorMessage: `flag '${key}' was not found` };
  if (found.reason === 'ERROR') return { ...found, value: defaultValue };
  const expected = typeOfDefault(defaultValue);
  if (expected !== 'json' && typeof found.value !== expected) {
    return { flagKey: key, value: defaultValue, reason: 'ERROR', errorCode: 'TYPE_MISMATCH', errorMessage: `flag '${key}' serves ${typeof found.value}, not ${expected}` };
  }
  return found;
}

/**
 * Express middleware: puts an evaluator for the request's context on `req.flags`. With a local
 * client each flag is evaluated in process when asked; with a remote client the request's flags
 * are fetched once, in bulk, before the route runs. A context that fails validation (or a context
 * function that throws) leaves every flag at its default with `INVALID_CONTEXT`: flags never fail a request.
 */
export function flags(options: FlagsMiddlewareOptions): RequestHandler {
  const { client, context: contextOf, reportOutcomes, onError } = optionsSchema.parse(options);
  const report = (error: RipcordSdkError) => {
    try {
      onError?.(error);
    } catch {
      // the caller's handler must not break the request
    }
  };

  return async (req: Request, res: Response, next: NextFunction) => {
    let context: EvaluationContext;
    try {
      const parsed = evaluationContextSchema.safeParse(await contextOf(req));
      if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '));
      context = parsed.data;
    } catch (error) {
      const message = `invalid evaluation context: ${error instanceof Error ? error.message : String(error)}`;
      report(new RipcordSdkError('INVALID_CONTEXT', message, { cause: error }));
      req.flags = evaluator({}, (key, defaultValue) => ({ flagKey: key, value: defaultValue, reason: 'ERROR', errorCode: 'INVALID_CONTEXT', errorMessage: message }), () => ({}));
      next();
      return;
    }

    if (client.mode === 'local') {
      req.flags = evaluator(context, (key, defaultValue) => client.resolve(key, defaultValue, context), () => client.all(context));
    } else {
      const all = await client.all(context);
      req.flags = evaluator(context, (key, defaultValue) => fromBulk(all, key, defaultValue), () => all);
    }

    if (reportOutcomes) {
      const flagsOfRequest = req.flags;
      res.once('finish', () => {
        const outcome = res.statusCode >= 500 ? 'error' : 'success';
        for (const [key, variant] of flagsOfRequest.evaluated) client.recordOutcome(key, variant, outcome);
      });
    }
    next();
  };
}
