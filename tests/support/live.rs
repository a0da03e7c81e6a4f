//! A live feed's WebSocket as the tests read it: connect with a token, take the next JSON
//! message, wait for the server's close frame.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::{Error, Message};

pub type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Connects to the feed at `path` (`/api/v1/events/{id}/live`, say) of the server at `base`
/// (`http://…`), with `token` and, when given, `since`.
pub async fn connect(base: &str, path: &str, token: &str, since: Option<i64>) -> Result<Socket, Error> {
    let mut url = format!("{}{path}?token={token}", base.replace("http://", "ws://"));
    if let Some(since) = since {
        url.push_str(&format!("&since={since}"));
    }
    tokio_tungstenite::connect_async(url).await.map(|(socket, _)| socket)
}

/// The next JSON message, within two seconds; pings and pongs are passed over.
pub async fn next(socket: &mut Socket) -> Value {
    next_within(socket, Duration::from_secs(2)).await
}

/// [`next`] with more time, for a server under load.
pub async fn next_within(socket: &mut Socket, within: Duration) -> Value {
    loop {
        let message = tokio::time::timeout(within, socket.next())
            .await
            .expect("a message in time")
            .expect("the feed is still open")
            .expect("a message, not an error");
        if let Message::Text(text) = message {
            return serde_json::from_str(&text).expect("a JSON message");
        }
    }
}

/// Reads until the server closes the feed, within `within`; its close code.
pub async fn closed_with(socket: &mut Socket, within: Duration) -> u16 {
    loop {
        match tokio::time::timeout(within, socket.next()).await.expect("closed in time") {
            Some(Ok(Message::Close(Some(frame)))) => return frame.code.into(),
            Some(Ok(_)) => continue,
            other => panic!("the feed ended without a close frame: {other:?}"),
        }
    }
}
