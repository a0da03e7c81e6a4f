//! The organiser's dashboard and its live WebSocket feed.

use std::sync::Mutex;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use huichang_core::dashboard::Dashboard;
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Message as WsMessage, handshake::derive_accept_key};
use uuid::Uuid;

use huichang_store::Owned;

use crate::AppState;
use crate::api::events;
use crate::auth::{Caller, authenticate, grant_over};
use crate::error::{ApiError, Problem};
use crate::extract::Query;
use crate::http::header_text;
use crate::live::{self, Picture, Subscription};

/// Read an event's dashboard.
#[utoipa::path(get, operation_id = "get_dashboard", path = "/api/v1/events/{event}/dashboard", tag = "events", security(("bearer" = ["admin", "organiser", "viewer"])),
    params(("event" = Uuid, Path, description = "The event id")),
    responses((status = 200, description = "Totals and one row per venue, as of change `seq` (admin, viewer)", body = Dashboard)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(event): Path<String>,
) -> Result<Json<Dashboard>, ApiError> {
    let event = events::load(&state, &event).await?;
    caller.require(caller.over(&state, Owned::Event(event.id)).await?.may_list_venues(event.id))?;
    live::snapshot(state.store.as_ref(), event.id).await?.map(Json).ok_or_else(|| ApiError::not_found("event"))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LiveQuery {
    /// The token, for clients that cannot send an `Authorization` header.
    pub token: Option<String>,
    /// Replay every change after this `seq` (a fresh snapshot when it is too old).
    pub since: Option<i64>,
}

/// Follow an event's dashboard live (WebSocket).
#[utoipa::path(get, path = "/api/v1/events/{event}/live", tag = "events", security(("bearer" = ["admin", "organiser", "viewer"])),
    params(("event" = Uuid, Path, description = "The event id"), LiveQuery),
    responses((status = 101, description = "A WebSocket: first `{'type': 'snapshot', 'seq', 'dashboard'}` (or the changes after \
        `since`), then one `{'type': 'change', 'seq', 'at', 'venue_id', 'what', 'venue', 'totals'}` per change, `seq` rising by one \
        (a change of the run of show, `agenda.*`, also carries `agenda: {now, next}`). \
        A client that falls behind gets a fresh snapshot. Pings every 20 s keep it open through proxies. The server closes it with \
        1008 when the token is revoked, 1011 when a client that fell behind cannot be brought up to date and 1012 when it restarts \
        (reconnect with `since`). Frames and messages from the client are limited to 64 KiB."),
        (status = 426, description = "`websocket_required`: a plain HTTP request", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_connections`: the token already holds 50 live connections; `too_many_attempts`: too many failed sign-ins from this address", body = Problem, content_type = "application/problem+json")))]
pub async fn live(
    State(state): State<AppState>,
    Path(event): Path<String>,
    Query(query): Query<LiveQuery>,
    request: Request,
) -> Result<Response, ApiError> {
    follow(state, &event, query, request, false).await
}

/// Opens an event's feed for the caller: the dashboard's (its venues' rows; the event's
/// organisers and viewers), or, `agenda_only`, the agenda's changes (every reader of the event).
async fn follow(
    state: AppState,
    event: &str,
    query: LiveQuery,
    mut request: Request,
    agenda_only: bool,
) -> Result<Response, ApiError> {
    let event = events::load(&state, event).await?;
    // Opening the feed acts like a change: a page of another site must not open it with the cookie.
    let signed_in = authenticate(&state, request.headers(), request.extensions(), query.token.clone(), true).await?;
    let (grant, token_hash) =
        signed_in.grant("send the token as 'Authorization: Bearer <token>' or ?token=, or sign in")?;
    let over = grant_over(&state, &grant, Owned::Event(event.id)).await?;
    let allowed = if agenda_only { over.may_read_event(event.id) } else { over.may_list_venues(event.id) };
    if !allowed {
        return Err(ApiError::forbidden());
    }
    let (connection, accept) = open_live(&state, grant.token_id, &request)?;
    let upgrading = hyper::upgrade::on(&mut request);
    let subscription =
        state.hub.subscribe(&state.store, event.id).await?.ok_or_else(|| ApiError::not_found("event"))?;
    // A revocation committed after the check above may have been sent out before this client
    // subscribed; it has committed, so asking again sees it. Every later one reaches the client.
    if state.store.grant(&token_hash).await?.is_none() {
        return Err(ApiError::unauthorized("the token is unknown or was revoked"));
    }
    tokio::spawn(async move {
        let Ok(upgraded) = upgrading.await else { return };
        let client =
            Client { event_id: event.id, token_id: grant.token_id, token_hash, _connection: connection, agenda_only };
        serve_client(TokioIo::new(upgraded), state, client, query.since, subscription).await
    });
    switching_protocols(accept)
}

/// What every live feed takes before it upgrades: one of the token's live connections, and the
/// answer to the request's WebSocket handshake.
pub(crate) fn open_live(
    state: &AppState,
    token_id: Uuid,
    request: &Request,
) -> Result<(live::Connection, String), ApiError> {
    let connection = state.hub.connect(token_id).ok_or_else(|| {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_connections",
            format!("this token already holds {} live connections", live::CONNECTIONS_PER_TOKEN),
        )
        .retry(5)
    })?;
    let accept = handshake(request.method(), request.headers()).map_err(|why| {
        ApiError::new(
            StatusCode::UPGRADE_REQUIRED,
            "websocket_required",
            format!("connect with a WebSocket client: {why}"),
        )
    })?;
    Ok((connection, accept))
}

/// The 101 that hands the connection over to the WebSocket.
pub(crate) fn switching_protocols(accept: String) -> Result<Response, ApiError> {
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "upgrade")
        .header(header::UPGRADE, "websocket")
        .header(header::SEC_WEBSOCKET_ACCEPT, accept)
        .body(axum::body::Body::empty())
        .map_err(|e| ApiError::internal(e.to_string()))
}

/// The `Sec-WebSocket-Accept` answering a WebSocket opening handshake (RFC 6455), or what makes
/// the request not one.
fn handshake(method: &Method, headers: &HeaderMap) -> Result<String, &'static str> {
    let text = |name| header_text(headers, name).unwrap_or_default();
    if method != Method::GET {
        return Err("a WebSocket opens with GET");
    }
    if !text("connection").split(',').any(|t| t.trim().eq_ignore_ascii_case("upgrade")) {
        return Err("the Connection header does not ask for an upgrade");
    }
    if !text("upgrade").eq_ignore_ascii_case("websocket") {
        return Err("the Upgrade header is not 'websocket'");
    }
    if text("sec-websocket-version") != "13" {
        return Err("Sec-WebSocket-Version is not 13");
    }
    match text("sec-websocket-key") {
        "" => Err("Sec-WebSocket-Key is missing"),
        key => Ok(derive_accept_key(key.as_bytes())),
    }
}

/// The WebSocket's settings: clients send little but pings and a close, so a small read buffer
/// keeps idle connections cheap; a client that fell behind gets its backlog in writes of about
/// 8 KiB, so that its write buffer stays that small instead of holding a whole backlog.
/// A frame is capped like a message: a frame is held whole before its message is, so a client
/// announcing a huge one would otherwise make the server buffer it.
pub(crate) fn settings() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(8 * 1024)
        .max_message_size(Some(64 * 1024))
        .max_frame_size(Some(64 * 1024))
}

/// Writes one text message straight to the connection (a server's frames are not masked): each
/// piece one frame, its header and then the shared text itself, so that a large snapshot is never
/// copied or joined per client.
pub(crate) async fn write_text(io: &mut (impl AsyncWrite + Unpin), pieces: &[impl AsRef<str>]) -> std::io::Result<()> {
    for (n, piece) in pieces.iter().enumerate() {
        let piece = piece.as_ref().as_bytes();
        let fin = if n + 1 == pieces.len() { 0x80 } else { 0 };
        let opcode = if n == 0 { 0x1 } else { 0x0 }; // text, then continuation frames
        let mut header = Vec::with_capacity(10);
        header.push(fin | opcode);
        match piece.len() {
            n if n < 126 => header.push(n as u8),
            n if n <= usize::from(u16::MAX) => {
                header.push(126);
                header.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                header.push(127);
                header.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        io.write_all(&header).await?;
        io.write_all(piece).await?;
    }
    io.flush().await
}

/// The frames of a snapshot, for a WebSocket that is already sending: one per piece.
fn frames(snapshot: live::Snapshot) -> Vec<WsMessage> {
    let last = snapshot.pieces.len().saturating_sub(1);
    snapshot
        .pieces
        .iter()
        .enumerate()
        .map(|(n, piece)| {
            let opcode = if n == 0 { Data::Text } else { Data::Continue };
            WsMessage::Frame(Frame::message(piece.clone(), OpCode::Data(opcode), n == last))
        })
        .collect()
}

/// Messages one write may carry to a client.
const BATCH: usize = 64;

/// The next message already waiting for a client, without waiting for one.
fn waiting(receiver: &mut tokio::sync::broadcast::Receiver<live::Message>) -> Option<Result<live::Message, RecvError>> {
    match receiver.try_recv() {
        Ok(message) => Some(Ok(message)),
        Err(TryRecvError::Lagged(n)) => Some(Err(RecvError::Lagged(n))),
        Err(TryRecvError::Closed) => Some(Err(RecvError::Closed)),
        Err(TryRecvError::Empty) => None,
    }
}

/// Who is on the other end of a live connection.
struct Client {
    event_id: Uuid,
    token_id: Uuid,
    token_hash: String,
    _connection: live::Connection,
    /// A venue's page: the agenda's changes only, after the agenda as it stands.
    agenda_only: bool,
}

/// What a venue's page starts from: `{"type": "agenda", "seq", "agenda": {now, next}}`.
async fn agenda_frame(state: &AppState, event_id: Uuid, seq: i64) -> Option<WsMessage> {
    let event = state.store.event(event_id).await.ok()??;
    let items = state.store.agenda(event_id).await.ok()?;
    let on_now = huichang_core::agenda::on_now(&items, event.event.timezone);
    let text = serde_json::json!({"type": "agenda", "seq": seq, "agenda": on_now}).to_string();
    Some(WsMessage::Text(text.into()))
}

/// A close frame: 1008 when the token was revoked (sign in again), 1011 when a client that fell
/// behind cannot be brought up to date and 1012 when the server is restarting (reconnect).
pub(crate) fn close(code: u16, reason: &'static str) -> WsMessage {
    WsMessage::Close(Some(CloseFrame { code: CloseCode::from(code), reason: reason.into() }))
}

pub(crate) fn revoked() -> WsMessage {
    close(1008, "the token was revoked; sign in again")
}

pub(crate) fn restarting() -> WsMessage {
    close(1012, "the server is restarting; reconnect")
}

/// The server's restart, watched by a live client from now on; `None` when it has begun already
/// (while the client was being connected), since a subscription sees only the changes after it.
pub(crate) fn watch_closing(state: &AppState) -> Option<tokio::sync::watch::Receiver<bool>> {
    let mut closing = state.closing.subscribe();
    let begun = *closing.borrow_and_update();
    (!begun).then_some(closing)
}

/// The snapshot a client that fell behind starts again from, or the frame that closes it. The
/// messages it was passed over may have revoked its token, so the token is asked after once;
/// when that cannot be answered, the client is closed too and reconnects through the check.
async fn resync(state: &AppState, client: &Client, picture: &Mutex<Picture>) -> Result<live::Snapshot, WsMessage> {
    match state.store.grant(&client.token_hash).await {
        Ok(Some(_)) => {}
        Ok(None) => return Err(revoked()),
        Err(_) => return Err(close(1011, "the token could not be checked; reconnect")),
    }
    Ok(picture.lock().unwrap_or_else(|e| e.into_inner()).snapshot())
}

async fn serve_client(
    mut io: TokioIo<hyper::upgrade::Upgraded>,
    state: AppState,
    client: Client,
    since: Option<i64>,
    subscription: Subscription,
) {
    let Subscription { receiver, picture } = subscription;
    let event_id = client.event_id;
    // Start from the feed's picture, or replay what the client missed when it is not too far
    // behind.
    let replay = match since {
        Some(since) => {
            live::replay(state.store.as_ref(), event_id, &picture, since).await.ok().flatten().map(|m| (since, m))
        }
        None => None,
    };
    // The first messages go straight to the connection, before the WebSocket takes it over: a
    // WebSocket keeps its write buffer as large as the largest frame it ever sent, and the
    // snapshot is by far the largest message a client gets (22 KiB for 38 venues).
    let sent = match replay {
        Some((since, messages)) => {
            for message in messages.iter().filter(|m| m.agenda || !client.agenda_only) {
                if write_text(&mut io, &[&message.text]).await.is_err() {
                    return;
                }
            }
            messages.last().map_or(since, |m| m.seq)
        }
        None if client.agenda_only => 0,
        None => {
            let snapshot = picture.lock().unwrap_or_else(|e| e.into_inner()).snapshot();
            if write_text(&mut io, &snapshot.pieces).await.is_err() {
                return;
            }
            snapshot.seq
        }
    };
    let socket = tokio_tungstenite::WebSocketStream::from_raw_socket(io, Role::Server, Some(settings())).await;
    let (mut sink, stream) = socket.split();
    if sent > 0 || !client.agenda_only {
        return pump(sink, stream, state, client, receiver, picture, sent).await;
    }
    // A venue page's feed starts from the agenda as it stands, a small frame.
    let seq = picture.lock().unwrap_or_else(|e| e.into_inner()).seq();
    let Some(frame) = agenda_frame(&state, event_id, seq).await else { return };
    if sink.send(frame).await.is_ok() {
        pump(sink, stream, state, client, receiver, picture, seq).await;
    }
}

/// A live client's connection once it is a WebSocket.
type Socket = tokio_tungstenite::WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// Sends a client each change after `sent` as the feed carries it (an agenda-only client: the
/// agenda's changes alone), pings it, and closes it when its token is revoked, it closes, or the
/// server restarts.
async fn pump(
    mut sink: futures_util::stream::SplitSink<Socket, WsMessage>,
    mut stream: futures_util::stream::SplitStream<Socket>,
    state: AppState,
    client: Client,
    mut receiver: tokio::sync::broadcast::Receiver<live::Message>,
    picture: std::sync::Arc<Mutex<Picture>>,
    mut sent: i64,
) {
    let Some(mut closing) = watch_closing(&state) else {
        let _ = sink.send(restarting()).await;
        return;
    };
    let mut ping = tokio::time::interval(Duration::from_secs(20));
    ping.tick().await;
    loop {
        tokio::select! {
            received = receiver.recv() => {
                // Everything already waiting goes out in one write: a client that fell a little
                // behind catches up with one flush instead of one per message.
                let mut batch = Vec::new();
                let mut next = Some(received);
                while let Some(received) = next.take() {
                    match received {
                        Ok(message) => {
                            if message.revoked_token == Some(client.token_id) {
                                let _ = sink.send(revoked()).await;
                                return;
                            }
                            if message.seq > sent {
                                sent = message.seq;
                                if message.agenda || !client.agenda_only {
                                    batch.push(WsMessage::Text(message.text));
                                }
                            }
                        }
                        // Fallen behind: start again from a fresh snapshot (the agenda as it
                        // stands) instead of slowing the others.
                        Err(RecvError::Lagged(_)) => match resync(&state, &client, &picture).await {
                            Ok(snapshot) if client.agenda_only => {
                                sent = snapshot.seq;
                                batch = agenda_frame(&state, client.event_id, sent).await.into_iter().collect();
                            }
                            Ok(snapshot) => {
                                sent = snapshot.seq;
                                batch = frames(snapshot);
                            }
                            Err(close) => {
                                let _ = sink.send(close).await;
                                return;
                            }
                        },
                        Err(RecvError::Closed) => return,
                    }
                    if batch.len() < BATCH {
                        next = waiting(&mut receiver);
                    }
                }
                let write = async {
                    for message in batch {
                        sink.feed(message).await?;
                    }
                    sink.flush().await
                };
                match tokio::time::timeout(Duration::from_secs(10), write).await {
                    Ok(Ok(())) => {}
                    _ => return,
                }
            }
            incoming = stream.next() => match incoming {
                Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            changed = closing.changed() => {
                // An error means the server state is gone: nothing left to serve.
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

/// Follow an event's agenda live (WebSocket), as every venue page does.
#[utoipa::path(get, operation_id = "agenda_live", path = "/api/v1/events/{event}/agenda/live", tag = "agenda",
    security(("bearer" = ["admin", "organiser", "coordinator", "technician", "viewer"])),
    params(("event" = Uuid, Path, description = "The event id"), LiveQuery),
    responses((status = 101, description = "A WebSocket: first `{'type': 'agenda', 'seq', 'agenda': {'now', 'next'}}` (or the agenda's \
        changes after `since`), then each change of the agenda as the event's live feed carries it: `{'type': 'change', 'seq', 'what': \
        'agenda.advanced' …, 'venue_id': null, 'agenda': {'now', 'next'}}`. Nothing of the venues. Closed as the event's live feed is."),
        (status = 426, description = "`websocket_required`: a plain HTTP request", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_connections`: the token already holds 50 live connections", body = Problem, content_type = "application/problem+json")))]
pub async fn agenda_live(
    State(state): State<AppState>,
    Path(event): Path<String>,
    Query(query): Query<LiveQuery>,
    request: Request,
) -> Result<Response, ApiError> {
    follow(state, &event, query, request, true).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::hash_token;
    use huichang_store::Actor;

    /// A client on a fresh SQLite store, watching a new event with a viewer token of its own.
    async fn watching() -> (AppState, Client, Uuid, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("huichang-resync-{}", Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = huichang_store::open(&format!("sqlite://{}", dir.join("huichang.db").display())).await.unwrap();
        let at = |hours: i64| (chrono::Utc::now() + chrono::Duration::hours(hours)).to_rfc3339();
        let input: huichang_core::event::EventInput = serde_json::from_value(serde_json::json!({
            "title": "开幕式", "timezone": "Asia/Shanghai", "starts_at": at(60), "ends_at": at(62),
            "registration_deadline": at(24), "video_check": {"starts_at": at(40), "ends_at": at(41)},
            "organizer_email": "org@example.cn"
        }))
        .unwrap();
        let event = store.create_event(None, &input.validate().unwrap(), &Actor::command_line()).await.unwrap();
        let token_hash = hash_token(&crate::auth::new_token(huichang_core::role::Role::Viewer));
        let token_id = store.create_viewer_token(event.id, &token_hash, "", &Actor::command_line()).await.unwrap();
        let state = AppState::new(store, "http://huichang.test");
        let client = Client {
            event_id: event.id,
            token_id,
            token_hash,
            _connection: state.hub.connect(token_id).unwrap(),
            agenda_only: false,
        };
        (state, client, token_id, dir)
    }

    fn close_code(frame: WsMessage) -> u16 {
        match frame {
            WsMessage::Close(Some(frame)) => frame.code.into(),
            other => panic!("not a close frame: {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_client_that_fell_behind_is_closed_when_its_token_was_revoked_meanwhile() {
        let (state, client, token_id, dir) = watching().await;
        let picture = state.hub.subscribe(&state.store, client.event_id).await.unwrap().unwrap().picture;
        let snapshot = resync(&state, &client, &picture).await.expect("a live token starts again from a snapshot");
        assert!(snapshot.pieces[0].starts_with(r#"{"type":"snapshot""#));
        // The revocation is among the messages the client was passed over.
        state.store.revoke_token(token_id, &Actor::command_line()).await.unwrap();
        assert_eq!(close_code(resync(&state, &client, &picture).await.unwrap_err()), 1008);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn a_revocation_names_its_token_for_the_clients_to_compare() {
        let (state, client, token_id, dir) = watching().await;
        state.store.revoke_token(token_id, &Actor::command_line()).await.unwrap();
        let picture = state.hub.subscribe(&state.store, client.event_id).await.unwrap().unwrap().picture;
        let messages = live::replay(state.store.as_ref(), client.event_id, &picture, 0).await.unwrap().unwrap();
        let revoked: Vec<_> = messages.iter().filter_map(|m| m.revoked_token).collect();
        assert_eq!(revoked, [client.token_id], "only the revocation carries a token, and it is this one");
        let _ = std::fs::remove_dir_all(dir);
    }

    /// What a client reads from the other end of `io` after the server wrote to it.
    async fn read_back(io: tokio::io::DuplexStream) -> String {
        let mut client = tokio_tungstenite::WebSocketStream::from_raw_socket(io, Role::Client, None).await;
        match client.next().await.unwrap().unwrap() {
            WsMessage::Text(text) => text.to_string(),
            other => panic!("not one text message: {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_snapshot_in_pieces_arrives_as_one_message_either_way_it_is_written() {
        let pieces: Vec<tokio_tungstenite::tungstenite::Utf8Bytes> =
            vec![r#"{"venues":["#.into(), "1".repeat(70_000).into(), ",2]".into(), "}".into()];
        let whole: String = pieces.iter().map(|piece| piece.as_str()).collect();

        // Before the WebSocket takes the connection over: straight to it, a frame per piece.
        let (mut server, client) = tokio::io::duplex(1 << 20);
        write_text(&mut server, &pieces).await.unwrap();
        assert_eq!(read_back(client).await, whole);

        // A client that fell behind: the same frames through the WebSocket.
        let (server, client) = tokio::io::duplex(1 << 20);
        let mut socket =
            tokio_tungstenite::WebSocketStream::from_raw_socket(server, Role::Server, Some(settings())).await;
        for frame in frames(live::Snapshot { seq: 1, pieces: pieces.clone().into() }) {
            socket.feed(frame).await.unwrap();
        }
        socket.flush().await.unwrap();
        assert_eq!(read_back(client).await, whole);
    }
}
