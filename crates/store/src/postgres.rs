//! PostgreSQL, for production and for several server instances sharing one database.
//!
//! Migrations run under sqlx's advisory lock, so instances starting together apply them once.

use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::{Pool, Postgres};

use crate::Result;

type Db = Postgres;
type Backend = PostgresStore;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

// The same queries, compiled for this driver (see sql/mod.rs).
#[allow(clippy::duplicate_mod)]
#[path = "sql/mod.rs"]
mod sql;

pub struct PostgresStore {
    pool: Pool<Postgres>,
    announcements: tokio::sync::OnceCell<tokio::sync::broadcast::Sender<uuid::Uuid>>,
    checkins: sql::CheckinBatcher,
}

/// How long a request waits for a connection: with the database gone it gets a 503 this soon,
/// and under any load this machine can carry a connection frees up well within it.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

/// Connections to the database: four per core of this machine, 8 to 32. More would not make a
/// busy server faster, only slower at the tail: requests beyond them wait in the pool's queue, in
/// order, instead of all competing for the same cores inside the database.
fn pool_size() -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get() as u32);
    (cores * 4).clamp(8, 32)
}

impl PostgresStore {
    /// Connects to `url` (`postgres://…`) and applies pending migrations.
    pub async fn open(url: &str) -> Result<Self> {
        let pool =
            PgPoolOptions::new().max_connections(pool_size()).acquire_timeout(ACQUIRE_TIMEOUT).connect(url).await?;
        MIGRATOR.run(&pool).await?;
        let store =
            PostgresStore { pool, announcements: tokio::sync::OnceCell::new(), checkins: sql::CheckinBatcher::new() };
        sql::count_once(&store).await?;
        Ok(store)
    }

    fn writer(&self) -> &Pool<Postgres> {
        &self.pool
    }

    fn reader(&self) -> &Pool<Postgres> {
        &self.pool
    }

    /// The events of changes committed by any instance, heard through `LISTEN`. One connection
    /// listens for the whole process; `PgListener` reconnects by itself after a failure.
    async fn announcements(&self) -> Result<Option<tokio::sync::broadcast::Receiver<uuid::Uuid>>> {
        let sender = self
            .announcements
            .get_or_try_init(|| async {
                let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool).await?;
                listener.listen(CHANGES_CHANNEL).await?;
                let (sender, _) = tokio::sync::broadcast::channel(1024);
                let announce = sender.clone();
                tokio::spawn(async move {
                    loop {
                        match listener.recv().await {
                            Ok(notification) => {
                                if let Ok(event_id) = notification.payload().parse() {
                                    let _ = announce.send(event_id);
                                }
                            }
                            Err(error) => {
                                tracing::warn!(%error, "LISTEN connection lost; reconnecting");
                                tokio::time::sleep(Duration::from_secs(1)).await;
                            }
                        }
                    }
                });
                Ok::<_, crate::StoreError>(sender)
            })
            .await?;
        Ok(Some(sender.subscribe()))
    }
}

/// Every change announces its event on this channel when its transaction commits.
const CHANGES_CHANNEL: &str = "huichang_changes";
const ANNOUNCE_CHANGE: Option<&str> = Some("SELECT pg_notify('huichang_changes', $1)");
/// The events of a batch of check-ins, locked in id order (a lock taken above the sort) and
/// announced, in one statement; `{ids}` stands for their ids. The lock is the one an `UPDATE`
/// takes, which rows referring to the event (audit entries, changes) do not wait for: the batch
/// has inserted its audit entries already, holding their key-share locks of these rows.
const LOCK_AND_ANNOUNCE_EVENTS: Option<&str> = Some(
    "SELECT pg_notify('huichang_changes', CAST(id AS TEXT)) FROM events WHERE id IN ({ids}) ORDER BY id FOR NO KEY UPDATE",
);

/// Serialises the changes to one venue's list (a submission, a replacement, a capacity cut) until
/// commit, without holding the event row meanwhile: lists of different venues are merged side by
/// side and take the event's `seq` only at the end.
const LOCK_LIST: Option<&str> = Some("SELECT pg_advisory_xact_lock(hashtextextended(CAST($1 AS TEXT), 0))");

/// The door reads the lists of the venues it names (`… IN (…)`) holding this lock in shared mode
/// until commit: check-ins go side by side, and a change to a list (`LOCK_LIST`) either commits
/// before they read it or waits for their commit.
const SHARE_LISTS: Option<&str> =
    Some("SELECT pg_advisory_xact_lock_shared(hashtextextended(CAST(id AS TEXT), 0)) FROM venues WHERE id IN");

/// The venue row whose approval the door read, held until commit: a new decision waits for the
/// check-ins that read the old one, and those after it read the new one.
const SHARE_VENUE: &str = "FOR SHARE OF v";

/// The silent links a sweep marks lost, locked in id order; one that a heartbeat or a decision
/// holds right now is left for the next sweep instead of waited for.
const LOCK_SILENT_LINKS: &str = "ORDER BY id FOR NO KEY UPDATE SKIP LOCKED";

/// A change's `seq` (the one given as $2, or the event's next when $2 is null), its live-feed
/// row, its audit entry and its announcement in one round trip: whatever takes the event's `seq`
/// holds the event row until commit, so the less that follows, the more changes per second.
const RECORD_CHANGE: Option<&str> = Some(
    "WITH taken AS (UPDATE events SET last_seq = last_seq + 1 WHERE id = $1 AND CAST($2 AS BIGINT) IS NULL RETURNING last_seq),
          numbered AS (SELECT COALESCE(CAST($2 AS BIGINT), (SELECT last_seq FROM taken)) AS seq),
          change AS (INSERT INTO changes (event_id, seq, venue_id, what, at)
                     SELECT $1, seq, $3, $4, $5 FROM numbered WHERE seq IS NOT NULL),
          audit AS (INSERT INTO audit_log (id, event_id, at, actor_role, actor_token_id, address, action, target_kind, target_id, detail)
                    VALUES ($6, $1, $5, $7, $8, $9, $4, $10, $11, $12))
     SELECT seq, pg_notify('huichang_changes', CAST($1 AS TEXT)) FROM numbered WHERE seq IS NOT NULL",
);

/// The next due message, or one whose worker's claim ran out before it handed the message
/// over. `SKIP LOCKED` lets any number of workers claim side by side, each a different row.
const CLAIM_NEXT_MESSAGE: &str = "UPDATE outbox SET status = 'sending', attempts = attempts + 1, claimed_until = $2,
         claim_id = $3, message_id = COALESCE(message_id, $4)
     WHERE id = (SELECT id FROM outbox
                 WHERE (status = 'queued' AND next_attempt_at <= $1) OR (status = 'sending' AND claimed_until < $1)
                 ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
     RETURNING id, event_id, unit_id, recipient, subject, body_text, body_html, attempts, claim_id, message_id";

/// One snapshot for every statement of a read, so that a dashboard and its `seq` agree.
const SNAPSHOT: Option<&str> = Some("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
/// The overview's counter rows a change moves are locked as it reads them.
const LOCK_COUNTS: &str = "FOR UPDATE";
/// ... and a venue's, read with the venue, its event and units, which are not locked.
const LOCK_VENUE_COUNTS: &str = "FOR UPDATE OF c";
