-- The day of the meeting: admission requirements, check-in within capacity, the video link.
-- SQLite flavour: UUIDs are 16-byte BLOBs, times RFC 3339 TEXT in UTC, booleans INTEGER.

-- What attendees must show at the door: [{"key": "test_within_48h", "valid_for": "48h"}].
ALTER TABLE events ADD COLUMN requirements TEXT NOT NULL DEFAULT '[]';

-- People inside a room now, changed only by check-in and check-out in their transactions: a
-- check-in takes a seat with `UPDATE … WHERE occupancy < capacity`, so a room never holds more
-- than its capacity however many check-ins race. A capacity cut may leave it above capacity
-- (people inside stay inside); then nobody new gets in until it is below again.
ALTER TABLE rooms ADD COLUMN occupancy INTEGER NOT NULL DEFAULT 0 CHECK (occupancy >= 0);

-- The venue's live video link on the day, and when its technician last posted it.
ALTER TABLE venues ADD COLUMN video_link TEXT NOT NULL DEFAULT 'unknown'
    CHECK (video_link IN ('unknown', 'connected', 'disconnected', 'lost'));
ALTER TABLE venues ADD COLUMN video_link_at TEXT;

-- Every check-in; `checked_out_at` closes it. An attendee is inside at most one room at a time.
CREATE TABLE checkins (
    id                      BLOB PRIMARY KEY NOT NULL,
    attendee_id             BLOB NOT NULL REFERENCES attendees (id),
    room_id                 BLOB NOT NULL REFERENCES rooms (id),
    checked_in_at           TEXT NOT NULL,
    checked_out_at          TEXT
);
CREATE UNIQUE INDEX checkins_one_room_at_a_time ON checkins (attendee_id) WHERE checked_out_at IS NULL;
CREATE INDEX checkins_room_id ON checkins (room_id, checked_in_at);

-- What an attendee showed: a health code, a test taken `at`.
CREATE TABLE attestations (
    id                      BLOB PRIMARY KEY NOT NULL,
    attendee_id             BLOB NOT NULL REFERENCES attendees (id),
    key                     TEXT NOT NULL,
    at                      TEXT NOT NULL,
    recorded_at             TEXT NOT NULL
);
CREATE INDEX attestations_attendee_id ON attestations (attendee_id, key);
