export { changeRequest } from './change-request.js';
export { killSwitch, restoreKillSwitch } from './kill-switch.js';
export { releasePipeline } from './release-pipeline.js';
export { rollout } from './rollout.js';
export { scheduledChange } from './scheduled-change.js';
export { deliverWebhook } from './webhook-delivery.js';
export { lifecycleDigest } from './lifecycle-digest.js';
