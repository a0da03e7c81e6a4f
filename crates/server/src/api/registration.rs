//! A venue's attendee list, and replacements.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use huichang_core::FieldError;
use huichang_core::registration::{self, AttendeeBody, AttendeeView, RegistrationView, SubmissionBody};
use huichang_core::venue::VenueView;

use huichang_core::review::{ReviewInput, ReviewStatus};
use huichang_store::Owned;

use crate::AppState;
use crate::api::venues;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{JsonValue, id};

/// Read a venue's attendee list.
#[utoipa::path(get, operation_id = "get_registration", path = "/api/v1/venues/{venue}/registration", tag = "registration", security(("bearer" = ["admin", "organiser", "coordinator", "technician", "viewer"])),
    params(("venue" = Uuid, Path, description = "The venue id")),
    responses((status = 200, description = "Before the first submission: no attendees, revision 0. \
        Technicians and viewers see phones masked (138****2345).", body = RegistrationView)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(venue): Path<String>,
) -> Result<Json<RegistrationView>, ApiError> {
    let venue = venues::load(&state, &venue).await?;
    let grant = caller.over(&state, Owned::Venue(venue.id)).await?;
    caller.require(grant.may_read_venue(venue.event_id, venue.id))?;
    let list = state.store.registration(venue.id).await?;
    Ok(Json(if grant.sees_phones_of(venue.id) { list } else { list.masked() }))
}

/// Replace a venue's attendee list.
#[utoipa::path(put, path = "/api/v1/venues/{venue}/registration", tag = "registration", security(("bearer" = ["admin", "organiser", "coordinator"])),
    params(("venue" = Uuid, Path, description = "The venue id")), request_body = SubmissionBody,
    responses(
        (status = 200, description = "The stored list. An identical resend changes nothing and keeps `revision`.", body = RegistrationView),
        (status = 409, description = "`deadline_passed` (a coordinator after the registration deadline; checked before the rows)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_registration` with every bad row in `errors`, or `over_capacity`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn put(
    State(state): State<AppState>,
    caller: Caller,
    Path(venue): Path<String>,
    JsonValue(body): JsonValue,
) -> Result<Json<RegistrationView>, ApiError> {
    let venue = venues::load(&state, &venue).await?;
    caller.require(caller.over(&state, Owned::Venue(venue.id)).await?.may_coordinate(venue.id))?;
    Ok(Json(submit(&state, &caller, &venue, &body, &|error| error).await?))
}

/// Whether the registration deadline has passed; after it, a coordinator is refused with 409
/// `deadline_passed` (an admin may still submit, and the list is then marked late).
pub async fn refuse_after_deadline(state: &AppState, caller: &Caller, venue: &VenueView) -> Result<bool, ApiError> {
    let event = state.store.event(venue.event_id).await?.ok_or_else(|| ApiError::not_found("event"))?;
    let closed = event.registration_closed(chrono::Utc::now());
    if closed && !caller.over(state, Owned::Venue(venue.id)).await?.is_admin() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "deadline_passed",
            format!(
                "the registration deadline ({}) has passed; ask the organiser to submit the list",
                event.view().registration_deadline.format("%Y-%m-%d %H:%M UTC%:z")
            ),
        ));
    }
    Ok(closed)
}

/// Stores `body` as the venue's whole list by the rules of `PUT …/registration`: a coordinator
/// after the deadline is refused before the rows are read, then every bad row is reported
/// (each passed through `locate`, which may point it at a spreadsheet cell) and nothing is stored.
pub async fn submit(
    state: &AppState,
    caller: &Caller,
    venue: &VenueView,
    body: &serde_json::Value,
    locate: &(dyn Fn(FieldError) -> FieldError + Sync),
) -> Result<RegistrationView, ApiError> {
    let closed = refuse_after_deadline(state, caller, venue).await?;
    let submission = registration::parse_submission(body).map_err(|errors| {
        ApiError::invalid(
            "invalid_registration",
            format!("{} problem(s) in the list; nothing was stored", errors.len()),
            errors.into_iter().map(locate).collect(),
        )
    })?;
    Ok(state.store.submit_registration(venue.id, &submission, closed, &caller.actor()).await?)
}

/// Send a replacement for an attendee.
#[utoipa::path(post, path = "/api/v1/attendees/{attendee}/replace", tag = "registration", security(("bearer" = ["admin", "organiser", "coordinator"])),
    params(("attendee" = Uuid, Path, description = "The attendee to replace")), request_body = AttendeeBody,
    responses(
        (status = 201, description = "The new attendee; the old one stays with status `replaced`. Left out, `participation` \
            is the replaced attendee's.", body = AttendeeView),
        (status = 409, description = "`already_replaced`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_registration`, or `over_capacity` when a replacement on site would bring \
            the venue more on-site attendees than its `capacity` (someone a capacity cut moved online replaced by someone \
            on site)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    Path(attendee): Path<String>,
    JsonValue(body): JsonValue,
) -> Result<impl IntoResponse, ApiError> {
    let attendee_id = id(&attendee, "attendee")?;
    let attendee = state.store.attendee(attendee_id).await?.ok_or_else(|| ApiError::not_found("attendee"))?;
    caller.require(caller.over(&state, Owned::Venue(attendee.venue_id)).await?.may_coordinate(attendee.venue_id))?;
    let mut errors = Vec::new();
    let replacement = registration::parse_attendee(&body, |field, message| {
        errors.push(huichang_core::FieldError::new(field, message))
    });
    let replacement = match replacement {
        Some(r) if errors.is_empty() => r,
        _ => {
            return Err(ApiError::invalid("invalid_registration", "the replacement is not valid", errors));
        }
    };
    let created = state.store.replace_attendee(attendee.id, &replacement, &caller.actor()).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Accept a venue's list, or return it with a comment.
#[utoipa::path(post, operation_id = "review_registration", path = "/api/v1/venues/{venue}/registration/review", tag = "registration",
    security(("bearer" = ["admin", "organiser"])),
    params(("venue" = Uuid, Path, description = "The venue; the organisers of its event review its list")),
    request_body = ReviewInput,
    responses(
        (status = 200, description = "The list with its `review`. A returned list counts as not sent (the dashboard, the overview and \
            the reminders), its venue's contact is emailed the comment with a link that signs its coordinator in, until a new \
            list comes", body = RegistrationView),
        (status = 404, description = "The venue has sent no list yet", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_review`: every bad field named (a return needs its comment)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn review(
    State(state): State<AppState>,
    caller: Caller,
    Path(venue): Path<String>,
    crate::extract::JsonBody(input): crate::extract::JsonBody<ReviewInput>,
) -> Result<Json<RegistrationView>, ApiError> {
    let venue = venues::load(&state, &venue).await?;
    caller.require(caller.over(&state, Owned::Event(venue.event_id)).await?.is_admin())?;
    let review = crate::api::valid_review(input)?;
    let letter = match review.status {
        ReviewStatus::Returned => Some(venues::returned_letter(&state, &venue, None, &review.comment, venue.id).await?),
        ReviewStatus::Accepted => None,
    };
    let reviewed = state.store.review_registration(venue.id, &review, letter.as_ref(), &caller.actor()).await.map_err(
        |error| match error {
            huichang_store::StoreError::NotFound => ApiError::not_found("registration"),
            other => other.into(),
        },
    )?;
    Ok(Json(reviewed))
}
