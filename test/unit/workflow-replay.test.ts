import { readdir, readFile } from 'node:fs/promises';
import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { describe, expect, it } from 'vitest';
import { bundleWorkflows } from '../../src/main/worker-process.js';

// Every history ever recorded lives in this folder (scripts/record-histories.ts adds new ones and
// never overwrites). Files named `*.nondeterministic.json` were recorded from code that changed its
// command sequence without a patch and can never replay beside the others (see the folder's
// README.md); they are replayed too, and must fail with a non-determinism error — which also proves
// that this test catches one.
const dir = new URL('../fixtures/histories/', import.meta.url);
const KNOWN_NONDETERMINISTIC = '.nondeterministic.json';

describe('workflow determinism', () => {
  it('replays every recorded history: all but the known non-deterministic ones without a non-determinism error', async () => {
    const files = (await readdir(dir)).filter((name) => name !== 'README.md').sort();
    expect(files.filter((name) => !name.endsWith('.json'))).toEqual([]);
    for (const type of ['killSwitch', 'restoreKillSwitch', 'rollout', 'scheduledChange', 'deliverWebhook', 'lifecycleDigest', 'releasePipeline', 'changeRequest']) {
      expect(files.some((name) => name.startsWith(`${type}.`) && !name.endsWith(KNOWN_NONDETERMINISTIC)), `a replayable ${type} history`).toBe(true);
    }
    const histories = await Promise.all(
      files.map(async (name) => ({
        workflowId: name,
        history: historyFromJSON(JSON.parse(await readFile(new URL(name, dir), 'utf8'))),
      })),
    );
    const outcomes: Record<string, string> = {};
    for await (const result of Worker.runReplayHistories({ workflowBundle: await bundleWorkflows() }, histories)) {
      outcomes[result.workflowId] = result.error === undefined ? 'replays'
        : result.error instanceof DeterminismViolationError ? 'non-deterministic'
        : `fails: ${String(result.error)}`;
    }
    expect(outcomes).toEqual(Object.fromEntries(files.map((name) => [name, name.endsWith(KNOWN_NONDETERMINISTIC) ? 'non-deterministic' : 'replays'])));
  }, 60_000);
});
