//! The live feed: every committed change of an event, in `seq` order, to every WebSocket client.
//!
//! One feed task per event with listeners reads the event's change log after the last `seq` it
//! sent, so a change made through any server instance reaches the clients of every instance, in
//! order and without gaps. Clients hear it through a bounded broadcast channel: one that falls
//! behind gets a fresh snapshot instead of slowing the others or growing memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use huichang_core::dashboard::{Dashboard, VenueRow, totals};
use huichang_store::Store;
use serde_json::json;
use tokio::sync::broadcast;
use uuid::Uuid;

/// How often a feed looks for new changes when the store announces nothing (SQLite, where the
/// look is one indexed read in the same process, cheap enough 50 times a second) ...
const POLL: Duration = Duration::from_millis(20);
/// ... and, as a fallback, when it does (PostgreSQL `LISTEN`): announcements wake it at once.
const FALLBACK_POLL: Duration = Duration::from_secs(1);
/// Messages a client may fall behind by before it is resynchronised with a snapshot.
pub const BACKLOG: usize = 512;
/// A reconnecting client further behind than this gets a snapshot instead of a replay.
pub const REPLAY_LIMIT: i64 = 1000;

/// Live connections one token may hold open at once (a wall screen, laptops, phones).
pub const CONNECTIONS_PER_TOKEN: usize = 50;

/// One message of the feed, already serialised, with its `seq`. The text is shared: every
/// client sends the same bytes without a copy of its own.
#[derive(Debug, Clone)]
pub struct Message {
    pub seq: i64,
    pub text: tokio_tungstenite::tungstenite::Utf8Bytes,
    /// The token this change revoked: its clients close, each comparing its own in memory.
    pub revoked_token: Option<Uuid>,
}

#[derive(Default)]
pub struct Hub {
    feeds: Mutex<HashMap<Uuid, broadcast::Sender<Message>>>,
    /// Open live connections per token.
    connections: Mutex<HashMap<Uuid, usize>>,
}

/// One open live connection, counted against its token until dropped.
pub struct Connection {
    hub: Arc<Hub>,
    token_id: Uuid,
}

impl Drop for Connection {
    fn drop(&mut self) {
        let mut connections = self.hub.connections.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = connections.get_mut(&self.token_id) {
            *count -= 1;
            if *count == 0 {
                connections.remove(&self.token_id);
            }
        }
    }
}

impl Hub {
    /// Counts a new connection of `token_id`; `None` when the token holds the most allowed.
    pub fn connect(self: &Arc<Self>, token_id: Uuid) -> Option<Connection> {
        let mut connections = self.connections.lock().unwrap_or_else(|e| e.into_inner());
        let count = connections.entry(token_id).or_default();
        if *count >= CONNECTIONS_PER_TOKEN {
            return None;
        }
        *count += 1;
        Some(Connection { hub: self.clone(), token_id })
    }

    /// Live connections open on this instance.
    pub fn open_connections(&self) -> usize {
        self.connections.lock().unwrap_or_else(|e| e.into_inner()).values().sum()
    }

    /// Listens to an event's changes, starting its feed when it is the first listener. A
    /// client subscribes before it reads its snapshot, and a new feed starts from a `seq` read
    /// before that, so no change falls between the two.
    pub async fn subscribe(
        self: &Arc<Self>,
        store: &Arc<dyn Store>,
        event_id: Uuid,
    ) -> Result<broadcast::Receiver<Message>, huichang_store::StoreError> {
        if let Some(sender) = self.feeds.lock().unwrap_or_else(|e| e.into_inner()).get(&event_id) {
            return Ok(sender.subscribe());
        }
        let start = store.dashboard(event_id, chrono::Utc::now()).await?.map_or(0, |snapshot| snapshot.seq);
        let (sender, receiver) = {
            let mut feeds = self.feeds.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(sender) = feeds.get(&event_id) {
                return Ok(sender.subscribe());
            }
            let (sender, receiver) = broadcast::channel(BACKLOG);
            feeds.insert(event_id, sender.clone());
            (sender, receiver)
        };
        let wake = store.change_announcements().await.unwrap_or_else(|error| {
            tracing::warn!(%error, "no change announcements; the live feed reads the change log every 20 ms");
            None
        });
        tokio::spawn(feed(self.clone(), store.clone(), event_id, sender, start, wake));
        Ok(receiver)
    }
}

