//! Before and during the meeting: each venue's video checks and the state of its video link.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::Utc;
use huichang_core::FieldError;
use huichang_core::venue::VenueView;
use huichang_core::video::{LinkStatus, VideoCheckInput};
use huichang_store::{Owned, VideoCheckView};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::api::venues;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::JsonBody;

/// Record a video check.
#[utoipa::path(post, path = "/api/v1/venues/{venue}/video-checks", tag = "door", security(("bearer" = ["admin", "organiser", "technician"])),
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
    caller.require(caller.over(&state, Owned::Venue(venue.id)).await?.may_operate_video(venue.id))?;
    let check = input
        .validate()
        .map_err(|errors| ApiError::invalid("invalid_video_check", "the video check is not valid", errors))?;
    let event = state.store.event(venue.event_id).await?.ok_or_else(|| ApiError::not_found("event"))?;
    let now = Utc::now();
    let in_window = event.event.video_check_starts_at <= now && now <= event.event.video_check_ends_at;
    Ok((StatusCode::CREATED, Json(state.store.record_video_check(venue.id, &check, in_window, &caller.actor()).await?)))
}

/// List a venue's video checks.
#[utoipa::path(get, path = "/api/v1/venues/{venue}/video-checks", tag = "door", security(("bearer" = ["admin", "organiser", "coordinator", "technician", "viewer"])),
    params(("venue" = Uuid, Path, description = "The venue id")),
    responses((status = 200, description = "Every check, newest first; the venue's status is the newest result", body = [VideoCheckView])))]
pub async fn list_checks(
    State(state): State<AppState>,
    caller: Caller,
    Path(venue): Path<String>,
) -> Result<Json<Vec<VideoCheckView>>, ApiError> {
    let venue = venues::load(&state, &venue).await?;
    caller.require(caller.over(&state, Owned::Venue(venue.id)).await?.may_read_venue(venue.event_id, venue.id))?;
    Ok(Json(state.store.video_checks(venue.id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct VideoLinkInput {
    /// `connected` (post it again as a heartbeat while the link is live) or `disconnected`.
    pub status: String,
}

/// Report the state of a venue's video link.
#[utoipa::path(post, path = "/api/v1/venues/{venue}/video-link", tag = "door", security(("bearer" = ["admin", "organiser", "technician"])),
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
    caller.require(caller.over(&state, Owned::Venue(venue.id)).await?.may_operate_video(venue.id))?;
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
