//! The live feed: every committed change of an event, in `seq` order, to every WebSocket client.
//!
//! One feed task per event with listeners reads the event's change log after the last `seq` it
//! sent, so a change made through any server instance reaches the clients of every instance, in
//! order and without gaps. Clients hear it through a bounded broadcast channel: one that falls
//! behind gets a fresh snapshot instead of slowing the others or growing memory.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use huichang_core::dashboard::{Dashboard, Totals, VenueRow, totals};
use huichang_core::event::Event;
use huichang_store::{Change, DashboardSnapshot, Store, StoreError};
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

/// Venues per piece of a snapshot (about 9 KiB of text): a change serialises its venue's piece
/// again and no other, and a client is sent the snapshot one piece, one WebSocket frame, at a time.
const PIECE: usize = 16;

/// One message of the feed, already serialised, with its `seq`. The text is shared: every
/// client sends the same bytes without a copy of its own.
#[derive(Debug, Clone)]
pub struct Message {
    pub seq: i64,
    pub text: tokio_tungstenite::tungstenite::Utf8Bytes,
    /// The token this change revoked: its clients close, each comparing its own in memory.
    pub revoked_token: Option<Uuid>,
    /// A change of the agenda, which the venues' pages follow too.
    pub agenda: bool,
}

/// A snapshot message as it is sent: its text in pieces, each one frame of a fragmented
/// WebSocket message (RFC 6455 §5.4), which the client receives as one message. The pieces are
/// shared by every client and with the snapshots of later `seq`s that did not change them.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub seq: i64,
    pub pieces: Arc<[tokio_tungstenite::tungstenite::Utf8Bytes]>,
}

#[derive(Default)]
pub struct Hub {
    feeds: Mutex<HashMap<Uuid, Feed>>,
    /// Open live connections per token.
    connections: Mutex<HashMap<Uuid, usize>>,
}

/// The feed of one event on this instance: its messages and its picture of the dashboard.
#[derive(Clone)]
struct Feed {
    sender: broadcast::Sender<Message>,
    picture: Arc<Mutex<Picture>>,
}

impl Feed {
    fn subscribe(&self) -> Subscription {
        Subscription { receiver: self.sender.subscribe(), picture: self.picture.clone() }
    }
}

/// A client's way into a feed: the messages after the picture it starts from.
pub struct Subscription {
    pub receiver: broadcast::Receiver<Message>,
    pub picture: Arc<Mutex<Picture>>,
}

/// The dashboard as the feed's clients have been told it: read whole once, when the feed starts,
/// then kept up to date change by change, reading only the rows of the venues that changed. New
/// clients start from it instead of reading the whole dashboard each.
pub struct Picture {
    event: Event,
    /// The last change sent out: the feed reads the change log after it.
    seq: i64,
    rows: BTreeMap<Uuid, VenueRow>,
    totals: Totals,
    /// When the rows' `overdue` stops being true: the picture is read whole again then.
    next_due: Option<DateTime<Utc>>,
    /// Each venue's place in `rows`, which decides its piece of the snapshot.
    places: HashMap<Uuid, usize>,
    /// The rows of each piece of the snapshot serialised, `None` once one of them changed.
    pieces: Vec<Option<tokio_tungstenite::tungstenite::Utf8Bytes>>,
    /// The snapshot message of `seq`, made for the first client that asks.
    snapshot: Option<Snapshot>,
}

impl Picture {
    fn new(snapshot: DashboardSnapshot) -> Picture {
        let DashboardSnapshot { event, seq, venues, next_due } = snapshot;
        let totals = totals(&venues);
        let mut picture = Picture {
            event,
            seq,
            rows: venues.into_iter().map(|row| (row.id, row)).collect(),
            totals,
            next_due,
            places: HashMap::new(),
            pieces: Vec::new(),
            snapshot: None,
        };
        picture.place();
        picture
    }

