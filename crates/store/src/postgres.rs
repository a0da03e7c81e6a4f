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

// The same queries, compiled for this driver (see sql.rs).
#[allow(clippy::duplicate_mod)]
#[path = "sql.rs"]
mod sql;

pub struct PostgresStore {
    pool: Pool<Postgres>,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://…`) and applies pending migrations.
    pub async fn open(url: &str) -> Result<Self> {
        let pool =
            PgPoolOptions::new().max_connections(16).acquire_timeout(Duration::from_secs(5)).connect(url).await?;
        MIGRATOR.run(&pool).await?;
        Ok(PostgresStore { pool })
    }

    fn writer(&self) -> &Pool<Postgres> {
        &self.pool
    }

    fn reader(&self) -> &Pool<Postgres> {
        &self.pool
    }
}

/// The next due message, or one whose worker's claim ran out. `SKIP LOCKED` lets any number of
/// workers claim side by side, each a different row.
const CLAIM_NEXT_MESSAGE: &str = "UPDATE outbox SET status = 'sending', attempts = attempts + 1, claimed_until = $2
     WHERE id = (SELECT id FROM outbox
                 WHERE (status = 'queued' AND next_attempt_at <= $1) OR (status = 'sending' AND claimed_until < $1)
                 ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
     RETURNING id, event_id, recipient, subject, body_text, body_html, attempts";

/// One snapshot for every statement of a read, so that a dashboard and its `seq` agree.
const SNAPSHOT: Option<&str> = Some("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
