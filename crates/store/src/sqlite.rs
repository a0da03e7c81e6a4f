//! The embedded default: one SQLite file in the data directory, in WAL mode.
//!
//! Writes go through a pool of one connection, so writers queue in the process instead of
//! failing with `database is locked`; reads use their own pool and never wait for a writer.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Pool, Sqlite};

use crate::Result;

type Db = Sqlite;
type Backend = SqliteStore;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");

// The same queries, compiled for this driver (see sql/mod.rs).
#[allow(clippy::duplicate_mod)]
#[path = "sql/mod.rs"]
mod sql;

pub struct SqliteStore {
    writer: Pool<Sqlite>,
    reader: Pool<Sqlite>,
    checkins: sql::CheckinBatcher,
}

impl SqliteStore {
    /// Opens (creating it if needed) and migrates the database at `url` (`sqlite://path`).
    pub async fn open(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true);
        let writer = SqlitePoolOptions::new().max_connections(1).connect_with(options.clone()).await?;
        MIGRATOR.run(&writer).await?;
        let reader = SqlitePoolOptions::new().max_connections(8).connect_with(options.read_only(true)).await?;
        let store = SqliteStore { writer, reader, checkins: sql::CheckinBatcher::new() };
        sql::count_once(&store).await?;
        Ok(store)
    }

    fn writer(&self) -> &Pool<Sqlite> {
        &self.writer
    }

    fn reader(&self) -> &Pool<Sqlite> {
        &self.reader
    }

    /// One process writes a SQLite file, and its feeds read the change log directly.
    async fn announcements(&self) -> Result<Option<tokio::sync::broadcast::Receiver<uuid::Uuid>>> {
        Ok(None)
    }
}

const ANNOUNCE_CHANGE: Option<&str> = None;
/// The one writing connection holds every row anyway, and nobody else listens.
const LOCK_AND_ANNOUNCE_EVENTS: Option<&str> = None;
/// SQLite has no data-modifying `WITH`: a change is recorded statement by statement, which
/// costs nothing here since the one writing connection serialises every transaction anyway.
const RECORD_CHANGE: Option<&str> = None;
/// The one writing connection already serialises every change to a list, and every check-in
/// with it, so nothing needs a lock of its own.
const LOCK_LIST: Option<&str> = None;
const SHARE_LISTS: Option<&str> = None;
const SHARE_VENUE: &str = "";
const LOCK_SILENT_LINKS: &str = "ORDER BY id";

/// The next due message, or one whose worker's claim ran out before it handed the message
/// over. SQLite has one writer, so the UPDATE alone is atomic.
const CLAIM_NEXT_MESSAGE: &str = "UPDATE outbox SET status = 'sending', attempts = attempts + 1, claimed_until = $2,
         claim_id = $3, message_id = COALESCE(message_id, $4)
     WHERE id = (SELECT id FROM outbox
                 WHERE (status = 'queued' AND next_attempt_at <= $1) OR (status = 'sending' AND claimed_until < $1)
                 ORDER BY next_attempt_at, id LIMIT 1)
     RETURNING id, event_id, unit_id, recipient, subject, body_text, body_html, attempts, claim_id, message_id";

/// A read transaction in WAL mode already sees one snapshot.
const SNAPSHOT: Option<&str> = None;
/// One connection writes: nothing to lock.
const LOCK_COUNTS: &str = "";
const LOCK_VENUE_COUNTS: &str = "";
