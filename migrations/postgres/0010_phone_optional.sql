-- An attendee's phone is optional (receipts often give only 姓名、单位、职务); it is stored as ''
-- when missing. The same person is on a venue's current list at most once: the same name and
-- phone, or, without a phone, the same name and organisation.
DROP INDEX attendees_one_current_person;
CREATE UNIQUE INDEX attendees_one_current_person ON attendees (venue_id, name, phone)
    WHERE status = 'registered' AND removed_at IS NULL AND phone <> '';
CREATE UNIQUE INDEX attendees_one_current_person_without_phone ON attendees (venue_id, name, organization)
    WHERE status = 'registered' AND removed_at IS NULL AND phone = '';
