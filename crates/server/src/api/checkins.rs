//! The door on the day: admission and check-in to a room, check-out, and the attestations
//! (health code, test) an event may require before admission.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::Utc;
use huichang_core::FieldError;
use huichang_store::{AttestationView, CheckinView, Owned};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::api::rooms::load_room;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{JsonBody, id};

#[derive(Debug, Deserialize, ToSchema)]
pub struct CheckinInput {
    pub attendee_id: String,
}

/// Admit and check in an attendee.
#[utoipa::path(post, path = "/api/v1/rooms/{room}/checkins", tag = "door", security(("bearer" = ["admin", "organiser", "coordinator"])),
    params(("room" = Uuid, Path, description = "The room id")), request_body = CheckinInput,
    responses(
        (status = 201, description = "Admitted and checked in", body = CheckinView),
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
    let room_id = id(&room, "room")?;
    let attendee_id = id(&input.attendee_id, "attendee")?;
    // Every check of the door, the role included, is decided in the write itself, so that a
    // change committed a moment before is never missed.
    let grant = caller.over(&state, Owned::Room(room_id)).await?;
    let checkin = state.store.check_in(room_id, attendee_id, &grant, &caller.actor()).await?;
    Ok((StatusCode::CREATED, Json(checkin)))
}

/// Check an attendee out of a room.
#[utoipa::path(delete, path = "/api/v1/rooms/{room}/checkins/{attendee}", tag = "door", security(("bearer" = ["admin", "organiser", "coordinator"])),
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
    caller.require(caller.over(&state, Owned::Venue(room.venue_id)).await?.may_coordinate(room.venue_id))?;
    state.store.check_out(room.id, attendee_id, &caller.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// List the people inside a room.
#[utoipa::path(get, path = "/api/v1/rooms/{room}/checkins", tag = "door", security(("bearer" = ["admin", "organiser", "coordinator"])),
    params(("room" = Uuid, Path, description = "The room id")),
    responses((status = 200, description = "The people inside the room now, earliest first", body = [CheckinView])))]
pub async fn list_checkins(
    State(state): State<AppState>,
    caller: Caller,
    Path(room): Path<String>,
) -> Result<Json<Vec<CheckinView>>, ApiError> {
    let room = load_room(&state, &room).await?;
    caller.require(caller.over(&state, Owned::Venue(room.venue_id)).await?.may_coordinate(room.venue_id))?;
    Ok(Json(state.store.checkins(room.id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AttestationInput {
    /// One of the event's requirement keys.
    pub key: String,
    /// When it was shown or taken, e.g. the time of the test.
    pub at: String,
}

/// Record an attestation an event requires.
#[utoipa::path(post, path = "/api/v1/attendees/{attendee}/attestations", tag = "door", security(("bearer" = ["admin", "organiser", "coordinator"])),
    params(("attendee" = Uuid, Path, description = "The attendee id")), request_body = AttestationInput,
    responses((status = 201, description = "The attestation, recorded", body = AttestationView),
        (status = 422, description = "`invalid_attestation`: not a requirement of the event, or a bad time", body = Problem, content_type = "application/problem+json")))]
pub async fn attest(
    State(state): State<AppState>,
    caller: Caller,
    Path(attendee): Path<String>,
    JsonBody(input): JsonBody<AttestationInput>,
) -> Result<impl IntoResponse, ApiError> {
    let attendee_id = id(&attendee, "attendee")?;
    let attendee = state.store.attendee(attendee_id).await?.ok_or_else(|| ApiError::not_found("attendee"))?;
    caller.require(caller.over(&state, Owned::Venue(attendee.venue_id)).await?.may_coordinate(attendee.venue_id))?;
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
