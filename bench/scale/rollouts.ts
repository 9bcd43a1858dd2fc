/* Concurrent rollouts on one worker: 10 → 100 → 1,000, each two steps with a short hold. */
import { performance } from 'node:perf_hooks';
import { Client as TemporalClient, Connection } from '@temporalio/client';
import { admin, percentile } from '../lib/bench-stack.js';
import { dimensionEnv, pool, rssMiB, startApi, startWorker, stopProc, type DimensionResult } from './harness.js';

const HOLD_SECONDS = 10;

interface Rollout { status: string }

export async function rolloutsDimension(stack: Record<string, string>, sizes: number[]): Promise<DimensionResult> {
  const rows: DimensionResult['rows'] = [];
  const hopNotes: string[] = [];
  const connection = await Connection.connect({ address: stack.TEMPORAL_ADDRESS! });
  const temporal = new TemporalClient({ connection, namespace: stack.TEMPORAL_NAMESPACE ?? 'default' });
  try {
    for (const size of sizes) {
      const env = await dimensionEnv(stack, `rollouts_${size}`, 11);
      const api = await startApi(env);
      const worker = await startWorker(env);
      const keys = Array.from({ length: size }, (_, i) => `scale-rollout-${i}`);
      // Rollouts left running by an interrupted earlier run hold these workflow ids: end them first.
      const leftovers = temporal.workflow.list({ query: `WorkflowId STARTS_WITH 'rollout:production:scale-rollout-' AND ExecutionStatus = 'Running'` });
      for await (const execution of leftovers) await temporal.workflow.getHandle(execution.workflowId).terminate('an earlier bench:scale run left it running').catch(() => undefined);
      await pool(keys, 16, async (key) => {
        await admin(api.base, 'POST', '/api/v1/flags', { key, name: key, type: 'boolean' });
        await admin(api.base, 'PUT', `/api/v1/flags/${key}/environments/production`, { enabled: true, value: true, off_value: false, rollout: { percentage: 0, strategy: 'gradual' } });
      });
      const workflowIds: string[] = [];
      const plan = { strategy: 'gradual', steps: [{ percentage: 50, hold: `${HOLD_SECONDS} seconds` }, { percentage: 100 }] };
      const started = performance.now();
      await pool(keys, 32, async (key) => {
        const answer = await admin(api.base, 'POST', `/api/v1/flags/${key}/environments/production/rollouts`, { plan });
        workflowIds.push(answer.workflow_id as string);
      });
      const startSeconds = (performance.now() - started) / 1000;
      let workerRss = rssMiB(worker.pid);
      // Waits on Temporal's visibility (one count a second), not by asking the API about every rollout:
      // a thousand status reads a second would compete with the steps being measured.
      const deadline = performance.now() + 600_000;
      const running = `TaskQueue = '${env.TEMPORAL_TASK_QUEUE}' AND ExecutionStatus = 'Running'`;
      while ((await temporal.workflow.count(running)).count > 0) {
        if (performance.now() > deadline) throw new Error('the rollouts did not complete in 10 minutes');
        workerRss = Math.max(workerRss, rssMiB(worker.pid));
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
      // Then the API must say every one completed.
      await pool(keys, 16, async (key) => {
        const list = await admin(api.base, 'GET', `/api/v1/flags/${key}/environments/production/rollouts`);
        const status = (list.rollouts as Rollout[])[0]?.status;
        if (status !== 'completed') throw new Error(`rollout of ${key} is ${status ?? 'missing'}, not completed`);
      });
      // Lateness of the timed step, from each workflow's history: due = the hold timer's start +
      // its duration; written = the completion of the next setRolloutPercentage activity.
      const lateness: number[] = [];
      const hops: Record<string, number[]> = { 'timer fired': [], 'workflow task queued': [], 'workflow task run': [], 'activity queued': [], 'activity run': [] };
      let eventsPerStep = Number.NaN;
      await pool(workflowIds, 16, async (id, i) => {
        const events = (await temporal.workflow.getHandle(id).fetchHistory()).events ?? [];
        if (i === 0) eventsPerStep = events.length / plan.steps.length;
        const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) => Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;
        const timer = events.findIndex((e) => ms(e.timerStartedEventAttributes?.startToFireTimeout) === HOLD_SECONDS * 1000);
        if (timer < 0) return;
        const due = ms(events[timer]!.eventTime) + HOLD_SECONDS * 1000;
        const scheduled = events.findIndex((e, j) => j > timer && e.activityTaskScheduledEventAttributes?.activityType?.name === 'setRolloutPercentage');
        const completed = events.find((e) => Number(e.activityTaskCompletedEventAttributes?.scheduledEventId ?? -1) === Number(events[scheduled]?.eventId ?? -2));
        if (!completed) return;
        lateness.push(ms(completed.eventTime) - due);
        // Where the lateness comes from: each hop between the due time and the write, from the same history.
        const after = (j: number, has: (e: (typeof events)[number]) => unknown) => events.find((e, k) => k > j && has(e));
        const fired = events.findIndex((e, j) => j > timer && e.timerFiredEventAttributes);
        const taskStarted = after(fired, (e) => e.workflowTaskStartedEventAttributes);
        const taskCompleted = after(fired, (e) => e.workflowTaskCompletedEventAttributes);
        const activityStarted = events.find((e) => Number(e.activityTaskStartedEventAttributes?.scheduledEventId ?? -1) === Number(events[scheduled]!.eventId));
        if (fired < 0 || !taskStarted || !taskCompleted || !activityStarted) return;
        hops['timer fired']!.push(ms(events[fired]!.eventTime) - due);
        hops['workflow task queued']!.push(ms(taskStarted.eventTime) - ms(events[fired]!.eventTime));
        hops['workflow task run']!.push(ms(taskCompleted.eventTime) - ms(taskStarted.eventTime));
        hops['activity queued']!.push(ms(activityStarted.eventTime) - ms(events[scheduled]!.eventTime));
        hops['activity run']!.push(ms(completed.eventTime) - ms(activityStarted.eventTime));
      });
      hopNotes.push(`${size} rollouts, p50/p99 of each hop (ms): ${Object.entries(hops).map(([hop, v]) => `${hop} ${percentile(v, 50).toFixed(0)}/${percentile(v, 99).toFixed(0)}`).join(', ')}`);
      console.log(`  ${hopNotes.at(-1)}`);
      if (lateness.length < workflowIds.length) console.log(`  (lateness read from ${lateness.length} of ${workflowIds.length} histories)`);
      await stopProc(worker);
      await stopProc(api);
      rows.push({ size, values: { 'lateness p50': percentile(lateness, 50), 'lateness p99': percentile(lateness, 99), 'worker RSS': workerRss, 'history events per step': eventsPerStep, 'start rollouts/s': size / startSeconds } });
      console.log(`  rollouts ${size}: ${JSON.stringify(rows.at(-1)!.values)}`);
    }
  } finally {
    await connection.close();
  }
  return {
    dimension: `Concurrent rollouts on one worker (two steps, a ${HOLD_SECONDS} s hold between them)`, sizeLabel: 'rollouts',
    measures: [
      { name: 'lateness p50', unit: 'ms' }, { name: 'lateness p99', unit: 'ms', budget: 1_000 }, { name: 'worker RSS', unit: 'MiB' },
      { name: 'history events per step', unit: 'events' }, { name: 'start rollouts/s', unit: 'rollouts/s', better: 'higher' },
    ],
    rows,
    notes: ['lateness: the hold timer\'s due time → the next step\'s setRolloutPercentage activity completed (config written and published), from each workflow\'s history',
      'history events per step: Temporal history events of one rollout ÷ its steps (each event is roughly one billable action on Temporal Cloud)',
      ...hopNotes],
  };
}