    /// Numbers the rows in order and forgets every serialised piece: a venue came or went.
    fn place(&mut self) {
        self.places = self.rows.keys().enumerate().map(|(place, id)| (*id, place)).collect();
        self.pieces = vec![None; self.rows.len().div_ceil(PIECE)];
    }

    /// Takes in a whole new reading, keeping the `seq` the clients were told.
    fn replace(&mut self, snapshot: DashboardSnapshot) {
        let seq = self.seq;
        *self = Picture { seq, ..Picture::new(snapshot) };
    }

    /// Takes in the rows of the venues that changed, moving the totals by what each changed.
    fn update(&mut self, rows: Vec<VenueRow>) {
        let mut arrived = false;
        for row in rows {
            match self.rows.get(&row.id) {
                Some(old) => {
                    self.totals.count(old, -1);
                    self.pieces[self.places[&row.id] / PIECE] = None;
                }
                None => arrived = true,
            }
            self.totals.count(&row, 1);
            self.rows.insert(row.id, row);
        }
        if arrived {
            self.place();
        }
        self.snapshot = None;
    }

    /// The snapshot message a client starts from: `{"type": "snapshot", "seq", "dashboard"}`,
    /// the rows serialised again only in the pieces that changed since the last one.
    /// The last change the picture holds.
    pub fn seq(&self) -> i64 {
        self.seq
    }

    pub fn snapshot(&mut self) -> Snapshot {
        if let Some(snapshot) = &self.snapshot {
            return snapshot.clone();
        }
        fn text(value: &impl serde::Serialize) -> String {
            serde_json::to_string(value).unwrap_or_default()
        }
        let rows: Vec<&VenueRow> = self.rows.values().collect();
        let mut pieces = Vec::with_capacity(self.pieces.len() + 2);
        pieces.push(
            format!(
                r#"{{"type":"snapshot","seq":{seq},"dashboard":{{"event":{},"seq":{seq},"totals":{},"venues":["#,
                text(&self.event.view()),
                text(&self.totals),
                seq = self.seq
            )
            .into(),
        );
        for (n, piece) in self.pieces.iter_mut().enumerate() {
            let piece = piece.get_or_insert_with(|| {
                let mut out = String::new();
                for (k, row) in rows[n * PIECE..].iter().take(PIECE).enumerate() {
                    if n > 0 || k > 0 {
                        out.push(',');
                    }
                    out.push_str(&text(row));
                }
                out.into()
            });
            pieces.push(piece.clone());
        }
        pieces.push("]}}".into());
        let snapshot = Snapshot { seq: self.seq, pieces: pieces.into() };
        self.snapshot = Some(snapshot.clone());
        snapshot
    }

    /// The message of each change, with its venue's row and the totals as the picture has them.
    pub fn messages(&self, changes: &[Change]) -> Vec<Message> {
        changes
            .iter()
            .map(|change| {
                let venue = change.venue_id.and_then(|id| self.rows.get(&id));
                let at = huichang_core::event::local(change.at, self.event.event.timezone);
                let mut text = json!({"type": "change", "seq": change.seq, "at": at, "venue_id": change.venue_id,
                    "what": change.what, "venue": venue, "totals": self.totals});
                if let Some(agenda) = &change.agenda {
                    text["agenda"] = agenda.clone();
                }
                Message {
                    seq: change.seq,
                    text: text.to_string().into(),
                    revoked_token: change.revoked_token_id,
                    agenda: change.agenda.is_some(),
                }
            })
            .collect()
    }
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

