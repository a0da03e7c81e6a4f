//! Delegations: lists that other units send into a venue's hall, each with its own coordinator.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use huichang_core::delegation::{DelegationInput, DelegationView};
use huichang_core::registration::{self, AttendeeView, RegistrationView, SubmissionBody};
use huichang_core::role::{Grant, Role};
use huichang_store::Owned;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::api::registration::refuse_after_deadline;
use crate::api::venues;
use crate::auth::{Caller, hash_token, new_token};
use crate::error::{ApiError, Problem};
use crate::extract::{JsonBody, JsonValue, id};

/// Add a delegation to a venue's hall.
#[utoipa::path(post, operation_id = "create_delegation", path = "/api/v1/venues/{venue}/delegations", tag = "delegations", security(("bearer" = ["admin", "organiser"])),
    params(("venue" = Uuid, Path, description = "The venue whose hall the delegation sits in")), request_body = DelegationInput,
    responses(
        (status = 201, description = "The delegation with its coordinator's token, shown this once", body = DelegationView),
        (status = 422, description = "`invalid_delegation`: every bad field named (a name taken in the venue, `max` below `min` …)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(venue): Path<String>,
    JsonBody(input): JsonBody<DelegationInput>,
) -> Result<impl IntoResponse, ApiError> {
    let venue = venues::load(&state, &venue).await?;
    caller.require(caller.over(&state, Owned::Venue(venue.id)).await?.is_admin())?;
    let unit_exists = match input.named_unit() {
        Some(unit) => state.store.unit(unit).await?.is_some(),
        None => false,
    };
    let new = input
        .validate(unit_exists)
        .map_err(|errors| ApiError::invalid("invalid_delegation", "the delegation is not valid", errors))?;
    let token = new_token(Role::Coordinator);
    let mut delegation = state.store.create_delegation(venue.id, &new, &hash_token(&token), &caller.actor()).await?;
    delegation.coordinator_token = Some(token);
    let location = format!("/api/v1/delegations/{}/registration", delegation.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(delegation)))
}

/// List a venue's delegations.
#[utoipa::path(get, operation_id = "list_delegations", path = "/api/v1/venues/{venue}/delegations", tag = "delegations", security(("bearer" = ["admin", "organiser"])),
    params(("venue" = Uuid, Path, description = "The venue id")),
    responses((status = 200, description = "The venue's delegations in the order they were made, each with `registered` and `short` \
        (fewer than `min` on its list)", body = [DelegationView])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(venue): Path<String>,
) -> Result<Json<Vec<DelegationView>>, ApiError> {
    let venue = venues::load(&state, &venue).await?;
    let grant = caller.over(&state, Owned::Venue(venue.id)).await?;
    caller.require(grant.is_admin() || (grant.role == Role::Organiser && grant.may_coordinate(venue.id)))?;
    Ok(Json(state.store.delegations(venue.id).await?))
}

/// Whether `grant` (already over the hall) keeps the delegation's list: its coordinator, an
/// organiser of the unit that sends it or above, the organiser who runs the hall, the event's admin.
pub async fn may_keep(state: &AppState, grant: &Grant, delegation: &DelegationView) -> huichang_store::Result<bool> {
    let sends = match (grant.role, grant.unit_id, delegation.unit_id) {
        (Role::Organiser, Some(mine), Some(sender)) => {
            state.store.unit(sender).await?.is_some_and(|unit| unit.path.contains(&mine))
        }
        _ => false,
    };
    let runs_hall = grant.role == Role::Organiser && grant.may_coordinate(delegation.venue_id);
    Ok(grant.is_admin() || grant.delegation_id == Some(delegation.id) || runs_hall || sends)
}

async fn load_for(state: &AppState, caller: &Caller, raw: &str) -> Result<DelegationView, ApiError> {
    let delegation =
        state.store.delegation(id(raw, "delegation")?).await?.ok_or_else(|| ApiError::not_found("delegation"))?;
    let grant = caller.over(state, Owned::Venue(delegation.venue_id)).await?;
    caller.require(may_keep(state, &grant, &delegation).await?)?;
    Ok(delegation)
}

