-- The overview's counters, kept in the transaction of every change. `venue_counts` holds what
-- each venue last added, so that a change moves its event and the units above it by the
-- difference (but the people inside, which only check-ins and check-outs move, one at a time); `event_counts` and `unit_counts` hold the sums. `version` grows with every change
-- of a unit's subtree, so that a live overview learns cheaply whether anything moved.
CREATE TABLE venue_counts (
    venue_id        BLOB PRIMARY KEY NOT NULL REFERENCES venues (id),
    venues          BIGINT NOT NULL DEFAULT 0,
    approved        BIGINT NOT NULL DEFAULT 0,
    registered      BIGINT NOT NULL DEFAULT 0,
    capacity        BIGINT NOT NULL DEFAULT 0,
    video_passed    BIGINT NOT NULL DEFAULT 0,
    video_live      BIGINT NOT NULL DEFAULT 0,
    overdue         BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE event_counts (
    event_id        BLOB PRIMARY KEY NOT NULL REFERENCES events (id),
    units           BIGINT NOT NULL DEFAULT 0,
    events          BIGINT NOT NULL DEFAULT 0,
    venues          BIGINT NOT NULL DEFAULT 0,
    approved        BIGINT NOT NULL DEFAULT 0,
    registered      BIGINT NOT NULL DEFAULT 0,
    capacity        BIGINT NOT NULL DEFAULT 0,
    checked_in      BIGINT NOT NULL DEFAULT 0,
    video_passed    BIGINT NOT NULL DEFAULT 0,
    video_live      BIGINT NOT NULL DEFAULT 0,
    overdue         BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE unit_counts (
    unit_id         BLOB PRIMARY KEY NOT NULL REFERENCES units (id),
    units           BIGINT NOT NULL DEFAULT 0,
    events          BIGINT NOT NULL DEFAULT 0,
    venues          BIGINT NOT NULL DEFAULT 0,
    approved        BIGINT NOT NULL DEFAULT 0,
    registered      BIGINT NOT NULL DEFAULT 0,
    capacity        BIGINT NOT NULL DEFAULT 0,
    checked_in      BIGINT NOT NULL DEFAULT 0,
    video_passed    BIGINT NOT NULL DEFAULT 0,
    video_live      BIGINT NOT NULL DEFAULT 0,
    overdue         BIGINT NOT NULL DEFAULT 0,
    version         BIGINT NOT NULL DEFAULT 0
);
-- A deadline passing makes venues overdue without any write: the sweeper counts them once it
-- has passed, and notes it here.
ALTER TABLE deadlines ADD COLUMN counted_at TEXT;
CREATE INDEX deadlines_uncounted ON deadlines (due_at) WHERE counted_at IS NULL;
-- The counters of data written before they existed are counted once, on the first start.
CREATE TABLE overview_state (id INTEGER PRIMARY KEY, counted BOOLEAN NOT NULL);
INSERT INTO overview_state (id, counted) VALUES (1, FALSE);
