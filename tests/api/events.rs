use huichang_tests::{event_body, on_both_stores};
use reqwest::Method;
use serde_json::json;

on_both_stores! {
    async fn an_event_answers_in_its_own_time_zone(app: TestApp) {
        let mut body = event_body(48);
        body["registration_deadline"] = json!("2021-11-20T08:00:00Z");
        body["starts_at"] = json!("2021-11-23T10:00:00+08:00");
        body["ends_at"] = json!("2021-11-23T11:30:00+08:00");
        body["video_check"] = json!({"starts_at": "2021-11-22T09:30:00+08:00", "ends_at": "2021-11-22T11:30:00+08:00"});
        let created = app.post("/api/v1/events", &app.admin, &body).await;
        assert_eq!(created.headers["location"].to_str().unwrap(), format!("/api/v1/events/{}", created.body["id"].as_str().unwrap()));
        let event = created.expect(201);
        assert_eq!(event["registration_deadline"], "2021-11-20T16:00:00+08:00");
        let read = app.get(&format!("/api/v1/events/{}", event["id"].as_str().unwrap()), &app.admin).await.expect(200);
        assert_eq!(read, event);
    }

    async fn every_bad_event_field_is_named_and_nothing_is_created(app: TestApp) {
        let mut body = event_body(48);
        body["timezone"] = json!("Mars/Olympus");
        body["ends_at"] = body["starts_at"].clone();
        body["registration_deadline"] = json!("2099-01-01T00:00:00+08:00");
        body["default_capacity"] = json!(0);
        body.as_object_mut().unwrap().remove("organizer_email");
        let reply = app.post("/api/v1/events", &app.admin, &body).await;
        reply.expect_problem(422, "invalid_event");
        assert_eq!(reply.error_fields(), ["timezone", "default_capacity", "organizer_email", "ends_at", "registration_deadline"]);
        assert_eq!(app.get("/api/v1/events", &app.admin).await.expect(200), json!([]));
    }

    async fn changing_the_dates_moves_the_event_deadlines(app: TestApp) {
        let event = app.create_event(48).await;
        let path = format!("/api/v1/events/{}", event["id"].as_str().unwrap());
        let moved = app.request(Method::PATCH, &path, Some(&app.admin), Some(&json!({"registration_deadline": "2099-01-01T16:00:00+08:00", "starts_at": "2099-01-05T10:00:00+08:00", "ends_at": "2099-01-05T11:30:00+08:00", "video_check": {"starts_at": "2099-01-04T09:30:00+08:00", "ends_at": "2099-01-04T11:30:00+08:00"}}))).await.expect(200);
        assert_eq!(moved["registration_deadline"], "2099-01-01T16:00:00+08:00");
        assert_eq!(moved["title"], event["title"]);
        let deadlines = app.get(&format!("{path}/deadlines"), &app.admin).await.expect(200);
        assert_eq!(deadlines[0]["due_at"], "2099-01-01T16:00:00+08:00");
        assert_eq!(deadlines[1]["reminders_from"], "2099-01-04T09:30:00+08:00");

        let bad = app.request(Method::PATCH, &path, Some(&app.admin), Some(&json!({"ends_at": "2099-01-05T09:00:00+08:00", "timezone": "Nowhere"}))).await;
        bad.expect_problem(422, "invalid_event");
        assert_eq!(bad.error_fields(), ["timezone", "ends_at"]);
        assert_eq!(app.get(&path, &app.admin).await.expect(200), moved);
    }

    async fn events_page_with_a_next_link(app: TestApp) {
        for _ in 0..3 {
            app.create_event(48).await;
        }
        let first = app.get("/api/v1/events?limit=2", &app.admin).await;
        let link = first.headers["link"].to_str().unwrap().to_owned();
        let page = first.expect(200);
        assert_eq!(page.as_array().unwrap().len(), 2);
        let last = page[1]["id"].as_str().unwrap();
        assert_eq!(link, format!("</api/v1/events?limit=2&after={last}>; rel=\"next\""));
        let rest = app.get(&format!("/api/v1/events?limit=2&after={last}"), &app.admin).await;
        assert!(rest.headers.get("link").is_none());
        assert_eq!(rest.expect(200).as_array().unwrap().len(), 1);
        app.get("/api/v1/events?limit=0", &app.admin).await.expect_problem(422, "invalid_query");
        app.get("/api/v1/events?after=nope", &app.admin).await.expect_problem(422, "invalid_query");
    }
}
