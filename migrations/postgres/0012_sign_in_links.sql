-- The links in reminder emails that sign their recipient in once: a random key, kept hashed as
-- tokens are, bound to one venue's role, until it is used or expires.
CREATE TABLE sign_in_links (
    key_hash                TEXT PRIMARY KEY,
    role                    TEXT NOT NULL,
    event_id                UUID NOT NULL REFERENCES events (id),
    venue_id                UUID NOT NULL REFERENCES venues (id),
    expires_at              TIMESTAMPTZ NOT NULL,
    used_at                 TIMESTAMPTZ,
    -- The session token the link became.
    token_id                UUID REFERENCES tokens (id),
    created_at              TIMESTAMPTZ NOT NULL
);
