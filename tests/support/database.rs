//! A fresh database for each test, on either store, removed when the test ends.
//!
//! SQLite: a file in a temporary directory of its own. PostgreSQL: a database of its own on the
//! local server (`HUICHANG_TEST_DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`),
//! dropped at the end. Where PostgreSQL is missing its tests are skipped with a message, except
//! under CI ([`under_ci`]), where they fail.

use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Whether this run is CI's, where a missing tool or service fails its tests instead of
/// skipping them: `CI` set to anything but empty, `0` or `false` (`CI=true`, `CI=1`).
pub fn under_ci() -> bool {
    counts_as_ci(std::env::var("CI").ok().as_deref())
}

fn counts_as_ci(value: Option<&str>) -> bool {
    value.is_some_and(|value| !matches!(value.trim().to_ascii_lowercase().as_str(), "" | "0" | "false"))
}

/// Outside CI, says why a test is skipped and returns; under CI, fails the test with the reason.
#[track_caller]
pub fn skip_unless_ci(reason: &str) {
    assert!(!under_ci(), "required under CI: {reason}");
    eprintln!("skipped: {reason} (under CI this fails)");
}

/// The database of one test, removed when the test ends.
pub struct Database {
    pub url: String,
    cleanup: Option<(String, String)>,
    _dir: Option<TempDir>,
}

impl Database {
    /// A fresh database, or `None` (the test skips) when PostgreSQL is missing outside CI.
    pub async fn create(backend: Backend) -> Option<Database> {
        match backend {
            Backend::Sqlite => Some(Database::sqlite()),
            Backend::Postgres => Database::postgres().await,
        }
    }

    fn sqlite() -> Database {
        let dir = TempDir::new();
        let url = format!("sqlite://{}", dir.0.join("huichang.db").display());
        Database { url, cleanup: None, _dir: Some(dir) }
    }

    async fn postgres() -> Option<Database> {
        let admin_url = std::env::var("HUICHANG_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let mut conn = match <sqlx::PgConnection as sqlx::Connection>::connect(&admin_url).await {
            Ok(conn) => conn,
            Err(error) => {
                skip_unless_ci(&format!("PostgreSQL at {admin_url} is not reachable ({error})"));
                return None;
            }
        };
        let name = format!("huichang_test_{}", Uuid::new_v4().simple());
        sqlx::Executor::execute(&mut conn, sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await
            .expect("create the test database");
        let base = admin_url.rsplit_once('/').map(|(base, _)| base.to_owned()).unwrap_or(admin_url.clone());
        Some(Database { url: format!("{base}/{name}"), cleanup: Some((admin_url, name)), _dir: None })
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.cleanup.take() else { return };
        // Drop may run inside the test's runtime; a thread of its own may block on the cleanup.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async {
                let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin_url).await.ok()?;
                sqlx::Executor::execute(
                    &mut conn,
                    sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")),
                )
                .await
                .ok()
            })
        })
        .join();
    }
}

/// A directory of its own under the system's temporary directory, removed when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let path = std::env::temp_dir().join(format!("huichang-test-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::counts_as_ci;

    #[test]
    fn ci_is_any_value_but_empty_0_or_false() {
        for value in ["true", "1", "TRUE", "yes"] {
            assert!(counts_as_ci(Some(value)), "{value}");
        }
        for value in [None, Some(""), Some("0"), Some("false"), Some("False")] {
            assert!(!counts_as_ci(value), "{value:?}");
        }
    }
}
