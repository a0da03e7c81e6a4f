//! One error type for every handler, answered as `application/problem+json` (RFC 9457).
//! Details of a 5xx go to the log, never to the client.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use huichang_core::FieldError;
use huichang_core::admission::Refusal;
use huichang_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    pub errors: Vec<FieldError>,
    /// Extra members of the problem object (`capacity`, `onsite`, …).
    pub extra: serde_json::Map<String, serde_json::Value>,
    pub retry_after: Option<u64>,
}

/// The problem+json body, as described in the OpenAPI document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem kind: `urn:huichang:problem:<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable code, e.g. `invalid_registration`, `deadline_passed`.
    pub code: String,
    /// Every bad field and row, for validation errors.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            detail: detail.into(),
            errors: Vec::new(),
            extra: Default::default(),
            retry_after: None,
        }
    }

    pub fn invalid(code: &'static str, detail: impl Into<String>, errors: Vec<FieldError>) -> Self {
        ApiError { errors, ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail) }
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("no such {what}"))
    }

    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "this token may not touch this resource")
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    pub fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.extra.insert(key.to_owned(), value.into());
        self
    }

    pub fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server could not complete the request; it has been logged",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => ApiError::not_found("resource"),
            StoreError::Refused(refusal) => refusal.into(),
            StoreError::MainVenueExists => {
                ApiError::new(StatusCode::CONFLICT, "main_venue_exists", "the event already has a main venue")
            }
            StoreError::VenueNameTaken(name) => ApiError::invalid(
                "invalid_venue",
                "the venue is not valid",
                vec![FieldError::new("name", format!("the event already has a venue named '{name}'"))],
            ),
            StoreError::OverCapacity(over) => ApiError::invalid(
                "over_capacity",
                format!(
                    "{} attendees on site, but the venue has {} seats; mark some online or shorten the list",
                    over.onsite, over.capacity
                ),
                Vec::new(),
            )
            .with("capacity", over.capacity)
            .with("onsite", over.onsite),
            StoreError::OverQuota { max, count } => ApiError::invalid(
                "over_quota",
                format!("{count} people on the list, but the delegation may send at most {max}; shorten the list"),
                Vec::new(),
            )
            .with("max", max)
            .with("count", count),
            StoreError::InvalidSubmission(errors) => ApiError::invalid(
                "invalid_submission",
                format!("the submission breaks {} rule(s) of its deadline; nothing was stored", errors.len()),
                errors,
            ),
            StoreError::SubmissionReplaced => ApiError::new(
                StatusCode::CONFLICT,
                "submission_replaced",
                "the unit has sent a newer submission since; review that one",
            ),
            StoreError::AgendaMoved => ApiError::new(
                StatusCode::CONFLICT,
                "agenda_moved",
                "the show has moved on since you looked (another director pressed first); nothing was changed",
            ),
            StoreError::DelegationNameTaken(name) => ApiError::invalid(
                "invalid_delegation",
                "the delegation is not valid",
                vec![FieldError::new("name", format!("the venue already has a delegation named '{name}'"))],
            ),
            StoreError::NotCheckedIn => {
                ApiError::new(StatusCode::CONFLICT, "not_checked_in", "the attendee is not checked in to this room")
            }
            StoreError::NotFailed => {
                ApiError::new(StatusCode::CONFLICT, "not_failed", "only a failed message can be queued again")
            }
            StoreError::AlreadyRevoked => {
                ApiError::new(StatusCode::CONFLICT, "already_revoked", "this token was already revoked")
            }
            StoreError::CapacityBelowRequired { required } => ApiError::new(
                StatusCode::CONFLICT,
                "capacity_below_required",
                format!(
                    "{required} people on site never move online (leaders, speakers, awardees and staff): \
                     keep at least {required} seats, or change their category or participation first"
                ),
            )
            .with("required", required),
            StoreError::AlreadyReplaced => {
                ApiError::new(StatusCode::CONFLICT, "already_replaced", "this attendee was already replaced")
            }
            StoreError::AlreadyOnList(name) => ApiError::invalid(
                "invalid_registration",
                "the replacement is not valid",
                vec![FieldError::new(
                    "phone",
                    format!(
                        "{name} is already on the list (the same phone, or the same organisation where a phone is missing)"
                    ),
                )],
            ),
            e if e.is_unavailable() => {
                tracing::warn!(error = %e, "database unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the database is not reachable; try again shortly",
                )
                .retry(2)
            }
            other => ApiError::internal(other),
        }
    }
}

/// The door's refusals (`admission::admit`), as the API names them.
impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        let detail = refusal.to_string();
        match refusal {
            Refusal::Unknown(what) => ApiError::not_found(what),
            Refusal::NotPermitted => ApiError::forbidden(),
            Refusal::NotRegisteredHere(_) => ApiError::invalid("not_registered_here", detail, Vec::new()),
            Refusal::VenueNotApproved => ApiError::new(StatusCode::CONFLICT, "venue_not_approved", detail),
            Refusal::RequirementNotMet(missing) => {
                ApiError::new(StatusCode::CONFLICT, "requirement_not_met", detail).with("missing", missing)
            }
            Refusal::AlreadyCheckedIn => ApiError::new(StatusCode::CONFLICT, "already_checked_in", detail),
            Refusal::RoomFull => ApiError::new(StatusCode::CONFLICT, "room_full", detail),
        }
    }
}

impl ApiError {
    pub fn retry(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let title = self.status.canonical_reason().unwrap_or("Error");
        let mut body = serde_json::json!({
            "type": format!("urn:huichang:problem:{}", self.code),
            "title": title,
            "status": self.status.as_u16(),
            "detail": self.detail,
            "code": self.code,
        });
        if !self.errors.is_empty() {
            body["errors"] = serde_json::to_value(&self.errors).unwrap_or_default();
        }
        if let Some(object) = body.as_object_mut() {
            object.extend(self.extra);
        }
        let mut response = (self.status, body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
