//! The live-feed change log and the audit log.

use huichang_tests::{attendees, list, on_both_stores};
use serde_json::json;
use uuid::Uuid;

on_both_stores! {
    async fn seq_has_no_gaps_and_no_repeats_under_concurrent_writes(app: TestApp) {
        let event = app.create_event(48).await;
        let mut venues = Vec::new();
        for i in 0..8 {
            venues.push(app.create_venue(&event, &format!("分会场{i}"), 30).await);
        }
        let app = std::sync::Arc::new(app);
        let mut writers = Vec::new();
        for (i, venue) in venues.iter().enumerate() {
            for round in 0..5 {
                let (app, id, token) = (app.clone(), venue.id.clone(), venue.coordinator.clone());
                writers.push(tokio::spawn(async move {
                    match round % 3 {
                        0 => app.post(&format!("/api/v1/venues/{id}/approval"), &token, &json!({"status": "approved", "note": format!("{i}-{round}")})).await.expect(200),
                        1 => app.put(&format!("/api/v1/venues/{id}/registration"), &token, &list(attendees(1 + round))).await.expect(200),
                        // Over capacity: refused, so it must give its seq back.
                        _ => app.put(&format!("/api/v1/venues/{id}/registration"), &token, &list(attendees(31))).await.expect(422),
                    }
                }));
            }
        }
        for writer in writers {
            writer.await.unwrap();
        }
        let event_id: Uuid = event["id"].as_str().unwrap().parse().unwrap();
        let changes = app.store.changes(event_id, 0, 10_000).await.unwrap();
        let seqs: Vec<i64> = changes.iter().map(|c| c.seq).collect();
        // 1 event + 8 venues + 8 × (2 approvals + 2 lists) accepted changes.
        assert_eq!(seqs, (1..=41).collect::<Vec<_>>());
        assert_eq!(changes[0].what, "event.created");
        assert_eq!(changes[0].venue_id, None);
    }

    async fn postgresql_announces_each_change_when_it_commits(app: TestApp) {
        let announcements = app.store.change_announcements().await.unwrap();
        assert_eq!(announcements.is_some(), app.database_url.starts_with("postgres"), "SQLite announces nothing");
        if let Some(mut announcements) = announcements {
            let event = app.create_event(48).await;
            let heard = tokio::time::timeout(std::time::Duration::from_secs(2), announcements.recv()).await.unwrap().unwrap();
            assert_eq!(heard.to_string(), event["id"].as_str().unwrap());
        }
    }

    async fn every_change_is_audited_with_who_and_from_where(app: TestApp) {
        let event = app.create_event(48).await;
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        app.put(&format!("/api/v1/venues/{}/registration", venue.id), &venue.coordinator, &list(attendees(2))).await.expect(200);
        app.post(&format!("/api/v1/venues/{}/approval", venue.id), &venue.coordinator, &json!({"status": "rejected", "note": "场地未落实"})).await.expect(200);

        let path = format!("/api/v1/events/{}/audit", event["id"].as_str().unwrap());
        let audit = app.get(&path, &app.admin).await.expect(200);
        let actions: Vec<&str> = audit.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["venue.rejected", "registration.submitted", "venue.created", "event.created"]);
        assert_eq!(audit[0]["actor"]["role"], "coordinator");
        assert!(audit[0]["actor"]["token_id"].is_string());
        assert_eq!(audit[0]["address"], "127.0.0.1");
        assert_eq!(audit[0]["target"], json!({"kind": "venue", "id": venue.id}));
        assert_eq!(audit[2]["actor"]["role"], "admin");
        assert!(audit[0]["at"].as_str().unwrap().ends_with("+08:00"));

        let first = app.get(&format!("{path}?limit=3"), &app.admin).await;
        assert!(first.headers["link"].to_str().unwrap().contains("rel=\"next\""));
        let older = app.get(&format!("{path}?after={}", audit[2]["id"].as_str().unwrap()), &app.admin).await.expect(200);
        assert_eq!(older[0]["action"], "event.created");
    }
}
