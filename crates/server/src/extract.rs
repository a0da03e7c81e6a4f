//! Request parts read the way this API wants its errors: problem+json naming what was wrong.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

use crate::error::ApiError;
use huichang_core::FieldError;
use huichang_store::Page;

/// The body as a JSON value: 413 past the size limit, 415 for a non-JSON type, 400 when it
/// does not parse.
pub struct JsonValue(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonValue {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type =
            request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("application/json");
        let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        if essence != "application/json" && !essence.ends_with("+json") {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!("send JSON (application/json), not {essence}"),
            ));
        }
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "the body is larger than the 2 MiB a JSON request may be",
                )
            } else {
                ApiError::new(StatusCode::BAD_REQUEST, "unreadable_body", rejection.body_text())
            }
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                "the body is empty; send a JSON object",
            ));
        }
        serde_json::from_slice(&bytes).map(JsonValue).map_err(|e| {
            ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", format!("the body is not valid JSON: {e}"))
        })
    }
}

/// The body as `T`: like [`JsonValue`], then 422 naming the field of the wrong type.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let JsonValue(value) = JsonValue::from_request(request, state).await?;
        typed(value).map(JsonBody)
    }
}

pub fn typed<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { "body".to_owned() } else { path };
        let message = e.into_inner().to_string();
        ApiError::invalid(
            "invalid_body",
            "the body does not have the expected shape",
            vec![FieldError::new(field, message)],
        )
    })
}

/// A UUID from the path; a malformed one is a 400 naming the parameter.
pub fn id(raw: &str, name: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_id", format!("'{raw}' is not a valid {name} id (a UUID)"))
            .with("errors", serde_json::json!([{"field": name, "message": "must be a UUID"}]))
    })
}

/// `?limit=N&after=<id>`.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// At most this many items (1–10000, default 10000).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 10000)]
    pub limit: Option<String>,
    /// Continue after this id (the last one of the previous page).
    #[param(value_type = Option<uuid::Uuid>)]
    pub after: Option<String>,
}

impl PageQuery {
    pub fn page(&self) -> Result<Page, ApiError> {
        let mut errors = Vec::new();
        let limit = match self.limit.as_deref().map(str::parse::<i64>) {
            None => Page::MAX,
            Some(Ok(n)) if (1..=Page::MAX).contains(&n) => n,
            Some(_) => {
                errors.push(FieldError::new("limit", format!("must be a number from 1 to {}", Page::MAX)));
                Page::MAX
            }
        };
        let after = match self.after.as_deref() {
            None | Some("") => None,
            Some(raw) => {
                Uuid::parse_str(raw).map_err(|_| errors.push(FieldError::new("after", "must be an id (UUID)"))).ok()
            }
        };
        if errors.is_empty() {
            Ok(Page { limit, after })
        } else {
            Err(ApiError::invalid("invalid_query", "the query parameters are not valid", errors))
        }
    }
}

/// A `Link: <…>; rel="next"` header when a page came back full.
pub fn next_link(path: &str, page: Page, count: usize, last: Option<Uuid>) -> Option<(header::HeaderName, String)> {
    match last {
        Some(last) if count as i64 == page.limit => {
            Some((header::LINK, format!("<{path}?limit={}&after={last}>; rel=\"next\"", page.limit)))
        }
        _ => None,
    }
}

/// Query parameters; a query string that cannot be read at all (a repeated field, say) is a
/// 400 problem like every other error, not plain text.
pub struct Query<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state).await.map(|query| Query(query.0)).map_err(
            |rejection| ApiError::new(axum::http::StatusCode::BAD_REQUEST, "invalid_query", rejection.body_text()),
        )
    }
}
