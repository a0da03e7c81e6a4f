use huichang_tests::on_both_stores;
use serde_json::json;

on_both_stores! {
    async fn a_venue_without_rooms_gets_one_with_the_default_capacity(app: TestApp) {
        let event = app.create_event(48).await;
        let path = format!("/api/v1/events/{}/venues", event["id"].as_str().unwrap());
        let created = app.post(&path, &app.admin, &json!({"name": "四川省分会场", "kind": "branch", "region": "四川", "contact_email": "sc@example.cn"})).await.expect(201);
        assert_eq!(created["approval"], "pending");
        assert_eq!(created["capacity"], 30);
        assert_eq!(created["rooms"][0]["name"], "四川省分会场");
        assert!(created["coordinator_token"].as_str().unwrap().starts_with("hcc_"));
        assert!(created["technician_token"].as_str().unwrap().starts_with("hct_"));

        // Tokens are shown once: neither the venue nor the list carries them again.
        let read = app.get(&format!("/api/v1/venues/{}", created["id"].as_str().unwrap()), &app.admin).await.expect(200);
        assert!(read.get("coordinator_token").is_none() && read.get("technician_token").is_none());
        let listed = app.get(&path, &app.admin).await.expect(200);
        assert_eq!(listed.as_array().unwrap().len(), 1);
        assert!(listed[0].get("coordinator_token").is_none());
    }

    async fn capacity_is_the_sum_of_the_rooms(app: TestApp) {
        let event = app.create_event(48).await;
        let body = json!({"name": "攀枝花市分会场", "kind": "branch", "region": "四川", "contact_email": "pzh@example.cn",
            "rooms": [{"name": "大礼堂", "capacity": 300}, {"name": "报告厅", "capacity": 120}]});
        let venue = app.post(&format!("/api/v1/events/{}/venues", event["id"].as_str().unwrap()), &app.admin, &body).await.expect(201);
        assert_eq!(venue["capacity"], 420);
    }

    async fn an_event_has_at_most_one_main_venue_which_starts_approved(app: TestApp) {
        let event = app.create_event(48).await;
        let path = format!("/api/v1/events/{}/venues", event["id"].as_str().unwrap());
        let main = json!({"name": "主会场", "kind": "main", "region": "教育部", "contact_email": "main@example.cn"});
        assert_eq!(app.post(&path, &app.admin, &main).await.expect(201)["approval"], "approved");
        let second = json!({"name": "第二主会场", "kind": "main", "region": "教育部", "contact_email": "main@example.cn"});
        app.post(&path, &app.admin, &second).await.expect_problem(409, "main_venue_exists");
        assert_eq!(app.get(&path, &app.admin).await.expect(200).as_array().unwrap().len(), 1);
    }

    async fn venue_names_are_unique_within_an_event(app: TestApp) {
        let event = app.create_event(48).await;
        app.create_venue(&event, "四川省分会场", 30).await;
        let path = format!("/api/v1/events/{}/venues", event["id"].as_str().unwrap());
        let again = app.post(&path, &app.admin, &json!({"name": "四川省分会场", "kind": "branch", "contact_email": "sc@example.cn"})).await;
        again.expect_problem(422, "invalid_venue");
        assert_eq!(again.error_fields(), ["name"]);
    }

    async fn every_bad_venue_field_is_named(app: TestApp) {
        let event = app.create_event(48).await;
        let body = json!({"name": "", "kind": "annex", "contact_email": "nobody",
            "rooms": [{"name": "A", "capacity": 0}, {"capacity": 10}]});
        let reply = app.post(&format!("/api/v1/events/{}/venues", event["id"].as_str().unwrap()), &app.admin, &body).await;
        reply.expect_problem(422, "invalid_venue");
        assert_eq!(reply.error_fields(), ["name", "kind", "contact_email", "rooms[0].capacity", "rooms[1].name"]);
    }

    async fn a_coordinator_records_the_local_approval(app: TestApp) {
        let event = app.create_event(48).await;
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        let path = format!("/api/v1/venues/{}/approval", venue.id);
        let body = json!({"status": "approved", "authority": "四川省教育厅", "reference": "川教函〔2021〕512号", "note": "同意开设"});
        let approved = app.post(&path, &venue.coordinator, &body).await.expect(200);
        assert_eq!(approved["approval"], "approved");
        assert_eq!(approved["approval_record"]["reference"], "川教函〔2021〕512号");
        let bad = app.post(&path, &venue.coordinator, &json!({"status": "maybe"})).await;
        bad.expect_problem(422, "invalid_approval");
        assert_eq!(bad.error_fields(), ["status"]);
    }
}

on_both_stores! {
    async fn approvals_link_changes_and_sweeps_at_once_never_deadlock(app: TestApp) {
        // Each of these takes a venue's row and the event's row; taken in opposite orders, they
        // deadlock. Many at once on the venues of one event, with sweepers of two instances.
        let event = app.create_event(48).await;
        let mut venues = Vec::new();
        for i in 0..6 {
            venues.push(app.create_venue(&event, &format!("第{i}分会场"), 30).await);
        }
        let second = huichang_store::open(&app.database_url).await.unwrap();
        let app = std::sync::Arc::new(app);
        for round in 0..12 {
            let mut posts = Vec::new();
            for (i, venue) in venues.iter().enumerate() {
                let status = if (round + i) % 2 == 0 { "approved" } else { "rejected" };
                let link = if round % 3 == 2 { "disconnected" } else { "connected" };
                for (path, token, body) in [
                    (format!("/api/v1/venues/{}/approval", venue.id), app.admin.clone(), json!({"status": status})),
                    (format!("/api/v1/venues/{}/video-link", venue.id), venue.technician.clone(), json!({"status": link})),
                ] {
                    let app = app.clone();
                    posts.push(tokio::spawn(async move { app.post(&path, &token, &body).await.expect(200) }));
                }
            }
            let silent_since = chrono::Utc::now() + chrono::Duration::seconds(1);
            let sweeps: Vec<_> = [app.store.clone(), second.clone(), app.store.clone(), second.clone()]
                .into_iter()
                .map(|store| tokio::spawn(async move { store.sweep_video_links(silent_since).await }))
                .collect();
            for post in posts {
                post.await.unwrap();
            }
            for sweep in sweeps {
                sweep.await.unwrap().unwrap_or_else(|error| panic!("round {round}: the sweep failed: {error}"));
            }
        }
        let event_id = event["id"].as_str().unwrap().parse().unwrap();
        let seqs: Vec<i64> = app.store.changes(event_id, 0, 10_000).await.unwrap().iter().map(|c| c.seq).collect();
        assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>(), "no gaps, no repeats");
    }
}
