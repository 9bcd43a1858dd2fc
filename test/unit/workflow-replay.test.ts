import { readdir, readFile } from 'node:fs/promises';
import { Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { describe, expect, it } from 'vitest';
import { bundleWorkflows } from '../../src/main/worker-process.js';

const dir = new URL('../fixtures/histories/', import.meta.url);

describe('workflow determinism', () => {
  it('replays every recorded history without a non-determinism error', async () => {
    const files = (await readdir(dir)).filter((name) => name.endsWith('.json'));
    expect(files.length).toBeGreaterThanOrEqual(5);
    const histories = await Promise.all(
      files.map(async (name) => ({
        workflowId: name,
        history: historyFromJSON(JSON.parse(await readFile(new URL(name, dir), 'utf8'))),
      })),
    );
    const results: Array<{ workflowId: string; error?: unknown }> = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle: await bundleWorkflows() }, histories)) {
      results.push({ workflowId: result.workflowId, error: result.error });
    }
    expect(results.map((r) => r.workflowId).sort()).toEqual(files.sort());
    expect(results.filter((r) => r.error)).toEqual([]);
  }, 60_000);
});
