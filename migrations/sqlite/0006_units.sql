-- Units (单位): the organisations of the national week's tree. `path` holds the ids from the root
-- down to the unit, itself last, '/'-separated: a subtree is every unit whose path starts with
-- its root's, and the units above one are the ids of its path.
CREATE TABLE units (
    id                      BLOB PRIMARY KEY NOT NULL,
    parent_id               BLOB REFERENCES units (id),
    path                    TEXT NOT NULL UNIQUE,
    name                    TEXT NOT NULL,
    region                  TEXT NOT NULL DEFAULT '',
    contact_name            TEXT NOT NULL,
    contact_phone           TEXT NOT NULL,
    contact_email           TEXT NOT NULL,
    created_at              TEXT NOT NULL
);
CREATE INDEX units_parent_id ON units (parent_id, id);

-- An organiser's token, or a viewer's of a unit's subtree, is bound to its unit. SQLite cannot
-- change a CHECK in place: the table is made again with the new role, its rows copied.
CREATE TABLE tokens_with_units (
    id                      BLOB PRIMARY KEY NOT NULL,
    token_hash              TEXT NOT NULL UNIQUE,
    role                    TEXT NOT NULL CHECK (role IN ('admin', 'coordinator', 'technician', 'viewer', 'organiser')),
    event_id                BLOB REFERENCES events (id),
    venue_id                BLOB REFERENCES venues (id),
    label                   TEXT NOT NULL DEFAULT '',
    created_at              TEXT NOT NULL,
    revoked_at              TEXT,
    unit_id                 BLOB REFERENCES units (id)
);
INSERT INTO tokens_with_units (id, token_hash, role, event_id, venue_id, label, created_at, revoked_at)
    SELECT id, token_hash, role, event_id, venue_id, label, created_at, revoked_at FROM tokens;
DROP TABLE tokens;
ALTER TABLE tokens_with_units RENAME TO tokens;
