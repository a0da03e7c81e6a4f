-- Email at most once: a message whose data reached the SMTP server without a recorded reply is
-- never sent again by itself.
--
-- `kind`: `reminder`, `overdue`, `digest` (from the planner, `dedupe_key` as in 0002) or
-- `online_notice` (an attendee moved online, `dedupe_key` `online:<attendee>:<seq>`).
-- `status`:
--   `queued`     due at `next_attempt_at`;
--   `sending`    claimed until `claimed_until`, nothing handed over yet: after that another
--                worker may take it over;
--   `delivering` the worker is handing the message to the SMTP server;
--   `sent`       accepted at `sent_at`;
--   `failed`     given up;
--   `uncertain`  handed over with no reply recorded (the claim ran out, or the reply never came):
--                it may have arrived, so only the organiser sends it again.
-- `claim_id` names the attempt holding the row: a worker records its result only while it is its.
-- `message_id` is the `Message-ID` header, made at the first attempt and reused by every later one.
ALTER TABLE outbox DROP CONSTRAINT outbox_status_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_status_check
    CHECK (status IN ('queued', 'sending', 'delivering', 'sent', 'failed', 'uncertain'));
ALTER TABLE outbox ADD COLUMN claim_id UUID, ADD COLUMN message_id TEXT;
