//! Health, readiness, metrics, the OpenAPI document and the reference page.

use huichang_tests::{on_both_stores, skip_unless_ci};
use reqwest::Method;
use serde_json::Value;

/// What the document lacks for a reader: an operation without a summary, a response without a
/// description (which OpenAPI requires).
fn undescribed(document: &Value) -> Vec<String> {
    let mut missing = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            if operation["summary"].as_str().is_none_or(|s| s.trim().is_empty()) {
                missing.push(format!("{method} {path}: no summary"));
            }
            for (status, response) in operation["responses"].as_object().expect("responses") {
                if response.get("$ref").is_none() && response["description"].as_str().is_none_or(str::is_empty) {
                    missing.push(format!("{method} {path} {status}: no description"));
                }
            }
        }
    }
    missing
}

/// `openapi-spec-validator`'s verdict on `document`; `None` when it is not installed.
fn validator_errors(document: &Value) -> Option<Result<(), String>> {
    let installed = std::process::Command::new("python3").args(["-c", "import openapi_spec_validator"]).status();
    if !installed.is_ok_and(|s| s.success()) {
        return None;
    }
    let file = std::env::temp_dir().join(format!("huichang-openapi-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(&file, document.to_string()).expect("write the document");
    let output = std::process::Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(&file)
        .output()
        .expect("run openapi-spec-validator");
    std::fs::remove_file(&file).ok();
    Some(if output.status.success() {
        Ok(())
    } else {
        Err(format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr)))
    })
}

on_both_stores! {
    async fn health_readiness_and_metrics_answer_without_a_token(app: TestApp) {
        assert_eq!(app.request(Method::GET, "/healthz", None, None).await.expect(200)["status"], "ok");
        assert_eq!(app.request(Method::GET, "/readyz", None, None).await.expect(200)["status"], "ready");
        app.create_event(48).await;
        let metrics = app.request(Method::GET, "/metrics", None, None).await.text();
        assert!(metrics.contains("huichang_http_requests_total{method=\"POST\",path=\"/api/v1/events\",status=\"201\"} 1"), "{metrics}");
        assert!(metrics.contains("huichang_http_request_duration_seconds_bucket{method=\"GET\",path=\"/readyz\""));
    }

    async fn metrics_say_where_a_check_ins_time_went(app: TestApp) {
        let event = app.create_event(48).await;
        let venue = app.create_venue(&event, "四川省分会场", 30).await;
        let listed = app.put(&format!("/api/v1/venues/{}/registration", venue.id), &venue.coordinator, &huichang_tests::list(huichang_tests::attendees(1))).await.expect(200);
        app.post(&format!("/api/v1/venues/{}/approval", venue.id), &venue.coordinator, &serde_json::json!({"status": "approved"})).await.expect(200);
        let room = venue.body["rooms"][0]["id"].as_str().unwrap();
        app.post(&format!("/api/v1/rooms/{room}/checkins"), &venue.coordinator, &serde_json::json!({"attendee_id": listed["attendees"][0]["id"]})).await.expect(201);
        let metrics = app.request(Method::GET, "/metrics", None, None).await.text();
        // The histograms are the process's (every server of this test process adds to them).
        for phase in ["waiting", "statements", "seats", "event_rows", "commit"] {
            let count = metrics
                .lines()
                .find_map(|line| line.strip_prefix(&format!("huichang_checkin_seconds_count{{phase=\"{phase}\"}} ")))
                .unwrap_or_else(|| panic!("no {phase} count in {metrics}"));
            assert!(count.parse::<u64>().unwrap() >= 1, "{phase}: {count}");
            assert!(metrics.contains(&format!("huichang_checkin_seconds_bucket{{phase=\"{phase}\",le=\"0.005\"}}")));
        }
    }

    async fn the_reference_page_loads_nothing_from_outside(app: TestApp) {
        let page = app.request(Method::GET, "/docs", None, None).await;
        assert_eq!(page.status, 200);
        let html = page.text();
        assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("//cdn"), "{html}");
        for asset in ["docs/swagger-ui-bundle.js", "docs/swagger-ui.css", "docs/docs.js"] {
            assert!(html.contains(asset));
            let response = app.request(Method::GET, &format!("/{asset}"), None, None).await;
            assert_eq!(response.status, 200, "{asset}");
        }
        let document = app.request(Method::GET, "/api/openapi.json", None, None).await.expect(200);
        assert_eq!(document["openapi"], "3.1.0");
        assert!(document["components"]["schemas"]["Problem"].is_object());
        assert!(document["components"]["securitySchemes"]["bearer"].is_object());
    }

    async fn the_openapi_document_is_valid_and_describes_every_operation(app: TestApp) {
        let document = app.request(Method::GET, "/api/openapi.json", None, None).await.expect(200);
        assert_eq!(undescribed(&document), Vec::<String>::new());
        match validator_errors(&document) {
            Some(verdict) => verdict.expect("openapi-spec-validator accepts the document"),
            None => skip_unless_ci("openapi-spec-validator is not installed (pip install openapi-spec-validator)"),
        }
    }

    async fn the_reference_page_keeps_no_token_and_carries_the_pages_headers(app: TestApp) {
        for path in ["/docs", "/docs/docs.js", "/docs/swagger-ui-bundle.js"] {
            let response = app.request(Method::GET, path, None, None).await;
            let headers = &response.headers;
            let csp = headers["content-security-policy"].to_str().unwrap();
            for directive in ["default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "connect-src 'self'"] {
                assert!(csp.contains(directive), "{path}: {directive} in {csp}");
            }
            assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
            assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
            assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        }
        // A token typed into the reference is not kept in the browser's storage.
        let script = app.request(Method::GET, "/docs/docs.js", None, None).await.text();
        assert!(script.contains("persistAuthorization: false"), "{script}");
        assert!(!script.contains("persistAuthorization: true"));
    }
}
