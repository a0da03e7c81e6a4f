//! Test support: the real server on a random port, over HTTP, with its own fresh database.
//!
//! SQLite tests get a file in a temporary directory; PostgreSQL tests get a database of their
//! own on the local server (`HUICHANG_TEST_DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`), dropped when the test ends. Where PostgreSQL
//! is missing, its tests are skipped with a message, except under `CI=true`, where they fail.

use std::sync::Arc;

pub mod browser;
pub mod hostile;
pub mod smtp;

use huichang_server::AppState;
use huichang_store::Store;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub url: String,
    pub database_url: String,
    pub admin: String,
    pub store: Arc<dyn Store>,
    client: reqwest::Client,
    _database: Database,
}

/// A response: its status, headers and JSON body (`Null` when empty or not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The `field`s named in a problem's `errors`, as `row:field` (or `field` without a row).
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| match e["row"].as_u64() {
                        Some(row) => format!("{row}:{}", e["field"].as_str().unwrap_or_default()),
                        None => e["field"].as_str().unwrap_or_default().to_owned(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "unexpected answer: {}", self.body);
        self.body
    }

    #[track_caller]
    pub fn expect_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "unexpected answer: {}", self.body);
        assert_eq!(self.body["code"], code, "unexpected problem: {}", self.body);
        let content_type = self.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert_eq!(content_type, "application/problem+json");
    }
}

