//! Deadlines, deliverables and the email outbox.

use axum::Json;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::StatusCode;
use axum::response::{AppendHeaders, IntoResponse};
use huichang_core::FieldError;
use huichang_core::deadline::{DeadlineInput, DeadlineKind, DeadlineView};
use huichang_core::review::{ReviewInput, ReviewStatus};
use huichang_store::{DeliverableView, MessageOwner, OutboxView, Owned};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::api::{events, venues};
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{JsonBody, PageQuery, Query, id, next_link};
use crate::http::{is_multipart, multipart_error};
use crate::upload;

/// Set a deadline.
#[utoipa::path(post, operation_id = "create_deadline", path = "/api/v1/events/{event}/deadlines", tag = "deadlines", security(("bearer" = ["admin", "organiser"])),
    params(("event" = Uuid, Path, description = "The event id")), request_body = DeadlineInput,
    responses((status = 201, description = "The deadline", body = DeadlineView),
        (status = 422, description = "`invalid_deadline`: every bad field named", body = Problem, content_type = "application/problem+json")))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(event): Path<String>,
    JsonBody(input): JsonBody<DeadlineInput>,
) -> Result<impl IntoResponse, ApiError> {
    let event = events::load(&state, &event).await?;
    let event_id = event.id;
    caller.require(caller.over(&state, Owned::Event(event_id)).await?.is_admin())?;
    let new = input
        .validate()
        .map_err(|errors| ApiError::invalid("invalid_deadline", "the deadline is not valid", errors))?;
    let deadline = state.store.create_deadline(event_id, &new, &caller.actor()).await?;
    Ok((StatusCode::CREATED, Json(deadline.view(event.event.timezone))))
}

/// List an event's deadlines.
#[utoipa::path(get, operation_id = "list_deadlines", path = "/api/v1/events/{event}/deadlines", tag = "deadlines", security(("bearer" = ["admin", "organiser", "coordinator", "technician", "viewer"])),
    params(("event" = Uuid, Path, description = "The event id")),
    responses((status = 200, description = "The event's deadlines by due time: registration, video_check and deliverables", body = [DeadlineView])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(event): Path<String>,
) -> Result<Json<Vec<DeadlineView>>, ApiError> {
    let event = events::load(&state, &event).await?;
    let event_id = event.id;
    caller.require(caller.over(&state, Owned::Event(event_id)).await?.may_read_event(event_id))?;
    let deadlines = state.store.deadlines(event_id).await?;
    Ok(Json(deadlines.iter().map(|d| d.view(event.event.timezone)).collect()))
}

/// List a venue's handed-in deliverables.
#[utoipa::path(get, path = "/api/v1/venues/{venue}/deliverables", tag = "deadlines", security(("bearer" = ["admin", "organiser", "coordinator", "technician", "viewer"])),
    params(("venue" = Uuid, Path, description = "The venue id")),
    responses((status = 200, description = "The venue's current submission of each deliverable, with its files and review (a returned one too)", body = [DeliverableView])))]
pub async fn list_done(
    State(state): State<AppState>,
    caller: Caller,
    Path(venue): Path<String>,
) -> Result<Json<Vec<DeliverableView>>, ApiError> {
    let venue = venues::load(&state, &venue).await?;
    caller.require(caller.over(&state, Owned::Venue(venue.id)).await?.may_read_venue(venue.event_id, venue.id))?;
    Ok(Json(state.store.deliverables(venue.id).await?))
}

/// `POST /api/v1/venues/{venue}/deliverables/{deadline}` as JSON: a text only.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct DeliverableNote {
    /// What was delivered and how (up to 100,000 characters).
    pub note: Option<String>,
}

