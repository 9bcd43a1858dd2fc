-- Up Migration
-- Where each flag is used in code (issue 18, flag lifecycle): uploaded by `ripcord refs --upload`,
-- one set per repository, replaced by each upload.
CREATE TABLE code_references (
  repository  text NOT NULL,
  flag_key    text NOT NULL,
  path        text NOT NULL,
  line        integer NOT NULL CHECK (line > 0),
  kind        text NOT NULL CHECK (kind IN ('call', 'literal')),
  uploaded_by text NOT NULL,
  uploaded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (repository, flag_key, path, line)
);
CREATE INDEX code_references_flag_idx ON code_references (flag_key);
