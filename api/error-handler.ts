import type { NextFunction, Request, Response } from 'express';
import { AppError, ValidationError, ServiceUnavailableError, isUnavailable } from '../src/errors.js';
import type { Logger } from '../src/logger.js';
import { jsonDepth, MAX_BODY_DEPTH } from '../src/domain/text.js';
import { TRIGGER_HOOK_PREFIX } from '../src/alert-triggers/alert-trigger-service.js';
import { UNDECODABLE_MESSAGE } from './path-params.js';

interface BodyParserError {
  type?: string;
  status?: number;
  message?: string;
}

/** Maps body-parser failures to the error family: 400 malformed JSON, 413 too large, 415 wrong type. */
export function bodyParserError(error: BodyParserError): AppError | null {
  switch (error.type) {
    case 'entity.parse.failed':
      return new AppError(400, 'PARSE_ERROR', 'The request body is not valid JSON');
    case 'entity.too.large':
      return new AppError(413, 'PAYLOAD_TOO_LARGE', 'The request body is too large');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError(415, 'UNSUPPORTED_MEDIA_TYPE', error.message ?? 'Unsupported encoding');
    default:
      return null;
  }
}

/**
 * PostgreSQL's data exceptions (class 22: bad encoding, value too long, invalid text) and "too
 * complex" (54) mean the input could not be stored. The schemas refuse such input first, naming the
 * field; this is the net for anything they miss, so bad input is never a 500.
 */
function databaseInputError(error: unknown): AppError | null {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !/^(22|54)[0-9A-Z]{3}$/.test(code)) return null;
  return new AppError(400, 'VALIDATION_FAILED', 'The request holds a value that cannot be stored', [{ path: 'body', message: `refused by the database (${code})` }]);
}

/** A path fit for the log: an alert trigger's path carries its secret, which is cut off. */
export function loggablePath(path: string): string {
  return path.startsWith(TRIGGER_HOOK_PREFIX) ? `${TRIGGER_HOOK_PREFIX}[secret]` : path;
}

/** One error middleware: typed errors become their JSON body; anything else is a logged 500 without details. */
export function errorHandler(logger: Logger) {
  return (error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const appError =
      error instanceof AppError
        ? error
        : isUnavailable(error)
          ? new ServiceUnavailableError('The database is unavailable; the change was not saved. Evaluation is unaffected; retry shortly.')
          : error instanceof URIError
            // Express's router failing to decode a path parameter (refuseUndecodablePaths catches these
            // first): its message holds the raw value, which may be a secret, so it is neither sent nor logged.
            ? new ValidationError('Invalid request path', [{ path: 'path', message: UNDECODABLE_MESSAGE }])
            : (bodyParserError(error as BodyParserError) ?? databaseInputError(error));
    const path = loggablePath(req.path);
    if (appError) {
      if (appError.status >= 500) logger.error({ err: error, path }, appError.message);
      // A schema missed input the database refused: worth fixing, so it is logged (without the row).
      else if (!(error instanceof AppError) && appError.code === 'VALIDATION_FAILED') logger.warn({ err: error, path }, appError.message);
      res.status(appError.status).json(appError.toJSON());
      return;
    }
    logger.error({ err: error, method: req.method, path }, 'unhandled error');
    res.status(500).json({ error: { code: 'INTERNAL', message: 'Internal error' } });
  };
}

/** After the JSON parser: a body nested deeper than any request needs is refused before a schema walks it. */
export function refuseDeepBodies(req: Request, _res: Response, next: NextFunction): void {
  if (typeof req.body === 'object' && req.body !== null && jsonDepth(req.body, MAX_BODY_DEPTH) > MAX_BODY_DEPTH) {
    next(new ValidationError('Invalid request body', [{ path: 'body', message: `nested deeper than ${MAX_BODY_DEPTH} levels` }]));
    return;
  }
  next();
}
