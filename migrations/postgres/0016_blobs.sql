-- Uploaded files' bytes, in 1 MiB chunks, apart from the rows that name them: an upload is
-- streamed chunk by chunk (never held whole in memory) into a blob that is `complete` once its
-- last chunk is in; only then may a row name it (`named`). A blob not named an hour after it was
-- begun (a refused submission, a dropped connection, a killed process) is deleted by the sweeper.
-- Every instance reads the same database, so any of them serves any file.
CREATE TABLE blobs (
    id                      UUID PRIMARY KEY,
    size                    BIGINT NOT NULL DEFAULT 0,
    complete                BOOLEAN NOT NULL DEFAULT FALSE,
    named                   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at              TIMESTAMPTZ NOT NULL
);
CREATE TABLE blob_chunks (
    blob_id                 UUID NOT NULL REFERENCES blobs (id) ON DELETE CASCADE,
    seq                     BIGINT NOT NULL,
    bytes                   BYTEA NOT NULL,
    PRIMARY KEY (blob_id, seq)
);
CREATE INDEX blobs_unnamed ON blobs (created_at) WHERE NOT named;

-- A submission's files name their blobs; those sent before keep their bytes as one chunk.
ALTER TABLE submission_files ADD COLUMN blob_id UUID REFERENCES blobs (id);
INSERT INTO blobs (id, size, complete, named, created_at) SELECT id, size, TRUE, TRUE, now() FROM submission_files;
INSERT INTO blob_chunks (blob_id, seq, bytes) SELECT id, 0, bytes FROM submission_files;
UPDATE submission_files SET blob_id = id;
ALTER TABLE submission_files ALTER COLUMN blob_id SET NOT NULL;
ALTER TABLE submission_files DROP COLUMN bytes;
CREATE INDEX submission_files_blob ON submission_files (blob_id);
