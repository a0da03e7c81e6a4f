//! Units of the tree (单位) and their tokens: organisers of a subtree and its viewers.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use huichang_core::FieldError;
use huichang_core::event::{EventInput, EventView};
use huichang_core::role::Role;
use huichang_core::unit::{MAX_DEPTH, UnitInput, UnitView};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::api::events::{IssuedToken, ViewerTokenInput, token_label};
use crate::auth::{Caller, hash_token, new_token};
use crate::error::{ApiError, Problem};
use crate::extract::{JsonBody, id};

/// A unit just made, with the token of its first organiser (shown this once).
#[derive(Debug, Serialize, ToSchema)]
pub struct UnitCreated {
    #[serde(flatten)]
    pub unit: UnitView,
    pub organiser_token: String,
}

pub(crate) async fn load_unit(state: &AppState, raw: &str) -> Result<UnitView, ApiError> {
    let unit_id = id(raw, "unit")?;
    state.store.unit(unit_id).await?.ok_or_else(|| ApiError::not_found("unit"))
}

async fn create_unit(
    state: &AppState,
    caller: &Caller,
    parent: Option<Uuid>,
    input: UnitInput,
) -> Result<impl IntoResponse + use<>, ApiError> {
    let unit = input.validate().map_err(|errors| ApiError::invalid("invalid_unit", "the unit is not valid", errors))?;
    let token = new_token(Role::Organiser);
    let unit = state.store.create_unit(parent, &unit, &hash_token(&token), &caller.actor()).await?;
    Ok((StatusCode::CREATED, Json(UnitCreated { unit, organiser_token: token })))
}

/// Create a root unit.
#[utoipa::path(post, operation_id = "create_root_unit", path = "/api/v1/units", tag = "units", security(("bearer" = ["admin"])),
    request_body = UnitInput,
    responses(
        (status = 201, description = "The unit and the token of its first organiser", body = UnitCreated),
        (status = 422, description = "`invalid_unit`: every bad field named", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_root(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(input): JsonBody<UnitInput>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(caller.grant.is_root_admin())?;
    create_unit(&state, &caller, None, input).await
}

/// Create a unit below a unit.
#[utoipa::path(post, operation_id = "create_child_unit", path = "/api/v1/units/{unit}/units", tag = "units", security(("bearer" = ["admin", "organiser"])),
    params(("unit" = Uuid, Path, description = "The parent unit")), request_body = UnitInput,
    responses(
        (status = 201, description = "The unit and the token of its first organiser; organisers of the parent or above may", body = UnitCreated),
        (status = 422, description = "`invalid_unit`: every bad field named, or the tree would be deeper than 6 levels", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_child(
    State(state): State<AppState>,
    caller: Caller,
    Path(unit): Path<String>,
    JsonBody(input): JsonBody<UnitInput>,
) -> Result<impl IntoResponse, ApiError> {
    let parent = load_unit(&state, &unit).await?;
    caller.require(caller.grant.may_organise_unit(&parent.path))?;
    if parent.path.len() >= MAX_DEPTH {
        let message = format!("the tree holds at most {MAX_DEPTH} levels");
        return Err(ApiError::invalid(
            "invalid_unit",
            "the unit is not valid",
            vec![FieldError::new("parent", message)],
        ));
    }
    create_unit(&state, &caller, Some(parent.id), input).await
}

/// Create an event held by a unit.
#[utoipa::path(post, operation_id = "create_unit_event", path = "/api/v1/units/{unit}/events", tag = "units", security(("bearer" = ["admin", "organiser"])),
    params(("unit" = Uuid, Path, description = "The unit that holds the event")), request_body = EventInput,
    responses(
        (status = 201, description = "The event, with `unit_id`; organisers of the unit and above are its admins", body = EventView),
        (status = 422, description = "`invalid_event`: every bad field named", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_event(
    State(state): State<AppState>,
    caller: Caller,
    Path(unit): Path<String>,
    JsonBody(input): JsonBody<EventInput>,
) -> Result<impl IntoResponse, ApiError> {
    let unit = load_unit(&state, &unit).await?;
    caller.require(caller.grant.may_organise_unit(&unit.path))?;
    crate::api::events::create_for(&state, &caller, Some(unit.id), input).await
}

/// Read a unit.
#[utoipa::path(get, operation_id = "get_unit", path = "/api/v1/units/{unit}", tag = "units", security(("bearer" = ["admin", "organiser", "viewer"])),
    params(("unit" = Uuid, Path, description = "The unit id")),
    responses((status = 200, description = "The unit; its organisers and viewers, and those of the units above it, may read it", body = UnitView)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(unit): Path<String>,
) -> Result<Json<UnitView>, ApiError> {
    let unit = load_unit(&state, &unit).await?;
    caller.require(caller.grant.may_read_unit(&unit.path))?;
    Ok(Json(unit))
}

/// List the units right below a unit.
#[utoipa::path(get, operation_id = "list_child_units", path = "/api/v1/units/{unit}/units", tag = "units", security(("bearer" = ["admin", "organiser", "viewer"])),
    params(("unit" = Uuid, Path, description = "The unit id")),
    responses((status = 200, description = "Its children, in the order they were made", body = [UnitView])))]
pub async fn children(
    State(state): State<AppState>,
    caller: Caller,
    Path(unit): Path<String>,
) -> Result<Json<Vec<UnitView>>, ApiError> {
    let unit = load_unit(&state, &unit).await?;
    caller.require(caller.grant.may_read_unit(&unit.path))?;
    Ok(Json(state.store.child_units(unit.id).await?))
}

async fn issue(
    state: &AppState,
    caller: &Caller,
    raw: &str,
    role: Role,
    body: &Bytes,
) -> Result<IssuedToken, ApiError> {
    let unit = load_unit(state, raw).await?;
    caller.require(caller.grant.may_organise_unit(&unit.path))?;
    let label = token_label(body)?;
    let token = new_token(role);
    let id = state.store.create_unit_token(unit.id, role, &hash_token(&token), &label, &caller.actor()).await?;
    Ok(IssuedToken { id, token })
}

/// Make another organiser token of a unit.
#[utoipa::path(post, path = "/api/v1/units/{unit}/organiser-tokens", tag = "units", security(("bearer" = ["admin", "organiser"])),
    params(("unit" = Uuid, Path, description = "The unit id")),
    request_body(content = ViewerTokenInput, description = "Optional; an empty body is fine"),
    responses((status = 201, description = "A token for another person of the unit: whatever the admin may do, within the unit and below it", body = IssuedToken)))]
pub async fn create_organiser_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(unit): Path<String>,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    Ok((StatusCode::CREATED, Json(issue(&state, &caller, &unit, Role::Organiser, &body).await?)))
}

/// Make a viewer token of a unit's subtree.
#[utoipa::path(post, operation_id = "create_unit_viewer_token", path = "/api/v1/units/{unit}/viewer-tokens", tag = "units", security(("bearer" = ["admin", "organiser"])),
    params(("unit" = Uuid, Path, description = "The unit id")),
    request_body(content = ViewerTokenInput, description = "Optional; an empty body is fine"),
    responses((status = 201, description = "A read-only token of the unit and every unit below it, e.g. for a wall screen", body = IssuedToken)))]
pub async fn create_viewer_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(unit): Path<String>,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    Ok((StatusCode::CREATED, Json(issue(&state, &caller, &unit, Role::Viewer, &body).await?)))
}
