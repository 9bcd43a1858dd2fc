import { describe, expect, it } from 'vitest';
import type { ChangeRequest } from '../../src/change-requests/change-request-schemas.js';
import { changeRequestMessage } from '../../slack/change-request-slack.js';

const base: ChangeRequest = {
  id: '6f1c1a52-3f4e-4d7b-9a43-0b8c2f9d1e00', kind: 'config', source: 'put', flag: 'checkout-v2', segment: null, environment: 'production',
  environments: ['production'], status: 'pending', author: { id: 'u1', name: 'Ada' }, reason: null, base_version: 3,
  diff: [{ field: 'enabled', before: false, after: true }], proposed: {}, apply_at: null, required_approvals: 1, approvals: [],
  decided_by: null, decision_comment: null, outcome: null, applied_version: null, workflow_id: null, workflow_url: null, created_at: '', updated_at: '',
};

describe('Slack message of a change request', () => {
  it('names the flag of a config request, and the segment and every covering environment of a segment request', () => {
    expect(changeRequestMessage(base).text).toBe('Change request: Ada wants to change `checkout-v2` in production — pending');
    const segment: ChangeRequest = { ...base, kind: 'segment', source: 'update', flag: null, segment: 'enterprise', environment: 'staging', environments: ['production', 'staging'] };
    expect(changeRequestMessage(segment).text).toBe('Change request: Ada wants to change segment `enterprise` in production, staging — pending');
    expect(changeRequestMessage({ ...segment, source: 'delete', proposed: null }).text).toBe('Change request: Ada wants to delete segment `enterprise` in production, staging — pending');
  });
});