/// Hand in a deliverable: a text and any number of files.
#[utoipa::path(post, path = "/api/v1/venues/{venue}/deliverables/{deadline}", tag = "deadlines", security(("bearer" = ["admin", "organiser", "coordinator"])),
    params(("venue" = Uuid, Path, description = "The venue id"), ("deadline" = Uuid, Path, description = "A deliverable deadline of the venue's event")),
    request_body(content = DeliverableNote, description = "`multipart/form-data` with a `text` field (or v1's `note`) and any number of `file` parts \
        (images, PDF, office documents, mp4; each streamed to storage, at most `HUICHANG_UPLOAD_MAX` and four times that together, \
        at most 200 files), or JSON with a `note` only. A new submission replaces the previous one, which stays in the audit log."),
    responses((status = 201, description = "The submission, as the deliverable: v1's `note`, `file_name`, `file_size`, `done_at` \
            beside `id`, `text`, `files`, `status` and `submitted_at`", body = DeliverableView),
        (status = 413, description = "`payload_too_large`: a file larger than `HUICHANG_UPLOAD_MAX`, too many files or too much text, named", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: a file that is none of the types taken, named", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_deliverable` (a text or a file is needed) or `not_a_deliverable`", body = Problem, content_type = "application/problem+json")))]
pub async fn complete(
    State(state): State<AppState>,
    caller: Caller,
    Path((venue, deadline)): Path<(String, String)>,
    request: Request,
) -> Result<impl IntoResponse, ApiError> {
    let venue = venues::load(&state, &venue).await?;
    let deadline_id = id(&deadline, "deadline")?;
    let deadline = state
        .store
        .deadline(deadline_id)
        .await?
        .filter(|d| d.event_id == venue.event_id)
        .ok_or_else(|| ApiError::not_found("deadline"))?;
    caller.require(caller.over(&state, Owned::Venue(venue.id)).await?.may_coordinate(venue.id))?;
    if deadline.deadline.kind != DeadlineKind::Deliverable {
        return Err(ApiError::invalid(
            "not_a_deliverable",
            "the registration and video-check deadlines are met by the list and the video check, not marked done",
            vec![FieldError::new("deadline", "is not a deliverable")],
        ));
    }
    let received = if is_multipart(request.headers()) {
        let mut form = Multipart::from_request(request, &state).await.map_err(multipart_error)?;
        upload::receive(state.store.as_ref(), &mut form, state.upload_max).await?
    } else {
        let JsonBody(body) = JsonBody::<DeliverableNote>::from_request(request, &state).await?;
        upload::Received { text: body.note.unwrap_or_default(), files: Vec::new() }
    };
    let blobs: Vec<_> = received.files.iter().map(|f| f.blob_id).collect();
    let text = match note(&received.text) {
        Ok(text) if !text.is_empty() || !received.files.is_empty() => text,
        refused => {
            upload::discard(state.store.as_ref(), &blobs).await;
            refused?;
            return Err(ApiError::invalid(
                "invalid_deliverable",
                "send a text, a file, or both",
                vec![FieldError::new("note", "a text or a file is required")],
            ));
        }
    };
    let submitted = state.store.submit_venue(&deadline, venue.id, &text, &received.files, &caller.actor()).await;
    match submitted {
        Ok(done) => Ok((StatusCode::CREATED, Json(done))),
        Err(error) => {
            upload::discard(state.store.as_ref(), &blobs).await;
            Err(error.into())
        }
    }
}

/// `POST /api/v1/submissions/{submission}/review` of a venue's deliverable: its event's
/// organisers accept it or return it; a returned one emails its contact the comment with a link
/// that signs its coordinator in.
pub async fn review_venue(
    state: AppState,
    caller: Caller,
    submission: uuid::Uuid,
    input: ReviewInput,
) -> Result<axum::response::Response, ApiError> {
    let submission =
        state.store.venue_submission(submission).await?.ok_or_else(|| ApiError::not_found("submission"))?;
    let venue = venues::load(&state, &submission.sent_by.to_string()).await?;
    caller.require(caller.over(&state, Owned::Event(venue.event_id)).await?.is_admin())?;
    let review = crate::api::valid_review(input)?;
    if !submission.current {
        return Err(huichang_store::StoreError::SubmissionReplaced.into());
    }
    let letter = match review.status {
        ReviewStatus::Returned => {
            let deadline =
                state.store.deadline(submission.deadline_id).await?.ok_or_else(|| ApiError::not_found("submission"))?;
            let deliverable = Some((deadline.id, deadline.deadline.title.as_str()));
            Some(venues::returned_letter(&state, &venue, deliverable, &review.comment, submission.id).await?)
        }
        ReviewStatus::Accepted => None,
    };
    let reviewed =
        state.store.review_venue_submission(submission.id, &review, letter.as_ref(), &caller.actor()).await?;
    Ok(Json(reviewed).into_response())
}

