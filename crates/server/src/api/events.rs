//! Events, viewer tokens and the audit log.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse};
use huichang_core::event::{Event, EventInput, EventView};
use huichang_core::role::Role;
use huichang_store::{AuditEntry, EventFilter, Owned};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Caller, hash_token, new_token};
use crate::error::{ApiError, Problem};
use crate::extract::{JsonBody, PageQuery, Query, id, next_link, typed};

/// Create an event.
#[utoipa::path(post, operation_id = "create_event", path = "/api/v1/events", tag = "events", security(("bearer" = ["admin"])), request_body = EventInput,
    responses(
        (status = 201, description = "The event, times in its time zone", body = EventView),
        (status = 422, description = "`invalid_event`: every bad field named", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(input): JsonBody<EventInput>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(caller.grant.is_root_admin())?;
    create_for(&state, &caller, None, input).await
}

/// Makes an event held by `unit_id` (or by none) from its body.
pub(crate) async fn create_for(
    state: &AppState,
    caller: &Caller,
    unit_id: Option<Uuid>,
    input: EventInput,
) -> Result<(StatusCode, [(header::HeaderName, String); 1], Json<EventView>), ApiError> {
    let new =
        input.validate().map_err(|errors| ApiError::invalid("invalid_event", "the event is not valid", errors))?;
    let event = state.store.create_event(unit_id, &new, &caller.actor()).await?;
    let location = format!("/api/v1/events/{}", event.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(event.view())))
}

/// List the events.
#[utoipa::path(get, operation_id = "list_events", path = "/api/v1/events", tag = "events", security(("bearer" = ["admin", "organiser", "viewer"])), params(PageQuery),
    responses((status = 200, description = "Oldest first: every event for the admin; for an organiser or a unit's viewer, the events of its unit and the units below it; for an event's viewer, its event", body = [EventView])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<PageQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let grant = &caller.grant;
    let only = match (grant.unit_id, grant.event_id) {
        _ if grant.is_root_admin() => EventFilter::All,
        (Some(unit), _) => EventFilter::Under(unit),
        (None, Some(event)) if grant.role == Role::Viewer => EventFilter::Only(event),
        _ => return Err(ApiError::forbidden()),
    };
    let page = query.page()?;
    let events = state.store.events(page, only).await?;
    let link = next_link("/api/v1/events", page, events.len(), events.last().map(|e| e.id));
    Ok((AppendHeaders(link), Json(events.iter().map(|e| e.view()).collect::<Vec<_>>())))
}

/// Read an event.
#[utoipa::path(get, operation_id = "get_event", path = "/api/v1/events/{event}", tag = "events", security(("bearer" = ["admin", "organiser", "coordinator", "technician", "viewer"])),
    params(("event" = Uuid, Path, description = "The event id")),
    responses((status = 200, description = "The event", body = EventView), (status = 404, description = "`not_found`: no such event", body = Problem, content_type = "application/problem+json")))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(event): Path<String>,
) -> Result<Json<EventView>, ApiError> {
    let event = load(&state, &event).await?;
    let event_id = event.id;
    caller.require(caller.over(&state, Owned::Event(event_id)).await?.may_read_event(event_id))?;
    Ok(Json(event.view()))
}

/// Change an event.
#[utoipa::path(patch, path = "/api/v1/events/{event}", tag = "events", security(("bearer" = ["admin", "organiser"])),
    params(("event" = Uuid, Path, description = "The event id")),
    request_body(content = EventInput, description = "Only the fields to change; the rules of a new event apply to the result"),
    responses((status = 200, description = "The event; its registration and video-check deadlines moved with it", body = EventView),
        (status = 422, description = "`invalid_event`: every bad field named; nothing changed", body = Problem, content_type = "application/problem+json")))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(event): Path<String>,
    JsonBody(input): JsonBody<EventInput>,
) -> Result<Json<EventView>, ApiError> {
    let event = load(&state, &event).await?;
    let event_id = event.id;
    caller.require(caller.over(&state, Owned::Event(event_id)).await?.is_admin())?;
    let changed = input
        .patched(&event.event)
        .validate()
        .map_err(|errors| ApiError::invalid("invalid_event", "the event is not valid", errors))?;
    Ok(Json(state.store.update_event(event_id, &changed, &caller.actor()).await?.view()))
}

/// An event by its id from the path, or the right 400/404.
pub async fn load(state: &AppState, raw: &str) -> Result<Event, ApiError> {
    let event_id = id(raw, "event")?;
    state.store.event(event_id).await?.ok_or_else(|| ApiError::not_found("event"))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ViewerTokenInput {
    /// Where the token is used, e.g. `主会场大屏` (up to 100 characters).
    pub label: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedToken {
    pub id: Uuid,
    /// Shown this once; the server keeps only its hash.
    pub token: String,
}

/// Make a viewer token for an event.
#[utoipa::path(post, path = "/api/v1/events/{event}/viewer-tokens", tag = "events", security(("bearer" = ["admin", "organiser"])),
    params(("event" = Uuid, Path, description = "The event id")),
    request_body(content = ViewerTokenInput, description = "Optional; an empty body is fine"),
    responses((status = 201, description = "A read-only token for the event's dashboard", body = IssuedToken)))]
pub async fn create_viewer_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(event): Path<String>,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    let event = load(&state, &event).await?;
    let event_id = event.id;
    caller.require(caller.over(&state, Owned::Event(event_id)).await?.is_admin())?;
    let label = token_label(&body)?;
    let token = new_token(Role::Viewer);
    let id = state.store.create_viewer_token(event_id, &hash_token(&token), &label, &caller.actor()).await?;
    Ok((StatusCode::CREATED, Json(IssuedToken { id, token })))
}

/// The optional label of a token request; an empty body is fine.
pub(crate) fn token_label(body: &Bytes) -> Result<String, ApiError> {
    let input: ViewerTokenInput = if body.iter().all(u8::is_ascii_whitespace) {
        ViewerTokenInput::default()
    } else {
        let value = serde_json::from_slice(body).map_err(|e| {
            ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", format!("the body is not valid JSON: {e}"))
        })?;
        typed(value)?
    };
    huichang_core::field::optional_text(input.label.as_deref(), 100).map_err(|m| {
        ApiError::invalid(
            "invalid_body",
            "the token request is not valid",
            vec![huichang_core::FieldError::new("label", m)],
        )
    })
}

/// Read an event's audit log.
#[utoipa::path(get, path = "/api/v1/events/{event}/audit", tag = "events", security(("bearer" = ["admin", "organiser"])),
    params(("event" = Uuid, Path, description = "The event id"), PageQuery),
    responses((status = 200, description = "Newest first; `after` continues with older entries", body = [AuditEntry])))]
pub async fn audit(
    State(state): State<AppState>,
    caller: Caller,
    Path(event): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let event = load(&state, &event).await?;
    let event_id = event.id;
    caller.require(caller.over(&state, Owned::Event(event_id)).await?.is_admin())?;
    let page = query.page()?;
    let entries = state.store.audit(event_id, page).await?;
    let link =
        next_link(&format!("/api/v1/events/{event_id}/audit"), page, entries.len(), entries.last().map(|e| e.id));
    Ok((AppendHeaders(link), Json(entries)))
}
