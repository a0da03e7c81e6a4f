//! The overview of a unit's subtree and its live feed.
//!
//! The feed does not follow each change: every half second it asks the store whether the
//! subtree's version moved (one row by its key), and only then reads the overview — the unit's,
//! its children's and its own events' counters — and sends one message for each row that moved.
//! A burst of a thousand check-ins in one province reaches the Ministry's wall screen as one
//! message per half second, at most 0.5 s and a read behind; every instance reads the same rows.

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use huichang_core::overview::{Counts, Overview};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::Role;
use uuid::Uuid;

use crate::AppState;
use crate::api::dashboard::{open_live, restarting, revoked, settings, switching_protocols, watch_closing, write_text};
use crate::api::units::load_unit;
use crate::auth::{Caller, authenticate};
use crate::error::{ApiError, Problem};
use crate::extract::Query;

/// How often a live overview asks whether its subtree moved.
const MERGE: Duration = Duration::from_millis(500);
/// How often it asks whether its token still stands.
const TOKEN_CHECK: Duration = Duration::from_secs(5);

/// Read the overview of a unit's subtree.
#[utoipa::path(get, operation_id = "get_unit_overview", path = "/api/v1/units/{unit}/overview", tag = "units", security(("bearer" = ["admin", "organiser", "viewer"])),
    params(("unit" = Uuid, Path, description = "The unit id")),
    responses((status = 200, description = "The subtree's totals, each child unit's and each of the unit's own events', from \
        counters kept as changes are written: it costs the same at 100,000 venues as at 100", body = Overview)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(unit): Path<String>,
) -> Result<Json<Overview>, ApiError> {
    let unit = load_unit(&state, &unit).await?;
    caller.require(caller.grant.may_read_unit(&unit.path))?;
    let (overview, _) = state.store.overview(unit.id).await?.ok_or_else(|| ApiError::not_found("unit"))?;
    Ok(Json(overview))
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OverviewQuery {
    /// The token, for clients that cannot send an `Authorization` header.
    pub token: Option<String>,
}

/// A change of a live overview.
#[derive(Debug, Serialize)]
struct Change<'a> {
    r#type: &'static str,
    /// The child whose subtree changed, or the unit itself.
    unit_id: Uuid,
    totals: &'a Counts,
    child: Option<&'a huichang_core::overview::ChildRow>,
    event: Option<&'a huichang_core::overview::EventRow>,
}

