//! The day of the meeting: check-in within capacity, every refusal, the video link, the
//! capacity cut and admission requirements.

use std::sync::Arc;

use huichang_tests::smtp::SmtpServer;
use huichang_tests::{TestApp, Venue, attendees, list, on_both_stores};
use reqwest::Method;
use serde_json::{Value, json};

async fn approve(app: &TestApp, venue: &Venue) {
    app.post(&format!("/api/v1/venues/{}/approval", venue.id), &app.admin, &json!({"status": "approved"}))
        .await
        .expect(200);
}

/// An approved venue with a 30-seat room and a second room for the rest of its `registered`.
async fn venue_with_list(app: &TestApp, registered: usize) -> (Venue, String, Vec<String>) {
    let event = app.create_event(48).await;
    let body = json!({"name": "四川省分会场", "kind": "branch", "region": "四川", "contact_email": "sc@example.cn",
        "rooms": [{"name": "报告厅", "capacity": 30}, {"name": "大礼堂", "capacity": registered.max(30) - 30 + 1}]});
    let created = app
        .post(&format!("/api/v1/events/{}/venues", event["id"].as_str().unwrap()), &app.admin, &body)
        .await
        .expect(201);
    let venue = Venue {
        id: created["id"].as_str().unwrap().to_owned(),
        coordinator: created["coordinator_token"].as_str().unwrap().to_owned(),
        technician: created["technician_token"].as_str().unwrap().to_owned(),
        email: "sc@example.cn".into(),
        body: created.clone(),
    };
    approve(app, &venue).await;
    let stored = app
        .put(&format!("/api/v1/venues/{}/registration", venue.id), &venue.coordinator, &list(attendees(registered)))
        .await
        .expect(200);
    let ids = stored["attendees"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_owned()).collect();
    (venue, created["rooms"][0]["id"].as_str().unwrap().to_owned(), ids)
}

async fn occupancy(app: &TestApp, venue: &Venue, room: &str) -> i64 {
    let read = app.get(&format!("/api/v1/venues/{}", venue.id), &app.admin).await.expect(200);
    read["rooms"].as_array().unwrap().iter().find(|r| r["id"] == room).unwrap()["occupancy"].as_i64().unwrap()
}

