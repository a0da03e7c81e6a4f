//! Deadlines, deliverables and the email outbox.

use axum::Json;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::StatusCode;
use axum::response::{AppendHeaders, IntoResponse};
use huichang_core::FieldError;
use huichang_core::deadline::{DeadlineInput, DeadlineKind, DeadlineView};
use huichang_store::{DeliverableDone, DeliverableView, MessageOwner, OutboxView, Owned, UploadedFile};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::api::{events, venues};
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{JsonBody, PageQuery, Query, id, next_link};
use crate::http::{is_multipart, multipart_error};

/// What a deliverable may be uploaded as: documents, spreadsheets, slides, images, archives.
const FILE_TYPES: [&str; 16] = [
    "pdf", "doc", "docx", "xls", "xlsx", "ods", "odt", "ppt", "pptx", "wps", "jpg", "jpeg", "png", "zip", "txt", "csv",
];

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
    responses((status = 200, description = "The deliverables the venue has marked done", body = [DeliverableView])))]
pub async fn list_done(
    State(state): State<AppState>,
    caller: Caller,
    Path(venue): Path<String>,
) -> Result<Json<Vec<DeliverableView>>, ApiError> {
    let venue = venues::load(&state, &venue).await?;
    caller.require(caller.over(&state, Owned::Venue(venue.id)).await?.may_read_venue(venue.event_id, venue.id))?;
    Ok(Json(state.store.deliverables(venue.id).await?))
}

/// `POST /api/v1/venues/{venue}/deliverables/{deadline}` as JSON.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct DeliverableNote {
    /// What was delivered and how (up to 2000 characters).
    pub note: Option<String>,
}

/// Hand in a deliverable.
#[utoipa::path(post, path = "/api/v1/venues/{venue}/deliverables/{deadline}", tag = "deadlines", security(("bearer" = ["admin", "organiser", "coordinator"])),
    params(("venue" = Uuid, Path, description = "The venue id"), ("deadline" = Uuid, Path, description = "A deliverable deadline of the venue's event")),
    request_body(content = DeliverableNote, description = "JSON with a `note`, or `multipart/form-data` with `note` and a `file` \
        (pdf, doc(x), xls(x), ods, odt, ppt(x), wps, jpg, png, zip, txt or csv; at most 20 MiB). Marking it done again replaces both."),
    responses((status = 201, description = "The deliverable, handed in", body = DeliverableView),
        (status = 422, description = "`invalid_deliverable` (a note or a file is needed; file type) or `not_a_deliverable`", body = Problem, content_type = "application/problem+json")))]
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
    let done = if is_multipart(request.headers()) {
        read_multipart(Multipart::from_request(request, &state).await.map_err(multipart_error)?).await?
    } else {
        let JsonBody(body) = JsonBody::<DeliverableNote>::from_request(request, &state).await?;
        DeliverableDone { note: note(body.note.as_deref())?, file: None }
    };
    if done.note.is_empty() && done.file.is_none() {
        return Err(ApiError::invalid(
            "invalid_deliverable",
            "send a note, a file, or both",
            vec![FieldError::new("note", "a note or a file is required")],
        ));
    }
    Ok((
        StatusCode::CREATED,
        Json(state.store.complete_deliverable(deadline.id, venue.id, &done, &caller.actor()).await?),
    ))
}

fn note(raw: Option<&str>) -> Result<String, ApiError> {
    huichang_core::field::optional_text(raw, 2000).map_err(|m| {
        ApiError::invalid("invalid_deliverable", "the note is not valid", vec![FieldError::new("note", m)])
    })
}

async fn read_multipart(mut form: Multipart) -> Result<DeliverableDone, ApiError> {
    let mut done = DeliverableDone { note: String::new(), file: None };
    while let Some(field) = form.next_field().await.map_err(multipart_error)? {
        match field.name() {
            Some("note") => done.note = note(Some(&field.text().await.map_err(multipart_error)?))?,
            Some("file") => {
                let name = field.file_name().unwrap_or("upload").to_owned();
                let extension = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
                if !FILE_TYPES.contains(&extension.as_str()) {
                    return Err(ApiError::invalid(
                        "invalid_deliverable",
                        "this kind of file is not accepted",
                        vec![FieldError::new("file", format!("'{name}': use one of {}", FILE_TYPES.join(", ")))],
                    ));
                }
                let content_type = field.content_type().unwrap_or("application/octet-stream").to_owned();
                let bytes = field.bytes().await.map_err(multipart_error)?.to_vec();
                done.file = Some(UploadedFile { name, content_type, bytes });
            }
            _ => {}
        }
    }
    Ok(done)
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
