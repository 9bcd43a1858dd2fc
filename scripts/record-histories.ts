// Saves the history of the latest completed run of each workflow type into test/fixtures/histories/,
// for the replay test: run the integration tests (or use the stack), then `npx tsx scripts/record-histories.ts`.
import { writeFile } from 'node:fs/promises';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';

const WORKFLOW_TYPES = process.argv.slice(2).length ? process.argv.slice(2) : ['killSwitch', 'restoreKillSwitch', 'rollout', 'scheduledChange', 'deliverWebhook'];
const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
const client = new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default' });

for (const type of WORKFLOW_TYPES) {
  let recorded = false;
  for await (const execution of client.workflow.list({ query: `WorkflowType="${type}" AND ExecutionStatus="Completed"` })) {
    const history = await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
    const file = new URL(`../test/fixtures/histories/${type}.json`, import.meta.url);
    await writeFile(file, historyToJSON(history));
    console.log(`recorded ${type} from ${execution.workflowId} -> ${file.pathname}`);
    recorded = true;
    break;
  }
  if (!recorded) console.error(`no completed ${type} workflow found`);
}
await connection.close();
