-- Delegations: the lists that other units send into one venue's hall, each with its own
-- coordinator, minimum and maximum, sharing the venue's seats with the venue's own list.
CREATE TABLE delegations (
    id                      UUID PRIMARY KEY,
    venue_id                UUID NOT NULL REFERENCES venues (id),
    unit_id                 UUID REFERENCES units (id),
    name                    TEXT NOT NULL,
    min_people              BIGINT NOT NULL,
    max_people              BIGINT NOT NULL,
    contact_email           TEXT NOT NULL,
    created_at              TIMESTAMPTZ NOT NULL,
    UNIQUE (venue_id, name)
);

-- A delegation's list, as registrations is a venue's.
CREATE TABLE delegation_registrations (
    delegation_id           UUID PRIMARY KEY REFERENCES delegations (id),
    technician_name         TEXT NOT NULL,
    technician_phone        TEXT NOT NULL,
    submitted_at            TIMESTAMPTZ NOT NULL,
    late                    BOOLEAN NOT NULL,
    revision                BIGINT NOT NULL
);

-- A delegation's people are the hall's (they check in at its rooms) and on their own list.
ALTER TABLE attendees ADD COLUMN delegation_id UUID REFERENCES delegations (id);
CREATE INDEX attendees_delegation ON attendees (delegation_id) WHERE delegation_id IS NOT NULL;
-- A delegation's coordinator token names its delegation, and no venue.
ALTER TABLE sign_in_links ADD COLUMN delegation_id UUID REFERENCES delegations (id);
ALTER TABLE tokens ADD COLUMN delegation_id UUID REFERENCES delegations (id);

-- The same person is on one list at most once; lists of one hall are apart.
DROP INDEX attendees_one_current_person;
DROP INDEX attendees_one_current_person_without_phone;
CREATE UNIQUE INDEX attendees_one_current_person ON attendees (venue_id, COALESCE(delegation_id, venue_id), name, phone)
    WHERE status = 'registered' AND removed_at IS NULL AND phone <> '';
CREATE UNIQUE INDEX attendees_one_current_person_without_phone ON attendees (venue_id, COALESCE(delegation_id, venue_id), name, organization)
    WHERE status = 'registered' AND removed_at IS NULL AND phone = '';