/// The dashboard of an event now: the snapshot a client starts from.
pub async fn snapshot(store: &dyn Store, event_id: Uuid) -> Result<Option<Dashboard>, huichang_store::StoreError> {
    Ok(store.dashboard(event_id, chrono::Utc::now()).await?.map(|snapshot| Dashboard {
        event: snapshot.event.view(),
        seq: snapshot.seq,
        totals: totals(&snapshot.venues),
        venues: snapshot.venues,
    }))
}

pub fn snapshot_message(dashboard: &Dashboard) -> Message {
    Message {
        seq: dashboard.seq,
        text: json!({"type": "snapshot", "seq": dashboard.seq, "dashboard": dashboard}).to_string().into(),
        revoked_token: None,
    }
}

/// The messages of the changes after `after`, each with its venue's row and the totals as they are now.
pub async fn changes_after(
    store: &dyn Store,
    event_id: Uuid,
    after: i64,
) -> Result<Vec<Message>, huichang_store::StoreError> {
    let changes = store.changes(event_id, after, REPLAY_LIMIT).await?;
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    let Some(huichang_store::DashboardSnapshot { event, venues, .. }) =
        store.dashboard(event_id, chrono::Utc::now()).await?
    else {
        return Ok(Vec::new());
    };
    let totals = totals(&venues);
    let rows: HashMap<Uuid, &VenueRow> = venues.iter().map(|v| (v.id, v)).collect();
    Ok(changes
        .into_iter()
        .map(|change| {
            let venue = change.venue_id.and_then(|id| rows.get(&id));
            let at = huichang_core::event::local(change.at, event.event.timezone);
            let text = json!({"type": "change", "seq": change.seq, "at": at, "venue_id": change.venue_id,
                "what": change.what, "venue": venue, "totals": totals});
            Message { seq: change.seq, text: text.to_string().into(), revoked_token: change.revoked_token_id }
        })
        .collect())
}

async fn feed(
    hub: Arc<Hub>,
    store: Arc<dyn Store>,
    event_id: Uuid,
    sender: broadcast::Sender<Message>,
    start: i64,
    mut wake: Option<broadcast::Receiver<Uuid>>,
) {
    let mut last = start;
    loop {
        match wake.as_mut() {
            Some(announcements) => {
                tokio::select! {
                    () = tokio::time::sleep(FALLBACK_POLL) => {}
                    heard = announced(announcements, event_id) => if !heard { wake = None },
                }
            }
            None => tokio::time::sleep(POLL).await,
        }
        {
            // Stop when the last listener has gone; a new one starts a new feed.
            let mut feeds = hub.feeds.lock().unwrap_or_else(|e| e.into_inner());
            if sender.receiver_count() == 0 {
                feeds.remove(&event_id);
                return;
            }
        }
        match changes_after(store.as_ref(), event_id, last).await {
            Ok(messages) => {
                for message in messages {
                    last = message.seq;
                    let _ = sender.send(message);
                }
            }
            Err(error) => tracing::warn!(%error, %event_id, "live feed could not read the change log; trying again"),
        }
    }
}

/// Waits until a change of `event_id` is announced (or announcements were missed, which may
/// include one); `false` when the announcements have stopped. Announcements already waiting are
/// taken along: one read of the change log answers them all.
async fn announced(announcements: &mut broadcast::Receiver<Uuid>, event_id: Uuid) -> bool {
    loop {
        match announcements.recv().await {
            Ok(id) if id == event_id => break,
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(_)) => break,
            Err(broadcast::error::RecvError::Closed) => return false,
        }
    }
    while announcements.try_recv().is_ok() {}
    true
}
