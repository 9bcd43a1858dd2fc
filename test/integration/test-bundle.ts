import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflows } from '../../src/main/worker-process.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
/** Where a test run's workflow bundle goes: every test worker (and every worker process a test starts) runs it. */
export const TEST_BUNDLE_PATH = join(root, '.stack', 'test-workflow-bundle.js');

/** Webpack, once per run instead of once per file: the bundle and its source map, written to TEST_BUNDLE_PATH. */
export async function writeTestBundle(): Promise<string> {
  const bundle = await bundleWorkflows();
  mkdirSync(dirname(TEST_BUNDLE_PATH), { recursive: true });
  writeFileSync(TEST_BUNDLE_PATH, bundle.code);
  writeFileSync(`${TEST_BUNDLE_PATH}.map`, bundle.sourceMap);
  return TEST_BUNDLE_PATH;
}
