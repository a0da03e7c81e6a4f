//! The organiser's tokens: list them, rotate a venue's, revoke any. A revoked token is refused
//! at once on every instance, and the live-feed clients it opened are closed.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use huichang_core::FieldError;
use huichang_core::role::Role;
use huichang_store::{Owned, TokenView};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::api::{events, venues};
use crate::auth::{Caller, hash_token, new_token};
use crate::error::{ApiError, Problem};
use crate::extract::{JsonBody, id};

/// List an event's tokens.
#[utoipa::path(get, operation_id = "list_tokens", path = "/api/v1/events/{event}/tokens", tag = "events", security(("bearer" = ["admin", "organiser"])),
    params(("event" = Uuid, Path, description = "The event id")),
    responses((status = 200, description = "The event's viewer, coordinator and technician tokens, newest first, revoked ones \
        included; never their secrets", body = [TokenView])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(event): Path<String>,
) -> Result<Json<Vec<TokenView>>, ApiError> {
    let event = events::load(&state, &event).await?;
    caller.require(caller.over(&state, Owned::Event(event.id)).await?.is_admin())?;
    Ok(Json(state.store.tokens(event.id).await?))
}

/// `POST /api/v1/venues/{venue}/tokens`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RotateInput {
    /// `coordinator` or `technician`.
    pub role: String,
}

/// A new token, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewToken {
    pub id: Uuid,
    pub role: Role,
    pub token: String,
    /// The sign-in link that carries it.
    pub link: String,
}

/// Issue a venue's new coordinator or technician token.
#[utoipa::path(post, path = "/api/v1/venues/{venue}/tokens", tag = "venues", security(("bearer" = ["admin", "organiser"])),
    params(("venue" = Uuid, Path, description = "The venue id")), request_body = RotateInput,
    responses((status = 201, description = "A new token for the role; the venue's previous one of that role is revoked at once", body = NewToken),
        (status = 422, description = "`invalid_token_role`", body = Problem, content_type = "application/problem+json")))]
pub async fn rotate(
    State(state): State<AppState>,
    caller: Caller,
    Path(venue): Path<String>,
    JsonBody(input): JsonBody<RotateInput>,
) -> Result<impl IntoResponse, ApiError> {
    let venue = venues::load(&state, &venue).await?;
    caller.require(caller.over(&state, Owned::Venue(venue.id)).await?.is_admin())?;
    let role = Role::parse(input.role.trim())
        .filter(|r| matches!(r, Role::Coordinator | Role::Technician))
        .ok_or_else(|| {
            ApiError::invalid(
                "invalid_token_role",
                "a venue has coordinator and technician tokens",
                vec![FieldError::new("role", "must be \"coordinator\" or \"technician\"")],
            )
        })?;
    let token = new_token(role);
    let id = state.store.reissue_venue_token(venue.id, role, &hash_token(&token), &caller.actor()).await?;
    let page =
        if role == Role::Technician { format!("/venues/{}/video", venue.id) } else { format!("/venues/{}", venue.id) };
    let link = venues::sign_in_link(&state.public_url, &token, &page);
    Ok((StatusCode::CREATED, Json(NewToken { id, role, token, link })))
}

/// Revoke a token.
#[utoipa::path(delete, path = "/api/v1/tokens/{token}", tag = "events", security(("bearer" = ["admin", "organiser"])),
    params(("token" = Uuid, Path, description = "The token's id (from the token list), not its secret")),
    responses((status = 200, description = "The revoked token: refused from now on, its open live feeds closed", body = TokenView),
        (status = 409, description = "`already_revoked`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`admin_token`: the admin token is changed with `huichang token admin`", body = Problem, content_type = "application/problem+json")))]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(token): Path<String>,
) -> Result<Json<TokenView>, ApiError> {
    let token_id = id(&token, "token")?;
    // Only the admin and organisers revoke; an organiser those of its events and units.
    caller.require(caller.grant.is_root_admin() || caller.grant.role == Role::Organiser)?;
    let token = state.store.token(token_id).await?.ok_or_else(|| ApiError::not_found("token"))?;
    let may = match (token.event_id, token.unit_id) {
        _ if caller.grant.is_root_admin() => true,
        (Some(event_id), _) => caller.over(&state, Owned::Event(event_id)).await?.is_admin(),
        (None, Some(unit)) => state.store.unit(unit).await?.is_some_and(|u| caller.grant.may_organise_unit(&u.path)),
        (None, None) => false,
    };
    caller.require(may)?;
    if token.role == Role::Admin {
        return Err(ApiError::invalid(
            "admin_token",
            "the admin token is changed with `huichang token admin`, which revokes the old one",
            vec![FieldError::new("token", "is the admin token")],
        ));
    }
    Ok(Json(state.store.revoke_token(token.id, &caller.actor()).await?))
}
