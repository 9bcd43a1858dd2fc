import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

// Workflow-safe (no I/O): the API, the worker and workflows all use these keys.
export const FLAG_KEY = defineSearchAttributeKey('FlagKey', SearchAttributeType.KEYWORD);
export const ENVIRONMENT = defineSearchAttributeKey('Environment', SearchAttributeType.KEYWORD);
export const ACTOR = defineSearchAttributeKey('Actor', SearchAttributeType.KEYWORD);
export const ROLLOUT_STRATEGY = defineSearchAttributeKey('RolloutStrategy', SearchAttributeType.KEYWORD);
/** The release pipeline (its workflow id) a workflow belongs to: set on the pipeline and on each phase's rollout. */
export const RELEASE_PIPELINE = defineSearchAttributeKey('ReleasePipeline', SearchAttributeType.KEYWORD);
