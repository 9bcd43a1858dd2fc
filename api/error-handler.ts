import type { NextFunction, Request, Response } from 'express';
import { AppError, ServiceUnavailableError, isUnavailable } from '../src/errors.js';
import type { Logger } from '../src/logger.js';

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

/** One error middleware: typed errors become their JSON body; anything else is a logged 500 without details. */
export function errorHandler(logger: Logger) {
  return (error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const appError =
      error instanceof AppError
        ? error
        : isUnavailable(error)
          ? new ServiceUnavailableError('The database is unavailable; the change was not saved. Evaluation is unaffected; retry shortly.')
          : bodyParserError(error as BodyParserError);
    if (appError) {
      if (appError.status >= 500) logger.error({ err: error, path: req.path }, appError.message);
      res.status(appError.status).json(appError.toJSON());
      return;
    }
    logger.error({ err: error, method: req.method, path: req.path }, 'unhandled error');
    res.status(500).json({ error: { code: 'INTERNAL', message: 'Internal error' } });
  };
}
