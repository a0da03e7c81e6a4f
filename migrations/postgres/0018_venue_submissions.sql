-- A venue meets a deliverable as a unit meets a deadline of the unit above: with a submission of
-- a text and any number of files, streamed into blobs; a new one replaces the last (kept for the
-- record), and the event's organisers accept it or return it with a comment. A deliverable is met
-- while its venue's current submission is not returned.
-- What each venue's submission of a deliverable must hold, as a unit deadline's `requires`.
ALTER TABLE deadlines ADD COLUMN requires JSONB NOT NULL DEFAULT '{}';

CREATE TABLE venue_submissions (
    id                      UUID PRIMARY KEY,
    deadline_id             UUID NOT NULL REFERENCES deadlines (id),
    venue_id                UUID NOT NULL REFERENCES venues (id),
    text                    TEXT NOT NULL,
    submitted_at            TIMESTAMPTZ NOT NULL,
    replaced_at             TIMESTAMPTZ,
    review_status           TEXT CHECK (review_status IN ('accepted', 'returned')),
    review_comment          TEXT,
    reviewed_at             TIMESTAMPTZ
);
CREATE UNIQUE INDEX venue_submissions_current ON venue_submissions (deadline_id, venue_id) WHERE replaced_at IS NULL;
CREATE INDEX venue_submissions_venue ON venue_submissions (venue_id) WHERE replaced_at IS NULL;

CREATE TABLE venue_submission_files (
    id                      UUID PRIMARY KEY,
    submission_id           UUID NOT NULL REFERENCES venue_submissions (id),
    position                BIGINT NOT NULL,
    name                    TEXT NOT NULL,
    content_type            TEXT NOT NULL,
    size                    BIGINT NOT NULL,
    caption                 TEXT,
    blob_id                 UUID NOT NULL REFERENCES blobs (id)
);
CREATE INDEX venue_submission_files_submission ON venue_submission_files (submission_id, position);
CREATE INDEX venue_submission_files_blob ON venue_submission_files (blob_id);

-- What was marked done before: its note becomes the text, its one file a blob of 1 MiB chunks.
CREATE TEMPORARY TABLE moved AS SELECT gen_random_uuid() AS id, * FROM deliverables;
INSERT INTO venue_submissions (id, deadline_id, venue_id, text, submitted_at)
    SELECT id, deadline_id, venue_id, note, done_at FROM moved;
INSERT INTO blobs (id, size, complete, named, created_at)
    SELECT id, length(file), TRUE, TRUE, done_at FROM moved WHERE file IS NOT NULL;
INSERT INTO blob_chunks (blob_id, seq, bytes)
    SELECT id, n, substring(file FROM n * 1048576 + 1 FOR 1048576)
    FROM moved, generate_series(0, greatest((length(file) - 1) / 1048576, 0)) AS n WHERE file IS NOT NULL;
INSERT INTO venue_submission_files (id, submission_id, position, name, content_type, size, blob_id)
    SELECT id, id, 0, coalesce(file_name, 'file'), coalesce(file_type, 'application/octet-stream'), length(file), id
    FROM moved WHERE file IS NOT NULL;
DROP TABLE moved;
DROP TABLE deliverables;
