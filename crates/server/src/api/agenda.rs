//! The run of show (议程): the programme of an event, and the director's live controls.

use axum::Json;
use axum::extract::{Path, State};
use chrono::Utc;
use huichang_core::FieldError;
use huichang_core::agenda::{AgendaInput, AgendaView, MINUTES_MAX};
use huichang_core::role::{Grant, Role};
use huichang_core::venue::VenueKind;
use huichang_store::{AgendaChange, Owned};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::api::events;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{JsonBody, id};

/// The agenda of an event.
#[utoipa::path(get, operation_id = "get_agenda", path = "/api/v1/events/{event}/agenda", tag = "agenda",
    security(("bearer" = ["admin", "organiser", "coordinator", "technician", "viewer"])),
    params(("event" = Uuid, Path, description = "The event id")),
    responses((status = 200, description = "Every item in order, with what is on `now` (the live item) and `next`", body = AgendaView)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(event): Path<String>,
) -> Result<Json<AgendaView>, ApiError> {
    let event = events::load(&state, &event).await?;
    caller.require(caller.over(&state, Owned::Event(event.id)).await?.may_read_event(event.id))?;
    let items = state.store.agenda(event.id).await?;
    Ok(Json(huichang_core::agenda::view(&items, event.event.timezone)))
}

