//! Venues, their rooms and tokens, and the local approval.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse};
use huichang_core::role::Role;
use huichang_core::venue::{ApprovalInput, Runner, VenueInput, VenueView};
use huichang_store::{Owned, Store, VenueTokens};
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::api::events;
use crate::auth::{Caller, hash_token, new_token};
use crate::error::{ApiError, Problem};
use crate::extract::{JsonBody, PageQuery, Query, id, next_link};

/// A new venue with its two tokens, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedVenue {
    #[serde(flatten)]
    pub venue: VenueView,
    /// For the branch venue's coordinator (分会场联络人): the list, approval, check-in.
    pub coordinator_token: String,
    /// For the venue's video-test technician (视频调试负责人).
    pub technician_token: String,
    /// The coordinator's sign-in link (it carries the token): opens the coordinator page.
    pub coordinator_link: String,
    /// The technician's sign-in link (it carries the token): opens the technician page.
    pub technician_link: String,
}

/// Add a venue to an event.
#[utoipa::path(post, operation_id = "create_venue", path = "/api/v1/events/{event}/venues", tag = "venues", security(("bearer" = ["admin", "organiser"])),
    params(("event" = Uuid, Path, description = "The event id")), request_body = VenueInput,
    responses(
        (status = 201, description = "The venue with its new tokens", body = CreatedVenue),
        (status = 409, description = "`main_venue_exists`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_venue`: every bad field named", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(event): Path<String>,
    JsonBody(input): JsonBody<VenueInput>,
) -> Result<impl IntoResponse, ApiError> {
    let event = events::load(&state, &event).await?;
    let event_id = event.id;
    caller.require(caller.over(&state, Owned::Event(event_id)).await?.is_admin())?;
    let runner = runner_path(state.store.as_ref(), &input).await?;
    let runner = Runner { path: runner.as_deref(), event_unit: event.unit_id };
    let new = input
        .validate(event.event.default_capacity, runner)
        .map_err(|errors| ApiError::invalid("invalid_venue", "the venue is not valid", errors))?;
    let coordinator_token = new_token(Role::Coordinator);
    let technician_token = new_token(Role::Technician);
    let tokens = VenueTokens {
        coordinator_hash: hash_token(&coordinator_token),
        technician_hash: hash_token(&technician_token),
    };
    let venue = state.store.create_venue(event_id, &new, &tokens, &caller.actor()).await?;
    let location = format!("/api/v1/venues/{}", venue.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(CreatedVenue {
            coordinator_link: sign_in_link(&state.public_url, &coordinator_token, &format!("/venues/{}", venue.id)),
            technician_link: sign_in_link(&state.public_url, &technician_token, &format!("/venues/{}/video", venue.id)),
            venue,
            coordinator_token,
            technician_token,
        }),
    ))
}

/// List an event's venues.
#[utoipa::path(get, operation_id = "list_venues", path = "/api/v1/events/{event}/venues", tag = "venues", security(("bearer" = ["admin", "organiser", "viewer"])),
    params(("event" = Uuid, Path, description = "The event id"), PageQuery),
    responses((status = 200, description = "The event's venues in the order they were made (admin, viewer)", body = [VenueView])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(event): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let event = events::load(&state, &event).await?;
    let event_id = event.id;
    caller.require(caller.over(&state, Owned::Event(event_id)).await?.may_list_venues(event_id))?;
    let page = query.page()?;
    let venues = state.store.venues(event_id, page).await?;
    let link = next_link(&format!("/api/v1/events/{event_id}/venues"), page, venues.len(), venues.last().map(|v| v.id));
    Ok((AppendHeaders(link), Json(venues)))
}

