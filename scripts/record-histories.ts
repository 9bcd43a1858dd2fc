// Adds the history of the latest completed run of each workflow type to test/fixtures/histories/ as
// `<type>.<label>.json`, for the replay test: run the integration tests (or use the stack), then
//   TEMPORAL_ADDRESS=127.0.0.1:<port> npx tsx scripts/record-histories.ts <label> [type[=workflowId]...]
// (`type=workflowId` records that workflow's latest completed run instead of the type's latest)
// with a label saying which workflow version recorded it (e.g. v4-confirms-convergence). It never
// overwrites a file: a history once recorded stays, because running workflows may still carry it.
import { writeFile } from 'node:fs/promises';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';

const [label, ...types] = process.argv.slice(2);
if (!label || !/^v\d+[a-z0-9-]*$/.test(label)) {
  console.error('usage: record-histories.ts <label like v4-what-changed> [workflow type...]');
  process.exit(2);
}
const WORKFLOW_TYPES = types.length ? types : ['killSwitch', 'restoreKillSwitch', 'rollout', 'scheduledChange', 'deliverWebhook', 'lifecycleDigest', 'releasePipeline', 'changeRequest'];
const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
const client = new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default' });

let failed = false;
for (const requested of WORKFLOW_TYPES) {
  const [type, workflowId] = requested.split('=', 2) as [string, string | undefined];
  let recorded = false;
  const only = workflowId ? ` AND WorkflowId="${workflowId}"` : '';
  for await (const execution of client.workflow.list({ query: `WorkflowType="${type}" AND ExecutionStatus="Completed"${only}` })) {
    const history = await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
    const file = new URL(`../test/fixtures/histories/${type}.${label}.json`, import.meta.url);
    await writeFile(file, historyToJSON(history), { flag: 'wx' }); // 'wx': refuses to overwrite
    console.log(`recorded ${type} from ${execution.workflowId} -> ${file.pathname}`);
    recorded = true;
    break;
  }
  if (!recorded) {
    console.error(`no completed ${type} workflow found`);
    failed = true;
  }
}
await connection.close();
process.exit(failed ? 1 : 0);
