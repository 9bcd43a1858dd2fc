import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { definitionsPayloadSchema } from '../../../../src/protocol/definitions.js';
import { generateDeclarations } from './generate.js';
import { REFS_USAGE, runRefs } from '../refs/command.js';

const USAGE = `Usage: ripcord typegen --url <api> --token <server or admin token> [--out flags.d.ts] [--environment production]

Writes a .d.ts declaring every flag key of the environment and its value type, so that the SDKs'
useFlag('key', default), client.boolean('key', ...) and req.flags.string('key', ...) are checked by
the compiler. RIPCORD_URL and RIPCORD_TOKEN stand in for --url and --token.`;

export interface CliIo {
  env: Record<string, string | undefined>;
  fetch: typeof fetch;
  writeFile: (path: string, text: string) => Promise<void>;
  out: (line: string) => void;
  err: (line: string) => void;
}

const defaultIo: CliIo = {
  env: process.env,
  fetch: globalThis.fetch,
  writeFile: (path, text) => writeFile(path, text),
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/** Runs `ripcord <command> ...`; returns the exit code. */
export async function runCli(argv: string[], io: CliIo = defaultIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'refs') return runRefs(rest, io);
  if (command !== 'typegen') {
    const usage = `${USAGE}\n\n${REFS_USAGE}`;
    io.err(command && command !== '--help' && command !== '-h' ? `Unknown command '${command}'.\n\n${usage}` : usage);
    return command === '--help' || command === '-h' ? 0 : 2;
  }
  let values: { url?: string; token?: string; out?: string; environment?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: rest,
      options: { url: { type: 'string' }, token: { type: 'string' }, out: { type: 'string' }, environment: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (error) {
    io.err(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  const url = (values.url ?? io.env.RIPCORD_URL)?.replace(/\/+$/, '');
  const token = values.token ?? io.env.RIPCORD_TOKEN;
  const out = values.out ?? 'flags.d.ts';
  if (!url || !token) {
    io.err(`--url and --token are required.\n\n${USAGE}`);
    return 2;
  }
  const query = values.environment ? `?environment=${encodeURIComponent(values.environment)}` : '';
  let response: Response;
  try {
    response = await io.fetch(`${url}/api/v1/definitions${query}`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(30_000) });
  } catch (error) {
    io.err(`Could not reach ${url}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  if (!response.ok) {
    io.err(`${url}/api/v1/definitions answered HTTP ${response.status}: ${(await response.text()).slice(0, 300)}`);
    return 1;
  }
  const parsed = definitionsPayloadSchema.safeParse(await response.json());
  if (!parsed.success) {
    io.err(`The definitions could not be read: ${parsed.error.issues[0]?.message ?? 'unknown shape'}`);
    return 1;
  }
  await io.writeFile(out, generateDeclarations(parsed.data, url));
  io.out(`Wrote ${parsed.data.flags.length} flag types (environment ${parsed.data.environment}, version ${parsed.data.version}) to ${out}`);
  return 0;
}
