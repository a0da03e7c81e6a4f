-- Unit deadlines remind the units below and send the setting unit its digest through the same
-- outbox: a message belongs to an event or to a unit (`unit_id`, the unit that set the
-- deadline), never both. `dedupe_key` is `<unit deadline>:<unit below>:<offset>:<kind>`, or
-- `<unit deadline>:organizer:0:digest`.
-- SQLite cannot drop a NOT NULL in place, so the outbox is copied into its new shape.
CREATE TABLE outbox_new (
    id                      BLOB PRIMARY KEY NOT NULL,
    event_id                BLOB REFERENCES events (id),
    unit_id                 BLOB REFERENCES units (id),
    unit_deadline_id        BLOB REFERENCES unit_deadlines (id),
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
    message_id              TEXT,
    CHECK ((event_id IS NULL) <> (unit_id IS NULL))
);
INSERT INTO outbox_new (id, event_id, dedupe_key, kind, deadline_id, venue_id, recipient, subject, body_text,
                        body_html, status, attempts, last_error, next_attempt_at, claimed_until, sent_at, created_at,
                        claim_id, message_id)
SELECT id, event_id, dedupe_key, kind, deadline_id, venue_id, recipient, subject, body_text,
       body_html, status, attempts, last_error, next_attempt_at, claimed_until, sent_at, created_at,
       claim_id, message_id FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_event_id ON outbox (event_id, id);
CREATE INDEX outbox_unit_deadline ON outbox (unit_deadline_id) WHERE unit_deadline_id IS NOT NULL;

-- A unit's own share of the overview's `overdue` (1 while it has missed one of its parent's
-- deadlines), as `venue_counts` keeps a venue's: a change moves the units above by the difference.
CREATE TABLE unit_standing (
    unit_id         BLOB PRIMARY KEY NOT NULL REFERENCES units (id),
    overdue         INTEGER NOT NULL DEFAULT 0
);
INSERT INTO unit_standing (unit_id) SELECT id FROM units;
-- A unit deadline passing makes units overdue without any write: the sweeper counts them.
ALTER TABLE unit_deadlines ADD COLUMN counted_at TEXT;
CREATE INDEX unit_deadlines_uncounted ON unit_deadlines (due_at) WHERE counted_at IS NULL;
