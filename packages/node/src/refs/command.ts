import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import type { CliIo } from '../typegen/cli.js';
import { fetchDefinitions } from '../typegen/fetch-definitions.js';
import { scanText, summarise, type CodeReference } from './scan.js';

export const REFS_USAGE = `Usage: ripcord refs [dir] --url <api> --token <token> [--environment production] [--json]
                    [--upload --repository <name>]

Scans dir (default .) for flag keys: SDK and OpenFeature call sites, and string literals equal to a
known key. Prints where each flag is used, the flags nothing references (candidates for removal) and
keys at call sites the server does not know. --upload sends the references to the server (a user's
admin token with editor rights), which shows them on each flag's page. RIPCORD_URL and RIPCORD_TOKEN
stand in for --url and --token.`;

const SOURCE = /\.(?:[cm]?[jt]sx?|py|go|java|kt|rb|cs|php|swift|rs|vue|svelte)$/;
const SKIP = new Set(['node_modules', '.git', 'dist', 'build', 'coverage', 'vendor', '.next', 'target', '__pycache__', '.venv', 'venv']);
const MAX_FILE_BYTES = 1024 * 1024;
const MAX_FILES = 50_000;

async function* sourceFiles(dir: string): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIP.has(entry.name) && !entry.name.startsWith('.')) yield* sourceFiles(join(dir, entry.name));
    } else if (entry.isFile() && SOURCE.test(entry.name)) {
      yield join(dir, entry.name);
    }
  }
}

/** `ripcord refs`: returns the exit code. */
export async function runRefs(args: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args, allowPositionals: true,
      options: {
        url: { type: 'string' }, token: { type: 'string' }, environment: { type: 'string' }, json: { type: 'boolean' },
        upload: { type: 'boolean' }, repository: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    io.err(`${error instanceof Error ? error.message : String(error)}\n\n${REFS_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(REFS_USAGE);
    return 0;
  }
  const url = (values.url ?? io.env.RIPCORD_URL)?.replace(/\/+$/, '');
  const token = values.token ?? io.env.RIPCORD_TOKEN;
  if (!url || !token) {
    io.err(`--url and --token are required (the known flag keys come from the server).\n\n${REFS_USAGE}`);
    return 2;
  }
  if (values.upload && !values.repository) {
    io.err(`--upload needs --repository <name> (references are kept per repository).\n\n${REFS_USAGE}`);
    return 2;
  }
  const root = positionals[0] ?? '.';
  const definitions = await fetchDefinitions(io, url, token, values.environment);
  if (!definitions) return 1;
  const known = new Set(definitions.flags.map((flag) => flag.key));

  const references: CodeReference[] = [];
  let files = 0;
  for await (const file of sourceFiles(root)) {
    if (++files > MAX_FILES) {
      io.err(`More than ${MAX_FILES} source files under ${root}: scan a smaller directory.`);
      return 1;
    }
    if ((await stat(file)).size > MAX_FILE_BYTES) continue;
    references.push(...scanText(relative(root, file), await readFile(file, 'utf8'), known));
  }
  const report = summarise(references, known);

  if (values.json) {
    io.out(JSON.stringify({ environment: definitions.environment, files_scanned: files, ...report }, null, 2));
  } else {
    io.out(`Scanned ${files} files under ${root} against ${known.size} flags (environment ${definitions.environment}).`);
    for (const { flag, files: where } of report.used) {
      io.out(`  ${flag}: ${where.length} file${where.length === 1 ? '' : 's'}`);
      for (const { path, lines } of where) io.out(`    ${path}:${lines.join(',')}`);
    }
    io.out(report.unreferenced.length ? `No references (candidates for removal): ${report.unreferenced.join(', ')}` : 'Every flag is referenced.');
    for (const { flag, path, line } of report.unknown) io.out(`Unknown key at a call site: ${flag} (${path}:${line})`);
  }

  if (values.upload) {
    const body = { repository: values.repository, references: references.filter((r) => known.has(r.flag)).map(({ flag, path, line, kind }) => ({ flag, path, line, kind })) };
    const uploaded = await io.fetch(`${url}/api/v1/code-references`, {
      method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(30_000),
    });
    if (!uploaded.ok) {
      io.err(`Uploading the references failed: HTTP ${uploaded.status} ${(await uploaded.text()).slice(0, 300)}`);
      return 1;
    }
    io.out(`Uploaded ${body.references.length} references for repository ${values.repository}.`);
  }
  return 0;
}