on_both_stores! {
    async fn a_room_never_exceeds_its_capacity_under_concurrent_checkins(app: TestApp) {
        let (venue, room, ids) = venue_with_list(&app, 200).await;
        let app = Arc::new(app);
        for round in 0..20 {
            let attempts: Vec<_> = ids.iter().map(|id| {
                let (app, room, id, token) = (app.clone(), room.clone(), id.clone(), app.admin.clone());
                tokio::spawn(async move {
                    app.post(&format!("/api/v1/rooms/{room}/checkins"), &token, &json!({"attendee_id": id})).await
                })
            }).collect();
            let mut inside = Vec::new();
            for (attempt, id) in attempts.into_iter().zip(&ids) {
                let reply = attempt.await.unwrap();
                match reply.status.as_u16() {
                    201 => inside.push(id.clone()),
                    _ => reply.expect_problem(409, "room_full"),
                }
            }
            assert_eq!(inside.len(), 30, "round {round}");
            assert_eq!(occupancy(&app, &venue, &room).await, 30);
            if round == 0 {
                let listed = app.get(&format!("/api/v1/rooms/{room}/checkins"), &app.admin).await.expect(200);
                let mut listed: Vec<String> = listed.as_array().unwrap().iter().map(|c| c["attendee_id"].as_str().unwrap().to_owned()).collect();
                listed.sort();
                let mut expected = inside.clone();
                expected.sort();
                assert_eq!(listed, expected, "the room's list names exactly the people inside");
            }

            // Check-outs and check-ins interleaved: never more than 30 inside.
            let waiting: Vec<&String> = ids.iter().filter(|id| !inside.contains(id)).take(60).collect();
            let mut racers = Vec::new();
            for (i, id) in inside.iter().enumerate() {
                let (a, r, leaving, token) = (app.clone(), room.clone(), id.clone(), app.admin.clone());
                racers.push(tokio::spawn(async move {
                    let reply = a.request(Method::DELETE, &format!("/api/v1/rooms/{r}/checkins/{leaving}"), Some(&token), None).await;
                    assert_eq!(reply.status, 204);
                }));
                for newcomer in waiting.iter().skip(i * 2).take(2) {
                    let (a, r, coming, token) = (app.clone(), room.clone(), (*newcomer).clone(), app.admin.clone());
                    racers.push(tokio::spawn(async move {
                        let reply = a.post(&format!("/api/v1/rooms/{r}/checkins"), &token, &json!({"attendee_id": coming})).await;
                        assert!(reply.status == 201 || reply.body["code"] == "room_full", "{}", reply.body);
                    }));
                }
                assert!(occupancy(&app, &venue, &room).await <= 30);
            }
            for racer in racers {
                racer.await.unwrap();
            }
            assert!(occupancy(&app, &venue, &room).await <= 30);
            // Empty the room for the next round.
            for id in &ids {
                app.request(Method::DELETE, &format!("/api/v1/rooms/{room}/checkins/{id}"), Some(&app.admin), None).await;
            }
            assert_eq!(occupancy(&app, &venue, &room).await, 0);
        }
        assert_eq!(app.get(&format!("/api/v1/rooms/{room}/checkins"), &venue.coordinator).await.expect(200), json!([]));
    }

    async fn check_ins_written_together_keep_their_own_answers_and_a_gapless_change_log(app: TestApp) {
        // 40 people, 30 seats, and everybody at the door twice at once (two rooms, one person
        // each time): many check-ins share a transaction, refusals among them.
        let (venue, room, ids) = venue_with_list(&app, 40).await;
        let second_room = venue.body["rooms"][1]["id"].as_str().unwrap().to_owned();
        let event_id: uuid::Uuid = app.get(&format!("/api/v1/venues/{}", venue.id), &app.admin).await.expect(200)["event_id"]
            .as_str().unwrap().parse().unwrap();
        let before = app.store.changes(event_id, 0, 10_000).await.unwrap().len();
        let retried = huichang_store::door_times::RETRIED.load(std::sync::atomic::Ordering::Relaxed);
        let app = Arc::new(app);
        let attempts: Vec<_> = ids.iter().flat_map(|id| [room.clone(), second_room.clone(), room.clone()].map(|r| (r, id.clone())))
            .map(|(r, id)| {
                let (app, token) = (app.clone(), app.admin.clone());
                tokio::spawn(async move { (id.clone(), r.clone(), app.post(&format!("/api/v1/rooms/{r}/checkins"), &token, &json!({"attendee_id": id})).await) })
            })
            .collect();
        let mut let_in = std::collections::HashMap::new();
        let mut refused = Vec::new();
        for attempt in attempts {
            let (id, r, reply) = attempt.await.unwrap();
            match reply.status.as_u16() {
                201 => {
                    assert_eq!(reply.body["attendee_id"], id.as_str());
                    *let_in.entry(id).or_insert(0) += 1;
                }
                _ => refused.push((r, reply)),
            }
        }
        assert!(let_in.values().all(|&n| n == 1), "nobody is let in twice: {let_in:?}");
        assert_eq!(huichang_store::door_times::RETRIED.load(std::sync::atomic::Ordering::Relaxed), retried, "no batch failed");
        assert_eq!(let_in.len(), 40, "the second room takes whoever the first could not");
        assert!(occupancy(&app, &venue, &room).await <= 30);
        // Whoever was refused was either inside already (and everyone ends up inside), or met a
        // full room; nobody leaves, so a room that was full is full at the end.
        let seats = |r: &str| venue.body["rooms"].as_array().unwrap().iter().find(|x| x["id"] == r).unwrap()["capacity"].as_i64().unwrap();
        for (r, reply) in &refused {
            match reply.body["code"].as_str() {
                Some("already_checked_in") => {}
                Some("room_full") => assert_eq!(occupancy(&app, &venue, r).await, seats(r), "room_full for a room with seats left"),
                _ => panic!("{}", reply.body),
            }
        }
        // Everybody at both doors again, at once: inside already comes before a full room.
        let again: Vec<_> = ids.iter().flat_map(|id| [room.clone(), second_room.clone()].map(|r| (r, id.clone())))
            .map(|(r, id)| {
                let (app, token) = (app.clone(), app.admin.clone());
                tokio::spawn(async move { app.post(&format!("/api/v1/rooms/{r}/checkins"), &token, &json!({"attendee_id": id})).await })
            })
            .collect();
        for attempt in again {
            attempt.await.unwrap().expect_problem(409, "already_checked_in");
        }
        assert!(occupancy(&app, &venue, &room).await <= 30);
        let changes = app.store.changes(event_id, 0, 10_000).await.unwrap();
        let seqs: Vec<i64> = changes.iter().map(|c| c.seq).collect();
        assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>(), "no gaps, no repeats");
        let created: Vec<_> = changes[before..].iter().filter(|c| c.what == "checkin.created").collect();
        assert_eq!((created.len(), changes.len() - before), (40, 40), "one change per person let in, none for a refusal");
        let audit = app.get(&format!("/api/v1/events/{event_id}/audit?limit=100"), &app.admin).await.expect(200);
        let audited = audit.as_array().unwrap().iter().filter(|e| e["action"] == "checkin.created").count();
        assert_eq!(audited, 40);
    }

    async fn check_ins_of_several_events_written_together_number_each_events_changes_apart(app: TestApp) {
        // Three events' doors at once (a national week's are thousands): a batch spans events,
        // and each event's changes take its own numbers, in its own gapless log.
        let mut doors = Vec::new();
        for _ in 0..3 {
            let (venue, room, ids) = venue_with_list(&app, 20).await;
            let event_id: uuid::Uuid = app.get(&format!("/api/v1/venues/{}", venue.id), &app.admin).await.expect(200)["event_id"]
                .as_str().unwrap().parse().unwrap();
            let before = app.store.changes(event_id, 0, 10_000).await.unwrap().len();
            doors.push((venue, room, ids, event_id, before));
        }
        let mut announcements = app.store.change_announcements().await.unwrap();
        let retried = huichang_store::door_times::RETRIED.load(std::sync::atomic::Ordering::Relaxed);
        let app = Arc::new(app);
        let attempts: Vec<_> = doors.iter()
            .flat_map(|(_, room, ids, ..)| ids.iter().map(move |id| (room.clone(), id.clone())))
            .map(|(room, id)| {
                let app = app.clone();
                tokio::spawn(async move { app.post(&format!("/api/v1/rooms/{room}/checkins"), &app.admin, &json!({"attendee_id": id})).await })
            })
            .collect();
        for attempt in attempts {
            attempt.await.unwrap().expect(201);
        }
        for (venue, _, _, event_id, before) in &doors {
            let changes = app.store.changes(*event_id, 0, 10_000).await.unwrap();
            let seqs: Vec<i64> = changes.iter().map(|c| c.seq).collect();
            assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>(), "no gaps, no repeats");
            let created = &changes[*before..];
            assert_eq!(created.len(), 20);
            assert!(created.iter().all(|c| c.what == "checkin.created" && c.venue_id.map(|v| v.to_string()) == Some(venue.id.clone())));
            let audit = app.get(&format!("/api/v1/events/{event_id}/audit?limit=100"), &app.admin).await.expect(200);
            assert_eq!(audit.as_array().unwrap().iter().filter(|e| e["action"] == "checkin.created").count(), 20);
        }
        // No batch failed (a deadlock between the writers would): each was written whole.
        assert_eq!(huichang_store::door_times::RETRIED.load(std::sync::atomic::Ordering::Relaxed), retried);
        // Where other instances listen (PostgreSQL), each event was announced to them.
        if let Some(announcements) = announcements.as_mut() {
            let mut heard = std::collections::HashSet::new();
            while let Ok(Ok(id)) = tokio::time::timeout(std::time::Duration::from_secs(2), announcements.recv()).await {
                heard.insert(id);
            }
            for (.., event_id, _) in &doors {
                assert!(heard.contains(event_id), "{event_id} announced");
            }
        }
    }

    async fn a_check_in_after_the_time_people_were_asked_to_be_in_is_a_late_arrival(app: TestApp) {
        // Before: the meeting is days away. After: it starts now, and people were asked in 15 minutes ago.
        for (deadline_in_hours, late) in [(48, false), (-66, true)] {
            let event = app.create_event(deadline_in_hours).await;
            let venue = app.create_venue(&event, "四川省分会场", 30).await;
            approve(&app, &venue).await;
            let listed = app.put(&format!("/api/v1/venues/{}/registration", venue.id), &app.admin, &list(attendees(2))).await.expect(200);
            let room = venue.body["rooms"][0]["id"].as_str().unwrap();
            let person = &listed["attendees"][0]["id"];
            let checked = app.post(&format!("/api/v1/rooms/{room}/checkins"), &venue.coordinator, &json!({"attendee_id": person})).await.expect(201);
            assert_eq!(checked["late_arrival"], late, "{checked}");
            let inside = app.get(&format!("/api/v1/rooms/{room}/checkins"), &venue.coordinator).await.expect(200);
            assert_eq!(inside[0]["late_arrival"], late, "{inside}");
        }
    }

    async fn every_refusal_at_the_door_has_its_code_in_order(app: TestApp) {
        let (venue, room, ids) = venue_with_list(&app, 40).await;
        let checkins = format!("/api/v1/rooms/{room}/checkins");
        let unknown = "01a20000-0000-7000-8000-000000000000";
        app.post(&format!("/api/v1/rooms/{unknown}/checkins"), &venue.coordinator, &json!({"attendee_id": ids[0]})).await.expect_problem(404, "not_found");
        app.post(&checkins, &venue.coordinator, &json!({"attendee_id": unknown})).await.expect_problem(404, "not_found");

        let event = json!({"id": venue.body["event_id"]});
        let other = app.create_venue(&event, "重庆市分会场", 30).await;
        app.post(&checkins, &other.coordinator, &json!({"attendee_id": ids[0]})).await.expect_problem(403, "forbidden");
        app.post(&checkins, &venue.technician, &json!({"attendee_id": ids[0]})).await.expect_problem(403, "forbidden");

        let others = app.put(&format!("/api/v1/venues/{}/registration", other.id), &other.coordinator, &list(attendees(1))).await.expect(200);
        app.post(&checkins, &venue.coordinator, &json!({"attendee_id": others["attendees"][0]["id"]})).await.expect_problem(422, "not_registered_here");
        let replacement = json!({"name": "赵六", "organization": "四川省教育厅", "title": "处长", "phone": "13900000009"});
        app.post(&format!("/api/v1/attendees/{}/replace", ids[1]), &venue.coordinator, &replacement).await.expect(201);
        app.post(&checkins, &venue.coordinator, &json!({"attendee_id": ids[1]})).await.expect_problem(422, "not_registered_here");

        let other_room = other.body["rooms"][0]["id"].as_str().unwrap();
        app.post(&format!("/api/v1/rooms/{other_room}/checkins"), &other.coordinator, &json!({"attendee_id": others["attendees"][0]["id"]})).await.expect_problem(409, "venue_not_approved");

        app.post(&checkins, &venue.coordinator, &json!({"attendee_id": ids[2]})).await.expect(201);
        app.post(&checkins, &venue.coordinator, &json!({"attendee_id": ids[2]})).await.expect_problem(409, "already_checked_in");
        let hall = venue.body["rooms"][1]["id"].as_str().unwrap();
        app.post(&format!("/api/v1/rooms/{hall}/checkins"), &venue.coordinator, &json!({"attendee_id": ids[2]})).await.expect_problem(409, "already_checked_in");

        app.request(Method::DELETE, &format!("{checkins}/{}", ids[3]), Some(&venue.coordinator), None).await.expect_problem(409, "not_checked_in");
        assert_eq!(app.request(Method::DELETE, &format!("{checkins}/{}", ids[2]), Some(&venue.coordinator), None).await.status, 204);
        app.post(&format!("/api/v1/rooms/{hall}/checkins"), &venue.coordinator, &json!({"attendee_id": ids[2]})).await.expect(201);

        for id in &ids[4..34] {
            app.post(&checkins, &venue.coordinator, &json!({"attendee_id": id})).await.expect(201);
        }
        app.post(&checkins, &venue.coordinator, &json!({"attendee_id": ids[34]})).await.expect_problem(409, "room_full");
    }

    async fn a_check_in_that_meets_several_refusals_gets_the_first_in_the_documented_order(app: TestApp) {
        // API.md's order: 404 unknown attendee or room, 403 role, 422 not_registered_here,
        // 409 venue_not_approved, 409 requirement_not_met, 409 already_checked_in, 409 room_full.
        // Each case below meets two (or three) of them at once; the earliest must win.
        let (venue, room, ids) = venue_with_list(&app, 40).await;
        let hall = venue.body["rooms"][1]["id"].as_str().unwrap().to_owned();
        let checkins = format!("/api/v1/rooms/{room}/checkins");
        let unknown = "01a20000-0000-7000-8000-000000000000";
        let other = app.create_venue(&json!({"id": venue.body["event_id"]}), "重庆市分会场", 30).await;
        let others = app.put(&format!("/api/v1/venues/{}/registration", other.id), &other.coordinator, &list(attendees(1))).await.expect(200);
        let someone_elses = others["attendees"][0]["id"].as_str().unwrap().to_owned();
        for id in &ids[..30] {
            app.post(&checkins, &venue.coordinator, &json!({"attendee_id": id})).await.expect(201);
        }
        app.post(&format!("/api/v1/rooms/{hall}/checkins"), &venue.coordinator, &json!({"attendee_id": ids[30]})).await.expect(201);
        let replacement = json!({"name": "赵六", "organization": "四川省教育厅", "title": "处长", "phone": "13900000009"});
        app.post(&format!("/api/v1/attendees/{}/replace", ids[1]), &venue.coordinator, &replacement).await.expect(201);
        let (inside, inside_the_hall, replaced_inside, waiting) = (&ids[0], &ids[30], &ids[1], &ids[35]);

        let mut cases = Vec::new();
        let mut check = async |what: &str, room: &str, token: &str, attendee: &str, status: u16, code: &str| {
            let reply = app.post(&format!("/api/v1/rooms/{room}/checkins"), token, &json!({"attendee_id": attendee})).await;
            cases.push((what.to_owned(), status, code.to_owned(), reply));
        };
        // The room is full (30 of 30) and the venue approved.
        check("unknown attendee + the technician's token", &room, &venue.technician, unknown, 404, "not_found").await;
        check("unknown room + the technician's token", unknown, &venue.technician, inside, 404, "not_found").await;
        check("unknown attendee + a full room", &room, &venue.coordinator, unknown, 404, "not_found").await;
        check("the technician's token + another venue's attendee", &room, &venue.technician, &someone_elses, 403, "forbidden").await;
        check("the technician's token + someone inside", &room, &venue.technician, inside, 403, "forbidden").await;
        check("another venue's coordinator + a full room", &room, &other.coordinator, waiting, 403, "forbidden").await;
        check("another venue's attendee + a full room", &room, &venue.coordinator, &someone_elses, 422, "not_registered_here").await;
        check("replaced while inside + a full room", &room, &venue.coordinator, replaced_inside, 422, "not_registered_here").await;
        check("inside this room + a full room", &room, &venue.coordinator, inside, 409, "already_checked_in").await;
        check("inside another room + a full room", &room, &venue.coordinator, inside_the_hall, 409, "already_checked_in").await;
        // The approval withdrawn.
        app.post(&format!("/api/v1/venues/{}/approval", venue.id), &app.admin, &json!({"status": "rejected"})).await.expect(200);
        check("the technician's token + not approved", &room, &venue.technician, waiting, 403, "forbidden").await;
        check("another venue's attendee + not approved", &room, &venue.coordinator, &someone_elses, 422, "not_registered_here").await;
        check("replaced + not approved", &room, &venue.coordinator, replaced_inside, 422, "not_registered_here").await;
        check("not approved + inside", &room, &venue.coordinator, inside, 409, "venue_not_approved").await;
        check("not approved + a full room", &room, &venue.coordinator, waiting, 409, "venue_not_approved").await;

        // An event asking for a health code and a test within 48 hours; its one-seat room full.
        let mut body = huichang_tests::event_body(-40);
        body["requirements"] = json!([{"key": "health_code"}, {"key": "test_within_48h", "valid_for": "48h"}]);
        let event = app.post("/api/v1/events", &app.admin, &body).await.expect(201);
        let rooms = json!({"name": "主会场分组", "kind": "branch", "contact_email": "zh@example.cn",
            "rooms": [{"name": "贵宾室", "capacity": 1}, {"name": "报告厅", "capacity": 2}]});
        let created = app.post(&format!("/api/v1/events/{}/venues", event["id"].as_str().unwrap()), &app.admin, &rooms).await.expect(201);
        let strict = Venue {
            id: created["id"].as_str().unwrap().to_owned(),
            coordinator: created["coordinator_token"].as_str().unwrap().to_owned(),
            technician: created["technician_token"].as_str().unwrap().to_owned(),
            email: "zh@example.cn".into(),
            body: created,
        };
        approve(&app, &strict).await;
        let stored = app.put(&format!("/api/v1/venues/{}/registration", strict.id), &app.admin, &list(attendees(3))).await.expect(200);
        let people: Vec<String> = stored["attendees"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_owned()).collect();
        let seat = strict.body["rooms"][0]["id"].as_str().unwrap().to_owned();
        let attest = async |person: &str, key: &str, at: String| {
            app.post(&format!("/api/v1/attendees/{person}/attestations"), &strict.coordinator, &json!({"key": key, "at": at})).await
        };
        let now = chrono::Utc::now().to_rfc3339();
        attest(&people[0], "health_code", now.clone()).await.expect(201);
        attest(&people[0], "test_within_48h", now).await.expect(201);
        app.post(&format!("/api/v1/rooms/{seat}/checkins"), &strict.coordinator, &json!({"attendee_id": people[0]})).await.expect(201);
        // Requirements unmet by someone inside cannot be made through the API: an event's
        // requirements are fixed, and a person's newest attestation only gets newer.
        app.post(&format!("/api/v1/attendees/{}/replace", people[2]), &strict.coordinator, &replacement).await.expect(201);
        check("requirement unmet + a full room", &seat, &strict.coordinator, &people[1], 409, "requirement_not_met").await;
        check("replaced + requirement unmet", &seat, &strict.coordinator, &people[2], 422, "not_registered_here").await;
        app.post(&format!("/api/v1/venues/{}/approval", strict.id), &app.admin, &json!({"status": "rejected"})).await.expect(200);
        check("not approved + requirement unmet + a full room", &seat, &strict.coordinator, &people[1], 409, "venue_not_approved").await;

        let wrong: Vec<String> = cases.iter()
            .filter(|(_, status, code, reply)| reply.status.as_u16() != *status || reply.body["code"] != code.as_str())
            .map(|(what, status, code, reply)| format!("{what}: expected {status} {code}, got {} {}", reply.status.as_u16(), reply.body["code"]))
            .collect();
        assert!(wrong.is_empty(), "out of the documented order:\n{}", wrong.join("\n"));
        for (what, _, _, reply) in &cases {
            assert_eq!(reply.header("content-type"), "application/problem+json", "{what}");
        }
    }

    async fn an_online_attendee_is_not_let_in(app: TestApp) {
        let (venue, room, _) = venue_with_list(&app, 2).await;
        let mut rows = attendees(2);
        rows[1]["participation"] = json!("online");
        let stored = app.put(&format!("/api/v1/venues/{}/registration", venue.id), &venue.coordinator, &list(rows)).await.expect(200);
        app.post(&format!("/api/v1/rooms/{room}/checkins"), &venue.coordinator, &json!({"attendee_id": stored["attendees"][1]["id"]})).await.expect_problem(422, "not_registered_here");
    }

    async fn a_silent_link_is_lost_once_even_with_two_sweepers(app: TestApp) {
        let event = app.create_event(48).await;
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        let path = format!("/api/v1/venues/{}/video-link", venue.id);
        assert_eq!(app.post(&path, &venue.technician, &json!({"status": "connected"})).await.expect(200)["video_link"], "connected");
        app.post(&path, &venue.coordinator, &json!({"status": "connected"})).await.expect_problem(403, "forbidden");
        app.post(&path, &venue.technician, &json!({"status": "maybe"})).await.expect_problem(422, "invalid_video_link");

        // Not yet silent for the timeout: nothing happens.
        assert_eq!(app.store.sweep_video_links(chrono::Utc::now() - chrono::Duration::seconds(60)).await.unwrap(), 0);
        let other = huichang_store::open(&app.database_url).await.unwrap();
        let later = chrono::Utc::now() + chrono::Duration::seconds(1);
        let (a, b) = tokio::join!(app.store.sweep_video_links(later), other.sweep_video_links(later));
        assert_eq!(a.unwrap() + b.unwrap(), 1);
        assert_eq!(app.store.sweep_video_links(later).await.unwrap(), 0);
        assert_eq!(app.get(&format!("/api/v1/venues/{}", venue.id), &app.admin).await.expect(200)["video_link"], "lost");

        let event_id = event["id"].as_str().unwrap().parse().unwrap();
        let changes = app.store.changes(event_id, 0, 1000).await.unwrap();
        assert_eq!(changes.iter().filter(|c| c.what == "video_link.lost").count(), 1);
        // A heartbeat of the same status is no change; a new status is.
        app.post(&path, &venue.technician, &json!({"status": "connected"})).await.expect(200);
        app.post(&path, &venue.technician, &json!({"status": "connected"})).await.expect(200);
        let changes = app.store.changes(event_id, 0, 1000).await.unwrap();
        assert_eq!(changes.iter().filter(|c| c.what == "video_link.connected").count(), 2);
    }

    async fn a_technician_records_video_checks_and_the_latest_is_the_status(app: TestApp) {
        let event = app.create_event(48).await;
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        let path = format!("/api/v1/venues/{}/video-checks", venue.id);
        let failed = app.post(&path, &venue.technician, &json!({"result": "failed", "items": {"picture": true, "sound": false}, "note": "无声音"})).await.expect(201);
        assert_eq!(failed["in_window"], false);
        app.post(&path, &venue.technician, &json!({"result": "passed", "items": {"picture": true, "sound": true, "network_mbps": 20}})).await.expect(201);
        let history = app.get(&path, &venue.coordinator).await.expect(200);
        let results: Vec<&str> = history.as_array().unwrap().iter().map(|c| c["result"].as_str().unwrap()).collect();
        assert_eq!(results, ["passed", "failed"]);
        assert_eq!(app.get(&format!("/api/v1/venues/{}", venue.id), &app.admin).await.expect(200)["video_check"], "passed");
        let bad = app.post(&path, &venue.technician, &json!({"result": "ok"})).await;
        bad.expect_problem(422, "invalid_video_check");
        app.post(&path, &venue.coordinator, &json!({"result": "passed"})).await.expect_problem(403, "forbidden");
    }

    async fn a_capacity_cut_moves_the_latest_200_of_panzhihua_online_and_emails_each_once(app: TestApp) {
        let event = app.create_event(48).await;
        let body = json!({"name": "攀枝花市分会场", "kind": "branch", "region": "四川", "contact_email": "pzh@example.cn",
            "rooms": [{"name": "攀枝花市大礼堂", "capacity": 300}]});
        let created = app.post(&format!("/api/v1/events/{}/venues", event["id"].as_str().unwrap()), &app.admin, &body).await.expect(201);
        let (venue, room) = (created["id"].as_str().unwrap(), created["rooms"][0]["id"].as_str().unwrap());
        let token = created["coordinator_token"].as_str().unwrap();
        app.post(&format!("/api/v1/venues/{venue}/approval"), &app.admin, &json!({"status": "approved"})).await.expect(200);
        let rows: Vec<Value> = (0..300).map(|i| json!({"name": format!("市民{i}"), "organization": "攀枝花市教育局", "title": "教师",
            "phone": format!("139{:08}", i), "email": format!("p{i}@example.cn")})).collect();
        let list_path = format!("/api/v1/venues/{venue}/registration");
        app.put(&list_path, token, &list(rows)).await.expect(200);
        for i in 0..120 {
            let id = &app.get(&list_path, token).await.expect(200)["attendees"][i]["id"];
            app.post(&format!("/api/v1/rooms/{room}/checkins"), &app.admin, &json!({"attendee_id": id})).await.expect(201);
        }

        let cut = app.request(Method::PATCH, &format!("/api/v1/rooms/{room}"), Some(&app.admin), Some(&json!({"capacity": 100}))).await.expect(200);
        assert_eq!(cut["moved_online"].as_array().unwrap().len(), 200);
        assert_eq!(cut["emailed"], 200);
        assert_eq!(cut["room"]["occupancy"], 120, "people inside stay inside");
        let after = app.get(&list_path, token).await.expect(200);
        let attendees = after["attendees"].as_array().unwrap();
        assert_eq!(attendees.len(), 300, "nothing is deleted");
        assert!(attendees[..100].iter().all(|a| a["participation"] == "onsite"));
        assert!(attendees[100..].iter().all(|a| a["participation"] == "online"), "the most recently added move first");
        // 120 inside a room of 100: one who steps out cannot come back in until it is below 100.
        let stepping_out = attendees[99]["id"].as_str().unwrap();
        let out = app.request(Method::DELETE, &format!("/api/v1/rooms/{room}/checkins/{stepping_out}"), Some(token), None).await;
        assert_eq!(out.status, 204);
        app.post(&format!("/api/v1/rooms/{room}/checkins"), token, &json!({"attendee_id": stepping_out})).await.expect_problem(409, "room_full");

        let smtp = SmtpServer::start();
        let mailer = huichang_notify::Mailer::new(Some(&smtp.url()), std::path::Path::new("/nonexistent")).unwrap();
        let worker = huichang_notify::Notifier::new(app.store.clone(), mailer, huichang_notify::Settings::new("http://huichang.test", "huichang@example.cn").unwrap());
        assert_eq!(worker.deliver(chrono::Utc::now()).await.unwrap().sent, 200);
        let mut recipients: Vec<String> = smtp.messages().iter().map(|m| huichang_tests::smtp::header(m, "To").unwrap()).collect();
        recipients.sort();
        let mut expected: Vec<String> = (100..300).map(|i| format!("p{i}@example.cn")).collect();
        expected.sort();
        assert_eq!(recipients, expected);

        // Raising the capacity again moves nobody back by itself.
        let raised = app.request(Method::PATCH, &format!("/api/v1/rooms/{room}"), Some(&app.admin), Some(&json!({"capacity": 300}))).await.expect(200);
        assert_eq!(raised["moved_online"], json!([]));
        assert_eq!(app.get(&list_path, token).await.expect(200)["attendees"][150]["participation"], "online");
        app.request(Method::PATCH, &format!("/api/v1/rooms/{room}"), Some(&app.admin), Some(&json!({"capacity": 0}))).await.expect_problem(422, "invalid_room");
    }

    async fn a_cut_of_panzhihuas_hall_moves_the_public_then_the_latest_delegates_and_never_the_programme(app: TestApp) {
        // 300 registered: 20 leaders, 11 speakers and awardees, 10 staff, 30 press, 129
        // delegates, 100 public; the list sent in that order, then the delegates' last rows
        // sent again later as a second list (added more recently).
        let event = app.create_event(48).await;
        let body = json!({"name": "攀枝花市主会场", "kind": "branch", "region": "四川", "contact_email": "pzh@example.cn",
            "rooms": [{"name": "攀枝花市大礼堂", "capacity": 300}]});
        let created = app.post(&format!("/api/v1/events/{}/venues", event["id"].as_str().unwrap()), &app.admin, &body).await.expect(201);
        let (venue, room) = (created["id"].as_str().unwrap(), created["rooms"][0]["id"].as_str().unwrap());
        let token = created["coordinator_token"].as_str().unwrap();
        let groups = [("领导", "leader", 20), ("发言代表", "speaker", 6), ("受表彰代表", "awardee", 5), ("工作人员", "staff", 10),
            ("媒体记者", "press", 30), ("参会代表", "delegate", 129), ("群众", "public", 100)];
        let mut rows = Vec::new();
        for (word, code, n) in groups {
            for i in 0..n {
                // The Chinese word or the code: both are read.
                let category = if i % 2 == 0 { word } else { code };
                rows.push(json!({"name": format!("{word}{i:03}"), "organization": "攀枝花市", "title": "—",
                    "phone": format!("139{:08}", rows.len()), "category": category}));
            }
        }
        let list_path = format!("/api/v1/venues/{venue}/registration");
        app.put(&list_path, token, &list(rows.clone())).await.expect(200);
        let sent = app.put(&list_path, token, &list(rows)).await.expect(200);
        let by_category = |list: &Value, category: &str, participation: &str| list["attendees"].as_array().unwrap().iter()
            .filter(|a| a["category"] == category && a["participation"] == participation).count();
        assert_eq!((by_category(&sent, "speaker", "onsite"), by_category(&sent, "public", "onsite")), (6, 100));

        // Fewer seats than the 41 who never move: refused, and nothing changes.
        let refused = app.request(Method::PATCH, &format!("/api/v1/rooms/{room}"), Some(&app.admin), Some(&json!({"capacity": 40}))).await;
        refused.expect_problem(409, "capacity_below_required");
        assert_eq!(refused.body["required"], 41);
        let unchanged = app.get(&list_path, token).await.expect(200);
        assert_eq!(unchanged["attendees"], sent["attendees"]);
        assert_eq!(app.get(&format!("/api/v1/venues/{venue}"), &app.admin).await.expect(200)["rooms"][0]["capacity"], 300);

        let cut = app.request(Method::PATCH, &format!("/api/v1/rooms/{room}"), Some(&app.admin), Some(&json!({"capacity": 100}))).await.expect(200);
        assert_eq!(cut["moved_online"].as_array().unwrap().len(), 200);
        let after = app.get(&list_path, token).await.expect(200);
        assert_eq!(by_category(&after, "public", "online"), 100, "the public first");
        assert_eq!(by_category(&after, "delegate", "online"), 100);
        assert_eq!(by_category(&after, "press", "onsite"), 30, "the press stays");
        for required in ["leader", "speaker", "awardee", "staff"] {
            assert_eq!(by_category(&after, required, "online"), 0, "{required} never moves");
        }
        // The delegates who stay are the first 29 of the list: the 100 moved were added last.
        let staying: Vec<&str> = after["attendees"].as_array().unwrap().iter()
            .filter(|a| a["category"] == "delegate" && a["participation"] == "onsite")
            .map(|a| a["name"].as_str().unwrap()).collect();
        assert_eq!(staying, (0..29).map(|i| format!("参会代表{i:03}")).collect::<Vec<_>>());
    }

    async fn a_cut_tells_each_person_where_to_watch_and_whom_to_call_and_their_venue_about_those_without_email(app: TestApp) {
        let mut body = huichang_tests::event_body(48);
        body["contacts"] = json!([{"role": "会务联系人", "name": "王立", "phone": "010-66096253"},
            {"role": "技术联系人", "name": "付宇豪", "phone": "185 0021 9116"}]);
        body["stream"] = json!({"url": "https://live.example.cn/2021", "note": "请使用 Chrome 浏览器观看"});
        let event = app.post("/api/v1/events", &app.admin, &body).await.expect(201);
        assert_eq!(event["contacts"][1]["phone"], "18500219116", "normalised");
        assert_eq!(event["stream"]["url"], "https://live.example.cn/2021");
        let venue = app.create_venue(&event, "攀枝花市分会场", 3).await;
        approve(&app, &venue).await;
        let people = vec![
            json!({"name": "王立", "organization": "攀枝花市教育局", "title": "局长", "email": "wl@example.cn"}),
            json!({"name": "李娜", "organization": "攀枝花市教育局", "title": "科员", "email": "ln@example.cn"}),
            json!({"name": "张伟", "organization": "攀枝花市教育局", "title": "科员"}),
        ];
        app.put(&format!("/api/v1/venues/{}/registration", venue.id), &venue.coordinator, &list(people)).await.expect(200);
        let room = venue.body["rooms"][0]["id"].as_str().unwrap();
        let cut = app.request(Method::PATCH, &format!("/api/v1/rooms/{room}"), Some(&app.admin), Some(&json!({"capacity": 1}))).await.expect(200);
        assert_eq!(cut["moved_online"].as_array().unwrap().len(), 2);
        assert_eq!(cut["emailed"], 2, "李娜 at her address, and 张伟's venue for him");

        let smtp = SmtpServer::start();
        let mailer = huichang_notify::Mailer::new(Some(&smtp.url()), std::path::Path::new("/nonexistent")).unwrap();
        let worker = huichang_notify::Notifier::new(app.store.clone(), mailer, huichang_notify::Settings::new("http://huichang.test", "huichang@example.cn").unwrap());
        assert_eq!(worker.deliver(chrono::Utc::now()).await.unwrap().sent, 2);
        let messages = smtp.messages();
        let to = |address: &str| messages.iter().find(|m| huichang_tests::smtp::header(m, "To").as_deref() == Some(address)).map(|m| huichang_tests::smtp::text_part(m)).unwrap_or_else(|| panic!("nothing to {address}"));
        let li_na = to("ln@example.cn");
        assert!(li_na.contains("直播地址：https://live.example.cn/2021（请使用 Chrome 浏览器观看）"), "{li_na}");
        assert!(li_na.contains("会务联系人 王立 010-66096253；技术联系人 付宇豪 18500219116"), "{li_na}");
        assert!(!li_na.contains("http://huichang.test"), "no page the person cannot open");
        let venue_letter = to(&venue.email);
        assert!(venue_letter.contains("张伟") && !venue_letter.contains("李娜") && venue_letter.contains("https://live.example.cn/2021"), "{venue_letter}");
    }

    async fn a_test_older_than_48h_before_the_start_is_refused(app: TestApp) {
        // The meeting starts in 26 hours, so a test taken now is within 48 hours of it.
        let mut body = huichang_tests::event_body(-40);
        body["requirements"] = json!([{"key": "health_code"}, {"key": "test_within_48h", "valid_for": "48h"}]);
        let event = app.post("/api/v1/events", &app.admin, &body).await.expect(201);
        assert_eq!(event["requirements"][1], json!({"key": "test_within_48h", "valid_for": "48h"}));
        let venue = app.create_venue(&event, "主会场分组", 30).await;
        approve(&app, &venue).await;
        let stored = app.put(&format!("/api/v1/venues/{}/registration", venue.id), &app.admin, &list(attendees(1))).await.expect(200);
        let attendee = stored["attendees"][0]["id"].as_str().unwrap();
        let room = venue.body["rooms"][0]["id"].as_str().unwrap();
        let checkin = format!("/api/v1/rooms/{room}/checkins");

        let refused = app.post(&checkin, &venue.coordinator, &json!({"attendee_id": attendee})).await;
        refused.expect_problem(409, "requirement_not_met");
        assert_eq!(refused.body["missing"], json!(["health_code", "test_within_48h"]));

        let starts = chrono::DateTime::parse_from_rfc3339(event["starts_at"].as_str().unwrap()).unwrap();
        let attest = format!("/api/v1/attendees/{attendee}/attestations");
        app.post(&attest, &venue.coordinator, &json!({"key": "health_code", "at": chrono::Utc::now().to_rfc3339()})).await.expect(201);
        let stale = (starts - chrono::Duration::hours(49)).to_rfc3339();
        app.post(&attest, &venue.coordinator, &json!({"key": "test_within_48h", "at": stale})).await.expect(201);
        let refused = app.post(&checkin, &venue.coordinator, &json!({"attendee_id": attendee})).await;
        assert_eq!(refused.body["missing"], json!(["test_within_48h"]));

        let bad = app.post(&attest, &venue.coordinator, &json!({"key": "passport", "at": "yesterday"})).await;
        bad.expect_problem(422, "invalid_attestation");
        assert_eq!(bad.error_fields(), ["key", "at"]);
        app.post(&attest, &venue.coordinator, &json!({"key": "test_within_48h", "at": chrono::Utc::now().to_rfc3339()})).await.expect(201);
        app.post(&checkin, &venue.coordinator, &json!({"attendee_id": attendee})).await.expect(201);
    }
}

