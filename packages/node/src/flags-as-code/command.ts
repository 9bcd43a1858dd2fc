import { parseArgs } from 'node:util';
import type { CliIo } from '../typegen/cli.js';
import { ApiError, createApiClient, type ApiClient } from './api-client.js';
import { applyPlan, summarise } from './apply.js';
import { flagsFileJsonSchema, type FlagsFile } from './flags-file.js';
import { readFlagsFile, renderFlagsFile } from './flags-yaml.js';
import { computePlan, planChanges, renderPlan, type Plan } from './plan.js';
import { createProgress } from './progress.js';
import { fileOf, readServerState } from './server-state.js';

export const FLAGS_USAGE = `Usage: ripcord flags export --environment <env> [--out flags.yaml]
       ripcord flags plan  --file flags.yaml [--prune] [--json]
       ripcord flags apply --file flags.yaml [--auto-approve] [--prune] [--message <why>]
       ripcord flags schema [--out flags-file.schema.json]

Flags as code. export writes one environment's flags and the segments they target as YAML, in a
stable order (export, apply, export gives the same bytes). plan compares a file with the server, per
flag and per field, and exits 0 when nothing would change, 2 when something would, 1 on error.
apply writes each change with If-Match (a change made on the server meanwhile is reported, not
overwritten); where the environment's change policy covers a write it becomes a change request,
whose link is printed; every audit event's reason names the file and its SHA-256. A flag is
applied whole or not at all. Flags the file lacks are archived only with --prune. --environment
overrides the file's environment. RIPCORD_URL and RIPCORD_TOKEN (a user's admin token) stand in
for --url and --token.`;

/** What the flags and import commands need beyond the typegen's I/O; the bin passes the process's. */
export interface CommandIo extends CliIo {
  readFile?: (path: string) => Promise<string>;
  /** stderr, for progress: a bar when it is a terminal, counts otherwise. */
  progress?: { isTTY: boolean; write(text: string): void };
  /** Asks a yes/no question on the terminal; absent when there is none. */
  confirm?: (question: string) => Promise<boolean>;
}

/** A failure the user can act on: printed as it is, exit 1. */
export class CommandError extends Error {}

export function connect(io: CommandIo, values: { url?: string; token?: string }): ApiClient {
  const url = (values.url ?? io.env.RIPCORD_URL)?.replace(/\/+$/, '');
  const token = values.token ?? io.env.RIPCORD_TOKEN;
  if (!url || !token) throw new CommandError('--url and --token (or RIPCORD_URL and RIPCORD_TOKEN) are required.');
  return createApiClient(io.fetch, url, token);
}

/** Reads and validates a flags file; throws a CommandError listing each problem with its line and path. */
export async function loadFile(io: CommandIo, name: string | undefined): Promise<{ file: FlagsFile; sha256: string; name: string }> {
  if (!name) throw new CommandError('--file <flags.yaml> is required.');
  if (!io.readFile) throw new CommandError('reading files is not available here');
  let text: string;
  try {
    text = await io.readFile(name);
  } catch (error) {
    throw new CommandError(`cannot read ${name}: ${(error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error))}`);
  }
  const result = readFlagsFile(name, text);
  if ('errors' in result) throw new CommandError(`${name} is not a valid flags file:\n${result.errors.map((e) => `  ${e}`).join('\n')}`);
  return { ...result, name };
}

/** The audit reason of an apply: the command, the file and its SHA-256 (at most 500 characters, the API's limit). */
export function auditReason(command: string, name: string, sha256: string, message?: string): string {
  const base = `${command} ${name.length > 200 ? `…${name.slice(-199)}` : name} sha256:${sha256}`;
  return (message ? `${base}: ${message}` : base).slice(0, 500);
}

/** Plans a file against the server, with progress while the server is read. */
export async function planFile(io: CommandIo, api: ApiClient, file: FlagsFile, prune: boolean, onlyFileFlags = false): Promise<Plan> {
  const state = await readServerState(api, file.environment, {
    onlyThese: onlyFileFlags,
    alsoFlags: file.flags.map((f) => f.key),
    alsoSegments: (file.segments ?? []).map((s) => s.key),
    progress: (total) => createProgress(io.progress, 'reading flags', total),
  });
  return computePlan(file, state, { prune });
}

/**
 * Confirms (unless auto-approved), applies and summarises a plan; returns the exit code: 0 when
 * everything applied or waits as a change request, 1 otherwise.
 */