    /// Listens to an event's changes, starting its feed when it is the first listener; `None`
    /// when there is no such event. A client subscribes before it reads the picture, and the
    /// feed sends a change only once the picture has it, so no change falls between the two.
    pub async fn subscribe(
        self: &Arc<Self>,
        store: &Arc<dyn Store>,
        event_id: Uuid,
    ) -> Result<Option<Subscription>, StoreError> {
        if let Some(feed) = self.feeds.lock().unwrap_or_else(|e| e.into_inner()).get(&event_id) {
            return Ok(Some(feed.subscribe()));
        }
        let Some(snapshot) = store.dashboard(event_id, Utc::now()).await? else { return Ok(None) };
        let (feed, subscription) = {
            let mut feeds = self.feeds.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(feed) = feeds.get(&event_id) {
                return Ok(Some(feed.subscribe()));
            }
            let feed =
                Feed { sender: broadcast::channel(BACKLOG).0, picture: Arc::new(Mutex::new(Picture::new(snapshot))) };
            let subscription = feed.subscribe();
            feeds.insert(event_id, feed.clone());
            (feed, subscription)
        };
        let wake = store.change_announcements().await.unwrap_or_else(|error| {
            tracing::warn!(%error, "no change announcements; the live feed reads the change log every 20 ms");
            None
        });
        tokio::spawn(run_feed(self.clone(), store.clone(), event_id, feed, wake));
        Ok(Some(subscription))
    }
}

/// The dashboard of an event now, read whole: `GET …/dashboard`.
pub async fn snapshot(store: &dyn Store, event_id: Uuid) -> Result<Option<Dashboard>, StoreError> {
    Ok(store.dashboard(event_id, Utc::now()).await?.map(|snapshot| Dashboard {
        event: snapshot.event.view(),
        seq: snapshot.seq,
        totals: totals(&snapshot.venues),
        venues: snapshot.venues,
    }))
}

/// What a client reconnecting `since` a change starts with: the changes it missed up to the
/// picture's `seq`, or `None` when it is too far behind (or ahead) for a replay.
pub async fn replay(
    store: &dyn Store,
    event_id: Uuid,
    picture: &Mutex<Picture>,
    since: i64,
) -> Result<Option<Vec<Message>>, StoreError> {
    let seq = picture.lock().unwrap_or_else(|e| e.into_inner()).seq;
    if since > seq || seq - since > REPLAY_LIMIT {
        return Ok(None);
    }
    let mut changes = store.changes(event_id, since, REPLAY_LIMIT).await?;
    changes.retain(|change| change.seq <= seq);
    Ok(Some(picture.lock().unwrap_or_else(|e| e.into_inner()).messages(&changes)))
}

/// Reads the changes after the picture's `seq` and what they moved, brings the picture up to
/// date and sends each change's message. A change of a venue reads that venue's row only; one
/// of the event itself, or a deadline falling due, reads the dashboard whole.
async fn advance(store: &dyn Store, event_id: Uuid, Feed { sender, picture }: &Feed) -> Result<(), StoreError> {
    let now = Utc::now();
    let (last, next_due) = {
        let picture = picture.lock().unwrap_or_else(|e| e.into_inner());
        (picture.seq, picture.next_due)
    };
    let changes = store.changes(event_id, last, REPLAY_LIMIT).await?;
    let due = next_due.is_some_and(|due| due <= now);
    if changes.is_empty() && !due {
        return Ok(());
    }
    // An agenda change carries what it moved; the venues' rows are as they were.
    let whole = due || changes.iter().any(|change| change.venue_id.is_none() && change.agenda.is_none());
    let (snapshot, rows) = if whole {
        (store.dashboard(event_id, now).await?, Vec::new())
    } else {
        let mut venues: Vec<Uuid> = changes.iter().filter_map(|change| change.venue_id).collect();
        venues.sort();
        venues.dedup();
        (None, store.venue_rows(event_id, &venues, now).await?)
    };
    let mut picture = picture.lock().unwrap_or_else(|e| e.into_inner());
    match snapshot {
        Some(snapshot) => picture.replace(snapshot),
        None => picture.update(rows),
    }
    let Some(newest) = changes.last().map(|change| change.seq) else { return Ok(()) };
    picture.seq = newest;
    for message in picture.messages(&changes) {
        let _ = sender.send(message);
    }
    Ok(())
}

