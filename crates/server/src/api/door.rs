//! The day of the meeting: video checks, the video link, admission, check-in and capacity.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::Utc;
use huichang_core::FieldError;
use huichang_core::door::{LinkStatus, Refusal, VideoCheckInput};
use huichang_core::venue::VenueView;
use huichang_store::{AttestationView, CapacityChange, CheckinView, NewMessage, RoomRef, StoreError, VideoCheckView};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::api::venues;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{JsonBody, id};

#[utoipa::path(post, path = "/api/v1/venues/{venue}/video-checks", tag = "door",
    params(("venue" = Uuid, Path, description = "The venue id")), request_body = VideoCheckInput,
    responses((status = 201, description = "The check; `in_window` says whether it was made inside the event's video-check window", body = VideoCheckView),
        (status = 422, description = "`invalid_video_check`", body = Problem, content_type = "application/problem+json")))]
pub async fn record_check(
    State(state): State<AppState>,
    caller: Caller,
    Path(venue): Path<String>,
    JsonBody(input): JsonBody<VideoCheckInput>,
) -> Result<impl IntoResponse, ApiError> {
    let venue = venues::load(&state, &venue).await?;
    caller.require(caller.grant.may_operate_video(venue.id))?;
    let check = input
        .validate()
        .map_err(|errors| ApiError::invalid("invalid_video_check", "the video check is not valid", errors))?;
    let event = state.store.event(venue.event_id).await?.ok_or_else(|| ApiError::not_found("event"))?;
    let now = Utc::now();
    let in_window = event.event.video_check_starts_at <= now && now <= event.event.video_check_ends_at;
    Ok((StatusCode::CREATED, Json(state.store.record_video_check(venue.id, &check, in_window, &caller.actor()).await?)))
}

#[utoipa::path(get, path = "/api/v1/venues/{venue}/video-checks", tag = "door",
    params(("venue" = Uuid, Path, description = "The venue id")),
    responses((status = 200, description = "Every check, newest first; the venue's status is the newest result", body = [VideoCheckView])))]
