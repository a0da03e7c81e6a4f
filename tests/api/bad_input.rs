//! Bad input gets a precise problem, never a 500, and changes nothing.

use huichang_tests::{attendees, list, on_both_stores};
use reqwest::Method;
use serde_json::json;

/// The most an upload may be, whole body included (API.md: "an upload over 20 MiB → 413").
const UPLOAD_LIMIT: usize = 20 * 1024 * 1024;
const BOUNDARY: &str = "huichang-test-boundary";

/// A multipart body of exactly `size` bytes: one `file` field named `file_name`, padded with `x`.
/// The server reads the whole of it before it can tell that it is one byte too many, so its
/// answer always reaches the client.
fn upload_of_size(size: usize, file_name: &str) -> Vec<u8> {
    let head = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    );
    let tail = format!("\r\n--{BOUNDARY}--\r\n");
    let mut body = head.into_bytes();
    body.resize(size - tail.len(), b'x');
    body.extend_from_slice(tail.as_bytes());
    assert_eq!(body.len(), size);
    body
}

on_both_stores! {
    async fn an_unreadable_query_string_is_a_problem_too(app: TestApp) {
        app.get("/api/v1/events?limit=1&limit=2", &app.admin).await.expect_problem(400, "invalid_query");
        let reply = app.get("/api/v1/events?limit=0&after=x", &app.admin).await;
        reply.expect_problem(422, "invalid_query");
        assert_eq!(reply.error_fields(), ["limit", "after"]);
    }

    async fn malformed_json_and_wrong_types_are_named(app: TestApp) {
        let event = app.create_event(48).await;
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        let path = format!("/api/v1/venues/{}/registration", venue.id);

        app.raw(Method::PUT, &path, &venue.coordinator, "application/json", b"{\"technician\": ".to_vec()).await.expect_problem(400, "malformed_json");
        app.raw(Method::PUT, &path, &venue.coordinator, "application/json", Vec::new()).await.expect_problem(400, "malformed_json");
        app.raw(Method::PUT, &path, &venue.coordinator, "text/plain", b"{}".to_vec()).await.expect_problem(415, "unsupported_media_type");

        let wrong = app.put(&path, &venue.coordinator, &json!({"technician": {"name": 1, "phone": true}, "attendees": "王立"})).await;
        wrong.expect_problem(422, "invalid_registration");
        assert_eq!(wrong.error_fields(), ["technician.name", "technician.phone", "attendees"]);

        let typed = app.post("/api/v1/events", &app.admin, &json!({"title": ["not", "a", "string"]})).await;
        typed.expect_problem(422, "invalid_body");
        assert_eq!(typed.error_fields(), ["title"]);
        let nested = app.post(&format!("/api/v1/events/{}/venues", event["id"].as_str().unwrap()), &app.admin, &json!({"name": "x", "rooms": [{"name": "A", "capacity": "many"}]})).await;
        nested.expect_problem(422, "invalid_body");
        assert_eq!(nested.error_fields(), ["rooms[0].capacity"]);
        assert_eq!(app.get(&path, &app.admin).await.expect(200)["revision"], 0);
    }

    async fn invalid_ids_in_paths_are_a_400_and_unknown_ones_a_404(app: TestApp) {
        for path in ["/api/v1/events/not-a-uuid", "/api/v1/venues/123", "/api/v1/venues/%E4%B8%AD/registration"] {
            app.get(path, &app.admin).await.expect_problem(400, "invalid_id");
        }
        let unknown = "01a20000-0000-7000-8000-000000000000";
        app.get(&format!("/api/v1/events/{unknown}"), &app.admin).await.expect_problem(404, "not_found");
        app.get(&format!("/api/v1/venues/{unknown}"), &app.admin).await.expect_problem(404, "not_found");
        app.put(&format!("/api/v1/venues/{unknown}/registration"), &app.admin, &list(attendees(1))).await.expect_problem(404, "not_found");
        app.post(&format!("/api/v1/attendees/{unknown}/replace"), &app.admin, &attendees(1)[0]).await.expect_problem(404, "not_found");
        app.get("/api/v1/nowhere", &app.admin).await.expect_problem(404, "not_found");
        app.request(Method::DELETE, "/api/v1/events", Some(&app.admin), None).await.expect_problem(405, "method_not_allowed");
    }

    async fn a_body_over_2_mib_is_refused_with_413(app: TestApp) {
        let event = app.create_event(48).await;
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        let path = format!("/api/v1/venues/{}/registration", venue.id);
        let mut body = serde_json::to_vec(&list(attendees(1))).unwrap();
        body.splice(1..1, format!("\"padding\": \"{}\",", "x".repeat(2 * 1024 * 1024)).into_bytes());
        app.raw(Method::PUT, &path, &venue.coordinator, "application/json", body).await.expect_problem(413, "payload_too_large");
        assert_eq!(app.get(&path, &app.admin).await.expect(200)["revision"], 0);
    }

    async fn every_upload_over_20_mib_is_refused_with_a_413_problem(app: TestApp) {
        let event = app.create_event(48).await;
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        // Each route, and its answer to a file that is not too large but not what it takes: a
        // spreadsheet import refuses a .txt. (Submissions stream their files to storage under
        // HUICHANG_UPLOAD_MAX instead: `deliverables.rs` and `unit_deadlines.rs`.)
        let routes = [
            (format!("/api/v1/venues/{}/registration/import", venue.id), 422),
            (format!("/api/v1/events/{}/registrations/import", event["id"].as_str().unwrap()), 422),
        ];
        let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
        for (path, at_limit_status) in &routes {
            let over = app.raw(Method::POST, path, &app.admin, &content_type, upload_of_size(UPLOAD_LIMIT + 1, "list.txt")).await;
            over.expect_problem(413, "payload_too_large");
            let at_limit = app.raw(Method::POST, path, &app.admin, &content_type, upload_of_size(UPLOAD_LIMIT, "list.txt")).await;
            assert_eq!(at_limit.status, *at_limit_status, "{path}: {}", at_limit.body);
        }
        assert_eq!(app.get(&format!("/api/v1/venues/{}/registration", venue.id), &app.admin).await.expect(200)["revision"], 0);
    }

    async fn a_list_longer_than_10000_rows_is_refused(app: TestApp) {
        let event = app.create_event(48).await;
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        let reply = app.put(&format!("/api/v1/venues/{}/registration", venue.id), &venue.coordinator, &list(vec![json!({}); 10_001])).await;
        reply.expect_problem(422, "invalid_registration");
        assert_eq!(reply.error_fields(), ["attendees"]);
    }
}
