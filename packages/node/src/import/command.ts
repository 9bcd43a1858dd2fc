import { parseArgs } from 'node:util';
import { parseDocument } from 'yaml';
import { applyAndReport, auditReason, CommandError, connect, guarded, planFile, type CommandIo } from '../flags-as-code/command.js';
import { validateFile } from '../flags-as-code/flags-file.js';
import { renderFlagsFile, sha256Of } from '../flags-as-code/flags-yaml.js';
import { renderPlan } from '../flags-as-code/plan.js';
import { importFlagd } from './flagd.js';
import { renderReport, Unmappable, type ImportResult } from './import-report.js';
import { importLaunchDarkly } from './launchdarkly.js';
import { importUnleash } from './unleash.js';

export const IMPORT_USAGE = `Usage: ripcord import flagd|unleash|launchdarkly --file <export> --environment <env>
                      [--dry-run] [--out flags.yaml] [--source-environment <env>] [--auto-approve]

Imports flags from another service into an environment: flagd flag definitions (JSON or YAML),
an Unleash export (features-batch/export, or /api/client/features), LaunchDarkly flag JSON (its REST
API's, or the SDKs' {flags: ...} data). Prints, per flag, what maps, what can't (and why) and
whether it keeps its cohorts (the same users get the same values), then applies the mapped flags
as 'ripcord flags apply' does. --dry-run reports and plans without writing; --out writes the
mapped flags as a flags file instead of applying, to review and apply later.`;

const IMPORTERS: Record<string, (data: unknown, environment: string, source?: string) => ImportResult> = {
  flagd: (data, environment) => importFlagd(data, environment),
  unleash: importUnleash,
  launchdarkly: importLaunchDarkly,
};

async function run(args: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true,
    options: {
      url: { type: 'string' }, token: { type: 'string' }, file: { type: 'string' }, environment: { type: 'string' }, 'source-environment': { type: 'string' },
      'dry-run': { type: 'boolean' }, out: { type: 'string' }, 'auto-approve': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.out(IMPORT_USAGE);
    return 0;
  }
  const [source] = positionals;
  const importer = source ? IMPORTERS[source] : undefined;
  if (!importer) throw new CommandError(`name the source: flagd, unleash or launchdarkly.\n\n${IMPORT_USAGE}`);
  if (!values.file) throw new CommandError('--file <export> is required.');
  if (!values.environment) throw new CommandError('--environment <env> is required.');
  if (!io.readFile) throw new CommandError('reading files is not available here');
  let text: string;
  try {
    text = await io.readFile(values.file);
  } catch (error) {
    throw new CommandError(`cannot read ${values.file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length) throw new CommandError(`${values.file} is neither JSON nor YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  let result: ImportResult;
  try {
    result = importer(doc.toJS(), values.environment, values['source-environment']);
  } catch (error) {
    if (error instanceof Unmappable) throw new CommandError(`${values.file}: ${error.message}`);
    throw error;
  }
  for (const line of renderReport(`${source} (${values.file})`, result.reports)) io.out(line);
  const checked = validateFile(result.file);
  if (!checked.file) throw new CommandError(`the mapped flags did not pass the flags file's checks (a bug in the ${source} importer): ${checked.problems.slice(0, 3).map((p) => `${p.path.join('.')}: ${p.message}`).join('; ')}`);
  if (values.out) {
    await io.writeFile(values.out, renderFlagsFile(checked.file));
    io.out(`Wrote ${checked.file.flags.length} flags to ${values.out}: review it, then ripcord flags apply --file ${values.out}`);
    return 0;
  }
  const api = connect(io, values);
  const plan = await planFile(io, api, checked.file, false, true);
  if (values['dry-run']) {
    for (const line of renderPlan(plan)) io.out(line);
    io.out('Dry run: nothing was written.');
    return plan.problems.length ? 1 : 0;
  }
  return applyAndReport(io, api, plan, { autoApprove: values['auto-approve'] ?? false, reason: auditReason(`ripcord import ${source}`, values.file, sha256Of(text)) });
}

/** `ripcord import <source>`: returns the exit code. */
export function runImport(args: string[], io: CommandIo): Promise<number> {
  return guarded(io, () => run(args, io));
}