impl TestApp {
    /// Starts the server on the given store, or `None` when PostgreSQL is missing outside CI.
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        let database = match backend {
            Backend::Sqlite => Database::sqlite(),
            Backend::Postgres => Database::postgres().await?,
        };
        let store = huichang_store::open(&database.url).await.expect("the store opens and migrates");
        let admin = huichang_server::auth::new_token(huichang_core::role::Role::Admin);
        store.set_admin_token(&huichang_server::auth::hash_token(&admin)).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = AppState::new(store.clone(), "http://huichang.test");
        tokio::spawn(huichang_server::serve(listener, state, std::future::pending()));
        Some(TestApp {
            url,
            database_url: database.url.clone(),
            admin,
            store,
            client: reqwest::Client::new(),
            _database: database,
        })
    }

    pub async fn request(&self, method: Method, path: &str, token: Option<&str>, body: Option<&Value>) -> Reply {
        self.send(&self.client, method, path, token, body).await
    }

    /// The request as another client sends it, from `address` on the loopback (`127.0.0.2`):
    /// the failed sign-in limit counts it apart from this test's other requests.
    pub async fn request_from(
        &self,
        address: &str,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        let client = reqwest::Client::builder().local_address(address.parse().ok()).build().unwrap();
        self.send(&client, method, path, token, body).await
    }

    async fn send(
        &self,
        client: &reqwest::Client,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        let mut request = client.request(method, format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("the server answers");
        reply(response).await
    }

    /// Sends raw bytes with a content type, for malformed bodies.
    pub async fn raw(&self, method: Method, path: &str, token: &str, content_type: &str, body: Vec<u8>) -> Reply {
        let response = self
            .client
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("the server answers");
        reply(response).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.request(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Reply {
        self.request(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn put(&self, path: &str, token: &str, body: &Value) -> Reply {
        self.request(Method::PUT, path, Some(token), Some(body)).await
    }

    /// The 2021 ceremony with its dates moved so that `deadline_in_hours` from now is the deadline.
    pub async fn create_event(&self, deadline_in_hours: i64) -> Value {
        self.post("/api/v1/events", &self.admin, &event_body(deadline_in_hours)).await.expect(201)
    }

    /// A branch venue with one room of `capacity` seats; the answer carries its tokens.
    pub async fn create_venue(&self, event: &Value, name: &str, capacity: i64) -> Venue {
        let email = format!("{}@example.cn", Uuid::new_v4().simple());
        let body = json!({"name": name, "kind": "branch", "region": name, "contact_email": email,
            "rooms": [{"name": format!("{name}报告厅"), "capacity": capacity}]});
        let created = self
            .post(&format!("/api/v1/events/{}/venues", event["id"].as_str().unwrap()), &self.admin, &body)
            .await
            .expect(201);
        Venue {
            id: created["id"].as_str().unwrap().to_owned(),
            coordinator: created["coordinator_token"].as_str().unwrap().to_owned(),
            technician: created["technician_token"].as_str().unwrap().to_owned(),
            email,
            body: created,
        }
    }

    pub async fn viewer_token(&self, event: &Value) -> String {
        let issued = self
            .post(
                &format!("/api/v1/events/{}/viewer-tokens", event["id"].as_str().unwrap()),
                &self.admin,
                &json!({"label": "大屏"}),
            )
            .await
            .expect(201);
        issued["token"].as_str().unwrap().to_owned()
    }
}

impl TestApp {
    /// Another server instance on the same database, as behind a load balancer; its base URL.
    pub async fn second_instance(&self) -> String {
        let store = huichang_store::open(&self.database_url).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(huichang_server::serve(
            listener,
            AppState::new(store, "http://huichang.test"),
            std::future::pending(),
        ));
        url
    }

    /// Runs SQL on the test's database directly: only to set up what the API cannot, such as
    /// venues that were made in 2021.
    pub async fn backdate(&self, table: &str, at: chrono::DateTime<chrono::Utc>) {
        let sql = sqlx::AssertSqlSafe(format!("UPDATE {table} SET created_at = $1"));
        if self.database_url.starts_with("postgres") {
            let pool = sqlx::PgPool::connect(&self.database_url).await.unwrap();
            sqlx::query(sql).bind(at).execute(&pool).await.unwrap();
        } else {
            let pool = sqlx::SqlitePool::connect(&self.database_url).await.unwrap();
            sqlx::query(sql).bind(at).execute(&pool).await.unwrap();
        }
    }
}

async fn reply(response: reqwest::Response) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap_or_default();
    Reply { status, headers, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) }
}

pub struct Venue {
    pub id: String,
    pub coordinator: String,
    pub technician: String,
    pub email: String,
    pub body: Value,
}

pub fn event_body(deadline_in_hours: i64) -> Value {
    let deadline = chrono::Utc::now() + chrono::Duration::hours(deadline_in_hours);
    let at = |hours: i64| (deadline + chrono::Duration::hours(hours)).to_rfc3339();
    json!({
        "title": "2021年全民终身学习活动周全国总开幕式", "timezone": "Asia/Shanghai",
        "starts_at": at(66), "ends_at": at(68), "arrive_minutes_before": 15,
        "registration_deadline": deadline.to_rfc3339(),
        "video_check": {"starts_at": at(41), "ends_at": at(43)},
        "default_capacity": 30, "organizer_email": "org@example.cn"
    })
}

/// A list of `count` valid attendees.
pub fn attendees(count: usize) -> Vec<Value> {
    (0..count)
        .map(|i| json!({"name": format!("参会人{i}"), "organization": "四川省教育厅", "title": "处长", "phone": format!("138{:08}", i)}))
        .collect()
}

pub fn list(rows: Vec<Value>) -> Value {
    json!({"technician": {"name": "付宇豪", "phone": "18500219116"}, "attendees": rows})
}

/// The database of one test, removed when the test ends.
struct Database {
    url: String,
    cleanup: Option<(String, String)>,
    _dir: Option<TempDir>,
}

impl Database {
    fn sqlite() -> Self {
        let dir = TempDir::new();
        let url = format!("sqlite://{}", dir.0.join("huichang.db").display());
        Database { url, cleanup: None, _dir: Some(dir) }
    }

    async fn postgres() -> Option<Self> {
        let admin_url = std::env::var("HUICHANG_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let mut conn = match <sqlx::PgConnection as sqlx::Connection>::connect(&admin_url).await {
            Ok(conn) => conn,
            Err(error) if std::env::var("CI").is_ok_and(|v| v == "true") => {
                panic!("PostgreSQL is required under CI=true but {admin_url} is not reachable: {error}")
            }
            Err(error) => {
                eprintln!("skipped: PostgreSQL not reachable at {admin_url} ({error}); set CI=true to make this fail");
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
        // Drop runs inside the test's runtime; a thread of its own may block on the cleanup.
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

struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new() -> Self {
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

/// Runs each test once on SQLite and once on PostgreSQL: `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! on_both_stores {
    ($(async fn $name:ident($app:ident: TestApp) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn run($app: $crate::TestApp) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    run($crate::TestApp::spawn($crate::Backend::Sqlite).await.expect("SQLite is always there")).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(app) = $crate::TestApp::spawn($crate::Backend::Postgres).await {
                        run(app).await
                    }
                }
            }
        )*
    };
}
