//! Each kind of token against every route that needs one, the API's and the pages', own and
//! other venue or event. The routes and who may call each come from the server's one route
//! table, so a new route cannot be left out; only the bodies are written here.

use huichang_server::routes::{Route, table};
use huichang_tests::{attendees, event_body, list, on_both_stores};
use reqwest::Method;
use serde_json::{Value, json};

/// The callers, by name; the admin comes last, so that its revocation and rotation of tokens
/// happen after the others have been refused.
const CALLERS: [&str; 12] = [
    "coordinator",
    "technician",
    "viewer",
    "coordinator_of_b",
    "technician_of_b",
    "viewer_of_other_event",
    "organiser",
    "organiser_above",
    "organiser_of_sibling",
    "organiser_below",
    "unit_viewer",
    "admin",
];

/// Whether `caller` may call `route`, by the roles the table names. The event is held by 四川 and
/// venue A is run by 攀枝花 below it. `coordinator` and `technician` are venue A's, and on an
/// event's path those of any of its venues (so venue B's); `viewer` is the event's own.
/// `organiser` is 四川's or the Ministry's above it: the event's admin, and on a unit's path
/// (`{unit}` is 四川) the unit's; `unit_viewer` reads what they reach. 攀枝花's organiser is
/// venue A's coordinator and technician, and reads the event; 广东's beside 四川 reaches nothing.
/// Every organiser and viewer lists the events it sees.
fn may_call(route: &Route, caller: &str) -> bool {
    let roles = route.callers.as_deref().unwrap_or_default();
    let names = |role: &str| roles.iter().any(|r| r == role);
    let on_event = route.path.starts_with("/api/v1/events/{event}") || route.path.starts_with("/events/{event}");
    let on_unit = route.path.contains("{unit}");
    let event_list = route.path == "/api/v1/events" && route.method == Method::GET;
    // A delegation is kept by its own coordinator (tested in delegations.rs), the event's
    // organisers and the organiser who runs the hall; no venue's token reaches it.
    if route.path.contains("{delegation}") || route.path.ends_with("/delegations") {
        let creates = route.method == Method::POST;
        return match caller {
            "admin" | "organiser" | "organiser_above" => names(caller) || names("organiser"),
            "organiser_below" => names("organiser") && !creates,
            _ => false,
        };
    }
    match caller {
        "admin" => names(caller),
        "organiser" | "organiser_above" => names("organiser"),
        "unit_viewer" => names("viewer"),
        "organiser_below" => {
            event_list || (!on_unit && names("organiser") && (names("coordinator") || names("technician")))
        }
        "organiser_of_sibling" | "viewer_of_other_event" => event_list,
        "coordinator" | "technician" | "viewer" => !on_unit && names(caller),
        "coordinator_of_b" => on_event && names("coordinator"),
        "technician_of_b" => on_event && names("technician"),
        _ => false,
    }
}

/// The body a permitted caller's request carries, where the operation takes one.
fn body(method: &Method, template: &str) -> Option<Value> {
    Some(match (method.as_str(), template) {
        ("POST", "/api/v1/events") => event_body(48),
        ("PATCH", "/api/v1/events/{event}") => json!({"arrive_minutes_before": 20}),
        ("POST", "/api/v1/events/{event}/viewer-tokens") => json!({}),
        ("POST", "/api/v1/events/{event}/venues") => {
            json!({"name": "新分会场", "kind": "branch", "contact_email": "x@example.cn"})
        }
        ("POST", "/api/v1/venues/{venue}/approval") => json!({"status": "approved"}),
        ("PUT", "/api/v1/venues/{venue}/registration") | ("PUT", "/api/v1/delegations/{delegation}/registration") => {
            list(attendees(2))
        }
        ("POST", "/api/v1/venues/{venue}/delegations") => {
            json!({"name": "大连市代表团", "min": 1, "max": 5, "contact_email": "dl@example.cn"})
        }
        ("POST", "/api/v1/attendees/{attendee}/replace") => {
            json!({"name": "赵六", "organization": "四川省教育厅", "title": "处长", "phone": "13900000009"})
        }
        ("POST", "/api/v1/events/{event}/deadlines") => {
            json!({"kind": "deliverable", "title": "活动周工作总结", "due_at": "2099-12-10T17:00:00+08:00"})
        }
        ("POST", "/api/v1/venues/{venue}/deliverables/{deadline}") => json!({"note": "已报送"}),
        ("POST", "/api/v1/venues/{venue}/video-checks") => json!({"result": "passed"}),
        ("POST", "/api/v1/venues/{venue}/video-link") => json!({"status": "connected"}),
        ("PATCH", "/api/v1/rooms/{room}") => json!({"capacity": 30}),
        ("POST", "/api/v1/rooms/{room}/checkins") => json!({"attendee_id": "{attendee}"}),
        ("POST", "/api/v1/attendees/{attendee}/attestations") => {
            json!({"key": "health_code", "at": "2021-11-22T08:00:00+08:00"})
        }
        ("POST", "/api/v1/outbox/{message}/retry") => json!({}),
        ("PUT", "/api/v1/events/{event}/agenda") => json!({"items": []}),
        ("POST", "/api/v1/events/{event}/agenda/advance") => json!({"from": null}),
        ("POST", "/api/v1/events/{event}/agenda/items/{item}/delay") => json!({"minutes": 5}),
        ("POST", "/api/v1/venues/{venue}/tokens") => json!({"role": "technician"}),
        ("POST", "/api/v1/units") | ("POST", "/api/v1/units/{unit}/units") => huichang_tests::unit_body("新单位"),
        ("POST", "/api/v1/units/{unit}/events") => event_body(48),
        ("POST", "/api/v1/units/{unit}/deadlines") => {
            json!({"title": "活动周工作总结", "due_at": "2099-12-10T17:00:00+08:00", "requires": {"text_min_chars": 300}})
        }
        ("POST", "/api/v1/units/{unit}/organiser-tokens") | ("POST", "/api/v1/units/{unit}/viewer-tokens") => json!({}),
        ("POST", "/api/v1/submissions/{submission}/review")
        | ("POST", "/api/v1/venues/{venue}/registration/review") => {
            json!({"status": "accepted"})
        }
        _ => return None,
    })
}

