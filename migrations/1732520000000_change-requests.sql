-- Up Migration
-- Change requests (issue 18 item 2): per environment, a policy that turns covered writes into
-- requests needing N approvals from people other than the author; approved requests apply through a
-- changeRequest workflow that re-checks the base they were made against.

CREATE TABLE change_policies (
  environment               text PRIMARY KEY REFERENCES environments (key),
  -- 0: the policy is off.
  required_approvals        integer NOT NULL CHECK (required_approvals BETWEEN 0 AND 10),
  -- Who may approve: the listed users if any, else users of this role (and admins), else anyone who may write the flag there.
  approver_role             text CHECK (approver_role IN ('viewer', 'editor', 'admin', 'emergency_responder')),
  approver_user_ids         text[] NOT NULL DEFAULT '{}',
  covers                    text[] NOT NULL DEFAULT '{configs}' CHECK (covers <@ ARRAY['configs', 'scheduled_changes']::text[]),
  restore_requires_approval boolean NOT NULL DEFAULT false,
  updated_by                text NOT NULL,
  updated_at                timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE change_requests (
  id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  -- config: a whole config replaces the current one; restore: releases the kill switch.
  kind               text NOT NULL CHECK (kind IN ('config', 'restore')),
  -- Which write made it: put, copy, scheduled, restore.
  source             text NOT NULL,
  flag_key           text NOT NULL,
  environment        text NOT NULL REFERENCES environments (key),
  status             text NOT NULL CHECK (status IN ('pending', 'approved', 'applied', 'conflicted', 'failed', 'rejected', 'withdrawn')),
  author_id          text NOT NULL,
  author_name        text NOT NULL,
  reason             text,
  -- The config version the request was made against: a different one at apply time is a conflict.
  base_version       bigint NOT NULL,
  base_config        jsonb NOT NULL,
  proposed           jsonb,
  diff               jsonb NOT NULL,
  apply_at           timestamptz,
  required_approvals integer NOT NULL CHECK (required_approvals >= 1),
  workflow_id        text,
  applied_version    bigint,
  outcome            text,
  decided_by         text,
  decided_by_name    text,
  decision_comment   text,
  slack_channel      text,
  slack_ts           text,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX change_requests_list_idx ON change_requests (environment, status, created_at DESC);
CREATE INDEX change_requests_flag_idx ON change_requests (flag_key, created_at DESC);

CREATE TABLE change_request_approvals (
  request_id uuid NOT NULL REFERENCES change_requests (id) ON DELETE CASCADE,
  user_id    text NOT NULL,
  user_name  text NOT NULL,
  comment    text,
  created_at timestamptz NOT NULL DEFAULT now(),
  -- One approval per person: the count of rows is the count of distinct approvers.
  PRIMARY KEY (request_id, user_id)
);

-- Down Migration
DROP TABLE change_request_approvals;
DROP TABLE change_requests;
DROP TABLE change_policies;
