/** Ripcord's Node SDK: local (in-process) or remote evaluation, Express middleware, an OpenFeature provider. */
export { createClient, type RipcordClient } from './create-client.js';
export { LocalClient, type LocalClientStatus } from './local-client.js';
export { RemoteClient } from './remote-client.js';
export { flags, evaluationContextSchema, type FlagsMiddlewareOptions, type RequestFlags } from './express.js';
export { clientOptionsSchema, type ClientOptionsInput } from './options.js';
export { definitionsPayloadSchema, type DefinitionsPayload } from '../../../src/protocol/definitions.js';
export type { Outcome } from './outcome-reporter.js';
export { RipcordSdkError } from './types.js';
export type { DefinitionsSource, EvaluationContext, EvaluationDetails, FlagKey, FlagValue, JsonValue, SdkErrorCode } from './types.js';
