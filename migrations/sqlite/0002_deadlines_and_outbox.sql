-- Deadlines, deliverables, video checks, and the email outbox.
-- SQLite flavour: UUIDs are 16-byte BLOBs, times RFC 3339 TEXT in UTC, booleans INTEGER.

-- An event's deadlines: `registration` and `video_check` (one each, made and moved with the
-- event) and any number of `deliverable`s. Reminders go out `remind_before` (seconds, a JSON
-- array) ahead of `reminders_from`; the overdue notice at `due_at`.
CREATE TABLE deadlines (
    id                      BLOB PRIMARY KEY NOT NULL,
    event_id                BLOB NOT NULL REFERENCES events (id),
    kind                    TEXT NOT NULL CHECK (kind IN ('registration', 'video_check', 'deliverable')),
    title                   TEXT NOT NULL,
    due_at                  TEXT NOT NULL,
    reminders_from          TEXT NOT NULL,
    remind_before           TEXT NOT NULL,
    created_at              TEXT NOT NULL
);
CREATE UNIQUE INDEX deadlines_one_per_event_and_kind ON deadlines (event_id, kind) WHERE kind <> 'deliverable';

-- Events made before deadlines existed get theirs now.
INSERT INTO deadlines (id, event_id, kind, title, due_at, reminders_from, remind_before, created_at)
SELECT randomblob(16), id, 'registration', '参会回执报送 / Attendee list', registration_deadline,
       registration_deadline, '[259200, 86400, 7200]', created_at FROM events;
INSERT INTO deadlines (id, event_id, kind, title, due_at, reminders_from, remind_before, created_at)
SELECT randomblob(16), id, 'video_check', '视频调试 / Video check', video_check_ends_at,
       video_check_starts_at, '[86400, 1800]', created_at FROM events;

-- A venue's deliverable marked done, with a note or an uploaded file (kept here, so that every
-- server instance can serve it).
CREATE TABLE deliverables (
    deadline_id             BLOB NOT NULL REFERENCES deadlines (id),
    venue_id                BLOB NOT NULL REFERENCES venues (id),
    note                    TEXT NOT NULL,
    file_name               TEXT,
    file_type               TEXT,
    file_size               INTEGER,
    file                    BLOB,
    done_at                 TEXT NOT NULL,
    PRIMARY KEY (deadline_id, venue_id)
);

-- A venue's video tests (视频调试); its status is the latest result.
CREATE TABLE video_checks (
    id                      BLOB PRIMARY KEY NOT NULL,
    venue_id                BLOB NOT NULL REFERENCES venues (id),
    result                  TEXT NOT NULL CHECK (result IN ('passed', 'failed')),
    items                   TEXT NOT NULL,
    note                    TEXT NOT NULL,
    in_window               INTEGER NOT NULL,
    at                      TEXT NOT NULL
);
CREATE INDEX video_checks_venue_id ON video_checks (venue_id, id);

-- Every email, written in the transaction that decided to send it and delivered by a worker.
-- `dedupe_key` names what the message is about — deadline, venue (or the organiser), reminder
-- offset and kind — so that each is queued at most once, however many planners run.
-- `sending` rows belong to a worker until `claimed_until`; after that another may take them.
CREATE TABLE outbox (
    id                      BLOB PRIMARY KEY NOT NULL,
    event_id                BLOB NOT NULL REFERENCES events (id),
    dedupe_key              TEXT NOT NULL UNIQUE,
    kind                    TEXT NOT NULL,
    deadline_id             BLOB REFERENCES deadlines (id),
    venue_id                BLOB REFERENCES venues (id),
    recipient               TEXT NOT NULL,
    subject                 TEXT NOT NULL,
    body_text               TEXT NOT NULL,
    body_html               TEXT NOT NULL,
    status                  TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed')),
    attempts                INTEGER NOT NULL DEFAULT 0,
    last_error              TEXT,
    next_attempt_at         TEXT NOT NULL,
    claimed_until           TEXT,
    sent_at                 TEXT,
    created_at              TEXT NOT NULL
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_event_id ON outbox (event_id, id);
