import { definitionsPayloadSchema, type DefinitionsPayload } from '../../../../src/protocol/definitions.js';
import type { CliIo } from './cli.js';

/** The environment's definitions for the CLI's commands, or undefined after saying on stderr what went wrong. */
export async function fetchDefinitions(io: CliIo, url: string, token: string, environment?: string): Promise<DefinitionsPayload | undefined> {
  const query = environment ? `?environment=${encodeURIComponent(environment)}` : '';
  let response: Response;
  try {
    response = await io.fetch(`${url}/api/v1/definitions${query}`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(30_000) });
  } catch (error) {
    io.err(`Could not reach ${url}: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
  if (!response.ok) {
    io.err(`${url}/api/v1/definitions answered HTTP ${response.status}: ${(await response.text()).slice(0, 300)}`);
    return undefined;
  }
  const parsed = definitionsPayloadSchema.safeParse(await response.json());
  if (!parsed.success) {
    io.err(`The definitions could not be read: ${parsed.error.issues[0]?.message ?? 'unknown shape'}`);
    return undefined;
  }
  return parsed.data;
}
