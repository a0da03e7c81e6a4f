//! Liveness, readiness, metrics, the OpenAPI document and the browsable reference.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse};
use serde_json::json;

use crate::AppState;
use crate::error::ApiError;
use crate::routes::Table;

/// The process is up.
pub async fn healthz() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

/// The database answers and every migration is applied.
pub async fn readyz(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    match state.store.ready().await {
        Ok(()) => Ok(Json(json!({"status": "ready"}))),
        Err(error) => {
            tracing::warn!(%error, "not ready");
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_ready",
                "the database is not reachable or not migrated",
            )
            .retry(2))
        }
    }
}

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.render())
}

pub async fn openapi() -> impl IntoResponse {
    Json(crate::openapi::document())
}

/// Liveness, readiness, metrics and the OpenAPI document: open to anyone, as a probe needs.
pub fn routes() -> Table {
    Table::default().get("/healthz", &[], healthz).get("/readyz", &[], readyz).get("/metrics", &[], metrics).get(
        "/api/openapi.json",
        &[],
        openapi,
    )
}

/// The browsable reference and its files.
pub fn docs() -> Table {
    Table::default().get("/docs", &[], docs_page).get("/docs/{file}", &[], docs_asset)
}

/// The reference and its files, with the same security headers as the pages: a token typed
/// into it must not leak through a frame, a sniffed file or a `Referer`.
pub fn docs_router() -> axum::Router<AppState> {
    docs().into_router().layer(axum::middleware::from_fn(crate::pages::security_headers))
}

/// Swagger UI, served from the binary: officials often work on intranets without internet.
async fn docs_page() -> Html<&'static str> {
    Html(include_str!("../assets/docs.html"))
}

async fn docs_asset(axum::extract::Path(file): axum::extract::Path<String>) -> Result<impl IntoResponse, ApiError> {
    let (body, content_type): (&'static [u8], &str) = match file.as_str() {
        "swagger-ui-bundle.js" => {
            (include_bytes!("../assets/swagger-ui/swagger-ui-bundle.js"), "text/javascript; charset=utf-8")
        }
        "swagger-ui.css" => (include_bytes!("../assets/swagger-ui/swagger-ui.css"), "text/css; charset=utf-8"),
        "docs.js" => (include_bytes!("../assets/docs.js"), "text/javascript; charset=utf-8"),
        _ => return Err(ApiError::not_found("file")),
    };
    Ok(([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=86400")], body))
}