async fn run_feed(
    hub: Arc<Hub>,
    store: Arc<dyn Store>,
    event_id: Uuid,
    feed: Feed,
    mut wake: Option<broadcast::Receiver<Uuid>>,
) {
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
            if feed.sender.receiver_count() == 0 {
                feeds.remove(&event_id);
                return;
            }
        }
        if let Err(error) = advance(store.as_ref(), event_id, &feed).await {
            tracing::warn!(%error, %event_id, "live feed could not read the change log; trying again");
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

#[cfg(test)]
mod tests {
    use super::*;
    use huichang_core::venue::{Approval, VenueKind};
    use huichang_core::video::LinkStatus;

    fn row(n: u128) -> VenueRow {
        VenueRow {
            id: Uuid::from_u128(n),
            name: format!("分会场{n}"),
            kind: VenueKind::Branch,
            region: "四川".into(),
            approval: Approval::Pending,
            registered: 0,
            online: 0,
            capacity: 30,
            checked_in: 0,
            technician: false,
            video_check: "none".into(),
            video_link: LinkStatus::Unknown,
            late: false,
            overdue: Vec::new(),
            overdue_delegations: 0,
            list_returned: false,
            materials_returned: 0,
        }
    }

    fn picture(venues: u128) -> Picture {
        let at = |hours: i64| (Utc::now() + chrono::Duration::hours(hours)).to_rfc3339();
        let input: huichang_core::event::EventInput = serde_json::from_value(json!({
            "title": "开幕式", "timezone": "Asia/Shanghai", "starts_at": at(60), "ends_at": at(62),
            "registration_deadline": at(24), "video_check": {"starts_at": at(40), "ends_at": at(41)},
            "organizer_email": "org@example.cn"
        }))
        .unwrap();
        let event =
            Event { id: Uuid::now_v7(), unit_id: None, created_at: Utc::now(), event: input.validate().unwrap() };
        Picture::new(DashboardSnapshot { event, seq: 7, venues: (1..=venues).map(row).collect(), next_due: None })
    }

    /// The snapshot's pieces joined, read as JSON, against the dashboard serialised whole.
    fn check(picture: &mut Picture) -> Snapshot {
        let snapshot = picture.snapshot();
        let joined: String = snapshot.pieces.iter().map(|piece| piece.as_str()).collect();
        let dashboard = Dashboard {
            event: picture.event.view(),
            seq: picture.seq,
            totals: picture.totals.clone(),
            venues: picture.rows.values().cloned().collect(),
        };
        let whole = json!({"type": "snapshot", "seq": picture.seq, "dashboard": dashboard});
        assert_eq!(serde_json::from_str::<serde_json::Value>(&joined).unwrap(), whole);
        snapshot
    }

    #[test]
    fn a_snapshot_in_pieces_reads_as_the_dashboard_whole() {
        for venues in [0, 1, PIECE as u128, PIECE as u128 + 1, 40] {
            let mut picture = picture(venues);
            let snapshot = check(&mut picture);
            assert_eq!(snapshot.pieces.len(), (venues as usize).div_ceil(PIECE) + 2, "{venues} venues");
        }
    }

    #[test]
    fn a_change_serialises_its_venues_piece_again_and_no_other() {
        let mut picture = picture(40);
        let before = check(&mut picture);
        let mut changed = row(20); // the 20th venue: in the second piece
        changed.approval = Approval::Approved;
        picture.update(vec![changed]);
        let after = check(&mut picture);
        // Between the opening (with the totals) and the closing, the three pieces of venues.
        let same: Vec<bool> =
            before.pieces[1..4].iter().zip(&after.pieces[1..4]).map(|(a, b)| a.as_ptr() == b.as_ptr()).collect();
        assert_eq!(same, [true, false, true], "only the second piece is made again");
        assert_eq!(picture.totals.approved, 1);

        // A venue that arrives moves the others' places: every piece is made again, in order.
        picture.update(vec![row(0)]);
        let arrived = check(&mut picture);
        assert_eq!(arrived.pieces.len(), 5);
        assert!(arrived.pieces[1].contains(&Uuid::from_u128(0).to_string()));
    }
}
