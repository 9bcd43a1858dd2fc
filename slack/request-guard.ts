import type { IncomingMessage } from 'node:http';
import express, { type RequestHandler } from 'express';

/** Slack's commands and button clicks are a few kilobytes; anything over this is refused with 413. */
export const SLACK_BODY_LIMIT_BYTES = 1024 * 1024;
/** Slack's replay window, both ways: a request signed more than this far from our clock is refused. */
export const SLACK_TIMESTAMP_TOLERANCE_SECONDS = 5 * 60;

/**
 * Runs before Bolt on `/slack/events`:
 * - reads the raw body with a limit; a body over it gets 413 after the rest is read and discarded
 *   (body-parser drains it), so the keep-alive connection stays usable for the next request; Bolt
 *   then verifies the signature over the body kept in `req.rawBody` instead of reading the stream;
 * - refuses timestamps more than 5 minutes in the future with 401, as Bolt refuses old ones (a
 *   request signed ahead of time could otherwise be replayed until its time had passed).
 */
export function slackRequestGuard(now: () => number = Date.now): RequestHandler {
  const readBody = express.raw({
    type: () => true,
    limit: SLACK_BODY_LIMIT_BYTES,
    verify: (req, _res, buf) => {
      (req as IncomingMessage & { rawBody?: Buffer }).rawBody = buf;
    },
  });
  return (req, res, next) => {
    readBody(req, res, (error?: unknown) => {
      if (error) {
        const status = (error as { status?: number }).status;
        return void res.status(status === 413 ? 413 : 400).end();
      }
      const timestamp = Number(req.headers['x-slack-request-timestamp']);
      if (Number.isFinite(timestamp) && timestamp > now() / 1000 + SLACK_TIMESTAMP_TOLERANCE_SECONDS) {
        return void res.status(401).end();
      }
      next();
    });
  };
}
