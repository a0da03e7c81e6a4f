//! Each kind of token against each endpoint, own and other venue or event. The endpoint list is
//! checked against the served OpenAPI document, so a new endpoint cannot be left out.

use std::collections::BTreeSet;

use huichang_tests::{attendees, event_body, list, on_both_stores};
use reqwest::Method;
use serde_json::{Value, json};

struct Case {
    method: Method,
    /// The OpenAPI path template, e.g. `/api/v1/venues/{venue}`.
    template: &'static str,
    body: Value,
    /// The callers that may use it, by name (see `callers` below).
    allowed: &'static [&'static str],
}

const CALLERS: [&str; 7] =
    ["admin", "coordinator", "technician", "viewer", "coordinator_of_b", "technician_of_b", "viewer_of_other_event"];

fn cases() -> Vec<Case> {
    let venue = json!({"name": "新分会场", "kind": "branch", "contact_email": "x@example.cn"});
    let replacement = json!({"name": "赵六", "organization": "四川省教育厅", "title": "处长", "phone": "13900000009"});
    let deliverable = json!({"kind": "deliverable", "title": "活动周工作总结", "due_at": "2099-12-10T17:00:00+08:00"});
    vec![
        Case { method: Method::POST, template: "/api/v1/events", body: event_body(48), allowed: &["admin"] },
        Case { method: Method::GET, template: "/api/v1/events", body: Value::Null, allowed: &["admin"] },
        Case {
            method: Method::GET,
            template: "/api/v1/events/{event}",
            body: Value::Null,
            allowed: &["admin", "coordinator", "technician", "viewer", "coordinator_of_b", "technician_of_b"],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/events/{event}/viewer-tokens",
            body: json!({}),
            allowed: &["admin"],
        },
        Case { method: Method::GET, template: "/api/v1/events/{event}/audit", body: Value::Null, allowed: &["admin"] },
        Case { method: Method::POST, template: "/api/v1/events/{event}/venues", body: venue, allowed: &["admin"] },
        Case {
            method: Method::GET,
            template: "/api/v1/events/{event}/venues",
            body: Value::Null,
            allowed: &["admin", "viewer"],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/venues/{venue}",
            body: Value::Null,
            allowed: &["admin", "coordinator", "technician", "viewer"],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/venues/{venue}/approval",
            body: json!({"status": "approved"}),
            allowed: &["admin", "coordinator"],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/venues/{venue}/registration",
            body: Value::Null,
            allowed: &["admin", "coordinator", "technician", "viewer"],
        },
        Case {
            method: Method::PUT,
            template: "/api/v1/venues/{venue}/registration",
            body: list(attendees(2)),
            allowed: &["admin", "coordinator"],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/venues/{venue}/registration/template.xlsx",
            body: Value::Null,
            allowed: &["admin", "coordinator"],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/venues/{venue}/registration/import",
            body: Value::Null,
            allowed: &["admin", "coordinator"],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/events/{event}/registrations/import",
            body: Value::Null,
            allowed: &["admin"],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/events/{event}/registrations.xlsx",
            body: Value::Null,
            allowed: &["admin"],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/events/{event}/registrations.csv",
            body: Value::Null,
            allowed: &["admin"],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/attendees/{attendee}/replace",
            body: replacement,
            allowed: &["admin", "coordinator"],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/events/{event}/deadlines",
            body: deliverable,
            allowed: &["admin"],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/events/{event}/deadlines",
            body: Value::Null,
            allowed: &["admin", "coordinator", "technician", "viewer", "coordinator_of_b", "technician_of_b"],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/venues/{venue}/deliverables/{deadline}",
            body: json!({"note": "已报送"}),
            allowed: &["admin", "coordinator"],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/venues/{venue}/deliverables",
            body: Value::Null,
            allowed: &["admin", "coordinator", "technician", "viewer"],
        },
        Case { method: Method::GET, template: "/api/v1/events/{event}/outbox", body: Value::Null, allowed: &["admin"] },
        Case {
            method: Method::GET,
            template: "/api/v1/events/{event}/dashboard",
            body: Value::Null,
            allowed: &["admin", "viewer"],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/events/{event}/live",
            body: Value::Null,
            allowed: &["admin", "viewer"],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/venues/{venue}/video-checks",
            body: json!({"result": "passed"}),
            allowed: &["admin", "technician"],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/venues/{venue}/video-checks",
            body: Value::Null,
            allowed: &["admin", "coordinator", "technician", "viewer"],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/venues/{venue}/video-link",
            body: json!({"status": "connected"}),
            allowed: &["admin", "technician"],
        },
        Case {
            method: Method::PATCH,
            template: "/api/v1/rooms/{room}",
            body: json!({"capacity": 30}),
            allowed: &["admin"],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/rooms/{room}/checkins",
            body: json!({"attendee_id": "{attendee}"}),
            allowed: &["admin", "coordinator"],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/rooms/{room}/checkins",
            body: Value::Null,
            allowed: &["admin", "coordinator"],
        },
        Case {
            method: Method::DELETE,
            template: "/api/v1/rooms/{room}/checkins/{attendee}",
            body: Value::Null,
            allowed: &["admin", "coordinator"],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/attendees/{attendee}/attestations",
            body: json!({"key": "health_code", "at": "2021-11-22T08:00:00+08:00"}),
            allowed: &["admin", "coordinator"],
        },
        Case {
            method: Method::PATCH,
            template: "/api/v1/events/{event}",
            body: json!({"arrive_minutes_before": 20}),
            allowed: &["admin"],
        },
        Case { method: Method::POST, template: "/api/v1/outbox/{message}/retry", body: json!({}), allowed: &["admin"] },
        Case { method: Method::GET, template: "/api/v1/events/{event}/tokens", body: Value::Null, allowed: &["admin"] },
        // Last: these revoke tokens (a spare viewer's, then venue A's technician's).
        Case { method: Method::DELETE, template: "/api/v1/tokens/{token}", body: Value::Null, allowed: &["admin"] },
        Case {
            method: Method::POST,
            template: "/api/v1/venues/{venue}/tokens",
            body: json!({"role": "technician"}),
            allowed: &["admin"],
        },
    ]
}

