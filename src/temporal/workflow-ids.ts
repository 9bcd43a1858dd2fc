/** Workflow IDs carry meaning, so the server refuses duplicates and operators can read them. */
export const killSwitchWorkflowId = (environment: string, flagKey: string, requestId: string) =>
  `killswitch:${environment}:${flagKey}:${requestId}`;

export const restoreWorkflowId = (environment: string, flagKey: string, requestId: string) =>
  `killswitch-restore:${environment}:${flagKey}:${requestId}`;

/** One running rollout per flag and environment: the server refuses a second start. */
export const rolloutWorkflowId = (environment: string, flagKey: string) => `rollout:${environment}:${flagKey}`;

export const scheduledChangeWorkflowId = (environment: string, flagKey: string, changeId: string) =>
  `scheduled:${environment}:${flagKey}:${changeId}`;

/** Link to one workflow in the Temporal Web UI. */
export function workflowUrl(uiUrl: string, namespace: string, workflowId: string): string {
  return `${uiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

/** One apply per change request. */
export const changeRequestWorkflowId = (environment: string, flagKey: string, requestId: string) =>
  `change-request:${environment}:${flagKey}:${requestId}`;

/** One apply per segment change request (a segment is global: no environment in its id). */
export const segmentChangeRequestWorkflowId = (segmentKey: string, requestId: string) => `change-request:segment:${segmentKey}:${requestId}`;

/** One running release pipeline per flag: the kill switch signals it by this id. */
export const pipelineWorkflowId = (flagKey: string) => `pipeline:${flagKey}`;
