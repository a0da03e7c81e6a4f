-- Units (单位): the organisations of the national week's tree. `path` holds the ids from the root
-- down to the unit, itself last, '/'-separated: a subtree is every unit whose path starts with
-- its root's, and the units above one are the ids of its path.
CREATE TABLE units (
    id                      UUID PRIMARY KEY,
    parent_id               UUID REFERENCES units (id),
    path                    TEXT NOT NULL UNIQUE,
    name                    TEXT NOT NULL,
    region                  TEXT NOT NULL DEFAULT '',
    contact_name            TEXT NOT NULL,
    contact_phone           TEXT NOT NULL,
    contact_email           TEXT NOT NULL,
    created_at              TIMESTAMPTZ NOT NULL
);
CREATE INDEX units_parent_id ON units (parent_id, id);

-- An organiser's token, or a viewer's of a unit's subtree, is bound to its unit.
ALTER TABLE tokens ADD COLUMN unit_id UUID REFERENCES units (id);
ALTER TABLE tokens DROP CONSTRAINT tokens_role_check;
ALTER TABLE tokens ADD CONSTRAINT tokens_role_check
    CHECK (role IN ('admin', 'coordinator', 'technician', 'viewer', 'organiser'));
