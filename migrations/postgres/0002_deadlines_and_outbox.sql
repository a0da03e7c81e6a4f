-- Deadlines, deliverables, video checks, and the email outbox.

-- An event's deadlines: `registration` and `video_check` (one each, made and moved with the
-- event) and any number of `deliverable`s. Reminders go out `remind_before` (seconds, a JSON
-- array) ahead of `reminders_from`; the overdue notice at `due_at`.
CREATE TABLE deadlines (
    id                      UUID PRIMARY KEY,
    event_id                UUID NOT NULL REFERENCES events (id),
    kind                    TEXT NOT NULL CHECK (kind IN ('registration', 'video_check', 'deliverable')),
    title                   TEXT NOT NULL,
    due_at                  TIMESTAMPTZ NOT NULL,
    reminders_from          TIMESTAMPTZ NOT NULL,
    remind_before           JSONB NOT NULL,
    created_at              TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX deadlines_one_per_event_and_kind ON deadlines (event_id, kind) WHERE kind <> 'deliverable';

-- Events made before deadlines existed get theirs now.
INSERT INTO deadlines (id, event_id, kind, title, due_at, reminders_from, remind_before, created_at)
SELECT gen_random_uuid(), id, 'registration', '参会回执报送 / Attendee list', registration_deadline,
       registration_deadline, '[259200, 86400, 7200]', created_at FROM events;
INSERT INTO deadlines (id, event_id, kind, title, due_at, reminders_from, remind_before, created_at)
SELECT gen_random_uuid(), id, 'video_check', '视频调试 / Video check', video_check_ends_at,
       video_check_starts_at, '[86400, 1800]', created_at FROM events;

-- A venue's deliverable marked done, with a note or an uploaded file (kept here, so that every
-- server instance can serve it).
CREATE TABLE deliverables (
    deadline_id             UUID NOT NULL REFERENCES deadlines (id),
    venue_id                UUID NOT NULL REFERENCES venues (id),
    note                    TEXT NOT NULL,
    file_name               TEXT,
    file_type               TEXT,
    file_size               BIGINT,
    file                    BYTEA,
    done_at                 TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (deadline_id, venue_id)
);

-- A venue's video tests (视频调试); its status is the latest result.
CREATE TABLE video_checks (
    id                      UUID PRIMARY KEY,
    venue_id                UUID NOT NULL REFERENCES venues (id),
    result                  TEXT NOT NULL CHECK (result IN ('passed', 'failed')),
    items                   JSONB NOT NULL,
    note                    TEXT NOT NULL,
    in_window               BOOLEAN NOT NULL,
    at                      TIMESTAMPTZ NOT NULL
);
CREATE INDEX video_checks_venue_id ON video_checks (venue_id, id);

-- Every email, written in the transaction that decided to send it and delivered by a worker.
-- `dedupe_key` names what the message is about — deadline, venue (or the organiser), reminder
-- offset and kind — so that each is queued at most once, however many planners run.
-- `sending` rows belong to a worker until `claimed_until`; after that another may take them.
CREATE TABLE outbox (
    id                      UUID PRIMARY KEY,
    event_id                UUID NOT NULL REFERENCES events (id),
    dedupe_key              TEXT NOT NULL UNIQUE,
    kind                    TEXT NOT NULL,
    deadline_id             UUID REFERENCES deadlines (id),
    venue_id                UUID REFERENCES venues (id),
    recipient               TEXT NOT NULL,
    subject                 TEXT NOT NULL,
    body_text               TEXT NOT NULL,
    body_html               TEXT NOT NULL,
    status                  TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed')),
    attempts                BIGINT NOT NULL DEFAULT 0,
    last_error              TEXT,
    next_attempt_at         TIMESTAMPTZ NOT NULL,
    claimed_until           TIMESTAMPTZ,
    sent_at                 TIMESTAMPTZ,
    created_at              TIMESTAMPTZ NOT NULL
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_event_id ON outbox (event_id, id);
