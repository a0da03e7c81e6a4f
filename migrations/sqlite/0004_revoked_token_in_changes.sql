-- A `token.revoked` change names the token it revoked, so that each live-feed client compares
-- it with its own in memory instead of all of them asking the database at once.
-- SQLite flavour: UUIDs are 16-byte BLOBs.
ALTER TABLE changes ADD COLUMN revoked_token_id BLOB;