/// Send the agenda whole.
#[utoipa::path(put, operation_id = "put_agenda", path = "/api/v1/events/{event}/agenda", tag = "agenda",
    security(("bearer" = ["admin", "organiser"])),
    params(("event" = Uuid, Path, description = "The event id")), request_body = AgendaInput,
    responses(
        (status = 200, description = "The agenda. Items sent with their `id` keep it, with their status and how far the show has \
            moved them; items left out are removed; new ones start `upcoming`, expected as planned. A change `agenda.updated` \
            on the event's live feed", body = AgendaView),
        (status = 422, description = "`invalid_agenda`: every bad field of every item named (`items[i].title` …)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn put(
    State(state): State<AppState>,
    caller: Caller,
    Path(event): Path<String>,
    JsonBody(input): JsonBody<AgendaInput>,
) -> Result<Json<AgendaView>, ApiError> {
    let event = events::load(&state, &event).await?;
    caller.require(caller.over(&state, Owned::Event(event.id)).await?.is_admin())?;
    // The venues the items name that are this event's: any other is refused by name.
    let mut venues = Vec::new();
    for raw in input.items.iter().flatten().filter_map(|i| i.venue_id.as_deref()) {
        if let Ok(venue) = Uuid::parse_str(raw)
            && !venues.contains(&venue)
            && state.store.venue(venue).await?.is_some_and(|v| v.event_id == event.id)
        {
            venues.push(venue);
        }
    }
    let items = input
        .validate(&venues)
        .map_err(|errors| ApiError::invalid("invalid_agenda", "the agenda is not valid", errors))?;
    change(&state, &caller, event.id, AgendaChange::Replace(items)).await
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct AdvanceInput {
    /// The id of the item live now as the caller sees it, or null before the show starts. When
    /// it is no longer live (another director pressed first), nothing changes: 409.
    pub from: Option<String>,
}

/// End the live item and start the next.
#[utoipa::path(post, operation_id = "advance_agenda", path = "/api/v1/events/{event}/agenda/advance", tag = "agenda",
    security(("bearer" = ["admin", "organiser"])),
    params(("event" = Uuid, Path, description = "The event id; its organisers and its main venue's coordinator (its token or \
        session) run the show")),
    request_body = AdvanceInput,
    responses(
        (status = 200, description = "The agenda: `from` done, the next upcoming item live from now, every later one moved by as \
            much as it started late or early. A change `agenda.advanced`", body = AgendaView),
        (status = 409, description = "`agenda_moved`: `from` is not the live item (someone advanced first), or there is nothing \
            left to start; nothing changed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_agenda`: `from` is not an id", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn advance(
    State(state): State<AppState>,
    caller: Caller,
    Path(event): Path<String>,
    JsonBody(input): JsonBody<AdvanceInput>,
) -> Result<Json<AgendaView>, ApiError> {
    let event = runs_show(&state, &caller, &event).await?;
    let from = match input.from.as_deref().filter(|f| !f.is_empty()) {
        Some(raw) => Some(Uuid::parse_str(raw).map_err(|_| {
            ApiError::invalid("invalid_agenda", "the item is not valid", vec![FieldError::new("from", "is not an id")])
        })?),
        None => None,
    };
    change(&state, &caller, event, AgendaChange::Advance { from }).await
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct DelayInput {
    /// 1–1440.
    pub minutes: Option<u32>,
}

/// Expect an item, and every later one, later.
#[utoipa::path(post, operation_id = "delay_agenda_item", path = "/api/v1/events/{event}/agenda/items/{item}/delay", tag = "agenda",
    security(("bearer" = ["admin", "organiser"])),
    params(("event" = Uuid, Path, description = "The event id; its organisers and its main venue's coordinator run the show"),
        ("item" = Uuid, Path, description = "An upcoming or live item")),
    request_body = DelayInput,
    responses(
        (status = 200, description = "The agenda: the item (upcoming: starts later; live: ends later) and every later upcoming item \
            expected `minutes` later. A change `agenda.delayed`", body = AgendaView),
        (status = 404, description = "No such item in this agenda", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`agenda_moved`: the item is done or skipped", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_agenda`: `minutes` missing or out of range", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delay(
    State(state): State<AppState>,
    caller: Caller,
    Path((event, item)): Path<(String, String)>,
    JsonBody(input): JsonBody<DelayInput>,
) -> Result<Json<AgendaView>, ApiError> {
    let event = runs_show(&state, &caller, &event).await?;
    let item = id(&item, "item")?;
    let minutes = input.minutes.filter(|m| (1..=MINUTES_MAX).contains(m)).ok_or_else(|| {
        ApiError::invalid(
            "invalid_agenda",
            "the delay is not valid",
            vec![FieldError::new("minutes", format!("must be 1 to {MINUTES_MAX}"))],
        )
    })?;
    change(&state, &caller, event, AgendaChange::Delay { item, minutes }).await
}

/// Skip an upcoming item.
#[utoipa::path(post, operation_id = "skip_agenda_item", path = "/api/v1/events/{event}/agenda/items/{item}/skip", tag = "agenda",
    security(("bearer" = ["admin", "organiser"])),
    params(("event" = Uuid, Path, description = "The event id; its organisers and its main venue's coordinator run the show"),
        ("item" = Uuid, Path, description = "An upcoming item")),
    responses(
        (status = 200, description = "The agenda: the item `skipped`, every later upcoming item expected its minutes earlier. \
            A change `agenda.skipped`", body = AgendaView),
        (status = 404, description = "No such item in this agenda", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`agenda_moved`: the item is no longer upcoming", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn skip(
    State(state): State<AppState>,
    caller: Caller,
    Path((event, item)): Path<(String, String)>,
) -> Result<Json<AgendaView>, ApiError> {
    let event = runs_show(&state, &caller, &event).await?;
    let item = id(&item, "item")?;
    change(&state, &caller, event, AgendaChange::Skip { item }).await
}

/// The event, when the caller runs its show.
async fn runs_show(state: &AppState, caller: &Caller, event: &str) -> Result<Uuid, ApiError> {
    let event = events::load(state, event).await?;
    caller.require(may_run_show(state, &caller.grant, event.id).await?)?;
    Ok(event.id)
}

/// Whether `grant` runs the event's show: its organisers, and its main venue's coordinator, whose
/// director runs it by phone from the main hall.
pub async fn may_run_show(state: &AppState, grant: &Grant, event: Uuid) -> Result<bool, ApiError> {
    let over = crate::auth::grant_over(state, grant, Owned::Event(event)).await?;
    Ok(over.is_admin()
        || match (grant.role, grant.venue_id) {
            (Role::Coordinator, Some(venue)) => state
                .store
                .venue(venue)
                .await?
                .is_some_and(|v| v.event_id == event && v.kind == VenueKind::Main && over.may_coordinate(v.id)),
            _ => false,
        })
}

async fn change(
    state: &AppState,
    caller: &Caller,
    event: Uuid,
    change: AgendaChange,
) -> Result<Json<AgendaView>, ApiError> {
    let zone = state.store.event(event).await?.ok_or_else(|| ApiError::not_found("event"))?.event.timezone;
    let items = state
        .store
        .change_agenda(event, change, huichang_core::event::truncate(Utc::now()), &caller.actor())
        .await
        .map_err(|e| match e {
            huichang_store::StoreError::NotFound => ApiError::not_found("item"),
            other => other.into(),
        })?;
    Ok(Json(huichang_core::agenda::view(&items, zone)))
}
