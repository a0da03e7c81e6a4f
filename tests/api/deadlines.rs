//! Deadlines made with the event, deliverables added by the organiser and marked done.

use huichang_tests::{attendees, list, on_both_stores};
use reqwest::Method;
use serde_json::json;

on_both_stores! {
    async fn an_event_comes_with_its_registration_and_video_check_deadlines(app: TestApp) {
        let event = app.create_event(80).await;
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        let deadlines = app.get(&format!("/api/v1/events/{}/deadlines", event["id"].as_str().unwrap()), &venue.coordinator).await.expect(200);
        let kinds: Vec<&str> = deadlines.as_array().unwrap().iter().map(|d| d["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["registration", "video_check"]);
        assert_eq!(deadlines[0]["due_at"], event["registration_deadline"]);
        assert_eq!(deadlines[0]["remind_before"], json!(["72h", "24h", "2h"]));
        assert_eq!(deadlines[1]["due_at"], event["video_check"]["ends_at"]);
        assert_eq!(deadlines[1]["reminders_from"], event["video_check"]["starts_at"]);
        assert_eq!(deadlines[1]["remind_before"], json!(["24h", "30m"]));
    }

    async fn the_organiser_adds_a_deliverable_with_its_own_reminders(app: TestApp) {
        let event = app.create_event(80).await;
        let path = format!("/api/v1/events/{}/deadlines", event["id"].as_str().unwrap());
        let created = app.post(&path, &app.admin, &json!({"kind": "deliverable", "title": "活动周工作总结", "due_at": "2099-12-10T17:00:00+08:00", "remind_before": ["24h", "7d"]})).await.expect(201);
        assert_eq!(created["kind"], "deliverable");
        assert_eq!(created["remind_before"], json!(["168h", "24h"]));
        assert_eq!(created["due_at"], "2099-12-10T17:00:00+08:00");
        let defaults = app.post(&path, &app.admin, &json!({"title": "典型案例", "due_at": "2099-10-25T17:00:00+08:00"})).await.expect(201);
        assert_eq!(defaults["remind_before"], json!(["72h", "24h", "2h"]));

        let bad = app.post(&path, &app.admin, &json!({"kind": "registration", "due_at": "soon", "remind_before": ["1x"]})).await;
        bad.expect_problem(422, "invalid_deadline");
        assert_eq!(bad.error_fields(), ["kind", "title", "due_at", "remind_before[0]"]);
        assert_eq!(app.get(&path, &app.admin).await.expect(200).as_array().unwrap().len(), 4);
    }

    async fn a_coordinator_hands_in_a_deliverable_with_a_note_or_a_file(app: TestApp) {
        let event = app.create_event(80).await;
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        let deadline = app.post(&format!("/api/v1/events/{}/deadlines", event["id"].as_str().unwrap()), &app.admin,
            &json!({"title": "活动周工作总结", "due_at": "2099-12-10T17:00:00+08:00"})).await.expect(201);
        let path = format!("/api/v1/venues/{}/deliverables/{}", venue.id, deadline["id"].as_str().unwrap());
        let noted = app.post(&path, &venue.coordinator, &json!({"note": "已通过公文交换系统报送"})).await.expect(201);
        assert_eq!(noted["note"], "已通过公文交换系统报送");
        assert_eq!(noted["file_name"], serde_json::Value::Null);
        app.post(&path, &venue.coordinator, &json!({})).await.expect_problem(422, "invalid_deliverable");

        let upload = |name: &str, bytes: Vec<u8>| {
            let form = reqwest::multipart::Form::new()
                .text("note", "总结见附件")
                .part("file", reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()).mime_str("application/pdf").unwrap());
            app.call(Method::POST, &path).token(Some(&venue.coordinator)).multipart(form).send()
        };
        let done = upload("工作总结.pdf", b"%PDF-1.4 summary".to_vec()).await.expect(201);
        assert_eq!(done["file_name"], "工作总结.pdf");
        assert_eq!(done["file_size"], 16);
        let listed = app.get(&format!("/api/v1/venues/{}/deliverables", venue.id), &venue.technician).await.expect(200);
        assert_eq!(listed.as_array().unwrap().len(), 1, "marking it done again replaces it: {listed}");
        assert_eq!(listed[0]["deadline_id"], deadline["id"]);
        assert_eq!(listed[0]["file_name"], "工作总结.pdf");

        // A program is none of the types taken, whatever its name and the browser say.
        upload("run.pdf", b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xFF\xFF\0\0".to_vec()).await.expect_problem(415, "unsupported_media_type");

        // The registration deadline is met by the list, not marked done.
        let registration = &app.get(&format!("/api/v1/events/{}/deadlines", event["id"].as_str().unwrap()), &app.admin).await.expect(200)[0];
        let reply = app.post(&format!("/api/v1/venues/{}/deliverables/{}", venue.id, registration["id"].as_str().unwrap()), &venue.coordinator, &json!({"note": "x"})).await;
        reply.expect_problem(422, "not_a_deliverable");
        app.put(&format!("/api/v1/venues/{}/registration", venue.id), &venue.coordinator, &list(attendees(1))).await.expect(200);
    }

    async fn a_deadline_of_another_event_is_not_found(app: TestApp) {
        let event = app.create_event(80).await;
        let other = app.create_event(80).await;
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        let deadline = app.post(&format!("/api/v1/events/{}/deadlines", other["id"].as_str().unwrap()), &app.admin,
            &json!({"title": "总结", "due_at": "2099-12-10T17:00:00+08:00"})).await.expect(201);
        let reply = app.request(Method::POST, &format!("/api/v1/venues/{}/deliverables/{}", venue.id, deadline["id"].as_str().unwrap()), Some(&venue.coordinator), Some(&json!({"note": "x"}))).await;
        reply.expect_problem(404, "not_found");
    }
}