/// The change log of a venue's event, in `seq` order.
async fn change_log(app: &TestApp, venue: &Venue) -> Vec<huichang_store::Change> {
    let event_id = venue.body["event_id"].as_str().unwrap().parse().unwrap();
    app.store.changes(event_id, 0, 100_000).await.unwrap()
}

on_both_stores! {
    async fn no_check_in_is_recorded_after_the_approval_is_withdrawn(app: TestApp) {
        let (venue, room, ids) = venue_with_list(&app, 200).await;
        let app = Arc::new(app);
        for round in 0..20 {
            approve(&app, &venue).await;
            let since = change_log(&app, &venue).await.len();
            let people = &ids[(round % 10) * 20..][..20];
            let mut attempts = Vec::new();
            for (n, id) in people.iter().enumerate() {
                let (app, room, id, token) = (app.clone(), room.clone(), id.clone(), app.admin.clone());
                let approval = format!("/api/v1/venues/{}/approval", venue.id);
                attempts.push(tokio::spawn(async move {
                    // One of them withdraws the approval, amid the others.
                    if n == 10 {
                        app.post(&approval, &app.admin, &json!({"status": "rejected"})).await.expect(200);
                    }
                    app.post(&format!("/api/v1/rooms/{room}/checkins"), &token, &json!({"attendee_id": id})).await
                }));
            }
            let mut let_in = 0;
            for attempt in attempts {
                let reply = attempt.await.unwrap();
                match reply.status.as_u16() {
                    201 => let_in += 1,
                    _ => reply.expect_problem(409, "venue_not_approved"),
                }
            }
            let changes = change_log(&app, &venue).await.split_off(since);
            let rejected = changes.iter().position(|c| c.what == "venue.rejected").unwrap();
            let late: Vec<i64> = changes[rejected..].iter().filter(|c| c.what == "checkin.created").map(|c| c.seq).collect();
            assert!(late.is_empty(), "round {round}: check-ins recorded after the approval was withdrawn: {late:?}");
            assert_eq!(changes.iter().filter(|c| c.what == "checkin.created").count(), let_in, "round {round}");
            for id in people {
                app.request(Method::DELETE, &format!("/api/v1/rooms/{room}/checkins/{id}"), Some(&app.admin), None).await;
            }
        }
    }

    async fn no_check_in_is_recorded_after_the_person_is_replaced_removed_or_moved_online(app: TestApp) {
        let (venue, room, ids) = venue_with_list(&app, 30).await;
        let list_path = format!("/api/v1/venues/{}/registration", venue.id);
        let mut rows = attendees(30);
        let mut people: Vec<(String, usize)> = ids.into_iter().zip(0..).collect();
        let app = Arc::new(app);
        for round in 0..24 {
            let (id, row) = people.pop().unwrap();
            let since = change_log(&app, &venue).await.len();
            let change = match round % 3 {
                0 => {
                    let replacement = json!({"name": format!("替补{round}"), "organization": "四川省教育厅", "title": "处长",
                        "phone": format!("139{round:08}")});
                    rows[row] = replacement.clone();
                    (format!("/api/v1/attendees/{id}/replace"), Method::POST, replacement, 201)
                }
                1 => {
                    rows[row]["participation"] = json!("online");
                    (list_path.clone(), Method::PUT, list(rows.clone()), 200)
                }
                _ => {
                    rows[row]["name"] = json!(format!("另一人{round}"));
                    (list_path.clone(), Method::PUT, list(rows.clone()), 200)
                }
            };
            let (path, method, body, status) = change;
            let changing = {
                let (app, token) = (app.clone(), app.admin.clone());
                // Spread over rounds: the change lands before, during or after the check-in.
                let delay = std::time::Duration::from_micros(250 * (round as u64 % 4));
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    app.request(method, &path, Some(&token), Some(&body)).await.expect(status)
                })
            };
            let reply = app.post(&format!("/api/v1/rooms/{room}/checkins"), &app.admin, &json!({"attendee_id": id})).await;
            changing.await.unwrap();
            let changes = change_log(&app, &venue).await.split_off(since);
            let whats: Vec<&str> = changes.iter().map(|c| c.what.as_str()).collect();
            match reply.status.as_u16() {
                201 => assert_eq!(whats.first(), Some(&"checkin.created"), "round {round}: let in after the change: {whats:?}"),
                _ => {
                    reply.expect_problem(422, "not_registered_here");
                    assert!(!whats.contains(&"checkin.created"), "round {round}: {whats:?}");
                }
            }
        }
    }
}