/// A deliverable's text: a summary of many pages is far less.
const TEXT_CHARS: usize = 100_000;

fn note(raw: &str) -> Result<String, ApiError> {
    huichang_core::field::optional_text(Some(raw), TEXT_CHARS).map_err(|m| {
        ApiError::invalid("invalid_deliverable", "the text is not valid", vec![FieldError::new("note", m)])
    })
}

/// List an event's outgoing emails.
#[utoipa::path(get, path = "/api/v1/events/{event}/outbox", tag = "deadlines", security(("bearer" = ["admin", "organiser"])),
    params(("event" = Uuid, Path, description = "The event id"), PageQuery),
    responses((status = 200, description = "Every email of the event, oldest first", body = [OutboxView])))]
pub async fn outbox(
    State(state): State<AppState>,
    caller: Caller,
    Path(event): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let event = events::load(&state, &event).await?;
    let event_id = event.id;
    caller.require(caller.over(&state, Owned::Event(event_id)).await?.is_admin())?;
    let page = query.page()?;
    let messages = state.store.outbox(event_id, page).await?;
    let link =
        next_link(&format!("/api/v1/events/{event_id}/outbox"), page, messages.len(), messages.last().map(|m| m.id));
    Ok((AppendHeaders(link), Json(messages)))
}

/// List the emails of the deadlines a unit set: the reminders to the units below and its digests.
#[utoipa::path(get, operation_id = "unit_outbox", path = "/api/v1/units/{unit}/outbox", tag = "units", security(("bearer" = ["admin", "organiser"])),
    params(("unit" = Uuid, Path, description = "The unit that set the deadlines (an organiser of it or above)"), PageQuery),
    responses((status = 200, description = "Oldest first; a failed one is sent again with `POST /api/v1/outbox/{message}/retry`", body = [OutboxView])))]
pub async fn unit_outbox(
    State(state): State<AppState>,
    caller: Caller,
    Path(unit): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let unit = crate::api::units::load_unit(&state, &unit).await?;
    caller.require(caller.grant.may_organise_unit(&unit.path))?;
    let page = query.page()?;
    let messages = state.store.unit_outbox(unit.id, page).await?;
    let link =
        next_link(&format!("/api/v1/units/{}/outbox", unit.id), page, messages.len(), messages.last().map(|m| m.id));
    Ok((AppendHeaders(link), Json(messages)))
}

/// Send a failed email again.
#[utoipa::path(post, path = "/api/v1/outbox/{message}/retry", tag = "deadlines", security(("bearer" = ["admin", "organiser"])),
    params(("message" = Uuid, Path, description = "The message id")),
    responses((status = 200, description = "Queued again, with a fresh count of attempts and the same Message-ID", body = OutboxView),
        (status = 409, description = "`not_failed`: only a failed message (given up, or possibly sent without a reply) can be retried", body = Problem, content_type = "application/problem+json")))]
pub async fn retry(
    State(state): State<AppState>,
    caller: Caller,
    Path(message): Path<String>,
) -> Result<Json<OutboxView>, ApiError> {
    let message_id = id(&message, "message")?;
    let owner = state.store.message_owner(message_id).await?.ok_or_else(|| ApiError::not_found("message"))?;
    let allowed = match owner {
        MessageOwner::Event(event_id) => caller.over(&state, Owned::Event(event_id)).await?.is_admin(),
        // A unit deadline's message: the organisers of the unit that set it, and above.
        MessageOwner::Unit { unit_id, .. } => {
            let unit = state.store.unit(unit_id).await?.ok_or_else(|| ApiError::not_found("message"))?;
            caller.grant.may_organise_unit(&unit.path)
        }
    };
    caller.require(allowed)?;
    Ok(Json(state.store.retry_message(message_id, &caller.actor()).await?))
}