/// A message that failed for good, so that it may be retried.
async fn failed_message(app: &huichang_tests::TestApp) -> String {
    let event = app.create_event(80).await;
    app.create_venue(&event, "四川省分会场", 30).await;
    let port = huichang_tests::smtp::free_port();
    let mailer =
        huichang_notify::Mailer::new(Some(&format!("smtp://127.0.0.1:{port}")), std::path::Path::new("/nonexistent"))
            .unwrap();
    let mut settings = huichang_notify::Settings::new("http://127.0.0.1", "huichang@example.cn").unwrap();
    settings.max_attempts = 1;
    let worker = huichang_notify::Notifier::new(app.store.clone(), mailer, settings);
    let at = chrono::Utc::now() + chrono::Duration::hours(9);
    worker.plan(at).await.unwrap();
    worker.deliver(at).await.unwrap();
    let outbox =
        app.get(&format!("/api/v1/events/{}/outbox", event["id"].as_str().unwrap()), &app.admin).await.expect(200);
    outbox[0]["id"].as_str().unwrap().to_owned()
}

on_both_stores! {
    async fn every_role_reaches_exactly_what_it_may(app: TestApp) {
        let event = app.create_event(48).await;
        let a = app.create_venue(&event, "四川省分会场", 30).await;
        let b = app.create_venue(&event, "重庆市分会场", 30).await;
        let listed = app.put(&format!("/api/v1/venues/{}/registration", a.id), &a.coordinator, &list(attendees(2))).await.expect(200);
        let attendee = listed["attendees"][0]["id"].as_str().unwrap().to_owned();
        let viewer = app.viewer_token(&event).await;
        let other_event = app.create_event(48).await;
        let other_viewer = app.viewer_token(&other_event).await;
        let deadline = app.post(&format!("/api/v1/events/{}/deadlines", event["id"].as_str().unwrap()), &app.admin,
            &json!({"title": "工作方案", "due_at": "2099-01-01T00:00:00+08:00"})).await.expect(201);
        let message = failed_message(&app).await;
        let spare = app.post(&format!("/api/v1/events/{}/viewer-tokens", event["id"].as_str().unwrap()), &app.admin, &json!({})).await.expect(201);
        let tokens = [&app.admin, &a.coordinator, &a.technician, &viewer, &b.coordinator, &b.technician, &other_viewer];

        let mut failures = Vec::new();
        for case in cases() {
            let path = case.template
                .replace("{event}", event["id"].as_str().unwrap())
                .replace("{venue}", &a.id)
                .replace("{attendee}", &attendee)
                .replace("{deadline}", deadline["id"].as_str().unwrap())
                .replace("{message}", &message)
                .replace("{token}", spare["id"].as_str().unwrap())
                .replace("{room}", a.body["rooms"][0]["id"].as_str().unwrap());
            let filled: Value = serde_json::from_str(&case.body.to_string().replace("{attendee}", &attendee)).unwrap();
            let body = (!filled.is_null()).then_some(&filled);
            for (name, token) in CALLERS.iter().zip(tokens) {
                let status = app.request(case.method.clone(), &path, Some(token), body).await.status.as_u16();
                let allowed = case.allowed.contains(name);
                // Refused: 401, 403, or 429 once a revoked token has been tried too often from here.
                if allowed == matches!(status, 401 | 403 | 429) {
                    failures.push(format!("{} {} as {name}: {status}", case.method, case.template));
                }
            }
            let anonymous = app.request(case.method.clone(), &path, None, body).await;
            if anonymous.status != 401 {
                failures.push(format!("{} {} without a token: {}", case.method, case.template, anonymous.status));
            }
            // Refused as unknown, or, once that address guessed too often, as too many attempts.
            // Sent from another address: past the limit, this test's own requests would wait too.
            let unknown = app.request_from("127.0.0.2", case.method.clone(), &path, Some("hca_not-a-real-token"), body).await;
            if unknown.status != 401 && unknown.status != 429 {
                failures.push(format!("{} {} with an unknown token: {}", case.method, case.template, unknown.status));
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }

    async fn the_matrix_covers_every_documented_endpoint(app: TestApp) {
        let document = app.request(Method::GET, "/api/openapi.json", None, None).await.expect(200);
        let documented: BTreeSet<String> = document["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, operations)| operations.as_object().unwrap().keys().map(move |m| format!("{} {path}", m.to_uppercase())))
            .collect();
        let tested: BTreeSet<String> = cases().iter().map(|c| format!("{} {}", c.method, c.template)).collect();
        assert_eq!(documented, tested);
    }

    async fn repeated_failed_authentication_is_slowed_down(app: TestApp) {
        let mut last = 0;
        for _ in 0..25 {
            last = app.request(Method::GET, "/api/v1/events", Some("hca_guess"), None).await.status.as_u16();
        }
        assert_eq!(last, 429);
        let reply = app.get("/api/v1/events", "hca_another-guess").await;
        reply.expect_problem(429, "too_many_attempts");
        assert!(reply.headers["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
        // The limit is asked before the token is looked up: past it, no token is even tried,
        // so a guess cannot succeed there, and a valid token waits like the others.
        app.get("/api/v1/events", &app.admin).await.expect_problem(429, "too_many_attempts");
        // Another client is not affected.
        app.request_from("127.0.0.2", Method::GET, "/api/v1/events", Some(&app.admin), None).await.expect(200);
    }
}
