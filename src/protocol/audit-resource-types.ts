/** The kinds of resource audit events are about, as the audit log filters them (checkpoints, `audit`, are not filtered). */
export const AUDIT_RESOURCE_TYPES = [
  'flag', 'rollout', 'scheduled_change', 'segment', 'trigger', 'release_template', 'release_pipeline', 'change_request', 'code_references', 'environment', 'user', 'token', 'webhook',
] as const;
