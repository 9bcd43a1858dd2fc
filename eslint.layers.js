// @ts-check
// The layer rules of docs/architecture.md §2 as lint rules, one no-restricted-imports block per folder
// (a file must match exactly one block: ESLint replaces a rule's options, it never merges them).
import { readdirSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';

/** The shared kernel: it imports no feature folder. Every other folder of src/ except main/ is a feature. */
export const KERNEL = ['engine', 'domain', 'serving', 'cache', 'auth', 'connections', 'protocol', 'temporal', 'outbox', 'flagd', 'telemetry'];
/** The composition root: it wires everything together, so it may import anything. */
const ROOT = 'main';
const ADAPTERS = ['api', 'slack', 'activities'];
const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Every folder holding TypeScript under `dir` (itself included), relative to `root`, sorted. */
function folders(root, dir) {
  const found = [];
  const walk = (at) => {
    const entries = readdirSync(join(root, at), { withFileTypes: true });
    if (entries.some((e) => e.isFile() && /\.tsx?$/.test(e.name))) found.push(at);
    for (const e of entries) if (e.isDirectory()) walk(join(at, e.name));
  };
  walk(dir);
  return found.sort();
}

/** The import specifier prefix that leads from `folder` back to the repository root ('../../' for src/flags). */
const up = (folder) => '../'.repeat(folder.split('/').length);

/**
 * The rules for one folder of src/: a regex pattern per forbidden target, written against the
 * relative specifiers a file there uses (`../flags/…` from src/cache, `./flags/…` from src/).
 */
function srcPatterns(folder, features) {
  const parts = folder.split('/');
  const top = parts[1];
  const toSrc = parts.length === 1 ? './' : '../'.repeat(parts.length - 1);
  const toRoot = up(folder);
  const patterns = [];
  if (top === ROOT) return patterns;
  patterns.push({
    regex: `^${escape(toRoot)}(${ADAPTERS.join('|')})/`,
    message: 'src/ never imports the adapters (api/, slack/, activities/): they call src/, not the other way round.',
  });
  if (top !== undefined && !KERNEL.includes(top)) return patterns;
  patterns.push({
    regex: `^${escape(toSrc)}(${features.join('|')})/`,
    message: 'The kernel imports no feature folder: inject what it needs (an interface the feature implements) or move the code into the feature.',
  });
  patterns.push({
    regex: `^${escape(toRoot)}workflows/`,
    allowTypeImports: true,
    message: 'The kernel imports workflows as types only (features start them).',
  });
  if (top === 'domain') {
    patterns.push({ regex: `^${escape(toSrc)}(?!domain/)`, message: 'src/domain/ is the vocabulary: it imports only itself.' });
  }
  if (top === 'engine') {
    patterns.push({ regex: `^${escape(toSrc)}(?!domain/|engine/)`, message: 'The engine is pure: it imports only src/domain/.' });
  }
  return patterns;
}

/** Node's built-in modules by their bare names (the `node:*` pattern catches the scheme); workflows may import none. */
export const NODE_BUILTINS = builtinModules.filter((name) => !name.startsWith('node:'));

/** SQL as it starts a string literal: it belongs in a *-store.ts file (or src/connections/ for transactions and roles). */
const SQL_START = String.raw`/^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|LOCK|TRUNCATE)\s/`;
const SQL_MESSAGE = 'SQL lives only in *-store.ts files of the feature folders (and src/connections/): call a store function.';

/** The flat-config blocks of the layer rules, for the repository at `root`. */
export function layerConfigs(root) {
  const srcFolders = folders(root, 'src');
  const features = [...new Set(srcFolders.map((f) => f.split('/')[1]).filter((top) => top && top !== ROOT && !KERNEL.includes(top)))];
  const blocks = [];
  for (const folder of srcFolders) {
    const patterns = srcPatterns(folder, features);
    if (patterns.length > 0) blocks.push({ files: [`${folder}/*.ts`], rules: { 'no-restricted-imports': ['error', { patterns }] } });
  }
  // config.ts is read by every process before anything else: it parses settings and imports no layer.
  blocks.push({
    files: ['src/config.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ regex: String.raw`^\./(?!domain/|config-parsers\.js$)`, message: 'config.ts imports only src/domain/ and src/config-parsers.ts.' }],
      }],
    },
  });
  for (const adapter of ADAPTERS) {
    const patterns = [{ regex: String.raw`-store\.js$`, message: 'Adapters import no store: call the feature\'s command or query (src/<feature>/*-service.ts).' }];
    if (adapter !== 'api') patterns.push({ regex: String.raw`^(\.\./)+api/`, message: 'Only the HTTP adapter lives in api/: share through src/.' });
    blocks.push({ files: [`${adapter}/**/*.ts`], rules: { 'no-restricted-imports': ['error', { patterns }] } });
  }
  blocks.push({
    files: ['src/**/*.ts', 'api/**/*.ts', 'slack/**/*.ts', 'activities/**/*.ts', 'workflows/**/*.ts'],
    ignores: ['src/**/*-store.ts', 'src/connections/**'],
    rules: {
      'no-restricted-syntax': ['error',
        { selector: `Literal[value=${SQL_START}]`, message: SQL_MESSAGE },
        { selector: `TemplateLiteral > TemplateElement:first-child[value.raw=${SQL_START}]`, message: SQL_MESSAGE },
      ],
    },
  });
  blocks.push({
    // Workflow code is replayed: it must be deterministic and free of I/O.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'Workflows must not import Node built-ins (determinism).' },
            { group: ['../activities/*', '../api/*'], allowTypeImports: true, message: 'Workflows import activities as types only.' },
            // Feature folders start workflows (and import their message definitions); a value import back would
            // close the loop. Values come only from the deterministic vocabulary: src/domain/ and the workflow ids.
            {
              regex: String.raw`^\.\./src/(?!domain/|temporal/workflow-ids\.js$|temporal/search-attributes\.js$)`,
              allowTypeImports: true,
              message: 'Workflows import src/ as types only, except src/domain/ and the workflow ids: put shared vocabulary in src/domain/.',
            },
          ],
          paths: [
            ...NODE_BUILTINS.map((name) => ({ name, message: 'Workflows must not import Node built-ins (determinism).' })),
            ...['pg', 'ioredis', 'express', '@slack/web-api', '@slack/bolt', 'pino', 'prom-client', '@temporalio/client', '@temporalio/worker', '@temporalio/activity']
              .map((name) => ({ name, message: 'Workflows do no I/O: call an activity.' })),
          ],
        },
      ],
      'no-restricted-globals': ['error', { name: 'setTimeout', message: 'Use sleep() from @temporalio/workflow.' }],
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'Workflows are replayed: no randomness.' }],
    },
  });
  return blocks;
}
