-- The people venues may call (会务联系人, 技术联系人 …) and the live stream people moved online
-- watch: shown on every venue page and in every email.
ALTER TABLE events ADD COLUMN contacts TEXT NOT NULL DEFAULT '[]';
ALTER TABLE events ADD COLUMN stream TEXT;