/// Read a venue.
#[utoipa::path(get, operation_id = "get_venue", path = "/api/v1/venues/{venue}", tag = "venues", security(("bearer" = ["admin", "organiser", "coordinator", "technician", "viewer"])),
    params(("venue" = Uuid, Path, description = "The venue id")),
    responses((status = 200, description = "The venue", body = VenueView), (status = 404, description = "`not_found`: no such venue", body = Problem, content_type = "application/problem+json")))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(venue): Path<String>,
) -> Result<Json<VenueView>, ApiError> {
    let venue = load(&state, &venue).await?;
    caller.require(caller.over(&state, Owned::Venue(venue.id)).await?.may_read_venue(venue.event_id, venue.id))?;
    Ok(Json(venue))
}

/// Approve or return a venue's list.
#[utoipa::path(post, path = "/api/v1/venues/{venue}/approval", tag = "venues", security(("bearer" = ["admin", "organiser", "coordinator"])),
    params(("venue" = Uuid, Path, description = "The venue id")), request_body = ApprovalInput,
    responses((status = 200, description = "The venue with its approval", body = VenueView),
        (status = 422, description = "`invalid_approval`", body = Problem, content_type = "application/problem+json")))]
pub async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    Path(venue): Path<String>,
    JsonBody(input): JsonBody<ApprovalInput>,
) -> Result<Json<VenueView>, ApiError> {
    let venue = load(&state, &venue).await?;
    caller.require(caller.over(&state, Owned::Venue(venue.id)).await?.may_coordinate(venue.id))?;
    let approval = input
        .validate()
        .map_err(|errors| ApiError::invalid("invalid_approval", "the approval is not valid", errors))?;
    Ok(Json(state.store.record_approval(venue.id, &approval, &caller.actor()).await?))
}

/// The path of the unit a venue body names to run it, when there is such a unit.
pub async fn runner_path(store: &dyn Store, input: &VenueInput) -> huichang_store::Result<Option<Vec<uuid::Uuid>>> {
    Ok(match input.named_unit() {
        Some(unit) => store.unit(unit).await?.map(|u| u.path),
        None => None,
    })
}

/// A venue by its id from the path, or the right 400/404.
pub async fn load(state: &AppState, raw: &str) -> Result<VenueView, ApiError> {
    let venue_id = id(raw, "venue")?;
    state.store.venue(venue_id).await?.ok_or_else(|| ApiError::not_found("venue"))
}

/// The email that tells a venue's contact what the organiser returned, its list (`deliverable`
/// `None`) or a deliverable (its deadline's id and title), with `comment` and a link that signs
/// its coordinator in to send it again. `about` keys it: a list's venue, or the submission.
pub async fn returned_letter(
    state: &AppState,
    venue: &VenueView,
    deliverable: Option<(uuid::Uuid, &str)>,
    comment: &str,
    about: uuid::Uuid,
) -> Result<huichang_store::NewMessage, ApiError> {
    let event = state.store.event(venue.event_id).await?.ok_or_else(|| ApiError::not_found("event"))?;
    let (link, sign_in) = huichang_notify::coordinator_link(&state.public_url, venue.id, None, chrono::Utc::now());
    let rendered = huichang_notify::render::venue_returned(
        &event,
        &venue.name,
        deliverable.map(|(_, title)| title),
        comment,
        (&link, huichang_notify::LINK_DAYS),
    );
    Ok(huichang_store::NewMessage {
        owner: huichang_store::MessageOwner::Event(event.id),
        dedupe_key: format!("review:{about}:{}", uuid::Uuid::now_v7()),
        kind: "review".into(),
        deadline_id: deliverable.map(|(id, _)| id),
        venue_id: Some(venue.id),
        recipient: venue.contact_email.clone(),
        subject: rendered.subject,
        body_text: rendered.text,
        body_html: rendered.html,
        sign_in: Some(sign_in),
    })
}

/// A link that signs its holder in with `token` and opens the page at `next`.
pub fn sign_in_link(public_url: &str, token: &str, next: &str) -> String {
    format!("{public_url}/signin?token={token}&next={next}")
}
