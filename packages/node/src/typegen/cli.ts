import { readFile, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { fetchDefinitions } from './fetch-definitions.js';
import { generateDeclarations } from './generate.js';
import { REFS_USAGE, runRefs } from '../refs/command.js';
import { FLAGS_USAGE, runFlags, type CommandIo } from '../flags-as-code/command.js';
import { IMPORT_USAGE, runImport } from '../import/command.js';

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

async function confirmOnTerminal(question: string): Promise<boolean> {
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await prompt.question(question)).trim() === 'yes';
  } finally {
    prompt.close();
  }
}

const defaultIo: CommandIo = {
  env: process.env,
  fetch: globalThis.fetch,
  writeFile: (path, text) => writeFile(path, text),
  readFile: (path) => readFile(path, 'utf8'),
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  progress: { isTTY: Boolean(process.stderr.isTTY), write: (text) => process.stderr.write(text) },
  confirm: process.stdin.isTTY && process.stderr.isTTY ? confirmOnTerminal : undefined,
};

/** Runs `ripcord <command> ...`; returns the exit code. */
export async function runCli(argv: string[], io: CommandIo = defaultIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'refs') return runRefs(rest, io);
  if (command === 'flags') return runFlags(rest, io);
  if (command === 'import') return runImport(rest, io);
  if (command !== 'typegen') {
    const usage = `${USAGE}\n\n${REFS_USAGE}\n\n${FLAGS_USAGE}\n\n${IMPORT_USAGE}`;
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
  const definitions = await fetchDefinitions(io, url, token, values.environment);
  if (!definitions) return 1;
  await io.writeFile(out, generateDeclarations(definitions, url));
  io.out(`Wrote ${definitions.flags.length} flag types (environment ${definitions.environment}, version ${definitions.version}) to ${out}`);
  return 0;
}
