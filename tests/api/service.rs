//! Health, readiness, metrics, the OpenAPI document and the reference page.

use huichang_tests::on_both_stores;
use reqwest::Method;

on_both_stores! {
    async fn health_readiness_and_metrics_answer_without_a_token(app: TestApp) {
        assert_eq!(app.request(Method::GET, "/healthz", None, None).await.expect(200)["status"], "ok");
        assert_eq!(app.request(Method::GET, "/readyz", None, None).await.expect(200)["status"], "ready");
        app.create_event(48).await;
        let metrics = app.request(Method::GET, "/metrics", None, None).await.text();
        assert!(metrics.contains("huichang_http_requests_total{method=\"POST\",path=\"/api/v1/events\",status=\"201\"} 1"), "{metrics}");
        assert!(metrics.contains("huichang_http_request_duration_seconds_bucket{method=\"GET\",path=\"/readyz\""));
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