/// The messages that bring a client from `old` to `new`: one per child and event row that
/// moved, or one for the unit itself when only its own totals did.
fn changes(old: &Overview, new: &Overview) -> Vec<String> {
    let totals = &new.totals;
    let message = |unit_id, child, event| {
        serde_json::to_string(&Change { r#type: "change", unit_id, totals, child, event }).unwrap_or_default()
    };
    let mut messages = Vec::new();
    for child in &new.children {
        if !old.children.iter().any(|c| c == child) {
            messages.push(message(child.id, Some(child), None));
        }
    }
    for event in &new.events {
        if !old.events.iter().any(|e| e == event) {
            messages.push(message(new.unit.id, None, Some(event)));
        }
    }
    if messages.is_empty() && old.totals != new.totals {
        messages.push(message(new.unit.id, None, None));
    }
    messages
}

/// Follow the overview of a unit's subtree (WebSocket).
#[utoipa::path(get, operation_id = "unit_live", path = "/api/v1/units/{unit}/live", tag = "units", security(("bearer" = ["admin", "organiser", "viewer"])),
    params(("unit" = Uuid, Path, description = "The unit id"), OverviewQuery),
    responses(
        (status = 101, description = "Upgraded. First `{\"type\": \"snapshot\", \"overview\": {…}}`, then `{\"type\": \"change\", \
            \"unit_id\", \"totals\", \"child\", \"event\"}` for each child or event row that moved; changes are merged, so \
            every change of the subtree is reflected within about a second and no total is ever older than one already sent"),
        (status = 426, description = "`websocket_required`: a plain HTTP request", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_connections`, or `too_many_attempts`", body = Problem, content_type = "application/problem+json")))]
pub async fn live(
    State(state): State<AppState>,
    Path(unit): Path<String>,
    Query(query): Query<OverviewQuery>,
    mut request: Request,
) -> Result<Response, ApiError> {
    let signed_in = authenticate(&state, request.headers(), request.extensions(), query.token.clone(), true).await?;
    let (grant, token_hash) =
        signed_in.grant("send the token as 'Authorization: Bearer <token>' or ?token=, or sign in")?;
    let unit = load_unit(&state, &unit).await?;
    if !grant.may_read_unit(&unit.path) {
        return Err(ApiError::forbidden());
    }
    let (connection, accept) = open_live(&state, grant.token_id, &request)?;
    let (first, version) = state.store.overview(unit.id).await?.ok_or_else(|| ApiError::not_found("unit"))?;
    let upgrading = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        let Ok(upgraded) = upgrading.await else { return };
        let _connection = connection;
        follow(TokioIo::new(upgraded), state, token_hash, first, version).await
    });
    switching_protocols(accept)
}

async fn follow(
    mut io: TokioIo<hyper::upgrade::Upgraded>,
    state: AppState,
    token_hash: String,
    mut sent: Overview,
    mut version: i64,
) {
    let unit_id = sent.unit.id;
    let snapshot = json!({"type": "snapshot", "overview": sent}).to_string();
    if write_text(&mut io, &[&snapshot]).await.is_err() {
        return;
    }
    let socket = tokio_tungstenite::WebSocketStream::from_raw_socket(io, Role::Server, Some(settings())).await;
    let (mut sink, mut stream) = socket.split();
    let Some(mut closing) = watch_closing(&state) else {
        let _ = sink.send(restarting()).await;
        return;
    };
    let mut merge = tokio::time::interval(MERGE);
    let mut token_check = tokio::time::interval(TOKEN_CHECK);
    let mut ping = tokio::time::interval(Duration::from_secs(20));
    ping.tick().await;
    loop {
        tokio::select! {
            _ = merge.tick() => {
                // A read that fails is tried again at the next tick; the client keeps what it has.
                let Ok(Some(now)) = state.store.overview_version(unit_id).await else { continue };
                if now == version {
                    continue;
                }
                let Ok(Some((overview, now))) = state.store.overview(unit_id).await else { continue };
                let write = async {
                    for text in changes(&sent, &overview) {
                        sink.feed(WsMessage::Text(text.into())).await?;
                    }
                    sink.flush().await
                };
                match tokio::time::timeout(Duration::from_secs(10), write).await {
                    Ok(Ok(())) => (sent, version) = (overview, now),
                    _ => return,
                }
            }
            _ = token_check.tick() => {
                if let Ok(None) = state.store.grant(&token_hash).await {
                    let _ = sink.send(revoked()).await;
                    return;
                }
            }
            incoming = stream.next() => match incoming {
                Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            changed = closing.changed() => {
                if changed.is_err() || *closing.borrow_and_update() {
                    let _ = sink.send(restarting()).await;
                    return;
                }
            }
            _ = ping.tick() => {
                if sink.send(WsMessage::Ping(Vec::new().into())).await.is_err() {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use huichang_core::overview::{ChildRow, UnitName};

    use super::*;

    fn overview(sichuan: i64, guangdong: i64, own: i64) -> Overview {
        let child = |id: u128, name: &str, checked_in| ChildRow {
            id: Uuid::from_u128(id),
            name: name.into(),
            region: String::new(),
            totals: Counts { checked_in, ..Counts::default() },
        };
        Overview {
            unit: UnitName {
                id: Uuid::from_u128(1),
                name: "教育部职成司".into(),
                region: String::new(),
                parent_id: None,
            },
            totals: Counts { checked_in: sichuan + guangdong + own, ..Counts::default() },
            children: vec![child(2, "四川省教育厅", sichuan), child(3, "广东省教育厅", guangdong)],
            events: Vec::new(),
        }
    }

    #[test]
    fn a_burst_in_one_child_is_one_message_and_the_units_own_change_is_named_after_it() {
        let messages = changes(&overview(0, 0, 0), &overview(1000, 0, 0));
        assert_eq!(messages.len(), 1);
        let message: serde_json::Value = serde_json::from_str(&messages[0]).unwrap();
        assert_eq!(message["unit_id"], Uuid::from_u128(2).to_string());
        assert_eq!(
            (message["totals"]["checked_in"].as_i64(), message["child"]["totals"]["checked_in"].as_i64()),
            (Some(1000), Some(1000))
        );
        assert!(message["event"].is_null());
        let own: serde_json::Value = serde_json::from_str(&changes(&overview(1, 0, 0), &overview(1, 0, 5))[0]).unwrap();
        assert_eq!(own["unit_id"], Uuid::from_u128(1).to_string());
        assert!(own["child"].is_null() && own["event"].is_null());
        assert!(changes(&overview(3, 4, 5), &overview(3, 4, 5)).is_empty());
    }
}