/// The statuses the document lists for an operation, besides those that refuse the caller.
fn documented_statuses(document: &Value, route: &Route) -> Vec<u16> {
    let responses = &document["paths"][&route.path][route.method.as_str().to_lowercase()]["responses"];
    responses.as_object().map(|r| r.keys().filter_map(|s| s.parse().ok()).collect()).unwrap_or_default()
}

/// The class of answer a caller gets: permitted, 2xx or a documented 4xx about the request
/// (never 5xx, 401 or 403); refused, exactly 403.
fn wrong_answer(permitted: bool, status: u16, documented: &[u16]) -> bool {
    if permitted {
        !((200..300).contains(&status) || ((400..500).contains(&status) && documented.contains(&status)))
            || matches!(status, 401 | 403)
    } else {
        status != 403
    }
}

/// A message of an event `unit` holds that failed for good, so that it may be retried.
async fn failed_message(app: &huichang_tests::TestApp, unit: &huichang_tests::Unit) -> String {
    let event = app.create_unit_event(unit, 80, &app.admin).await;
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
        let ministry = app.create_unit(None, "教育部职成司", &app.admin).await;
        let sichuan = app.create_unit(Some(&ministry), "四川省教育厅", &app.admin).await;
        let guangdong = app.create_unit(Some(&ministry), "广东省教育厅", &app.admin).await;
        let panzhihua = app.create_unit(Some(&sichuan), "攀枝花市教育和体育局", &app.admin).await;
        let event = app.create_unit_event(&sichuan, 48, &sichuan.organiser).await;
        let a = app.create_venue_run_by(&event, "攀枝花市分会场", 30, Some(&panzhihua)).await;
        let b = app.create_venue(&event, "成都市分会场", 30).await;
        let listed = app.put(&format!("/api/v1/venues/{}/registration", a.id), &a.coordinator, &list(attendees(2))).await.expect(200);
        let attendee = listed["attendees"][0]["id"].as_str().unwrap().to_owned();
        let viewer = app.viewer_token(&event).await;
        let other_event = app.create_event(48).await;
        let other_viewer = app.viewer_token(&other_event).await;
        let deadline = app.post(&format!("/api/v1/events/{}/deadlines", event["id"].as_str().unwrap()), &app.admin,
            &json!({"title": "工作方案", "due_at": "2099-01-01T00:00:00+08:00"})).await.expect(201);
        let message = failed_message(&app, &sichuan).await;
        let delegation = app.post(&format!("/api/v1/venues/{}/delegations", a.id), &app.admin,
            &json!({"name": "成都市代表团", "max": 5, "contact_email": "cd@example.cn"})).await.expect(201);
        // A file 四川 sent for a deadline of the Ministry: 四川's organisers and those above read it.
        let asked = app.post(&format!("/api/v1/units/{}/deadlines", ministry.id), &app.admin,
            &json!({"title": "工作总结", "due_at": "2099-01-01T00:00:00+08:00"})).await.expect(201);
        let form = reqwest::multipart::Form::new().text("text", "四川省工作总结")
            .part("file", reqwest::multipart::Part::bytes(b"%PDF-1.7 summary".to_vec()).file_name("总结.pdf"));
        let sent = app.call(Method::POST, &format!("/api/v1/units/{}/submissions/{}", sichuan.id, asked["id"].as_str().unwrap()))
            .token(Some(&sichuan.organiser)).multipart(form).send().await.expect(201);
        let file = sent["files"][0]["id"].as_str().unwrap().to_owned();
        // A submission of 攀枝花 for a deadline of 四川: 四川's organisers and those above review it.
        let set = app.post(&format!("/api/v1/units/{}/deadlines", sichuan.id), &app.admin,
            &json!({"title": "典型案例", "due_at": "2099-01-01T00:00:00+08:00"})).await.expect(201);
        let form = reqwest::multipart::Form::new().text("text", "攀枝花市典型案例");
        let submission = app.call(Method::POST, &format!("/api/v1/units/{}/submissions/{}", panzhihua.id, set["id"].as_str().unwrap()))
            .token(Some(&panzhihua.organiser)).multipart(form).send().await.expect(201);
        let submission = submission["id"].as_str().unwrap().to_owned();
        let spare = app.post(&format!("/api/v1/events/{}/viewer-tokens", event["id"].as_str().unwrap()), &app.admin, &json!({})).await.expect(201);
        let unit_viewer = app.post(&format!("/api/v1/units/{}/viewer-tokens", sichuan.id), &app.admin, &json!({})).await.expect(201);
        let unit_viewer = unit_viewer["token"].as_str().unwrap().to_owned();
        let tokens = [&a.coordinator, &a.technician, &viewer, &b.coordinator, &b.technician, &other_viewer,
            &sichuan.organiser, &ministry.organiser, &guangdong.organiser, &panzhihua.organiser, &unit_viewer, &app.admin];
        let document = app.request(Method::GET, "/api/openapi.json", None, None).await.expect(200);

        let mut routes: Vec<Route> = table().into_iter().filter(|r| r.callers.is_some()).collect();
        // Last: these revoke tokens (a spare viewer's, then venue A's technician's).
        let revokes = |r: &Route| r.path == "/api/v1/tokens/{token}" || r.path == "/api/v1/venues/{venue}/tokens";
        routes.sort_by_key(|r| (revokes(r), r.path == "/api/v1/venues/{venue}/tokens"));
        let mut failures = Vec::new();
        for route in &routes {
            let path = route.path
                .replace("{event}", event["id"].as_str().unwrap())
                .replace("{venue}", &a.id)
                .replace("{attendee}", &attendee)
                .replace("{deadline}", deadline["id"].as_str().unwrap())
                .replace("{message}", &message)
                .replace("{token}", spare["id"].as_str().unwrap())
                .replace("{room}", a.body["rooms"][0]["id"].as_str().unwrap())
                .replace("{unit}", &sichuan.id)
                .replace("{delegation}", delegation["id"].as_str().unwrap())
                .replace("{file}", &file)
                .replace("{submission}", &submission);
            let page = !route.path.starts_with("/api/");
            let documented = documented_statuses(&document, route);
            let method = Method::from_bytes(route.method.as_str().as_bytes()).unwrap();
            let filled = body(&method, &route.path).map(|b| serde_json::from_str::<Value>(&b.to_string().replace("{attendee}", &attendee)).unwrap());
            let takes_json = document["paths"][&route.path][method.as_str().to_lowercase()]["requestBody"]["content"]["application/json"].is_object();
            if takes_json && filled.is_none() {
                failures.push(format!("{method} {}: takes a JSON body, and none is written here", route.path));
            }
            for (name, token) in CALLERS.iter().zip(tokens) {
                let reply = if page {
                    app.call(method.clone(), &path).session(token).send().await
                } else {
                    app.request(method.clone(), &path, Some(token), filled.as_ref()).await
                };
                let status = reply.status.as_u16();
                if wrong_answer(may_call(route, name), status, &documented) {
                    failures.push(format!("{method} {} as {name}: {status} {}", route.path, reply.body));
                }
            }
            if page {
                continue;
            }
            let anonymous = app.request(method.clone(), &path, None, filled.as_ref()).await;
            if anonymous.status != 401 {
                failures.push(format!("{method} {} without a token: {}", route.path, anonymous.status));
            }
            // Refused as unknown, or, once that address guessed too often, as too many attempts.
            // Sent from another address: past the limit, this test's own requests would wait too.
            let unknown = app.request_from("127.0.0.2", method.clone(), &path, Some("hca_not-a-real-token"), filled.as_ref()).await;
            if unknown.status != 401 && unknown.status != 429 {
                failures.push(format!("{method} {} with an unknown token: {}", route.path, unknown.status));
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
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
