-- The run of show: an event's programme, in `position` order, each item with how the show has
-- treated it (status, expected and actual start). Changes of it take the event's seq like any
-- other, and their row in `changes` carries what is on now and next, so that a client that
-- reconnects replays them as they were.
CREATE TABLE agenda_items (
    id                      UUID PRIMARY KEY,
    event_id                UUID NOT NULL REFERENCES events (id),
    position                BIGINT NOT NULL,
    title                   TEXT NOT NULL,
    kind                    TEXT NOT NULL CHECK (kind IN ('video', 'speech', 'performance', 'award', 'link', 'other')),
    planned_start           TIMESTAMPTZ NOT NULL,
    minutes                 BIGINT NOT NULL,
    venue_id                UUID REFERENCES venues (id),
    speaker                 TEXT,
    status                  TEXT NOT NULL CHECK (status IN ('upcoming', 'live', 'done', 'skipped')),
    expected_start          TIMESTAMPTZ NOT NULL,
    actual_start            TIMESTAMPTZ
);
CREATE INDEX agenda_items_event ON agenda_items (event_id, position);
ALTER TABLE changes ADD COLUMN agenda JSONB;
