-- Unit deadlines remind the units below and send the setting unit its digest through the same
-- outbox: a message belongs to an event or to a unit (`unit_id`, the unit that set the
-- deadline), never both. `dedupe_key` is `<unit deadline>:<unit below>:<offset>:<kind>`, or
-- `<unit deadline>:organizer:0:digest`.
ALTER TABLE outbox ALTER COLUMN event_id DROP NOT NULL;
ALTER TABLE outbox ADD COLUMN unit_id UUID REFERENCES units (id);
ALTER TABLE outbox ADD COLUMN unit_deadline_id UUID REFERENCES unit_deadlines (id);
ALTER TABLE outbox ADD CONSTRAINT outbox_event_or_unit CHECK ((event_id IS NULL) <> (unit_id IS NULL));
CREATE INDEX outbox_unit_deadline ON outbox (unit_deadline_id) WHERE unit_deadline_id IS NOT NULL;

-- A unit's own share of the overview's `overdue` (1 while it has missed one of its parent's
-- deadlines), as `venue_counts` keeps a venue's: a change moves the units above by the difference.
CREATE TABLE unit_standing (
    unit_id         UUID PRIMARY KEY REFERENCES units (id),
    overdue         BIGINT NOT NULL DEFAULT 0
);
INSERT INTO unit_standing (unit_id) SELECT id FROM units;
-- A unit deadline passing makes units overdue without any write: the sweeper counts them.
ALTER TABLE unit_deadlines ADD COLUMN counted_at TIMESTAMPTZ;
CREATE INDEX unit_deadlines_uncounted ON unit_deadlines (due_at) WHERE counted_at IS NULL;
