import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPackages } from './build-helpers.js';
import { startStack, uniqueKey, type Stack } from './harness.js';
import { createFlag, createToken, onForEveryone } from './serving-helpers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
// Inside the repository, so the files are ES modules like the project's.
const dir = join(root, 'test-artifacts', 'typegen');
// The engine's declaration of its hashing package, which the project's tsconfig picks up by include.
const engineTypes = join(root, 'src/engine/murmurhash3js-revisited.d.ts');

// The bin of the built @ripcord/node (what `npx ripcord` runs in an app; test/integration/sdk-packages runs it so).
const ripcord = join(root, 'packages/node/dist/typegen/bin.js');

let stack: Stack;
let serverToken: string;
beforeAll(async () => {
  mkdirSync(dir, { recursive: true });
  await buildPackages();
  stack = await startStack({}, { worker: false });
  serverToken = await createToken(stack.db, 'server');
}, 300_000);
afterAll(async () => {
  await stack?.close();
});

const COMPILER_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
  lib: ['lib.es2022.d.ts'], types: ['node'], strict: true, skipLibCheck: true, noEmit: true, esModuleInterop: true,
};
// Both checks below read the same libraries and SDK sources: each is parsed once. The files this test
// writes (under `dir`) are always read afresh.
const host = ts.createCompilerHost(COMPILER_OPTIONS);
const parsed = new Map<string, ts.SourceFile | undefined>();
const readSourceFile = host.getSourceFile.bind(host);
host.getSourceFile = (fileName, languageVersion, onError, shouldCreateNewSourceFile) => {
  if (fileName.startsWith(dir)) return readSourceFile(fileName, languageVersion, onError, shouldCreateNewSourceFile);
  if (!parsed.has(fileName)) parsed.set(fileName, readSourceFile(fileName, languageVersion, onError, shouldCreateNewSourceFile));
  return parsed.get(fileName);
};

/**
 * Type-checks files with the project's compiler settings; returns the diagnostics as text: of every
 * file the program reaches, or with `only`, of those files (and the program's global ones).
 */
function typeCheck(files: string[], only?: string[]): string[] {
  const program = ts.createProgram(files, COMPILER_OPTIONS, host);
  const diagnostics = only
    ? [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics(), ...only.flatMap((file) => {
      const source = program.getSourceFile(file);
      if (!source) throw new Error(`${file} is not in the program`);
      return [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)];
    })]
    : ts.getPreEmitDiagnostics(program);
  return diagnostics.map((d) => {
    const where = d.file && d.start !== undefined ? `${d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}` : '';
    return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

describe('ripcord typegen', () => {
  it('writes key → type declarations that make the SDKs check keys and defaults', async () => {
    const nav = uniqueKey('new-nav');
    const theme = uniqueKey('theme');
    const limit = uniqueKey('limit');
    const banner = uniqueKey('banner');
    await createFlag(stack, nav, onForEveryone);
    await createFlag(stack, theme, { enabled: true, value: 'dark', off_value: 'light' }, { type: 'string' });
    await createFlag(stack, limit, { enabled: true, value: 10, off_value: 0 }, { type: 'number' });
    await createFlag(stack, banner, { enabled: true, value: { text: 'hi', color: 'red' }, off_value: { text: '', color: 'none' } }, { type: 'json' });
    const layout = uniqueKey('layout');
    await createFlag(stack, layout, {
      enabled: true, on_variant: 'control', off_variant: 'control',
      variants: [{ name: 'control', value: 'list' }, { name: 'compact', value: 'dense' }, { name: 'wide', value: 'grid' }],
    }, { type: 'string' });

    const out = join(dir, 'flags.d.ts');
    const { stdout } = await promisify(execFile)(process.execPath, [ripcord, 'typegen', '--url', stack.api.url, '--token', serverToken, '--out', out], { cwd: root, timeout: 60_000 });
    expect(stdout).toMatch(/Wrote \d+ flag types \(environment production/);
    const generated = readFileSync(out, 'utf8');
    expect(generated).toContain(`"${nav}": boolean;`);
    expect(generated).toContain(`"${theme}": string;`);
    expect(generated).toContain(`"${limit}": number;`);
    expect(generated).toContain(`"${banner}": { text: string; color: string };`);
    expect(generated).toContain(`"${layout}": "control" | "compact" | "wide";`);

    const usage = join(dir, 'usage.ts');
    writeFileSync(usage, `
import { useFlag, useFlagDetails, useVariant } from '../../packages/react/src/index.js';
import { createClient } from '../../packages/node/src/index.js';

export function usesFlags(): string {
  const on: boolean = useFlag(${JSON.stringify(nav)}, false);
  const color: string = useFlag(${JSON.stringify(banner)}, { text: '', color: 'x' }).color;
  // @ts-expect-error an unknown key is refused
  useFlag('not-a-flag', false);
  // @ts-expect-error a default of the wrong type is refused
  useFlag(${JSON.stringify(nav)}, 'yes');
  const client = createClient({ offline: true });
  const n: number = client.number(${JSON.stringify(limit)}, 5);
  // @ts-expect-error a string flag is not read as a boolean
  client.boolean(${JSON.stringify(theme)}, false);
  const variant: 'control' | 'compact' | 'wide' | undefined = useVariant(${JSON.stringify(layout)});
  // @ts-expect-error a name that is not one of the flag's variants
  if (useFlagDetails(${JSON.stringify(layout)}, 'list').variant === 'tiny') return 'never';
  return \`\${variant} \${on} \${color} \${n} \${client.string(${JSON.stringify(theme)}, 'light')}\`;
}
`);
    // Every @ts-expect-error above must be used (an unused one is itself an error), and nothing else may fail.
    expect(typeCheck([engineTypes, out, usage])).toEqual([]);
    // Without the declarations the same misuse compiles: the checks come from the generated file.
    const loose = join(dir, 'loose.ts');
    writeFileSync(loose, `import { useFlag } from '../../packages/react/src/index.js';\nexport const x: boolean = useFlag('not-a-flag', false);\n`);
    // Only the file's own diagnostics: the SDK sources without the declarations are what `npm run typecheck` checks.
    expect(typeCheck([engineTypes, loose], [loose])).toEqual([]);
  });

  it('explains its usage and fails clearly on a refused token', async () => {
    const run = promisify(execFile);
    await expect(run(process.execPath, [ripcord, 'typegen', '--url', stack.api.url, '--token', 'rc_server_wrong', '--out', join(dir, 'x.d.ts')], { cwd: root, timeout: 60_000 }))
      .rejects.toMatchObject({ stderr: expect.stringMatching(/HTTP 401/) });
    await expect(run(process.execPath, [ripcord, 'typegen'], { cwd: root, timeout: 60_000 })).rejects.toMatchObject({ stderr: expect.stringMatching(/--url and --token are required/) });
  });
});