/// Read a delegation's list.
#[utoipa::path(get, operation_id = "get_delegation_registration", path = "/api/v1/delegations/{delegation}/registration", tag = "delegations",
    security(("bearer" = ["admin", "organiser", "coordinator"])),
    params(("delegation" = Uuid, Path, description = "The delegation id (its coordinator's token, an organiser of the unit \
        that sends it or above, of the event, or of the unit that runs the hall)")),
    responses((status = 200, description = "The delegation's list, as a venue's (`delegation_id` names it); revision 0 before \
        the first submission", body = RegistrationView)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(delegation): Path<String>,
) -> Result<Json<RegistrationView>, ApiError> {
    let delegation = load_for(&state, &caller, &delegation).await?;
    Ok(Json(state.store.delegation_registration(&delegation).await?))
}

/// Replace a delegation's list.
#[utoipa::path(put, operation_id = "put_delegation_registration", path = "/api/v1/delegations/{delegation}/registration", tag = "delegations",
    security(("bearer" = ["admin", "organiser", "coordinator"])),
    params(("delegation" = Uuid, Path, description = "The delegation id")), request_body = SubmissionBody,
    responses(
        (status = 200, description = "The stored list, by the rules of a venue's list. Fewer people than `min` are accepted: \
            the delegation shows `short` until it has them.", body = RegistrationView),
        (status = 409, description = "`deadline_passed` (its coordinator after the registration deadline)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_registration`; `over_quota` (more people than `max`, with `max` and `count`); \
            `over_capacity` when the on-site people of all the hall's lists together (the venue's own and every delegation's) \
            would exceed its seats, decided in the database however many lists arrive at once", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn put(
    State(state): State<AppState>,
    caller: Caller,
    Path(delegation): Path<String>,
    JsonValue(body): JsonValue,
) -> Result<Json<RegistrationView>, ApiError> {
    let delegation = load_for(&state, &caller, &delegation).await?;
    let venue = venues::load(&state, &delegation.venue_id.to_string()).await?;
    let closed = refuse_after_deadline(&state, &caller, &venue).await?;
    let submission = registration::parse_submission(&body).map_err(|errors| {
        ApiError::invalid(
            "invalid_registration",
            format!("{} problem(s) in the list; nothing was stored", errors.len()),
            errors,
        )
    })?;
    Ok(Json(state.store.submit_delegation_registration(&delegation, &submission, closed, &caller.actor()).await?))
}

/// One person who may come in at a hall: on its venue's own list or on a delegation's.
#[derive(Debug, Serialize, ToSchema)]
pub struct HallPerson {
    #[serde(flatten)]
    pub attendee: AttendeeView,
    /// The delegation that sent them; absent for the venue's own list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delegation: Option<String>,
}

/// Everybody of a venue's hall: its own list, then each delegation's, replaced people kept.
#[derive(Debug, Serialize, ToSchema)]
pub struct HallPeople {
    pub venue_id: Uuid,
    pub attendees: Vec<HallPerson>,
}

/// The venue's own list, then each of its delegations' lists, in the order they were made.
pub async fn hall_people(state: &AppState, venue_id: Uuid) -> huichang_store::Result<HallPeople> {
    let mut attendees: Vec<HallPerson> = state
        .store
        .registration(venue_id)
        .await?
        .attendees
        .into_iter()
        .map(|attendee| HallPerson { attendee, delegation: None })
        .collect();
    for delegation in state.store.delegations(venue_id).await? {
        let list = state.store.delegation_registration(&delegation).await?;
        attendees.extend(
            list.attendees
                .into_iter()
                .map(|attendee| HallPerson { attendee, delegation: Some(delegation.name.clone()) }),
        );
    }
    Ok(HallPeople { venue_id, attendees })
}

/// Everybody who may come in at a venue's hall.
#[utoipa::path(get, operation_id = "hall_people", path = "/api/v1/venues/{venue}/people", tag = "delegations",
    security(("bearer" = ["admin", "organiser", "coordinator"])),
    params(("venue" = Uuid, Path, description = "The venue id")),
    responses((status = 200, description = "The venue's own list and every delegation's in its hall, each person with the \
        `delegation` that sent them (absent for the venue's own): what the door checks in", body = HallPeople)))]
pub async fn people(
    State(state): State<AppState>,
    caller: Caller,
    Path(venue): Path<String>,
) -> Result<Json<HallPeople>, ApiError> {
    let venue = venues::load(&state, &venue).await?;
    caller.require(caller.over(&state, Owned::Venue(venue.id)).await?.may_coordinate(venue.id))?;
    Ok(Json(hall_people(&state, venue.id).await?))
}
