-- The foundation: events, their venues and rooms, tokens, attendee lists,
-- SQLite flavour: UUIDs are 16-byte BLOBs, times RFC 3339 TEXT in UTC, booleans INTEGER.
-- and the two logs every change writes to in its own transaction.

-- A meeting. `last_seq` numbers the event's changes: every change takes the next one
-- with a conditional UPDATE, so the row lock orders the changes of one event.
CREATE TABLE events (
    id                      BLOB PRIMARY KEY NOT NULL,
    title                   TEXT NOT NULL,
    timezone                TEXT NOT NULL,
    starts_at               TEXT NOT NULL,
    ends_at                 TEXT NOT NULL,
    arrive_minutes_before   INTEGER NOT NULL,
    registration_deadline   TEXT NOT NULL,
    video_check_starts_at   TEXT NOT NULL,
    video_check_ends_at     TEXT NOT NULL,
    default_capacity        INTEGER NOT NULL,
    organizer_email         TEXT NOT NULL,
    last_seq                INTEGER NOT NULL DEFAULT 0,
    created_at              TEXT NOT NULL
);

-- The main venue (主会场) and the branch venues (分会场) of an event.
CREATE TABLE venues (
    id                      BLOB PRIMARY KEY NOT NULL,
    event_id                BLOB NOT NULL REFERENCES events (id),
    name                    TEXT NOT NULL,
    kind                    TEXT NOT NULL CHECK (kind IN ('main', 'branch')),
    region                  TEXT NOT NULL,
    contact_email           TEXT NOT NULL,
    approval                TEXT NOT NULL CHECK (approval IN ('pending', 'approved', 'rejected')),
    approval_authority      TEXT,
    approval_reference      TEXT,
    approval_note           TEXT,
    approval_recorded_at    TEXT,
    created_at              TEXT NOT NULL,
    CONSTRAINT venues_event_id_name_key UNIQUE (event_id, name)
);
CREATE UNIQUE INDEX venues_one_main_per_event ON venues (event_id) WHERE kind = 'main';

CREATE TABLE rooms (
    id                      BLOB PRIMARY KEY NOT NULL,
    venue_id                BLOB NOT NULL REFERENCES venues (id),
    name                    TEXT NOT NULL,
    capacity                INTEGER NOT NULL CHECK (capacity > 0),
    created_at              TEXT NOT NULL,
    CONSTRAINT rooms_venue_id_name_key UNIQUE (venue_id, name)
);

-- Only the SHA-256 of a token is kept. Admin tokens belong to no event; viewer tokens to an
-- event; coordinator and technician tokens to a venue (and its event).
CREATE TABLE tokens (
    id                      BLOB PRIMARY KEY NOT NULL,
    token_hash              TEXT NOT NULL UNIQUE,
    role                    TEXT NOT NULL CHECK (role IN ('admin', 'coordinator', 'technician', 'viewer')),
    event_id                BLOB REFERENCES events (id),
    venue_id                BLOB REFERENCES venues (id),
    label                   TEXT NOT NULL DEFAULT '',
    created_at              TEXT NOT NULL,
    revoked_at              TEXT
);

-- One venue's submitted list (回执): the technician and the list's revision.
CREATE TABLE registrations (
    venue_id                BLOB PRIMARY KEY NOT NULL REFERENCES venues (id),
    technician_name         TEXT NOT NULL,
    technician_phone        TEXT NOT NULL,
    submitted_at            TEXT NOT NULL,
    late                    INTEGER NOT NULL,
    revision                INTEGER NOT NULL
);

-- Attendees are never deleted: one left off a resubmitted list gets `removed_at`, one replaced
-- gets status 'replaced'. `position` is the row in the submitted list.
CREATE TABLE attendees (
    id                      BLOB PRIMARY KEY NOT NULL,
    venue_id                BLOB NOT NULL REFERENCES venues (id),
    name                    TEXT NOT NULL,
    organization            TEXT NOT NULL,
    title                   TEXT NOT NULL,
    phone                   TEXT NOT NULL,
    email                   TEXT,
    participation           TEXT NOT NULL CHECK (participation IN ('onsite', 'online')),
    status                  TEXT NOT NULL CHECK (status IN ('registered', 'replaced')),
    position                INTEGER NOT NULL,
    replaces                BLOB REFERENCES attendees (id),
    added_at                TEXT NOT NULL,
    removed_at              TEXT
);
-- The same person (name and phone) is on a venue's current list at most once.
CREATE UNIQUE INDEX attendees_one_current_person ON attendees (venue_id, name, phone)
    WHERE status = 'registered' AND removed_at IS NULL;

-- The live feed: one row per committed change, `seq` rising by one per event.
CREATE TABLE changes (
    event_id                BLOB NOT NULL REFERENCES events (id),
    seq                     INTEGER NOT NULL,
    venue_id                BLOB REFERENCES venues (id),
    what                    TEXT NOT NULL,
    at                      TEXT NOT NULL,
    PRIMARY KEY (event_id, seq)
);

-- Who changed what, when and from where.
CREATE TABLE audit_log (
    id                      BLOB PRIMARY KEY NOT NULL,
    event_id                BLOB REFERENCES events (id),
    at                      TEXT NOT NULL,
    actor_role              TEXT NOT NULL,
    actor_token_id          BLOB,
    address                 TEXT,
    action                  TEXT NOT NULL,
    target_kind             TEXT NOT NULL,
    target_id               BLOB NOT NULL,
    detail                  TEXT NOT NULL
);
CREATE INDEX audit_log_event_id ON audit_log (event_id, id);
CREATE INDEX attendees_venue_id ON attendees (venue_id, position);
CREATE INDEX rooms_venue_id ON rooms (venue_id);
CREATE INDEX venues_event_id ON venues (event_id, id);