export async function applyAndReport(io: CommandIo, api: ApiClient, plan: Plan, options: { autoApprove: boolean; reason: string }): Promise<number> {
  for (const line of renderPlan(plan)) io.out(line);
  if (plan.problems.length) {
    io.err(`Nothing was applied: ${plan.problems.length} problem(s) above.`);
    return 1;
  }
  if (!planChanges(plan)) {
    io.out('Nothing to apply.');
    return 0;
  }
  if (!options.autoApprove) {
    if (!io.confirm) throw new CommandError('there is no terminal to confirm on: pass --auto-approve to apply without asking');
    if (!(await io.confirm(`Apply these changes to ${plan.environment}? Only 'yes' applies: `))) {
      io.out('Nothing was applied.');
      return 1;
    }
  }
  const outcomes = await applyPlan(api, plan, { reason: options.reason, progress: (total) => createProgress(io.progress, 'applying', total) });
  for (const line of summarise(outcomes)) io.out(line);
  return outcomes.every((o) => o.status === 'applied' || o.status === 'requested') ? 0 : 1;
}

async function run(sub: string | undefined, args: string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      url: { type: 'string' }, token: { type: 'string' }, environment: { type: 'string' }, out: { type: 'string' }, file: { type: 'string' },
      prune: { type: 'boolean' }, json: { type: 'boolean' }, 'auto-approve': { type: 'boolean' }, message: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.out(FLAGS_USAGE);
    return 0;
  }
  switch (sub) {
    case 'schema': {
      const text = `${JSON.stringify(flagsFileJsonSchema(), null, 2)}\n`;
      if (values.out) await io.writeFile(values.out, text);
      else io.out(text.trimEnd());
      return 0;
    }
    case 'export': {
      if (!values.environment) throw new CommandError('--environment <env> is required.');
      const api = connect(io, values);
      const state = await readServerState(api, values.environment, { progress: (total) => createProgress(io.progress, 'reading flags', total) });
      const file = fileOf(state);
      const text = renderFlagsFile(file);
      if (values.out) {
        await io.writeFile(values.out, text);
        io.err(`Wrote ${file.flags.length} flags and ${file.segments?.length ?? 0} segments of ${values.environment} to ${values.out}`);
      } else {
        io.out(text.trimEnd());
      }
      return 0;
    }
    case 'plan': {
      const { file } = await loadFile(io, values.file);
      if (values.environment) file.environment = values.environment;
      const plan = await planFile(io, connect(io, values), file, values.prune ?? false);
      if (values.json) io.out(JSON.stringify(planJson(plan), null, 2));
      else for (const line of renderPlan(plan)) io.out(line);
      if (plan.problems.length) return 1;
      return planChanges(plan) ? 2 : 0;
    }
    case 'apply': {
      const { file, sha256, name } = await loadFile(io, values.file);
      if (values.environment) file.environment = values.environment;
      const api = connect(io, values);
      const plan = await planFile(io, api, file, values.prune ?? false);
      return applyAndReport(io, api, plan, { autoApprove: values['auto-approve'] ?? false, reason: auditReason('ripcord flags apply', name, sha256, values.message) });
    }
    default:
      throw new CommandError(sub ? `unknown command 'flags ${sub}'.\n\n${FLAGS_USAGE}` : FLAGS_USAGE);
  }
}

/** The plan for machines (--json): what changes per flag and segment, without the server's copies. */
function planJson(plan: Plan) {
  return {
    environment: plan.environment,
    changes: planChanges(plan),
    problems: plan.problems,
    segments: plan.segments.map(({ kind, key, changes }) => ({ action: kind, key, changes })),
    flags: plan.flags.map((f) => ({ action: f.kind, key: f.key, changes: f.kind === 'create' ? f.changes : f.kind === 'update' ? [...f.identity, ...f.config] : [] })),
    unchanged: plan.unchanged,
    not_in_file: plan.notInFile,
  };
}

/** Runs a command body: a known failure prints its message, anything else its message too, never a stack; exit 1. */
export async function guarded(io: CommandIo, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof CommandError || error instanceof ApiError) io.err(`Error: ${error.message}`);
    else if (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS')) io.err(`Error: ${error.message}\n\n${FLAGS_USAGE}`);
    else io.err(`Error: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

/** `ripcord flags <sub>`: returns the exit code. */
export function runFlags(args: string[], io: CommandIo): Promise<number> {
  const [sub, ...rest] = args;
  return guarded(io, () => run(sub, rest, io));
}
