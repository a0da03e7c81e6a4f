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
