-- Email at most once: a message whose data reached the SMTP server without a recorded reply is
-- never sent again by itself.
-- SQLite cannot change a CHECK constraint in place, so the outbox is copied into its new shape.
--
-- `kind`: `reminder`, `overdue`, `digest` (from the planner, `dedupe_key` as in 0002) or
-- `online_notice` (an attendee moved online, `dedupe_key` `online:<attendee>:<seq>`).
-- `status`:
--   `queued`     due at `next_attempt_at`;
--   `sending`    claimed until `claimed_until`, nothing handed over yet: after that another
--                worker may take it over;
--   `delivering` the worker is handing the message to the SMTP server;
--   `sent`       accepted at `sent_at`;
--   `failed`     given up;
--   `uncertain`  handed over with no reply recorded (the claim ran out, or the reply never came):
--                it may have arrived, so only the organiser sends it again.
-- `claim_id` names the attempt holding the row: a worker records its result only while it is its.
-- `message_id` is the `Message-ID` header, made at the first attempt and reused by every later one.
CREATE TABLE outbox_new (
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
    status                  TEXT NOT NULL
                            CHECK (status IN ('queued', 'sending', 'delivering', 'sent', 'failed', 'uncertain')),
    attempts                INTEGER NOT NULL DEFAULT 0,
    last_error              TEXT,
    next_attempt_at         TEXT NOT NULL,
    claimed_until           TEXT,
    sent_at                 TEXT,
    created_at              TEXT NOT NULL,
    claim_id                BLOB,
    message_id              TEXT
);
INSERT INTO outbox_new (id, event_id, dedupe_key, kind, deadline_id, venue_id, recipient, subject, body_text,
                        body_html, status, attempts, last_error, next_attempt_at, claimed_until, sent_at, created_at)
SELECT id, event_id, dedupe_key, kind, deadline_id, venue_id, recipient, subject, body_text,
       body_html, status, attempts, last_error, next_attempt_at, claimed_until, sent_at, created_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_event_id ON outbox (event_id, id);
