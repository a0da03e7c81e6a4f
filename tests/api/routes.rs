//! The router and the OpenAPI document agree: every documented operation is routed, and the
//! router answers nothing under the API that the document leaves out.

use std::collections::BTreeSet;

use huichang_server::routes::table;
use huichang_tests::on_both_stores;
use reqwest::Method;
use serde_json::Value;

const METHODS: [Method; 5] = [Method::GET, Method::PUT, Method::POST, Method::DELETE, Method::PATCH];

/// Each documented operation as `METHOD /path/{template}`.
fn documented(document: &Value) -> BTreeSet<(String, String)> {
    document["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object().expect("a path item").keys().map(move |method| (method.to_uppercase(), path.clone()))
        })
        .collect()
}

/// `template` with each `{name}` replaced: `{event}` by `event`, any other by a fresh id.
fn filled(template: &str, event: &str) -> String {
    template
        .split('/')
        .map(|segment| match segment {
            "{event}" => event.to_owned(),
            s if s.starts_with('{') => uuid::Uuid::new_v4().to_string(),
            s => s.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[test]
fn the_route_table_lists_the_documented_operations_and_nothing_else_under_the_api() {
    let document = serde_json::to_value(huichang_server::openapi::document()).unwrap();
    let routes = table();
    let api: BTreeSet<(String, String)> = routes
        .iter()
        .filter(|r| r.path.starts_with("/api/") && r.path != "/api/openapi.json")
        .map(|r| (r.method.to_string(), r.path.clone()))
        .collect();
    assert_eq!(api, documented(&document));
    let unique: BTreeSet<(String, &str)> = routes.iter().map(|r| (r.method.to_string(), r.path.as_str())).collect();
    assert_eq!(unique.len(), routes.len(), "a route is declared twice");
}

on_both_stores! {
    async fn every_documented_operation_is_routed_and_no_other_method_is(app: TestApp) {
        let event = app.create_event(48).await;
        let event = event["id"].as_str().unwrap();
        let document = app.request(Method::GET, "/api/openapi.json", None, None).await.expect(200);
        let operations = documented(&document);
        let mut failures = Vec::new();
        for (method, template) in &operations {
            let path = filled(template, event);
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            let reply = app.request(method.clone(), &path, None, None).await;
            if reply.status != 401 || reply.body["code"] != "unauthorized" {
                failures.push(format!("{method} {template} without a token: {} {}", reply.status, reply.body));
            }
        }
        let paths: BTreeSet<&String> = operations.iter().map(|(_, path)| path).collect();
        for template in paths {
            for method in METHODS.iter().filter(|m| !operations.contains(&(m.to_string(), template.clone()))) {
                let reply = app.request(method.clone(), &filled(template, event), None, None).await;
                if reply.status != 405 || reply.body["code"] != "method_not_allowed" {
                    failures.push(format!("{method} {template}, undocumented: {} {}", reply.status, reply.body));
                }
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }

    async fn every_route_outside_the_api_is_served(app: TestApp) {
        let document = app.request(Method::GET, "/api/openapi.json", None, None).await.expect(200);
        let operations = documented(&document);
        let event = app.create_event(48).await;
        let mut failures = Vec::new();
        for route in table().iter().filter(|r| !operations.contains(&(r.method.to_string(), r.path.clone()))) {
            let path = filled(&route.path, event["id"].as_str().unwrap());
            let reply = app.request(route.method.clone(), &path, None, None).await;
            // The router's own answers for what it does not serve.
            if reply.status == 405 || reply.body["detail"].as_str().is_some_and(|d| d.contains("page or endpoint")) {
                failures.push(format!("{} {}: {} {}", route.method, route.path, reply.status, reply.body));
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }
}
