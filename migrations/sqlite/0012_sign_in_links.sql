-- The links in reminder emails that sign their recipient in once: a random key, kept hashed as
-- tokens are, bound to one venue's role, until it is used or expires.
CREATE TABLE sign_in_links (
    key_hash                TEXT PRIMARY KEY NOT NULL,
    role                    TEXT NOT NULL,
    event_id                BLOB NOT NULL REFERENCES events (id),
    venue_id                BLOB NOT NULL REFERENCES venues (id),
    expires_at              TEXT NOT NULL,
    used_at                 TEXT,
    -- The session token the link became.
    token_id                BLOB REFERENCES tokens (id),
    created_at              TEXT NOT NULL
);