pub async fn list_checks(
    State(state): State<AppState>,
    caller: Caller,
    Path(venue): Path<String>,
) -> Result<Json<Vec<VideoCheckView>>, ApiError> {
    let venue = venues::load(&state, &venue).await?;
    caller.require(caller.grant.may_read_venue(venue.event_id, venue.id))?;
    Ok(Json(state.store.video_checks(venue.id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct VideoLinkInput {
    /// `connected` (post it again as a heartbeat while the link is live) or `disconnected`.
    pub status: String,
}

#[utoipa::path(post, path = "/api/v1/venues/{venue}/video-link", tag = "door",
    params(("venue" = Uuid, Path, description = "The venue id")), request_body = VideoLinkInput,
    responses((status = 200, description = "The venue with its `video_link`. A connected link that hears nothing for the \
        configured timeout (default 60 s) becomes `lost` by itself.", body = VenueView),
        (status = 422, description = "`invalid_video_link`", body = Problem, content_type = "application/problem+json")))]
pub async fn video_link(
    State(state): State<AppState>,
    caller: Caller,
    Path(venue): Path<String>,
    JsonBody(input): JsonBody<VideoLinkInput>,
) -> Result<Json<VenueView>, ApiError> {
    let venue = venues::load(&state, &venue).await?;
    caller.require(caller.grant.may_operate_video(venue.id))?;
    let status = match input.status.trim() {
        "connected" => LinkStatus::Connected,
        "disconnected" => LinkStatus::Disconnected,
        other => {
            return Err(ApiError::invalid(
                "invalid_video_link",
                "the video link status is not valid",
                vec![FieldError::new("status", format!("'{other}' is neither connected nor disconnected"))],
            ));
        }
    };
    Ok(Json(state.store.set_video_link(venue.id, status, &caller.actor()).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CheckinInput {
    pub attendee_id: String,
}

/// A room by its id from the path, or the right 400/404.
async fn load_room(state: &AppState, raw: &str) -> Result<RoomRef, ApiError> {
    let room_id = id(raw, "room")?;
    state.store.room(room_id).await?.ok_or_else(|| ApiError::not_found("room"))
}

#[utoipa::path(post, path = "/api/v1/rooms/{room}/checkins", tag = "door",
    params(("room" = Uuid, Path, description = "The room id")), request_body = CheckinInput,
    responses(
        (status = 201, body = CheckinView),
        (status = 404, description = "unknown attendee or room", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`not_registered_here`: another venue's, replaced, removed or online attendee", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`venue_not_approved`, `requirement_not_met` (with `missing`), `already_checked_in` (inside any room) or `room_full`, checked in this order", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn check_in(
    State(state): State<AppState>,
    caller: Caller,
    Path(room): Path<String>,
    JsonBody(input): JsonBody<CheckinInput>,
) -> Result<impl IntoResponse, ApiError> {
    let room = load_room(&state, &room).await?;
    let attendee_id = id(&input.attendee_id, "attendee")?;
    let attendee = state.store.attendee(attendee_id).await?.ok_or_else(|| ApiError::not_found("attendee"))?;
    caller.require(caller.grant.may_coordinate(room.venue_id))?;
    // The list, the approval, the requirements and the seat are decided in the write itself, so
    // that a change committed a moment before is never missed.
    let checkin = state.store.check_in(room.id, attendee.id, &caller.actor()).await.map_err(refused)?;
    Ok((StatusCode::CREATED, Json(checkin)))
}

/// The door's refusals before a seat, as the API names them.
fn refused(error: StoreError) -> ApiError {
    let StoreError::Refused(refusal) = error else { return error.into() };
    let detail = refusal.to_string();
    match refusal {
        Refusal::NotRegisteredHere(_) => ApiError::invalid("not_registered_here", detail, Vec::new()),
        Refusal::VenueNotApproved => ApiError::new(StatusCode::CONFLICT, "venue_not_approved", detail),
        Refusal::RequirementNotMet(missing) => {
            ApiError::new(StatusCode::CONFLICT, "requirement_not_met", detail).with("missing", missing)
        }
    }
}

#[utoipa::path(delete, path = "/api/v1/rooms/{room}/checkins/{attendee}", tag = "door",
    params(("room" = Uuid, Path, description = "The room id"), ("attendee" = Uuid, Path, description = "The attendee id")),
    responses((status = 204, description = "Checked out; the seat is free again"),
        (status = 409, description = "`not_checked_in`: the attendee is not inside this room", body = Problem, content_type = "application/problem+json")))]
pub async fn check_out(
    State(state): State<AppState>,
    caller: Caller,
    Path((room, attendee)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let room = load_room(&state, &room).await?;
    let attendee_id = id(&attendee, "attendee")?;
    state.store.attendee(attendee_id).await?.ok_or_else(|| ApiError::not_found("attendee"))?;
    caller.require(caller.grant.may_coordinate(room.venue_id))?;
    state.store.check_out(room.id, attendee_id, &caller.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/rooms/{room}/checkins", tag = "door",
    params(("room" = Uuid, Path, description = "The room id")),
    responses((status = 200, description = "The people inside the room now, earliest first", body = [CheckinView])))]
pub async fn list_checkins(
    State(state): State<AppState>,
    caller: Caller,
    Path(room): Path<String>,
) -> Result<Json<Vec<CheckinView>>, ApiError> {
    let room = load_room(&state, &room).await?;
    caller.require(caller.grant.may_coordinate(room.venue_id))?;
    Ok(Json(state.store.checkins(room.id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AttestationInput {
    /// One of the event's requirement keys.
    pub key: String,
    /// When it was shown or taken, e.g. the time of the test.
    pub at: String,
}

#[utoipa::path(post, path = "/api/v1/attendees/{attendee}/attestations", tag = "door",
    params(("attendee" = Uuid, Path, description = "The attendee id")), request_body = AttestationInput,
    responses((status = 201, body = AttestationView),
        (status = 422, description = "`invalid_attestation`: not a requirement of the event, or a bad time", body = Problem, content_type = "application/problem+json")))]
pub async fn attest(
    State(state): State<AppState>,
    caller: Caller,
    Path(attendee): Path<String>,
    JsonBody(input): JsonBody<AttestationInput>,
) -> Result<impl IntoResponse, ApiError> {
    let attendee_id = id(&attendee, "attendee")?;
    let attendee = state.store.attendee(attendee_id).await?.ok_or_else(|| ApiError::not_found("attendee"))?;
    caller.require(caller.grant.may_coordinate(attendee.venue_id))?;
    let event = state.store.event(attendee.event_id).await?.ok_or_else(|| ApiError::not_found("event"))?;
    let mut errors = Vec::new();
    let key = input.key.trim();
    if !event.event.requirements.iter().any(|r| r.key == key) {
        let keys: Vec<&str> = event.event.requirements.iter().map(|r| r.key.as_str()).collect();
        errors
            .push(FieldError::new("key", format!("'{key}' is not a requirement of this event ({})", keys.join(", "))));
    }
    let at = huichang_core::event::instant(&input.at).map_err(|m| errors.push(FieldError::new("at", m))).ok();
    if let Some(at) = at
        && at > Utc::now() + chrono::Duration::minutes(5)
    {
        errors.push(FieldError::new("at", "must not be in the future"));
    }
    match at {
        Some(at) if errors.is_empty() => {
            Ok((StatusCode::CREATED, Json(state.store.add_attestation(attendee.id, key, at, &caller.actor()).await?)))
        }
        _ => Err(ApiError::invalid("invalid_attestation", "the attestation is not valid", errors)),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RoomPatch {
    /// Seats of the room (1–100000).
    pub capacity: i64,
}

#[utoipa::path(patch, path = "/api/v1/rooms/{room}", tag = "door",
    params(("room" = Uuid, Path, description = "The room id")), request_body = RoomPatch,
    responses((status = 200, description = "When the venue's capacity falls below its on-site attendees, the excess moves to \
        online participation (most recently added first) and each is emailed the live-stream notice. Nothing is deleted; \
        people inside stay inside.", body = CapacityChange),
        (status = 422, description = "`invalid_room`", body = Problem, content_type = "application/problem+json")))]
pub async fn set_capacity(
    State(state): State<AppState>,
    caller: Caller,
    Path(room): Path<String>,
    JsonBody(input): JsonBody<RoomPatch>,
) -> Result<Json<CapacityChange>, ApiError> {
    let room = load_room(&state, &room).await?;
    caller.require(caller.grant.is_admin())?;
    if !(1..=huichang_core::event::MAX_CAPACITY).contains(&input.capacity) {
        return Err(ApiError::invalid(
            "invalid_room",
            "the room is not valid",
            vec![FieldError::new("capacity", format!("must be between 1 and {}", huichang_core::event::MAX_CAPACITY))],
        ));
    }
    let public_url = state.public_url.clone();
    let notice = move |event: &huichang_core::event::Event, person: &huichang_store::MovedOnline| {
        let email = person.email.clone()?;
        let mail = huichang_notify::render::online_notice(event, &person.name, &public_url);
        Some(NewMessage {
            event_id: event.id,
            dedupe_key: String::new(),
            kind: "online_notice".into(),
            deadline_id: None,
            venue_id: None,
            recipient: email,
            subject: mail.subject,
            body_text: mail.text,
            body_html: mail.html,
        })
    };
    Ok(Json(state.store.set_room_capacity(room.id, input.capacity, &caller.actor(), &notice).await?))
}
