-- The organiser's review of a unit's submission: accepted, or returned with a comment, which
-- counts as not sent (the reminders resume) until the unit sends again. A new submission
-- starts unreviewed.
ALTER TABLE unit_submissions ADD COLUMN review_status TEXT CHECK (review_status IN ('accepted', 'returned'));
ALTER TABLE unit_submissions ADD COLUMN review_comment TEXT;
ALTER TABLE unit_submissions ADD COLUMN reviewed_at TIMESTAMPTZ;

-- And of a venue's (or a delegation's) list: a returned list counts as not sent until a new
-- one comes, which starts unreviewed.
ALTER TABLE registrations ADD COLUMN review_status TEXT CHECK (review_status IN ('accepted', 'returned'));
ALTER TABLE registrations ADD COLUMN review_comment TEXT;
ALTER TABLE registrations ADD COLUMN reviewed_at TIMESTAMPTZ;
ALTER TABLE delegation_registrations ADD COLUMN review_status TEXT CHECK (review_status IN ('accepted', 'returned'));
ALTER TABLE delegation_registrations ADD COLUMN review_comment TEXT;
ALTER TABLE delegation_registrations ADD COLUMN reviewed_at TIMESTAMPTZ;
