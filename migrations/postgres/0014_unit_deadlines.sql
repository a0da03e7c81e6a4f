-- Deadlines a unit sets for the units right below it, and the submissions that meet them: a
-- text and its files, checked against the deadline's rules (requires) when they arrive.
CREATE TABLE unit_deadlines (
    id                      UUID PRIMARY KEY,
    unit_id                 UUID NOT NULL REFERENCES units (id),
    title                   TEXT NOT NULL,
    due_at                  TIMESTAMPTZ NOT NULL,
    remind_before           JSONB NOT NULL,
    requires                JSONB NOT NULL,
    created_at              TIMESTAMPTZ NOT NULL
);
CREATE INDEX unit_deadlines_unit ON unit_deadlines (unit_id, due_at);

-- A new submission replaces the unit's previous one, which stays for the record.
CREATE TABLE unit_submissions (
    id                      UUID PRIMARY KEY,
    deadline_id             UUID NOT NULL REFERENCES unit_deadlines (id),
    unit_id                 UUID NOT NULL REFERENCES units (id),
    text                    TEXT NOT NULL,
    submitted_at            TIMESTAMPTZ NOT NULL,
    replaced_at             TIMESTAMPTZ
);
CREATE UNIQUE INDEX unit_submissions_current ON unit_submissions (deadline_id, unit_id) WHERE replaced_at IS NULL;

CREATE TABLE submission_files (
    id                      UUID PRIMARY KEY,
    submission_id           UUID NOT NULL REFERENCES unit_submissions (id),
    position                BIGINT NOT NULL,
    name                    TEXT NOT NULL,
    content_type            TEXT NOT NULL,
    size                    BIGINT NOT NULL,
    caption                 TEXT,
    bytes                   BYTEA NOT NULL
);
CREATE INDEX submission_files_submission ON submission_files (submission_id, position);
