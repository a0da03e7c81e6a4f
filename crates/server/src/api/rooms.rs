//! A room's seats: the capacity the door admits up to, and the cut when it shrinks.

use axum::Json;
use axum::extract::{Path, State};
use huichang_core::FieldError;
use huichang_store::{CapacityChange, Owned, RoomRef};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{JsonBody, id};

/// A room by its id from the path, or the right 400/404.
pub(crate) async fn load_room(state: &AppState, raw: &str) -> Result<RoomRef, ApiError> {
    let room_id = id(raw, "room")?;
    state.store.room(room_id).await?.ok_or_else(|| ApiError::not_found("room"))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RoomPatch {
    /// Seats of the room (1–100000).
    pub capacity: i64,
}

/// Change a room's capacity.
#[utoipa::path(patch, path = "/api/v1/rooms/{room}", tag = "door", security(("bearer" = ["admin", "organiser"])),
    params(("room" = Uuid, Path, description = "The room id")), request_body = RoomPatch,
    responses((status = 200, description = "When the venue's capacity falls below its on-site attendees, the excess moves to \
        online participation by category (`public`, then `delegate`, `press`, `guest`), the most recently added first in each, \
        and each is emailed the live-stream notice. Nothing is deleted; people inside stay inside.", body = CapacityChange),
        (status = 409, description = "`capacity_below_required`: more leaders, speakers, awardees and staff are on site than the \
        seats (`required` says how many); nothing changes", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_room`", body = Problem, content_type = "application/problem+json")))]
pub async fn set_capacity(
    State(state): State<AppState>,
    caller: Caller,
    Path(room): Path<String>,
    JsonBody(input): JsonBody<RoomPatch>,
) -> Result<Json<CapacityChange>, ApiError> {
    let room = load_room(&state, &room).await?;
    caller.require(caller.over(&state, Owned::Venue(room.venue_id)).await?.is_admin())?;
    if !(1..=huichang_core::event::MAX_CAPACITY).contains(&input.capacity) {
        return Err(ApiError::invalid(
            "invalid_room",
            "the room is not valid",
            vec![FieldError::new("capacity", format!("must be between 1 and {}", huichang_core::event::MAX_CAPACITY))],
        ));
    }
    let notice = |event: &huichang_core::event::Event, moved: huichang_store::Moved<'_>| match moved {
        huichang_store::Moved::Person(name) => huichang_notify::render::online_notice(event, name),
        huichang_store::Moved::WithoutEmail { venue, names } => {
            huichang_notify::render::moved_online_digest(event, venue, names)
        }
    };
    Ok(Json(state.store.set_room_capacity(room.id, input.capacity, &caller.actor(), &notice).await?))
}
