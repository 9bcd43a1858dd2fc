import type { Context } from '@temporalio/activity';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import type { Telemetry } from './index.js';

/** The flag and environment an activity's input names, when it names them (kill switch, rollout steps). */
function flagOf(args: readonly unknown[]): { flagKey?: string; environment?: string } {
  const input = args[0];
  if (typeof input !== 'object' || input === null) return {};
  const { flagKey, key, environment } = input as Record<string, unknown>;
  const flag = typeof flagKey === 'string' ? flagKey : typeof key === 'string' ? key : undefined;
  return { ...(flag ? { flagKey: flag } : {}), ...(typeof environment === 'string' ? { environment } : {}) };
}

/** A worker interceptor that runs every activity of the kill-switch, rollout and webhook workflows in a span. */
export function activityTelemetry(telemetry: Telemetry): ActivityInterceptorsFactory {
  return (ctx: Context) => ({
    inbound: {
      execute: (input, next) => telemetry.activity({
        activityType: ctx.info.activityType,
        workflowType: ctx.info.workflowType ?? 'none',
        workflowId: ctx.info.workflowExecution?.workflowId ?? 'none',
        ...flagOf(input.args),
      }, () => next(input)),
    },
  });
}
