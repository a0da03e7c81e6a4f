-- A national week at full size, written straight into a migrated huichang database: the root
-- unit (:'root'), :provinces provinces, :cities cities and :districts districts spread over them;
-- each unit below the root holds one opening of :venues venues (one main), each venue one room of
-- :seats seats, approved, with a list of :seats people on site. The counters are then counted by
-- the server's own first-start count (overview_state.counted is set back to false).
BEGIN;
CREATE TEMP TABLE seed_units (level INT, n INT, id UUID, parent UUID, path TEXT) ON COMMIT DROP;
INSERT INTO seed_units VALUES (0, 0, :'root', NULL, :'root');
INSERT INTO seed_units
    SELECT 1, g, u, :'root', :'root' || '/' || u FROM (SELECT g, gen_random_uuid() AS u FROM generate_series(1, :provinces) g) s;
INSERT INTO seed_units
    SELECT 2, s.g, s.u, p.id, p.path || '/' || s.u
    FROM (SELECT g, gen_random_uuid() AS u FROM generate_series(1, :cities) g) s
    JOIN seed_units p ON p.level = 1 AND p.n = 1 + s.g % :provinces;
INSERT INTO seed_units
    SELECT 3, s.g, s.u, p.id, p.path || '/' || s.u
    FROM (SELECT g, gen_random_uuid() AS u FROM generate_series(1, :districts) g) s
    JOIN seed_units p ON p.level = 2 AND p.n = 1 + s.g % GREATEST(:cities, 1);
INSERT INTO units (id, parent_id, path, name, region, contact_name, contact_phone, contact_email, created_at)
    SELECT id, parent, path, '单位' || level || '-' || n, '', '王立', '010-66096114', 'unit@example.cn', now() FROM seed_units;

CREATE TEMP TABLE seed_events ON COMMIT DROP AS
    SELECT gen_random_uuid() AS id, id AS unit_id, n FROM seed_units WHERE level > 0;
INSERT INTO events (id, title, timezone, starts_at, ends_at, arrive_minutes_before, registration_deadline,
        video_check_starts_at, video_check_ends_at, default_capacity, organizer_email, created_at, unit_id)
    SELECT id, '全民终身学习活动周开幕式 ' || n, 'Asia/Shanghai', now() + interval '10 days', now() + interval '10 days 2 hours',
        15, now() + interval '7 days', now() + interval '9 days', now() + interval '9 days 2 hours', :seats,
        'org@example.cn', now(), unit_id
    FROM seed_events;
INSERT INTO deadlines (id, event_id, kind, title, due_at, reminders_from, remind_before, created_at)
    SELECT gen_random_uuid(), id, 'registration', '报名截止', now() + interval '7 days', now(), CAST('[259200, 86400, 7200]' AS JSONB), now() FROM seed_events
    UNION ALL
    SELECT gen_random_uuid(), id, 'video_check', '视频调试', now() + interval '9 days 2 hours', now(), CAST('[86400]' AS JSONB), now() FROM seed_events;

CREATE TEMP TABLE seed_venues ON COMMIT DROP AS
    SELECT gen_random_uuid() AS id, e.id AS event_id, g FROM seed_events e, generate_series(1, :venues) g;
INSERT INTO venues (id, event_id, name, kind, region, contact_email, approval, approval_recorded_at, created_at)
    SELECT id, event_id, '分会场' || g, CASE WHEN g = 1 THEN 'main' ELSE 'branch' END, '', 'venue@example.cn',
        'approved', now(), now()
    FROM seed_venues;
INSERT INTO rooms (id, venue_id, name, capacity, created_at)
    SELECT gen_random_uuid(), id, '会议室', :seats, now() FROM seed_venues;
INSERT INTO registrations (venue_id, technician_name, technician_phone, submitted_at, late, revision)
    SELECT id, '付宇豪', '18500219116', now(), FALSE, 1 FROM seed_venues;
INSERT INTO attendees (id, venue_id, name, organization, title, phone, participation, status, position, added_at)
    SELECT gen_random_uuid(), v.id, '参会人' || p, '教育局', '科长', '139' || lpad(p::text, 8, '0'), 'onsite', 'registered', p, now()
    FROM seed_venues v, generate_series(1, :seats) p;
UPDATE overview_state SET counted = FALSE;
COMMIT;
ANALYZE;
