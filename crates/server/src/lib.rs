//! The HTTP face of huichang: the JSON API, problem+json errors, service endpoints and the
//! OpenAPI document. [`app`] builds the router; [`serve`] runs it until shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use huichang_store::Store;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

pub mod api;
pub mod auth;
pub mod error;
pub mod extract;
pub mod http;
pub mod live;
pub mod metrics;
pub mod openapi;
pub mod pages;
pub mod routes;
pub mod service;
pub mod sweeper;
pub mod upload;

use error::ApiError;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    /// Base of the links in emails the API queues.
    pub public_url: String,
    pub metrics: Arc<metrics::Metrics>,
    /// Failed sign-ins per client: 20 at once, then one every 3 s; past that, 429.
    pub failed_auth: Arc<auth::FailedSignIns>,
    /// Changes per token other than the admin's: 300 in 10 s, then 429.
    pub writes: Arc<auth::Limiter<uuid::Uuid>>,
    /// Set when the server is shutting down: live-feed clients are told to reconnect.
    pub closing: Arc<tokio::sync::watch::Sender<bool>>,
    pub hub: Arc<live::Hub>,
    /// The sub-path the app is served under, from the public URL (`https://x.cn/huichang` → `/huichang`).
    pub base_path: String,
    /// Silence after which a connected video link is lost; the technician page beats faster.
    pub video_link_timeout: Duration,
    /// Reverse proxies whose `X-Forwarded-For` names the client, for the audit log and the limits.
    pub trusted_proxies: Arc<auth::TrustedProxies>,
    pub sheet_limits: Arc<api::sheets::SheetLimits>,
    /// The largest file a submission takes (`HUICHANG_UPLOAD_MAX`).
    pub upload_max: u64,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, public_url: &str) -> Self {
        let public_url = public_url.trim_end_matches('/').to_owned();
        AppState {
            base_path: base_path(&public_url),
            store,
            public_url,
            video_link_timeout: Duration::from_secs(60),
            trusted_proxies: Arc::default(),
            metrics: Arc::default(),
            failed_auth: Arc::new(auth::FailedSignIns::new(std::num::NonZeroU32::new(20).expect("20 is not zero"))),
            writes: Arc::new(auth::Limiter::new(300, Duration::from_secs(10))),
            closing: Arc::new(tokio::sync::watch::Sender::new(false)),
            hub: Arc::default(),
            sheet_limits: Arc::default(),
            upload_max: 500 << 20,
        }
    }
}

pub fn app(state: AppState) -> Router {
    let (api, _) = routes::api().split_for_parts();
    api.merge(service::routes().into_router())
        .merge(service::docs_router())
        .merge(pages::router())
        .fallback(|| async { ApiError::not_found("page or endpoint") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this method is not allowed here")
        })
        .layer(DefaultBodyLimit::max(http::JSON_LIMIT))
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
        .layer(axum::middleware::from_fn(time_limit))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// A request is answered within 30 s (503 otherwise), but for a submission's upload (a unit's or
/// a venue's deliverable), which may take many minutes on a slow line: it waits a minute at most
/// for each piece of its body (`upload.rs`) instead.
async fn time_limit(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::response::IntoResponse;
    let path = request.uri().path();
    let upload = (path.starts_with("/api/v1/units/") && path.contains("/submissions/"))
        || (path.starts_with("/api/v1/venues/") && path.contains("/deliverables/"));
    if request.method() == axum::http::Method::POST && upload {
        return next.run(request).await;
    }
    match tokio::time::timeout(Duration::from_secs(30), next.run(request)).await {
        Ok(response) => response,
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// Serves `app` on `listener` until `shutdown` resolves; in-flight requests finish first.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (closing, hub) = (state.closing.clone(), state.hub.clone());
    let shutdown = async move {
        shutdown.await;
        closing.send_replace(true);
    };
    axum::serve(listener, app(state).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await?;
    // Live-feed clients were told to reconnect; give their close frames a moment to leave.
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    while hub.open_connections() > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// The path part of the public URL (`https://x.cn/huichang` → `/huichang`): where the pages live.
fn base_path(public_url: &str) -> String {
    let path = public_url.split_once("://").and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..])).unwrap_or("");
    path.trim_end_matches('/').to_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_public_url_path_is_where_the_pages_live() {
        for (url, base) in
            [("http://127.0.0.1:8080", ""), ("https://edu.example.cn/huichang/", "/huichang"), ("https://x.cn/", "")]
        {
            assert_eq!(super::base_path(url), base, "{url}");
        }
    }
}
