-- Deadlines a unit sets for the units right below it, and the submissions that meet them: a
-- text and its files, checked against the deadline's rules (requires) when they arrive.
CREATE TABLE unit_deadlines (
    id                      BLOB PRIMARY KEY NOT NULL,
    unit_id                 BLOB NOT NULL REFERENCES units (id),
    title                   TEXT NOT NULL,
    due_at                  TEXT NOT NULL,
    remind_before           TEXT NOT NULL,
    requires                TEXT NOT NULL,
    created_at              TEXT NOT NULL
);
CREATE INDEX unit_deadlines_unit ON unit_deadlines (unit_id, due_at);

-- A new submission replaces the unit's previous one, which stays for the record.
CREATE TABLE unit_submissions (
    id                      BLOB PRIMARY KEY NOT NULL,
    deadline_id             BLOB NOT NULL REFERENCES unit_deadlines (id),
    unit_id                 BLOB NOT NULL REFERENCES units (id),
    text                    TEXT NOT NULL,
    submitted_at            TEXT NOT NULL,
    replaced_at             TEXT
);
CREATE UNIQUE INDEX unit_submissions_current ON unit_submissions (deadline_id, unit_id) WHERE replaced_at IS NULL;

CREATE TABLE submission_files (
    id                      BLOB PRIMARY KEY NOT NULL,
    submission_id           BLOB NOT NULL REFERENCES unit_submissions (id),
    position                INTEGER NOT NULL,
    name                    TEXT NOT NULL,
    content_type            TEXT NOT NULL,
    size                    INTEGER NOT NULL,
    caption                 TEXT,
    bytes                   BLOB NOT NULL
);
CREATE INDEX submission_files_submission ON submission_files (submission_id, position);
