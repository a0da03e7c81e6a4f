-- Uploaded files' bytes, in 1 MiB chunks, apart from the rows that name them: an upload is
-- streamed chunk by chunk (never held whole in memory) into a blob that is `complete` once its
-- last chunk is in; only then may a row name it (`named`). A blob not named an hour after it was
-- begun (a refused submission, a dropped connection, a killed process) is deleted by the sweeper.
-- They live in the database file in the data directory, so one backup holds every file.
CREATE TABLE blobs (
    id                      BLOB PRIMARY KEY NOT NULL,
    size                    INTEGER NOT NULL DEFAULT 0,
    complete                INTEGER NOT NULL DEFAULT 0,
    named                   INTEGER NOT NULL DEFAULT 0,
    created_at              TEXT NOT NULL
);
CREATE TABLE blob_chunks (
    blob_id                 BLOB NOT NULL REFERENCES blobs (id) ON DELETE CASCADE,
    seq                     INTEGER NOT NULL,
    bytes                   BLOB NOT NULL,
    PRIMARY KEY (blob_id, seq)
);
CREATE INDEX blobs_unnamed ON blobs (created_at) WHERE NOT named;

-- A submission's files name their blobs; those sent before keep their bytes as one chunk.
-- SQLite cannot add a NOT NULL reference in place, so the table is copied into its new shape.
INSERT INTO blobs (id, size, complete, named, created_at)
    SELECT id, size, 1, 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now') FROM submission_files;
INSERT INTO blob_chunks (blob_id, seq, bytes) SELECT id, 0, bytes FROM submission_files;
CREATE TABLE submission_files_new (
    id                      BLOB PRIMARY KEY NOT NULL,
    submission_id           BLOB NOT NULL REFERENCES unit_submissions (id),
    position                INTEGER NOT NULL,
    name                    TEXT NOT NULL,
    content_type            TEXT NOT NULL,
    size                    INTEGER NOT NULL,
    caption                 TEXT,
    blob_id                 BLOB NOT NULL REFERENCES blobs (id)
);
INSERT INTO submission_files_new (id, submission_id, position, name, content_type, size, caption, blob_id)
    SELECT id, submission_id, position, name, content_type, size, caption, id FROM submission_files;
DROP TABLE submission_files;
ALTER TABLE submission_files_new RENAME TO submission_files;
CREATE INDEX submission_files_submission ON submission_files (submission_id, position);
CREATE INDEX submission_files_blob ON submission_files (blob_id);
