/** Workflow IDs carry meaning, so the server refuses duplicates and operators can read them. */
export const killSwitchWorkflowId = (environment: string, flagKey: string, requestId: string) =>
  `killswitch:${environment}:${flagKey}:${requestId}`;

export const restoreWorkflowId = (environment: string, flagKey: string, requestId: string) =>
  `killswitch-restore:${environment}:${flagKey}:${requestId}`;

/** Link to one workflow in the Temporal Web UI. */
export function workflowUrl(uiUrl: string, namespace: string, workflowId: string): string {
  return `${uiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
