import { LocalClient } from './local-client.js';
import { parseClientOptions, type ClientOptionsInput } from './options.js';
import { RemoteClient } from './remote-client.js';

/** Either kind of client. */
export type RipcordClient = LocalClient | RemoteClient;

/**
 * Makes a Ripcord client. `mode: 'local'` (the default; a server token) evaluates in process and
 * answers synchronously; `mode: 'remote'` (any token) asks the API on each call and answers promises.
 * Throws only for invalid options; evaluations never throw.
 */
export function createClient(options: ClientOptionsInput & { mode: 'remote' }): RemoteClient;
export function createClient(options: ClientOptionsInput & { mode?: 'local' }): LocalClient;
export function createClient(options: ClientOptionsInput): RipcordClient;
export function createClient(options: ClientOptionsInput): RipcordClient {
  const parsed = parseClientOptions(options);
  return parsed.mode === 'remote' ? new RemoteClient(parsed) : new LocalClient(parsed);
}
