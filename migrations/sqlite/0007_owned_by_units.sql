-- An event belongs to the unit that holds it (none for an event made by the admin alone), and a
-- venue may be run by a unit: the event's own or one below it (四川省分会场 by 四川省教育厅).
ALTER TABLE events ADD COLUMN unit_id BLOB REFERENCES units (id);
ALTER TABLE venues ADD COLUMN unit_id BLOB REFERENCES units (id);
CREATE INDEX events_unit_id ON events (unit_id, id);
CREATE INDEX venues_unit_id ON venues (unit_id);
